//! Attacks and failures: each refused sign-in shows a short reason, sets no session cookie and
//! leaves the browser signed out.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ACME_OKTA, Browser, GLOBEX_ENG, GLOBEX_OPS, SignInOutcome, TestApp,
    assert_refused_and_signed_out, query_param, reason, spawn_app, with_query_param,
};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Arms a one-shot fault on acme's next ID token, then signs in through acme-okta.
async fn sign_in_with_tampered_id_token(app: &TestApp, fault: Value) -> (Browser, SignInOutcome) {
    app.simulator.tamper("acme", fault).await;
    let browser = app.browser();
    let outcome = browser.sign_in(ACME_OKTA, None, None).await;
    (browser, outcome)
}

async fn assert_id_token_refused(fault: Value) {
    let app = spawn_app().await;
    let (browser, outcome) = sign_in_with_tampered_id_token(&app, fault).await;
    assert_refused_and_signed_out(
        &browser,
        outcome.callback(),
        StatusCode::BAD_REQUEST,
        reason::BAD_ID_TOKEN,
    )
    .await;
    // The simulator did issue a token: the refusal is the app's own check.
    assert_eq!(app.simulator.stats("acme").await.token, 1);
}

#[tokio::test]
async fn a_replayed_callback_is_rejected_and_does_not_sign_the_browser_back_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    let authorize = browser.start(ACME_OKTA).await;
    let callback = browser.follow_until_callback(authorize).await;
    let first = browser.get(callback.clone()).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{first:#?}");
    browser.logout().await;

    let replay = browser.get(callback).await;

    assert_refused_and_signed_out(
        &browser,
        &replay,
        StatusCode::BAD_REQUEST,
        reason::EXPIRED_OR_USED,
    )
    .await;
}

#[tokio::test]
async fn a_callback_opened_in_another_browser_is_rejected() {
    let app = spawn_app().await;
    let victim = app.browser();
    let authorize = victim.start(ACME_OKTA).await;
    let callback = victim.follow_until_callback(authorize).await;
    let attacker = app.browser();

    let response = attacker.get(callback).await;

    assert_refused_and_signed_out(
        &attacker,
        &response,
        StatusCode::BAD_REQUEST,
        reason::OTHER_BROWSER,
    )
    .await;
    assert_eq!(victim.session().await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_rejected() {
    let app = spawn_app().await;
    let browser = app.browser();
    let authorize = browser.start(ACME_OKTA).await;
    assert!(
        query_param(&authorize, "nonce").is_some(),
        "no nonce in {authorize}"
    );
    let forged = with_query_param(&authorize, "nonce", "a-nonce-the-app-never-issued");

    let outcome = browser.follow(forged).await;

    assert_refused_and_signed_out(
        &browser,
        outcome.callback(),
        StatusCode::BAD_REQUEST,
        reason::BAD_ID_TOKEN,
    )
    .await;
}

#[tokio::test]
async fn an_id_token_signed_by_an_unpublished_key_is_rejected() {
    assert_id_token_refused(json!({ "sign_with": "unpublished" })).await;
}

#[tokio::test]
async fn an_unsigned_id_token_with_alg_none_is_rejected() {
    assert_id_token_refused(json!({ "sign_with": "none" })).await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_rejected() {
    assert_id_token_refused(json!({ "claims": { "aud": "0oa1someoneelse" } })).await;
}

#[tokio::test]
async fn an_expired_id_token_is_rejected() {
    let now = unix_now();
    assert_id_token_refused(json!({ "claims": { "iat": now - 7200, "exp": now - 3600 } })).await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_rejected() {
    assert_id_token_refused(json!({ "claims": { "iss": "https://evil.okta.com" } })).await;
}

#[tokio::test]
async fn an_id_token_without_a_subject_is_rejected() {
    assert_id_token_refused(json!({ "claims": { "sub": null } })).await;
}

#[tokio::test]
async fn an_id_token_issued_in_the_future_is_rejected() {
    let now = unix_now();
    assert_id_token_refused(json!({ "claims": { "iat": now + 3600, "exp": now + 7200 } })).await;
}

#[tokio::test]
async fn a_code_from_one_instance_injected_into_a_sibling_instances_flow_is_rejected() {
    let app = spawn_app().await;
    let browser = app.browser();
    let eng_callback = browser
        .follow_until_callback(browser.start(GLOBEX_ENG).await)
        .await;
    let eng_code = query_param(&eng_callback, "code").expect("no code for globex-eng");
    let ops_callback = browser
        .follow_until_callback(browser.start(GLOBEX_OPS).await)
        .await;
    assert!(
        ops_callback
            .path()
            .starts_with(&format!("/sso/{GLOBEX_OPS}/"))
    );

    let injected = with_query_param(&ops_callback, "code", &eng_code);
    let response = browser.get(injected).await;

    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::BAD_REQUEST,
        reason::UNUSABLE_ANSWER,
    )
    .await;
}

#[tokio::test]
async fn a_callback_delivered_to_a_sibling_instances_redirect_uri_is_rejected() {
    let app = spawn_app().await;
    let browser = app.browser();
    let eng_callback = browser
        .follow_until_callback(browser.start(GLOBEX_ENG).await)
        .await;
    let mut misdelivered = eng_callback.clone();
    misdelivered.set_path(&format!("/sso/{GLOBEX_OPS}/callback"));

    let response = browser.get(misdelivered).await;

    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::BAD_REQUEST,
        reason::OTHER_BROWSER,
    )
    .await;
    assert_eq!(app.simulator.stats("globex").await.token, 0);
}

#[tokio::test]
async fn a_callback_with_an_altered_iss_parameter_is_rejected() {
    let app = spawn_app().await;
    let browser = app.browser();
    let callback = browser
        .follow_until_callback(browser.start(ACME_OKTA).await)
        .await;
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.issuer("acme"))
    );
    let altered = with_query_param(&callback, "iss", app.issuer("globex"));

    let response = browser.get(altered).await;

    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::BAD_REQUEST,
        reason::WRONG_ISSUER,
    )
    .await;
    assert_eq!(
        app.simulator.stats("acme").await.token,
        0,
        "the code was redeemed anyway"
    );
}

#[tokio::test]
async fn a_callback_without_the_advertised_iss_parameter_is_rejected() {
    let app = spawn_app().await;
    let browser = app.browser();
    let callback = browser
        .follow_until_callback(browser.start(ACME_OKTA).await)
        .await;
    let mut stripped = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(&pairs);

    let response = browser.get(stripped).await;

    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::BAD_REQUEST,
        reason::WRONG_ISSUER,
    )
    .await;
}

#[tokio::test]
async fn an_error_from_the_idp_is_shown_and_no_code_is_redeemed() {
    let app = spawn_app().await;
    app.simulator.reset_stats("acme").await;
    let browser = app.browser();

    let outcome = browser
        .sign_in(ACME_OKTA, None, Some("nobody@acme.example"))
        .await;

    let callback = outcome.callback();
    assert_eq!(
        query_param(&callback.url, "error").as_deref(),
        Some("access_denied")
    );
    assert_refused_and_signed_out(&browser, callback, StatusCode::BAD_REQUEST, "access_denied")
        .await;
    let stats = app.simulator.stats("acme").await;
    assert_eq!(stats.authorize, 1, "{stats:?}");
    assert_eq!(stats.token, 0, "{stats:?}");
}

#[tokio::test]
async fn a_return_to_pointing_off_site_lands_on_the_home_page() {
    let app = spawn_app().await;
    for evil in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "%2F%2Fevil.example",
        "\\\\evil.example",
        "/%09/evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "javascript:alert(1)",
    ] {
        let browser = app.browser();
        let outcome = browser.sign_in(ACME_OKTA, Some(evil), None).await;
        let callback = outcome.callback();
        assert_eq!(
            callback.status,
            StatusCode::SEE_OTHER,
            "{evil:?}: {callback:#?}"
        );
        assert_eq!(callback.location(), Some("/"), "return_to={evil:?}");
        // The tampered link still signs the user in.
        assert_eq!(browser.session().await.0, StatusCode::OK, "{evil:?}");
    }
}

#[tokio::test]
async fn a_login_for_an_unknown_instance_is_not_found() {
    let app = spawn_app().await;
    for instance in ["no-such-instance", "ACME-OKTA", "a%2Fb"] {
        let browser = app.browser();
        let response = browser.login(instance, None, None).await;
        assert_refused_and_signed_out(
            &browser,
            &response,
            StatusCode::NOT_FOUND,
            reason::UNKNOWN_INSTANCE,
        )
        .await;
        assert!(
            response.header("location").is_none(),
            "{instance}: {response:#?}"
        );
    }
    assert_eq!(app.simulator.stats("acme").await.discovery, 0);
}

#[tokio::test]
async fn a_callback_with_an_unknown_or_missing_state_is_rejected() {
    let app = spawn_app().await;
    let browser = app.browser();
    // A real flow in progress, so the browser holds a flow cookie and the state is all that is
    // wrong.
    let callback = browser
        .follow_until_callback(browser.start(ACME_OKTA).await)
        .await;

    let forged = with_query_param(&callback, "state", "forged-state-value");
    let response = browser.get(forged).await;
    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::BAD_REQUEST,
        reason::EXPIRED_OR_USED,
    )
    .await;

    let mut stateless = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .filter(|(k, _)| k != "state")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    stateless.query_pairs_mut().clear().extend_pairs(&pairs);
    let response = browser.get(stateless).await;
    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::BAD_REQUEST,
        reason::EXPIRED_OR_USED,
    )
    .await;
    assert_eq!(app.simulator.stats("acme").await.token, 0);
}
