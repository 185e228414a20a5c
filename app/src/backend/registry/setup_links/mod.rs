//! One-time, expiring links with which a customer's admin configures their own instance. The
//! link carries a random token; only its SHA-256 is stored, so the database cannot replay it.
//! Here what the operator does with links; in `grant` what their holder may do.

mod grant;

pub use grant::{SetupGrant, add_setup_instance, claim_setup_link, open_setup_link};

use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use sqlx::Row;

use super::{RegistryError, decode_error};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, now};
use crate::backend::tokens::{digest, random_token};
use crate::domain::TenantSlug;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupLinkStatus {
    Active,
    Used,
    Expired,
    Revoked,
}

/// A setup link as listed: never its token.
#[derive(Debug, Clone, Serialize)]
pub struct SetupLink {
    pub id: String,
    pub tenant: TenantSlug,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: SetupLinkStatus,
}

/// Creates a link for `tenant` valid for `ttl`; returns it and its token, shown once.
pub async fn create_setup_link(
    db: &Db,
    tenant: &TenantSlug,
    ttl: Duration,
    actor: &Actor,
) -> Result<(SetupLink, SecretString), RegistryError> {
    let token = random_token();
    let id = link_id();
    let created_at = now();
    let expires_at = created_at.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let mut tx = db.begin().await?;
    let exists = sqlx::query("SELECT 1 FROM tenants WHERE slug = $1")
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        return Err(RegistryError::UnknownTenant(tenant.clone()));
    }
    sqlx::query(
        "INSERT INTO setup_links (id, token_hash, tenant_slug, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(digest(&token))
    .bind(tenant.as_str())
    .bind(created_at)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "setup_link.create",
            tenant: Some(tenant),
            instance: None,
            succeeded: true,
            detail: format!("link {id}, expires at {expires_at}"),
        },
    )
    .await?;
    tx.commit().await?;
    let link = SetupLink {
        id,
        tenant: tenant.clone(),
        created_at,
        expires_at,
        status: SetupLinkStatus::Active,
    };
    Ok((link, SecretString::from(token)))
}

pub async fn list_setup_links(
    db: &Db,
    tenant: Option<&TenantSlug>,
) -> Result<Vec<SetupLink>, RegistryError> {
    let rows = sqlx::query(
        "SELECT id, tenant_slug, created_at, expires_at, used_at, revoked_at FROM setup_links \
         WHERE $1 IS NULL OR tenant_slug = $1 ORDER BY created_at DESC, id",
    )
    .bind(tenant.map(TenantSlug::as_str))
    .fetch_all(db)
    .await?;
    let at = now();
    rows.iter()
        .map(|row| {
            let tenant: String = row.try_get("tenant_slug")?;
            let expires_at: i64 = row.try_get("expires_at")?;
            let used: Option<i64> = row.try_get("used_at")?;
            let revoked: Option<i64> = row.try_get("revoked_at")?;
            let status = match (revoked, used) {
                (Some(_), _) => SetupLinkStatus::Revoked,
                (None, Some(_)) => SetupLinkStatus::Used,
                (None, None) if expires_at <= at => SetupLinkStatus::Expired,
                (None, None) => SetupLinkStatus::Active,
            };
            Ok(SetupLink {
                id: row.try_get("id")?,
                tenant: TenantSlug::parse(&tenant).map_err(decode_error)?,
                created_at: row.try_get("created_at")?,
                expires_at,
                status,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(RegistryError::from)
}

/// A short public name for lists and revocation, unrelated to the token: 40 random bits in
/// lowercase hex, so it never starts with `-` and is never taken for a command-line flag
/// (`orgpass setup-link revoke ID`).
fn link_id() -> String {
    let bytes: [u8; 5] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Revokes a link that has not been used; revoking twice is not an error.
pub async fn revoke_setup_link(db: &Db, id: &str, actor: &Actor) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "UPDATE setup_links SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 \
         RETURNING tenant_slug",
    )
    .bind(now())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| RegistryError::UnknownSetupLink(id.to_owned()))?;
    let tenant: String = row.try_get("tenant_slug")?;
    let tenant = TenantSlug::parse(&tenant)?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "setup_link.revoke",
            tenant: Some(&tenant),
            instance: None,
            succeeded: true,
            detail: format!("link {id}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::link_id;

    #[test]
    fn a_link_id_is_ten_hex_digits_never_read_as_a_command_line_flag() {
        for _ in 0..1000 {
            let id = link_id();
            assert_eq!(id.len(), 10, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
        }
    }
}
