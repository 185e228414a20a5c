//! Okta's Universal Logout (Global Token Revocation, draft-parecki-oauth-global-token-revocation):
//! `POST /sso/{instance}/global-token-revocation`, authenticated by a JWT that the instance's
//! issuer signed for this endpoint, ends every session of one user in that instance only.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use super::provider::TokenError;
use crate::backend::AppState;
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::now;
use crate::backend::registry::{self, Instance, RegistryError};
use crate::backend::sessions::{self, Subject};
use crate::domain::InstanceId;

/// Requests per instance: Okta sends one per user it logs out, so a burst of a whole team is
/// normal; a flood beyond that is refused before any signature is checked.
pub type RevocationLimiter = DefaultKeyedRateLimiter<InstanceId>;

const PER_SECOND: NonZeroU32 = NonZeroU32::new(20).expect("non-zero");
const BURST: NonZeroU32 = NonZeroU32::new(200).expect("non-zero");

pub fn limiter() -> RevocationLimiter {
    RateLimiter::keyed(Quota::per_second(PER_SECOND).allow_burst(BURST))
}

/// Why a Universal Logout request was not carried out. Okta reads only the status.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// No such instance (404).
    #[error("unknown instance")]
    UnknownInstance,
    /// Too many requests for this instance (429 with `Retry-After`).
    #[error("rate limited; retry in {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// No bearer token, or one that failed a check: signature, `kid`, `iss`, `sub`, `aud`,
    /// times (401 with `WWW-Authenticate: Bearer`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token's `jti` was used before (401).
    #[error("replayed token (jti already used)")]
    Replayed,
    /// The body is not `{"sub_id": {...}}` (400).
    #[error("malformed request body: {0}")]
    Malformed(String),
    /// A `sub_id` format other than `iss_sub` and `email` (400).
    #[error("unsupported subject identifier format '{0}'")]
    UnsupportedFormat(String),
    /// Nobody with that identifier ever signed in through this instance (404).
    #[error("no such user in this instance")]
    UnknownSubject,
    /// An `iss_sub` whose `iss` is not the instance's issuer (422).
    #[error("the subject belongs to another issuer")]
    ForeignIssuer,
    /// The issuer's discovery or keys could not be fetched (503).
    #[error("identity provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// Storage failed (500).
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The registry could not be read (500).
    #[error("registry error")]
    Registry(#[from] RegistryError),
}

/// The request body: `{"sub_id": {"format": "iss_sub", "iss": …, "sub": …}}` or
/// `{"sub_id": {"format": "email", "email": …}}` (RFC 9493 subject identifiers).
#[derive(Deserialize)]
struct RevocationRequest {
    sub_id: SubjectIdentifier,
}

#[derive(Deserialize)]
struct SubjectIdentifier {
    format: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Authenticates the request, then ends the sessions of the user it names in `instance`.
/// Returns how many sessions ended.
pub async fn revoke(
    app: &AppState,
    instance: &InstanceId,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<u64, RevocationError> {
    let instance = registry::find_instance(&app.db, instance)
        .await?
        .ok_or(RevocationError::UnknownInstance)?;
    if let Err(not_until) = app.revocation_limiter.check_key(&instance.id) {
        return Err(RevocationError::RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        });
    }
    let token = authorization
        .and_then(bearer_token)
        .ok_or_else(|| RevocationError::InvalidToken("no bearer token".into()))?;
    let provider = app
        .providers
        .provider(&instance.issuer)
        .await
        .map_err(|error| RevocationError::ProviderUnavailable(error.to_string()))?;
    let claims = provider
        .verify_revocation_token(
            token,
            &instance.client_id,
            &app.settings
                .public_url
                .global_token_revocation_url(&instance.id),
            app.settings.clock_leeway.as_secs(),
            now(),
        )
        .await
        .map_err(|error| match error {
            TokenError::KeysUnavailable(why) => RevocationError::ProviderUnavailable(why),
            invalid => RevocationError::InvalidToken(invalid.to_string()),
        })?;
    let request: RevocationRequest = serde_json::from_slice(body)
        .map_err(|error| RevocationError::Malformed(error.to_string()))?;
    let subject = subject(&request.sub_id, &instance)?;

    let mut tx = app.db.begin().await?;
    let first_use = sqlx::query(
        "INSERT INTO revocation_jtis (instance_id, jti, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (instance_id, jti) DO NOTHING",
    )
    .bind(instance.id.as_str())
    .bind(&claims.jti)
    .bind(claims.exp)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first_use {
        return Err(RevocationError::Replayed);
    }
    let ended = sessions::end_for_subject(&mut tx, &instance.id, &subject).await?;
    audit::record(
        &mut tx,
        Event {
            actor: &Actor::IdentityProvider,
            action: "session.universal_logout",
            tenant: Some(&instance.tenant),
            instance: Some(&instance.id),
            succeeded: ended.is_some(),
            detail: match &ended {
                Some(ended) => format!("{}: {} session(s) ended", describe(&subject), ended.count),
                None => format!("{}: no such user", describe(&subject)),
            },
        },
    )
    .await?;
    tx.commit().await?;
    let ended = ended.ok_or(RevocationError::UnknownSubject)?;
    app.sessions.forget(&ended);
    Ok(ended.count)
}

/// Deletes the used token ids whose tokens have expired (and would be refused anyway).
pub async fn sweep_used_token_ids(db: &crate::backend::db::Db) -> Result<u64, sqlx::Error> {
    let swept = sqlx::query("DELETE FROM revocation_jtis WHERE expires_at < $1")
        .bind(now() - MAX_LEEWAY_SECS)
        .execute(db)
        .await?
        .rows_affected();
    Ok(swept)
}

/// Kept past `exp` by more than any configured clock leeway would accept.
const MAX_LEEWAY_SECS: i64 = 3600;

fn subject<'r>(
    sub_id: &'r SubjectIdentifier,
    instance: &'r Instance,
) -> Result<Subject<'r>, RevocationError> {
    let missing = |member| RevocationError::Malformed(format!("sub_id has no {member}"));
    match sub_id.format.as_str() {
        "iss_sub" => {
            let iss = sub_id.iss.as_deref().ok_or_else(|| missing("iss"))?;
            let sub = sub_id.sub.as_deref().ok_or_else(|| missing("sub"))?;
            if iss.trim_end_matches('/') != instance.issuer.as_str() {
                return Err(RevocationError::ForeignIssuer);
            }
            Ok(Subject::IssuerSubject {
                issuer: instance.issuer.as_str(),
                sub,
            })
        }
        "email" => Ok(Subject::Email(
            sub_id.email.as_deref().ok_or_else(|| missing("email"))?,
        )),
        other => Err(RevocationError::UnsupportedFormat(
            other.chars().take(40).collect(),
        )),
    }
}

fn describe(subject: &Subject<'_>) -> String {
    match subject {
        Subject::IssuerSubject { sub, .. } => format!("sub {sub}"),
        Subject::Email(email) => format!("email {email}"),
    }
}

/// `Bearer <token>`, the scheme case-insensitive (RFC 6750 §2.1).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn only_a_bearer_authorization_carries_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
