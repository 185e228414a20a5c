use app::api::SessionView;
use app::backend::auth::CurrentUser;
use app::backend::{AppState, cookies, sessions};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

/// `GET /api/session`: 200 with the signed-in user, 401 otherwise. A stable contract.
pub async fn current(CurrentUser(user): CurrentUser) -> Json<SessionView> {
    Json(user)
}

/// `POST /logout`: ends the local session, clears the cookie, 303 to the start page.
/// SameSite=Lax keeps other sites from posting here with the cookie.
pub async fn logout(State(app): State<AppState>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(cookies::session_name(&app.settings))
        && let Err(error) = sessions::end(&app.db, cookie.value()).await
    {
        tracing::error!(%error, "could not end a session");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let jar = jar.add(cookies::session_removal(&app.settings));
    (jar, Redirect::to("/")).into_response()
}
