use app::api::SessionView;
use app::backend::auth::CurrentUser;
use app::backend::sso::logout;
use app::backend::{AppState, cookies};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::middleware::LoggedError;

/// `GET /api/session`: 200 with the signed-in user, 401 otherwise. A stable contract.
pub async fn current(CurrentUser(user): CurrentUser) -> Response {
    let mut response = Json(SessionView::from(user)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /logout` (same-origin only, see `same_origin`): ends the local session, clears the
/// cookie, then 303 to the instance's Okta to end that session too, which sends the browser
/// back to `/signed-out`.
pub async fn logout(State(app): State<AppState>, jar: CookieJar) -> Response {
    let token = jar
        .get(cookies::session_name(&app.settings))
        .map(|cookie| cookie.value().to_owned());
    match logout::sign_out(&app, token.as_deref()).await {
        Ok(next) => {
            let jar = jar.add(cookies::session_removal(&app.settings));
            (jar, Redirect::to(&next)).into_response()
        }
        Err(error) => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(LoggedError::new(error));
            response
        }
    }
}
