//! A tenant admin's test sign-in: the real flow through one of their org's instances, active or
//! not, ending on a report of the claims and each check instead of a session.

use app::api::SetInstanceEnabled;
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    ACME_OKTA, Browser, GLOBEX_ENG, GLOBEX_OPS, GRACE, HANK, Recorded, SESSION_COOKIE, spawn_app,
};
use crate::tenant_admins::{acme_admin, call, make_admin, signed_in_as};

/// Starts a test sign-in through `instance` and follows it to the callback's answer.
async fn test_sign_in(browser: &Browser, instance: &str) -> Recorded {
    let start = browser.get(format!("/sso/{instance}/test")).await;
    assert_eq!(start.status, StatusCode::FOUND, "{start:#?}");
    browser
        .follow(start.next_url().unwrap())
        .await
        .callback()
        .clone()
}

/// The report's checks as (outcome, name) pairs, read from its list.
fn checks(page: &Recorded) -> Vec<(String, String)> {
    let list = page
        .body
        .split(r#"aria-label="Checks">"#)
        .nth(1)
        .unwrap_or_default();
    list.split("<li class=\"check\">")
        .skip(1)
        .map(|item| {
            let text = |from: &str| {
                item.split(from)
                    .nth(1)
                    .and_then(|rest| rest.split('<').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            (text("\">"), text("check-name\">"))
        })
        .collect()
}

#[tokio::test]
async fn a_test_sign_in_shows_the_claims_and_every_check_and_opens_no_session() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let session_before = ada.cookie(SESSION_COOKIE).unwrap();

    let report = test_sign_in(&ada, ACME_OKTA).await;

    assert_eq!(report.status, StatusCode::OK, "{report:#?}");
    assert!(
        report.set_cookie(SESSION_COOKIE).is_none(),
        "a session was opened"
    );
    assert_eq!(ada.cookie(SESSION_COOKIE).unwrap(), session_before);
    assert!(
        report.body.contains("Every check passed"),
        "{}",
        report.body
    );
    let checks = checks(&report);
    assert_eq!(checks.len(), 14, "{checks:?}");
    assert!(checks.iter().all(|(o, _)| o == "Passed"), "{checks:?}");
    assert!(
        report
            .body
            .contains("<dt><code>sub</code></dt><dd>00u1acmeada</dd>")
    );
    assert!(
        report
            .body
            .contains("<dt><code>aud</code></dt><dd>0oa1acmeokta</dd>")
    );
    assert!(report.body.contains("Clock skew"));
    assert_eq!(report.header("referrer-policy"), Some("no-referrer"));
    for secret in app.all_secrets() {
        assert!(!report.body.contains(secret));
    }
    let (_, log) = call(&ada, app::api::AuditLog::PATH, &[("page", "0")]).await;
    assert_eq!(log["events"][0]["action"], "instance.test_sign_in");
    assert_eq!(log["events"][0]["detail"], "every check passed");
}

#[tokio::test]
async fn a_failed_test_sign_in_names_the_check_and_what_to_change_in_okta() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    app.simulator
        .tamper("acme", json!({ "claims": { "aud": "someone-else" } }))
        .await;

    let report = test_sign_in(&ada, ACME_OKTA).await;

    assert_eq!(report.status, StatusCode::OK);
    let checks = checks(&report);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(o, _)| o == "Failed")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(failed, ["Audience (aud) is the instance&#39;s client ID"]);
    let passed = checks.iter().take_while(|(o, _)| o == "Passed").count();
    assert_eq!(
        passed, 5,
        "answer, exchange, format, signature, issuer: {checks:?}"
    );
    assert!(
        checks[6..].iter().all(|(o, _)| o == "Not run"),
        "{checks:?}"
    );
    assert!(
        report
            .body
            .contains("the client ID here must be this Okta app")
    );
    assert!(
        report.body.contains("<dd>someone-else</dd>"),
        "the claims as received"
    );
    let (_, log) = call(&ada, app::api::AuditLog::PATH, &[("page", "0")]).await;
    assert_eq!(log["events"][0]["action"], "instance.test_sign_in");
    assert_eq!(log["events"][0]["succeeded"], false);
}

#[tokio::test]
async fn an_inactive_instance_can_be_tested_before_anyone_signs_in_through_it() {
    let app = spawn_app().await;
    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;
    make_admin(&app, "globex", HANK.email).await;
    let (status, _) = call(
        &hank,
        SetInstanceEnabled::PATH,
        &[("id", GLOBEX_OPS), ("enabled", "false")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let report = test_sign_in(&hank, GLOBEX_OPS).await;

    assert!(
        report.body.contains("Every check passed"),
        "{}",
        report.body
    );
    assert_eq!(
        app.browser().login(GLOBEX_OPS, None, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_an_admin_of_the_instances_org_starts_a_test_sign_in() {
    let app = spawn_app().await;
    let _ada = acme_admin(&app).await;
    let grace = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;
    make_admin(&app, "globex", HANK.email).await;

    let nobody = app.browser().get(format!("/sso/{ACME_OKTA}/test")).await;
    let not_admin = grace.get(format!("/sso/{ACME_OKTA}/test")).await;
    let other_org = hank.get(format!("/sso/{ACME_OKTA}/test")).await;

    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    assert!(not_admin.body.contains("Only an admin of the organization"));
    assert_eq!(other_org.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.simulator.stats("acme").await.authorize,
        2,
        "only the two sign-ins"
    );
}
