//! For load balancers and orchestrators: `GET /healthz` says the process serves (no I/O);
//! `GET /readyz` says it can do its work: the database answers (the master keys were opened and
//! checked at start-up, or the process would not be serving). 503 with a one-line reason
//! otherwise.

use std::time::Duration;

use app::backend::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A database slower than this is as good as down for a readiness probe.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> Response {
    plain(StatusCode::OK, "ok")
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&app.db);
    match tokio::time::timeout(DATABASE_TIMEOUT, probe).await {
        Ok(Ok(_)) => plain(StatusCode::OK, "ready"),
        Ok(Err(_)) => plain(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "database not answering"),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = (status, format!("{text}\n")).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
