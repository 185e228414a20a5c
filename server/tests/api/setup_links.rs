//! A setup link's journey: the operator creates an org and a link; whoever opens it connects
//! the org's first instance, tests it, activates it, and becomes the first admin by signing
//! in through it, which uses the link up. A link reaches nothing else, and a dead one shows
//! one neutral page.

use std::time::Duration;

use app::api::{
    AddOrgInstance, AddSetupInstance, AuditLog, CheckOktaDomain, OrgSettings, SetInstanceEnabled,
    SetupStatus, TestConnection,
};
use app::backend::audit::Actor;
use app::backend::registry::{self, SetupLinkStatus};
use app::domain::TenantSlug;
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{
    ACME_OKTA, ADA, AppConfig, Browser, INSTANCES, NEW_APP_CLIENT_ID, OrgFixture, Recorded,
    TestApp, UserFixture, spawn_app_with,
};
use crate::tenant_admins::call;

const SETUP_COOKIE: &str = "orgpass_setup";

const PETER: UserFixture = UserFixture {
    sub: "00u1initechpeter",
    email: "peter@initech.example",
    name: "Peter Gibbons",
};
const MILTON: UserFixture = UserFixture {
    sub: "00u1initechmilton",
    email: "milton@initech.example",
    name: "Milton Waddams",
};

/// The usual two orgs, and Initech: an org the operator registered with no instance yet.
const WITH_INITECH: [OrgFixture; 3] = [
    ("acme", "Acme Corporation", &[ADA]),
    ("globex", "Globex", &[crate::helpers::HANK]),
    ("initech", "Initech", &[PETER, MILTON]),
];

async fn spawn() -> TestApp {
    spawn_app_with(AppConfig {
        orgs: &WITH_INITECH,
        instances: &INSTANCES,
        ..AppConfig::default()
    })
    .await
}

/// `orgpass setup-link create initech`: the link's token.
async fn setup_link(app: &TestApp, ttl: Duration) -> String {
    let (_, token) = registry::create_setup_link(
        &app.db,
        &TenantSlug::parse("initech").unwrap(),
        ttl,
        &Actor::Operator,
    )
    .await
    .unwrap();
    token.expose_secret().to_owned()
}

async fn link_status(app: &TestApp) -> SetupLinkStatus {
    let links = registry::list_setup_links(&app.db, None).await.unwrap();
    links[0].status
}

/// A browser that opened the link: it now holds the link in a cookie, on the set-up page.
async fn opened(app: &TestApp, token: &str) -> Browser {
    let browser = app.browser();
    let answer = browser.get(format!("/setup/{token}")).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:#?}");
    assert_eq!(answer.location(), Some("/setup"));
    assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
    let cookie = answer.set_cookie(SETUP_COOKIE).expect("no setup cookie");
    assert_eq!(cookie.http_only(), Some(true));
    browser
}

/// The wizard's first step: Initech's Okta app, saved inactive. Returns the instance.
async fn connect_new_app(app: &TestApp, browser: &Browser) -> Value {
    let (status, instance) = call(
        browser,
        AddSetupInstance::PATH,
        &[
            ("label", "Okta"),
            ("okta_domain", app.issuer("initech")),
            ("client_id", NEW_APP_CLIENT_ID),
            ("client_secret", &app.new_app_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{instance}");
    instance
}

/// What the admin does in Okta: paste the sign-in redirect URI the page shows.
async fn paste_into_okta(app: &TestApp, instance: &Value) {
    let redirect = instance["urls"]["sign_in_redirect_uri"].as_str().unwrap();
    app.simulator
        .set_redirect_uri("initech", NEW_APP_CLIENT_ID, redirect)
        .await;
}

fn no_secret_in(app: &TestApp, what: &str, text: &str, token: &str) {
    for secret in app.all_secrets() {
        assert!(!text.contains(secret), "{what} reveals a client secret");
    }
    assert!(
        !text.contains(token),
        "{what} reveals the setup link's token"
    );
}

#[tokio::test]
async fn a_setup_link_leads_through_the_first_instance_to_the_first_admin_and_is_used_up() {
    let app = spawn().await;
    let token = setup_link(&app, Duration::from_secs(3600)).await;
    let browser = opened(&app, &token).await;
    let mut answers: Vec<(String, String)> = Vec::new();

    let (status, setup) = call(&browser, SetupStatus::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    assert_eq!(setup["tenant_name"], "Initech");
    assert_eq!(setup["instance"], Value::Null);
    let (status, issuer) = call(
        &browser,
        CheckOktaDomain::PATH,
        &[("okta_domain", app.issuer("initech"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issuer}");

    let instance = connect_new_app(&app, &browser).await;
    assert_eq!(instance["enabled"], false);
    assert_eq!(instance["client_id"], NEW_APP_CLIENT_ID);
    answers.push(("the saved instance".into(), instance.to_string()));
    let id = instance["id"].as_str().unwrap().to_owned();
    paste_into_okta(&app, &instance).await;

    let (status, checks) = call(&browser, TestConnection::PATH, &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{checks}");
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .all(|check| check["outcome"] == "passed"),
        "{checks}"
    );
    let start = browser.get(format!("/sso/{id}/test")).await;
    assert_eq!(start.status, StatusCode::FOUND, "{start:#?}");
    let tested = browser.follow(start.next_url().unwrap()).await;
    let report = tested.callback();
    assert_eq!(report.status, StatusCode::OK, "{report:#?}");
    assert!(
        report.body.contains("Every check passed"),
        "{}",
        report.body
    );
    assert!(report.body.contains(PETER.sub));
    assert!(report.set_cookie("orgpass_session").is_none());
    answers.push(("the test report".into(), report.everything()));

    let (status, activated) = call(
        &browser,
        SetInstanceEnabled::PATH,
        &[("id", &id), ("enabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{activated}");
    assert_eq!(activated["enabled"], true);
    let (_, setup) = call(&browser, SetupStatus::PATH, &[]).await;
    answers.push(("the set-up status".into(), setup.to_string()));

    let signed_in = browser
        .sign_in(&id, Some("/settings"), Some(PETER.email))
        .await;
    assert_eq!(signed_in.landing(), "/settings");
    let callback = signed_in.callback();
    assert_eq!(
        callback
            .set_cookie(SETUP_COOKIE)
            .map(|c| c.value().to_owned()),
        Some(String::new()),
        "the setup cookie was not removed"
    );
    assert_eq!(link_status(&app).await, SetupLinkStatus::Used);

    let (status, settings) = call(&browser, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "Peter is not an admin: {settings}");
    assert_eq!(settings["tenant_name"], "Initech");
    answers.push(("the settings".into(), settings.to_string()));
    let (_, log) = call(&browser, AuditLog::PATH, &[("page", "0")]).await;
    let actions: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    for action in [
        "setup_link.use",
        "sign_in",
        "instance.enable",
        "instance.test_sign_in",
        "instance.add",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    answers.push(("the audit log".into(), log.to_string()));
    for (what, text) in &answers {
        no_secret_in(&app, what, text, &token);
    }

    let again = app.browser().get(format!("/setup/{token}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body.contains("This link is no longer valid"));
}

#[tokio::test]
async fn an_unknown_revoked_expired_or_used_link_gets_one_neutral_page_and_no_cookie() {
    let app = spawn().await;
    let revoked = setup_link(&app, Duration::from_secs(3600)).await;
    let links = registry::list_setup_links(&app.db, None).await.unwrap();
    registry::revoke_setup_link(&app.db, &links[0].id, &Actor::Operator)
        .await
        .unwrap();
    let expired = setup_link(&app, Duration::ZERO).await;

    let pages: Vec<Recorded> = {
        let browser = app.browser();
        let mut pages = Vec::new();
        for token in [
            "no-such-link-0123456789abcdef0123456789abcdef".to_owned(),
            revoked,
            expired,
            "x".repeat(4000),
        ] {
            pages.push(browser.get(format!("/setup/{token}")).await);
        }
        pages
    };
    for page in &pages {
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{page:#?}");
        assert!(page.set_cookie(SETUP_COOKIE).is_none());
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
    assert!(pages.windows(2).all(|pair| pair[0].body == pair[1].body));
    assert!(pages[0].body.contains("This link is no longer valid"));
}

#[tokio::test]
async fn a_setup_link_reaches_nothing_but_its_own_instance() {
    let app = spawn().await;
    let token = setup_link(&app, Duration::from_secs(3600)).await;
    let browser = opened(&app, &token).await;
    connect_new_app(&app, &browser).await;

    let (status, body) = call(&browser, AddSetupInstance::PATH, &new_app_form(&app)).await;
    assert_eq!(status, StatusCode::CONFLICT, "a second instance: {body}");
    for (path, form) in [
        (OrgSettings::PATH, vec![]),
        (TestConnection::PATH, vec![("id", ACME_OKTA)]),
        (
            SetInstanceEnabled::PATH,
            vec![("id", ACME_OKTA), ("enabled", "false")],
        ),
        (AddOrgInstance::PATH, new_app_form(&app)),
    ] {
        let (status, body) = call(&browser, path, &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    let test = browser.get(format!("/sso/{ACME_OKTA}/test")).await;
    assert_eq!(test.status, StatusCode::UNAUTHORIZED);
    let (_, setup) = call(&browser, SetupStatus::PATH, &[]).await;
    assert!(setup["instance"].is_object(), "{setup}");
}

fn new_app_form(app: &TestApp) -> Vec<(&'static str, &str)> {
    vec![
        ("label", "Another"),
        ("okta_domain", app.issuer("initech")),
        ("client_id", "0oa1another"),
        ("client_secret", "another-secret-0123456789abcdef"),
    ]
}

#[tokio::test]
async fn a_link_revoked_during_set_up_stops_working_at_once_and_makes_nobody_admin() {
    let app = spawn().await;
    let token = setup_link(&app, Duration::from_secs(3600)).await;
    let browser = opened(&app, &token).await;
    let instance = connect_new_app(&app, &browser).await;
    let id = instance["id"].as_str().unwrap().to_owned();
    paste_into_okta(&app, &instance).await;
    let (status, _) = call(
        &browser,
        SetInstanceEnabled::PATH,
        &[("id", &id), ("enabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let links = registry::list_setup_links(&app.db, None).await.unwrap();
    registry::revoke_setup_link(&app.db, &links[0].id, &Actor::Operator)
        .await
        .unwrap();

    let (status, body) = call(&browser, SetupStatus::PATH, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({ "Unauthorized": "this setup link is no longer valid; ask for a new one" })
    );
    let (status, _) = call(&browser, TestConnection::PATH, &[("id", &id)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let signed_in = browser.sign_in(&id, None, Some(PETER.email)).await;
    assert_eq!(signed_in.callback().status, StatusCode::SEE_OTHER);
    let (status, _) = call(&browser, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Peter became an admin");
}

#[tokio::test]
async fn a_sign_in_through_another_orgs_instance_does_not_use_the_link() {
    let app = spawn().await;
    let token = setup_link(&app, Duration::from_secs(3600)).await;
    let browser = opened(&app, &token).await;
    connect_new_app(&app, &browser).await;

    let signed_in = browser.sign_in(ACME_OKTA, None, Some(ADA.email)).await;

    assert_eq!(signed_in.callback().status, StatusCode::SEE_OTHER);
    assert!(signed_in.callback().set_cookie(SETUP_COOKIE).is_none());
    assert_eq!(link_status(&app).await, SetupLinkStatus::Active);
    let (status, _) = call(&browser, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Ada became an admin");
    let (status, setup) = call(&browser, SetupStatus::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
}

#[tokio::test]
async fn the_second_person_to_sign_in_through_a_used_link_is_not_an_admin() {
    let app = spawn().await;
    let token = setup_link(&app, Duration::from_secs(3600)).await;
    let first = opened(&app, &token).await;
    // Another browser opened the same link before it was used.
    let second = opened(&app, &token).await;
    let instance = connect_new_app(&app, &first).await;
    let id = instance["id"].as_str().unwrap().to_owned();
    paste_into_okta(&app, &instance).await;
    call(
        &first,
        SetInstanceEnabled::PATH,
        &[("id", &id), ("enabled", "true")],
    )
    .await;
    first.sign_in(&id, None, Some(PETER.email)).await;

    let late = second.sign_in(&id, None, Some(MILTON.email)).await;

    assert_eq!(late.callback().status, StatusCode::SEE_OTHER);
    let (status, _) = call(&second, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Milton became an admin");
    let (status, _) = call(&first, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_set_up_functions_refuse_a_request_from_another_site() {
    let app = spawn().await;
    let token = setup_link(&app, Duration::from_secs(3600)).await;
    let browser = opened(&app, &token).await;
    let cross_site = [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    for (path, form) in [
        (SetupStatus::PATH, vec![]),
        (AddSetupInstance::PATH, new_app_form(&app)),
    ] {
        let answer = browser.post_form_with(path, &form, &cross_site).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
    }
    let (_, setup) = call(&browser, SetupStatus::PATH, &[]).await;
    assert_eq!(
        setup["instance"],
        Value::Null,
        "a cross-site call added one"
    );
}

#[tokio::test]
async fn without_a_live_setup_link_the_set_up_functions_answer_401_even_to_an_admin() {
    let app = spawn().await;
    let stranger = app.browser();
    let admin = crate::tenant_admins::acme_admin(&app).await;
    for browser in [&stranger, &admin] {
        for (path, form) in [
            (SetupStatus::PATH, vec![]),
            (AddSetupInstance::PATH, new_app_form(&app)),
        ] {
            let (status, body) = call(browser, path, &form).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        }
    }
    let (_, settings) = call(&admin, OrgSettings::PATH, &[]).await;
    assert_eq!(settings["instances"].as_array().unwrap().len(), 1);
}
