//! HTTP endpoints outside the SPA. Handlers are thin: read the request, call `app::backend`,
//! map the outcome to a response.

mod error_page;
mod health;
pub mod metrics;
pub mod middleware;
pub mod rate_limit;
mod revocation;
mod same_origin;
mod session;
mod setup;
mod sso;
mod test_report;

use app::backend::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/sso/{instance}/login", get(sso::login))
        .route(
            "/sso/{instance}/initiate",
            get(sso::initiate_get).post(sso::initiate_post),
        )
        .route("/sso/{instance}/callback", get(sso::callback))
        .route("/sso/{instance}/test", get(sso::test))
        .route(
            "/sso/{instance}/global-token-revocation",
            post(revocation::revoke),
        )
        .route("/setup/{token}", get(setup::open))
        .route("/api/session", get(session::current))
        .route("/logout", post(session::logout))
}
