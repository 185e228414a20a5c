//! The page a browser sees when a sign-in fails: a short reason and a way to try again.
//! The full reason is logged by the middleware, never shown. Also the page of a test sign-in
//! that only an admin may start, and the one of a setup link that no longer works.

use app::backend::auth::AuthError;
use app::backend::sso::SsoError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::middleware::LoggedError;

pub struct SignInFailed(pub SsoError);

impl From<SsoError> for SignInFailed {
    fn from(error: SsoError) -> Self {
        Self(error)
    }
}

impl IntoResponse for SignInFailed {
    fn into_response(self) -> Response {
        let page = render("Sign-in failed", &self.0.user_message());
        let mut response = private(self.0.status(), page);
        response.extensions_mut().insert(LoggedError::new(self.0));
        response
    }
}

/// A page for this browser only, on a URL that may carry a code or a token: never cached, and
/// its URL never sent on as a `Referer`.
pub fn private(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A test sign-in asked for by someone who is not signed in as an admin of the org.
pub struct NotAllowed(pub AuthError);

impl IntoResponse for NotAllowed {
    fn into_response(self) -> Response {
        let status = match self.0 {
            AuthError::NotSignedIn | AuthError::SessionEnded | AuthError::SetupLinkEnded => {
                StatusCode::UNAUTHORIZED
            }
            AuthError::NotAdmin => StatusCode::FORBIDDEN,
            AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let reason = match self.0 {
            AuthError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
            ref other => format!("Only an admin of the organization can do this: {other}."),
        };
        let mut response = (status, Html(render("Not allowed", &reason))).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(LoggedError::new(self.0));
        response
    }
}

/// A setup link that is used, revoked, expired or unknown: one page for all, so it tells
/// nothing about which (404).
pub struct SetupLinkInvalid;

impl IntoResponse for SetupLinkInvalid {
    fn into_response(self) -> Response {
        let body = r#"<section class="card narrow">
<h1>This link is no longer valid</h1>
<p class="muted" role="alert">Set-up links work once and for a limited time. Ask whoever sent you this one for a new link.</p>
</section>"#;
        private(
            StatusCode::NOT_FOUND,
            page("This link is no longer valid", "page", body),
        )
    }
}

fn render(title: &str, reason: &str) -> String {
    let body = format!(
        r#"<section class="card">
<h1>{title}</h1>
<p class="notice error" role="alert" data-testid="sign-in-error">{}</p>
<p><a class="button" href="/">Try again</a></p>
</section>"#,
        escape(reason)
    );
    page(title, "page", &body)
}

/// A whole server-rendered page around `body` (already escaped), in the app's style.
pub fn page(title: &str, main_class: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Orgpass</title>
<link rel="stylesheet" href="/pkg/orgpass.css">
</head>
<body>
<header class="topbar"><a class="brand" href="/">Orgpass</a></header>
<main class="{main_class}">
{body}
</main>
</body>
</html>"#
    )
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
