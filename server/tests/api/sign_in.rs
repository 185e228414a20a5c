//! Happy paths: signing in through each instance, landing where asked, signing out.

use app::backend::audit::Actor;
use app::backend::registry::{self, InstanceChanges, SecretSlot};
use app::domain::{ClientSecret, InstanceId};
use reqwest::StatusCode;

use crate::helpers::{
    ACME_OKTA, ADA, GLOBEX_ENG, GLOBEX_OPS, GRACE, HANK, SESSION_COOKIE,
    assert_refused_and_signed_out, reason, spawn_app,
};

#[tokio::test]
async fn a_user_who_signs_in_through_an_instance_gets_a_session_naming_that_instance() {
    let app = spawn_app().await;
    let browser = app.browser();
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);

    let outcome = browser.sign_in(ACME_OKTA, None, None).await;

    assert_eq!(outcome.landing(), "/");
    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["tenant"], "acme");
    assert_eq!(session["tenant_name"], "Acme Corporation");
    assert_eq!(session["instance_id"], ACME_OKTA);
    assert_eq!(session["instance_label"], "Okta");
    assert_eq!(session["issuer"], app.issuer("acme"));
    assert_eq!(session["sub"], ADA.sub);
    assert_eq!(session["name"], ADA.name);
    assert_eq!(session["email"], ADA.email);
}

#[tokio::test]
async fn a_sign_in_with_return_to_lands_on_that_page() {
    let app = spawn_app().await;
    let browser = app.browser();

    let outcome = browser.sign_in(ACME_OKTA, Some("/welcome"), None).await;

    let callback = outcome.callback();
    assert_eq!(callback.status, StatusCode::SEE_OTHER);
    assert_eq!(callback.location(), Some("/welcome"));
    assert_eq!(browser.session().await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_local_return_to_with_query_and_fragment_is_kept() {
    let app = spawn_app().await;
    let browser = app.browser();

    let outcome = browser
        .sign_in(ACME_OKTA, Some("/o/acme?tab=users#top"), None)
        .await;

    assert_eq!(outcome.landing(), "/o/acme?tab=users#top");
}

#[tokio::test]
async fn a_login_hint_picks_the_user_who_signs_in() {
    let app = spawn_app().await;
    let browser = app.browser();

    browser
        .sign_in(ACME_OKTA, None, Some(GRACE.email))
        .await
        .landing();

    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["sub"], GRACE.sub);
    assert_eq!(session["name"], GRACE.name);
    assert_eq!(session["email"], GRACE.email);
}

#[tokio::test]
async fn two_instances_sharing_one_issuer_each_sign_users_in_as_themselves() {
    let app = spawn_app().await;
    for instance in [GLOBEX_ENG, GLOBEX_OPS] {
        let browser = app.browser();
        assert_eq!(browser.sign_in(instance, None, None).await.landing(), "/");

        let (status, session) = browser.session().await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["tenant"], "globex");
        assert_eq!(session["instance_id"], instance, "{session}");
        assert_eq!(session["issuer"], app.issuer("globex"));
        assert_eq!(session["sub"], HANK.sub);
    }
}

#[tokio::test]
async fn one_browser_signing_in_through_the_second_instance_switches_its_session() {
    let app = spawn_app().await;
    let browser = app.browser();

    browser.sign_in_ok(GLOBEX_ENG).await;
    assert_eq!(browser.session().await.1["instance_id"], GLOBEX_ENG);
    browser.sign_in_ok(GLOBEX_OPS).await;

    assert_eq!(browser.session().await.1["instance_id"], GLOBEX_OPS);
}

#[tokio::test]
async fn two_sign_ins_started_in_parallel_tabs_both_complete() {
    let app = spawn_app().await;
    let browser = app.browser();
    let first = browser
        .follow_until_callback(browser.start(ACME_OKTA).await)
        .await;
    let second = browser
        .follow_until_callback(browser.start(ACME_OKTA).await)
        .await;

    let first = browser.get(first).await;
    let second = browser.get(second).await;

    assert_eq!(first.status, StatusCode::SEE_OTHER, "{first:#?}");
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{second:#?}");
    assert_eq!(browser.session().await.0, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session_even_for_a_replayed_cookie_and_goes_to_okta() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;
    let stolen = browser
        .cookie(SESSION_COOKIE)
        .expect("no session cookie in the browser");
    let other_client = reqwest::Client::new();
    let replay = || {
        other_client
            .get(app.url("/api/session"))
            .header("cookie", format!("{SESSION_COOKIE}={stolen}"))
            .send()
    };
    // The replay works while the session lives, so the check below is meaningful.
    assert_eq!(replay().await.unwrap().status(), StatusCode::OK);

    let logout = browser.logout().await;

    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    let end_session = logout.next_url().unwrap();
    assert!(
        end_session
            .as_str()
            .starts_with(&format!("{}/oauth2/v1/logout?", app.issuer("acme"))),
        "{end_session}"
    );
    let removal = logout
        .set_cookie(SESSION_COOKIE)
        .expect("logout did not clear the cookie");
    assert_eq!(removal.value(), "");
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(replay().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_out_without_a_session_is_harmless() {
    let app = spawn_app().await;
    let browser = app.browser();

    let logout = browser.logout().await;

    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(logout.location(), Some("/signed-out"));
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_sign_in_after_the_idp_rotates_its_keys_succeeds_with_one_key_refetch() {
    let app = spawn_app().await;
    app.browser().sign_in_ok(ACME_OKTA).await;
    app.simulator.reset_stats("acme").await;
    app.simulator.rotate_keys("acme", true, true).await;

    let browser = app.browser();
    let outcome = browser.sign_in(ACME_OKTA, None, None).await;

    let callback = outcome.callback();
    assert_eq!(callback.status, StatusCode::SEE_OTHER, "{callback:#?}");
    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["sub"], ADA.sub);
    let stats = app.simulator.stats("acme").await;
    assert_eq!(stats.keys, 1, "{stats:?}");
    assert_eq!(stats.token, 1, "{stats:?}");
}

#[tokio::test]
async fn metadata_and_keys_are_fetched_once_for_many_sign_ins() {
    let app = spawn_app().await;

    for _ in 0..3 {
        app.browser().sign_in_ok(ACME_OKTA).await;
    }

    let stats = app.simulator.stats("acme").await;
    assert_eq!(
        (stats.discovery, stats.keys, stats.token),
        (1, 1, 3),
        "{stats:?}"
    );
}

#[tokio::test]
async fn an_instance_whose_current_secret_was_retired_signs_in_with_its_next_secret() {
    let app = spawn_app().await;
    let instance = InstanceId::parse(ACME_OKTA).unwrap();
    // Okta generated a new secret and the old one was deactivated before we promoted it.
    let retired = ClientSecret::new("a-secret-okta-no-longer-accepts".to_owned()).unwrap();
    let active = ClientSecret::new(app.secrets[ACME_OKTA].clone()).unwrap();
    let changes = InstanceChanges {
        client_secret: Some(retired),
        next_secret: Some(Some(active)),
        ..InstanceChanges::default()
    };
    registry::update_instance(&app.db, &app.vault, &instance, changes, &Actor::Operator)
        .await
        .unwrap();

    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;

    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["instance_id"], ACME_OKTA);
    let instances = registry::list_instances(&app.db, None).await.unwrap();
    let acme = instances.iter().find(|i| i.id == instance).unwrap();
    assert_eq!(acme.working_secret, Some(SecretSlot::Next));
    assert_eq!(
        app.simulator.stats("acme").await.token,
        2,
        "one refusal, one retry"
    );
}

#[tokio::test]
async fn a_wrong_secret_without_a_next_one_is_refused_without_a_retry() {
    let app = spawn_app().await;
    let instance = InstanceId::parse(ACME_OKTA).unwrap();
    let wrong = ClientSecret::new("not-the-secret".to_owned()).unwrap();
    let changes = InstanceChanges {
        client_secret: Some(wrong),
        ..InstanceChanges::default()
    };
    registry::update_instance(&app.db, &app.vault, &instance, changes, &Actor::Operator)
        .await
        .unwrap();

    let browser = app.browser();
    let outcome = browser.sign_in(ACME_OKTA, None, None).await;

    assert_refused_and_signed_out(
        &browser,
        outcome.callback(),
        StatusCode::BAD_REQUEST,
        reason::UNUSABLE_ANSWER,
    )
    .await;
    assert_eq!(app.simulator.stats("acme").await.token, 1);
}

#[tokio::test]
async fn a_staged_key_changes_nothing_until_activated_then_costs_one_refetch() {
    let app = spawn_app().await;
    app.browser().sign_in_ok(ACME_OKTA).await;
    app.simulator.reset_stats("acme").await;

    let staged = app.simulator.stage_key("acme").await;
    app.browser().sign_in_ok(ACME_OKTA).await;
    assert_eq!(
        app.simulator.stats("acme").await.keys,
        0,
        "nothing new to fetch yet"
    );

    app.simulator.activate_key("acme", &staged).await;
    for _ in 0..3 {
        app.browser().sign_in_ok(ACME_OKTA).await;
    }
    assert_eq!(
        app.simulator.stats("acme").await.keys,
        1,
        "one refetch for the new kid"
    );
}

#[tokio::test]
async fn sign_ins_keep_working_on_cached_keys_while_the_key_endpoint_is_down() {
    let app = spawn_app().await;
    app.browser().sign_in_ok(ACME_OKTA).await;

    app.simulator.keys_outage("acme", true).await;
    for _ in 0..3 {
        app.browser().sign_in_ok(ACME_OKTA).await;
    }

    // And a rotation during the outage cannot be followed: that sign-in fails cleanly.
    app.simulator.rotate_keys("acme", false, true).await;
    let browser = app.browser();
    let outcome = browser.sign_in(ACME_OKTA, None, None).await;
    assert!(
        outcome.callback().status.is_client_error() || outcome.callback().status.is_server_error()
    );
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);

    app.simulator.keys_outage("acme", false).await;
}

#[tokio::test]
async fn a_sign_in_started_before_a_restart_completes_after_it() {
    let app = spawn_app().await;
    let browser = app.browser();
    let authorize = browser.start(ACME_OKTA).await;

    let _restarted = app.restart().await;
    let outcome = browser.follow(authorize).await;

    assert_eq!(outcome.callback().status, StatusCode::SEE_OTHER);
    assert_eq!(browser.session().await.0, StatusCode::OK);
}
