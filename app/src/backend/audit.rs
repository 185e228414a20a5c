//! The audit trail: who changed what, when, and whether it worked. Never a secret: events carry
//! names and ids, and a secret change is recorded as "secret replaced", not by value.

use serde::Serialize;
use sqlx::any::AnyRow;
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
    /// A person signing in, by email (or subject when the ID token has no email).
    EndUser(String),
    /// The tenant's Okta, authenticated by a signed request (Universal Logout).
    IdentityProvider,
    /// Whoever holds a setup link (by the link's id), before the org has an admin.
    SetupLink(String),
    /// Orgpass itself, on its own schedule (the background check of domain claims).
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Self::Operator => "operator".to_owned(),
            Self::TenantAdmin(email) => format!("admin:{email}"),
            Self::EndUser(who) => format!("user:{who}"),
            Self::IdentityProvider => "okta".to_owned(),
            Self::SetupLink(id) => format!("setup-link:{id}"),
            Self::System => "orgpass".to_owned(),
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
    .bind(outcome(event.succeeded))
    .bind(event.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event as shown to an operator or a tenant admin.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedEvent {
    pub id: i64,
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
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events \
         WHERE $1 IS NULL OR tenant_slug = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(tenant.map(TenantSlug::as_str))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Which of an org's events to show; `None` shows all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub instance: Option<InstanceId>,
    /// `true` successes, `false` failures.
    pub succeeded: Option<bool>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}

/// One page of events, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<RecordedEvent>,
    /// Whether older events match too.
    pub more: bool,
}

/// The `page`th (from 0) page of `per_page` of one org's events that match `filter`.
pub async fn page(
    db: &Db,
    tenant: &TenantSlug,
    filter: &Filter,
    page: u32,
    per_page: u32,
) -> Result<Page, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE tenant_slug = $1 \
         AND ($2 IS NULL OR instance_id = $2) AND ($3 IS NULL OR outcome = $3) \
         AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
         ORDER BY id DESC LIMIT $6 OFFSET $7"
    ))
    .bind(tenant.as_str())
    .bind(filter.instance.as_ref().map(InstanceId::as_str))
    .bind(filter.succeeded.map(outcome))
    .bind(filter.from)
    .bind(filter.until)
    .bind(i64::from(per_page) + 1)
    .bind(i64::from(page) * i64::from(per_page))
    .fetch_all(db)
    .await?;
    let mut events = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = events.len() > per_page as usize;
    events.truncate(per_page as usize);
    Ok(Page { events, more })
}

/// How an instance's sign-ins went lately, for the settings page.
#[derive(Debug, Clone, Default)]
pub struct SignInHistory {
    pub last_success_at: Option<i64>,
    /// When, and the reason recorded.
    pub last_failure: Option<(i64, String)>,
}

pub async fn sign_in_history(db: &Db, instance: &InstanceId) -> Result<SignInHistory, sqlx::Error> {
    let last = |succeeded: bool| {
        sqlx::query(
            "SELECT at, detail FROM audit_events WHERE instance_id = $1 AND action = 'sign_in' \
             AND outcome = $2 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(instance.as_str())
        .bind(outcome(succeeded))
        .fetch_optional(db)
    };
    let success = last(true).await?;
    let failure = last(false).await?;
    Ok(SignInHistory {
        last_success_at: success.map(|row| row.try_get("at")).transpose()?,
        last_failure: failure
            .map(|row| Ok::<_, sqlx::Error>((row.try_get("at")?, row.try_get("detail")?)))
            .transpose()?,
    })
}

const EVENT_COLUMNS: &str = "id, at, actor, action, tenant_slug, instance_id, outcome, detail";

fn event_from_row(row: &AnyRow) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        tenant: row.try_get("tenant_slug")?,
        instance: row.try_get("instance_id")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
    })
}

fn outcome(succeeded: bool) -> &'static str {
    if succeeded { "success" } else { "failure" }
}
