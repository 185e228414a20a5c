use app::backend::AppState;
use app::backend::cookies;
use app::backend::sso::SsoError;
use app::backend::sso::callback::{self, CallbackParams};
use app::backend::sso::login::{self, LoginRequest};
use app::domain::{InstanceId, ReturnPath};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::error_page::SignInFailed;

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    login_hint: Option<String>,
}

/// `GET /sso/{instance}/login?return_to=/path&login_hint=…` → 302 to the instance's Okta.
pub async fn login(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    Query(query): Query<LoginQuery>,
    jar: CookieJar,
) -> Result<Response, SignInFailed> {
    let instance = InstanceId::parse(&instance).map_err(|_| SsoError::UnknownInstance)?;
    // One binding per browser, reused across tabs so parallel sign-ins do not cancel each other.
    let binding = jar
        .get(cookies::flow_binding_name(&app.settings))
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| value.len() >= 32)
        .unwrap_or_else(app::backend::sso::new_browser_binding);
    let request = LoginRequest {
        return_to: ReturnPath::parse_or_default(query.return_to.as_deref()),
        login_hint: query.login_hint,
    };
    let authorize_url = login::start(&app, &instance, request, &binding).await?;
    let jar = jar.add(cookies::flow_binding(&app.settings, &binding));
    Ok((StatusCode::FOUND, jar, [(header::LOCATION, authorize_url)]).into_response())
}

/// `GET /sso/{instance}/callback?code&state&iss` → session cookie and 303 to `return_to`.
pub async fn callback(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<CallbackParams>,
    jar: CookieJar,
) -> Result<Response, SignInFailed> {
    let instance = InstanceId::parse(&instance).map_err(|_| SsoError::UnknownInstance)?;
    let binding = jar
        .get(cookies::flow_binding_name(&app.settings))
        .map(|c| c.value().to_owned());
    let signed_in = callback::finish(&app, &instance, params, binding.as_deref()).await?;
    let jar = jar.add(cookies::session(&app.settings, signed_in.session.expose()));
    let mut response = (jar, Redirect::to(signed_in.return_to.as_str())).into_response();
    // The callback URL carried the code: do not leak it to the next page (RFC 9700 §4.2.4).
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
