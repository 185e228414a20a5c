//! Cross-cutting layers: request ids, request tracing, security headers and error logging. Error responses
//! carry their cause in an extension; this is the one place that logs it.

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use super::rate_limit::{self, ClientLimits};
use super::same_origin;

/// The cause of a refused or failed request, for the log; the response itself says only what
/// is safe to show.
#[derive(Clone)]
pub struct LoggedError(pub Arc<dyn std::error::Error + Send + Sync>);

impl LoggedError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

/// The route a request matched (`/setup/{token}`), never its actual path or query: those can
/// carry a setup link's token or an authorization code.
fn route(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned())
}

async fn log_errors(request: Request, next: Next) -> Response {
    let path = route(&request).unwrap_or_else(|| "(no route)".to_owned());
    let response = next.run(request).await;
    if let Some(LoggedError(error)) = response.extensions().get::<LoggedError>() {
        let source = std::error::Error::source(error.as_ref()).map(ToString::to_string);
        if response.status().is_server_error() {
            tracing::error!(%path, %error, ?source, "request failed");
        } else {
            tracing::warn!(%path, %error, ?source, "request refused");
        }
    }
    response
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request's `X-Request-Id` is kept only when it comes from a trusted proxy; any other is
/// dropped, so the id the log shows is always either the proxy's or one made here.
async fn untrusted_request_ids(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let trusted = peer.is_some_and(|peer| {
        state
            .settings
            .trusted_proxies
            .iter()
            .any(|proxy| proxy.contains(&peer))
    });
    if !trusted {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Wraps every route: tracing, error logging, the cross-site refusal, and headers that keep pages out of frames and
/// stop MIME sniffing.
pub fn wrap(
    router: Router<AppState>,
    state: &AppState,
    limits: Arc<ClientLimits>,
) -> Router<AppState> {
    router.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(
                state.clone(),
                untrusted_request_ids,
            ))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(
                TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let route = route(request);
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        route,
                        request_id
                    )
                }),
            )
            .layer(middleware::from_fn(super::metrics::count_requests))
            .layer(middleware::from_fn(log_errors))
            .layer(middleware::from_fn_with_state(limits, rate_limit::limit))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                same_origin::refuse_cross_site,
            ))
            .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header(
                header::REFERRER_POLICY,
                "strict-origin-when-cross-origin",
            ))
            .layer(header(
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ))
            // Pages of the SPA replace this with their own policy and nonce (`app::shell`);
            // everything else (the sign-in error page, JSON, files) runs no script at all.
            .layer(header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'none'",
            ))
            .option_layer(state.settings.public_url.is_https().then(|| {
                header(
                    header::STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000; includeSubDomains",
                )
            })),
    )
}
