//! Finishing a sign-in: the redirect back from Okta to `/sso/{instance}/callback`.

use openidconnect::{
    AccessToken, AuthorizationCode, OAuth2TokenResponse, PkceCodeVerifier, RequestTokenError,
    TokenResponse,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::SsoError;
use super::flows::PendingFlow;
use super::keys::KeyError;
use super::providers::{self, Metadata, OidcClient};
use super::verify::{self, Expected, IdTokenClaims};
use crate::backend::AppState;
use crate::backend::db::now;
use crate::backend::registry::{self, InstanceCredentials, SecretSlot};
use crate::backend::sessions::{self, SessionToken, VerifiedIdentity};
use crate::backend::tokens::digest;
use crate::domain::{InstanceId, IssuerUrl, ReturnPath};

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
    // The flow and the credentials on one checkout, released before any call to the IdP.
    let mut conn = app.sign_in_db.acquire().await?;
    let flow = app
        .flows
        .take(&mut conn, state)
        .await?
        .ok_or(SsoError::UnknownFlow)?;
    let same_browser = browser_binding
        .is_some_and(|b| bool::from(digest(b).as_bytes().ct_eq(flow.browser_hash.as_bytes())));
    if !same_browser || flow.instance != *instance {
        return Err(SsoError::FlowMismatch);
    }
    let credentials = registry::enabled_credentials(&mut *conn, &app.vault, instance)
        .await?
        .ok_or(SsoError::UnknownInstance)?;
    drop(conn);

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
    if credentials.instance.issuer != flow.issuer {
        return Err(SsoError::IssuerMismatch(
            "the instance's issuer changed during sign-in".into(),
        ));
    }
    let (id_token, access_token) = exchange_code(app, &metadata, &credentials, &flow, code).await?;

    let algorithms = providers::signing_algorithms(&metadata);
    let (_, kid) = verify::header(&id_token, &algorithms).map_err(invalid_token)?;
    let keys = app
        .providers
        .keys
        .resolve(metadata.jwks_uri().as_str(), kid.as_deref())
        .await
        .map_err(|error| match error {
            KeyError::Unknown(_) => SsoError::InvalidIdToken(error.to_string()),
            KeyError::Unavailable(why) => SsoError::ProviderUnavailable(why),
        })?;
    let expected = Expected {
        issuer: flow.issuer.as_str(),
        client_id: &credentials.instance.client_id,
        nonce: &flow.nonce,
        algorithms: &algorithms,
        access_token: access_token.secret(),
        leeway_secs: app.settings.clock_leeway.as_secs(),
        now: now(),
    };
    let mut claims = verify::verify_id_token(&id_token, &keys, &expected).map_err(invalid_token)?;
    if claims.name.is_none() || claims.email.is_none() {
        complete_from_userinfo(app, &metadata, &access_token, &mut claims).await?;
    }
    let identity = VerifiedIdentity {
        instance: flow.instance.clone(),
        issuer: flow.issuer.clone(),
        sub: claims.sub,
        name: claims.name,
        email: claims.email,
    };

    let session = sessions::sign_in(
        &mut *app.sign_in_db.acquire().await?,
        &identity,
        app.settings.session_ttl,
    )
    .await?;
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

/// Fills in a name or email the ID token left out from the issuer's userinfo endpoint, whose
/// `sub` must be the ID token's (a mismatch means a substituted token: refuse).
async fn complete_from_userinfo(
    app: &AppState,
    metadata: &Metadata,
    access_token: &AccessToken,
    claims: &mut IdTokenClaims,
) -> Result<(), SsoError> {
    let Some(endpoint) = metadata.userinfo_endpoint() else {
        return Ok(());
    };
    let response = app
        .providers
        .http()
        .get(endpoint.url().as_str())
        .bearer_auth(access_token.secret())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| SsoError::ProviderUnavailable(format!("userinfo: {e}")))?;
    if !response.status().is_success() {
        return Err(SsoError::ProviderUnavailable(format!(
            "userinfo: HTTP {}",
            response.status()
        )));
    }
    let info: UserInfo = response
        .json()
        .await
        .map_err(|e| SsoError::InvalidIdToken(format!("malformed userinfo response: {e}")))?;
    if info.sub != claims.sub {
        return Err(SsoError::InvalidIdToken(
            "userinfo sub differs from the ID token's".into(),
        ));
    }
    claims.name = claims.name.take().or(info.name);
    claims.email = claims.email.take().or(info.email);
    Ok(())
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

fn invalid_token(reason: verify::Invalid) -> SsoError {
    SsoError::InvalidIdToken(reason.to_string())
}

/// Exchanges the code at the token endpoint of the flow's issuer (never one named by the
/// response), proving PKCE and authenticating with this instance's current secret. While Okta
/// keeps two secrets active, a refusal with `invalid_client` is retried once with the next one,
/// and the secret that worked is recorded for the settings page.
async fn exchange_code(
    app: &AppState,
    metadata: &Metadata,
    credentials: &InstanceCredentials,
    flow: &PendingFlow,
    code: String,
) -> Result<(String, AccessToken), SsoError> {
    let redirect_uri = app.settings.public_url.callback_url(&flow.instance);
    let current = providers::client(
        metadata,
        credentials,
        &credentials.client_secret,
        redirect_uri.clone(),
    )?;
    let (tokens, slot) = match redeem(app, &current, flow, code.clone()).await {
        Err(SsoError::CodeRejected(error)) if error == "invalid_client" => {
            let Some(next_secret) = &credentials.next_secret else {
                return Err(SsoError::CodeRejected(error));
            };
            let next = providers::client(metadata, credentials, next_secret, redirect_uri)?;
            (redeem(app, &next, flow, code).await?, SecretSlot::Next)
        }
        other => (other?, SecretSlot::Current),
    };
    if credentials.instance.working_secret != Some(slot) {
        registry::record_working_secret(&app.db, &flow.instance, slot).await?;
    }
    Ok(tokens)
}

async fn redeem(
    app: &AppState,
    client: &OidcClient,
    flow: &PendingFlow,
    code: String,
) -> Result<(String, AccessToken), SsoError> {
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
        .map(ToString::to_string)
        .ok_or_else(|| SsoError::InvalidIdToken("no id_token in the token response".into()))?;
    Ok((id_token, response.access_token().clone()))
}
