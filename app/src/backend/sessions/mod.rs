//! Signed-in browsers: a random token in an HttpOnly cookie, its digest in the `sessions` table.
//!
//! A session ends at its absolute expiry, after [`SessionPolicy::idle_timeout`] without use, at
//! sign-out, when Universal Logout names its user, or when its org is suspended or its instance
//! disabled (those delete it, so lifting the suspension does not revive it).
//!
//! Checks are answered from memory ([`cache`]) while the [`invalidation`] feed vouches for it:
//! an ended session is refused by the next request on the replica that ended it, and within
//! [`invalidation::FRESHNESS`] on every other one.

mod cache;
pub mod invalidation;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::{AnyConnection, Row};

use super::clock::Clock;
use super::db::Db;
use super::tokens::{digest, random_token};
use crate::domain::{InstanceId, IssuerUrl, TenantSlug};
use cache::CachedSession;
pub use cache::SessionCache;
pub use invalidation::Invalidation;

/// The idle clock moves at most this often per session: one write a minute, not one a request.
const LAST_SEEN_GRANULARITY_SECS: i64 = 60;

/// The cookie value of a session. Not `Serialize`, not `Debug`.
pub struct SessionToken(SecretString);

impl SessionToken {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// How long sessions last, and the clock they are measured by.
#[derive(Clone)]
pub struct SessionPolicy {
    /// From sign-in, whatever happens (the cookie's `Max-Age` too).
    pub absolute_ttl: Duration,
    /// Without a request.
    pub idle_timeout: Duration,
    pub clock: Clock,
}

impl SessionPolicy {
    pub(crate) fn secs(duration: Duration) -> i64 {
        i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
    }
}

/// The sessions of this server: their policy, and the cache in front of the table. Changes
/// made through it take effect here at once; [`invalidation::publish`] tells the others.
#[derive(Clone)]
pub struct Sessions {
    pub policy: SessionPolicy,
    cache: Arc<SessionCache>,
}

/// Sessions that a transaction ended: hand it to [`Sessions::forget`] once it has committed.
#[must_use]
pub struct Ended {
    pub count: u64,
    stale: Vec<Invalidation>,
}

/// Who the ID token says signed in, after every check passed.
pub struct VerifiedIdentity {
    pub instance: InstanceId,
    pub issuer: IssuerUrl,
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The person behind a live session, and where they signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    /// The `users` row: who they are in (instance, issuer, sub).
    pub user_id: i64,
    pub tenant: String,
    pub tenant_name: String,
    pub instance_id: String,
    pub instance_label: String,
    pub issuer: String,
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

impl Sessions {
    /// At most `cache_capacity` sessions are held in memory.
    pub fn new(policy: SessionPolicy, cache_capacity: u64) -> Self {
        let cache = SessionCache::new(cache_capacity, policy.idle_timeout);
        Self {
            policy,
            cache: Arc::new(cache),
        }
    }

    /// What the invalidation feed keeps true (see [`invalidation::follow`]).
    pub fn cache(&self) -> Arc<SessionCache> {
        self.cache.clone()
    }

    /// Records the user (keyed on instance, issuer and sub), opens a new session and ends
    /// the browser's `previous` one; see [`sign_in`].
    pub async fn sign_in(
        &self,
        conn: &mut AnyConnection,
        identity: &VerifiedIdentity,
        id_token: &str,
        previous: Option<&str>,
    ) -> Result<SessionToken, sqlx::Error> {
        let previous_hash = previous.map(digest);
        let token = sign_in(
            conn,
            identity,
            id_token,
            previous_hash.as_deref(),
            &self.policy,
        )
        .await?;
        if let Some(previous_hash) = previous_hash {
            self.cache.evict(&Invalidation::Session(previous_hash));
        }
        Ok(token)
    }

    /// The signed-in user behind a session token, if the session is live: within its absolute
    /// and idle limits, its instance enabled and its org active. Moves the stored idle clock
    /// when it is a minute or more behind.
    pub async fn find(&self, db: &Db, token: &str) -> Result<Option<SignedInUser>, sqlx::Error> {
        let now = self.policy.clock.now();
        let token_hash = digest(token);
        let idle_secs = SessionPolicy::secs(self.policy.idle_timeout);
        if let Some(session) = self.cache.get(&token_hash) {
            if session.expires_at <= now {
                return Ok(None);
            }
            // Idle here, the session may still have been used on another replica, which
            // wrote its idle clock back: the database decides.
            if now - session.last_seen.load(Ordering::Acquire) < idle_secs {
                touch(db, &token_hash, &session, now).await?;
                return Ok(Some(session.user.clone()));
            }
        }
        let evictions_before = self.cache.eviction_count();
        let Some(session) = find_stored(db, &token_hash, now, &self.policy).await? else {
            return Ok(None);
        };
        touch(db, &token_hash, &session, now).await?;
        let user = session.user.clone();
        self.cache.keep(token_hash, session, evictions_before);
        Ok(Some(user))
    }

    /// Ends one session, expired or not; ending an unknown one is not an error (sign-out is
    /// idempotent) and returns `None`.
    pub async fn end(&self, db: &Db, token: &str) -> Result<Option<EndedSession>, sqlx::Error> {
        let token_hash = digest(token);
        let ended = end(db, &token_hash).await?;
        self.cache.evict(&Invalidation::Session(token_hash));
        Ok(ended)
    }

    /// Applies what a committed transaction ended to this replica's cache at once (the
    /// others learn it from the feed).
    pub fn forget(&self, ended: &Ended) {
        for what in &ended.stale {
            self.cache.evict(what);
        }
    }

    /// Drops this replica's cached sessions in `scope` after a committed change that
    /// published it (the others learn it from the feed).
    pub fn forget_scope(&self, scope: &Invalidation) {
        self.cache.evict(scope);
    }
}

/// Records the user (keyed on instance, issuer and sub), opens a new session and ends the
/// browser's previous one (by the digest of its token), in one round trip to the database: a data-modifying `WITH` on
/// PostgreSQL; statements in one call on SQLite, which has no such `WITH`. A second one, only
/// when there was a previous session, tells the other servers that it ended. A new token at
/// every sign-in: a cookie planted before sign-in is never promoted (no fixation).
///
/// On SQLite each statement commits on its own. The states between them (the user recorded,
/// no new session; the new session open, the old one not yet ended) are harmless; a
/// transaction would cost two more round trips on the busiest path of the server, and could be
/// left open if the request were dropped between its statements.
async fn sign_in(
    conn: &mut AnyConnection,
    identity: &VerifiedIdentity,
    id_token: &str,
    previous_hash: Option<&str>,
    policy: &SessionPolicy,
) -> Result<SessionToken, sqlx::Error> {
    const UPSERT_USER: &str = "INSERT INTO users \
        (instance_id, issuer, sub, name, email, created_at, last_login_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $6) \
        ON CONFLICT (instance_id, issuer, sub) DO UPDATE SET \
        name = excluded.name, email = excluded.email, last_login_at = excluded.last_login_at";
    const END_PREVIOUS: &str = "DELETE FROM sessions WHERE token_hash = $10";
    let sql = if conn.backend_name() == "SQLite" {
        format!(
            "{UPSERT_USER}; {END_PREVIOUS}; INSERT INTO sessions \
             (token_hash, user_id, created_at, expires_at, last_seen_at, id_token) \
             SELECT $7, id, $6, $8, $6, $9 FROM users \
             WHERE instance_id = $1 AND issuer = $2 AND sub = $3"
        )
    } else {
        format!(
            "WITH u AS ({UPSERT_USER} RETURNING id), previous AS ({END_PREVIOUS}) \
             INSERT INTO sessions \
             (token_hash, user_id, created_at, expires_at, last_seen_at, id_token) \
             SELECT $7, id, $6, $8, $6, $9 FROM u"
        )
    };
    let at = policy.clock.now();
    let token = random_token();
    sqlx::query(&sql)
        .bind(identity.instance.as_str())
        .bind(identity.issuer.as_str())
        .bind(&identity.sub)
        .bind(&identity.name)
        .bind(&identity.email)
        .bind(at)
        .bind(digest(&token))
        .bind(at.saturating_add(SessionPolicy::secs(policy.absolute_ttl)))
        .bind(id_token)
        // No stored digest is empty: without a previous session nothing is deleted.
        .bind(previous_hash.unwrap_or_default())
        .execute(&mut *conn)
        .await?;
    if let Some(previous_hash) = previous_hash {
        invalidation::publish(conn, &Invalidation::Session(previous_hash.to_owned())).await?;
    }
    Ok(SessionToken(SecretString::from(token)))
}

/// A live session read from the database: within its absolute and idle limits, its
/// instance enabled and its org active.
async fn find_stored(
    db: &Db,
    token_hash: &str,
    now: i64,
    policy: &SessionPolicy,
) -> Result<Option<CachedSession>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.slug, t.display_name, i.id, i.label, u.id AS user_id, u.issuer, u.sub, \
         u.name, u.email, s.expires_at, s.last_seen_at \
         FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         JOIN instances i ON i.id = u.instance_id \
         JOIN tenants t ON t.slug = i.tenant_slug \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
         AND i.enabled = 1 AND t.status = 'active'",
    )
    .bind(token_hash)
    .bind(now)
    .bind(now.saturating_sub(SessionPolicy::secs(policy.idle_timeout)))
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let last_seen: i64 = row.try_get("last_seen_at")?;
    Ok(Some(CachedSession {
        user: SignedInUser {
            user_id: row.try_get("user_id")?,
            tenant: row.try_get("slug")?,
            tenant_name: row.try_get("display_name")?,
            instance_id: row.try_get("id")?,
            instance_label: row.try_get("label")?,
            issuer: row.try_get("issuer")?,
            sub: row.try_get("sub")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
        },
        expires_at: row.try_get("expires_at")?,
        last_seen: last_seen.into(),
        stored_last_seen: last_seen.into(),
    }))
}

/// Moves the stored idle clock to `now` when it is a minute or more behind, once per session
/// however many requests race here.
async fn touch(
    db: &Db,
    token_hash: &str,
    session: &CachedSession,
    now: i64,
) -> Result<(), sqlx::Error> {
    session.last_seen.fetch_max(now, Ordering::AcqRel);
    let stored = session.stored_last_seen.load(Ordering::Acquire);
    if now - stored < LAST_SEEN_GRANULARITY_SECS
        || session
            .stored_last_seen
            .compare_exchange(stored, now, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return Ok(());
    }
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// A session that sign-out ended: what signing out of Okta too needs. Not `Debug`: it holds the
/// ID token.
pub struct EndedSession {
    pub instance: InstanceId,
    pub issuer: IssuerUrl,
    pub id_token: Option<String>,
    /// The instance's own sign-out redirect URI, if the operator set one.
    pub post_logout_uri: Option<String>,
}

async fn end(db: &Db, token_hash: &str) -> Result<Option<EndedSession>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.id_token, u.instance_id, u.issuer, i.post_logout_uri FROM sessions s \
         JOIN users u ON u.id = s.user_id JOIN instances i ON i.id = u.instance_id \
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    invalidation::publish(&mut tx, &Invalidation::Session(token_hash.to_owned())).await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let instance: String = row.try_get("instance_id")?;
    let instance = InstanceId::parse(&instance).map_err(|e| sqlx::Error::Decode(e.0.into()))?;
    Ok(Some(EndedSession {
        instance,
        issuer: IssuerUrl::from_trusted_storage(row.try_get("issuer")?),
        id_token: row.try_get("id_token")?,
        post_logout_uri: row.try_get("post_logout_uri")?,
    }))
}

/// Whose sessions Universal Logout ends, within one instance.
pub enum Subject<'a> {
    /// `iss_sub`: the issuer's subject identifier.
    IssuerSubject { issuer: &'a str, sub: &'a str },
    /// `email`: compared without regard to case.
    Email(&'a str),
}

/// Ends every session of the users `subject` names in `instance` only; `None` when no such
/// user has ever signed in through that instance.
pub async fn end_for_subject(
    conn: &mut AnyConnection,
    instance: &InstanceId,
    subject: &Subject<'_>,
) -> Result<Option<Ended>, sqlx::Error> {
    let (matching, values): (&str, Vec<&str>) = match subject {
        Subject::IssuerSubject { issuer, sub } => (
            "instance_id = $1 AND issuer = $2 AND sub = $3",
            vec![*issuer, *sub],
        ),
        Subject::Email(email) => (
            "instance_id = $1 AND lower(email) = lower($2)",
            vec![*email],
        ),
    };
    let select = format!("SELECT id FROM users WHERE {matching}");
    let mut known = sqlx::query_scalar::<_, i64>(&select).bind(instance.as_str());
    for value in &values {
        known = known.bind(*value);
    }
    let users = known.fetch_all(&mut *conn).await?;
    if users.is_empty() {
        return Ok(None);
    }
    let delete =
        format!("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE {matching})");
    let mut ended = sqlx::query(&delete).bind(instance.as_str());
    for value in &values {
        ended = ended.bind(*value);
    }
    let count = ended.execute(&mut *conn).await?.rows_affected();
    let mut stale = Vec::with_capacity(users.len());
    for user in users {
        let what = Invalidation::User(user);
        invalidation::publish(conn, &what).await?;
        stale.push(what);
    }
    Ok(Some(Ended { count, stale }))
}

/// Ends every session of one user (an admin's "End sessions"), as Universal Logout does.
pub async fn end_for_user(conn: &mut AnyConnection, user_id: i64) -> Result<Ended, sqlx::Error> {
    let count = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let what = Invalidation::User(user_id);
    invalidation::publish(conn, &what).await?;
    Ok(Ended {
        count,
        stale: vec![what],
    })
}

/// Ends every session signed in through `instance`: it is being disabled, and re-enabling it
/// must not bring them back.
pub async fn end_for_instance(
    conn: &mut AnyConnection,
    instance: &InstanceId,
) -> Result<u64, sqlx::Error> {
    let ended = sqlx::query(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE instance_id = $1)",
    )
    .bind(instance.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    invalidation::publish(conn, &Invalidation::Instance(instance.as_str().to_owned())).await?;
    Ok(ended)
}

/// Ends every session of an org's people: it is being suspended.
pub async fn end_for_tenant(
    conn: &mut AnyConnection,
    tenant: &TenantSlug,
) -> Result<u64, sqlx::Error> {
    let ended = sqlx::query(
        "DELETE FROM sessions WHERE user_id IN (SELECT u.id FROM users u \
         JOIN instances i ON i.id = u.instance_id WHERE i.tenant_slug = $1)",
    )
    .bind(tenant.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    invalidation::publish(conn, &Invalidation::Tenant(tenant.as_str().to_owned())).await?;
    Ok(ended)
}

/// Deletes the sessions past their absolute or idle limit, off the request path. Every cache
/// refuses them already, so nothing is published.
pub async fn sweep_ended(db: &Db, policy: &SessionPolicy) -> Result<u64, sqlx::Error> {
    let now = policy.clock.now();
    let swept = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now.saturating_sub(SessionPolicy::secs(policy.idle_timeout)))
        .execute(db)
        .await?
        .rows_affected();
    Ok(swept)
}
