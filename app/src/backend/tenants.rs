//! The registry of customer orgs (tenants) and their instances of the integration.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::db::{Db, now};
use crate::domain::{ClientSecret, InstanceId, InvalidValue, IssuerUrl, TenantSlug};

/// Errors of the registry. Each maps to one clear message for an operator or a tenant admin.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Bad input, e.g. an empty label (CLI exit 2, HTTP 422).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The tenant named does not exist (CLI exit 2, HTTP 404).
    #[error("no organization named '{0}'")]
    UnknownTenant(TenantSlug),
    /// Slug, instance id or (issuer, client_id) already taken (CLI exit 2, HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// Storage failed; the detail is logged, never shown (CLI exit 1, HTTP 500).
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for RegistryError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub slug: TenantSlug,
    pub display_name: String,
}

/// An instance as anyone may see it: no secret in it.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub id: InstanceId,
    pub tenant: TenantSlug,
    pub label: String,
    #[serde(serialize_with = "serialize_display")]
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub token_auth_method: TokenAuthMethod,
    pub enabled: bool,
    /// Which secret the token endpoint last accepted; `None` before the first sign-in.
    pub working_secret: Option<SecretSlot>,
}

/// How an instance authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    /// HTTP Basic: Okta's default.
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            other => Err(InvalidValue(format!(
                "token auth method '{other}' must be client_secret_basic or client_secret_post"
            ))),
        }
    }
}

/// One of the two secrets Okta keeps active during a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSlot {
    Current,
    Next,
}

impl SecretSlot {
    fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Next => "next",
        }
    }
}

fn serialize_display<S: serde::Serializer>(
    value: &impl std::fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// What the code exchange needs: the instance and its secret. Not `Serialize`.
pub struct InstanceCredentials {
    pub instance: Instance,
    pub client_secret: ClientSecret,
    /// The secret Okta generated next, active alongside the current one until it is promoted.
    pub next_secret: Option<ClientSecret>,
}

pub struct NewInstance {
    pub id: Option<InstanceId>,
    pub tenant: TenantSlug,
    pub label: String,
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub token_auth_method: TokenAuthMethod,
}

fn display_text(what: &str, raw: &str) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 80 || trimmed.chars().any(char::is_control) {
        return Err(InvalidValue(format!(
            "the {what} must be 1 to 80 printable characters"
        )));
    }
    Ok(trimmed.to_owned())
}

fn client_id(raw: &str) -> Result<String, InvalidValue> {
    let valid = !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(InvalidValue(format!(
            "client id '{raw}' must be 1 to 128 visible ASCII characters"
        )));
    }
    Ok(raw.to_owned())
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub async fn add_tenant(
    db: &Db,
    slug: TenantSlug,
    display_name: &str,
) -> Result<Tenant, RegistryError> {
    let display_name = display_text("organization name", display_name)?;
    sqlx::query("INSERT INTO tenants (slug, display_name, created_at) VALUES (?, ?, ?)")
        .bind(slug.as_str())
        .bind(&display_name)
        .bind(now())
        .execute(db)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                RegistryError::Conflict(format!("an organization named '{slug}' already exists"))
            } else {
                error.into()
            }
        })?;
    Ok(Tenant { slug, display_name })
}

fn tenant_from_row(row: &SqliteRow) -> Result<Tenant, sqlx::Error> {
    let slug: String = row.try_get("slug")?;
    Ok(Tenant {
        slug: TenantSlug::parse(&slug).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        display_name: row.try_get("display_name")?,
    })
}

pub async fn list_tenants(db: &Db) -> Result<Vec<Tenant>, RegistryError> {
    let rows = sqlx::query("SELECT slug, display_name FROM tenants ORDER BY slug")
        .fetch_all(db)
        .await?;
    Ok(rows.iter().map(tenant_from_row).collect::<Result<_, _>>()?)
}

pub async fn find_tenant(db: &Db, slug: &TenantSlug) -> Result<Option<Tenant>, RegistryError> {
    let row = sqlx::query("SELECT slug, display_name FROM tenants WHERE slug = ?")
        .bind(slug.as_str())
        .fetch_optional(db)
        .await?;
    Ok(row.as_ref().map(tenant_from_row).transpose()?)
}

pub async fn add_instance(db: &Db, new: NewInstance) -> Result<Instance, RegistryError> {
    let label = display_text("instance label", &new.label)?;
    let client_id = client_id(&new.client_id)?;
    let id = new.id.unwrap_or_else(InstanceId::generate);
    let mut tx = db.begin().await?;
    let tenant_exists = sqlx::query("SELECT 1 FROM tenants WHERE slug = ?")
        .bind(new.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !tenant_exists {
        return Err(RegistryError::UnknownTenant(new.tenant));
    }
    let at = now();
    sqlx::query(
        "INSERT INTO instances (id, tenant_slug, label, issuer, client_id, client_secret, \
         token_auth_method, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
    )
    .bind(id.as_str())
    .bind(new.tenant.as_str())
    .bind(&label)
    .bind(new.issuer.as_str())
    .bind(&client_id)
    .bind(new.client_secret.expose())
    .bind(new.token_auth_method.as_str())
    .bind(at)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            RegistryError::Conflict(format!(
                "instance id '{id}' or client id '{client_id}' at {} is already registered",
                new.issuer
            ))
        } else {
            error.into()
        }
    })?;
    tx.commit().await?;
    Ok(Instance {
        id,
        tenant: new.tenant,
        label,
        issuer: new.issuer,
        client_id,
        token_auth_method: new.token_auth_method,
        enabled: true,
        working_secret: None,
    })
}

const INSTANCE_COLUMNS: &str =
    "id, tenant_slug, label, issuer, client_id, token_auth_method, enabled, working_secret";

fn instance_from_row(row: &SqliteRow) -> Result<Instance, sqlx::Error> {
    let decode = |e: InvalidValue| sqlx::Error::Decode(Box::new(e));
    let id: String = row.try_get("id")?;
    let tenant: String = row.try_get("tenant_slug")?;
    Ok(Instance {
        id: InstanceId::parse(&id).map_err(decode)?,
        tenant: TenantSlug::parse(&tenant).map_err(decode)?,
        label: row.try_get("label")?,
        issuer: IssuerUrl::from_trusted_storage(row.try_get("issuer")?),
        client_id: row.try_get("client_id")?,
        token_auth_method: TokenAuthMethod::parse(row.try_get("token_auth_method")?)
            .map_err(decode)?,
        enabled: row.try_get("enabled")?,
        working_secret: match row.try_get::<Option<&str>, _>("working_secret")? {
            Some("next") => Some(SecretSlot::Next),
            Some(_) => Some(SecretSlot::Current),
            None => None,
        },
    })
}

/// All instances, or those of one tenant, in a stable order.
pub async fn list_instances(
    db: &Db,
    tenant: Option<&TenantSlug>,
) -> Result<Vec<Instance>, RegistryError> {
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances \
         WHERE ?1 IS NULL OR tenant_slug = ?1 ORDER BY tenant_slug, created_at, id"
    ))
    .bind(tenant.map(TenantSlug::as_str))
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(instance_from_row)
        .collect::<Result<_, _>>()?)
}

/// The credentials of an enabled instance; `None` if it does not exist or is disabled.
pub async fn enabled_credentials(
    db: &Db,
    id: &InstanceId,
) -> Result<Option<InstanceCredentials>, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, client_secret, client_secret_next FROM instances \
         WHERE id = ? AND enabled = 1"
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let secret: String = row.try_get("client_secret")?;
    let next: Option<String> = row.try_get("client_secret_next")?;
    Ok(Some(InstanceCredentials {
        instance: instance_from_row(&row)?,
        client_secret: ClientSecret::new(secret)?,
        next_secret: next.map(ClientSecret::new).transpose()?,
    }))
}

/// A tenant and its enabled instances, for the org's public sign-in page.
pub async fn sign_in_options(
    db: &Db,
    slug: &TenantSlug,
) -> Result<(Tenant, Vec<Instance>), RegistryError> {
    let tenant = find_tenant(db, slug)
        .await?
        .ok_or_else(|| RegistryError::UnknownTenant(slug.clone()))?;
    let instances = list_instances(db, Some(slug))
        .await?
        .into_iter()
        .filter(|instance| instance.enabled)
        .collect();
    Ok((tenant, instances))
}

/// Replaces an instance's secrets, e.g. when Okta generated a new one: the new secret goes to
/// `next` and both are tried until the old one is retired by promoting `next`.
pub async fn set_secrets(
    db: &Db,
    id: &InstanceId,
    current: &ClientSecret,
    next: Option<&ClientSecret>,
) -> Result<(), RegistryError> {
    let updated = sqlx::query(
        "UPDATE instances SET client_secret = ?, client_secret_next = ?, working_secret = NULL, \
         updated_at = ? WHERE id = ?",
    )
    .bind(current.expose())
    .bind(next.map(ClientSecret::expose))
    .bind(now())
    .bind(id.as_str())
    .execute(db)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(RegistryError::Invalid(InvalidValue(format!(
            "no instance '{id}'"
        ))));
    }
    Ok(())
}

/// Notes which secret the token endpoint accepted, when that changed.
pub async fn record_working_secret(
    db: &Db,
    id: &InstanceId,
    slot: SecretSlot,
) -> Result<(), RegistryError> {
    sqlx::query(
        "UPDATE instances SET working_secret = ? WHERE id = ? \
         AND working_secret IS NOT ?",
    )
    .bind(slot.as_str())
    .bind(id.as_str())
    .bind(slot.as_str())
    .execute(db)
    .await?;
    Ok(())
}
