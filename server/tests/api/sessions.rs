//! Session lifetimes and session fixation. The harness runs with a 3600 s absolute lifetime and
//! an 1800 s idle timeout, and moves the app's session clock instead of waiting.

use std::time::Duration;

use app::backend::audit::Actor;
use app::backend::registry::{self, TenantChanges, TenantStatus};
use app::backend::sessions::{self, SessionPolicy};
use app::domain::{InstanceId, TenantSlug};
use reqwest::StatusCode;

use crate::helpers::{
    ACME_OKTA, ADA, Browser, GLOBEX_ENG, GLOBEX_OPS, GRACE, SESSION_COOKIE, session_status_with,
    spawn_app, within_feed_delay,
};

fn session_token(browser: &Browser) -> String {
    browser
        .cookie(SESSION_COOKIE)
        .expect("the browser holds no session cookie")
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

#[tokio::test]
async fn a_session_cookie_planted_before_sign_in_is_never_the_session_after_it() {
    let app = spawn_app().await;
    for planted in [
        "attacker-chosen".to_owned(),
        // Shaped like a real token.
        "x".repeat(43),
    ] {
        let browser = app.browser();
        browser.plant_cookie(SESSION_COOKIE, &planted);
        assert_eq!(browser.cookie(SESSION_COOKIE), Some(planted.clone()));

        browser.sign_in_ok(ACME_OKTA).await;

        let token = session_token(&browser);
        assert_ne!(token, planted, "the planted value became the session");
        assert_eq!(browser.session().await.1["sub"], ADA.sub);
        assert_eq!(
            session_status_with(&app.base_url, &planted).await,
            StatusCode::UNAUTHORIZED,
            "{planted:?}"
        );
    }
}

#[tokio::test]
async fn another_users_live_session_planted_in_a_browser_is_replaced_and_ended_by_the_sign_in() {
    let app = spawn_app().await;
    let attacker = app.browser();
    attacker
        .sign_in(ACME_OKTA, None, Some(GRACE.email))
        .await
        .landing();
    let planted = session_token(&attacker);
    let victim = app.browser();
    victim.plant_cookie(SESSION_COOKIE, &planted);
    // The plant took: the victim's browser is in the attacker's session for now.
    assert_eq!(victim.session().await.1["sub"], GRACE.sub);

    victim.sign_in_ok(ACME_OKTA).await;

    assert_ne!(session_token(&victim), planted);
    assert_eq!(victim.session().await.1["sub"], ADA.sub);
    // The attacker's copy of the token shows nobody, least of all the victim.
    let (status, seen) = attacker.session().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{seen}");
}

#[tokio::test]
async fn signing_in_again_ends_the_browsers_previous_session() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;
    let first = session_token(&browser);

    browser.sign_in_ok(GLOBEX_ENG).await;

    assert_ne!(session_token(&browser), first);
    assert_eq!(browser.session().await.1["instance_id"], GLOBEX_ENG);
    assert_eq!(
        session_status_with(&app.base_url, &first).await,
        StatusCode::UNAUTHORIZED,
        "the session of the first sign-in outlived the second"
    );
}

#[tokio::test]
async fn a_session_unused_for_longer_than_the_idle_timeout_ends() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;

    app.clock.advance(secs(1801));

    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_in_use_outlives_the_idle_timeout() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;

    app.clock.advance(secs(1000));
    assert_eq!(browser.session().await.0, StatusCode::OK);
    app.clock.advance(secs(1000));

    // 2000 s after sign-in, 1000 s after the last request.
    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["sub"], ADA.sub);
}

#[tokio::test]
async fn a_session_in_use_still_ends_at_its_absolute_lifetime() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;

    for elapsed in [1000, 2000, 3000] {
        app.clock.advance(secs(1000));
        assert_eq!(
            browser.session().await.0,
            StatusCode::OK,
            "{elapsed} s after sign-in"
        );
    }
    app.clock.advance(secs(601));

    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabling_an_instance_or_suspending_an_org_ends_exactly_their_sessions() {
    let app = spawn_app().await;
    let mut browsers = Vec::new();
    for instance in [ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS] {
        let browser = app.browser();
        browser.sign_in_ok(instance).await;
        browsers.push(browser);
    }
    let statuses = async || {
        let mut statuses = Vec::new();
        for browser in &browsers {
            statuses.push(browser.session().await.0);
        }
        statuses
    };

    registry::set_enabled(
        &app.db,
        &InstanceId::parse(GLOBEX_ENG).unwrap(),
        false,
        &Actor::Operator,
    )
    .await
    .unwrap();
    within_feed_delay("[acme, eng, ops] after disabling globex-eng", async || {
        statuses().await == [StatusCode::OK, StatusCode::UNAUTHORIZED, StatusCode::OK]
    })
    .await;

    let suspend = TenantChanges {
        status: Some(TenantStatus::Suspended),
        ..TenantChanges::default()
    };
    registry::update_tenant(
        &app.db,
        &TenantSlug::parse("acme").unwrap(),
        suspend,
        &Actor::Operator,
    )
    .await
    .unwrap();
    within_feed_delay("[acme, eng, ops] after suspending acme", async || {
        statuses().await
            == [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::OK,
            ]
    })
    .await;
}

#[tokio::test]
async fn sessions_ended_by_a_disable_or_a_suspension_stay_ended_when_it_is_lifted() {
    let app = spawn_app().await;
    let through_eng = app.browser();
    through_eng.sign_in_ok(GLOBEX_ENG).await;
    let through_acme = app.browser();
    through_acme.sign_in_ok(ACME_OKTA).await;
    let eng = InstanceId::parse(GLOBEX_ENG).unwrap();
    let acme = TenantSlug::parse("acme").unwrap();
    let status = |status| TenantChanges {
        status: Some(status),
        ..TenantChanges::default()
    };

    registry::set_enabled(&app.db, &eng, false, &Actor::Operator)
        .await
        .unwrap();
    registry::set_enabled(&app.db, &eng, true, &Actor::Operator)
        .await
        .unwrap();
    registry::update_tenant(
        &app.db,
        &acme,
        status(TenantStatus::Suspended),
        &Actor::Operator,
    )
    .await
    .unwrap();
    registry::update_tenant(
        &app.db,
        &acme,
        status(TenantStatus::Active),
        &Actor::Operator,
    )
    .await
    .unwrap();

    for (what, browser) in [
        ("the re-enabled instance", &through_eng),
        ("the reactivated org", &through_acme),
    ] {
        within_feed_delay(what, async || {
            browser.session().await.0 == StatusCode::UNAUTHORIZED
        })
        .await;
    }
}

#[tokio::test]
async fn the_sweep_deletes_sessions_past_their_idle_or_absolute_limit_and_keeps_live_ones() {
    let app = spawn_app().await;
    let idle = app.browser();
    idle.sign_in_ok(ACME_OKTA).await;
    app.clock.advance(secs(1000));
    let fresh = app.browser();
    fresh.sign_in_ok(GLOBEX_OPS).await;
    app.clock.advance(secs(900));

    // The harness's limits, measured by the app's clock.
    let policy = SessionPolicy {
        absolute_ttl: secs(3600),
        idle_timeout: secs(1800),
        clock: app.clock.clone(),
    };
    let swept = sessions::sweep_ended(&app.db, &policy).await.unwrap();

    assert_eq!(swept, 1, "only the session idle for 1900 s is swept");
    assert_eq!(fresh.session().await.0, StatusCode::OK);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 1);
}
