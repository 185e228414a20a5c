//! The registry of customer orgs (tenants), their instances of the integration, and the
//! one-time setup links: what the operator CLI and the settings page change, what a sign-in
//! reads. Every change is one transaction with its audit event.

pub mod domains;
mod import;
mod instances;
mod keys;
mod setup_links;
mod tenants;

pub use import::{Domains, ImportRow, RowError, import_instances};
pub use instances::{
    ClockSkew, Instance, InstanceChanges, InstanceCredentials, InstanceDetail, NewInstance,
    SecretSlot, TokenAuthMethod, add_instance, enabled_credentials, find_instance, instance_detail,
    list_instances, record_clock_skew, record_working_secret, remove_instance, set_enabled,
    sign_in_options_for_domain, test_credentials, update_instance,
};
pub use keys::{check_master_keys, reseal_all, sealed_secret_count};
pub use setup_links::{
    SetupGrant, SetupLink, SetupLinkStatus, add_setup_instance, claim_setup_link,
    create_setup_link, list_setup_links, open_setup_link, revoke_setup_link,
};
pub use tenants::{
    NewTenant, SignInRule, Tenant, TenantChanges, TenantStatus, add_tenant, find_tenant,
    list_tenants, remove_tenant, set_sign_in_rule, sign_in_options, update_tenant,
};

use super::vault::VaultError;
use crate::domain::{EmailDomain, InstanceId, InvalidValue, TenantSlug};

/// Errors of the registry. Each maps to one clear message for an operator or a tenant admin.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Bad input, e.g. an empty label (CLI exit 2, HTTP 422).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The tenant named does not exist (CLI exit 2, HTTP 404).
    #[error("no organization named '{0}'")]
    UnknownTenant(TenantSlug),
    /// The instance named does not exist (CLI exit 2, HTTP 404).
    #[error("no instance '{0}'")]
    UnknownInstance(InstanceId),
    /// The setup link named does not exist (CLI exit 2, HTTP 404).
    #[error("no setup link '{0}'")]
    UnknownSetupLink(String),
    /// No such domain or domain claim in the org (CLI exit 2, HTTP 404).
    #[error("no domain '{0}' in this organization")]
    UnknownDomain(EmailDomain),
    /// Another org proved this domain (CLI exit 2; HTTP 409 with a message that does not name
    /// the owner).
    #[error("the domain '{domain}' already belongs to the organization '{owner}'")]
    DomainTaken { domain: EmailDomain, owner: String },
    /// Slug, instance id or (issuer, client_id) already taken, or a change that breaks a rule
    /// of the current state (CLI exit 2, HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// An import file had bad rows; nothing was imported (CLI exit 2, HTTP 422).
    #[error("{} bad row(s); nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    /// A sealed secret did not open: the master key configuration is wrong (CLI exit 2 at
    /// start-up, HTTP 500 otherwise; the detail names key ids, never key material).
    #[error(transparent)]
    Sealing(#[from] VaultError),
    /// Storage failed; the detail is logged, never shown (CLI exit 1, HTTP 500).
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for RegistryError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Names shown to people: trimmed, 1 to 80 printable characters.
fn display_text(what: &str, raw: &str) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 80 || trimmed.chars().any(char::is_control) {
        return Err(InvalidValue(format!(
            "the {what} must be 1 to 80 printable characters"
        )));
    }
    Ok(trimmed.to_owned())
}

fn decode_error(error: InvalidValue) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}
