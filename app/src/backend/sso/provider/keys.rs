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
const FAILURE_BACKOFF: Duration = Duration::from_secs(30);
const UNKNOWN_KID_TTL: Duration = Duration::from_secs(60);
/// Bounds the negative cache, so forged kids cannot grow memory without limit.
const UNKNOWN_KID_LIMIT: usize = 1024;

/// One usable public key.
pub struct VerificationKey {
    kid: Option<String>,
    /// The `alg` the JWK pins, if any.
    alg: Option<Algorithm>,
    pub(in crate::backend::sso) key: DecodingKey,
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
    /// When the last fetch failed: no new attempt for [`FAILURE_BACKOFF`], so lookups queued
    /// behind a dead IdP do not each wait out a timeout.
    last_failure: Option<Instant>,
    unknown_kids: HashMap<String, Instant>,
}

impl FetchState {
    fn backing_off(&self) -> bool {
        self.last_failure
            .is_some_and(|at| at.elapsed() < FAILURE_BACKOFF)
    }
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

/// The signing keys this server holds for an issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysHealth {
    pub count: usize,
    /// `None`: no fetch ever succeeded.
    pub fetched_secs_ago: Option<u64>,
    /// The last fetch failed this long ago (cleared by a fetch that works).
    pub failed_secs_ago: Option<u64>,
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
        if state.backing_off() {
            // The IdP failed moments ago: answer from what we have rather than queue again.
            return match &now_current {
                Some(set) => match set.matching(kid) {
                    keys if keys.is_empty() => Err(KeyError::Unknown(kid.map(str::to_owned))),
                    keys => Ok(keys),
                },
                None => Err(KeyError::Unavailable(
                    "the last fetch failed; retrying later".into(),
                )),
            };
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
                metrics::counter!("orgpass_key_refetch_refusals_total").increment(1);
                return Err(KeyError::Unknown(kid.map(str::to_owned)));
            }
            metrics::counter!("orgpass_key_refetches_total").increment(1);
            state.last_forced = Some(Instant::now());
        }
        let set = match fetch(&self.http, jwks_uri).await {
            Ok(set) => {
                state.last_failure = None;
                entry.replace(set)
            }
            Err(error) => {
                state.last_failure = Some(Instant::now());
                // Stale-if-error: keep verifying with the last good keys.
                let Some(old) = now_current else {
                    return Err(KeyError::Unavailable(error));
                };
                tracing::warn!(%jwks_uri, %error, "key refresh failed; keeping the cached keys");
                old
            }
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

    /// What this cache holds for `jwks_uri`, without fetching: `None` if it never fetched it.
    pub(super) fn health(&self, jwks_uri: &str) -> Option<KeysHealth> {
        let entry = {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(entries.get(jwks_uri)?)
        };
        // A fetch in progress holds the lock: its failure, if any, shows next time.
        let failed = entry
            .fetch
            .try_lock()
            .ok()
            .and_then(|state| state.last_failure)
            .map(|at| at.elapsed().as_secs());
        let set = entry.current();
        if set.is_none() && failed.is_none() {
            return None;
        }
        Some(KeysHealth {
            count: set.as_ref().map_or(0, |set| set.keys.len()),
            fetched_secs_ago: set.as_ref().map(|set| set.fetched_at.elapsed().as_secs()),
            failed_secs_ago: failed,
        })
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
            let Ok(mut state) = entry.fetch.try_lock() else {
                return;
            };
            if state.backing_off() || entry.current().is_some_and(|set| !set.is_nearly_due()) {
                return;
            }
            match fetch(&http, &jwks_uri).await {
                Ok(set) => {
                    state.last_failure = None;
                    entry.replace(set);
                }
                Err(error) => {
                    state.last_failure = Some(Instant::now());
                    tracing::warn!(%jwks_uri, %error, "background key refresh failed");
                }
            }
        });
    }
}

async fn fetch(http: &reqwest::Client, jwks_uri: &str) -> Result<KeySet, String> {
    let (body, ttl): (serde_json::Value, _) =
        cache_control::fetch_json(http, jwks_uri, "keys").await?;
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

#[cfg(test)]
mod tests {
    //! Every test runs a real JWKS endpoint on 127.0.0.1 and counts the requests it receives.

    use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

    use axum::extract::State;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use serde_json::{Value, json};

    use super::*;

    // Test fixtures: RSA-2048 *public* keys generated once with
    // `openssl genrsa 2048 | openssl rsa -pubout`; the private halves were discarded.
    const K1: &str = r#"{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","e":"AQAB","n":"ra3uM2fO3XcbE7F5lupX9BOpUSdio9YKgqolpti8Yq-gN43EuCSmsZf1WBVZF0Z9NhenBMm5icdJ5YQ6H4wElM4OeTgB1L-B5nTMwmlEwzqLMk485XmRQAhg7BNXMVSgTlZolYntcoe0DzqKDFKYVPQtvZVs89zu1d1Egn1IS_nIikVo24ObNtM90tkL4ImMUfS428Ce66-cvBsDCTLdt0OsSdflxb7Z1rB-vpwPcyQokfST7aMvNTLIkNhas4qOrA5XaLtYHvB8QxXJI32A9lcKCur0GwPCkbYSu73F9Hu2qllBnwB4R5QjC6WuqXCECmxeo69BOf_3dmJd255wWQ"}"#;
    const K2: &str = r#"{"kty":"RSA","kid":"k2","use":"sig","alg":"RS256","e":"AQAB","n":"2xsDG3EPtGYaXNCHqQN4rvIev_ZcF2SZwuE1ckZuUs3hRk21nqPi89lqGBZM52C8jtS2VVmH1O6VG4LgNI9XqFBzd3mh2j-71QmiQ5AbRaC8Bi_tfx3susBazFpYyh1sXn_YMdKRdO07c_C4ku0AZ5CfcZoWspLJeDBrZHxct-U0SrZ6kEZ5OB_H_hqlunQuJB84QalPC9M5bxQVB6ddsRCInvDCji2PB5Q3MX619RAFSqdrh8t64Xw5fnBs0FYuMJO_EH7T7WYaiGFcli-j2F0HoL7Kp5GdZ6KxpJSqV770qcc-_qRLvHyLPRIDCsO-lzVlj35iYy9CfIIM27Bnnw"}"#;
    const K3: &str = r#"{"kty":"RSA","kid":"k3","use":"sig","alg":"RS256","e":"AQAB","n":"v2HIkdZKU9VoDkU55JKRO6l84xkkzXtkiKcSbJ6IR7cgGVaCjc72HKR1Gq1C6hdgdO8wgIlI6oWcOoIl2kOEaqxhbk2WJLew4BVRXBVeDZxiLmxfFXYgHbwwUGDew_BuIpzq5b0LwBHmymk0mzmyhbfnloOGLHoMBu0QDLLYSMQk2PqcpkfVKnA_UP5y0IQRuDflNPWaFK_4e9Z-Ui3bb96vDwo8Bj3Sk9UYQl9hrpFDIrOxBOzD7gT-aXAmD7mQJV3O_up6C_NM4PtlGj6Lt6--899iTRFmvBfAFKECypjwDWVXHnm-iLiFkd_Y317jdo6LdKx94XDJVO9RR3d1bw"}"#;

    fn jwk(text: &str) -> Value {
        serde_json::from_str(text).expect("fixture JWKs are valid JSON")
    }

    /// A fixture with some members replaced (`null` removes the member).
    fn jwk_with(text: &str, changes: &Value) -> Value {
        let mut key = jwk(text);
        let object = key.as_object_mut().expect("fixture JWKs are objects");
        for (name, value) in changes.as_object().expect("changes are an object") {
            if value.is_null() {
                object.remove(name);
            } else {
                object.insert(name.clone(), value.clone());
            }
        }
        key
    }

    /// What the fake IdP serves; tests change it between steps.
    #[derive(Default)]
    struct Idp {
        jwks: Mutex<Value>,
        /// When non-zero, every request is answered with this status.
        fail_with: AtomicU16,
        delay_ms: AtomicU64,
        cache_control: Mutex<Option<&'static str>>,
        hits: AtomicUsize,
    }

    async fn serve_keys(State(idp): State<Arc<Idp>>) -> Response {
        idp.hits.fetch_add(1, Ordering::SeqCst);
        let delay = idp.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let status = idp.fail_with.load(Ordering::SeqCst);
        if status != 0 {
            return StatusCode::from_u16(status)
                .expect("a valid status")
                .into_response();
        }
        let body = idp.jwks.lock().expect("not poisoned").clone();
        let mut response = axum::Json(body).into_response();
        if let Some(value) = *idp.cache_control.lock().expect("not poisoned") {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        }
        response
    }

    struct TestIdp {
        idp: Arc<Idp>,
        uri: String,
    }

    impl TestIdp {
        async fn start(keys: &[Value]) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a local port");
            let addr = listener.local_addr().expect("a local address");
            let idp = Arc::new(Idp::default());
            let router = axum::Router::new()
                .route("/keys", axum::routing::get(serve_keys))
                .with_state(Arc::clone(&idp));
            tokio::spawn(async move { axum::serve(listener, router).await });
            let server = Self {
                idp,
                uri: format!("http://{addr}/keys"),
            };
            server.publish(keys);
            server
        }

        fn publish(&self, keys: &[Value]) {
            *self.idp.jwks.lock().expect("not poisoned") = json!({ "keys": keys });
        }

        fn publish_raw(&self, document: Value) {
            *self.idp.jwks.lock().expect("not poisoned") = document;
        }

        fn fail_with(&self, status: u16) {
            self.idp.fail_with.store(status, Ordering::SeqCst);
        }

        fn delay(&self, delay: Duration) {
            let millis = u64::try_from(delay.as_millis()).expect("a short delay");
            self.idp.delay_ms.store(millis, Ordering::SeqCst);
        }

        fn cache_control(&self, value: Option<&'static str>) {
            *self.idp.cache_control.lock().expect("not poisoned") = value;
        }

        fn hits(&self) -> usize {
            self.idp.hits.load(Ordering::SeqCst)
        }
    }

    fn new_cache() -> Arc<KeyCache> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Arc::new(KeyCache::new(http))
    }

    /// A lookup's result for failure messages (keys have no `Debug`).
    fn outcome(result: &Result<Vec<Arc<VerificationKey>>, KeyError>) -> String {
        match result {
            Ok(keys) => format!("Ok({} keys)", keys.len()),
            Err(error) => format!("Err({error:?})"),
        }
    }

    /// White box: makes the cached set for `uri` look `age` old, so lifetimes can be tested
    /// without sleeping for minutes.
    fn age_cached_set(cache: &KeyCache, uri: &str, age: Duration) {
        let entry = cache.entry(uri);
        let set = entry.current().expect("a cached set");
        entry.replace(KeySet {
            keys: set.keys.clone(),
            fetched_at: Instant::now()
                .checked_sub(age)
                .expect("the monotonic clock reaches back that far"),
            ttl: set.ttl,
        });
    }

    fn cached_ttl(cache: &KeyCache, uri: &str) -> Duration {
        cache.entry(uri).current().expect("a cached set").ttl
    }

    /// White box: makes the last failed fetch look older than the failure backoff.
    async fn outlive_failure_backoff(cache: &KeyCache, uri: &str) {
        let entry = cache.entry(uri);
        let mut state = entry.fetch.lock().await;
        let last = state.last_failure.expect("a fetch failed");
        state.last_failure = Some(
            last.checked_sub(FAILURE_BACKOFF)
                .expect("the clock reaches back"),
        );
    }

    /// White box: makes the last forced refetch look `age` old.
    async fn age_last_forced_refetch(cache: &KeyCache, uri: &str, age: Duration) {
        let entry = cache.entry(uri);
        let mut state = entry.fetch.lock().await;
        let last = state.last_forced.expect("a forced refetch happened");
        state.last_forced = Some(last.checked_sub(age).expect("the clock reaches back"));
    }

    async fn wait_for_hits(server: &TestIdp, expected: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.hits() < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn the_fixtures_are_usable_signature_keys() {
        for fixture in [K1, K2, K3] {
            let key = VerificationKey::from_jwk(&jwk(fixture)).expect("an RSA signature key");
            assert!(key.fits(Algorithm::RS256));
            assert!(!key.fits(Algorithm::PS256), "the JWK pins RS256");
            assert!(!key.fits(Algorithm::ES256));
        }
    }

    #[tokio::test]
    async fn a_known_kid_is_served_from_cache_without_refetching() {
        let server = TestIdp::start(&[jwk(K1), jwk(K2)]).await;
        let cache = new_cache();

        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(server.hits(), 1);
        for i in 0..100 {
            let kid = if i % 2 == 0 { "k1" } else { "k2" };
            assert_eq!(
                cache.resolve(&server.uri, Some(kid)).await.unwrap().len(),
                1
            );
        }
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 2);
        assert_eq!(server.hits(), 1, "cached keys must not be refetched");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_rotation_a_thousand_concurrent_lookups_of_the_new_kid_cause_exactly_one_fetch()
    {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();
        assert_eq!(server.hits(), 1);

        server.publish(&[jwk(K1), jwk(K2)]);
        // Slow enough that every lookup arrives while the one fetch is in flight.
        server.delay(Duration::from_millis(50));
        let lookups: Vec<_> = (0..1000)
            .map(|_| {
                let cache = Arc::clone(&cache);
                let uri = server.uri.clone();
                tokio::spawn(async move { cache.resolve(&uri, Some("k2")).await })
            })
            .collect();
        for lookup in lookups {
            let keys = lookup.await.expect("no panic").expect("k2 is published");
            assert_eq!(keys.len(), 1);
        }
        assert_eq!(server.hits(), 2, "exactly one refetch for the rotation");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_lookups_share_the_first_fetch() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        server.delay(Duration::from_millis(50));
        let cache = new_cache();
        let lookups: Vec<_> = (0..400)
            .map(|i| {
                let cache = Arc::clone(&cache);
                let uri = server.uri.clone();
                let kid = if i % 2 == 0 {
                    "k1".to_owned()
                } else {
                    format!("forged-{i}")
                };
                tokio::spawn(async move { (i, cache.resolve(&uri, Some(&kid)).await) })
            })
            .collect();
        for lookup in lookups {
            let (i, result) = lookup.await.expect("no panic");
            if i % 2 == 0 {
                assert_eq!(result.expect("k1 is published").len(), 1);
            } else {
                assert!(
                    matches!(result, Err(KeyError::Unknown(_))),
                    "{}",
                    outcome(&result)
                );
            }
        }
        assert_eq!(server.hits(), 1, "the waiters reuse the first fetch");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ten_thousand_random_unknown_kids_cause_at_most_one_fetch_per_cooldown() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();
        assert_eq!(server.hits(), 1);

        for _batch in 0..10 {
            let lookups: Vec<_> = (0..1000)
                .map(|_| {
                    let cache = Arc::clone(&cache);
                    let uri = server.uri.clone();
                    let kid = format!("forged-{:016x}", rand::random::<u64>());
                    tokio::spawn(async move { cache.resolve(&uri, Some(&kid)).await })
                })
                .collect();
            for lookup in lookups {
                let result = lookup.await.expect("no panic");
                assert!(
                    matches!(result, Err(KeyError::Unknown(Some(_)))),
                    "a forged kid must be unknown"
                );
            }
        }
        assert!(
            server.hits() <= 2,
            "at most one forced refetch per cooldown, got {} fetches",
            server.hits() - 1
        );
        // The genuine key is still served.
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn an_unknown_kid_seen_twice_within_the_cooldown_is_refused_without_a_fetch() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();

        let first = cache.resolve(&server.uri, Some("nope")).await;
        assert!(matches!(first, Err(KeyError::Unknown(Some(ref kid))) if kid == "nope"));
        assert_eq!(server.hits(), 2, "the first miss forces one refetch");

        let second = cache.resolve(&server.uri, Some("nope")).await;
        assert!(matches!(second, Err(KeyError::Unknown(Some(_)))));
        assert_eq!(
            server.hits(),
            2,
            "the second miss is refused without a fetch"
        );
    }

    #[tokio::test]
    async fn an_unknown_kid_stays_refused_after_the_cooldown_while_a_new_kid_may_refetch() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();
        assert!(cache.resolve(&server.uri, Some("nope")).await.is_err());
        assert_eq!(server.hits(), 2);

        // The cooldown is over, but "nope" is still in the negative cache.
        age_last_forced_refetch(
            &cache,
            &server.uri,
            REFETCH_COOLDOWN + Duration::from_secs(1),
        )
        .await;
        server.publish(&[jwk(K1), jwk(K2)]);
        let again = cache.resolve(&server.uri, Some("nope")).await;
        assert!(matches!(again, Err(KeyError::Unknown(_))));
        assert_eq!(server.hits(), 2, "a remembered unknown kid causes no fetch");

        // Another kid may force a refetch now, and finds the rotated key.
        assert_eq!(
            cache.resolve(&server.uri, Some("k2")).await.unwrap().len(),
            1
        );
        assert_eq!(server.hits(), 3);
    }

    #[tokio::test]
    async fn when_the_key_endpoint_is_down_cached_keys_keep_verifying() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();

        server.fail_with(500);
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        let unknown = cache.resolve(&server.uri, Some("k9")).await;
        assert!(
            matches!(unknown, Err(KeyError::Unknown(Some(_)))),
            "{}",
            outcome(&unknown)
        );
        assert_eq!(server.hits(), 2, "one forced refetch, which failed");
        // The failed refetch kept the cached keys.
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 1);

        // Past their lifetime, with the endpoint still down: stale-if-error.
        age_cached_set(
            &cache,
            &server.uri,
            cache_control::MIN_TTL + Duration::from_secs(1),
        );
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(
            server.hits(),
            2,
            "no new attempt within the failure backoff"
        );

        outlive_failure_backoff(&cache, &server.uri).await;
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(
            server.hits(),
            3,
            "after the backoff the stale set is refetched, and kept"
        );
    }

    #[tokio::test]
    async fn the_first_fetch_failing_is_reported_as_unavailable() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        server.fail_with(503);
        let cache = new_cache();
        let result = cache.resolve(&server.uri, Some("k1")).await;
        assert!(
            matches!(result, Err(KeyError::Unavailable(_))),
            "{}",
            outcome(&result)
        );
        assert_eq!(server.hits(), 1);

        // Nothing bad was cached: once the endpoint is back (and the backoff over), the keys
        // are fetched.
        server.fail_with(0);
        outlive_failure_backoff(&cache, &server.uri).await;
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(server.hits(), 2);

        // A document without a "keys" array is unavailable too, not an empty key set.
        let other = TestIdp::start(&[]).await;
        other.publish_raw(json!({ "issuer": "https://idp.example" }));
        let result = new_cache().resolve(&other.uri, None).await;
        assert!(
            matches!(result, Err(KeyError::Unavailable(_))),
            "{}",
            outcome(&result)
        );
    }

    #[tokio::test]
    async fn keys_of_unknown_types_are_skipped_and_the_rest_are_used() {
        let x448 = json!({
            "kty": "OKP", "crv": "X448", "kid": "x448",
            "x": "mwj3zDG34-Z9ItWuoSEHSic70rg94Jxj-qc9LCLF2bvINmRyQdlT1AxbEtqIEg1TF3-A5TLEH6A",
        });
        let hmac =
            json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" });
        let encryption = jwk_with(K2, &json!({ "kid": "enc", "use": "enc" }));
        let oaep = jwk_with(
            K3,
            &json!({ "kid": "oaep", "use": null, "alg": "RSA-OAEP" }),
        );
        let garbage = json!({ "hello": "world" });
        let server = TestIdp::start(&[
            x448,
            hmac,
            encryption,
            oaep,
            garbage,
            json!(42),
            json!("text"),
            jwk(K1),
        ])
        .await;
        let cache = new_cache();

        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 1);
        for kid in ["x448", "hmac", "enc", "oaep"] {
            let result = cache.resolve(&server.uri, Some(kid)).await;
            assert!(
                matches!(result, Err(KeyError::Unknown(_))),
                "{kid} must not be usable"
            );
        }
    }

    #[tokio::test]
    async fn a_token_without_kid_gets_every_usable_key() {
        let server = TestIdp::start(&[
            jwk_with(K1, &json!({ "kid": null })),
            jwk_with(K2, &json!({ "kid": null })),
        ])
        .await;
        let cache = new_cache();
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 2);
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 2);
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn cache_control_sets_the_lifetime_within_bounds() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        for (header, expected) in [
            (Some("public, max-age=3600"), Duration::from_secs(3600)),
            (Some("no-cache"), cache_control::MIN_TTL),
            (Some("max-age=9999999"), cache_control::MAX_TTL),
            (None, cache_control::MIN_TTL),
        ] {
            server.cache_control(header);
            let cache = new_cache();
            cache.resolve(&server.uri, Some("k1")).await.unwrap();
            assert_eq!(cached_ttl(&cache, &server.uri), expected, "{header:?}");
        }
    }

    #[tokio::test]
    async fn stale_keys_are_refetched_after_their_cache_lifetime() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();
        assert_eq!(server.hits(), 1);

        server.publish(&[jwk(K1), jwk(K2)]);
        age_cached_set(
            &cache,
            &server.uri,
            cache_control::MIN_TTL + Duration::from_secs(1),
        );
        // k1 is cached, but its set is past its lifetime: fetched again before answering.
        assert_eq!(
            cache.resolve(&server.uri, Some("k1")).await.unwrap().len(),
            1
        );
        assert_eq!(server.hits(), 2);
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 2);
        assert_eq!(server.hits(), 2, "the new set is fresh");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_nearly_due_set_is_refreshed_in_the_background() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();

        server.publish(&[jwk(K1), jwk(K2)]);
        // 85 % of the lifetime: still served from cache, but a refresh starts.
        age_cached_set(&cache, &server.uri, cache_control::MIN_TTL.mul_f32(0.85));
        server.delay(Duration::from_millis(200));
        let started = Instant::now();
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 1);
        assert!(
            started.elapsed() < Duration::from_millis(150),
            "the lookup must not wait for the refresh"
        );
        wait_for_hits(&server, 2).await;
        assert_eq!(server.hits(), 2);
        // Once the refresh has landed, the new set is served.
        let deadline = Instant::now() + Duration::from_secs(5);
        while cache
            .entry(&server.uri)
            .current()
            .expect("cached")
            .keys
            .len()
            < 2
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(cache.resolve(&server.uri, None).await.unwrap().len(), 2);
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_set_with_the_endpoint_down_is_not_refetched_on_every_lookup() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        let cache = new_cache();
        cache.resolve(&server.uri, Some("k1")).await.unwrap();

        server.fail_with(500);
        age_cached_set(
            &cache,
            &server.uri,
            cache_control::MIN_TTL + Duration::from_secs(1),
        );
        for kid in ["k1", "k1", "forged-1", "forged-2", "k1"] {
            let _ = cache.resolve(&server.uri, Some(kid)).await;
        }
        assert!(
            server.hits() <= 2,
            "{} fetches for 5 lookups against a failing endpoint",
            server.hits() - 1
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_lookups_against_a_failing_endpoint_share_one_fetch() {
        let server = TestIdp::start(&[jwk(K1)]).await;
        server.fail_with(500);
        server.delay(Duration::from_millis(20));
        let cache = new_cache();
        let lookups: Vec<_> = (0..50)
            .map(|_| {
                let cache = Arc::clone(&cache);
                let uri = server.uri.clone();
                tokio::spawn(async move { cache.resolve(&uri, Some("k1")).await })
            })
            .collect();
        for lookup in lookups {
            let result = lookup.await.expect("no panic");
            assert!(matches!(result, Err(KeyError::Unavailable(_))));
        }
        assert!(
            server.hits() <= 1,
            "{} fetches for 50 lookups",
            server.hits()
        );
    }

    mod properties {
        use std::sync::LazyLock;

        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use jsonwebtoken::AlgorithmFamily;
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::super::super::test_idp::{self, RawIdp, any_jwk};
        use super::super::{Algorithm, fetch};
        use super::{K1, jwk};

        const ALGORITHMS: [Algorithm; 6] = [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ];

        fn key_set_answer() -> impl Strategy<Value = Vec<u8>> {
            test_idp::key_set_answer(jwk(K1)["n"].clone())
        }

        proptest! {
            #[test]
            fn an_arbitrary_key_set_answer_never_panics_and_yields_only_signature_keys(
                answer in key_set_answer(),
                signature in prop::collection::vec(any::<u8>(), 0..300),
            ) {
                static IDP: LazyLock<RawIdp> = LazyLock::new(RawIdp::start);
                IDP.serve("/keys", answer.clone());
                let fetched = IDP.block_on(fetch(&IDP.http, &format!("{}/keys", IDP.base)));
                let published = serde_json::from_slice::<Value>(&answer)
                    .ok()
                    .and_then(|document| document.get("keys")?.as_array().map(Vec::len));
                prop_assert_eq!(fetched.is_ok(), published.is_some());
                let Ok(set) = fetched else { return Ok(()) };
                prop_assert!(set.keys.len() <= published.unwrap_or_default());
                let signature = URL_SAFE_NO_PAD.encode(&signature);
                for key in &set.keys {
                    prop_assert!(key.key.family() != AlgorithmFamily::Hmac);
                    for alg in ALGORITHMS {
                        let fits = key.fits(alg);
                        prop_assert!(!fits || key.alg.is_none_or(|pinned| pinned == alg));
                        if fits {
                            // A key from outside and a signature from outside: no panic, no
                            // success.
                            let verified =
                                jsonwebtoken::crypto::verify(&signature, b"e30.e30", &key.key, alg);
                            prop_assert!(!matches!(verified, Ok(true)));
                        }
                    }
                }
            }

            #[test]
            fn junk_keys_around_a_good_one_never_hide_it(
                junk in prop::collection::vec(any_jwk(jwk(K1)["n"].clone()), 0..5),
                at in any::<prop::sample::Index>(),
            ) {
                static IDP: LazyLock<RawIdp> = LazyLock::new(RawIdp::start);
                let mut keys = junk;
                keys.insert(at.index(keys.len() + 1), jwk(K1));
                IDP.serve("/keys", json!({ "keys": keys }).to_string().into_bytes());
                let set = IDP
                    .block_on(fetch(&IDP.http, &format!("{}/keys", IDP.base)))
                    .expect("a key set");
                prop_assert!(
                    set.matching(Some("k1")).iter().any(|key| key.fits(Algorithm::RS256))
                );
            }
        }
    }
}
