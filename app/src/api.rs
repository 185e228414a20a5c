//! Server functions the SPA calls, and the types that cross the wire. Each one authenticates,
//! calls a `backend` module and maps the error: nothing else.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// The signed-in user as the browser may see it (also the body of `GET /api/session`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub tenant: String,
    pub tenant_name: String,
    pub instance_id: String,
    pub instance_label: String,
    pub issuer: String,
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// One button on an org's sign-in page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceLink {
    pub label: String,
    pub login_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSignInOptions {
    pub display_name: String,
    pub instances: Vec<InstanceLink>,
}

/// Where a work email leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailRoute {
    /// The org has one instance: straight to its sign-in.
    SignIn { login_path: String },
    /// The org has several: the person picks one (labels in a stable order).
    Choose { instances: Vec<InstanceLink> },
    /// No active org routes that domain. Deliberately says nothing about which orgs exist.
    NoMatch,
}

/// What a server function can fail with; every message is safe to show. The HTTP status of a
/// server function's answer is the variant's (see [`with_status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// Bad input; the message says what to fix (400).
    #[error("{0}")]
    Invalid(String),
    /// No such thing, or one the caller may not see (404).
    #[error("{0}")]
    NotFound(String),
    /// Not signed in, or the session ended (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Our fault; logged, never detailed (500).
    #[error("something went wrong on our side; please try again")]
    Internal,
    #[error("could not reach the server: {0}")]
    Transport(ServerFnErrorErr),
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        Self::Transport(error)
    }
}

#[cfg(feature = "ssr")]
mod convert {
    use super::ApiError;
    use crate::backend::auth::AuthError;
    use crate::backend::registry::RegistryError;
    use crate::backend::sessions::SignedInUser;

    impl From<SignedInUser> for super::SessionView {
        fn from(user: SignedInUser) -> Self {
            Self {
                tenant: user.tenant,
                tenant_name: user.tenant_name,
                instance_id: user.instance_id,
                instance_label: user.instance_label,
                issuer: user.issuer,
                sub: user.sub,
                name: user.name,
                email: user.email,
            }
        }
    }

    impl From<AuthError> for ApiError {
        fn from(error: AuthError) -> Self {
            match error {
                AuthError::Internal(error) => {
                    tracing::error!(%error, "session lookup failed");
                    Self::Internal
                }
                other => Self::Unauthorized(other.to_string()),
            }
        }
    }

    impl From<RegistryError> for ApiError {
        fn from(error: RegistryError) -> Self {
            match error {
                RegistryError::Invalid(invalid) => Self::Invalid(invalid.0),
                RegistryError::UnknownTenant(_)
                | RegistryError::UnknownInstance(_)
                | RegistryError::UnknownSetupLink(_) => Self::NotFound(error.to_string()),
                RegistryError::Conflict(message) => Self::Invalid(message),
                RegistryError::BadRows(_) => Self::Invalid(error.to_string()),
                RegistryError::Sealing(error) => {
                    tracing::error!(%error, "a sealed secret did not open");
                    Self::Internal
                }
                RegistryError::Database(error) => {
                    tracing::error!(%error, "registry query failed");
                    Self::Internal
                }
            }
        }
    }
}

/// Runs a server function's body and gives its answer the status of its error, so a bad input
/// is a 4xx and not the framework's default 500.
#[cfg(feature = "ssr")]
async fn with_status<T>(
    body: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    use http::StatusCode;
    let answer = body.await;
    if let (Err(error), Some(response)) = (&answer, use_context::<leptos_axum::ResponseOptions>()) {
        response.set_status(match error {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Internal | ApiError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        });
    }
    answer
}

#[cfg(feature = "ssr")]
fn app_state() -> Result<crate::backend::AppState, ApiError> {
    use_context::<crate::backend::AppState>().ok_or(ApiError::Internal)
}

/// The signed-in user, `None` without a session; an ended session is an error. A fixed path,
/// so load generators can call it.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionView>, ApiError> {
    let app = app_state()?;
    let mut parts = use_context::<http::request::Parts>().ok_or(ApiError::Internal)?;
    let user = crate::backend::auth::maybe_user(&mut parts, &app).await?;
    Ok(user.map(SessionView::from))
}

/// An org's sign-in page: its name and one entry per enabled instance.
#[server]
pub async fn org_sign_in(slug: String) -> Result<OrgSignInOptions, ApiError> {
    with_status(async move {
        let slug = crate::domain::TenantSlug::parse(&slug).map_err(|e| ApiError::Invalid(e.0))?;
        let app = app_state()?;
        let (tenant, instances) = crate::backend::registry::sign_in_options(&app.db, &slug).await?;
        Ok(OrgSignInOptions {
            display_name: tenant.display_name,
            instances: instances
                .into_iter()
                .map(|instance| InstanceLink {
                    label: instance.label,
                    login_path: login_path(&instance.id, None, &Default::default()),
                })
                .collect(),
        })
    })
    .await
}

/// The sign-in of a work email: the domain's org and its enabled instances, with the email
/// as `login_hint` and `return_to` kept (the login endpoint re-checks it).
#[server]
pub async fn route_email(email: String, return_to: Option<String>) -> Result<EmailRoute, ApiError> {
    with_status(async move {
        let domain =
            crate::domain::EmailDomain::of_email(&email).map_err(|e| ApiError::Invalid(e.0))?;
        let app = app_state()?;
        let instances =
            crate::backend::registry::sign_in_options_for_domain(&app.db, &domain).await?;
        let return_to = crate::domain::ReturnPath::parse_or_default(return_to.as_deref());
        let link = |instance: &crate::backend::registry::Instance| InstanceLink {
            label: instance.label.clone(),
            login_path: login_path(&instance.id, Some(email.trim()), &return_to),
        };
        Ok(match instances.as_slice() {
            [] => EmailRoute::NoMatch,
            [one] => EmailRoute::SignIn {
                login_path: link(one).login_path,
            },
            several => EmailRoute::Choose {
                instances: several.iter().map(link).collect(),
            },
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn login_path(
    instance: &crate::domain::InstanceId,
    login_hint: Option<&str>,
    return_to: &crate::domain::ReturnPath,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    if return_to.as_str() != "/" {
        query.append_pair("return_to", return_to.as_str());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/sso/{instance}/login")
    } else {
        format!("/sso/{instance}/login?{query}")
    }
}
