//! ID token validation (OpenID Connect Core §3.1.3.7), all of it, in one function over the
//! token text and its candidate keys, so its cost can be measured against the bare signature.

use std::borrow::Cow;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::provider::keys::VerificationKey;

/// What the token must match: all of it comes from the stored flow and the instance, never
/// from the response being checked.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Signature algorithms this issuer may use: never `none`, never HMAC.
    pub algorithms: &'a [Algorithm],
    /// The access token from the same response, for `at_hash`.
    pub access_token: &'a str,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Unix seconds.
    pub now: i64,
}

/// The claims Orgpass uses, after every check passed. `iss`, `sub`, `aud`, `exp` and `iat` are
/// required: a token without one of them does not parse.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    aud: Audience,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    at_hash: Option<String>,
}

/// `aud` is one string or an array of them (RFC 7519 §4.1.3).
#[derive(Debug, Clone)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

// By hand rather than `#[serde(untagged)]`, which buffers the value and tries each variant:
// this runs on every sign-in and is measured against the bare signature check.
impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> serde::de::Visitor<'de> for AudienceVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: serde::de::Error>(self, one: &str) -> Result<Audience, E> {
                Ok(Audience::One(one.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Audience, A::Error> {
                let mut all = Vec::new();
                while let Some(aud) = seq.next_element::<String>()? {
                    all.push(aud);
                }
                Ok(Audience::Many(all))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

impl Audience {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            Self::One(one) => one == client_id,
            Self::Many(all) => all.iter().any(|aud| aud == client_id),
        }
    }

    fn count(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(all) => all.len(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("not a signed JWT (encrypted or malformed)")]
    NotAJws,
    #[error("unacceptable header: {0}")]
    Header(String),
    #[error("no candidate key verifies the signature")]
    Signature,
    /// The payload is not base64url JSON with the required claims.
    #[error("claim check failed: {0}")]
    Malformed(String),
    /// One claim check failed: which, and why.
    #[error("claim check failed: {1}")]
    Claim(Claim, &'static str),
}

/// The claim checks, in the order they run; a failure names its check, so a test sign-in
/// can say which checks passed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Issuer,
    Audience,
    Subject,
    Expiry,
    NotBefore,
    IssuedAt,
    AuthorizedParty,
    Nonce,
    AccessTokenHash,
    /// Universal Logout only: `exp` at most 15 minutes after `iat`.
    Lifetime,
    /// Universal Logout only: a usable `jti`.
    TokenId,
}

impl Claim {
    /// An ID token's checks, in order.
    pub const ID_TOKEN: [Self; 9] = [
        Self::Issuer,
        Self::Audience,
        Self::Subject,
        Self::Expiry,
        Self::NotBefore,
        Self::IssuedAt,
        Self::AuthorizedParty,
        Self::Nonce,
        Self::AccessTokenHash,
    ];
}

/// What a token's `typ` header must say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An ID token: `typ` absent or `JWT`.
    IdToken,
    /// Okta's Universal Logout request: `typ` `global-token-revocation+jwt`. Requiring it keeps
    /// an ID token from being replayed as a logout request.
    GlobalTokenRevocation,
}

impl TokenKind {
    fn accepts(self, typ: &str) -> bool {
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        match self {
            Self::IdToken => typ.eq_ignore_ascii_case("JWT"),
            Self::GlobalTokenRevocation => typ.eq_ignore_ascii_case("global-token-revocation+jwt"),
        }
    }
}

/// A compact JWS whose header passed the checks: exactly three parts (no JWE), no `crit`, the
/// `typ` of its [`TokenKind`], `alg` on the allow-list. The header is parsed once, here.
#[derive(Debug)]
pub struct Jws<'t> {
    /// `header.payload`, the signed message.
    message: &'t str,
    payload: &'t str,
    signature: &'t str,
    pub alg: Algorithm,
    pub kid: Option<String>,
}

impl<'t> Jws<'t> {
    pub fn parse(
        token: &'t str,
        kind: TokenKind,
        algorithms: &[Algorithm],
    ) -> Result<Self, Invalid> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Invalid::NotAJws);
        };
        let mut buffer = [0; 512];
        let bytes = decode_segment(header, &mut buffer).ok_or(Invalid::NotAJws)?;
        let header: JoseHeader<'_> =
            serde_json::from_slice(&bytes).map_err(|_| Invalid::NotAJws)?;
        if header.crit {
            return Err(Invalid::Header("crit is not supported".into()));
        }
        if header.enc {
            return Err(Invalid::NotAJws);
        }
        match (&header.typ, kind) {
            (None, TokenKind::IdToken) => {}
            (Some(serde_json::Value::String(typ)), kind) if kind.accepts(typ) => {}
            (other, _) => return Err(Invalid::Header(format!("typ {other:?} is not {kind:?}"))),
        }
        let alg = header
            .alg
            .as_deref()
            .and_then(|name| name.parse::<Algorithm>().ok())
            .filter(|alg| algorithms.contains(alg))
            .ok_or_else(|| Invalid::Header(format!("alg {:?} is not allowed", header.alg)))?;
        Ok(Self {
            message: &token[..header_and_payload_len(token, signature)],
            payload,
            signature,
            alg,
            kid: header.kid.map(Cow::into_owned),
        })
    }

    /// Whether one of `keys` that fits the algorithm signed the message.
    fn check_signature(&self, keys: &[Arc<VerificationKey>]) -> Result<(), Invalid> {
        let signed = keys.iter().filter(|key| key.fits(self.alg)).any(|key| {
            jsonwebtoken::crypto::verify(
                self.signature,
                self.message.as_bytes(),
                &key.key,
                self.alg,
            )
            .unwrap_or(false)
        });
        if signed {
            Ok(())
        } else {
            Err(Invalid::Signature)
        }
    }

    /// The payload's claims, decoded into a stack buffer when they fit.
    fn claims<T: serde::de::DeserializeOwned>(&self) -> Result<T, Invalid> {
        let mut buffer = [0; 2048];
        let payload = decode_segment(self.payload, &mut buffer)
            .ok_or_else(|| Invalid::Malformed("the payload is not base64url".into()))?;
        serde_json::from_slice(&payload)
            .map_err(|error| Invalid::Malformed(format!("malformed claims: {error}")))
    }
}

/// The length of `header.payload` in a token whose last segment is `signature`.
fn header_and_payload_len(token: &str, signature: &str) -> usize {
    token.len() - signature.len() - 1
}

/// The JOSE header members that decide whether a token is acceptable. A member that is present
/// counts even when it is `null`: `crit` and `enc` by their presence alone.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present_value")]
    typ: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default, deserialize_with = "present")]
    enc: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

fn present_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}

/// Verifies an ID token with the first of `keys` that fits and checks every claim.
///
/// The signature goes through `jsonwebtoken`'s crypto; the claims are parsed once and checked
/// here, in the order of OpenID Connect Core §3.1.3.7 (`jsonwebtoken::decode` parses the header
/// and the claims twice each: with AWS-LC's fast RSA, that parsing would be most of the cost).
pub fn verify_id_token(
    jws: &Jws<'_>,
    keys: &[Arc<VerificationKey>],
    expected: &Expected<'_>,
) -> Result<IdTokenClaims, Invalid> {
    jws.check_signature(keys)?;
    let claims: IdTokenClaims = jws.claims()?;
    check_claims(&claims, expected)?;
    Ok(claims)
}

/// What a Universal Logout token must match: the instance it is addressed to.
pub struct RevocationExpected<'a> {
    pub issuer: &'a str,
    /// Okta puts the instance's client id in `sub`.
    pub client_id: &'a str,
    /// The endpoint's full public URL, without a query.
    pub audience: &'a str,
    pub leeway_secs: u64,
    pub now: i64,
}

/// Okta signs a Universal Logout request for five minutes; more than this is refused.
pub const MAX_REVOCATION_LIFETIME_SECS: i64 = 15 * 60;

/// The claims of an accepted Universal Logout token.
#[derive(Debug, Deserialize)]
pub struct RevocationClaims {
    iss: String,
    sub: String,
    aud: Audience,
    iat: i64,
    pub exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    /// Single use: the caller records it until `exp`.
    pub jti: String,
}

/// Verifies Okta's Global Token Revocation JWT: signature, `iss`, `sub` = the instance's client
/// id, `aud` = this endpoint, `iat`/`nbf`/`exp` with leeway and a bounded lifetime, a `jti`.
pub fn verify_revocation_token(
    jws: &Jws<'_>,
    keys: &[Arc<VerificationKey>],
    expected: &RevocationExpected<'_>,
) -> Result<RevocationClaims, Invalid> {
    jws.check_signature(keys)?;
    let claims: RevocationClaims = jws.claims()?;
    let fail = |claim: Claim, why: &'static str| Err(Invalid::Claim(claim, why));
    let leeway = i64::try_from(expected.leeway_secs).unwrap_or(i64::MAX);
    if claims.iss != expected.issuer {
        return fail(Claim::Issuer, "iss is not the instance's issuer");
    }
    if claims.sub != expected.client_id {
        return fail(Claim::Subject, "sub is not the instance's client id");
    }
    if !claims.aud.contains(expected.audience) {
        return fail(Claim::Audience, "aud is not this endpoint");
    }
    if claims.exp.saturating_add(leeway) <= expected.now {
        return fail(Claim::Expiry, "the token has expired (exp)");
    }
    if claims.iat > expected.now.saturating_add(leeway) {
        return fail(Claim::IssuedAt, "iat is in the future");
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > expected.now.saturating_add(leeway))
    {
        return fail(Claim::NotBefore, "the token is not valid yet (nbf)");
    }
    if claims.exp.saturating_sub(claims.iat) > MAX_REVOCATION_LIFETIME_SECS {
        return fail(Claim::Lifetime, "exp is more than 15 minutes after iat");
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return fail(Claim::TokenId, "jti is empty or too long");
    }
    Ok(claims)
}

fn check_claims(claims: &IdTokenClaims, expected: &Expected<'_>) -> Result<(), Invalid> {
    let fail = |claim: Claim, why: &'static str| Err(Invalid::Claim(claim, why));
    let leeway = i64::try_from(expected.leeway_secs).unwrap_or(i64::MAX);
    if claims.iss != expected.issuer {
        return fail(
            Claim::Issuer,
            "iss is not the issuer the sign-in started at",
        );
    }
    if !claims.aud.contains(expected.client_id) {
        return fail(Claim::Audience, "aud does not name this client");
    }
    if claims.sub.is_empty() {
        return fail(Claim::Subject, "sub is empty");
    }
    if claims.exp.saturating_add(leeway) <= expected.now {
        return fail(Claim::Expiry, "the token has expired (exp)");
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > expected.now.saturating_add(leeway))
    {
        return fail(Claim::NotBefore, "the token is not valid yet (nbf)");
    }
    if claims.iat > expected.now.saturating_add(leeway) {
        return fail(Claim::IssuedAt, "iat is in the future");
    }
    // Several audiences: the token must say it was issued to us (azp).
    if (claims.aud.count() > 1 || claims.azp.is_some())
        && claims.azp.as_deref() != Some(expected.client_id)
    {
        return fail(Claim::AuthorizedParty, "azp is not this client");
    }
    let nonce_matches = claims
        .nonce
        .as_deref()
        .is_some_and(|nonce| bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())));
    if !nonce_matches {
        return fail(Claim::Nonce, "nonce is missing or not the one sent");
    }
    if let Some(at_hash) = &claims.at_hash {
        // Every allowed algorithm hashes with SHA-256: the left half of the digest, which
        // is 16 bytes (the decoder refuses non-canonical encodings, so comparing bytes is
        // comparing the strings).
        let digest = Sha256::digest(expected.access_token.as_bytes());
        let mut claimed = [0; 16];
        let matches = URL_SAFE_NO_PAD.decode_slice(at_hash, &mut claimed) == Ok(16)
            && bool::from(claimed.ct_eq(&digest[..16]));
        if !matches {
            return fail(
                Claim::AccessTokenHash,
                "at_hash does not match the access token",
            );
        }
    }
    Ok(())
}

/// Decodes a base64url segment into `buffer` when it fits, sparing an allocation per token;
/// a larger segment (a header with a certificate chain, say) gets a vector of its own.
fn decode_segment<'b>(segment: &str, buffer: &'b mut [u8]) -> Option<Cow<'b, [u8]>> {
    match URL_SAFE_NO_PAD.decode_slice(segment, buffer) {
        Ok(len) => buffer.get(..len).map(Cow::Borrowed),
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            URL_SAFE_NO_PAD.decode(segment).ok().map(Cow::Owned)
        }
        Err(DecodeSliceError::DecodeError(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use serde_json::{Value, json};

    use super::*;

    const PEM: &str = include_str!("../../../../server/tests/fixtures/rsa-1.pem");
    const NOW: i64 = 1_800_000_000;
    const ALGORITHMS: &[Algorithm] = &[Algorithm::RS256];

    fn key() -> Arc<VerificationKey> {
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(PEM).unwrap();
        VerificationKey::from_jwk(&json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }))
        .unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://acme.okta.example",
            client_id: "0oa-client",
            nonce: "the-nonce",
            algorithms: ALGORITHMS,
            access_token: "access",
            leeway_secs: 60,
            now: NOW,
        }
    }

    /// A token signed with the fixture key whose claims are the valid ones with `changes`
    /// applied (`null` removes a claim).
    fn token_with(changes: Value) -> String {
        let mut claims = json!({
            "iss": "https://acme.okta.example",
            "sub": "00u1ada",
            "aud": "0oa-client",
            "iat": NOW - 5,
            "exp": NOW + 3600,
            "nonce": "the-nonce",
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        let signing = EncodingKey::from_rsa_pem(PEM.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &signing).unwrap()
    }

    fn verdict(changes: Value) -> Result<IdTokenClaims, Invalid> {
        let token = token_with(changes);
        let jws = Jws::parse(&token, TokenKind::IdToken, ALGORITHMS)?;
        verify_id_token(&jws, &[key()], &expected())
    }

    #[test]
    fn a_token_meeting_every_rule_is_accepted() {
        let claims = verdict(json!({})).unwrap();
        assert_eq!(claims.sub, "00u1ada");
    }

    #[test]
    fn an_at_hash_of_the_access_token_is_accepted() {
        let at_hash = URL_SAFE_NO_PAD.encode(&Sha256::digest(b"access")[..16]);
        assert!(verdict(json!({ "at_hash": at_hash })).is_ok());
    }

    #[test]
    fn each_broken_claim_rule_is_refused() {
        let cases = [
            (
                "another issuer",
                json!({ "iss": "https://acme.okta.example/x" }),
            ),
            ("another audience", json!({ "aud": "0oa-client-2" })),
            ("no audience", json!({ "aud": null })),
            ("an empty subject", json!({ "sub": "" })),
            ("no subject", json!({ "sub": null })),
            ("expired beyond the leeway", json!({ "exp": NOW - 61 })),
            ("no expiry", json!({ "exp": null })),
            (
                "not valid yet beyond the leeway",
                json!({ "nbf": NOW + 61 }),
            ),
            ("issued in the future", json!({ "iat": NOW + 61 })),
            ("no issue time", json!({ "iat": null })),
            (
                "two audiences without azp",
                json!({ "aud": ["0oa-client", "other"] }),
            ),
            ("azp of another client", json!({ "azp": "other" })),
            ("another nonce", json!({ "nonce": "the-nonce-2" })),
            (
                "a wrong at_hash",
                json!({ "at_hash": "AAAAAAAAAAAAAAAAAAAAAA" }),
            ),
            (
                "the whole digest as at_hash",
                json!({ "at_hash": URL_SAFE_NO_PAD.encode(Sha256::digest(b"access")) }),
            ),
            (
                "a truncated at_hash",
                json!({ "at_hash": URL_SAFE_NO_PAD.encode(&Sha256::digest(b"access")[..15]) }),
            ),
        ];
        for (case, changes) in cases {
            assert!(
                matches!(
                    verdict(changes),
                    Err(Invalid::Claim(..) | Invalid::Malformed(_))
                ),
                "a token with {case} was not refused"
            );
        }
    }

    #[test]
    fn clock_skew_within_the_leeway_is_tolerated() {
        let skewed = json!({ "exp": NOW - 30, "nbf": NOW + 30, "iat": NOW + 30 });
        assert!(verdict(skewed).is_ok());
    }

    fn header_verdict(header_json: Value) -> Result<(Algorithm, Option<String>), Invalid> {
        header_verdict_as(header_json, TokenKind::IdToken)
    }

    fn header_verdict_as(
        header_json: Value,
        kind: TokenKind,
    ) -> Result<(Algorithm, Option<String>), Invalid> {
        let encoded = URL_SAFE_NO_PAD.encode(header_json.to_string());
        let token = format!("{encoded}.e30.c2ln");
        Jws::parse(&token, kind, ALGORITHMS).map(|jws| (jws.alg, jws.kid))
    }

    #[test]
    fn a_plain_rs256_header_yields_its_algorithm_and_key_id() {
        let verdict = header_verdict(json!({ "alg": "RS256", "typ": "JWT", "kid": "k1" }));
        assert_eq!(verdict, Ok((Algorithm::RS256, Some("k1".to_owned()))));
    }

    #[test]
    fn each_unacceptable_header_is_refused() {
        let cases = [
            ("alg none", json!({ "alg": "none" })),
            ("an HMAC alg", json!({ "alg": "HS256" })),
            ("an alg the issuer does not use", json!({ "alg": "ES256" })),
            ("no alg", json!({ "kid": "k1" })),
            ("crit", json!({ "alg": "RS256", "crit": ["exp"] })),
            ("a null crit", json!({ "alg": "RS256", "crit": null })),
            ("enc (a JWE)", json!({ "alg": "RS256", "enc": "A256GCM" })),
            ("typ at+jwt", json!({ "alg": "RS256", "typ": "at+jwt" })),
            ("a null typ", json!({ "alg": "RS256", "typ": null })),
        ];
        for (case, header_json) in cases {
            assert!(
                header_verdict(header_json).is_err(),
                "a header with {case} was accepted"
            );
        }
        assert_eq!(
            Jws::parse("a.b.c.d.e", TokenKind::IdToken, ALGORITHMS).unwrap_err(),
            Invalid::NotAJws
        );
    }

    #[test]
    fn a_token_with_a_signature_of_other_content_is_refused() {
        let token = token_with(json!({}));
        let other = token_with(json!({ "sub": "00u1mallory" }));
        let (message, _) = token.rsplit_once('.').unwrap();
        let (_, signature) = other.rsplit_once('.').unwrap();
        let forged = format!("{message}.{signature}");
        let jws = Jws::parse(&forged, TokenKind::IdToken, ALGORITHMS).unwrap();
        assert_eq!(
            verify_id_token(&jws, &[key()], &expected()).unwrap_err(),
            Invalid::Signature
        );
    }

    #[test]
    fn a_universal_logout_token_must_say_so_in_typ_and_an_id_token_must_not() {
        let logout = json!({ "alg": "RS256", "typ": "global-token-revocation+jwt" });
        assert!(header_verdict_as(logout.clone(), TokenKind::GlobalTokenRevocation).is_ok());
        assert!(header_verdict_as(logout, TokenKind::IdToken).is_err());
        for typ in [
            json!({ "alg": "RS256", "typ": "JWT" }),
            json!({ "alg": "RS256" }),
        ] {
            assert!(header_verdict_as(typ, TokenKind::GlobalTokenRevocation).is_err());
        }
    }

    const ENDPOINT: &str = "https://orgpass.example/sso/acme-okta/global-token-revocation";

    fn revocation_expected() -> RevocationExpected<'static> {
        RevocationExpected {
            issuer: "https://acme.okta.example",
            client_id: "0oa-client",
            audience: ENDPOINT,
            leeway_secs: 60,
            now: NOW,
        }
    }

    /// A Universal Logout token as Okta signs it, with `changes` applied (`null` removes).
    fn revocation_token_with(changes: Value) -> String {
        let mut claims = json!({
            "iss": "https://acme.okta.example",
            "sub": "0oa-client",
            "aud": ENDPOINT,
            "jti": "jti-1",
            "iat": NOW - 5,
            "nbf": NOW - 305,
            "exp": NOW + 295,
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("global-token-revocation+jwt".to_owned());
        let signing = EncodingKey::from_rsa_pem(PEM.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &signing).unwrap()
    }

    fn revocation_verdict(changes: Value) -> Result<RevocationClaims, Invalid> {
        let token = revocation_token_with(changes);
        let jws = Jws::parse(&token, TokenKind::GlobalTokenRevocation, ALGORITHMS)?;
        verify_revocation_token(&jws, &[key()], &revocation_expected())
    }

    #[test]
    fn a_universal_logout_token_as_okta_signs_it_is_accepted() {
        let claims = revocation_verdict(json!({})).unwrap();
        assert_eq!(claims.jti, "jti-1");
        assert!(revocation_verdict(json!({ "aud": [ENDPOINT] })).is_ok());
    }

    #[test]
    fn each_broken_universal_logout_claim_is_refused() {
        let cases = [
            (
                "another issuer",
                json!({ "iss": "https://acme.okta.example.evil" }),
            ),
            ("another client as sub", json!({ "sub": "0oa-other" })),
            ("no sub", json!({ "sub": null })),
            (
                "another endpoint as aud",
                json!({ "aud": format!("{ENDPOINT}x") }),
            ),
            ("no aud", json!({ "aud": null })),
            ("expired beyond the leeway", json!({ "exp": NOW - 61 })),
            ("no exp", json!({ "exp": null })),
            ("no iat", json!({ "iat": null })),
            ("iat in the future", json!({ "iat": NOW + 61 })),
            ("nbf in the future", json!({ "nbf": NOW + 61 })),
            (
                "a lifetime over 15 minutes",
                json!({ "iat": NOW - 10, "exp": NOW + 15 * 60 }),
            ),
            ("no jti", json!({ "jti": null })),
            ("an empty jti", json!({ "jti": "" })),
        ];
        for (case, changes) in cases {
            assert!(
                matches!(
                    revocation_verdict(changes),
                    Err(Invalid::Claim(..) | Invalid::Malformed(_))
                ),
                "a Universal Logout token with {case} was not refused"
            );
        }
    }

    mod properties {
        use std::sync::LazyLock;

        use proptest::prelude::*;
        use serde_json::Map;

        use super::*;

        const ISSUER: &str = "https://acme.okta.example";
        const CLIENT: &str = "0oa-client";

        static SIGNING: LazyLock<EncodingKey> =
            LazyLock::new(|| EncodingKey::from_rsa_pem(PEM.as_bytes()).expect("the fixture key"));
        static KEYS: LazyLock<[Arc<VerificationKey>; 1]> = LazyLock::new(|| [key()]);

        /// Any JSON value, a few levels deep.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
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

        /// One member of a JSON object: usually `usual` (`None`: absent), else absent, one of
        /// `others`, or any JSON at all.
        fn member(usual: Option<Value>, others: Vec<Value>) -> BoxedStrategy<Option<Value>> {
            prop_oneof![
                16 => Just(usual),
                1 => Just(None),
                2 => prop::sample::select(others).prop_map(Some),
                1 => json_value().prop_map(Some),
            ]
            .boxed()
        }

        /// An object of `members` over arbitrary extra members (which the named ones replace).
        fn object(
            members: Vec<(&'static str, BoxedStrategy<Option<Value>>)>,
        ) -> impl Strategy<Value = Value> {
            let (names, values): (Vec<_>, Vec<_>) = members.into_iter().unzip();
            let extra = prop::collection::btree_map(any::<String>(), json_value(), 0..3);
            let padding = prop_oneof![4 => Just(None), 1 => (0usize..3000).prop_map(Some)];
            (values, extra, padding).prop_map(move |(values, extra, padding)| {
                let mut object: Map<String, Value> = extra.into_iter().collect();
                if let Some(length) = padding {
                    object.insert("padding".to_owned(), Value::from("x".repeat(length)));
                }
                for (name, value) in names.iter().zip(values) {
                    match value {
                        Some(value) => object.insert((*name).to_owned(), value),
                        None => object.remove(*name),
                    };
                }
                Value::Object(object)
            })
        }

        fn times(usual: Option<i64>) -> BoxedStrategy<Option<Value>> {
            let others = vec![
                json!(NOW - 61),
                json!(NOW - 60),
                json!(NOW - 59),
                json!(NOW + 59),
                json!(NOW + 60),
                json!(NOW + 61),
                json!(NOW + 15 * 60),
                json!(i64::MAX),
                json!(i64::MIN),
                json!(u64::MAX),
                json!(1_800_000_000.5),
                json!(1.8e9),
                json!("1800000000"),
                json!(0),
                Value::Null,
            ];
            member(usual.map(Value::from), others)
        }

        fn at_hash_of_the_access_token() -> String {
            URL_SAFE_NO_PAD.encode(&Sha256::digest(b"access")[..16])
        }

        /// A JOSE header near the acceptable ones: `alg`, `typ`, `kid` (up to 700 bytes, past
        /// the decoder's stack buffer), rarely `crit` or `enc`, and arbitrary members.
        fn header() -> impl Strategy<Value = Value> {
            let rare = |others: Vec<Value>| {
                prop_oneof![
                    10 => Just(None),
                    1 => prop::sample::select(others).prop_map(Some),
                    1 => json_value().prop_map(Some),
                ]
                .boxed()
            };
            let kid = prop_oneof![
                8 => Just(Some(json!("k1"))),
                2 => Just(None),
                1 => (0usize..700).prop_map(|n| Some(json!("k".repeat(n)))),
                1 => prop::sample::select(vec![json!(null), json!(1), json!("k\"1\\é")])
                    .prop_map(Some),
            ]
            .boxed();
            object(vec![
                (
                    "alg",
                    member(
                        Some(json!("RS256")),
                        vec![
                            json!("none"),
                            json!("HS256"),
                            json!("ES256"),
                            json!("PS256"),
                            json!("rs256"),
                            json!(null),
                        ],
                    ),
                ),
                (
                    "typ",
                    prop_oneof![
                        Just(None),
                        Just(Some(json!("JWT"))),
                        Just(Some(json!("global-token-revocation+jwt"))),
                    ]
                    .prop_flat_map(|usual| {
                        member(
                            usual,
                            vec![
                                json!("JWT"),
                                json!("jwt"),
                                json!("application/JWT"),
                                json!("global-token-revocation+jwt"),
                                json!("application/Global-Token-Revocation+JWT"),
                                json!("at+jwt"),
                                json!(null),
                            ],
                        )
                    })
                    .boxed(),
                ),
                ("kid", kid),
                ("crit", rare(vec![json!(["exp"]), json!(null)])),
                ("enc", rare(vec![json!("A256GCM"), json!(null)])),
            ])
        }

        /// Whether `Jws::parse` must accept this header, from the rules in its doc comment.
        fn header_is_acceptable(header: &Value, kind: TokenKind) -> bool {
            let Some(header) = header.as_object() else {
                return false;
            };
            let typ_ok = match (header.get("typ"), kind) {
                (None, TokenKind::IdToken) => true,
                (Some(Value::String(typ)), _) => {
                    let typ = typ.strip_prefix("application/").unwrap_or(typ);
                    match kind {
                        TokenKind::IdToken => typ.eq_ignore_ascii_case("jwt"),
                        TokenKind::GlobalTokenRevocation => {
                            typ.eq_ignore_ascii_case("global-token-revocation+jwt")
                        }
                    }
                }
                _ => false,
            };
            !header.contains_key("crit")
                && !header.contains_key("enc")
                && typ_ok
                && matches!(
                    header.get("kid"),
                    None | Some(Value::Null | Value::String(_))
                )
                && header.get("alg") == Some(&json!("RS256"))
        }

        /// An ID token's claims near the valid ones (those of `token_with`).
        fn id_claims() -> impl Strategy<Value = Value> {
            let text = |usual: &str, others: Vec<Value>| member(Some(json!(usual)), others);
            object(vec![
                (
                    "iss",
                    text(
                        ISSUER,
                        vec![
                            json!(format!("{ISSUER}/")),
                            json!(format!("{ISSUER}.evil")),
                            json!(""),
                            json!(1),
                        ],
                    ),
                ),
                (
                    "sub",
                    text("00u1ada", vec![json!(""), json!(7), json!(null)]),
                ),
                (
                    "aud",
                    text(
                        CLIENT,
                        vec![
                            json!("other"),
                            json!([CLIENT]),
                            json!([CLIENT, "other"]),
                            json!(["other"]),
                            json!([]),
                            json!([CLIENT, 1]),
                            json!([[CLIENT]]),
                            json!({ "0": CLIENT }),
                            json!(null),
                        ],
                    ),
                ),
                ("iat", times(Some(NOW - 5))),
                ("exp", times(Some(NOW + 3600))),
                ("nbf", times(None)),
                (
                    "nonce",
                    text(
                        "the-nonce",
                        vec![
                            json!("the-nonce-2"),
                            json!("the-nonc"),
                            json!(""),
                            json!(null),
                        ],
                    ),
                ),
                (
                    "azp",
                    member(
                        None,
                        vec![json!(CLIENT), json!("other"), json!(""), json!(null)],
                    ),
                ),
                (
                    "at_hash",
                    member(
                        None,
                        vec![
                            json!(at_hash_of_the_access_token()),
                            json!(format!("{}==", at_hash_of_the_access_token())),
                            json!(format!("{}A", at_hash_of_the_access_token())),
                            json!(URL_SAFE_NO_PAD.encode(Sha256::digest(b"access"))),
                            json!("AAAAAAAAAAAAAAAAAAAAAA"),
                            json!(""),
                            json!(null),
                        ],
                    ),
                ),
                (
                    "name",
                    member(None, vec![json!("Ada"), json!(null), json!(["Ada"])]),
                ),
                (
                    "email",
                    member(None, vec![json!("ada@acme.example"), json!(null), json!(1)]),
                ),
            ])
        }

        /// A Universal Logout token's claims near the valid ones (`revocation_token_with`).
        fn revocation_claims() -> impl Strategy<Value = Value> {
            let text = |usual: &str, others: Vec<Value>| member(Some(json!(usual)), others);
            object(vec![
                (
                    "iss",
                    text(ISSUER, vec![json!(format!("{ISSUER}.evil")), json!(null)]),
                ),
                (
                    "sub",
                    text(CLIENT, vec![json!("0oa-other"), json!(""), json!(null)]),
                ),
                (
                    "aud",
                    text(
                        ENDPOINT,
                        vec![
                            json!([ENDPOINT]),
                            json!([ENDPOINT, "other"]),
                            json!(format!("{ENDPOINT}x")),
                            json!([]),
                            json!(null),
                        ],
                    ),
                ),
                (
                    "jti",
                    text(
                        "jti-1",
                        vec![
                            json!(""),
                            json!("j".repeat(256)),
                            json!("j".repeat(257)),
                            json!(1),
                        ],
                    ),
                ),
                ("iat", times(Some(NOW - 5))),
                ("nbf", times(Some(NOW - 305))),
                ("exp", times(Some(NOW + 295))),
            ])
        }

        /// A member that may be absent or `null` (`Some(None)`), else must have the type `get`
        /// reads; `None`: it has another type, which fails deserialization.
        fn optional<'v, T>(
            value: Option<&'v Value>,
            get: impl Fn(&'v Value) -> Option<T>,
        ) -> Option<Option<T>> {
            match value {
                None | Some(Value::Null) => Some(None),
                Some(value) => get(value).map(Some),
            }
        }

        fn audience(value: &Value) -> Option<Vec<&str>> {
            match value {
                Value::String(one) => Some(vec![one.as_str()]),
                Value::Array(all) => all.iter().map(Value::as_str).collect(),
                _ => None,
            }
        }

        /// Whether an ID token with these claims must be accepted: OpenID Connect Core
        /// §3.1.3.7 as `expected()` and `Claim::ID_TOKEN` put it, read off the JSON.
        fn id_token_is_valid(claims: &Value) -> bool {
            let leeway = 60;
            let verdict = || -> Option<bool> {
                let claims = claims.as_object()?;
                let iss = claims.get("iss")?.as_str()?;
                let sub = claims.get("sub")?.as_str()?;
                let aud = audience(claims.get("aud")?)?;
                let exp = claims.get("exp")?.as_i64()?;
                let iat = claims.get("iat")?.as_i64()?;
                let nbf = optional(claims.get("nbf"), Value::as_i64)?;
                let nonce = optional(claims.get("nonce"), Value::as_str)?;
                let azp = optional(claims.get("azp"), Value::as_str)?;
                let at_hash = optional(claims.get("at_hash"), Value::as_str)?;
                optional(claims.get("name"), Value::as_str)?;
                optional(claims.get("email"), Value::as_str)?;
                Some(
                    iss == ISSUER
                        && aud.contains(&CLIENT)
                        && !sub.is_empty()
                        && exp.saturating_add(leeway) > NOW
                        && nbf.is_none_or(|nbf| nbf <= NOW + leeway)
                        && iat <= NOW + leeway
                        && (azp == Some(CLIENT) || (azp.is_none() && aud.len() == 1))
                        && nonce == Some("the-nonce")
                        && at_hash.is_none_or(|hash| hash == at_hash_of_the_access_token()),
                )
            };
            verdict().unwrap_or(false)
        }

        /// Whether a Universal Logout token with these claims must be accepted, as
        /// `revocation_expected()` and `verify_revocation_token`'s doc comment put it.
        fn revocation_is_valid(claims: &Value) -> bool {
            let leeway = 60;
            let verdict = || -> Option<bool> {
                let claims = claims.as_object()?;
                let iss = claims.get("iss")?.as_str()?;
                let sub = claims.get("sub")?.as_str()?;
                let aud = audience(claims.get("aud")?)?;
                let iat = claims.get("iat")?.as_i64()?;
                let exp = claims.get("exp")?.as_i64()?;
                let nbf = optional(claims.get("nbf"), Value::as_i64)?;
                let jti = claims.get("jti")?.as_str()?;
                Some(
                    iss == ISSUER
                        && sub == CLIENT
                        && aud.contains(&ENDPOINT)
                        && exp.saturating_add(leeway) > NOW
                        && iat <= NOW + leeway
                        && nbf.is_none_or(|nbf| nbf <= NOW + leeway)
                        && exp.saturating_sub(iat) <= MAX_REVOCATION_LIFETIME_SECS
                        && !jti.is_empty()
                        && jti.len() <= 256,
                )
            };
            verdict().unwrap_or(false)
        }

        /// `header.payload.signature` with each part base64url-encoded.
        fn compact(header: &[u8], payload: &[u8], signature: &[u8]) -> String {
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(signature)
            )
        }

        /// A token signed with the fixture key, whatever its header and payload bytes.
        fn signed(header: &Value, payload: &[u8]) -> String {
            let message = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload)
            );
            let signature =
                jsonwebtoken::crypto::sign(message.as_bytes(), &SIGNING, Algorithm::RS256)
                    .expect("the fixture key signs");
            format!("{message}.{signature}")
        }

        /// Either the JSON of `claims` or arbitrary bytes (which are rarely JSON).
        fn payload(claims: impl Strategy<Value = Value>) -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                6 => claims.prop_map(|claims| claims.to_string().into_bytes()),
                1 => json_value().prop_map(|value| value.to_string().into_bytes()),
                1 => prop::collection::vec(any::<u8>(), 0..64),
            ]
        }

        fn json_of(bytes: &[u8]) -> Value {
            serde_json::from_slice(bytes).unwrap_or(Value::Null)
        }

        fn is_refused<T>(verdict: &Result<T, Invalid>) -> bool {
            verdict.is_err()
        }

        proptest! {
            #[test]
            fn arbitrary_text_as_a_token_never_panics_and_is_refused(
                token in prop_oneof![
                    any::<String>(),
                    "[A-Za-z0-9_=+/.-]{0,80}",
                    "e[A-Za-z0-9_-]{0,30}\\.[A-Za-z0-9_-]{0,30}\\.[A-Za-z0-9_-]{0,30}",
                ],
            ) {
                for kind in [TokenKind::IdToken, TokenKind::GlobalTokenRevocation] {
                    if let Ok(jws) = Jws::parse(&token, kind, ALGORITHMS) {
                        prop_assert_eq!(token.matches('.').count(), 2);
                        prop_assert_eq!(jws.alg, Algorithm::RS256);
                        prop_assert!(is_refused(&verify_id_token(&jws, &*KEYS, &expected())));
                        prop_assert!(is_refused(&verify_revocation_token(
                            &jws,
                            &*KEYS,
                            &revocation_expected()
                        )));
                    }
                }
            }

            #[test]
            fn an_arbitrary_three_part_token_is_parsed_by_the_header_rules_and_refused_unsigned(
                header in prop_oneof![
                    4 => header().prop_map(|header| header.to_string().into_bytes()),
                    1 => json_value().prop_map(|value| value.to_string().into_bytes()),
                    1 => prop::collection::vec(any::<u8>(), 0..64),
                ],
                payload in payload(id_claims()),
                signature in prop::collection::vec(any::<u8>(), 0..300),
                extra_dots in prop_oneof![6 => Just(0usize), 1 => 1usize..3],
            ) {
                let mut token = compact(&header, &payload, &signature);
                if extra_dots > 0 {
                    token.push_str(&".e30".repeat(extra_dots));
                }
                for kind in [TokenKind::IdToken, TokenKind::GlobalTokenRevocation] {
                    let parsed = Jws::parse(&token, kind, ALGORITHMS);
                    let acceptable =
                        extra_dots == 0 && header_is_acceptable(&json_of(&header), kind);
                    prop_assert_eq!(parsed.is_ok(), acceptable, "{:?} {:?}", kind, parsed);
                    if let Ok(jws) = parsed {
                        prop_assert_eq!(
                            verify_id_token(&jws, &*KEYS, &expected()).unwrap_err(),
                            Invalid::Signature
                        );
                        prop_assert_eq!(
                            verify_revocation_token(&jws, &*KEYS, &revocation_expected())
                                .unwrap_err(),
                            Invalid::Signature
                        );
                    }
                }
            }

            #[test]
            fn a_token_in_non_canonical_base64_never_panics_and_is_refused(
                header in header(),
                payload in payload(id_claims()),
                padding in prop::sample::select(vec!["=", "==", "A", "AB", "+", "/", " ", "%3D"]),
                part in 0usize..3,
            ) {
                let token = signed(&header, &payload);
                let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
                parts[part].push_str(padding);
                let token = parts.join(".");
                for kind in [TokenKind::IdToken, TokenKind::GlobalTokenRevocation] {
                    if let Ok(jws) = Jws::parse(&token, kind, ALGORITHMS) {
                        prop_assert!(is_refused(&verify_id_token(&jws, &*KEYS, &expected())));
                        prop_assert!(is_refused(&verify_revocation_token(
                            &jws,
                            &*KEYS,
                            &revocation_expected()
                        )));
                    }
                }
            }

            #[test]
            fn a_signed_id_token_of_arbitrary_claims_is_accepted_exactly_when_every_claim_is_valid(
                payload in payload(id_claims()),
            ) {
                let token = signed(&json!({ "alg": "RS256", "typ": "JWT", "kid": "k1" }), &payload);
                let jws = Jws::parse(&token, TokenKind::IdToken, ALGORITHMS)
                    .expect("a good header");
                let verdict = verify_id_token(&jws, &*KEYS, &expected());
                prop_assert_eq!(
                    verdict.is_ok(),
                    id_token_is_valid(&json_of(&payload)),
                    "{:?} for {}",
                    verdict,
                    String::from_utf8_lossy(&payload)
                );
                if let Ok(claims) = verdict {
                    prop_assert!(!claims.sub.is_empty());
                }
                // The same claims as a Universal Logout token: its header says it is not one.
                let as_logout = Jws::parse(&token, TokenKind::GlobalTokenRevocation, ALGORITHMS);
                prop_assert!(as_logout.is_err());
            }

            #[test]
            fn a_signed_logout_token_is_accepted_exactly_when_every_claim_is_valid(
                payload in payload(revocation_claims()),
            ) {
                let header = json!({ "alg": "RS256", "typ": "global-token-revocation+jwt" });
                let token = signed(&header, &payload);
                let jws = Jws::parse(&token, TokenKind::GlobalTokenRevocation, ALGORITHMS)
                    .expect("a good header");
                let verdict = verify_revocation_token(&jws, &*KEYS, &revocation_expected());
                prop_assert_eq!(
                    verdict.is_ok(),
                    revocation_is_valid(&json_of(&payload)),
                    "{:?} for {}",
                    verdict,
                    String::from_utf8_lossy(&payload)
                );
                // Never an ID token, whatever it says.
                prop_assert!(Jws::parse(&token, TokenKind::IdToken, ALGORITHMS).is_err());
            }
        }
    }
}
