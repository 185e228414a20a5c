//! `GET /metrics`: Prometheus text, on the main listener or, with `ORGPASS_METRICS_LISTEN`, on
//! a listener of its own that need not be public. Every series is labelled by route, outcome or
//! kind, never by tenant or instance: 100,000 instances would explode the series count, and
//! per-tenant detail lives in the audit log.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use app::backend::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: a session check takes well under a millisecond, an IdP call
/// up to its timeout.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's one recorder (metrics are process-wide), installed by the first server.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets(&BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "orgpass_http_requests_total",
        "HTTP requests by route and status"
    );
    describe_histogram!(
        "orgpass_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route"
    );
    describe_counter!(
        "orgpass_login_starts_total",
        "Sign-ins sent to an identity provider"
    );
    describe_counter!(
        "orgpass_sign_ins_total",
        "Callbacks that reached their instance, by outcome and failure reason"
    );
    describe_counter!(
        "orgpass_idp_requests_total",
        "Requests to identity providers by kind (discovery, keys, token, userinfo) and outcome"
    );
    describe_histogram!(
        "orgpass_idp_request_duration_seconds",
        metrics::Unit::Seconds,
        "Identity provider request latency by kind"
    );
    describe_counter!(
        "orgpass_key_refetches_total",
        "Signing key refetches forced by an unknown kid"
    );
    describe_counter!(
        "orgpass_key_refetch_refusals_total",
        "Unknown kids refused without a refetch (cooldown)"
    );
    describe_counter!(
        "orgpass_universal_logout_requests_total",
        "Universal Logout requests by outcome"
    );
    describe_counter!(
        "orgpass_rate_limit_refusals_total",
        "Requests refused by a rate limit, by limit"
    );
    describe_gauge!(
        "orgpass_pending_flows",
        "Sign-ins waiting for their callback"
    );
}

/// Keeps the histograms' memory bounded; the recorder needs it run now and then.
pub async fn upkeep_periodically() {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        handle().run_upkeep();
    }
}

pub async fn scrape(State(app): State<AppState>) -> Response {
    match app.flows.pending(&app.db).await {
        Ok(pending) => metrics::gauge!("orgpass_pending_flows").set(pending as f64),
        Err(error) => tracing::warn!(%error, "cannot count the pending sign-ins"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

/// Counts every request by its route (the matched pattern, never the path) and status.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || "(static or unknown)".to_owned(),
        |matched| matched.as_str().to_owned(),
    );
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("orgpass_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("orgpass_http_request_duration_seconds", "route" => route)
        .record(started.elapsed());
    response
}
