//! Request forgery: a state-changing request (any method but GET, HEAD and OPTIONS) is served
//! only when the browser says it comes from this site, by `Sec-Fetch-Site: same-origin` or,
//! from browsers that do not send that, an `Origin` equal to the public origin. A request with
//! neither is refused too. So a form or script on another site can neither sign users out nor
//! call a server function with their cookie.
//!
//! Exempt: the endpoints that other sites call by design. Okta's tile may POST the initiate
//! form from Okta's own origin (it only starts a sign-in), and Universal Logout is called
//! server to server and authenticated by its signed JWT.

use app::backend::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::middleware::LoggedError;

#[derive(Debug, thiserror::Error)]
#[error("cross-site {method} {path} refused (Sec-Fetch-Site {fetch_site:?}, Origin {origin:?})")]
struct CrossSite {
    method: Method,
    path: String,
    fetch_site: Option<String>,
    origin: Option<String>,
}

pub async fn refuse_cross_site(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe
        || is_exempt(request.uri().path())
        || is_same_origin(request.headers(), app.settings.public_url.origin())
    {
        return next.run(request).await;
    }
    let text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(100).collect::<String>())
    };
    let refusal = CrossSite {
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        fetch_site: text(header::HeaderName::from_static("sec-fetch-site")),
        origin: text(header::ORIGIN),
    };
    let mut response = (
        StatusCode::FORBIDDEN,
        "This request came from another site and was refused.",
    )
        .into_response();
    response.extensions_mut().insert(LoggedError::new(refusal));
    response
}

fn is_same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    headers
        .get(header::ORIGIN)
        .is_some_and(|value| value.as_bytes() == origin.as_bytes())
}

/// `/sso/{instance}/initiate` and `/sso/{instance}/global-token-revocation`.
fn is_exempt(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    matches!(
        (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next()
        ),
        (
            Some("sso"),
            Some(_),
            Some("initiate" | "global-token-revocation"),
            None
        )
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const ORIGIN: &str = "https://orgpass.example.com";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_same_origin_fetch_is_allowed() {
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            ORIGIN
        ));
        assert!(is_same_origin(&headers(&[("origin", ORIGIN)]), ORIGIN));
    }

    #[test]
    fn another_site_or_no_word_at_all_is_refused() {
        for case in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("sec-fetch-site", "none")]),
            // When the browser sends Sec-Fetch-Site, it decides.
            headers(&[("sec-fetch-site", "cross-site"), ("origin", ORIGIN)]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "https://orgpass.example.com.evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[]),
        ] {
            assert!(!is_same_origin(&case, ORIGIN), "{case:?}");
        }
    }

    #[test]
    fn only_the_tile_and_universal_logout_are_exempt() {
        assert!(is_exempt("/sso/acme-okta/initiate"));
        assert!(is_exempt("/sso/acme-okta/global-token-revocation"));
        for path in [
            "/logout",
            "/api/current_user",
            "/sso/acme-okta/callback",
            "/sso/initiate",
        ] {
            assert!(!is_exempt(path), "{path}");
        }
    }
}
