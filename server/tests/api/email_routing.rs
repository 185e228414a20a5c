//! Sign-in by work email: the `route_email` server function maps the email's domain to that
//! org's enabled instances, and says the same thing for every email it cannot route.

use app::api::RouteEmail;
use app::backend::audit::Actor;
use app::backend::registry::{self, TenantChanges, TenantStatus};
use app::domain::{EmailDomain, InstanceId, TenantSlug};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{GLOBEX_ENG, GLOBEX_OPS, TestApp, spawn_app};

/// The fixture with each org routing `{slug}.example`.
async fn app_with_domains() -> TestApp {
    let app = spawn_app().await;
    for slug in ["acme", "globex"] {
        let changes = TenantChanges {
            add_domains: vec![EmailDomain::parse(&format!("{slug}.example")).unwrap()],
            ..TenantChanges::default()
        };
        registry::update_tenant(
            &app.db,
            &TenantSlug::parse(slug).unwrap(),
            changes,
            &Actor::Operator,
        )
        .await
        .unwrap();
    }
    app
}

async fn route(app: &TestApp, email: &str, return_to: &str) -> (StatusCode, Value) {
    let answer = app
        .browser()
        .post_form(
            RouteEmail::PATH,
            &[("email", email), ("return_to", return_to)],
        )
        .await;
    let body = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (answer.status, body)
}

#[tokio::test]
async fn an_email_of_an_org_with_one_instance_goes_straight_to_its_sign_in() {
    let app = app_with_domains().await;

    let (status, answer) = route(&app, " Ada@Acme.example ", "/o/acme?tab=1").await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({ "SignIn": { "login_path":
            "/sso/acme-okta/login?login_hint=Ada%40Acme.example&return_to=%2Fo%2Facme%3Ftab%3D1" } })
    );
}

#[tokio::test]
async fn an_email_of_an_org_with_two_instances_gets_a_picker_in_label_order() {
    let app = app_with_domains().await;

    let (status, answer) = route(&app, "hank@globex.example", "").await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    let instances = answer["Choose"]["instances"].as_array().expect("a picker");
    let labels: Vec<&str> = instances
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Engineering", "Operations"]);
    assert_eq!(
        instances[0]["login_path"],
        "/sso/globex-eng/login?login_hint=hank%40globex.example"
    );
}

#[tokio::test]
async fn an_unknown_domain_a_suspended_org_and_an_org_without_enabled_instances_get_one_answer() {
    let app = app_with_domains().await;
    let unknown = route(&app, "someone@initech.example", "").await;
    registry::update_tenant(
        &app.db,
        &TenantSlug::parse("acme").unwrap(),
        TenantChanges {
            status: Some(TenantStatus::Suspended),
            ..TenantChanges::default()
        },
        &Actor::Operator,
    )
    .await
    .unwrap();
    let suspended = route(&app, "ada@acme.example", "").await;
    for instance in [GLOBEX_ENG, GLOBEX_OPS] {
        registry::set_enabled(
            &app.db,
            &InstanceId::parse(instance).unwrap(),
            false,
            &Actor::Operator,
        )
        .await
        .unwrap();
    }
    let disabled = route(&app, "hank@globex.example", "").await;

    assert_eq!(unknown, (StatusCode::OK, json!("NoMatch")));
    assert_eq!(
        suspended, unknown,
        "a suspended org is told apart from an unknown one"
    );
    assert_eq!(
        disabled, unknown,
        "an org without enabled instances is told apart"
    );
}

#[tokio::test]
async fn a_malformed_or_free_mail_address_is_a_field_error() {
    let app = app_with_domains().await;
    for email in ["not-an-email", "@acme.example", "ada@", "ada@gmail.com"] {
        let (status, answer) = route(&app, email, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email:?}: {answer}");
        assert!(answer["Invalid"].is_string(), "{email:?}: {answer}");
    }
}

#[tokio::test]
async fn a_return_path_to_another_site_is_dropped_from_the_sign_in_link() {
    let app = app_with_domains().await;
    for evil in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "/%09/evil.example",
    ] {
        let (_, answer) = route(&app, "ada@acme.example", evil).await;
        assert_eq!(
            answer["SignIn"]["login_path"], "/sso/acme-okta/login?login_hint=ada%40acme.example",
            "{evil:?}"
        );
    }
}
