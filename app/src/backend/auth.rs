//! Who is calling: extractors for handlers and server functions.

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::audit::Actor;
use super::registry::{self, SetupGrant};
use super::sessions::SignedInUser;
use super::sso::flows::Tester;
use super::{AppState, admins, cookies};
use crate::domain::{InstanceId, TenantSlug};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No session cookie (401).
    #[error("not signed in")]
    NotSignedIn,
    /// A session cookie that names no live session: expired, signed out or forged (401).
    #[error("your session has ended; sign in again")]
    SessionEnded,
    /// Signed in, but not an admin of the org they signed in to (403).
    #[error("only an admin of your organization can do this")]
    NotAdmin,
    /// No setup link in this browser, or one used, revoked or expired since (401).
    #[error("this setup link is no longer valid; ask for a new one")]
    SetupLinkEnded,
    /// Storage failed (500); logged, not shown.
    #[error("internal error")]
    Internal(#[source] sqlx::Error),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NotSignedIn | Self::SessionEnded | Self::SetupLinkEnded => {
                StatusCode::UNAUTHORIZED
            }
            Self::NotAdmin => StatusCode::FORBIDDEN,
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

/// An admin of the org the session signed in to, and that org: every admin server function
/// works on this tenant only, so another org's instances, people and events are out of reach.
pub struct TenantAdmin {
    pub user: SignedInUser,
    pub tenant: TenantSlug,
}

impl TenantAdmin {
    /// Who the audit trail says acted.
    pub fn actor(&self) -> Actor {
        let who = self.user.email.as_deref().unwrap_or(&self.user.sub);
        Actor::TenantAdmin(who.to_owned())
    }
}

/// The request's session if it belongs to an admin; 401 without a live session, 403 otherwise.
pub async fn tenant_admin(parts: &mut Parts, app: &AppState) -> Result<TenantAdmin, AuthError> {
    let user = maybe_user(parts, app)
        .await?
        .ok_or(AuthError::NotSignedIn)?;
    if !admins::is_admin(&app.db, user.user_id)
        .await
        .map_err(AuthError::Internal)?
    {
        return Err(AuthError::NotAdmin);
    }
    let tenant = TenantSlug::parse(&user.tenant)
        .map_err(|e| AuthError::Internal(sqlx::Error::Decode(e.0.into())))?;
    Ok(TenantAdmin { user, tenant })
}

/// The live setup link this browser holds (see `cookies::setup_link`); 401 otherwise.
pub async fn setup_grant(parts: &Parts, app: &AppState) -> Result<SetupGrant, AuthError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(cookies::setup_link_name(&app.settings)) else {
        return Err(AuthError::SetupLinkEnded);
    };
    let mut conn = app.db.acquire().await.map_err(AuthError::Internal)?;
    registry::open_setup_link(&mut conn, cookie.value())
        .await
        .map_err(AuthError::Internal)?
        .ok_or(AuthError::SetupLinkEnded)
}

/// Who may configure one instance, and for which org: the browser's setup link if it added
/// this very instance, else an admin. The caller still checks that the instance is the org's.
pub struct Configurer {
    pub tenant: TenantSlug,
    pub actor: Actor,
    pub tester: Tester,
}

pub async fn instance_configurer(
    parts: &mut Parts,
    app: &AppState,
    instance: &InstanceId,
) -> Result<Configurer, AuthError> {
    match setup_grant(parts, app).await {
        Ok(grant) if grant.covers(instance) => {
            return Ok(Configurer {
                tenant: grant.tenant.clone(),
                actor: grant.actor(),
                tester: Tester::SetupLink(grant.link_id),
            });
        }
        Err(AuthError::Internal(error)) => return Err(AuthError::Internal(error)),
        _ => {}
    }
    let admin = tenant_admin(parts, app).await?;
    Ok(Configurer {
        actor: admin.actor(),
        tester: Tester::Admin(admin.user.user_id),
        tenant: admin.tenant,
    })
}

impl<S> FromRequestParts<S> for TenantAdmin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        tenant_admin(parts, &AppState::from_ref(state)).await
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
