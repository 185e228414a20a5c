//! A hostile OpenID Provider, in process: an axum server on 127.0.0.1:0 that speaks Okta's org
//! authorization server protocol (same paths) and misbehaves as the test's [`Scenario`] says,
//! the way the OpenID Foundation's RP certification suite does. It counts the calls to each
//! endpoint and notes every protocol mistake the Relying Party makes (wrong redirect URI, no
//! `openid` scope, no nonce, no PKCE S256, client secret not sent with HTTP Basic...).
//!
//! Also here: an Orgpass server registered against one or more such providers
//! ([`spawn_app_against`]) and a small cookie-keeping browser for it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::backend::audit::Actor;
use app::backend::registry::{self, NewInstance, NewTenant, TokenAuthMethod};
use app::domain::{ClientSecret, InstanceId, IssuerPolicy, IssuerUrl, TenantSlug};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Url;
use serde_json::{Value, json};
use server::config::ServeArgs;
use server::startup::Application;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::common::storage::TestStorage;
use crate::helpers::{
    BackgroundServer, Browser, dev_serve_args, serve_in_background, test_leptos_options,
};

/// The user every hostile provider signs in.
pub const SUBJECT: &str = "00u1hostilevictim";
pub const USER_NAME: &str = "Vic Tim";
pub const USER_EMAIL: &str = "vic@victim.example";
/// The subject the userinfo endpoint names in the `UserinfoInvalidSub` scenario.
pub const OTHER_SUBJECT: &str = "00u1someoneelse";

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", b64url(bytes))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Test keys (server/tests/fixtures, test-only)
// ---------------------------------------------------------------------------------------------

/// The provider's signing keys: test-only fixtures generated once with `openssl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    Rsa1,
    Rsa2,
    Rsa3,
    P256,
}

impl TestKey {
    fn pem(self) -> &'static str {
        match self {
            Self::Rsa1 => include_str!("../fixtures/rsa-1.pem"),
            Self::Rsa2 => include_str!("../fixtures/rsa-2.pem"),
            Self::Rsa3 => include_str!("../fixtures/rsa-3.pem"),
            Self::P256 => include_str!("../fixtures/p256.pem"),
        }
    }

    pub fn kid(self) -> &'static str {
        match self {
            Self::Rsa1 => "hostile-rsa-1",
            Self::Rsa2 => "hostile-rsa-2",
            Self::Rsa3 => "hostile-rsa-3",
            Self::P256 => "hostile-p256-1",
        }
    }

    pub fn alg(self) -> Algorithm {
        match self {
            Self::P256 => Algorithm::ES256,
            _ => Algorithm::RS256,
        }
    }

    fn alg_name(self) -> &'static str {
        match self.alg() {
            Algorithm::ES256 => "ES256",
            _ => "RS256",
        }
    }

    fn encoding_key(self) -> EncodingKey {
        let pem = self.pem().as_bytes();
        match self.alg() {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .unwrap_or_else(|e| panic!("bad test key {self:?}: {e}"))
    }

    /// The public half as a JWK (`n`/`e` or `crv`/`x`/`y`, base64url), marked for signatures.
    pub fn public_jwk(self, with_kid: bool) -> Value {
        let jwk = Jwk::from_encoding_key(&self.encoding_key(), self.alg())
            .unwrap_or_else(|e| panic!("no public JWK for {self:?}: {e}"));
        let mut value = match jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => json!({ "kty": "RSA", "n": rsa.n, "e": rsa.e }),
            AlgorithmParameters::EllipticCurve(ec) => {
                json!({ "kty": "EC", "crv": "P-256", "x": ec.x, "y": ec.y })
            }
            other => panic!("unexpected key parameters {other:?}"),
        };
        value["use"] = json!("sig");
        value["alg"] = json!(self.alg_name());
        if with_kid {
            value["kid"] = json!(self.kid());
        }
        value
    }
}

/// How the compact JWS gets its third part.
enum Signer {
    Key(TestKey),
    /// A valid signature by this key, then one bit flipped.
    Corrupted(TestKey),
    /// HMAC-SHA256 keyed with the client secret (the `invalid-sig-hs256` attack).
    Hs256(String),
    /// `alg: none`: an empty signature.
    Unsigned,
}

fn sign_jws(header: &Value, claims: &Value, signer: &Signer) -> String {
    let input = format!(
        "{}.{}",
        b64url(serde_json::to_vec(header).unwrap()),
        b64url(serde_json::to_vec(claims).unwrap())
    );
    let signature = match signer {
        Signer::Key(key) => {
            jsonwebtoken::crypto::sign(input.as_bytes(), &key.encoding_key(), key.alg())
                .expect("signing failed")
        }
        Signer::Corrupted(key) => {
            let good = jsonwebtoken::crypto::sign(input.as_bytes(), &key.encoding_key(), key.alg())
                .expect("signing failed");
            let mut bytes = URL_SAFE_NO_PAD.decode(good).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            b64url(bytes)
        }
        Signer::Hs256(secret) => jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
        )
        .expect("signing failed"),
        Signer::Unsigned => String::new(),
    };
    format!("{input}.{signature}")
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    b64url(&digest[..16])
}

fn pkce_s256(verifier: &str) -> String {
    b64url(Sha256::digest(verifier.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// What the provider does wrong. One per test; it can be changed between sign-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    /// A correct provider.
    Normal,

    // --- the authorization response ---
    /// `iss` = issuer + "1" in the redirect back to the app (RFC 9207).
    AuthResponseIssSuffixed,
    /// No `iss` in the redirect, while discovery advertises
    /// `authorization_response_iss_parameter_supported: true`.
    AuthResponseIssMissing,
    /// `state` comes back altered.
    StateChanged,
    /// `state` does not come back.
    StateMissing,

    // --- discovery and keys ---
    /// The discovery document names another issuer than the one it was fetched for.
    DiscoveryIssuerMismatch,
    /// One key in the JWKS, no `kid` in it nor in the ID token's header.
    KidAbsentSingleJwks,
    /// RSA-1 and RSA-2 in the JWKS, no `kid` anywhere; the ID token is signed by `sign_with`.
    KidAbsentMultipleJwks { sign_with: TestKey },
    /// Besides the real key, the JWKS holds keys the app cannot or must not use: an OKP X448
    /// key, a symmetric key and an RSA encryption key.
    UnusableKeysBesideTheRealOne,
    /// The new key is published only when the provider starts signing with it: at the token
    /// request of the next sign-in.
    RotateJustBeforeSigning { new_key: TestKey },

    // --- the ID token ---
    /// `iss` = issuer + "1".
    InvalidIss,
    /// `iss` = issuer + "/1": unlike issuer + "1" (whose port number is then out of range, so
    /// the claim is not even a URL), a well-formed URL that merely extends the issuer.
    InvalidIssWellFormed,
    /// `aud` = client_id + "1".
    InvalidAud,
    /// `aud` = [client_id, "other"] and no `azp`.
    AudWithAnotherAudience,
    /// `aud` = [client_id].
    AudAsOneElementArray,
    /// This claim is removed.
    MissingClaim(&'static str),
    /// `nonce` = the request's nonce + "1".
    InvalidNonce,
    /// `alg: none`, no signature.
    AlgNone,
    /// RS256 with a corrupted signature.
    CorruptedRs256Signature,
    /// HS256 keyed with the client secret; discovery advertises HS256.
    Hs256WithClientSecret,
    /// ES256 with a corrupted signature; the P-256 key is published and ES256 advertised.
    CorruptedEs256Signature,
    /// `exp` this many seconds in the past (`iat` five minutes before it).
    ExpiredSecondsAgo(i64),
    /// `nbf` this many seconds in the future.
    NotBeforeInSeconds(i64),
    /// This `typ` in the JWS header (e.g. `at+jwt`).
    TypHeader(&'static str),
    /// A `crit` header naming an extension the app cannot understand.
    CritHeader,
    /// A valid ID token of another provider: its issuer, signed by its key (mix-up).
    /// With `publish`, this provider also publishes the other provider's public key in its own
    /// JWKS (anyone can copy a public key), so the signature verifies against it.
    ForeignToken {
        issuer: String,
        key: TestKey,
        publish: bool,
    },

    // --- the token response ---
    /// `token_type` spelled this way (e.g. `bEARER`).
    TokenType(&'static str),

    // --- userinfo ---
    /// scope-userinfo-claims: the ID token carries neither `name` nor `email`; the userinfo
    /// endpoint returns the same `sub` with both.
    UserinfoClaims,
    /// userinfo-invalid-sub: the ID token carries neither `name` nor `email`; the userinfo
    /// endpoint answers for another subject ([`OTHER_SUBJECT`]).
    UserinfoInvalidSub,

    // --- answers no provider should give (any endpoint) ---
    /// This endpoint answers 1 GiB of JSON whitespace, with no `Content-Length`.
    HugeAnswer(Endpoint),
    /// This endpoint answers its usual JSON labelled `text/html`.
    NotJson(Endpoint),
    /// The discovery document names this endpoint (`jwks_uri`, `token_endpoint`, ...) at the
    /// cloud metadata address instead of the issuer's host.
    EndpointElsewhere(&'static str),
}

/// An endpoint a provider answers from, for the scenarios that break one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Discovery,
    Keys,
    Token,
    Userinfo,
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/// Calls received per endpoint.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpStats {
    pub discovery: u32,
    pub authorize: u32,
    pub token: u32,
    pub keys: u32,
    pub userinfo: u32,
}

#[derive(Default)]
struct Counters {
    discovery: AtomicU32,
    authorize: AtomicU32,
    token: AtomicU32,
    keys: AtomicU32,
    userinfo: AtomicU32,
    /// Bytes of [`Scenario::HugeAnswer`] the client actually took.
    huge_bytes_sent: Arc<AtomicU64>,
}

fn bump(counter: &AtomicU32) {
    counter.fetch_add(1, Ordering::SeqCst);
}

/// What the provider saw in the last authorization request.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub query: HashMap<String, String>,
}

impl AuthorizeRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }
}

/// An issued, not yet redeemed code.
struct Grant {
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

struct OpState {
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_uri: Mutex<Option<String>>,
    scenario: Mutex<Scenario>,
    /// The key that signs well-behaved ID tokens.
    signing_key: Mutex<TestKey>,
    /// The keys in the JWKS (with their `kid`), unless the scenario says otherwise.
    published: Mutex<Vec<TestKey>>,
    counters: Counters,
    grants: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashMap<String, String>>,
    last_authorize: Mutex<Option<AuthorizeRequest>>,
    last_id_token: Mutex<Option<String>>,
    last_access_token: Mutex<Option<String>>,
    /// The bearer token of every userinfo request, in order (`None`: no bearer token).
    userinfo_bearers: Mutex<Vec<Option<String>>>,
    violations: Mutex<Vec<String>>,
}

impl OpState {
    fn violation(&self, what: String) {
        tracing::warn!(target: "hostile_op", "RP protocol violation: {what}");
        lock(&self.violations).push(what);
    }

    fn scenario(&self) -> Scenario {
        lock(&self.scenario).clone()
    }
}

/// A hostile OpenID Provider serving one client; stopped when dropped.
pub struct HostileOp {
    state: Arc<OpState>,
    server: JoinHandle<()>,
}

impl Drop for HostileOp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl HostileOp {
    /// A provider for `client_id` (with a fresh random secret) that signs with `key`.
    pub async fn start(client_id: &str, key: TestKey) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot bind the hostile OP");
        let address: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(OpState {
            issuer: format!("http://{address}"),
            client_id: client_id.to_owned(),
            client_secret: random_token("hostile-secret-"),
            redirect_uri: Mutex::new(None),
            scenario: Mutex::new(Scenario::Normal),
            signing_key: Mutex::new(key),
            published: Mutex::new(vec![key]),
            counters: Counters::default(),
            grants: Mutex::new(HashMap::new()),
            access_tokens: Mutex::new(HashMap::new()),
            last_authorize: Mutex::new(None),
            last_id_token: Mutex::new(None),
            last_access_token: Mutex::new(None),
            userinfo_bearers: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/oauth2/v1/authorize", get(authorize))
            .route("/oauth2/v1/token", axum::routing::post(token))
            .route("/oauth2/v1/keys", get(keys))
            .route("/oauth2/v1/userinfo", get(userinfo).post(userinfo))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                hostile_answers,
            ))
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the hostile OP failed");
        });
        Self { state, server }
    }

    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    pub fn set_scenario(&self, scenario: Scenario) {
        *lock(&self.state.scenario) = scenario;
    }

    /// Emergency rotation: `key` (with its own `kid`) replaces every published key at once
    /// and signs from now on.
    pub fn rotate_to(&self, key: TestKey) {
        *lock(&self.state.published) = vec![key];
        *lock(&self.state.signing_key) = key;
    }

    pub fn stats(&self) -> OpStats {
        let c = &self.state.counters;
        OpStats {
            discovery: c.discovery.load(Ordering::SeqCst),
            authorize: c.authorize.load(Ordering::SeqCst),
            token: c.token.load(Ordering::SeqCst),
            keys: c.keys.load(Ordering::SeqCst),
            userinfo: c.userinfo.load(Ordering::SeqCst),
        }
    }

    /// How much of a [`Scenario::HugeAnswer`] left this provider.
    pub fn huge_bytes_sent(&self) -> u64 {
        self.state.counters.huge_bytes_sent.load(Ordering::SeqCst)
    }

    pub fn last_authorize_request(&self) -> Option<AuthorizeRequest> {
        lock(&self.state.last_authorize).clone()
    }

    pub fn last_id_token(&self) -> Option<String> {
        lock(&self.state.last_id_token).clone()
    }

    /// The access token of the last token response.
    pub fn last_access_token(&self) -> Option<String> {
        lock(&self.state.last_access_token).clone()
    }

    /// The bearer token each userinfo request carried, in order.
    pub fn userinfo_bearers(&self) -> Vec<Option<String>> {
        lock(&self.state.userinfo_bearers).clone()
    }

    /// Every protocol mistake the Relying Party made so far.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state.violations).clone()
    }
}

type Op = State<Arc<OpState>>;

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    )
}

/// The scenarios that break an answer whatever it says, applied to every endpoint's answer.
async fn hostile_answers(
    State(op): Op,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let endpoint = match request.uri().path() {
        "/.well-known/openid-configuration" => Endpoint::Discovery,
        "/oauth2/v1/keys" => Endpoint::Keys,
        "/oauth2/v1/token" => Endpoint::Token,
        "/oauth2/v1/userinfo" => Endpoint::Userinfo,
        _ => return next.run(request).await,
    };
    let mut answer = next.run(request).await;
    match op.scenario() {
        Scenario::HugeAnswer(broken) if broken == endpoint => {
            huge_answer(Arc::clone(&op.counters.huge_bytes_sent))
        }
        Scenario::NotJson(broken) if broken == endpoint => {
            answer.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/html"),
            );
            answer
        }
        _ => answer,
    }
}

/// 1 GiB in 64 KiB chunks, counted as the client takes them.
fn huge_answer(sent: Arc<AtomicU64>) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunk = axum::body::Bytes::from(vec![b' '; CHUNK]);
    let chunks = futures_util::stream::repeat_with(move || {
        sent.fetch_add(CHUNK as u64, Ordering::SeqCst);
        Ok::<_, std::convert::Infallible>(chunk.clone())
    });
    let body = axum::body::Body::from_stream(futures_util::StreamExt::take(chunks, 16 * 1024));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn discovery(State(op): Op) -> Response {
    bump(&op.counters.discovery);
    let scenario = op.scenario();
    let issuer = &op.issuer;
    let mut algs = vec!["RS256"];
    match scenario {
        Scenario::Hs256WithClientSecret => algs.push("HS256"),
        Scenario::CorruptedEs256Signature => algs.push("ES256"),
        _ => {}
    }
    let advertised_issuer = match scenario {
        Scenario::DiscoveryIssuerMismatch => format!("{issuer}/mismatch"),
        _ => issuer.clone(),
    };
    let mut document = json!({
        "issuer": advertised_issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/v1/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/v1/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/v1/userinfo"),
        "jwks_uri": format!("{issuer}/oauth2/v1/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "at_hash", "name", "email"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": algs,
        "authorization_response_iss_parameter_supported": true,
    });
    if let Scenario::EndpointElsewhere(name) = scenario {
        document[name] = json!("http://169.254.169.254/latest/meta-data/oauth2");
    }
    Json(document).into_response()
}

async fn keys(State(op): Op) -> Response {
    bump(&op.counters.keys);
    let published = lock(&op.published).clone();
    let keys: Vec<Value> = match op.scenario() {
        Scenario::KidAbsentSingleJwks => vec![published[0].public_jwk(false)],
        Scenario::KidAbsentMultipleJwks { .. } => vec![
            TestKey::Rsa1.public_jwk(false),
            TestKey::Rsa2.public_jwk(false),
        ],
        Scenario::CorruptedEs256Signature => published
            .iter()
            .map(|k| k.public_jwk(true))
            .chain([TestKey::P256.public_jwk(true)])
            .collect(),
        Scenario::UnusableKeysBesideTheRealOne => {
            let mut encryption = TestKey::Rsa2.public_jwk(false);
            encryption["use"] = json!("enc");
            encryption["alg"] = json!("RSA-OAEP");
            encryption["kid"] = json!("hostile-enc-1");
            let mut keys = vec![
                json!({ "kty": "OKP", "crv": "X448", "kid": "hostile-x448-1", "use": "sig",
                        "x": b64url([7u8; 56]) }),
                json!({ "kty": "oct", "kid": "hostile-oct-1", "use": "sig", "alg": "HS256",
                        "k": b64url(op.client_secret.as_bytes()) }),
                encryption,
                json!({ "kty": "made-up", "kid": "hostile-weird-1" }),
            ];
            keys.extend(published.iter().map(|k| k.public_jwk(true)));
            keys
        }
        Scenario::ForeignToken {
            key, publish: true, ..
        } => published
            .iter()
            .chain([&key])
            .map(|k| k.public_jwk(true))
            .collect(),
        _ => published.iter().map(|k| k.public_jwk(true)).collect(),
    };
    Json(json!({ "keys": keys })).into_response()
}

async fn authorize(State(op): Op, Query(query): Query<HashMap<String, String>>) -> Response {
    bump(&op.counters.authorize);
    *lock(&op.last_authorize) = Some(AuthorizeRequest {
        query: query.clone(),
    });
    let param = |name: &str| query.get(name).map(String::as_str);

    // Never redirect anywhere but to the registered URI, for the registered client.
    if param("client_id") != Some(op.client_id.as_str()) {
        op.violation(format!("authorize: client_id {:?}", param("client_id")));
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    }
    let registered = lock(&op.redirect_uri).clone();
    let redirect_uri = match (param("redirect_uri"), registered) {
        (Some(sent), Some(registered)) if sent == registered => registered,
        (sent, registered) => {
            op.violation(format!(
                "authorize: redirect_uri {sent:?} is not exactly the registered {registered:?}"
            ));
            return (StatusCode::BAD_REQUEST, "redirect_uri mismatch").into_response();
        }
    };
    if param("response_type") != Some("code") {
        op.violation(format!(
            "authorize: response_type {:?}",
            param("response_type")
        ));
    }
    let scopes: Vec<&str> = param("scope").unwrap_or("").split(' ').collect();
    if !scopes.contains(&"openid") {
        op.violation(format!(
            "authorize: scope {:?} lacks openid",
            param("scope")
        ));
    }
    if param("nonce").is_none_or(str::is_empty) {
        op.violation("authorize: no nonce".into());
    }
    if param("state").is_none_or(str::is_empty) {
        op.violation("authorize: no state".into());
    }
    if param("code_challenge_method") != Some("S256") || param("code_challenge").is_none() {
        op.violation(format!(
            "authorize: PKCE method {:?}, challenge present: {}",
            param("code_challenge_method"),
            param("code_challenge").is_some()
        ));
    }

    let code = random_token("hostile-code-");
    lock(&op.grants).insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            nonce: param("nonce").map(str::to_owned),
            code_challenge: param("code_challenge").map(str::to_owned),
        },
    );

    let scenario = op.scenario();
    let state = match (&scenario, param("state")) {
        (Scenario::StateMissing, _) | (_, None) => None,
        (Scenario::StateChanged, Some(state)) => Some(format!("{state}1")),
        (_, Some(state)) => Some(state.to_owned()),
    };
    let iss = match scenario {
        Scenario::AuthResponseIssMissing => None,
        Scenario::AuthResponseIssSuffixed => Some(format!("{}1", op.issuer)),
        _ => Some(op.issuer.clone()),
    };
    let mut location = Url::parse(&redirect_uri).expect("registered redirect URI is a URL");
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(state) = &state {
            pairs.append_pair("state", state);
        }
        if let Some(iss) = &iss {
            pairs.append_pair("iss", iss);
        }
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// `client_secret_basic`: RFC 6749 §2.3.1 form-urlencodes both parts before base64.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |raw: &str| {
        url::form_urlencoded::parse(format!("v={raw}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

async fn token(
    State(op): Op,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    bump(&op.counters.token);
    let field = |name: &str| form.get(name).map(String::as_str);

    let Some((id, secret)) = basic_credentials(&headers) else {
        op.violation("token: no client_secret_basic credentials".into());
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "use client_secret_basic",
        );
    };
    if form.contains_key("client_secret") {
        op.violation("token: client_secret also sent in the body".into());
    }
    if id != op.client_id || secret != op.client_secret {
        op.violation(format!("token: wrong client credentials for {id:?}"));
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "bad credentials",
        );
    }
    if field("grant_type") != Some("authorization_code") {
        op.violation(format!("token: grant_type {:?}", field("grant_type")));
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "");
    }
    let Some(grant) = field("code").and_then(|code| lock(&op.grants).remove(code)) else {
        op.violation("token: unknown or reused code".into());
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
    };
    if field("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        op.violation(format!(
            "token: redirect_uri {:?} differs from the authorization request's",
            field("redirect_uri")
        ));
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri");
    }
    let pkce_ok = match (&grant.code_challenge, field("code_verifier")) {
        (Some(challenge), Some(verifier)) => pkce_s256(verifier) == *challenge,
        _ => false,
    };
    if !pkce_ok {
        op.violation("token: PKCE verifier missing or wrong".into());
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "PKCE");
    }

    let scenario = op.scenario();
    if let Scenario::RotateJustBeforeSigning { new_key } = scenario {
        let mut published = lock(&op.published);
        if !published.contains(&new_key) {
            published.push(new_key);
        }
        *lock(&op.signing_key) = new_key;
    }
    let access_token = random_token("hostile-at-");
    lock(&op.access_tokens).insert(access_token.clone(), SUBJECT.to_owned());
    *lock(&op.last_access_token) = Some(access_token.clone());
    let id_token = mint_id_token(&op, &scenario, grant.nonce.as_deref(), &access_token);
    *lock(&op.last_id_token) = Some(id_token.clone());
    let token_type = match scenario {
        Scenario::TokenType(spelling) => spelling,
        _ => "Bearer",
    };
    no_store(
        Json(json!({
            "access_token": access_token,
            "token_type": token_type,
            "expires_in": 3600,
            "scope": "openid email profile",
            "id_token": id_token,
        }))
        .into_response(),
    )
}

fn mint_id_token(
    op: &OpState,
    scenario: &Scenario,
    nonce: Option<&str>,
    access_token: &str,
) -> String {
    let now = unix_now();
    let key = *lock(&op.signing_key);
    let mut header = json!({ "alg": key.alg_name(), "kid": key.kid() });
    let mut claims = json!({
        "iss": op.issuer,
        "sub": SUBJECT,
        "aud": op.client_id,
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "name": USER_NAME,
        "email": USER_EMAIL,
        "at_hash": at_hash(access_token),
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let mut signer = Signer::Key(key);
    let remove = |value: &mut Value, name: &str| {
        value.as_object_mut().unwrap().remove(name);
    };
    match scenario {
        Scenario::InvalidIss => claims["iss"] = json!(format!("{}1", op.issuer)),
        Scenario::InvalidIssWellFormed => claims["iss"] = json!(format!("{}/1", op.issuer)),
        Scenario::InvalidAud => claims["aud"] = json!(format!("{}1", op.client_id)),
        Scenario::AudWithAnotherAudience => claims["aud"] = json!([op.client_id, "other"]),
        Scenario::AudAsOneElementArray => claims["aud"] = json!([op.client_id]),
        Scenario::MissingClaim(name) => remove(&mut claims, name),
        Scenario::UserinfoClaims
        | Scenario::UserinfoInvalidSub
        | Scenario::HugeAnswer(Endpoint::Userinfo)
        | Scenario::NotJson(Endpoint::Userinfo) => {
            remove(&mut claims, "name");
            remove(&mut claims, "email");
        }
        Scenario::InvalidNonce => claims["nonce"] = json!(format!("{}1", nonce.unwrap_or(""))),
        Scenario::KidAbsentSingleJwks => remove(&mut header, "kid"),
        Scenario::KidAbsentMultipleJwks { sign_with } => {
            header = json!({ "alg": "RS256" });
            signer = Signer::Key(*sign_with);
        }
        Scenario::AlgNone => {
            header = json!({ "alg": "none" });
            signer = Signer::Unsigned;
        }
        Scenario::CorruptedRs256Signature => signer = Signer::Corrupted(key),
        Scenario::Hs256WithClientSecret => {
            header = json!({ "alg": "HS256" });
            signer = Signer::Hs256(op.client_secret.clone());
        }
        Scenario::CorruptedEs256Signature => {
            header = json!({ "alg": "ES256", "kid": TestKey::P256.kid() });
            signer = Signer::Corrupted(TestKey::P256);
        }
        Scenario::ExpiredSecondsAgo(seconds) => {
            claims["exp"] = json!(now - seconds);
            claims["iat"] = json!(now - seconds - 300);
            claims["auth_time"] = json!(now - seconds - 300);
        }
        Scenario::NotBeforeInSeconds(seconds) => claims["nbf"] = json!(now + seconds),
        Scenario::TypHeader(typ) => header["typ"] = json!(typ),
        Scenario::CritHeader => {
            header["crit"] = json!(["urn:example:hostile:must-understand"]);
            header["urn:example:hostile:must-understand"] = json!(true);
        }
        Scenario::ForeignToken { issuer, key, .. } => {
            claims["iss"] = json!(issuer);
            header = json!({ "alg": key.alg_name(), "kid": key.kid() });
            signer = Signer::Key(*key);
        }
        Scenario::Normal
        | Scenario::AuthResponseIssSuffixed
        | Scenario::AuthResponseIssMissing
        | Scenario::StateChanged
        | Scenario::StateMissing
        | Scenario::DiscoveryIssuerMismatch
        | Scenario::UnusableKeysBesideTheRealOne
        | Scenario::RotateJustBeforeSigning { .. }
        | Scenario::TokenType(_)
        | Scenario::HugeAnswer(_)
        | Scenario::NotJson(_)
        | Scenario::EndpointElsewhere(_) => {}
    }
    sign_jws(&header, &claims, &signer)
}

async fn userinfo(State(op): Op, headers: HeaderMap) -> Response {
    bump(&op.counters.userinfo);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    lock(&op.userinfo_bearers).push(bearer.clone());
    let known = bearer.is_some_and(|token| lock(&op.access_tokens).contains_key(&token));
    if !known {
        op.violation("userinfo: no valid access token in the Authorization header".into());
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    let sub = match op.scenario() {
        Scenario::UserinfoInvalidSub => OTHER_SUBJECT,
        _ => SUBJECT,
    };
    Json(json!({ "sub": sub, "name": USER_NAME, "email": USER_EMAIL })).into_response()
}

// ---------------------------------------------------------------------------------------------
// A dead issuer
// ---------------------------------------------------------------------------------------------

/// An "issuer" that accepts TCP connections and never answers a byte: every stream it
/// accepts is held open until it is dropped, so a client waits for its own timeout.
pub struct DeadIssuer {
    issuer: String,
    client_secret: String,
    accepted: Arc<AtomicU32>,
    server: JoinHandle<()>,
}

impl Drop for DeadIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl DeadIssuer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot bind the dead issuer");
        let address: SocketAddr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&accepted);
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self {
            issuer: format!("http://{address}"),
            client_secret: random_token("dead-secret-"),
            accepted,
            server,
        }
    }

    /// Connections accepted (and never answered) so far.
    pub fn accepted(&self) -> u32 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits until at least one connection was accepted; panics after `limit`.
    pub async fn wait_for_a_connection(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.accepted() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nobody connected to the dead issuer within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Orgpass against hostile providers
// ---------------------------------------------------------------------------------------------

/// Anything an instance can be registered against.
pub trait RegisteredIssuer: Sync {
    fn issuer(&self) -> &str;
    fn client_id(&self) -> &str;
    fn client_secret(&self) -> &str;
    /// Learns the instance's exact redirect URI.
    fn register_redirect_uri(&self, _uri: String) {}
}

impl RegisteredIssuer for HostileOp {
    fn issuer(&self) -> &str {
        &self.state.issuer
    }

    fn client_id(&self) -> &str {
        &self.state.client_id
    }

    fn client_secret(&self) -> &str {
        &self.state.client_secret
    }

    /// The only redirect URI the provider accepts (exact match).
    fn register_redirect_uri(&self, uri: String) {
        *lock(&self.state.redirect_uri) = Some(uri);
    }
}

impl RegisteredIssuer for DeadIssuer {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn client_id(&self) -> &str {
        "0oa1deadclient"
    }

    fn client_secret(&self) -> &str {
        &self.client_secret
    }
}

/// The tenant and instance registered against a single hostile provider.
pub const VICTIM_TENANT: &str = "victim";
pub const VICTIM: &str = "victim-okta";

/// One instance to register: which provider, in which tenant, under which instance id.
pub struct Registration<'a> {
    pub op: &'a dyn RegisteredIssuer,
    pub tenant: &'static str,
    pub instance: &'static str,
}

/// An Orgpass server whose instances all point at hostile providers; stopped when dropped.
pub struct HostileApp {
    pub base_url: Url,
    pub public_origin: String,
    _server: BackgroundServer,
    _storage: TestStorage,
}

impl HostileApp {
    pub fn browser(&self) -> Browser {
        Browser::new(self.base_url.clone(), self.public_origin.clone())
    }
}

fn init_logging() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "warn,server=info,hostile_op=warn".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}

/// Orgpass with one tenant `victim` and one instance `victim-okta` registered against `op`.
pub async fn spawn_app_against(op: &HostileOp) -> HostileApp {
    spawn_app_against_many(&[Registration {
        op,
        tenant: VICTIM_TENANT,
        instance: VICTIM,
    }])
    .await
}

/// Orgpass built as `helpers::spawn_app_with` builds it (dev cookies, loopback issuers, a 5 s
/// IdP timeout), with one instance per registration; each provider learns its instance's exact
/// redirect URI.
pub async fn spawn_app_against_many(registrations: &[Registration<'_>]) -> HostileApp {
    spawn_app_against_many_with_timeout(registrations, 5).await
}

/// [`spawn_app_against_many`] with this IdP timeout (`idp_timeout_secs`).
pub async fn spawn_app_against_many_with_timeout(
    registrations: &[Registration<'_>],
    idp_timeout_secs: u64,
) -> HostileApp {
    let serve = ServeArgs {
        idp_timeout_secs,
        ..dev_serve_args()
    };
    spawn_app_against_with(registrations, serve).await
}

/// [`spawn_app_against_many`] with these server settings.
pub async fn spawn_app_against_with(
    registrations: &[Registration<'_>],
    serve: ServeArgs,
) -> HostileApp {
    init_logging();
    let storage = TestStorage::new().await;
    let leptos_options = test_leptos_options();
    let application = Application::build(&storage.args(), &serve, leptos_options)
        .await
        .expect("failed to build the application");
    let address = application.local_addr().expect("no local address");
    let base_url = Url::parse(&format!("http://{address}")).unwrap();
    let public_origin = base_url.origin().ascii_serialization();
    let db = application.state.db.clone();
    let vault = application.state.vault.clone();
    let policy = IssuerPolicy {
        allow_loopback_http: true,
        ..IssuerPolicy::default()
    };

    let mut tenants_added: Vec<&str> = Vec::new();
    for registration in registrations {
        if !tenants_added.contains(&registration.tenant) {
            let new = NewTenant {
                slug: TenantSlug::parse(registration.tenant).unwrap(),
                display_name: format!("Tenant {}", registration.tenant),
                domains: Vec::new(),
            };
            registry::add_tenant(&db, new, &Actor::Operator)
                .await
                .expect("cannot add a tenant");
            tenants_added.push(registration.tenant);
        }
        let op = registration.op;
        op.register_redirect_uri(format!(
            "{public_origin}/sso/{}/callback",
            registration.instance
        ));
        let new = NewInstance {
            id: Some(InstanceId::parse(registration.instance).unwrap()),
            tenant: TenantSlug::parse(registration.tenant).unwrap(),
            label: "Okta".to_owned(),
            issuer: IssuerUrl::parse(op.issuer(), &policy).unwrap(),
            client_id: op.client_id().to_owned(),
            client_secret: ClientSecret::new(op.client_secret().to_owned()).unwrap(),
            token_auth_method: TokenAuthMethod::ClientSecretBasic,
            extra_redirect_uris: Vec::new(),
            post_logout_uri: None,
            enabled: true,
        };
        registry::add_instance(&db, &vault, new, &Actor::Operator)
            .await
            .expect("cannot add an instance");
    }

    let server = serve_in_background(application);
    HostileApp {
        base_url,
        public_origin,
        _server: server,
        _storage: storage,
    }
}
