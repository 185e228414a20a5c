//! Cross-cutting layers: request tracing, security headers and error logging. Error responses
//! carry their cause in an extension; this is the one place that logs it.

use std::sync::Arc;

use app::backend::AppState;
use app::backend::sso::SsoError;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The cause of a failed sign-in, for the log.
#[derive(Clone)]
pub struct LoggedError(pub Arc<SsoError>);

async fn log_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(LoggedError(error)) = response.extensions().get::<LoggedError>() {
        let source = std::error::Error::source(error.as_ref()).map(ToString::to_string);
        if response.status().is_server_error() {
            tracing::error!(%path, %error, ?source, "sign-in failed");
        } else {
            tracing::warn!(%path, %error, ?source, "sign-in refused");
        }
    }
    response
}

fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Wraps every route: tracing, error logging, and headers that keep pages out of frames and
/// stop MIME sniffing.
pub fn wrap(router: Router<AppState>) -> Router<AppState> {
    router.layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            .layer(middleware::from_fn(log_errors))
            .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header(
                HeaderName::from_static("content-security-policy"),
                "frame-ancestors 'none'",
            )),
    )
}
