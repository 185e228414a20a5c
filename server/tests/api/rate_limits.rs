//! A flood from one address is refused with 429 and `Retry-After` while everyone else signs
//! in; one browser looping over login starts keeps only its last few sign-ins pending. The
//! test names its clients in `X-Forwarded-For`, which the app believes from 127.0.0.1 only
//! because it is a trusted proxy here.

use app::api::RouteEmail;
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;

use crate::helpers::{ACME_OKTA, AppConfig, TestApp, reason, spawn_app, spawn_app_with};

const PER_MINUTE: u32 = 30;

async fn limited_app() -> TestApp {
    spawn_app_with(AppConfig {
        rate_limit_per_minute: PER_MINUTE,
        trusted_proxies: &["127.0.0.1/32"],
        ..AppConfig::default()
    })
    .await
}

/// `count` login starts from `client`, each a new browser; their statuses.
async fn login_starts(app: &TestApp, client: &str, count: usize) -> Vec<reqwest::Response> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut answers = Vec::with_capacity(count);
    for _ in 0..count {
        let answer = http
            .get(app.url(&format!("/sso/{ACME_OKTA}/login")))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap();
        answers.push(answer);
    }
    answers
}

#[tokio::test]
async fn a_flood_of_login_starts_from_one_address_is_refused_while_others_sign_in() {
    let app = limited_app().await;

    let flood = login_starts(&app, "198.51.100.66", 200).await;

    let started = flood
        .iter()
        .filter(|answer| answer.status() == StatusCode::FOUND)
        .count();
    assert_eq!(started, PER_MINUTE as usize, "the burst allowed");
    let refused = flood.last().unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    // Someone else, from another address, signs in as usual.
    app.browser().sign_in_ok(ACME_OKTA).await;
    assert_eq!(
        login_starts(&app, "203.0.113.5", 1).await[0].status(),
        StatusCode::FOUND
    );
}

#[tokio::test]
async fn the_work_email_lookup_is_limited_per_address_against_tenant_enumeration() {
    let app = limited_app().await;
    let lookup = |client: &'static str| {
        let browser = app.browser();
        let origin = app.public_origin.clone();
        async move {
            browser
                .post_form_with(
                    RouteEmail::PATH,
                    &[("email", "someone@acme.example")],
                    &[
                        ("origin", &origin),
                        ("sec-fetch-site", "same-origin"),
                        ("x-forwarded-for", client),
                    ],
                )
                .await
                .status
        }
    };

    let mut statuses = Vec::new();
    for _ in 0..(PER_MINUTE / 5 + 5) {
        statuses.push(lookup("198.51.100.66").await);
    }

    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        (PER_MINUTE / 5) as usize
    );
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(lookup("203.0.113.5").await, StatusCode::OK);
}

#[tokio::test]
async fn one_browser_looping_over_login_starts_keeps_only_its_last_five_sign_ins() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut started = Vec::new();
    for _ in 0..20 {
        started.push(browser.start(ACME_OKTA).await);
    }

    let newest = browser.follow(started.pop().unwrap()).await;
    let oldest = browser.follow(started.swap_remove(0)).await;

    assert_eq!(
        newest.callback().status,
        StatusCode::SEE_OTHER,
        "{newest:#?}"
    );
    assert!(
        oldest.callback().body.contains(reason::EXPIRED_OR_USED),
        "the first of twenty sign-ins was still pending: {:#?}",
        oldest.callback()
    );
}
