//! Each issuer's discovery document and signing keys, fetched lazily on first use and shared by
//! every instance of that issuer (all instances of an Okta org share the org's issuer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, JsonWebKeySet, ProviderMetadata, RedirectUrl,
};
use serde::{Deserialize, Serialize};

use super::SsoError;
use crate::backend::tenants::InstanceCredentials;
use crate::domain::IssuerUrl;

/// Discovery fields beyond the core set that Orgpass acts on.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: when true, the authorization response must carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub(super) type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long a discovery document is reused before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(15 * 60);
/// At most one forced key refetch per issuer in this window, so forged tokens with made-up
/// `kid`s cannot make us hammer the IdP.
const KEY_REFETCH_COOLDOWN: Duration = Duration::from_secs(30);

struct Cached {
    metadata: Arc<Metadata>,
    fetched_at: Instant,
    last_forced_refetch: Option<Instant>,
}

pub struct ProviderDirectory {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl ProviderDirectory {
    /// The HTTP client follows no redirects (an issuer must not bounce us to an internal
    /// address) and gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn cached(&self, issuer: &IssuerUrl) -> Option<(Arc<Metadata>, Instant, Option<Instant>)> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(issuer.as_str())
            .map(|c| (Arc::clone(&c.metadata), c.fetched_at, c.last_forced_refetch))
    }

    fn remember(
        &self,
        issuer: &IssuerUrl,
        metadata: Arc<Metadata>,
        fetched_at: Instant,
        last_forced_refetch: Option<Instant>,
    ) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(
            issuer.as_str().to_owned(),
            Cached {
                metadata,
                fetched_at,
                last_forced_refetch,
            },
        );
    }

    /// The issuer's metadata with its keys. A stale copy is served when a refresh fails, so an
    /// IdP outage does not end sign-ins that could still be verified.
    pub(super) async fn metadata(&self, issuer: &IssuerUrl) -> Result<Arc<Metadata>, SsoError> {
        let cached = self.cached(issuer);
        if let Some((metadata, fetched_at, _)) = &cached
            && fetched_at.elapsed() < METADATA_TTL
        {
            return Ok(Arc::clone(metadata));
        }
        let issuer_url = openidconnect::IssuerUrl::new(issuer.as_str().to_owned())
            .map_err(|e| SsoError::ProviderUnavailable(format!("issuer URL: {e}")))?;
        match Metadata::discover_async(issuer_url, &self.http).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                let last_forced = cached.as_ref().and_then(|(_, _, forced)| *forced);
                self.remember(issuer, Arc::clone(&fresh), Instant::now(), last_forced);
                Ok(fresh)
            }
            Err(error) => match cached {
                Some((stale, _, _)) => {
                    tracing::warn!(%issuer, %error, "discovery failed; using the cached document");
                    Ok(stale)
                }
                None => Err(SsoError::ProviderUnavailable(format!(
                    "discovery of {issuer}: {error}"
                ))),
            },
        }
    }

    /// Fetches the issuer's keys again after a token named a key we do not have (rotation).
    /// `None` when a refetch happened too recently.
    pub(super) async fn refetch_keys(
        &self,
        issuer: &IssuerUrl,
    ) -> Result<Option<Arc<Metadata>>, SsoError> {
        let Some((metadata, fetched_at, last_forced)) = self.cached(issuer) else {
            return self.metadata(issuer).await.map(Some);
        };
        if last_forced.is_some_and(|at| at.elapsed() < KEY_REFETCH_COOLDOWN) {
            return Ok(None);
        }
        // The attempt counts even if it fails: an unreachable IdP is not retried on every token.
        let now = Instant::now();
        self.remember(issuer, Arc::clone(&metadata), fetched_at, Some(now));
        let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| SsoError::ProviderUnavailable(format!("keys of {issuer}: {e}")))?;
        let refreshed = Arc::new(metadata.as_ref().clone().set_jwks(jwks));
        self.remember(issuer, Arc::clone(&refreshed), fetched_at, Some(now));
        Ok(Some(refreshed))
    }
}

/// An OpenID client for one instance: its own client id and secret, its own redirect URI.
pub(super) fn client(
    metadata: &Metadata,
    credentials: &InstanceCredentials,
    redirect_uri: String,
) -> Result<OidcClient, SsoError> {
    let redirect = RedirectUrl::new(redirect_uri)
        .map_err(|e| SsoError::ProviderUnavailable(format!("redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(credentials.instance.client_id.clone()),
        Some(ClientSecret::new(
            credentials.client_secret.expose().to_owned(),
        )),
    )
    .set_redirect_uri(redirect))
}
