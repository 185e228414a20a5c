//! The audit trail: who changed what, when, and whether it worked. Never a secret: events carry
//! names and ids, and a secret change is recorded as "secret replaced", not by value.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::db::{Db, now};
use crate::domain::{InstanceId, TenantSlug};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone with shell access running the `orgpass` CLI.
    Operator,
    /// A tenant admin in the settings page, by email.
    TenantAdmin(String),
    /// The tenant's Okta, authenticated by a signed request (Universal Logout).
    IdentityProvider,
}

impl Actor {
    fn label(&self) -> String {
        match self {
            Self::Operator => "operator".to_owned(),
            Self::TenantAdmin(email) => format!("admin:{email}"),
            Self::IdentityProvider => "okta".to_owned(),
        }
    }
}

/// One thing that happened, to be recorded in the same transaction as the change itself.
pub struct Event<'a> {
    pub actor: &'a Actor,
    /// What was done, `noun.verb`: `tenant.add`, `instance.secret_rotate`, …
    pub action: &'a str,
    pub tenant: Option<&'a TenantSlug>,
    pub instance: Option<&'a InstanceId>,
    pub succeeded: bool,
    /// Free text for people; never a secret.
    pub detail: String,
}

pub async fn record(conn: &mut AnyConnection, event: Event<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor, action, tenant_slug, instance_id, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now())
    .bind(event.actor.label())
    .bind(event.action)
    .bind(event.tenant.map(TenantSlug::as_str))
    .bind(event.instance.map(InstanceId::as_str))
    .bind(if event.succeeded {
        "success"
    } else {
        "failure"
    })
    .bind(event.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event as shown to an operator or a tenant admin.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedEvent {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub tenant: Option<String>,
    pub instance: Option<String>,
    pub outcome: String,
    pub detail: String,
}

/// The most recent events, newest first; only one org's when `tenant` is given.
pub async fn recent(
    db: &Db,
    tenant: Option<&TenantSlug>,
    limit: i64,
) -> Result<Vec<RecordedEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at, actor, action, tenant_slug, instance_id, outcome, detail FROM audit_events \
         WHERE $1 IS NULL OR tenant_slug = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(tenant.map(TenantSlug::as_str))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RecordedEvent {
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                tenant: row.try_get("tenant_slug")?,
                instance: row.try_get("instance_id")?,
                outcome: row.try_get("outcome")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect()
}
