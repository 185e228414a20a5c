//! Each issuer's discovery document, fetched lazily on first use and shared by every instance
//! of that issuer (all instances of an Okta org share the org's issuer); the directory hands
//! out one [`Provider`] per issuer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, ClientId, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    ProviderMetadata, RedirectUrl,
};
use serde::{Deserialize, Serialize};

use super::keys::{KeyCache, KeysHealth};
use super::{Provider, bounded, cache_control};
use crate::backend::registry::{InstanceCredentials, TokenAuthMethod};
use crate::backend::sso::SsoError;
use crate::domain::{ClientSecret, IssuerPolicy, IssuerUrl};

/// Discovery fields beyond the core set that Orgpass acts on.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: when true, the authorization response must carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RP-initiated logout: where sign-out sends the browser to end the Okta session too.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
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

/// What this server holds of one issuer; `Default`: nothing yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssuerHealth {
    /// The discovery document was fetched this long ago.
    pub discovered_secs_ago: Option<u64>,
    pub keys: Option<KeysHealth>,
}

struct Cached {
    metadata: Arc<Metadata>,
    fetched_at: Instant,
    ttl: Duration,
}

/// After a failed discovery, sign-ins for that issuer are refused (or served the stale copy)
/// this long without a new download: a dead IdP costs one timeout, not one per sign-in.
const FAILURE_BACKOFF: Duration = Duration::from_secs(10);

/// One issuer's discovery in flight: held while fetching, so concurrent sign-ins for a cold or
/// failing issuer make one download; it remembers when the last one failed.
type DiscoveryFlight = Arc<tokio::sync::Mutex<Option<Instant>>>;

/// Discovery documents per issuer and signing keys per `jwks_uri`.
pub struct ProviderDirectory {
    http: reqwest::Client,
    /// Checked again before every use of an issuer, so an issuer host the operator no longer
    /// allows stops signing in at once.
    policy: IssuerPolicy,
    documents: Mutex<HashMap<String, Cached>>,
    flights: Mutex<HashMap<String, DiscoveryFlight>>,
    keys: KeyCache,
}

impl ProviderDirectory {
    /// The HTTP client follows no redirects (an issuer must not bounce us to an internal
    /// address) and gives up after `timeout`, so a dead IdP costs one sign-in at most that long
    /// and never holds up another tenant's.
    pub fn new(timeout: Duration, policy: IssuerPolicy) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()?;
        Ok(Self {
            keys: KeyCache::new(http.clone()),
            http,
            policy,
            documents: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
        })
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn keys(&self) -> &KeyCache {
        &self.keys
    }

    /// The issuer's provider, its discovery document loaded (see [`Self::metadata`]).
    pub async fn provider(&self, issuer: &IssuerUrl) -> Result<Provider<'_>, SsoError> {
        IssuerUrl::parse(issuer.as_str(), &self.policy)
            .map_err(|refused| SsoError::IssuerNotAllowed(refused.0))?;
        let metadata = self.metadata(issuer).await?;
        Ok(Provider::new(self, issuer.clone(), metadata))
    }

    /// What this server last saw of the issuer, without fetching anything: for the settings
    /// page's standing view ("Test connection" fetches fresh).
    pub fn health(&self, issuer: &IssuerUrl) -> IssuerHealth {
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(cached) = documents.get(issuer.as_str()) else {
            return IssuerHealth::default();
        };
        let discovered_secs_ago = Some(cached.fetched_at.elapsed().as_secs());
        let jwks_uri = cached.metadata.jwks_uri().as_str().to_owned();
        drop(documents);
        IssuerHealth {
            discovered_secs_ago,
            keys: self.keys.health(&jwks_uri),
        }
    }

    fn cached(&self, issuer: &IssuerUrl) -> Option<(Arc<Metadata>, bool)> {
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        documents
            .get(issuer.as_str())
            .map(|c| (Arc::clone(&c.metadata), c.fetched_at.elapsed() < c.ttl))
    }

    fn flight(&self, issuer: &IssuerUrl) -> DiscoveryFlight {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(flights.entry(issuer.as_str().to_owned()).or_default())
    }

    /// The issuer's discovery document, fetched on first use and reused for its
    /// `Cache-Control` lifetime. One fetch at a time per issuer, and none for
    /// [`FAILURE_BACKOFF`] after one failed. A stale copy is served when a refresh fails, so an
    /// IdP outage does not end sign-ins that could still be verified.
    async fn metadata(&self, issuer: &IssuerUrl) -> Result<Arc<Metadata>, SsoError> {
        if let Some((metadata, true)) = self.cached(issuer) {
            return Ok(metadata);
        }
        let flight = self.flight(issuer);
        let mut last_failure = flight.lock().await;
        // Someone else may have fetched while we waited for the flight.
        let cached = self.cached(issuer);
        if let Some((metadata, true)) = &cached {
            return Ok(Arc::clone(metadata));
        }
        let stale_or = |error: String| match &cached {
            Some((stale, _)) => {
                tracing::warn!(%issuer, %error, "discovery failed; using the cached document");
                Ok(Arc::clone(stale))
            }
            None => Err(SsoError::ProviderUnavailable(format!(
                "discovery of {issuer}: {error}"
            ))),
        };
        if last_failure.is_some_and(|at| at.elapsed() < FAILURE_BACKOFF) {
            return stale_or("it failed moments ago; retrying shortly".to_owned());
        }
        match discover(&self.http, issuer).await {
            Ok((metadata, ttl)) => {
                *last_failure = None;
                let metadata = Arc::new(metadata);
                let mut documents = self
                    .documents
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                documents.insert(
                    issuer.as_str().to_owned(),
                    Cached {
                        metadata: Arc::clone(&metadata),
                        fetched_at: Instant::now(),
                        ttl,
                    },
                );
                Ok(metadata)
            }
            Err(error) => {
                *last_failure = Some(Instant::now());
                stale_or(error)
            }
        }
    }
}

/// Fetches `{issuer}/.well-known/openid-configuration`, which must name exactly `issuer`.
async fn discover(
    http: &reqwest::Client,
    issuer: &IssuerUrl,
) -> Result<(Metadata, Duration), String> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let (metadata, ttl): (Metadata, Duration) =
        cache_control::fetch_json(http, &url, "discovery").await?;
    if metadata.issuer().as_str().trim_end_matches('/') != issuer.as_str() {
        return Err(format!(
            "the document names issuer {}",
            metadata.issuer().as_str()
        ));
    }
    endpoints_on_issuer_origin(&metadata, issuer)?;
    Ok((metadata, ttl))
}

/// Refuses a document that names an endpoint off the issuer's origin (see [`bounded`]).
pub(super) fn endpoints_on_issuer_origin(
    metadata: &Metadata,
    issuer: &IssuerUrl,
) -> Result<(), String> {
    let endpoints = [
        (
            "authorization_endpoint",
            Some(metadata.authorization_endpoint().as_str()),
        ),
        (
            "token_endpoint",
            metadata.token_endpoint().map(|url| url.as_str()),
        ),
        (
            "userinfo_endpoint",
            metadata.userinfo_endpoint().map(|url| url.as_str()),
        ),
        ("jwks_uri", Some(metadata.jwks_uri().as_str())),
        (
            "end_session_endpoint",
            metadata
                .additional_metadata()
                .end_session_endpoint
                .as_deref(),
        ),
    ];
    match endpoints.into_iter().find(|(_, endpoint)| {
        endpoint.is_some_and(|endpoint| !bounded::on_issuer_origin(issuer, endpoint))
    }) {
        Some((name, _)) => Err(format!("the document's {name} is not on the issuer's host")),
        None => Ok(()),
    }
}

/// The ID token signature algorithms the issuer advertises that Orgpass accepts; RS256 when it
/// advertises none of them. `none` and HMAC (keyed with the client secret) never qualify.
pub(super) fn signing_algorithms(metadata: &Metadata) -> Vec<Algorithm> {
    let accepted = accepted_algorithms(metadata);
    if accepted.is_empty() {
        vec![Algorithm::RS256]
    } else {
        accepted
    }
}

/// The advertised ID token signature algorithms that Orgpass accepts, possibly none.
pub(super) fn accepted_algorithms(metadata: &Metadata) -> Vec<Algorithm> {
    use openidconnect::core::CoreJwsSigningAlgorithm as Advertised;
    metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter_map(|alg| match alg {
            Advertised::RsaSsaPkcs1V15Sha256 => Some(Algorithm::RS256),
            Advertised::EcdsaP256Sha256 => Some(Algorithm::ES256),
            Advertised::RsaSsaPssSha256 => Some(Algorithm::PS256),
            _ => None,
        })
        .collect()
}

/// An OpenID client for one instance: its own client id, one of its secrets, its own
/// redirect URI and its token endpoint authentication method.
pub(super) fn client(
    metadata: &Metadata,
    credentials: &InstanceCredentials,
    secret: &ClientSecret,
    redirect_uri: String,
) -> Result<OidcClient, SsoError> {
    let redirect = RedirectUrl::new(redirect_uri)
        .map_err(|e| SsoError::ProviderUnavailable(format!("redirect URI: {e}")))?;
    let auth_type = match credentials.instance.token_auth_method {
        TokenAuthMethod::ClientSecretBasic => AuthType::BasicAuth,
        TokenAuthMethod::ClientSecretPost => AuthType::RequestBody,
    };
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(credentials.instance.client_id.clone()),
        Some(openidconnect::ClientSecret::new(secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect)
    .set_auth_type(auth_type))
}

#[cfg(test)]
mod properties {
    use std::sync::{Arc, LazyLock};
    use std::time::Duration;

    use jsonwebtoken::Algorithm;
    use proptest::prelude::*;
    use url::Url;

    use super::super::Provider;
    use super::super::cache_control::{MAX_TTL, MIN_TTL};
    use super::super::test_idp::{RawIdp, answer_bytes, discovery_document, with_base};
    use super::{ProviderDirectory, discover, signing_algorithms};
    use crate::backend::registry::{Instance, InstanceCredentials, TokenAuthMethod};
    use crate::domain::{ClientSecret, InstanceId, IssuerPolicy, IssuerUrl, TenantSlug};

    const PATH: &str = "/.well-known/openid-configuration";

    fn credentials(issuer: &IssuerUrl) -> InstanceCredentials {
        InstanceCredentials {
            instance: Instance {
                id: InstanceId::parse("acme-okta").expect("a valid id"),
                tenant: TenantSlug::parse("acme").expect("a valid slug"),
                label: "Acme".to_owned(),
                issuer: issuer.clone(),
                client_id: "0oa-client".to_owned(),
                token_auth_method: TokenAuthMethod::default(),
                enabled: true,
                working_secret: None,
                extra_redirect_uris: Vec::new(),
                post_logout_uri: None,
                clock_skew: None,
                created_at: 0,
                updated_at: 0,
            },
            client_secret: ClientSecret::new("s3cr3t".to_owned()).expect("a secret"),
            next_secret: None,
        }
    }

    proptest! {
        #[test]
        fn an_arbitrary_discovery_answer_never_panics_and_an_accepted_one_keeps_to_the_issuer(
            answer in answer_bytes(discovery_document()),
            login_hint in any::<String>(),
        ) {
            static IDP: LazyLock<RawIdp> = LazyLock::new(RawIdp::start);
            static DIRECTORY: LazyLock<ProviderDirectory> = LazyLock::new(|| {
                ProviderDirectory::new(Duration::from_secs(10), IssuerPolicy::default())
                    .expect("a directory")
            });
            IDP.serve(PATH, with_base(&answer, &IDP.base));
            let issuer = IssuerUrl::from_trusted_storage(IDP.base.clone());
            let Ok((metadata, ttl)) = IDP.block_on(discover(&IDP.http, &issuer)) else {
                return Ok(());
            };
            let origin = Url::parse(issuer.as_str()).expect("a URL").origin();
            let on_issuer = |endpoint: &str| {
                Url::parse(endpoint).is_ok_and(|endpoint| endpoint.origin() == origin)
            };
            prop_assert!((MIN_TTL..=MAX_TTL).contains(&ttl));
            prop_assert_eq!(metadata.issuer().as_str().trim_end_matches('/'), issuer.as_str());
            prop_assert!(on_issuer(metadata.authorization_endpoint().as_str()));
            prop_assert!(on_issuer(metadata.jwks_uri().as_str()));
            prop_assert!(metadata.token_endpoint().is_none_or(|url| on_issuer(url.as_str())));
            prop_assert!(metadata.userinfo_endpoint().is_none_or(|url| on_issuer(url.as_str())));
            let algorithms = signing_algorithms(&metadata);
            prop_assert!(!algorithms.is_empty());
            let accepted = [Algorithm::RS256, Algorithm::ES256, Algorithm::PS256];
            prop_assert!(algorithms.iter().all(|alg| accepted.contains(alg)));

            // What the rest of a sign-in builds from the document.
            let provider = Provider::new(&DIRECTORY, issuer.clone(), Arc::new(metadata));
            let _ = provider.requires_response_iss();
            let credentials = credentials(&issuer);
            let redirect = "https://orgpass.example.com/sso/acme-okta/callback".to_owned();
            let authorization = provider
                .authorize_url(&credentials, redirect, Some(&login_hint))
                .expect("an authorization URL");
            let url = Url::parse(&authorization.url).expect("a URL");
            prop_assert!(on_issuer(url.as_str()));
            let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            for (name, value) in [
                ("state", authorization.state.as_str()),
                ("nonce", authorization.nonce.as_str()),
                ("code_challenge_method", "S256"),
                ("login_hint", login_hint.as_str()),
            ] {
                prop_assert!(
                    query.iter().any(|(n, v)| n == name && v == value),
                    "{} missing from {}",
                    name,
                    url
                );
            }
            if let Some(end_session) =
                provider.end_session_url(Some("id-token"), "https://orgpass.example.com/", "st")
            {
                let url = Url::parse(&end_session).expect("a URL");
                prop_assert!(on_issuer(url.as_str()), "{}", url);
                prop_assert!(url.query_pairs().any(|(n, v)| n == "state" && v == "st"));
            }
        }
    }
}
