//! No client secret ever reaches a browser: not in pages, API answers, redirects or error pages.

use app::api::{CurrentUser, OrgSignIn};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{ACME_OKTA, ADA, GLOBEX_ENG, Recorded, TestApp, spawn_app};

fn assert_no_secret_in(app: &TestApp, responses: &[Recorded]) {
    assert!(!responses.is_empty());
    for secret in app.all_secrets() {
        for response in responses {
            assert!(
                !response.everything().contains(secret),
                "{} {} reveals a client secret:\n{}",
                response.status,
                response.url,
                response.everything()
            );
        }
    }
}

/// Paths under `/api/` that a page mentions (server functions the page may call).
fn api_paths_in(body: &str) -> Vec<String> {
    body.match_indices("/api/")
        .map(|(start, _)| {
            body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
                .collect::<String>()
        })
        .collect()
}

#[tokio::test]
async fn pages_rendered_for_a_signed_in_user_never_contain_a_client_secret() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;

    let mut responses = Vec::new();
    for path in ["/", "/o/acme", "/o/globex", "/api/session"] {
        let response = browser.get(app.url(path)).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {response:#?}");
        responses.push(response);
    }
    // Pages mentioning /api/ endpoints: fetch those too.
    let mentioned: Vec<String> = responses
        .iter()
        .flat_map(|r| api_paths_in(&r.body))
        .collect();
    for path in mentioned {
        responses.push(browser.post_form(&path, &[]).await);
        responses.push(browser.get(app.url(&path)).await);
    }

    // The pages really rendered what the secrets sit next to in the database.
    assert!(
        responses[0].body.contains(ADA.name),
        "home page: {}",
        responses[0].body
    );
    assert!(
        responses[1].body.contains("/sso/acme-okta/login"),
        "{}",
        responses[1].body
    );
    assert!(
        responses[2].body.contains("/sso/globex-ops/login"),
        "{}",
        responses[2].body
    );
    assert!(responses[3].body.contains(ADA.email));
    assert_no_secret_in(&app, &responses);
}

#[tokio::test]
async fn server_functions_never_return_a_client_secret() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;

    let current_user = browser.post_form(CurrentUser::PATH, &[]).await;
    let acme = browser
        .post_form(OrgSignIn::PATH, &[("slug", "acme")])
        .await;
    let globex = browser
        .post_form(OrgSignIn::PATH, &[("slug", "globex")])
        .await;
    let unknown = browser
        .post_form(OrgSignIn::PATH, &[("slug", "initech")])
        .await;

    assert_eq!(current_user.status, StatusCode::OK, "{current_user:#?}");
    assert!(
        current_user.body.contains(ADA.email),
        "{}",
        current_user.body
    );
    assert_eq!(acme.status, StatusCode::OK, "{acme:#?}");
    assert!(acme.body.contains("/sso/acme-okta/login"), "{}", acme.body);
    assert!(
        globex.body.contains("/sso/globex-eng/login"),
        "{}",
        globex.body
    );
    assert!(
        globex.body.contains("/sso/globex-ops/login"),
        "{}",
        globex.body
    );
    assert!(
        unknown.status.is_client_error() || unknown.status.is_server_error(),
        "{unknown:#?}"
    );
    assert_no_secret_in(&app, &[current_user, acme, globex, unknown]);
}

#[tokio::test]
async fn sign_in_redirects_and_error_pages_never_contain_a_client_secret() {
    let app = spawn_app().await;
    let mut responses = Vec::new();

    // Every hop of a successful sign-in (app and simulator).
    let browser = app.browser();
    responses.extend(browser.sign_in_ok(GLOBEX_ENG).await.hops);
    // A bad ID token.
    app.simulator
        .tamper("acme", json!({ "claims": { "aud": "someone-else" } }))
        .await;
    let outcome = app.browser().sign_in(ACME_OKTA, None, None).await;
    assert_eq!(outcome.callback().status, StatusCode::BAD_REQUEST);
    responses.extend(outcome.hops);
    // A callback in the wrong browser.
    let starter = app.browser();
    let callback = starter
        .follow_until_callback(starter.start(ACME_OKTA).await)
        .await;
    let stolen = app.browser().get(callback).await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
    responses.push(stolen);
    // An error from Okta, an unknown instance and a forged state.
    let denied = app
        .browser()
        .sign_in(ACME_OKTA, None, Some("nobody@acme.example"))
        .await;
    assert_eq!(denied.callback().status, StatusCode::BAD_REQUEST);
    responses.extend(denied.hops);
    let unknown = app
        .browser()
        .get(app.url("/sso/no-such-instance/login"))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    responses.push(unknown);
    let forged = app
        .browser()
        .get(app.url("/sso/acme-okta/callback?state=forged&code=x"))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    responses.push(forged);

    assert_no_secret_in(&app, &responses);
}
