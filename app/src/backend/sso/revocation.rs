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

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Map, Value, json};

        use super::super::{RevocationError, RevocationRequest, bearer_token, subject};
        use crate::backend::registry::{Instance, TokenAuthMethod};
        use crate::backend::sessions::Subject;
        use crate::domain::{InstanceId, IssuerUrl, TenantSlug};

        const ISSUER: &str = "https://acme.okta.com";

        fn instance() -> Instance {
            Instance {
                id: InstanceId::parse("acme-okta").expect("a valid id"),
                tenant: TenantSlug::parse("acme").expect("a valid slug"),
                label: "Acme".to_owned(),
                issuer: IssuerUrl::from_trusted_storage(ISSUER.to_owned()),
                client_id: "0oa-client".to_owned(),
                token_auth_method: TokenAuthMethod::default(),
                enabled: true,
                working_secret: None,
                extra_redirect_uris: Vec::new(),
                post_logout_uri: None,
                clock_skew: None,
                created_at: 0,
                updated_at: 0,
            }
        }

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<String>().prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(any::<String>(), inner, 0..4)
                        .prop_map(|members| Value::Object(members.into_iter().collect())),
                ]
            })
        }

        /// Usually one of `usual` (`Null` here means absent), sometimes any JSON.
        fn member(usual: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
            prop_oneof![
                6 => prop::sample::select(usual)
                    .prop_map(|value| (!value.is_null()).then_some(value)),
                1 => Just(Some(Value::Null)),
                1 => json_value().prop_map(Some),
            ]
        }

        /// A body near Okta's: `{"sub_id": {"format", "iss", "sub", "email"}}` with arbitrary
        /// extra members, or any JSON, or any bytes.
        fn body() -> impl Strategy<Value = Vec<u8>> {
            let sub_id = (
                member(vec![
                    json!("iss_sub"),
                    json!("email"),
                    json!("opaque"),
                    json!("ISS_SUB"),
                    json!(1),
                ]),
                member(vec![
                    json!(ISSUER),
                    json!(format!("{ISSUER}//")),
                    json!("https://evil.example"),
                    Value::Null,
                ]),
                member(vec![json!("00u1ada"), json!(""), Value::Null]),
                member(vec![json!("ada@acme.com"), json!(""), Value::Null]),
                prop::collection::btree_map(any::<String>(), json_value(), 0..2),
            )
                .prop_map(|(format, iss, sub, email, extra)| {
                    let mut object: Map<String, Value> = extra.into_iter().collect();
                    for (name, value) in [
                        ("format", format),
                        ("iss", iss),
                        ("sub", sub),
                        ("email", email),
                    ] {
                        match value {
                            Some(value) => object.insert(name.to_owned(), value),
                            None => object.remove(name),
                        };
                    }
                    Value::Object(object)
                });
            prop_oneof![
                6 => (sub_id, prop::option::of(json_value())).prop_map(|(sub_id, other)| {
                    let mut body = json!({ "sub_id": sub_id });
                    if let Some(other) = other {
                        body["other"] = other;
                    }
                    body.to_string().into_bytes()
                }),
                1 => json_value().prop_map(|value| value.to_string().into_bytes()),
                1 => prop::collection::vec(any::<u8>(), 0..64),
            ]
        }

        /// What `revoke` makes of a body once the token checked out: the subject, or why not.
        fn read(body: &[u8], instance: &Instance) -> Result<String, String> {
            let request: RevocationRequest = serde_json::from_slice(body)
                .map_err(|error| RevocationError::Malformed(error.to_string()).to_string())?;
            match subject(&request.sub_id, instance) {
                Ok(Subject::IssuerSubject { issuer, sub }) => Ok(format!("{issuer} {sub}")),
                Ok(Subject::Email(email)) => Ok(format!("email {email}")),
                Err(error) => Err(error.to_string()),
            }
        }

        /// The subject RFC 9493 and the endpoint's doc comment say this body names, if any.
        fn named_subject(body: &[u8]) -> Option<String> {
            let body: Value = serde_json::from_slice(body).ok()?;
            let sub_id = body.as_object()?.get("sub_id")?.as_object()?;
            let text = |name: &str| match sub_id.get(name) {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(text)) => Some(Some(text.as_str())),
                Some(_) => None,
            };
            let (iss, sub, email) = (text("iss")?, text("sub")?, text("email")?);
            match sub_id.get("format")?.as_str()? {
                "iss_sub" if iss?.trim_end_matches('/') == ISSUER => {
                    Some(format!("{ISSUER} {}", sub?))
                }
                "email" => Some(format!("email {}", email?)),
                _ => None,
            }
        }

        proptest! {
            #[test]
            fn an_arbitrary_logout_body_never_panics_and_names_a_subject_only_when_well_formed(
                body in body(),
            ) {
                let instance = instance();
                prop_assert_eq!(read(&body, &instance).ok(), named_subject(&body));
            }

            #[test]
            fn an_arbitrary_authorization_header_never_panics_and_yields_only_a_bearer_token(
                header in prop_oneof![
                    any::<String>(),
                    "(?i:bearer)[ \t]{0,2}[A-Za-z0-9._~+/= -]{0,12}",
                ],
            ) {
                if let Some(token) = bearer_token(&header) {
                    prop_assert!(!token.is_empty() && token.trim() == token, "{:?}", token);
                    let scheme = header.get(..7);
                    prop_assert!(scheme.is_some_and(|s| s.eq_ignore_ascii_case("bearer ")));
                }
            }

            #[test]
            fn a_bearer_token_comes_back_as_it_was_sent(
                scheme in "(?i:bearer)",
                token in "[A-Za-z0-9._~+/-]{1,40}=*",
                spaces in "[ ]{0,3}",
            ) {
                let header = format!("{scheme} {spaces}{token}{spaces}");
                prop_assert_eq!(bearer_token(&header), Some(token.as_str()));
            }
        }
    }
}
