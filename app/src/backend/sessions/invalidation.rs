//! How every process learns that sessions ended or their users' details changed, so that no
//! replica serves a stale [`SessionCache`] entry.
//!
//! Writers call [`publish`] inside the transaction that makes the change, whichever process
//! they run in (a server replica or the operator's CLI):
//! - on PostgreSQL it is a `NOTIFY`, delivered at commit to every replica's `LISTEN`;
//! - on SQLite (one node, but the CLI is another process) a row in `session_invalidations`,
//!   which the server polls: its rowids grow in commit order, as SQLite has one writer at a
//!   time.
//!
//! The feed also vouches for the cache: an entry is used only while the feed has been heard
//! from within [`FRESHNESS`]. A lost `LISTEN` connection, or a failing poll, turns the cache
//! off until the feed is back, and it starts again empty.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{AnyConnection, Row};

use super::cache::SessionCache;
use crate::backend::db::{self, Db};

/// The PostgreSQL channel of session invalidations (and of the feed's heartbeat).
const CHANNEL: &str = "orgpass_sessions";
/// A `NOTIFY` payload that changes nothing and proves the channel delivers.
const HEARTBEAT: &str = "heartbeat";
/// How long a sign of life from the feed vouches for the cache: the longest a replica may
/// serve a session that another process ended.
pub const FRESHNESS: Duration = Duration::from_secs(1);
/// How often the feed shows a sign of life (a poll on SQLite, a heartbeat on PostgreSQL).
const BEAT: Duration = Duration::from_millis(100);
/// How long SQLite keeps an invalidation: far longer than any poll takes to see it.
const KEPT_SECS: i64 = 600;

/// Which cached sessions a change makes stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// One session, by the digest of its token (sign-out, a new sign-in in its browser).
    Session(String),
    /// Every session of one user (Universal Logout).
    User(i64),
    /// Every session signed in through an instance (disabled, removed, relabelled).
    Instance(String),
    /// Every session of an org's people (suspended, removed, renamed).
    Tenant(String),
}

impl Invalidation {
    fn parts(&self) -> (&'static str, String) {
        match self {
            Self::Session(token_hash) => ("session", token_hash.clone()),
            Self::User(user_id) => ("user", user_id.to_string()),
            Self::Instance(id) => ("instance", id.clone()),
            Self::Tenant(slug) => ("tenant", slug.clone()),
        }
    }

    /// `None` for a scope this version does not know: the caller flushes everything.
    fn from_parts(scope: &str, key: &str) -> Option<Self> {
        match scope {
            "session" => Some(Self::Session(key.to_owned())),
            "user" => key.parse().ok().map(Self::User),
            "instance" => Some(Self::Instance(key.to_owned())),
            "tenant" => Some(Self::Tenant(key.to_owned())),
            _ => None,
        }
    }
}

/// Tells every process that `what` changed; call it in the transaction that changes it, so
/// the news goes out at commit (PostgreSQL) or becomes visible with it (SQLite).
pub async fn publish(conn: &mut AnyConnection, what: &Invalidation) -> Result<(), sqlx::Error> {
    let (scope, key) = what.parts();
    if conn.backend_name() == "SQLite" {
        sqlx::query("INSERT INTO session_invalidations (scope, key, at) VALUES ($1, $2, $3)")
            .bind(scope)
            .bind(key)
            .bind(db::now())
            .execute(conn)
            .await?;
    } else {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{scope}:{key}"))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Applies every process's invalidations to `cache` for as long as the server runs.
pub async fn follow(db: Db, cache: Arc<SessionCache>) {
    if db::is_sqlite(&db) {
        poll_sqlite(&db, &cache).await;
    } else {
        listen_postgres(&db, &cache).await;
    }
}

/// Deletes the SQLite invalidations every poll has long seen.
pub async fn sweep(db: &Db) -> Result<u64, sqlx::Error> {
    if !db::is_sqlite(db) {
        return Ok(0);
    }
    let swept = sqlx::query("DELETE FROM session_invalidations WHERE at < $1")
        .bind(db::now() - KEPT_SECS)
        .execute(db)
        .await?
        .rows_affected();
    Ok(swept)
}

async fn poll_sqlite(db: &Db, cache: &SessionCache) {
    let mut beat = tokio::time::interval(BEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What came before this process started concerns no entry of its cache.
    let mut seen: Option<i64> = None;
    loop {
        beat.tick().await;
        let polled = match seen {
            None => latest_sqlite_seq(db)
                .await
                .map(|latest| (latest, Vec::new())),
            Some(after) => sqlite_invalidations_after(db, after).await,
        };
        match polled {
            Ok((latest, news)) => {
                if seen.is_none() {
                    cache.flush();
                }
                for (scope, key) in &news {
                    apply(cache, scope, key);
                }
                seen = Some(latest);
                cache.vouch_for(FRESHNESS);
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read session invalidations; the session cache is off");
                cache.distrust();
                // Entries added before the failure may be stale once the feed is back.
                seen = None;
            }
        }
    }
}

async fn latest_sqlite_seq(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM session_invalidations")
        .fetch_one(db)
        .await
}

/// The rows after `after`, as `(scope, key)` pairs, and the last seq read.
async fn sqlite_invalidations_after(
    db: &Db,
    after: i64,
) -> Result<(i64, Vec<(String, String)>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, scope, key FROM session_invalidations WHERE seq > $1 ORDER BY seq",
    )
    .bind(after)
    .fetch_all(db)
    .await?;
    let mut latest = after;
    let mut news = Vec::with_capacity(rows.len());
    for row in rows {
        latest = row.try_get("seq")?;
        news.push((row.try_get("scope")?, row.try_get("key")?));
    }
    Ok((latest, news))
}

fn apply(cache: &SessionCache, scope: &str, key: &str) {
    match Invalidation::from_parts(scope, key) {
        Some(what) => cache.evict(&what),
        None => cache.flush(),
    }
}

/// Listens on [`CHANNEL`] and sends itself a heartbeat on it every [`BEAT`]: a heartbeat that
/// comes back proves that the notifications of the other replicas would have too.
async fn listen_postgres(db: &Db, cache: &SessionCache) {
    let url = db.connect_options().database_url.to_string();
    let listen = async {
        let mut backoff = BEAT;
        loop {
            match connect_listener(&url).await {
                Ok(mut listener) => {
                    backoff = BEAT;
                    // Notifications sent while no listener was connected are lost.
                    cache.flush();
                    let why = tokio::select! {
                        why = receive(&mut listener, cache) => why,
                        () = stalled(cache) => "no heartbeat came back",
                    };
                    tracing::warn!(
                        why,
                        "lost the session invalidation channel; the session cache is off"
                    );
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for session invalidations; the session cache is off");
                }
            }
            cache.distrust();
            cache.flush();
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    };
    tokio::join!(listen, send_heartbeats(db));
}

async fn connect_listener(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Applies notifications until the connection fails; returns why it stopped.
async fn receive(listener: &mut PgListener, cache: &SessionCache) -> &'static str {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match notification.payload() {
                HEARTBEAT => cache.vouch_for(FRESHNESS),
                payload => match payload.split_once(':') {
                    Some((scope, key)) => apply(cache, scope, key),
                    None => cache.flush(),
                },
            },
            Ok(None) => return "the connection closed",
            Err(_) => return "the connection failed",
        }
    }
}

/// Completes when the heartbeats have stopped coming back: a half-open connection, which
/// `receive` alone would wait on for ever. The listener is then dropped, never reused.
async fn stalled(cache: &SessionCache) {
    loop {
        tokio::time::sleep(FRESHNESS).await;
        if !cache.is_trusted() {
            return;
        }
    }
}

async fn send_heartbeats(db: &Db) {
    let mut beat = tokio::time::interval(BEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        beat.tick().await;
        // A failure shows as heartbeats that do not come back.
        let _ = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(HEARTBEAT)
            .execute(db)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalidation_reads_back_as_itself() {
        for what in [
            Invalidation::Session("c2Vzc2lvbg".into()),
            Invalidation::User(42),
            Invalidation::Instance("acme-1".into()),
            Invalidation::Tenant("acme".into()),
        ] {
            let (scope, key) = what.parts();
            assert_eq!(Invalidation::from_parts(scope, &key), Some(what));
        }
    }

    #[test]
    fn an_unknown_scope_is_not_mistaken_for_a_known_one() {
        assert_eq!(Invalidation::from_parts("everything", "x"), None);
        assert_eq!(Invalidation::from_parts("user", "not-a-number"), None);
    }
}
