//! The authorization-code flow, per instance: start ([`login`], also from Okta's tile),
//! finish ([`callback`]), the stored flow state ([`flows`]) bound to the browser
//! ([`binding`]), sign-out through Okta ([`logout`]), Okta's Universal Logout
//! ([`revocation`]), a tenant admin's [`test_sign_in`], and the conversation with each issuer
//! ([`provider`]).

pub mod binding;
pub mod callback;
pub mod flows;
pub mod login;
pub mod logout;
pub mod provider;
pub mod revocation;
pub mod test_sign_in;
pub mod verify;

use axum::http::StatusCode;

pub use binding::BrowserBinding;
pub use flows::FlowStore;
pub use provider::ProviderDirectory;

impl From<flows::FlowError> for SsoError {
    fn from(error: flows::FlowError) -> Self {
        match error {
            flows::FlowError::Full => Self::Busy,
            flows::FlowError::InstanceDeleted => Self::UnknownInstance,
            flows::FlowError::Database(source) => Self::Database(source),
        }
    }
}

/// Why a sign-in did not happen. The user sees [`SsoError::user_message`]; the detail (the
/// `Display` text and source) goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The instance does not exist or is disabled (404).
    #[error("unknown or disabled instance")]
    UnknownInstance,
    /// No `state`, or one that names no pending flow: expired, replayed or forged (400).
    #[error("no pending sign-in for this state")]
    UnknownFlow,
    /// The flow was started in another browser, or for another instance (400).
    #[error("flow bound to another browser or instance")]
    FlowMismatch,
    /// Okta answered with an OAuth error response (400).
    #[error("the identity provider returned error '{code}': {description}")]
    ProviderDenied { code: String, description: String },
    /// The authorization response's `iss` is wrong, or missing when required (RFC 9207) (400).
    #[error("authorization response issuer mismatch: {0}")]
    IssuerMismatch(String),
    /// The authorization response has no `code` (400).
    #[error("authorization response without a code")]
    MissingCode,
    /// Okta's tile named no `iss` (400).
    #[error("initiate login without iss")]
    MissingInitiator,
    /// Okta's tile named an `iss` other than the instance's issuer (400).
    #[error("initiate login from an issuer other than the instance's")]
    UnexpectedInitiator,
    /// The token endpoint refused the client's credentials (`invalid_client`) (400).
    #[error("the token endpoint refused the client credentials (invalid_client)")]
    InvalidClient,
    /// The token endpoint refused the code (400).
    #[error("the token endpoint refused the code: {0}")]
    CodeRejected(String),
    /// The ID token failed a check: signature, iss, aud, exp, iat, nonce, at_hash... (400).
    #[error("invalid ID token: {0}")]
    InvalidIdToken(String),
    /// The instance's issuer is not on a host the operator allows (any more) (403).
    #[error("issuer not allowed: {0}")]
    IssuerNotAllowed(String),
    /// Discovery, keys or token endpoint unreachable or malformed (502).
    #[error("identity provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// The org lets in only emails in its verified domains, and this one is not (403).
    #[error("refused by the sign-in rule: {0} is not in a verified domain of the organization")]
    OutsideVerifiedDomains(String),
    /// Too many sign-ins are in progress on this node (503).
    #[error("the pending flow store is full")]
    Busy,
    /// Storage failed (500).
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The registry could not be read (500).
    #[error("registry error")]
    Registry(#[from] super::registry::RegistryError),
}

impl SsoError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownInstance => StatusCode::NOT_FOUND,
            Self::OutsideVerifiedDomains(_) | Self::IssuerNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::ProviderUnavailable(_) => StatusCode::BAD_GATEWAY,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) | Self::Registry(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The variant, as a metric label: a fixed set of words.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownInstance => "unknown_instance",
            Self::UnknownFlow => "unknown_flow",
            Self::FlowMismatch => "flow_mismatch",
            Self::ProviderDenied { .. } => "provider_denied",
            Self::IssuerMismatch(_) => "issuer_mismatch",
            Self::MissingCode => "missing_code",
            Self::MissingInitiator => "missing_initiator",
            Self::UnexpectedInitiator => "unexpected_initiator",
            Self::InvalidClient => "invalid_client",
            Self::CodeRejected(_) => "code_rejected",
            Self::InvalidIdToken(_) => "invalid_id_token",
            Self::OutsideVerifiedDomains(_) => "outside_verified_domains",
            Self::IssuerNotAllowed(_) => "issuer_not_allowed",
            Self::ProviderUnavailable(_) => "provider_unavailable",
            Self::Busy => "busy",
            Self::Database(_) => "database",
            Self::Registry(_) => "registry",
        }
    }

    /// Why, for the org's admins in the audit trail: the detail, with what their Okta said,
    /// on one line and at most 300 characters, since the IdP chose part of it.
    pub fn audit_reason(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(300)
            .collect()
    }

    /// A short reason that is safe to show: no token contents, no internals.
    pub fn user_message(&self) -> String {
        match self {
            Self::UnknownInstance => {
                "This sign-in link does not match any active organization.".into()
            }
            Self::UnknownFlow => "This sign-in attempt has expired or was already used.".into(),
            Self::FlowMismatch => {
                "This sign-in was started in a different browser or for a different organization."
                    .into()
            }
            Self::ProviderDenied { code, .. } => {
                format!("Okta did not sign you in ({}).", printable_code(code))
            }
            Self::IssuerMismatch(_) => {
                "The sign-in response came from an unexpected identity provider.".into()
            }
            Self::MissingInitiator | Self::UnexpectedInitiator => {
                "This sign-in link was not issued by your organization's Okta.".into()
            }
            Self::MissingCode | Self::CodeRejected(_) | Self::InvalidClient => {
                "Okta's answer could not be used to sign you in.".into()
            }
            Self::InvalidIdToken(_) => "Okta's identity token could not be verified.".into(),
            Self::IssuerNotAllowed(_) => {
                "Your organization's Okta is not allowed on this server. Ask your IT admin to \
                 contact support."
                    .into()
            }
            Self::ProviderUnavailable(_) => {
                "Your organization's Okta could not be reached. Please try again in a moment."
                    .into()
            }
            // The rule, not the domains: those would tell a stranger where to get an address.
            Self::OutsideVerifiedDomains(_) => {
                "Your organization lets people sign in here only with an email address in one \
                 of its verified domains. Ask your IT admin for access."
                    .into()
            }
            Self::Busy => "Too many sign-ins are in progress. Please try again in a minute.".into(),
            Self::Database(_) | Self::Registry(_) => {
                "Something went wrong on our side. Please try again.".into()
            }
        }
    }
}

/// Text an identity provider chose (`error`, `error_description`, a wrong `iss`), fit for the
/// log and the audit trail: quotes, backslashes and control characters escaped (a forged log
/// line needs a line break), and at most [`IDP_TEXT_MAX`] characters.
pub(crate) fn idp_text(raw: &str) -> String {
    let escaped: String = raw.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= IDP_TEXT_MAX {
        return escaped;
    }
    let mut clipped: String = escaped.chars().take(IDP_TEXT_MAX).collect();
    clipped.push('…');
    clipped
}

const IDP_TEXT_MAX: usize = 200;

/// OAuth error codes are `[a-z_]` words; anything else is not echoed back.
fn printable_code(code: &str) -> &str {
    let plain = !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain { code } else { "error" }
}

#[cfg(test)]
mod tests {
    use super::idp_text;

    #[test]
    fn identity_provider_text_cannot_forge_a_log_line_and_is_clipped() {
        assert_eq!(
            idp_text("bad\nlevel=ERROR msg=\"forged\""),
            "bad\\nlevel=ERROR msg=\\\"forged\\\""
        );
        let long = idp_text(&"x".repeat(5_000));
        assert_eq!(long.chars().count(), 201);
        assert!(long.ends_with('…'));
        assert_eq!(idp_text("access_denied"), "access_denied");
    }
}
