//! What the holder of a live setup link may do before the org has anyone who can sign in: add
//! the org's first instance (one per link), test it, activate it, and become the org's first
//! admin by signing in through it, which uses the link up.

use sqlx::{AnyConnection, Row};

use super::super::instances::{Instance, NewInstance, insert_instance};
use super::super::{RegistryError, decode_error};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, now};
use crate::backend::sessions::VerifiedIdentity;
use crate::backend::tokens::digest;
use crate::backend::vault::Vault;
use crate::domain::{InstanceId, TenantSlug};

/// A link that is neither used, revoked nor expired, found by its token.
#[derive(Debug, Clone)]
pub struct SetupGrant {
    pub link_id: String,
    pub tenant: TenantSlug,
    /// The instance added with this link, once there is one.
    pub instance: Option<InstanceId>,
    pub expires_at: i64,
}

impl SetupGrant {
    /// Who the audit trail says acted: the link, as nobody is known yet.
    pub fn actor(&self) -> Actor {
        Actor::SetupLink(self.link_id.clone())
    }

    /// Whether the link may work on `instance`: only on the one it added.
    pub fn covers(&self, instance: &InstanceId) -> bool {
        self.instance.as_ref() == Some(instance)
    }
}

/// The live link `token` names, if any. Used, revoked, expired and unknown links all answer
/// `None`, so a caller cannot tell them apart and neither can whoever holds the token.
pub async fn open_setup_link(
    conn: &mut AnyConnection,
    token: &str,
) -> Result<Option<SetupGrant>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, tenant_slug, instance_id, expires_at FROM setup_links \
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(digest(token))
    .bind(now())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let tenant: String = row.try_get("tenant_slug")?;
    let instance: Option<String> = row.try_get("instance_id")?;
    Ok(Some(SetupGrant {
        link_id: row.try_get("id")?,
        tenant: TenantSlug::parse(&tenant).map_err(decode_error)?,
        instance: instance
            .as_deref()
            .map(InstanceId::parse)
            .transpose()
            .map_err(decode_error)?,
        expires_at: row.try_get("expires_at")?,
    }))
}

/// Adds the org's instance the link is for, inactive, and ties it to the link: one instance
/// per link, so a leaked link cannot fill an org with instances.
pub async fn add_setup_instance(
    db: &Db,
    vault: &Vault,
    grant: &SetupGrant,
    new: NewInstance,
) -> Result<Instance, RegistryError> {
    let mut tx = db.begin().await?;
    let instance = insert_instance(&mut tx, vault, new).await?;
    let tied = sqlx::query(
        "UPDATE setup_links SET instance_id = $1 WHERE id = $2 AND instance_id IS NULL \
         AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(instance.id.as_str())
    .bind(&grant.link_id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    if tied.rows_affected() != 1 {
        return Err(RegistryError::Conflict(
            "this setup link has already added an instance: reload the page to see it".to_owned(),
        ));
    }
    audit::record(
        &mut tx,
        Event {
            actor: &grant.actor(),
            action: "instance.add",
            tenant: Some(&instance.tenant),
            instance: Some(&instance.id),
            succeeded: true,
            detail: format!(
                "client id {} at {}, not active yet",
                instance.client_id, instance.issuer
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// At the end of a real sign-in through the link's instance, by the browser holding the link:
/// the person becomes the org's first admin and the link is used up, in one transaction.
/// Returns whether that happened (not when the link died meanwhile, or names another instance).
pub async fn claim_setup_link(
    conn: &mut AnyConnection,
    token: &str,
    identity: &VerifiedIdentity,
) -> Result<bool, sqlx::Error> {
    let at = now();
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    let used = sqlx::query(
        "UPDATE setup_links SET used_at = $1 WHERE token_hash = $2 AND instance_id = $3 \
         AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING id, tenant_slug",
    )
    .bind(at)
    .bind(digest(token))
    .bind(identity.instance.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(used) = used else {
        return Ok(false);
    };
    let link_id: String = used.try_get("id")?;
    let tenant: String = used.try_get("tenant_slug")?;
    let tenant = TenantSlug::parse(&tenant).map_err(decode_error)?;
    sqlx::query(
        "INSERT INTO tenant_admins (user_id, added_at, added_by) \
         SELECT id, $4, $5 FROM users WHERE instance_id = $1 AND issuer = $2 AND sub = $3 \
         ON CONFLICT DO NOTHING",
    )
    .bind(identity.instance.as_str())
    .bind(identity.issuer.as_str())
    .bind(&identity.sub)
    .bind(at)
    .bind(Actor::SetupLink(link_id.clone()).label())
    .execute(&mut *tx)
    .await?;
    let who = identity.email.as_deref().unwrap_or(&identity.sub);
    audit::record(
        &mut tx,
        Event {
            actor: &Actor::EndUser(who.to_owned()),
            action: "setup_link.use",
            tenant: Some(&tenant),
            instance: Some(&identity.instance),
            succeeded: true,
            detail: format!("{who} became the first admin with link {link_id}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
