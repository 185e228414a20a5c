//! Changing instances: add, update (secrets included), enable or disable, remove. Each is one
//! transaction with its audit event.

use sqlx::{AnyConnection, Row};

use super::model::{INSTANCE_COLUMNS, Instance, InstanceChanges, NewInstance, instance_from_row};
use super::secrets::{SealedSecrets, SecretSlot};
use super::validate::{client_id, redirect_uri, redirect_uris};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, is_unique_violation, now};
use crate::backend::registry::{RegistryError, display_text};
use crate::backend::sessions::{self, Invalidation, invalidation};
use crate::backend::vault::Vault;
use crate::domain::{InstanceId, InvalidValue, IssuerUrl, TenantSlug};

fn conflict(id: &InstanceId, client_id: &str, issuer: &IssuerUrl) -> RegistryError {
    RegistryError::Conflict(format!(
        "instance id '{id}' or client id '{client_id}' at {issuer} is already registered"
    ))
}

fn conflict_or(
    error: sqlx::Error,
    id: &InstanceId,
    client_id: &str,
    issuer: &IssuerUrl,
) -> RegistryError {
    if is_unique_violation(&error) {
        conflict(id, client_id, issuer)
    } else {
        error.into()
    }
}

pub async fn add_instance(
    db: &Db,
    vault: &Vault,
    new: NewInstance,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    let mut tx = db.begin().await?;
    let instance = insert_instance(&mut tx, vault, new).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.add",
            tenant: Some(&instance.tenant),
            instance: Some(&instance.id),
            succeeded: true,
            detail: format!(
                "client id {} at {}{}",
                instance.client_id,
                instance.issuer,
                if instance.enabled {
                    ""
                } else {
                    ", not active yet"
                }
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// Validates and inserts one instance; the caller owns the transaction (and the audit event).
pub(in crate::backend::registry) async fn insert_instance(
    conn: &mut AnyConnection,
    vault: &Vault,
    new: NewInstance,
) -> Result<Instance, RegistryError> {
    let label = display_text("instance label", &new.label)?;
    let client_id = client_id(&new.client_id)?;
    let extra_redirect_uris = redirect_uris(&new.extra_redirect_uris)?;
    let post_logout_uri = new
        .post_logout_uri
        .as_deref()
        .map(redirect_uri)
        .transpose()?;
    let id = new.id.unwrap_or_else(InstanceId::generate);
    let tenant_exists = sqlx::query("SELECT 1 FROM tenants WHERE slug = $1")
        .bind(new.tenant.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !tenant_exists {
        return Err(RegistryError::UnknownTenant(new.tenant));
    }
    let sealed = vault.seal(
        new.client_secret.expose().as_bytes(),
        &SecretSlot::Current.context(&id),
    );
    let at = now();
    let inserted = sqlx::query(
        "INSERT INTO instances (id, tenant_slug, label, issuer, client_id, secret_key_id, \
         secret_sealed, token_auth_method, extra_redirect_uris, post_logout_uri, enabled, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $11, $11) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id.as_str())
    .bind(new.tenant.as_str())
    .bind(&label)
    .bind(new.issuer.as_str())
    .bind(&client_id)
    .bind(sealed.key_id)
    .bind(&sealed.bytes)
    .bind(new.token_auth_method.as_str())
    .bind(extra_redirect_uris.join("\n"))
    .bind(&post_logout_uri)
    .bind(at)
    .bind(i64::from(new.enabled))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // DO NOTHING rather than an error: on PostgreSQL an error would abort the caller's whole
    // transaction, and an import reports every conflicting row.
    if inserted == 0 {
        return Err(conflict(&id, &client_id, &new.issuer));
    }
    Ok(Instance {
        id,
        tenant: new.tenant,
        label,
        issuer: new.issuer,
        client_id,
        token_auth_method: new.token_auth_method,
        enabled: new.enabled,
        working_secret: None,
        extra_redirect_uris,
        post_logout_uri,
        clock_skew: None,
        created_at: at,
        updated_at: at,
    })
}

/// Applies `changes` in one transaction; secrets are re-sealed under the current master key.
pub async fn update_instance(
    db: &Db,
    vault: &Vault,
    id: &InstanceId,
    changes: InstanceChanges,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    let label = changes
        .label
        .as_deref()
        .map(|label| display_text("instance label", label))
        .transpose()?;
    let new_client_id = changes.client_id.as_deref().map(client_id).transpose()?;
    let extra = changes
        .extra_redirect_uris
        .as_deref()
        .map(redirect_uris)
        .transpose()?;
    let post_logout = changes
        .post_logout_uri
        .as_ref()
        .map(|uri| uri.as_deref().map(redirect_uri).transpose())
        .transpose()?;

    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, {} FROM instances i WHERE i.id = $1",
        SealedSecrets::COLUMNS
    ))
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))?;
    let mut instance = instance_from_row(&row)?;
    let (mut current, mut next) = SealedSecrets::from_row(&row)?.open(vault, id)?;

    let mut detail = Vec::new();
    if let Some(label) = label {
        instance.label = label;
        detail.push("label");
    }
    if let Some(issuer) = changes.issuer {
        instance.issuer = issuer;
        detail.push("issuer");
    }
    if let Some(client_id) = new_client_id {
        instance.client_id = client_id;
        detail.push("client id");
    }
    if let Some(method) = changes.token_auth_method {
        instance.token_auth_method = method;
        detail.push("token auth method");
    }
    if let Some(extra) = extra {
        instance.extra_redirect_uris = extra;
        detail.push("redirect URIs");
    }
    if let Some(post_logout) = post_logout {
        instance.post_logout_uri = post_logout;
        detail.push("sign-out redirect URI");
    }
    let secrets_changed =
        changes.client_secret.is_some() || changes.next_secret.is_some() || changes.promote_next;
    if let Some(secret) = changes.client_secret {
        current = secret;
        detail.push("client secret replaced");
    }
    if let Some(secret) = changes.next_secret {
        detail.push(if secret.is_some() {
            "next client secret set"
        } else {
            "next client secret dropped"
        });
        next = secret;
    }
    if changes.promote_next {
        current = next.take().ok_or_else(|| {
            InvalidValue(format!(
                "instance '{id}' has no next client secret to promote"
            ))
        })?;
        detail.push("next client secret promoted");
    }

    let sealed_current = vault.seal(
        current.expose().as_bytes(),
        &SecretSlot::Current.context(id),
    );
    let sealed_next = next
        .as_ref()
        .map(|secret| vault.seal(secret.expose().as_bytes(), &SecretSlot::Next.context(id)));
    instance.updated_at = now();
    sqlx::query(
        "UPDATE instances SET label = $1, issuer = $2, client_id = $3, token_auth_method = $4, \
         extra_redirect_uris = $5, post_logout_uri = $6, secret_key_id = $7, secret_sealed = $8, \
         next_secret_key_id = $9, next_secret_sealed = $10, \
         working_secret = CASE WHEN $11 = 1 THEN NULL ELSE working_secret END, updated_at = $12 \
         WHERE id = $13",
    )
    .bind(&instance.label)
    .bind(instance.issuer.as_str())
    .bind(&instance.client_id)
    .bind(instance.token_auth_method.as_str())
    .bind(instance.extra_redirect_uris.join("\n"))
    .bind(&instance.post_logout_uri)
    .bind(sealed_current.key_id)
    .bind(&sealed_current.bytes)
    .bind(sealed_next.as_ref().map(|sealed| sealed.key_id))
    .bind(sealed_next.as_ref().map(|sealed| sealed.bytes.clone()))
    .bind(i64::from(secrets_changed))
    .bind(instance.updated_at)
    .bind(id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(|error| conflict_or(error, id, &instance.client_id, &instance.issuer))?;
    if secrets_changed {
        instance.working_secret = None;
    }
    // Signed-in pages show the instance's label.
    invalidation::publish(&mut tx, &Invalidation::Instance(id.as_str().to_owned())).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.update",
            tenant: Some(&instance.tenant),
            instance: Some(id),
            succeeded: true,
            detail: detail.join("; "),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// Turns sign-in through an instance on or off; signed-in sessions of a disabled instance end.
pub async fn set_enabled(
    db: &Db,
    id: &InstanceId,
    enabled: bool,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query("UPDATE instances SET enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(enabled))
        .bind(now())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(RegistryError::UnknownInstance(id.clone()));
    }
    if !enabled {
        sessions::end_for_instance(&mut tx, id).await?;
    }
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances i WHERE i.id = $1"
    ))
    .bind(id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let instance = instance_from_row(&row)?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: if enabled {
                "instance.enable"
            } else {
                "instance.disable"
            },
            tenant: Some(&instance.tenant),
            instance: Some(id),
            succeeded: true,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// Removes an instance with its users, sessions and pending flows.
pub async fn remove_instance(db: &Db, id: &InstanceId, actor: &Actor) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("DELETE FROM instances WHERE id = $1 RETURNING tenant_slug")
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))?;
    let tenant: String = row.try_get("tenant_slug")?;
    let tenant = TenantSlug::parse(&tenant)?;
    invalidation::publish(&mut tx, &Invalidation::Instance(id.as_str().to_owned())).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.remove",
            tenant: Some(&tenant),
            instance: Some(id),
            succeeded: true,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
