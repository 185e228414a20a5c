//! `GET /setup/{token}`: a setup link opened. A live one moves its token into a cookie and the
//! browser on to the set-up page, so the token leaves the address bar, the history and any
//! `Referer`; every other link gets the same neutral page.

use app::backend::{AppState, cookies, registry};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::error_page::SetupLinkInvalid;
use super::middleware::LoggedError;

/// Tokens are 43 characters; anything much longer is not one and is not looked up.
const MAX_TOKEN_LEN: usize = 128;

pub async fn open(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    if token.len() > MAX_TOKEN_LEN {
        return SetupLinkInvalid.into_response();
    }
    let grant = match app.db.acquire().await {
        Ok(mut conn) => registry::open_setup_link(&mut conn, &token).await,
        Err(error) => Err(error),
    };
    match grant {
        Ok(Some(grant)) => {
            let cookie = cookies::setup_link(&app.settings, &token, grant.expires_at);
            let mut response =
                (CookieJar::new().add(cookie), Redirect::to("/setup")).into_response();
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Ok(None) => SetupLinkInvalid.into_response(),
        Err(error) => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(LoggedError::new(error));
            response
        }
    }
}
