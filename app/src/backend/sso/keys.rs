//! Signing keys per `jwks_uri`, shared by every instance of that issuer.
//!
//! - Keys are resolved by `kid`. An unknown `kid` triggers one forced refetch: concurrent misses
//!   wait for the same fetch (single flight), forced refetches are at most one per
//!   [`REFETCH_COOLDOWN`] per key set, and a `kid` still unknown after a refetch is remembered
//!   for [`UNKNOWN_KID_TTL`], so a flood of forged tokens cannot hammer the IdP.
//! - The set is reused for its `Cache-Control` lifetime, refreshed in the background when it is
//!   nearly due, and kept when a refresh fails.
//! - Keys of unknown types or with unusable parameters are skipped, not fatal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::cache_control;

pub(super) const REFETCH_COOLDOWN: Duration = Duration::from_secs(30);
const UNKNOWN_KID_TTL: Duration = Duration::from_secs(60);
/// Bounds the negative cache, so forged kids cannot grow memory without limit.
const UNKNOWN_KID_LIMIT: usize = 1024;

/// One usable public key.
pub struct VerificationKey {
    kid: Option<String>,
    /// The `alg` the JWK pins, if any.
    alg: Option<Algorithm>,
    pub(super) key: DecodingKey,
}

impl VerificationKey {
    /// A signature key from one JWK, or `None` for anything else (encryption keys, unknown key
    /// types, symmetric keys, malformed parameters): such keys are skipped, not fatal.
    pub fn from_jwk(raw: &serde_json::Value) -> Option<Arc<Self>> {
        let jwk: Jwk = serde_json::from_value(raw.clone()).ok()?;
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            return None;
        }
        let alg = match raw.get("alg").and_then(serde_json::Value::as_str) {
            Some(name) => Some(name.parse::<Algorithm>().ok()?),
            None => None,
        };
        let key = DecodingKey::from_jwk(&jwk).ok()?;
        if key.family() == jsonwebtoken::AlgorithmFamily::Hmac {
            return None;
        }
        Some(Arc::new(Self {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        }))
    }

    /// Whether this key may verify a token signed with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.alg.is_none_or(|pinned| pinned == alg) && self.key.family() == alg.family()
    }
}

struct KeySet {
    keys: Vec<Arc<VerificationKey>>,
    fetched_at: Instant,
    ttl: Duration,
}

impl KeySet {
    fn matching(&self, kid: Option<&str>) -> Vec<Arc<VerificationKey>> {
        self.keys
            .iter()
            .filter(|key| kid.is_none_or(|kid| key.kid.as_deref() == Some(kid)))
            .cloned()
            .collect()
    }

    fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.ttl
    }

    /// Past 80 % of its lifetime: worth refreshing before anyone has to wait for it.
    fn is_nearly_due(&self) -> bool {
        self.fetched_at.elapsed() > self.ttl.mul_f32(0.8)
    }
}

#[derive(Default)]
struct FetchState {
    last_forced: Option<Instant>,
    unknown_kids: HashMap<String, Instant>,
}

#[derive(Default)]
struct Entry {
    current: RwLock<Option<Arc<KeySet>>>,
    /// Held while fetching: the single flight.
    fetch: tokio::sync::Mutex<FetchState>,
}

impl Entry {
    fn current(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, set: KeySet) -> Arc<KeySet> {
        let set = Arc::new(set);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&set));
        set
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum KeyError {
    #[error("no published key matches kid {0:?}")]
    Unknown(Option<String>),
    #[error("the keys could not be fetched: {0}")]
    Unavailable(String),
}

pub struct KeyCache {
    http: reqwest::Client,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

impl KeyCache {
    pub(super) fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, jwks_uri: &str) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(entries.entry(jwks_uri.to_owned()).or_default())
    }

    /// The keys that may have signed a token with this `kid` (all keys when it has none).
    pub(super) async fn resolve(
        &self,
        jwks_uri: &str,
        kid: Option<&str>,
    ) -> Result<Vec<Arc<VerificationKey>>, KeyError> {
        let entry = self.entry(jwks_uri);
        let seen = entry.current();
        if let Some(set) = seen.as_ref().filter(|set| set.is_fresh()) {
            if set.is_nearly_due() {
                self.refresh_in_background(jwks_uri, &entry);
            }
            let keys = set.matching(kid);
            if !keys.is_empty() {
                return Ok(keys);
            }
        }

        let mut state = entry.fetch.lock().await;
        // Someone else may have fetched while we waited for the lock.
        let now_current = entry.current();
        let changed = match (&seen, &now_current) {
            (Some(before), Some(after)) => !Arc::ptr_eq(before, after),
            (None, Some(_)) => true,
            _ => false,
        };
        if let Some(set) = now_current.as_ref().filter(|set| set.is_fresh()) {
            let keys = set.matching(kid);
            if !keys.is_empty() {
                return Ok(keys);
            }
            if changed {
                return Err(KeyError::Unknown(kid.map(str::to_owned)));
            }
        }
        let stale = now_current.as_ref().is_some_and(|set| !set.is_fresh());
        if !stale && now_current.is_some() {
            // A fresh set without this kid: a forced refetch, within limits.
            let kid_text = kid.unwrap_or_default();
            let recently_unknown = state
                .unknown_kids
                .get(kid_text)
                .is_some_and(|at| at.elapsed() < UNKNOWN_KID_TTL);
            let cooling_down = state
                .last_forced
                .is_some_and(|at| at.elapsed() < REFETCH_COOLDOWN);
            if recently_unknown || cooling_down {
                return Err(KeyError::Unknown(kid.map(str::to_owned)));
            }
            state.last_forced = Some(Instant::now());
        }
        let set = match fetch(&self.http, jwks_uri).await {
            Ok(set) => entry.replace(set),
            // Stale-if-error: keep verifying with the last good keys.
            Err(error) => match now_current {
                Some(old) => {
                    tracing::warn!(%jwks_uri, %error, "key refresh failed; keeping the cached keys");
                    old
                }
                None => return Err(KeyError::Unavailable(error)),
            },
        };
        let keys = set.matching(kid);
        if keys.is_empty() {
            if state.unknown_kids.len() >= UNKNOWN_KID_LIMIT {
                state
                    .unknown_kids
                    .retain(|_, at| at.elapsed() < UNKNOWN_KID_TTL);
            }
            if state.unknown_kids.len() < UNKNOWN_KID_LIMIT {
                state
                    .unknown_kids
                    .insert(kid.unwrap_or_default().to_owned(), Instant::now());
            }
            return Err(KeyError::Unknown(kid.map(str::to_owned)));
        }
        Ok(keys)
    }

    fn refresh_in_background(&self, jwks_uri: &str, entry: &Arc<Entry>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let entry = Arc::clone(entry);
        let http = self.http.clone();
        let jwks_uri = jwks_uri.to_owned();
        handle.spawn(async move {
            // Skip if a fetch is already running: that one will bring the new keys.
            let Ok(_state) = entry.fetch.try_lock() else {
                return;
            };
            if entry.current().is_some_and(|set| !set.is_nearly_due()) {
                return;
            }
            match fetch(&http, &jwks_uri).await {
                Ok(set) => {
                    entry.replace(set);
                }
                Err(error) => tracing::warn!(%jwks_uri, %error, "background key refresh failed"),
            }
        });
    }
}

async fn fetch(http: &reqwest::Client, jwks_uri: &str) -> Result<KeySet, String> {
    let response = http
        .get(jwks_uri)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let ttl = cache_control::ttl(
        response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok()),
    );
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    let keys = body
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("the document has no \"keys\" array")?
        .iter()
        .filter_map(VerificationKey::from_jwk)
        .collect();
    Ok(KeySet {
        keys,
        fetched_at: Instant::now(),
        ttl,
    })
}
