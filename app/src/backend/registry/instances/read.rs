//! Reading instances: lists, the sign-in options of an email domain, one instance (with the
//! hints of its secrets), and the credentials of the code exchange.

use sqlx::{Any, Executor};

use super::model::{
    INSTANCE_COLUMNS, Instance, InstanceCredentials, InstanceDetail, instance_from_row,
};
use super::secrets::SealedSecrets;
use crate::backend::db::Db;
use crate::backend::registry::RegistryError;
use crate::backend::vault::Vault;
use crate::domain::{ClientSecret, EmailDomain, InstanceId, TenantSlug};

/// All instances, or those of one tenant, in a stable order.
pub async fn list_instances(
    db: &Db,
    tenant: Option<&TenantSlug>,
) -> Result<Vec<Instance>, RegistryError> {
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances i \
         WHERE $1 IS NULL OR i.tenant_slug = $1 ORDER BY i.tenant_slug, i.created_at, i.id"
    ))
    .bind(tenant.map(TenantSlug::as_str))
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(instance_from_row)
        .collect::<Result<_, _>>()?)
}

/// The enabled instances of the active org that routes `domain`, by label then id (a stable
/// order for the picker); none when no org routes it.
pub async fn sign_in_options_for_domain(
    db: &Db,
    domain: &EmailDomain,
) -> Result<Vec<Instance>, RegistryError> {
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM tenant_domains d \
         JOIN tenants t ON t.slug = d.tenant_slug \
         JOIN instances i ON i.tenant_slug = t.slug \
         WHERE d.domain = $1 AND t.status = 'active' AND i.enabled = 1 \
         ORDER BY i.label, i.id"
    ))
    .bind(domain.as_str())
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(instance_from_row)
        .collect::<Result<_, _>>()?)
}

/// One instance, without its secrets; `None` when there is no such instance.
pub async fn find_instance(db: &Db, id: &InstanceId) -> Result<Option<Instance>, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances i WHERE i.id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(instance_from_row).transpose()?)
}

/// An instance with the hints of its secrets (which opens them, so it needs the vault).
pub async fn instance_detail(
    db: &Db,
    vault: &Vault,
    id: &InstanceId,
) -> Result<InstanceDetail, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, {} FROM instances i WHERE i.id = $1",
        SealedSecrets::COLUMNS
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?
    .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))?;
    let (current, next) = SealedSecrets::from_row(&row)?.open(vault, id)?;
    Ok(InstanceDetail {
        instance: instance_from_row(&row)?,
        client_secret: current.hint(),
        next_client_secret: next.as_ref().map(ClientSecret::hint),
    })
}

/// The credentials of an enabled instance of an active org; `None` otherwise.
pub async fn enabled_credentials<'c>(
    db: impl Executor<'c, Database = Any>,
    vault: &Vault,
    id: &InstanceId,
) -> Result<Option<InstanceCredentials>, RegistryError> {
    credentials(db, vault, id, "AND i.enabled = 1").await
}

/// The credentials of an instance of an active org, enabled or not: a tenant admin's test
/// sign-in through one not yet active.
pub async fn test_credentials<'c>(
    db: impl Executor<'c, Database = Any>,
    vault: &Vault,
    id: &InstanceId,
) -> Result<Option<InstanceCredentials>, RegistryError> {
    credentials(db, vault, id, "").await
}

async fn credentials<'c>(
    db: impl Executor<'c, Database = Any>,
    vault: &Vault,
    id: &InstanceId,
    condition: &str,
) -> Result<Option<InstanceCredentials>, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, {} FROM instances i JOIN tenants t ON t.slug = i.tenant_slug \
         WHERE i.id = $1 AND t.status = 'active' {condition}",
        SealedSecrets::COLUMNS
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (client_secret, next_secret) = SealedSecrets::from_row(&row)?.open(vault, id)?;
    Ok(Some(InstanceCredentials {
        instance: instance_from_row(&row)?,
        client_secret,
        next_secret,
    }))
}
