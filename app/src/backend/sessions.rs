//! Signed-in browsers: a random token in an HttpOnly cookie, its digest in the `sessions` table.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::{AnyConnection, Row};

use super::db::{Db, now};
use super::tokens::{digest, random_token};
use crate::api::SessionView;
use crate::domain::{InstanceId, IssuerUrl};

/// The cookie value of a session. Not `Serialize`, not `Debug`.
pub struct SessionToken(SecretString);

impl SessionToken {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Who the ID token says signed in, after every check passed.
pub struct VerifiedIdentity {
    pub instance: InstanceId,
    pub issuer: IssuerUrl,
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Records the user (keyed on instance, issuer and sub) and opens a session, in one round trip
/// to the database: a data-modifying `WITH` on PostgreSQL; two statements in one call on
/// SQLite, which has no such `WITH`.
///
/// On SQLite each of the two statements commits on its own. The state between them (the user
/// recorded, no new session) is one that signing out produces anyway; a transaction would
/// cost two more round trips on the busiest path of the server, and could be left open if the
/// request were dropped between its statements.
pub async fn sign_in(
    conn: &mut AnyConnection,
    identity: &VerifiedIdentity,
    ttl: Duration,
) -> Result<SessionToken, sqlx::Error> {
    const UPSERT_USER: &str = "INSERT INTO users \
        (instance_id, issuer, sub, name, email, created_at, last_login_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $6) \
        ON CONFLICT (instance_id, issuer, sub) DO UPDATE SET \
        name = excluded.name, email = excluded.email, last_login_at = excluded.last_login_at";
    let sql = if conn.backend_name() == "SQLite" {
        format!(
            "{UPSERT_USER}; INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             SELECT $7, id, $6, $8 FROM users WHERE instance_id = $1 AND issuer = $2 AND sub = $3"
        )
    } else {
        format!(
            "WITH u AS ({UPSERT_USER} RETURNING id) \
             INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             SELECT $7, id, $6, $8 FROM u"
        )
    };
    let at = now();
    let token = random_token();
    let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    sqlx::query(&sql)
        .bind(identity.instance.as_str())
        .bind(identity.issuer.as_str())
        .bind(&identity.sub)
        .bind(&identity.name)
        .bind(&identity.email)
        .bind(at)
        .bind(digest(&token))
        .bind(at.saturating_add(ttl_secs))
        .execute(conn)
        .await?;
    Ok(SessionToken(SecretString::from(token)))
}

/// The signed-in user behind a session token, if the session exists and has not expired.
pub async fn find(db: &Db, token: &str) -> Result<Option<SessionView>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.slug, t.display_name, i.id, i.label, u.issuer, u.sub, u.name, u.email \
         FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         JOIN instances i ON i.id = u.instance_id \
         JOIN tenants t ON t.slug = i.tenant_slug \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND i.enabled = 1 AND t.status = 'active'",
    )
    .bind(digest(token))
    .bind(now())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(SessionView {
            tenant: row.try_get("slug")?,
            tenant_name: row.try_get("display_name")?,
            instance_id: row.try_get("id")?,
            instance_label: row.try_get("label")?,
            issuer: row.try_get("issuer")?,
            sub: row.try_get("sub")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
        })
    })
    .transpose()
}

/// Ends one session; ending an unknown one is not an error (sign-out is idempotent).
pub async fn end(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(digest(token))
        .execute(db)
        .await?;
    Ok(())
}
