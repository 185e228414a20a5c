//! Finishing a sign-in: the redirect back from Okta to `/sso/{instance}/callback`.

use chrono::{TimeDelta, Utc};
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClaimsVerificationError, Nonce,
    OAuth2TokenResponse, PkceCodeVerifier, RequestTokenError, SignatureVerificationError,
    TokenResponse,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::SsoError;
use super::flows::{self, PendingFlow};
use super::providers::{self, OidcClient};
use crate::backend::AppState;
use crate::backend::sessions::{self, SessionToken, VerifiedIdentity};
use crate::backend::tenants;
use crate::backend::tokens::digest;
use crate::domain::{InstanceId, IssuerUrl, ReturnPath};

/// How far in the future an `iat` may be, for clock skew between Okta and us.
const CLOCK_LEEWAY: TimeDelta = TimeDelta::seconds(60);

/// The authorization response's query parameters. Not `Debug`: it holds the code.
#[derive(Deserialize, Default)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

pub struct SignedIn {
    pub session: SessionToken,
    pub return_to: ReturnPath,
}

/// Checks the response against the stored flow, exchanges the code with this instance's
/// secret, verifies the ID token and opens a session. The flow is consumed whatever happens.
pub async fn finish(
    app: &AppState,
    instance: &InstanceId,
    params: CallbackParams,
    browser_binding: Option<&str>,
) -> Result<SignedIn, SsoError> {
    let state = params
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(SsoError::UnknownFlow)?;
    let flow = flows::take(&app.db, state)
        .await?
        .ok_or(SsoError::UnknownFlow)?;
    let same_browser = browser_binding
        .is_some_and(|b| bool::from(digest(b).as_bytes().ct_eq(flow.browser_hash.as_bytes())));
    if !same_browser || flow.instance != *instance {
        return Err(SsoError::FlowMismatch);
    }

    let metadata = app.providers.metadata(&flow.issuer).await?;
    let iss_required = metadata
        .additional_metadata()
        .authorization_response_iss_parameter_supported;
    check_response_issuer(params.iss.as_deref(), &flow.issuer, iss_required)?;
    if let Some(code) = params.error {
        return Err(SsoError::ProviderDenied {
            code,
            description: params.error_description.unwrap_or_default(),
        });
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or(SsoError::MissingCode)?;

    let credentials = tenants::enabled_credentials(&app.db, instance)
        .await?
        .ok_or(SsoError::UnknownInstance)?;
    if credentials.instance.issuer != flow.issuer {
        return Err(SsoError::IssuerMismatch(
            "the instance's issuer changed during sign-in".into(),
        ));
    }
    let callback_url = app.settings.public_url.callback_url(instance);
    let client = providers::client(&metadata, &credentials, callback_url.clone())?;
    let (id_token, access_token) = exchange_code(app, &client, &flow, code).await?;
    let verified = match verify_id_token(&client, &id_token, &flow, &access_token) {
        Err(Rejection::UnknownKey) => {
            // The IdP may have rotated its keys since we cached them: refetch once and retry.
            match app.providers.refetch_keys(&flow.issuer).await? {
                Some(refreshed) => {
                    let client = providers::client(&refreshed, &credentials, callback_url)?;
                    verify_id_token(&client, &id_token, &flow, &access_token)
                }
                None => Err(Rejection::UnknownKey),
            }
        }
        other => other,
    };
    let identity = verified.map_err(Rejection::into_error)?;

    let session = sessions::sign_in(&app.db, &identity, app.settings.session_ttl).await?;
    Ok(SignedIn {
        session,
        return_to: flow.return_to,
    })
}

/// RFC 9207: an `iss` that is present must be the flow's issuer; it must be present when the
/// issuer advertises it.
fn check_response_issuer(
    iss: Option<&str>,
    expected: &IssuerUrl,
    required: bool,
) -> Result<(), SsoError> {
    match iss {
        Some(iss) if iss.trim_end_matches('/') == expected.as_str() => Ok(()),
        Some(iss) => Err(SsoError::IssuerMismatch(format!(
            "'{iss}' is not '{expected}'"
        ))),
        None if required => Err(SsoError::IssuerMismatch("missing iss parameter".into())),
        None => Ok(()),
    }
}

enum Rejection {
    /// No published key matches the token: worth one key refetch.
    UnknownKey,
    Error(SsoError),
}

impl Rejection {
    fn into_error(self) -> SsoError {
        match self {
            Self::UnknownKey => SsoError::InvalidIdToken("signed by an unknown key".into()),
            Self::Error(error) => error,
        }
    }
}

/// Exchanges the code at the token endpoint of the flow's issuer (never one named by the
/// response), authenticating with this instance's secret and proving PKCE.
async fn exchange_code(
    app: &AppState,
    client: &OidcClient,
    flow: &PendingFlow,
    code: String,
) -> Result<(CoreIdToken, AccessToken), SsoError> {
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| SsoError::ProviderUnavailable(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(app.providers.http())
        .await
        .map_err(|error| match error {
            RequestTokenError::ServerResponse(refusal) => {
                SsoError::CodeRejected(refusal.error().to_string())
            }
            RequestTokenError::Request(e) => SsoError::ProviderUnavailable(e.to_string()),
            // openidconnect parses the ID token's claims here: a token missing `sub`, `iat`
            // or `aud` fails as a parse error, and must be refused like any invalid token.
            RequestTokenError::Parse(e, _) => {
                SsoError::InvalidIdToken(format!("malformed token response: {e}"))
            }
            RequestTokenError::Other(e) => SsoError::ProviderUnavailable(e),
        })?;
    let id_token = response
        .id_token()
        .cloned()
        .ok_or_else(|| SsoError::InvalidIdToken("no id_token in the token response".into()))?;
    Ok((id_token, response.access_token().clone()))
}

/// Signature (RS256 only: never `none`, never HMAC with the client secret), `iss`, `aud`/`azp`,
/// `exp`, `iat` (required, not in the future), `sub` (required), `nonce`, `at_hash`.
fn verify_id_token(
    client: &OidcClient,
    id_token: &CoreIdToken,
    flow: &PendingFlow,
    access_token: &AccessToken,
) -> Result<VerifiedIdentity, Rejection> {
    let invalid = |why: String| Rejection::Error(SsoError::InvalidIdToken(why));
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256])
        .set_issue_time_verifier_fn(|iat| {
            if iat > Utc::now() + CLOCK_LEEWAY {
                Err("iat is in the future".to_owned())
            } else {
                Ok(())
            }
        });
    let nonce = Nonce::new(flow.nonce.clone());
    let claims: &CoreIdTokenClaims =
        id_token
            .claims(&verifier, &nonce)
            .map_err(|error| match error {
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ) => Rejection::UnknownKey,
                other => invalid(other.to_string()),
            })?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| invalid(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| invalid(e.to_string()))?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|e| invalid(e.to_string()))?;
        if actual != *expected {
            return Err(invalid("at_hash does not match the access token".into()));
        }
    }
    Ok(VerifiedIdentity {
        instance: flow.instance.clone(),
        issuer: flow.issuer.clone(),
        sub: claims.subject().to_string(),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.to_string()),
        email: claims.email().map(|email| email.to_string()),
    })
}
