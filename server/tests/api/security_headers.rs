//! Headers every response carries, and the Content-Security-Policy of pages: scripts only with
//! this response's nonce, never `unsafe-inline`.

use reqwest::StatusCode;

use crate::helpers::{AppConfig, Recorded, spawn_app, spawn_app_with};

fn nonce_of(policy: &str) -> &str {
    let start = policy.find("'nonce-").expect("no nonce in the policy") + "'nonce-".len();
    let end = policy[start..].find('\'').unwrap() + start;
    &policy[start..end]
}

fn assert_common_headers(response: &Recorded) {
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        response.header("cross-origin-opener-policy"),
        Some("same-origin")
    );
    let policy = response.header("content-security-policy").expect("no CSP");
    for directive in ["frame-ancestors 'none'", "base-uri 'none'"] {
        assert!(
            policy.contains(directive),
            "{directive} missing from {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
}

#[tokio::test]
async fn a_page_allows_only_the_scripts_that_carry_its_own_fresh_nonce() {
    let app = spawn_app().await;
    let browser = app.browser();

    let first = browser.get(app.url("/")).await;
    let second = browser.get(app.url("/")).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_common_headers(&first);
    let policy = first.header("content-security-policy").unwrap();
    assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
    assert!(policy.contains("object-src 'none'"), "{policy}");
    let nonce = nonce_of(policy);
    assert!(
        first.body.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts do not carry the policy's nonce"
    );
    assert_ne!(
        nonce,
        nonce_of(second.header("content-security-policy").unwrap()),
        "two pages got the same nonce"
    );
    assert_eq!(
        first.header("referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
    assert_eq!(
        first.header("cache-control"),
        Some("no-store"),
        "a page showing a user was cacheable"
    );
}

#[tokio::test]
async fn responses_that_are_not_pages_allow_no_script_at_all() {
    let app = spawn_app().await;
    let browser = app.browser();

    for path in ["/api/session", "/sso/no-such-instance/login", "/healthz"] {
        let response = browser.get(app.url(path)).await;
        assert_common_headers(&response);
        let policy = response.header("content-security-policy").unwrap();
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
    }
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    let plain = spawn_app().await;
    let https = spawn_app_with(AppConfig {
        insecure_dev_cookies: false,
        public_url: Some("https://orgpass.example.com".to_owned()),
        ..AppConfig::default()
    })
    .await;

    let over_http = plain.browser().get(plain.url("/healthz")).await;
    let over_https = https.browser().get(https.url("/healthz")).await;

    assert_eq!(over_http.header("strict-transport-security"), None);
    assert_eq!(
        over_https.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
}
