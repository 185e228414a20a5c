//! For the provider's property tests: a local identity provider on 127.0.0.1 that answers
//! every GET with whatever bytes a test set for that path, as `application/json`, so that what
//! a hostile or broken IdP might send reaches the parsers through the real HTTP client; and
//! arbitrary JSON to send.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use proptest::prelude::*;
use serde_json::Value;

type Documents = Arc<Mutex<HashMap<String, Vec<u8>>>>;

pub(super) struct RawIdp {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    pub http: reqwest::Client,
    documents: Documents,
    runtime: tokio::runtime::Runtime,
}

impl RawIdp {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let documents = Documents::default();
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&documents));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a local port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        runtime.spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Self {
            base,
            http,
            documents,
            runtime,
        }
    }

    /// From now on, `GET {base}{path}` answers `body`.
    pub fn serve(&self, path: &str, body: Vec<u8>) {
        self.documents
            .lock()
            .expect("not poisoned")
            .insert(path.to_owned(), body);
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

async fn answer(State(documents): State<Documents>, uri: Uri) -> Response {
    let body = documents
        .lock()
        .expect("not poisoned")
        .get(uri.path())
        .cloned();
    match body {
        Some(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Any JSON value, a few levels deep.
pub(super) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// One member of a JSON object: usually one of `usual` (`Null` there means absent), else
/// `null` or any JSON at all.
pub(super) fn member(usual: Vec<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        8 => prop::sample::select(usual).prop_map(|value| (!value.is_null()).then_some(value)),
        1 => Just(Some(Value::Null)),
        1 => json_value().prop_map(Some),
    ]
    .boxed()
}

/// An object of the named members (absent when `None`) over a few arbitrary extra ones.
pub(super) fn object(
    members: Vec<(&'static str, BoxedStrategy<Option<Value>>)>,
) -> impl Strategy<Value = Value> {
    let (names, values): (Vec<_>, Vec<_>) = members.into_iter().unzip();
    let extra = prop::collection::btree_map("[a-z_]{1,8}", json_value(), 0..3);
    (values, extra).prop_map(move |(values, extra)| {
        let mut object: serde_json::Map<String, Value> = extra.into_iter().collect();
        for (name, value) in names.iter().zip(values) {
            match value {
                Some(value) => object.insert((*name).to_owned(), value),
                None => object.remove(*name),
            };
        }
        Value::Object(object)
    })
}

/// What an IdP might answer: usually `document`'s JSON, else any JSON, any bytes, or the
/// document cut short.
pub(super) fn answer_bytes(
    document: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => document.prop_map(|document| document.to_string().into_bytes()),
        1 => json_value().prop_map(|value| value.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ]
}

/// Usually `first`, else one of `others` (`Null` there means absent), `null` or any JSON.
pub(super) fn usually(first: Value, others: Vec<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![6 => Just(Some(first)), 1 => member(others)].boxed()
}

fn base64url(max_bytes: usize) -> BoxedStrategy<Value> {
    use base64::Engine;
    prop::collection::vec(any::<u8>(), 0..max_bytes)
        .prop_map(|bytes| {
            Value::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        })
        .boxed()
}

fn text(values: &[&str]) -> BoxedStrategy<Option<Value>> {
    let mut values: Vec<Value> = values.iter().map(|value| Value::from(*value)).collect();
    values.push(Value::Null);
    member(values)
}

/// Usually one of `usual`, sometimes generated.
fn either(usual: Vec<Value>, generated: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![3 => member(usual), 1 => generated.prop_map(Some)].boxed()
}

/// A JWK of any type, usual or not, with parameters of the right shape or not: RSA moduli of
/// any length (sometimes `modulus`), EC and OKP points on no curve, symmetric keys.
pub(super) fn any_jwk(modulus: Value) -> impl Strategy<Value = Value> {
    object(vec![
        (
            "kty",
            usually(
                Value::from("RSA"),
                ["EC", "OKP", "oct", "rsa", "junk"]
                    .map(Value::from)
                    .to_vec(),
            ),
        ),
        ("use", text(&["sig", "enc", "other"])),
        (
            "alg",
            prop_oneof![
                2 => Just(None),
                1 => text(&[
                    "RS256", "RS384", "PS256", "ES256", "ES384", "EdDSA", "HS256", "RSA-OAEP",
                    "junk",
                ]),
            ]
            .boxed(),
        ),
        ("kid", text(&["k1", "k2", ""])),
        (
            "n",
            prop_oneof![
                2 => Just(Some(modulus)),
                1 => either(vec![Value::from(""), Value::from("!!")], base64url(300)),
            ]
            .boxed(),
        ),
        (
            "e",
            prop_oneof![
                2 => Just(Some(Value::from("AQAB"))),
                1 => either(vec![Value::from(""), Value::from("AA")], base64url(9)),
            ]
            .boxed(),
        ),
        (
            "crv",
            text(&[
                "P-256",
                "P-384",
                "P-521",
                "Ed25519",
                "X25519",
                "X448",
                "secp256k1",
            ]),
        ),
        ("x", either(vec![Value::Null], base64url(70))),
        ("y", either(vec![Value::Null], base64url(70))),
        ("k", either(vec![Value::Null], base64url(40))),
        (
            "key_ops",
            member(vec![
                Value::Null,
                serde_json::json!(["verify"]),
                serde_json::json!(["encrypt"]),
                Value::from("verify"),
            ]),
        ),
        (
            "x5c",
            member(vec![
                Value::Null,
                serde_json::json!(["MIIB"]),
                Value::from("MIIB"),
            ]),
        ),
    ])
}

/// What a `jwks_uri` might answer: a `keys` array of [`any_jwk`]s, or of anything.
pub(super) fn key_set_answer(modulus: Value) -> impl Strategy<Value = Vec<u8>> {
    answer_bytes(prop_oneof![
        6 => prop::collection::vec(any_jwk(modulus), 0..5)
            .prop_map(|keys| serde_json::json!({ "keys": keys })),
        1 => json_value().prop_map(|keys| serde_json::json!({ "keys": keys })),
    ])
}

/// The placeholder for [`RawIdp::base`] in generated documents; [`RawIdp::serve`] callers
/// replace it (see [`with_base`]).
pub(super) const BASE: &str = "{BASE}";

/// `answer` with every [`BASE`] replaced by `base`.
pub(super) fn with_base(answer: &[u8], base: &str) -> Vec<u8> {
    match std::str::from_utf8(answer) {
        Ok(text) => text.replace(BASE, base).into_bytes(),
        Err(_) => answer.to_vec(),
    }
}

/// A discovery document near a good one for the issuer [`BASE`]: its endpoints on the issuer
/// or elsewhere (another host, a metadata address, `javascript:`, relative, not URLs), the
/// required lists empty or of the wrong type, signing algorithms good, bad or unknown.
pub(super) fn discovery_document() -> impl Strategy<Value = Value> {
    let url = |path: &str, others: &[&str]| {
        let mut values = vec![Value::from(format!("{BASE}{path}/"))];
        values.extend(others.iter().map(|other| Value::from(*other)));
        values.push(Value::from("not a url"));
        values.push(Value::Null);
        usually(Value::from(format!("{BASE}{path}")), values)
    };
    let list = |first: Value, others: Vec<Value>| usually(first, others);
    use serde_json::json;
    object(vec![
        (
            "issuer",
            usually(
                Value::from(BASE),
                vec![
                    Value::from(format!("{BASE}/")),
                    Value::from(format!("{BASE}//")),
                    Value::from(format!("{BASE}/oauth2/default")),
                    Value::from("https://acme.okta.com"),
                    json!(1),
                ],
            ),
        ),
        (
            "authorization_endpoint",
            url(
                "/authorize",
                &["https://evil.example/authorize", "javascript:alert(1)"],
            ),
        ),
        (
            "token_endpoint",
            url(
                "/token",
                &["http://169.254.169.254/latest/meta-data", "/token"],
            ),
        ),
        (
            "userinfo_endpoint",
            url(
                "/userinfo",
                &["http://localhost/userinfo", "file:///etc/passwd"],
            ),
        ),
        (
            "jwks_uri",
            url(
                "/keys",
                &["http://169.254.169.254/keys", "https://acme.okta.com/keys"],
            ),
        ),
        (
            "end_session_endpoint",
            url(
                "/logout",
                &["javascript:alert(1)", "//evil.example/logout", "data:,x"],
            ),
        ),
        (
            "response_types_supported",
            list(
                json!(["code"]),
                vec![
                    json!(["code", "id_token"]),
                    json!([]),
                    json!("code"),
                    json!([1]),
                ],
            ),
        ),
        (
            "subject_types_supported",
            list(
                json!(["public"]),
                vec![json!(["pairwise"]), json!([]), json!(["junk"])],
            ),
        ),
        (
            "id_token_signing_alg_values_supported",
            list(
                json!(["RS256"]),
                vec![
                    json!(["HS256", "none"]),
                    json!(["ES256", "PS256", "RS256"]),
                    json!([]),
                    json!(["junk"]),
                    json!(["EdDSA"]),
                    json!("RS256"),
                ],
            ),
        ),
        (
            "authorization_response_iss_parameter_supported",
            member(vec![json!(true), json!(false), json!("true"), Value::Null]),
        ),
        (
            "code_challenge_methods_supported",
            member(vec![Value::Null, json!(["S256"]), json!(["plain"])]),
        ),
    ])
}
