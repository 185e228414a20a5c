//! Cookie attributes and the headers that keep the authorization code out of referrers.

use std::time::Duration;

use axum_extra::extract::cookie::{Cookie, SameSite};
use reqwest::{StatusCode, redirect};

use crate::helpers::{
    ACME_OKTA, AppConfig, FLOW_COOKIE, SESSION_COOKIE, spawn_app, spawn_app_with,
};

fn assert_http_only_lax(cookie: &Cookie<'_>) {
    assert_eq!(cookie.http_only(), Some(true), "{cookie} is not HttpOnly");
    assert_eq!(
        cookie.same_site(),
        Some(SameSite::Lax),
        "{cookie} is not SameSite=Lax"
    );
    assert_eq!(cookie.path(), Some("/"), "{cookie}");
    assert_eq!(cookie.domain(), None, "{cookie} must be host-only");
}

#[tokio::test]
async fn in_dev_mode_flow_and_session_cookies_are_http_only_lax_and_not_secure() {
    let app = spawn_app().await;
    let browser = app.browser();

    let outcome = browser.sign_in(ACME_OKTA, None, None).await;

    let login = &outcome.hops[0];
    let flow = login
        .set_cookie(FLOW_COOKIE)
        .expect("the login set no flow cookie");
    assert_http_only_lax(&flow);
    assert_ne!(flow.secure(), Some(true), "{flow}");
    assert!(flow.value().len() >= 32, "a weak flow binding: {flow}");
    let session = outcome
        .callback()
        .set_cookie(SESSION_COOKIE)
        .expect("no session cookie");
    assert_http_only_lax(&session);
    assert_ne!(session.secure(), Some(true), "{session}");
    assert!(
        session.value().len() >= 32,
        "a weak session token: {session}"
    );
    // The cookie lives as long as the session (3600 s in the test configuration).
    assert_eq!(
        session.max_age().map(|age| age.whole_seconds()),
        Some(3600),
        "{session}"
    );
}

#[tokio::test]
async fn each_sign_in_gets_a_fresh_session_token() {
    let app = spawn_app().await;
    let browser = app.browser();

    let first = browser.sign_in_ok(ACME_OKTA).await;
    let second = browser.sign_in_ok(ACME_OKTA).await;

    let token = |o: &crate::helpers::SignInOutcome| {
        o.callback()
            .set_cookie(SESSION_COOKIE)
            .unwrap()
            .value()
            .to_owned()
    };
    assert_ne!(token(&first), token(&second));
}

#[tokio::test]
async fn with_a_public_https_url_cookies_are_host_prefixed_and_secure() {
    let app = spawn_app_with(AppConfig {
        insecure_dev_cookies: false,
        public_url: Some("https://orgpass.example.com".to_owned()),
        ..AppConfig::default()
    })
    .await;
    // A plain client: a cookie jar would rightly refuse Secure cookies over http://127.0.0.1.
    let client = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let login = client
        .get(app.url(&format!("/sso/{ACME_OKTA}/login")))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let login_cookies: Vec<Cookie<'static>> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
        .collect();
    assert!(
        login_cookies.iter().all(|c| c.name() != FLOW_COOKIE),
        "{login_cookies:?}"
    );
    let flow = login_cookies
        .iter()
        .find(|c| c.name() == "__Host-orgpass_flow")
        .unwrap_or_else(|| panic!("no __Host- flow cookie: {login_cookies:?}"));
    assert_http_only_lax(flow);
    assert_eq!(flow.secure(), Some(true), "{flow}");

    // Finish the flow: the simulator redirects to the public URL, which this test reaches at
    // its real address.
    let authorize = login
        .url()
        .join(login.headers()["location"].to_str().unwrap())
        .unwrap();
    let browser = app.browser();
    let public_callback = browser.follow_until_callback(authorize).await;
    assert_eq!(
        public_callback.origin().ascii_serialization(),
        "https://orgpass.example.com"
    );
    let mut callback = app.base_url.clone();
    callback.set_path(public_callback.path());
    callback.set_query(public_callback.query());
    let response = client
        .get(callback)
        .header("cookie", format!("__Host-orgpass_flow={}", flow.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
        .find(|c| c.name() == "__Host-orgpass_session")
        .expect("no __Host- session cookie");
    assert_http_only_lax(&session);
    assert_eq!(session.secure(), Some(true), "{session}");
}

#[tokio::test]
async fn the_callback_response_sends_no_referrer() {
    let app = spawn_app().await;
    let browser = app.browser();

    let success = browser.sign_in_ok(ACME_OKTA).await;
    let failure = app
        .browser()
        .get(app.url("/sso/acme-okta/callback?state=forged&code=x"))
        .await;

    assert_eq!(
        success.callback().header("referrer-policy"),
        Some("no-referrer")
    );
    assert_eq!(failure.status, StatusCode::BAD_REQUEST);
    assert_eq!(failure.header("referrer-policy"), Some("no-referrer"));
}
