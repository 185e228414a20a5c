//! The people of an org: everyone who has signed in through one of its instances, for its
//! admins' People page, and "End sessions" for one of them (a stolen laptop), which ends their
//! sessions the way Universal Logout does: here at once, on every other server through the
//! invalidation feed.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::admins::like_escaped;
use super::audit::{self, Actor, Event};
use super::db::Db;
use super::sessions::{self, SessionPolicy, Sessions};
use crate::domain::{InstanceId, TenantSlug};

/// People per page.
pub const PAGE_SIZE: i64 = 50;

/// Why a People request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// No such person in this org; another org's people are reported exactly as missing ones
    /// (HTTP 404).
    #[error("no such person in this organization")]
    NotFound,
    /// Storage failed; logged, never shown (HTTP 500).
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// One person of the org, as the People page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub instance: InstanceId,
    pub instance_label: String,
    pub first_sign_in_at: i64,
    pub last_sign_in_at: i64,
    /// Sessions within their absolute and idle limits.
    pub live_sessions: i64,
    pub is_admin: bool,
}

/// One page of people, most recent sign-in first.
pub struct MemberPage {
    pub people: Vec<Member>,
    pub more: bool,
}

/// The org's people whose email contains `search` (any case), `page` counted from 0.
pub async fn list(
    db: &Db,
    sessions: &Sessions,
    tenant: &TenantSlug,
    search: &str,
    page: u32,
) -> Result<MemberPage, PeopleError> {
    let policy = &sessions.policy;
    let at = policy.clock.now();
    let rows = sqlx::query(
        "SELECT u.id AS user_id, u.name, u.email, u.instance_id, i.label, u.created_at, \
         u.last_login_at, \
         (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $2 \
          AND s.last_seen_at > $3) AS live_sessions, \
         (SELECT count(*) FROM tenant_admins a WHERE a.user_id = u.id) AS admin \
         FROM users u JOIN instances i ON i.id = u.instance_id \
         WHERE i.tenant_slug = $1 \
         AND ($4 = '' OR lower(COALESCE(u.email, '')) LIKE '%' || $4 || '%' ESCAPE '\\') \
         ORDER BY u.last_login_at DESC, u.id LIMIT $5 OFFSET $6",
    )
    .bind(tenant.as_str())
    .bind(at)
    .bind(at.saturating_sub(SessionPolicy::secs(policy.idle_timeout)))
    .bind(like_escaped(&search.trim().to_lowercase()))
    .bind(PAGE_SIZE + 1)
    .bind(i64::from(page) * PAGE_SIZE)
    .fetch_all(db)
    .await?;
    let mut people = rows
        .iter()
        .map(member_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = people.len() > PAGE_SIZE as usize;
    people.truncate(PAGE_SIZE as usize);
    Ok(MemberPage { people, more })
}

/// Ends every session of one person of the org, on every server, and records who did it.
/// Returns how many sessions were open.
pub async fn end_sessions(
    db: &Db,
    sessions: &Sessions,
    tenant: &TenantSlug,
    user_id: i64,
    actor: &Actor,
) -> Result<u64, PeopleError> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "SELECT u.email, u.sub, u.instance_id FROM users u \
         JOIN instances i ON i.id = u.instance_id WHERE u.id = $1 AND i.tenant_slug = $2",
    )
    .bind(user_id)
    .bind(tenant.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(PeopleError::NotFound)?;
    let email: Option<String> = row.try_get("email")?;
    let who = match email {
        Some(email) => email,
        None => row.try_get("sub")?,
    };
    let instance = instance_of(&row)?;
    let ended = sessions::end_for_user(&mut tx, user_id).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "person.end_sessions",
            tenant: Some(tenant),
            instance: Some(&instance),
            succeeded: true,
            detail: format!("{who}: {} session(s) ended", ended.count),
        },
    )
    .await?;
    tx.commit().await?;
    sessions.forget(&ended);
    Ok(ended.count)
}

fn instance_of(row: &AnyRow) -> Result<InstanceId, sqlx::Error> {
    let instance: String = row.try_get("instance_id")?;
    InstanceId::parse(&instance).map_err(|e| sqlx::Error::Decode(e.0.into()))
}

fn member_from_row(row: &AnyRow) -> Result<Member, sqlx::Error> {
    let admin: i64 = row.try_get("admin")?;
    Ok(Member {
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        instance: instance_of(row)?,
        instance_label: row.try_get("label")?,
        first_sign_in_at: row.try_get("created_at")?,
        last_sign_in_at: row.try_get("last_login_at")?,
        live_sessions: row.try_get("live_sessions")?,
        is_admin: admin > 0,
    })
}
