//! Server functions the SPA calls, and the types that cross the wire: [`sign_in`] for end
//! users' pages; for tenant admins [`settings`] (the org, its instances, admins and audit log),
//! [`domains`] and [`people`]; [`setup`] for a setup link's holder. Each one authenticates, calls a `backend`
//! module and maps the error: nothing else.

mod domains;
mod people;
mod settings;
mod setup;
mod sign_in;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

pub use domains::*;
pub use people::*;
pub use settings::*;
pub use setup::*;
pub use sign_in::*;

/// What a server function can fail with; every message is safe to show. The HTTP status of a
/// server function's answer is the variant's (see [`with_status`]), so the UI can tell "not
/// allowed" from "already exists" from "invalid".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// Bad input; the message says what to fix (400).
    #[error("{0}")]
    Invalid(String),
    /// Not signed in, or the session ended (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed: e.g. not an admin of the organization (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing, or one the caller may not see: another org's look exactly like missing
    /// ones (404).
    #[error("{0}")]
    NotFound(String),
    /// It exists already, or the change would break a rule of the current state, such as
    /// leaving an org without an admin (409).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed, but refused as a whole: e.g. an import with bad rows (422).
    #[error("{0}")]
    Unprocessable(String),
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
    use crate::backend::admins::AdminError;
    use crate::backend::auth::AuthError;
    use crate::backend::people::PeopleError;
    use crate::backend::registry::RegistryError;
    use crate::backend::registry::domains::TAKEN_ELSEWHERE;

    impl From<AuthError> for ApiError {
        fn from(error: AuthError) -> Self {
            match error {
                AuthError::Internal(error) => {
                    tracing::error!(%error, "session lookup failed");
                    Self::Internal
                }
                AuthError::NotAdmin => Self::Forbidden(error.to_string()),
                AuthError::NotSignedIn | AuthError::SessionEnded | AuthError::SetupLinkEnded => {
                    Self::Unauthorized(error.to_string())
                }
            }
        }
    }

    impl From<RegistryError> for ApiError {
        fn from(error: RegistryError) -> Self {
            match error {
                RegistryError::Invalid(invalid) => Self::Invalid(invalid.0),
                RegistryError::UnknownTenant(_)
                | RegistryError::UnknownInstance(_)
                | RegistryError::UnknownSetupLink(_)
                | RegistryError::UnknownDomain(_) => Self::NotFound(error.to_string()),
                // Not who owns it: that would tell one org about another's domains.
                RegistryError::DomainTaken { .. } => Self::Conflict(TAKEN_ELSEWHERE.to_owned()),
                RegistryError::Conflict(message) => Self::Conflict(message),
                RegistryError::BadRows(_) => Self::Unprocessable(error.to_string()),
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

    impl From<AdminError> for ApiError {
        fn from(error: AdminError) -> Self {
            match error {
                AdminError::Invalid(invalid) => Self::Invalid(invalid.0),
                AdminError::NotFound(_) => Self::NotFound(error.to_string()),
                AdminError::AlreadyAdmin(_) | AdminError::LastAdmin => {
                    Self::Conflict(error.to_string())
                }
                AdminError::Database(error) => {
                    tracing::error!(%error, "admin query failed");
                    Self::Internal
                }
            }
        }
    }

    impl From<PeopleError> for ApiError {
        fn from(error: PeopleError) -> Self {
            match error {
                PeopleError::NotFound => Self::NotFound(error.to_string()),
                PeopleError::Database(error) => {
                    tracing::error!(%error, "people query failed");
                    Self::Internal
                }
            }
        }
    }

    impl From<sqlx::Error> for ApiError {
        fn from(error: sqlx::Error) -> Self {
            tracing::error!(%error, "query failed");
            Self::Internal
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
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal | ApiError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        });
    }
    answer
}

#[cfg(feature = "ssr")]
fn app_state() -> Result<crate::backend::AppState, ApiError> {
    use_context::<crate::backend::AppState>().ok_or(ApiError::Internal)
}

/// The request's parts, for the extractors in `backend::auth`.
#[cfg(feature = "ssr")]
fn request_parts() -> Result<http::request::Parts, ApiError> {
    use_context::<http::request::Parts>().ok_or(ApiError::Internal)
}
