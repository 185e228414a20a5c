//! Pending authorization-code flows: single-use (taken out, never read in place), short-lived,
//! and keyed by a digest of `state`.
//!
//! One node (SQLite) keeps them in memory: a flow lives only between a redirect to Okta and
//! the callback, and the table cost the sign-in path a write at each end. A graceful stop saves
//! them to the `login_flows` table and the next start takes them back, so a restart does not
//! break sign-ins in progress. Replicas (PostgreSQL) keep them in the shared table, because a
//! callback may reach another replica than the login start.

mod memory;

use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlx::{Any, AnyConnection, Executor, Row};

use super::super::db::{Db, SignInDb, is_sqlite, now};
use super::super::tokens::digest;
use crate::domain::{InstanceId, IssuerUrl, ReturnPath};
use memory::{Full, MemoryFlows, PER_BROWSER};

/// How many flows one node holds in memory, about 300 bytes each. A flood of login starts
/// beyond that is refused rather than allowed to exhaust memory; flows expire after minutes.
const MEMORY_CAPACITY: usize = 200_000;

/// Holds the PKCE verifier and nonce: deliberately not `Debug`.
pub(super) struct PendingFlow {
    pub instance: InstanceId,
    /// The issuer the flow was started for; the response is checked against it, never the
    /// other way round (mix-up defence).
    pub issuer: IssuerUrl,
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: ReturnPath,
    pub expires_at: i64,
    /// Who started a test sign-in, which opens no session and shows them what Okta sent
    /// instead. `None` for a real sign-in.
    pub tested_by: Option<Tester>,
}

/// Who may see a test sign-in's report: only the one who started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tester {
    /// A tenant admin, by user id.
    Admin(i64),
    /// The holder of a setup link, by the link's id.
    SetupLink(String),
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Every slot of the in-memory store holds a live flow (503).
    #[error("{MEMORY_CAPACITY} sign-ins are already in progress")]
    Full,
    /// The instance was deleted while its sign-in started (404).
    #[error("the instance was deleted")]
    InstanceDeleted,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Where pending flows wait for their callback.
pub struct FlowStore(Kind);

enum Kind {
    /// One node: by digest of `state`, in this process.
    Memory(Mutex<MemoryFlows>),
    /// Replicas: the `login_flows` table.
    Shared,
}

impl FlowStore {
    /// In memory on SQLite, taking back the flows the last graceful stop saved; the table on
    /// PostgreSQL.
    pub async fn open(db: &Db) -> Result<Self, sqlx::Error> {
        Self::open_with_capacity(db, MEMORY_CAPACITY).await
    }

    async fn open_with_capacity(db: &Db, capacity: usize) -> Result<Self, sqlx::Error> {
        if !is_sqlite(db) {
            return Ok(Self(Kind::Shared));
        }
        let mut tx = db.begin().await?;
        let rows = sqlx::query(&format!(
            "DELETE FROM login_flows RETURNING state_hash, {FLOW_COLUMNS}"
        ))
        .fetch_all(&mut *tx)
        .await?;
        let mut saved = Vec::with_capacity(rows.len());
        for row in &rows {
            saved.push((row.try_get::<String, _>("state_hash")?, flow_from_row(row)?));
        }
        // In expiry order, as the store keeps them.
        saved.sort_by_key(|(_, flow)| flow.expires_at);
        let mut flows = MemoryFlows::new(capacity);
        let at = now();
        for (state_hash, flow) in saved {
            if flow.expires_at > at {
                // Taken back within the capacity they were stored under.
                let _ = flows.insert(state_hash, flow, at);
            }
        }
        tx.commit().await?;
        Ok(Self(Kind::Memory(Mutex::new(flows))))
    }

    pub(super) async fn store(
        &self,
        db: &SignInDb,
        state: &str,
        flow: PendingFlow,
    ) -> Result<(), FlowError> {
        match &self.0 {
            Kind::Memory(flows) => lock(flows)
                .insert(digest(state), flow, now())
                .map_err(|Full| FlowError::Full),
            Kind::Shared => {
                let mut conn = db.acquire().await?;
                if !insert(&mut *conn, &digest(state), &flow).await? {
                    return Err(FlowError::InstanceDeleted);
                }
                // As in memory: a browser's sign-ins beyond the last few are dropped.
                sqlx::query(
                    "DELETE FROM login_flows WHERE browser_hash = $1 AND state_hash NOT IN \
                     (SELECT state_hash FROM login_flows WHERE browser_hash = $1 \
                      ORDER BY arrival DESC LIMIT $2)",
                )
                .bind(&flow.browser_hash)
                .bind(i64::try_from(PER_BROWSER).unwrap_or(i64::MAX))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
        }
    }

    /// Removes and returns the flow named by `state`, whatever happens next: a state is never
    /// accepted twice. Expired flows are removed and reported as absent. `conn` is only used
    /// by the shared store.
    pub(super) async fn take(
        &self,
        conn: &mut AnyConnection,
        state: &str,
    ) -> Result<Option<PendingFlow>, sqlx::Error> {
        let flow = match &self.0 {
            Kind::Memory(flows) => lock(flows).take(&digest(state)),
            Kind::Shared => sqlx::query(&format!(
                "DELETE FROM login_flows WHERE state_hash = $1 RETURNING {FLOW_COLUMNS}"
            ))
            .bind(digest(state))
            .fetch_optional(conn)
            .await?
            .map(|row| flow_from_row(&row))
            .transpose()?,
        };
        Ok(flow.filter(|flow| flow.expires_at > now()))
    }

    /// How many sign-ins wait for their callback (expired ones not swept yet included).
    pub async fn pending(&self, db: &Db) -> Result<i64, sqlx::Error> {
        match &self.0 {
            Kind::Memory(flows) => Ok(i64::try_from(lock(flows).len()).unwrap_or(i64::MAX)),
            Kind::Shared => {
                sqlx::query_scalar("SELECT count(*) FROM login_flows")
                    .fetch_one(db)
                    .await
            }
        }
    }

    /// Deletes abandoned flows; the server runs it periodically, off the request path.
    /// Expired flows are refused anyway: this keeps the store small.
    pub async fn sweep_expired(&self, db: &Db) -> Result<u64, sqlx::Error> {
        let at = now();
        match &self.0 {
            Kind::Memory(flows) => Ok(u64::try_from(lock(flows).expire(at)).unwrap_or(u64::MAX)),
            Kind::Shared => {
                let swept = sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
                    .bind(at)
                    .execute(db)
                    .await?;
                Ok(swept.rows_affected())
            }
        }
    }

    /// At a graceful stop: writes the live in-memory flows to the table, in one transaction,
    /// for the next start to take back. Returns how many were saved.
    pub async fn save(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let Kind::Memory(flows) = &self.0 else {
            return Ok(0);
        };
        let at = now();
        let live: Vec<(String, PendingFlow)> = lock(flows)
            .drain()
            .filter(|(_, flow)| flow.expires_at > at)
            .collect();
        let mut tx = db.begin().await?;
        let mut saved = 0;
        for (state_hash, flow) in &live {
            if insert(&mut *tx, state_hash, flow).await? {
                saved += 1;
            }
        }
        tx.commit().await?;
        Ok(saved)
    }
}

const FLOW_COLUMNS: &str = "instance_id, issuer, browser_hash, nonce, pkce_verifier, return_to, \
                            expires_at, tested_by, tested_with_link";

/// The store's invariants hold between its calls, which do not panic: a poisoned lock is still
/// usable.
fn lock(flows: &Mutex<MemoryFlows>) -> MutexGuard<'_, MemoryFlows> {
    flows.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Inserts the flow unless its instance was deleted meanwhile (its callback would fail
/// anyway); returns whether it did.
async fn insert<'c>(
    db: impl Executor<'c, Database = Any>,
    state_hash: &str,
    flow: &PendingFlow,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO login_flows (state_hash, {FLOW_COLUMNS}) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
         WHERE EXISTS (SELECT 1 FROM instances WHERE id = $2)"
    ))
    .bind(state_hash)
    .bind(flow.instance.as_str())
    .bind(flow.issuer.as_str())
    .bind(&flow.browser_hash)
    .bind(&flow.nonce)
    .bind(&flow.pkce_verifier)
    .bind(flow.return_to.as_str())
    .bind(flow.expires_at)
    .bind(match &flow.tested_by {
        Some(Tester::Admin(user_id)) => Some(*user_id),
        _ => None,
    })
    .bind(match &flow.tested_by {
        Some(Tester::SetupLink(link)) => Some(link.as_str()),
        _ => None,
    })
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

fn flow_from_row(row: &sqlx::any::AnyRow) -> Result<PendingFlow, sqlx::Error> {
    let instance: String = row.try_get("instance_id")?;
    let return_to: String = row.try_get("return_to")?;
    let admin: Option<i64> = row.try_get("tested_by")?;
    let link: Option<String> = row.try_get("tested_with_link")?;
    Ok(PendingFlow {
        instance: InstanceId::parse(&instance).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        issuer: IssuerUrl::from_trusted_storage(row.try_get("issuer")?),
        browser_hash: row.try_get("browser_hash")?,
        nonce: row.try_get("nonce")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
        return_to: ReturnPath::from(return_to),
        expires_at: row.try_get("expires_at")?,
        tested_by: admin.map(Tester::Admin).or(link.map(Tester::SetupLink)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::audit::Actor;
    use crate::backend::db::{self, Location};
    use crate::backend::registry::{self, NewInstance, NewTenant, TokenAuthMethod};
    use crate::backend::vault::Vault;
    use crate::domain::{ClientSecret, TenantSlug};

    struct Node {
        db: Db,
        sign_in_db: SignInDb,
        _dir: tempfile::TempDir,
    }

    async fn sqlite_node() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let db = db::open(&Location::Sqlite(dir.path().join("orgpass.db")))
            .await
            .unwrap();
        let vault = Vault::from_key_file(&dir.path().join("master.keys"), true).unwrap();
        let tenant = NewTenant {
            slug: TenantSlug::parse("acme").unwrap(),
            display_name: "Acme".to_owned(),
            domains: Vec::new(),
        };
        registry::add_tenant(&db, tenant, &Actor::Operator)
            .await
            .unwrap();
        let instance = NewInstance {
            id: Some(InstanceId::parse("acme-okta").unwrap()),
            tenant: TenantSlug::parse("acme").unwrap(),
            label: "Okta".to_owned(),
            issuer: IssuerUrl::from_trusted_storage("https://acme.okta.com".to_owned()),
            client_id: "0oa1".to_owned(),
            client_secret: ClientSecret::new("a-client-secret-of-forty-characters-long".to_owned())
                .unwrap(),
            token_auth_method: TokenAuthMethod::ClientSecretBasic,
            extra_redirect_uris: Vec::new(),
            post_logout_uri: None,
            enabled: true,
        };
        registry::add_instance(&db, &vault, instance, &Actor::Operator)
            .await
            .unwrap();
        let sign_in_db = SignInDb::open(&db).await.unwrap();
        Node {
            db,
            sign_in_db,
            _dir: dir,
        }
    }

    fn flow(expires_at: i64) -> PendingFlow {
        PendingFlow {
            instance: InstanceId::parse("acme-okta").unwrap(),
            issuer: IssuerUrl::from_trusted_storage("https://acme.okta.com".to_owned()),
            browser_hash: digest("browser"),
            nonce: "nonce".to_owned(),
            pkce_verifier: "verifier".to_owned(),
            return_to: ReturnPath::from("/after".to_owned()),
            expires_at,
            tested_by: None,
        }
    }

    async fn take(node: &Node, store: &FlowStore, state: &str) -> Option<PendingFlow> {
        let mut conn = node.sign_in_db.acquire().await.unwrap();
        store.take(&mut conn, state).await.unwrap()
    }

    #[tokio::test]
    async fn a_flow_is_taken_once_then_never_again() {
        let node = sqlite_node().await;
        let store = FlowStore::open(&node.db).await.unwrap();
        store
            .store(&node.sign_in_db, "state-1", flow(now() + 600))
            .await
            .unwrap();

        let first = take(&node, &store, "state-1").await;

        assert_eq!(first.map(|f| f.nonce).as_deref(), Some("nonce"));
        assert!(take(&node, &store, "state-1").await.is_none());
        assert!(take(&node, &store, "never-stored").await.is_none());
    }

    #[tokio::test]
    async fn an_expired_flow_is_refused_and_only_live_ones_outlast_a_sweep() {
        let node = sqlite_node().await;
        let store = FlowStore::open(&node.db).await.unwrap();
        for (state, expires_at) in [
            ("old-1", now() - 60),
            ("old-2", now() - 1),
            ("live", now() + 600),
        ] {
            store
                .store(&node.sign_in_db, state, flow(expires_at))
                .await
                .unwrap();
        }

        assert!(take(&node, &store, "old-1").await.is_none());
        store.sweep_expired(&node.db).await.unwrap();
        assert_eq!(store.pending(&node.db).await.unwrap(), 1);
        assert!(take(&node, &store, "live").await.is_some());
    }

    #[tokio::test]
    async fn flows_saved_at_a_graceful_stop_are_taken_back_by_the_next_start() {
        let node = sqlite_node().await;
        let before_restart = FlowStore::open(&node.db).await.unwrap();
        before_restart
            .store(&node.sign_in_db, "live", flow(now() + 600))
            .await
            .unwrap();
        before_restart
            .store(&node.sign_in_db, "expired", flow(now() - 1))
            .await
            .unwrap();
        let of_a_deleted_instance = PendingFlow {
            instance: InstanceId::parse("deleted-okta").unwrap(),
            ..flow(now() + 600)
        };
        before_restart
            .store(&node.sign_in_db, "orphan", of_a_deleted_instance)
            .await
            .unwrap();

        assert_eq!(before_restart.save(&node.db).await.unwrap(), 1);
        let after_restart = FlowStore::open(&node.db).await.unwrap();

        assert!(take(&node, &after_restart, "live").await.is_some());
        let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM login_flows")
            .fetch_one(&node.db)
            .await
            .unwrap()
            .get("n");
        assert_eq!(
            left, 0,
            "the table is emptied once the flows are back in memory"
        );
    }

    #[tokio::test]
    async fn a_full_store_drops_expired_flows_to_make_room_and_otherwise_refuses() {
        let node = sqlite_node().await;
        let store = FlowStore::open_with_capacity(&node.db, 2).await.unwrap();
        for (state, expires_at) in [("expired", now() - 1), ("live", now() + 600)] {
            store
                .store(&node.sign_in_db, state, flow(expires_at))
                .await
                .unwrap();
        }

        let in_place_of_the_expired = store
            .store(&node.sign_in_db, "new", flow(now() + 600))
            .await;
        let beyond_capacity = store
            .store(&node.sign_in_db, "one-more", flow(now() + 600))
            .await;

        assert!(in_place_of_the_expired.is_ok());
        assert!(matches!(beyond_capacity, Err(FlowError::Full)));
        assert!(take(&node, &store, "live").await.is_some());
        assert!(take(&node, &store, "new").await.is_some());
    }
}
