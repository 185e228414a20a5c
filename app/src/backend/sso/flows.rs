//! Pending authorization-code flows: single-use (taken with one `DELETE … RETURNING`),
//! short-lived, and stored under a digest of `state`.

use sqlx::{Any, Executor, Row};

use super::super::db::{Db, now};
use super::super::tokens::digest;
use crate::domain::{InstanceId, IssuerUrl, ReturnPath};

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
}

pub(super) async fn store(db: &Db, state: &str, flow: &PendingFlow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_flows (state_hash, instance_id, issuer, browser_hash, nonce, \
         pkce_verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(digest(state))
    .bind(flow.instance.as_str())
    .bind(flow.issuer.as_str())
    .bind(&flow.browser_hash)
    .bind(&flow.nonce)
    .bind(&flow.pkce_verifier)
    .bind(flow.return_to.as_str())
    .bind(flow.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes and returns the flow named by `state`, whatever happens next: a state is never
/// accepted twice. Expired flows are removed and reported as absent.
pub(super) async fn take<'c>(
    db: impl Executor<'c, Database = Any>,
    state: &str,
) -> Result<Option<PendingFlow>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM login_flows WHERE state_hash = $1 RETURNING instance_id, issuer, \
         browser_hash, nonce, pkce_verifier, return_to, expires_at",
    )
    .bind(digest(state))
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let instance: String = row.try_get("instance_id")?;
    let return_to: String = row.try_get("return_to")?;
    let flow = PendingFlow {
        instance: InstanceId::parse(&instance).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        issuer: IssuerUrl::from_trusted_storage(row.try_get("issuer")?),
        browser_hash: row.try_get("browser_hash")?,
        nonce: row.try_get("nonce")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
        return_to: ReturnPath::from(return_to),
        expires_at: row.try_get("expires_at")?,
    };
    Ok((flow.expires_at > now()).then_some(flow))
}

/// Deletes abandoned flows. Expired flows are refused anyway; this keeps the table small. The
/// server runs it periodically, off the request path, so a login start costs one write.
pub async fn sweep_expired(db: &Db) -> Result<u64, sqlx::Error> {
    let swept = sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
        .bind(now())
        .execute(db)
        .await?;
    Ok(swept.rows_affected())
}
