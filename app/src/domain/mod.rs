//! Validate-on-parse newtypes: once a value has one of these types it is known to be well formed.
//! The pure ones are shared with the browser; those that need server-only crates are `ssr`-gated.

mod email_address;
mod email_domain;
mod instance_id;
#[cfg(feature = "ssr")]
mod issuer_url;
mod return_path;
#[cfg(feature = "ssr")]
mod secret;
mod tenant_slug;

pub use email_address::EmailAddress;
pub use email_domain::EmailDomain;
pub use instance_id::InstanceId;
#[cfg(feature = "ssr")]
pub use issuer_url::{IssuerPolicy, IssuerUrl};
pub use return_path::ReturnPath;
#[cfg(feature = "ssr")]
pub use secret::ClientSecret;
pub use tenant_slug::TenantSlug;

/// Why a value was refused; the message is safe to show to whoever typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);
