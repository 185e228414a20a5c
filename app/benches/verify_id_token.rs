//! What full ID token validation costs over the bare RS256 signature check.
//!
//! Both benchmarks run on the same Okta-like ID token, signed with the test key
//! `server/tests/fixtures/rsa-1.pem`, in one run so their figures are comparable:
//!
//! - `bare_rs256_signature`: `jsonwebtoken::crypto::verify` of the signature over
//!   `header.payload`, nothing else.
//! - `verify_id_token_warm_cache`: `verify::verify_id_token` with the key already built
//!   (a warm key cache): header checks, signature, every claim check, `at_hash`.
//!
//! Run: `RUSTFLAGS="--cfg erase_components" cargo bench -p app --features ssr --bench verify_id_token`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use app::backend::sso::provider::keys::VerificationKey;
use app::backend::sso::verify::{self, Expected, TokenKind};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

const PEM: &str = include_str!("../../server/tests/fixtures/rsa-1.pem");
const KID: &str = "bench-rsa-1";
const ISSUER: &str = "https://example.okta.com/oauth2/default";
const CLIENT_ID: &str = "0oa1b2c3d4e5f6g7h8i9";
const NONCE: &str = "n-0S6_WzA2Mj-6cYwJ9xQk3rQ8vLm2pT";
const ACCESS_TOKEN: &str =
    "eyJraWQiOiJiZW5jaC1yc2EtMSIsImFsZyI6IlJTMjU2In0.access-token-body.signature";
const ALGORITHMS: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256];

struct Fixture {
    token: String,
    jwk: serde_json::Value,
    now: i64,
}

fn fixture() -> Fixture {
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(PEM).expect("rsa-1.pem is a PKCS#8 RSA key");
    let jwk = serde_json::json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": KID,
        "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
    });

    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs(),
    )
    .expect("time fits i64");
    let at_hash = URL_SAFE_NO_PAD.encode(&Sha256::digest(ACCESS_TOKEN.as_bytes())[..16]);
    let claims = serde_json::json!({
        "sub": "00u1a2b3c4d5e6f7g8h9",
        "name": "Ada Lovelace",
        "email": "ada.lovelace@example.com",
        "ver": 1,
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 3600,
        "jti": "ID.kq3Vd7sXhP0mB9nR2tY6uW4zA8cE1fG5jL0oN3qS7vU",
        "amr": ["pwd", "mfa", "otp"],
        "idp": "00o1a2b3c4d5e6f7g8h9",
        "nonce": NONCE,
        "preferred_username": "ada.lovelace@example.com",
        "auth_time": now - 5,
        "at_hash": at_hash,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    let signing = EncodingKey::from_rsa_pem(PEM.as_bytes()).expect("rsa-1.pem signs");
    let token = jsonwebtoken::encode(&header, &claims, &signing).expect("token signs");
    Fixture { token, jwk, now }
}

fn bench(c: &mut Criterion) {
    let Fixture { token, jwk, now } = fixture();
    let expected = Expected {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        nonce: NONCE,
        algorithms: ALGORITHMS,
        access_token: ACCESS_TOKEN,
        leeway_secs: 60,
        now,
    };

    // Warm cache: the key is built once, as `KeyCache::resolve` hands it out.
    let keys: Vec<Arc<VerificationKey>> =
        vec![VerificationKey::from_jwk(&jwk).expect("the JWK is a usable RS256 key")];
    // The same public key for the bare check (the verification key's own is not public).
    let decoding = DecodingKey::from_jwk(&serde_json::from_value(jwk).expect("JWK parses"))
        .expect("JWK makes a decoding key");
    let (message, signature) = token.rsplit_once('.').expect("three-part token");

    // Both paths must succeed, or the figures mean nothing.
    assert!(
        jsonwebtoken::crypto::verify(signature, message.as_bytes(), &decoding, Algorithm::RS256)
            .expect("verify runs"),
        "bare signature check rejects the token"
    );
    let claims = verify::Jws::parse(&token, TokenKind::IdToken, &[Algorithm::RS256])
        .and_then(|jws| verify::verify_id_token(&jws, &keys, &expected))
        .expect("the token is valid");
    assert_eq!(claims.sub, "00u1a2b3c4d5e6f7g8h9");

    let mut group = c.benchmark_group("id_token");
    group.bench_function("bare_rs256_signature", |b| {
        b.iter(|| {
            let (message, signature) = black_box(token.as_str())
                .rsplit_once('.')
                .expect("three-part token");
            jsonwebtoken::crypto::verify(
                signature,
                message.as_bytes(),
                black_box(&decoding),
                Algorithm::RS256,
            )
            .expect("verify runs")
        });
    });
    group.bench_function("verify_id_token_warm_cache", |b| {
        b.iter(|| {
            let jws =
                verify::Jws::parse(black_box(&token), TokenKind::IdToken, &[Algorithm::RS256])
                    .expect("the header is valid");
            verify::verify_id_token(&jws, black_box(&keys), black_box(&expected))
                .expect("the token is valid")
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
