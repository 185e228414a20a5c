//! What an identity provider may send back. Every answer is read up to [`MAX_BODY`] and no
//! further, so an endpoint answering 1 GB costs at most that much memory; documents must say
//! they are JSON; and every endpoint a discovery document names must be on the issuer's own
//! origin, so a document cannot point the server at a metadata address or another tenant's
//! host. Redirects are never followed and each request has a time limit (see
//! [`ProviderDirectory::new`](super::ProviderDirectory::new)).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use url::Url;

use crate::domain::IssuerUrl;

/// The largest answer read from an identity provider: Okta's documents are a few KiB.
pub const MAX_BODY: usize = 256 * 1024;

/// A failed request to an identity provider, in words for the audit log.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IdpHttpError(pub String);

/// Counts one request to an identity provider of `kind` (`discovery`, `keys`, `token`,
/// `userinfo`) and how long it took.
pub(super) fn observe<T, E>(kind: &'static str, started: Instant, outcome: &Result<T, E>) {
    let outcome = if outcome.is_ok() { "ok" } else { "error" };
    metrics::counter!("orgpass_idp_requests_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("orgpass_idp_request_duration_seconds", "kind" => kind)
        .record(started.elapsed());
}

/// The body of `response`, refused once it passes [`MAX_BODY`].
pub(super) async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {} KiB", MAX_BODY / 1024);
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses an answer that does not say it is JSON (`application/json` or `application/*+json`).
pub(super) fn require_json(response: &reqwest::Response) -> Result<(), String> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if is_json(content_type) {
        Ok(())
    } else {
        Err("the answer is not JSON (its content type is not application/json)".to_owned())
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// The HTTP client of the code exchange (openidconnect's): the same client, bounded answers.
pub(super) struct BoundedClient<'a>(pub &'a reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for BoundedClient<'_> {
    type Error = IdpHttpError;
    type Future = Pin<
        Box<dyn Future<Output = Result<openidconnect::HttpResponse, IdpHttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let started = Instant::now();
            let answer = send(self.0, request).await;
            observe("token", started, &answer);
            answer
        })
    }
}

async fn send(
    http: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, IdpHttpError> {
    let request = reqwest::Request::try_from(request).map_err(|e| IdpHttpError(e.to_string()))?;
    let response = http
        .execute(request)
        .await
        .map_err(|e| IdpHttpError(e.to_string()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response).await.map_err(IdpHttpError)?;
    let mut answer = openidconnect::HttpResponse::new(body);
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// Whether `endpoint` (from the issuer's discovery document) is on the issuer's origin.
pub(super) fn on_issuer_origin(issuer: &IssuerUrl, endpoint: &str) -> bool {
    match (Url::parse(issuer.as_str()), Url::parse(endpoint)) {
        (Ok(issuer), Ok(endpoint)) => issuer.origin() == endpoint.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_json_based_types_are_json_whatever_their_parameters() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/jwk-set+json",
        ] {
            assert!(is_json(json), "{json}");
        }
        for other in [
            "",
            "text/html",
            "application/jwt",
            "text/json",
            "application/jsonx",
        ] {
            assert!(!is_json(other), "{other}");
        }
    }

    #[test]
    fn only_endpoints_on_the_issuers_own_origin_are_accepted() {
        let issuer = IssuerUrl::from_trusted_storage("https://acme.okta.com".to_owned());
        assert!(on_issuer_origin(
            &issuer,
            "https://acme.okta.com/oauth2/v1/keys"
        ));
        for elsewhere in [
            "http://169.254.169.254/latest/meta-data",
            "https://globex.okta.com/oauth2/v1/keys",
            "http://acme.okta.com/oauth2/v1/keys",
            "https://acme.okta.com:8443/oauth2/v1/keys",
            "https://acme.okta.com.evil.example/keys",
            "not a url",
        ] {
            assert!(!on_issuer_origin(&issuer, elsewhere), "{elsewhere}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn an_arbitrary_content_type_never_panics_and_json_means_an_application_type(
                content_type in prop_oneof![
                    any::<String>(),
                    "(?i:application|text)/[a-z+-]{0,12}(json)?(; *charset=[a-z0-9-]{0,8})?",
                ],
            ) {
                if is_json(&content_type) {
                    let essence = content_type.split(';').next().unwrap_or_default().trim();
                    prop_assert!(essence.to_ascii_lowercase().starts_with("application/"));
                    prop_assert!(essence.to_ascii_lowercase().ends_with("json"));
                }
            }

            #[test]
            fn an_arbitrary_endpoint_is_on_the_issuers_origin_only_with_its_scheme_host_and_port(
                endpoint in prop_oneof![
                    any::<String>(),
                    concat!(
                        "(https?|HTTPS|javascript|data|file):(//)?(user@)?",
                        "(acme\\.okta\\.com|ACME\\.okta\\.com|acme\\.okta\\.com\\.evil|",
                        "169\\.254\\.169\\.254|\\[::1\\])?(:(443|8443|))?(/[a-z%.]{0,6}){0,3}",
                    ),
                ],
            ) {
                let issuer = IssuerUrl::from_trusted_storage("https://acme.okta.com".to_owned());
                if on_issuer_origin(&issuer, &endpoint) {
                    let url = Url::parse(&endpoint).expect("an accepted endpoint is a URL");
                    prop_assert_eq!(url.scheme(), "https");
                    prop_assert_eq!(url.host_str(), Some("acme.okta.com"));
                    prop_assert_eq!(url.port_or_known_default(), Some(443));
                }
            }
        }
    }
}
