//! Who is calling: extractors for handlers and server functions.

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::sessions::SignedInUser;
use super::{AppState, cookies};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No session cookie (401).
    #[error("not signed in")]
    NotSignedIn,
    /// A session cookie that names no live session: expired, signed out or forged (401).
    #[error("your session has ended; sign in again")]
    SessionEnded,
    /// Storage failed (500); logged, not shown.
    #[error("internal error")]
    Internal(#[source] sqlx::Error),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NotSignedIn | Self::SessionEnded => StatusCode::UNAUTHORIZED,
            Self::Internal(ref error) => {
                tracing::error!(%error, "session lookup failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = Json(serde_json::json!({ "error": self.to_string() }));
        (status, body).into_response()
    }
}

/// The signed-in user; rejects with 401 otherwise.
pub struct CurrentUser(pub SignedInUser);

/// The signed-in user if there is a session cookie. A cookie that names no live session is an
/// error ([`AuthError::SessionEnded`]), not `None`, so the UI can say the session ended.
pub struct MaybeUser(pub Option<SignedInUser>);

/// The user behind the request's session cookie; shared by the extractors and server functions.
pub async fn maybe_user(
    parts: &mut Parts,
    app: &AppState,
) -> Result<Option<SignedInUser>, AuthError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(cookies::session_name(&app.settings)) else {
        return Ok(None);
    };
    match app.sessions.find(&app.db, cookie.value()).await {
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) => Err(AuthError::SessionEnded),
        Err(error) => Err(AuthError::Internal(error)),
    }
}

impl<S> FromRequestParts<S> for MaybeUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        maybe_user(parts, &AppState::from_ref(state))
            .await
            .map(Self)
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeUser::from_request_parts(parts, state).await?.0 {
            Some(user) => Ok(Self(user)),
            None => Err(AuthError::NotSignedIn),
        }
    }
}
