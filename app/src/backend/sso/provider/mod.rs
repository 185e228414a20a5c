//! The whole conversation with one issuer: its discovery document ([`directory`]), its signing
//! keys ([`keys`]) and the no-redirect HTTP client, behind one [`Provider`] that builds the
//! authorization URL, exchanges a code, verifies ID tokens and Universal Logout tokens, reads
//! userinfo and builds the end-session URL.

mod bounded;
mod cache_control;
pub mod directory;
pub mod keys;
pub mod probe;
#[cfg(test)]
mod test_idp;

use std::sync::Arc;

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AccessToken, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RequestTokenError, Scope, TokenResponse,
};
use serde::Deserialize;

pub use directory::ProviderDirectory;
use directory::{Metadata, OidcClient};
use keys::{KeyError, VerificationKey};

use super::SsoError;
use super::verify::{self, Expected, IdTokenClaims, Jws, RevocationClaims, RevocationExpected};
use crate::backend::registry::InstanceCredentials;
use crate::domain::{ClientSecret, IssuerUrl};

/// One issuer, its discovery document loaded. Handed out by [`ProviderDirectory::provider`].
pub struct Provider<'d> {
    directory: &'d ProviderDirectory,
    issuer: IssuerUrl,
    metadata: Arc<Metadata>,
}

/// Where to send the browser, and what the flow must remember to finish. Not `Debug`.
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A successful token response. Not `Debug`: it holds the tokens.
pub struct Tokens {
    pub id_token: String,
    access_token: AccessToken,
}

impl Tokens {
    pub fn access_token(&self) -> &str {
        self.access_token.secret()
    }
}

/// A name or email the ID token left out, from userinfo.
#[derive(Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// Why a token did not verify.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A header, signature or claim check failed.
    #[error(transparent)]
    Invalid(#[from] verify::Invalid),
    /// No published key has the token's `kid`, even after a refetch.
    #[error("no published key matches kid {0:?}")]
    UnknownKey(Option<String>),
    /// The issuer's keys could not be fetched.
    #[error("the signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

impl From<TokenError> for SsoError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::KeysUnavailable(why) => Self::ProviderUnavailable(why),
            invalid => Self::InvalidIdToken(invalid.to_string()),
        }
    }
}

/// What an ID token must match besides its issuer, which the provider knows.
pub struct IdTokenExpectations<'a> {
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub access_token: &'a str,
    pub leeway_secs: u64,
    pub now: i64,
}

impl<'d> Provider<'d> {
    pub(super) fn new(
        directory: &'d ProviderDirectory,
        issuer: IssuerUrl,
        metadata: Arc<Metadata>,
    ) -> Self {
        Self {
            directory,
            issuer,
            metadata,
        }
    }

    pub fn issuer(&self) -> &IssuerUrl {
        &self.issuer
    }

    /// RFC 9207: the issuer promises `iss` in every authorization response.
    pub fn requires_response_iss(&self) -> bool {
        self.metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
    }

    /// The authorization URL for one instance: code flow, PKCE S256 always (even if the
    /// metadata omits it, RFC 9700 §4.8), a fresh `state` and `nonce`, scopes `openid email
    /// profile`, and the `login_hint` when one is given.
    pub fn authorize_url(
        &self,
        credentials: &InstanceCredentials,
        redirect_uri: String,
        login_hint: Option<&str>,
    ) -> Result<AuthorizationRequest, SsoError> {
        let client = self.client(credentials, &credentials.client_secret, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut authorize = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            authorize = authorize.add_extra_param("login_hint", hint);
        }
        let (url, state, nonce) = authorize.url();
        Ok(AuthorizationRequest {
            url: url.into(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Redeems `code` at this issuer's token endpoint (never one named by the response),
    /// proving PKCE and authenticating with `secret`. A refusal with `invalid_client` is
    /// [`SsoError::InvalidClient`], so a rotation can retry with the next secret.
    pub async fn exchange(
        &self,
        credentials: &InstanceCredentials,
        secret: &ClientSecret,
        redirect_uri: String,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<Tokens, SsoError> {
        let client = self.client(credentials, secret, redirect_uri)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::ProviderUnavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&bounded::BoundedClient(self.directory.http()))
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(refusal) => match refusal.error() {
                    openidconnect::core::CoreErrorResponseType::InvalidClient => {
                        SsoError::InvalidClient
                    }
                    other => SsoError::CodeRejected(other.to_string()),
                },
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
        Ok(Tokens {
            id_token,
            access_token: response.access_token().clone(),
        })
    }

    /// Verifies an ID token of this issuer (`sso::verify` does every check; the key is
    /// resolved here by the header's `kid`).
    pub async fn verify_id_token(
        &self,
        token: &str,
        expected: &IdTokenExpectations<'_>,
    ) -> Result<IdTokenClaims, TokenError> {
        let algorithms = directory::signing_algorithms(&self.metadata);
        let jws = Jws::parse(token, verify::TokenKind::IdToken, &algorithms)?;
        let keys = self.keys_for(&jws).await?;
        let expected = Expected {
            issuer: self.issuer.as_str(),
            client_id: expected.client_id,
            nonce: expected.nonce,
            algorithms: &algorithms,
            access_token: expected.access_token,
            leeway_secs: expected.leeway_secs,
            now: expected.now,
        };
        Ok(verify::verify_id_token(&jws, &keys, &expected)?)
    }

    /// Verifies a Universal Logout token of this issuer, signed with the same keys as its ID
    /// tokens (an unknown `kid` refetches under the same single-flight and cooldown rules).
    pub async fn verify_revocation_token(
        &self,
        token: &str,
        client_id: &str,
        audience: &str,
        leeway_secs: u64,
        now: i64,
    ) -> Result<RevocationClaims, TokenError> {
        let algorithms = directory::signing_algorithms(&self.metadata);
        let jws = Jws::parse(token, verify::TokenKind::GlobalTokenRevocation, &algorithms)?;
        let keys = self.keys_for(&jws).await?;
        let expected = RevocationExpected {
            issuer: self.issuer.as_str(),
            client_id,
            audience,
            leeway_secs,
            now,
        };
        Ok(verify::verify_revocation_token(&jws, &keys, &expected)?)
    }

    async fn keys_for(&self, jws: &Jws<'_>) -> Result<Vec<Arc<VerificationKey>>, TokenError> {
        self.directory
            .keys()
            .resolve(self.metadata.jwks_uri().as_str(), jws.kid.as_deref())
            .await
            .map_err(|error| match error {
                KeyError::Unknown(kid) => TokenError::UnknownKey(kid),
                KeyError::Unavailable(why) => TokenError::KeysUnavailable(why),
            })
    }

    /// The issuer's userinfo for `access_token`; `None` when it has no userinfo endpoint.
    pub async fn userinfo(&self, access_token: &str) -> Result<Option<UserInfo>, SsoError> {
        let Some(endpoint) = self.metadata.userinfo_endpoint() else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let fetched = self
            .fetch_userinfo(endpoint.url().as_str(), access_token)
            .await;
        bounded::observe("userinfo", started, &fetched);
        let body = fetched.map_err(|e| SsoError::ProviderUnavailable(format!("userinfo: {e}")))?;
        let info = serde_json::from_slice(&body)
            .map_err(|e| SsoError::InvalidIdToken(format!("malformed userinfo response: {e}")))?;
        Ok(Some(info))
    }

    async fn fetch_userinfo(&self, endpoint: &str, access_token: &str) -> Result<Vec<u8>, String> {
        let response = self
            .directory
            .http()
            .get(endpoint)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        bounded::require_json(&response)?;
        bounded::read_body(response).await
    }

    /// RP-initiated logout at this issuer: its `end_session_endpoint` with `id_token_hint`,
    /// `post_logout_redirect_uri` and `state`; `None` when it advertises no such endpoint.
    pub fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
        state: &str,
    ) -> Option<String> {
        let endpoint = self
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .as_deref()?;
        let mut url = url::Url::parse(endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http"))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
            query
                .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
                .append_pair("state", state);
        }
        Some(url.into())
    }

    fn client(
        &self,
        credentials: &InstanceCredentials,
        secret: &ClientSecret,
        redirect_uri: String,
    ) -> Result<OidcClient, SsoError> {
        directory::client(&self.metadata, credentials, secret, redirect_uri)
    }
}
