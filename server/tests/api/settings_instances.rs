//! What an admin does to their org's instances from the settings page: edit, disable and
//! activate, rotate the client secret, remove; never another org's, never locking every admin out.

use app::api::{
    AddOrgInstance, CheckOktaDomain, FinishRotation, InstanceRemoval, OrgSettings,
    RemoveOrgInstance, SetInstanceEnabled, StageNextSecret, TestConnection, UpdateInstanceSettings,
};
use app::backend::audit::Actor;
use app::backend::registry::{self, InstanceChanges};
use app::domain::{ClientSecret, InstanceId, IssuerPolicy, IssuerUrl};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS, GRACE, HANK, TestApp, spawn_app};
use crate::tenant_admins::{acme_admin, call, make_admin, signed_in_as};

async fn instance(admin: &crate::helpers::Browser, id: &str) -> Value {
    let (status, settings) = call(admin, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    settings["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|instance| instance["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn edit<'a>(id: &'a str, label: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("id", id),
        ("label", label),
        ("token_auth_method", "client_secret_basic"),
        ("redirect_uris", ""),
        ("sign_out_uri", ""),
    ]
}

#[tokio::test]
async fn a_new_label_shows_on_the_signed_in_page_at_the_next_request() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let (status, answer) = call(
        &ada,
        UpdateInstanceSettings::PATH,
        &edit(ACME_OKTA, " Acme SSO "),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["label"], "Acme SSO");
    let (_, session) = ada.session().await;
    assert_eq!(session["instance_label"], "Acme SSO");
}

#[tokio::test]
async fn a_bad_edit_is_a_400_that_says_what_to_fix_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let mut bad_uri = edit(ACME_OKTA, "Okta");
    bad_uri[3] = ("redirect_uris", "not a url");
    for (form, says) in [
        (edit(ACME_OKTA, "  "), "label must be 1 to 80"),
        (bad_uri, "not a"),
    ] {
        let (status, answer) = call(&ada, UpdateInstanceSettings::PATH, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["Invalid"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
    assert_eq!(instance(&ada, ACME_OKTA).await["label"], "Okta");
}

#[tokio::test]
async fn another_orgs_instance_is_missing_for_every_instance_function() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    for (path, form) in [
        (UpdateInstanceSettings::PATH, edit(GLOBEX_ENG, "Mine now")),
        (
            SetInstanceEnabled::PATH,
            vec![("id", GLOBEX_ENG), ("enabled", "false")],
        ),
        (InstanceRemoval::PATH, vec![("id", GLOBEX_ENG)]),
        (RemoveOrgInstance::PATH, vec![("id", GLOBEX_ENG)]),
        (
            StageNextSecret::PATH,
            vec![("id", GLOBEX_ENG), ("secret", "a-next-secret-0123456789")],
        ),
        (
            FinishRotation::PATH,
            vec![("id", GLOBEX_ENG), ("promote", "true")],
        ),
    ] {
        let (status, answer) = call(&ada, path, &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert_eq!(
            answer,
            json!({ "NotFound": "no instance 'globex-eng'" }),
            "{path}"
        );
    }
    let globex = registry::find_instance(&app.db, &InstanceId::parse(GLOBEX_ENG).unwrap())
        .await
        .unwrap()
        .expect("globex-eng was removed");
    assert_eq!(
        (globex.label.as_str(), globex.enabled),
        ("Engineering", true)
    );
    app.browser().sign_in_ok(GLOBEX_ENG).await;
}

#[tokio::test]
async fn disabling_ends_its_sessions_and_activating_lets_people_sign_in_again() {
    let app = spawn_app().await;
    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;
    make_admin(&app, "globex", HANK.email).await;
    let ops_user = app.browser();
    ops_user.sign_in_ok(GLOBEX_OPS).await;

    let (status, answer) = call(
        &hank,
        SetInstanceEnabled::PATH,
        &[("id", GLOBEX_OPS), ("enabled", "false")],
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["enabled"], false);
    assert_eq!(ops_user.session().await.0, StatusCode::UNAUTHORIZED);
    let refused = app.browser().login(GLOBEX_OPS, None, None).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    let (status, _) = call(
        &hank,
        SetInstanceEnabled::PATH,
        &[("id", GLOBEX_OPS), ("enabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.browser().sign_in_ok(GLOBEX_OPS).await;
}

#[tokio::test]
async fn the_instance_every_admin_signs_in_through_can_be_neither_disabled_nor_removed() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    for (path, form) in [
        (
            SetInstanceEnabled::PATH,
            vec![("id", ACME_OKTA), ("enabled", "false")],
        ),
        (RemoveOrgInstance::PATH, vec![("id", ACME_OKTA)]),
    ] {
        let (status, answer) = call(&ada, path, &form).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert!(
            answer["Conflict"]
                .as_str()
                .unwrap()
                .contains("lock every admin out"),
            "{answer}"
        );
    }
    assert_eq!(instance(&ada, ACME_OKTA).await["enabled"], true);
}

#[tokio::test]
async fn removal_says_how_many_people_and_sessions_go_and_then_takes_them() {
    let app = spawn_app().await;
    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;
    make_admin(&app, "globex", HANK.email).await;
    let ops_user = app.browser();
    ops_user.sign_in_ok(GLOBEX_OPS).await;

    let (status, impact) = call(&hank, InstanceRemoval::PATH, &[("id", GLOBEX_OPS)]).await;
    assert_eq!(status, StatusCode::OK, "{impact}");
    assert_eq!(impact, json!({ "users": 1, "sessions": 1 }));

    let (status, _) = call(&hank, RemoveOrgInstance::PATH, &[("id", GLOBEX_OPS)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ops_user.session().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(instance(&hank, GLOBEX_OPS).await, Value::Null);
}

/// Okta retired the secret Orgpass holds as current (the operator's setup).
async fn current_secret_retired(app: &TestApp) {
    let changes = InstanceChanges {
        client_secret: Some(ClientSecret::new("a-secret-okta-retired-0123".to_owned()).unwrap()),
        ..InstanceChanges::default()
    };
    let id = InstanceId::parse(ACME_OKTA).unwrap();
    registry::update_instance(&app.db, &app.vault, &id, changes, &Actor::Operator)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rotation_stages_the_next_secret_signs_in_with_it_and_promotes_it() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    current_secret_retired(&app).await;
    let next = app.secrets[ACME_OKTA].clone();
    let tail = &next[next.len() - 4..];

    let (status, staged) = call(
        &ada,
        StageNextSecret::PATH,
        &[("id", ACME_OKTA), ("secret", &next)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{staged}");
    assert_eq!(staged["next_secret_hint"], format!("set, ends in …{tail}"));
    assert!(!staged.to_string().contains(&next), "the secret came back");

    signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    assert_eq!(instance(&ada, ACME_OKTA).await["working_secret"], "next");

    let (status, promoted) = call(
        &ada,
        FinishRotation::PATH,
        &[("id", ACME_OKTA), ("promote", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(promoted["secret_hint"], format!("set, ends in …{tail}"));
    assert_eq!(promoted["next_secret_hint"], Value::Null);
    app.simulator.reset_stats("acme").await;
    signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    assert_eq!(
        app.simulator.stats("acme").await.token,
        1,
        "the old secret is not tried"
    );
}

#[tokio::test]
async fn promoting_without_a_next_secret_is_a_400() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let (status, answer) = call(
        &ada,
        FinishRotation::PATH,
        &[("id", ACME_OKTA), ("promote", "true")],
    )
    .await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["Invalid"]
            .as_str()
            .unwrap()
            .contains("no next client secret"),
        "{answer}"
    );
}

async fn connection_test(admin: &crate::helpers::Browser, id: &str) -> Vec<(String, String)> {
    let (status, checks) = call(admin, TestConnection::PATH, &[("id", id)]).await;
    assert_eq!(status, StatusCode::OK, "{checks}");
    checks
        .as_array()
        .unwrap()
        .iter()
        .map(|check| {
            (
                check["name"].as_str().unwrap().to_owned(),
                check["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expected(outcomes: [&str; 5]) -> Vec<(String, String)> {
    [
        "Discovery document reachable",
        "Issuer matches exactly",
        "Signing algorithms supported",
        "Signing keys reachable",
        "Signing keys usable",
    ]
    .iter()
    .zip(outcomes)
    .map(|(name, outcome)| ((*name).to_owned(), outcome.to_owned()))
    .collect()
}

#[tokio::test]
async fn a_connection_test_of_a_working_okta_passes_every_check() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let checks = connection_test(&ada, ACME_OKTA).await;

    assert_eq!(checks, expected(["passed"; 5]));
}

#[tokio::test]
async fn a_connection_test_names_the_check_that_failed_and_skips_the_rest() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    app.simulator.keys_outage("acme", true).await;

    let checks = connection_test(&ada, ACME_OKTA).await;

    assert_eq!(
        checks,
        expected(["passed", "passed", "passed", "failed", "skipped"])
    );
    app.simulator.keys_outage("acme", false).await;
    let nobody_listens = IssuerUrl::parse(
        "http://127.0.0.1:9",
        &IssuerPolicy {
            allow_loopback_http: true,
            ..IssuerPolicy::default()
        },
    )
    .unwrap();
    let changes = InstanceChanges {
        issuer: Some(nobody_listens),
        ..InstanceChanges::default()
    };
    let id = InstanceId::parse(ACME_OKTA).unwrap();
    registry::update_instance(&app.db, &app.vault, &id, changes, &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(
        connection_test(&ada, ACME_OKTA).await,
        expected(["failed", "skipped", "skipped", "skipped", "skipped"])
    );
}

#[tokio::test]
async fn an_added_instance_waits_inactive_until_tested_and_activated() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let issuer = app.issuer("acme").to_owned();
    let secret = "a-second-client-secret-0123456789";

    let (status, added) = call(
        &ada,
        AddOrgInstance::PATH,
        &[
            ("label", "Contractors"),
            ("okta_domain", &issuer),
            ("client_id", "0oa1contractors"),
            ("client_secret", secret),
        ],
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{added}");
    assert!(!added.to_string().contains(secret), "the secret came back");
    assert_eq!(added["enabled"], false);
    assert_eq!(added["secret_hint"], "set, ends in …6789");
    let id = added["id"].as_str().unwrap().to_owned();
    let origin = &app.public_origin;
    assert_eq!(
        added["urls"]["sign_in_redirect_uri"],
        format!("{origin}/sso/{id}/callback")
    );
    assert_eq!(
        app.browser().login(&id, None, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(connection_test(&ada, &id).await, expected(["passed"; 5]));

    let (status, active) = call(
        &ada,
        SetInstanceEnabled::PATH,
        &[("id", &id), ("enabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(
        app.browser().login(&id, None, None).await.status,
        StatusCode::FOUND
    );
}

#[tokio::test]
async fn an_okta_domain_outside_the_issuer_policy_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let (status, answer) = call(
        &ada,
        CheckOktaDomain::PATH,
        &[("okta_domain", "evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["Invalid"]
            .as_str()
            .unwrap()
            .contains("neither an Okta domain"),
        "{answer}"
    );
    let (status, answer) = call(
        &ada,
        CheckOktaDomain::PATH,
        &[("okta_domain", "acme.okta.com")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, "https://acme.okta.com");

    let (status, _) = call(
        &ada,
        AddOrgInstance::PATH,
        &[
            ("label", "Rogue"),
            ("okta_domain", "evil.example"),
            ("client_id", "0oa1rogue"),
            ("client_secret", "a-rogue-secret-0123456789"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, settings) = call(&ada, OrgSettings::PATH, &[]).await;
    assert_eq!(settings["instances"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_far_from_our_clock_warns_the_admins_until_one_arrives_on_time() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(instance(&ada, ACME_OKTA).await["clock_skew"], Value::Null);

    app.simulator
        .tamper("acme", json!({ "claims": { "iat": now - 95 } }))
        .await;
    signed_in_as(&app, ACME_OKTA, GRACE.email).await;

    let skew = instance(&ada, ACME_OKTA).await["clock_skew"].clone();
    let secs = skew["secs"].as_i64().unwrap_or_default();
    assert!((95..=100).contains(&secs), "{skew}");

    signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    assert_eq!(instance(&ada, ACME_OKTA).await["clock_skew"], Value::Null);
}

#[tokio::test]
async fn each_instance_shows_what_this_server_holds_of_its_issuers_discovery_and_keys() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let (status, added) = call(
        &ada,
        AddOrgInstance::PATH,
        &[
            ("label", "Elsewhere"),
            ("okta_domain", app.issuer("globex")),
            ("client_id", "0oa1elsewhere"),
            ("client_secret", "elsewhere-secret-0123456789"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(
        added["issuer_health"],
        json!({ "discovered_secs_ago": null, "keys": 0, "keys_fetched_secs_ago": null,
                "keys_failed_secs_ago": null }),
        "nobody signed in through that issuer here"
    );
    let health = instance(&ada, ACME_OKTA).await["issuer_health"].clone();
    assert!(health["discovered_secs_ago"].is_u64(), "{health}");
    assert_eq!(health["keys"], 1, "{health}");
    assert_eq!(health["keys_failed_secs_ago"], Value::Null, "{health}");

    // Okta signs with a new key while its keys endpoint is down: the refetch fails.
    app.simulator.keys_outage("acme", true).await;
    app.simulator.rotate_keys("acme", false, true).await;
    let refused = app
        .browser()
        .sign_in(ACME_OKTA, None, Some(GRACE.email))
        .await;
    assert_ne!(refused.callback().status, StatusCode::SEE_OTHER);

    let health = instance(&ada, ACME_OKTA).await["issuer_health"].clone();
    assert!(health["keys_failed_secs_ago"].is_u64(), "{health}");
    assert_eq!(health["keys"], 1, "the last good keys stay: {health}");
}
