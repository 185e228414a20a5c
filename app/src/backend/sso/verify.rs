//! ID token validation (OpenID Connect Core §3.1.3.7), all of it, in one function over the
//! token text and its candidate keys, so its cost can be measured against the bare signature.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::keys::VerificationKey;

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

/// The claims Orgpass uses, after every check passed.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub iat: i64,
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
    /// Checked against the client id by `jsonwebtoken`; only its size matters here.
    #[serde(default)]
    aud: serde_json::Value,
}

impl IdTokenClaims {
    fn audience_count(&self) -> usize {
        match &self.aud {
            serde_json::Value::Array(all) => all.len(),
            serde_json::Value::Null => 0,
            _ => 1,
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
    #[error("claim check failed: {0}")]
    Claims(String),
}

/// The signing algorithm and key id from the token's header, after the header checks: exactly
/// three parts (no JWE), no `crit`, `typ` absent or JWT, `alg` on the allow-list.
pub fn header(
    token: &str,
    algorithms: &[Algorithm],
) -> Result<(Algorithm, Option<String>), Invalid> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid::NotAJws);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| Invalid::NotAJws)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| Invalid::NotAJws)?;
    if header.contains_key("crit") {
        return Err(Invalid::Header("crit is not supported".into()));
    }
    if header.contains_key("enc") {
        return Err(Invalid::NotAJws);
    }
    match header.get("typ").map(|typ| typ.as_str()) {
        None => {}
        Some(Some(typ))
            if typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case("application/jwt") => {}
        Some(other) => return Err(Invalid::Header(format!("typ {other:?} is not JWT"))),
    }
    let alg = header
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .and_then(|name| name.parse::<Algorithm>().ok())
        .filter(|alg| algorithms.contains(alg))
        .ok_or_else(|| Invalid::Header(format!("alg {:?} is not allowed", header.get("alg"))))?;
    let kid = header
        .get("kid")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Ok((alg, kid))
}

/// Verifies `token` with the first of `keys` that fits and checks every claim.
pub fn verify_id_token(
    token: &str,
    keys: &[Arc<VerificationKey>],
    expected: &Expected<'_>,
) -> Result<IdTokenClaims, Invalid> {
    let (alg, _) = header(token, expected.algorithms)?;
    let mut validation = Validation::new(alg);
    validation.leeway = expected.leeway_secs;
    validation.validate_nbf = true;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

    let mut outcome = Err(Invalid::Signature);
    for key in keys.iter().filter(|key| key.fits(alg)) {
        match jsonwebtoken::decode::<IdTokenClaims>(token, &key.key, &validation) {
            Ok(data) => {
                outcome = Ok(data.claims);
                break;
            }
            Err(error)
                if matches!(
                    error.kind(),
                    jsonwebtoken::errors::ErrorKind::InvalidSignature
                ) => {}
            Err(error) => {
                outcome = Err(Invalid::Claims(error.to_string()));
                break;
            }
        }
    }
    let claims = outcome?;
    check_claims(&claims, expected)?;
    Ok(claims)
}

fn check_claims(claims: &IdTokenClaims, expected: &Expected<'_>) -> Result<(), Invalid> {
    let fail = |why: &str| Err(Invalid::Claims(why.to_owned()));
    let leeway = i64::try_from(expected.leeway_secs).unwrap_or(i64::MAX);
    if claims.iat > expected.now.saturating_add(leeway) {
        return fail("iat is in the future");
    }
    // Several audiences: the token must say it was issued to us (azp).
    if (claims.audience_count() > 1 || claims.azp.is_some())
        && claims.azp.as_deref() != Some(expected.client_id)
    {
        return fail("azp is not this client");
    }
    let nonce_matches = claims
        .nonce
        .as_deref()
        .is_some_and(|nonce| bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())));
    if !nonce_matches {
        return fail("nonce is missing or not the one sent");
    }
    if let Some(at_hash) = &claims.at_hash {
        // Every allowed algorithm hashes with SHA-256: the left half of the digest.
        let digest = Sha256::digest(expected.access_token.as_bytes());
        let computed = URL_SAFE_NO_PAD.encode(&digest[..16]);
        if !bool::from(computed.as_bytes().ct_eq(at_hash.as_bytes())) {
            return fail("at_hash does not match the access token");
        }
    }
    Ok(())
}
