//! `GET /metrics`: Prometheus text of requests, sign-ins and identity provider calls, labelled
//! by route, outcome and kind, never by tenant or instance; on a listener of its own with
//! `ORGPASS_METRICS_LISTEN`. The recorder is process-wide, so counts include other tests'.

use reqwest::StatusCode;
use server::config::ServeArgs;
use server::startup::Application;

use crate::common::storage::TestStorage;
use crate::helpers::{
    ACME_OKTA, GLOBEX_ENG, dev_serve_args, serve_in_background, spawn_app, test_leptos_options,
};

async fn scrape(url: &str) -> (StatusCode, String) {
    let answer = reqwest::get(url).await.expect("the metrics answer");
    (answer.status(), answer.text().await.unwrap_or_default())
}

/// The value of the series whose name and labels are exactly `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn a_sign_in_is_counted_by_route_outcome_and_identity_provider_call_without_tenant_labels() {
    let app = spawn_app().await;
    app.browser().sign_in_ok(ACME_OKTA).await;

    let (status, text) = scrape(app.url("/metrics").as_str()).await;

    assert_eq!(status, StatusCode::OK);
    for series in [
        r#"orgpass_sign_ins_total{outcome="success",reason="none"}"#,
        r#"orgpass_http_requests_total{route="/sso/{instance}/callback",status="303"}"#,
        r#"orgpass_http_requests_total{route="/sso/{instance}/login",status="302"}"#,
        r#"orgpass_idp_requests_total{kind="discovery",outcome="ok"}"#,
        r#"orgpass_idp_requests_total{kind="keys",outcome="ok"}"#,
        r#"orgpass_idp_requests_total{kind="token",outcome="ok"}"#,
        "orgpass_login_starts_total",
    ] {
        assert!(
            value(&text, series).is_some_and(|count| count >= 1.0),
            "{series} is not counted:\n{text}"
        );
    }
    assert!(value(&text, "orgpass_pending_flows").is_some(), "{text}");
    assert!(
        text.contains(r#"orgpass_idp_request_duration_seconds_bucket{kind="token",le="0.1"}"#),
        "no latency histogram:\n{text}"
    );
    for name in ["acme", ACME_OKTA, GLOBEX_ENG, "globex"] {
        assert!(!text.contains(name), "a tenant or instance label: {name}");
    }
}

#[tokio::test]
async fn with_a_metrics_address_metrics_are_served_there_and_not_on_the_public_listener() {
    let storage = TestStorage::new().await;
    let serve = ServeArgs {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..dev_serve_args()
    };
    let application = Application::build(&storage.args(), &serve, test_leptos_options())
        .await
        .expect("the server starts");
    let public = application.local_addr().unwrap();
    let private = application.metrics_addr().expect("a metrics address");
    let _server = serve_in_background(application);

    let (status, text) = scrape(&format!("http://{private}/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("orgpass_pending_flows"), "{text}");
    let (status, _) = scrape(&format!("http://{public}/metrics")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
