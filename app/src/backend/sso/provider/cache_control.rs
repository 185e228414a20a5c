//! Fetching an IdP's JSON documents (discovery, keys) and how long each may be reused, from its
//! `Cache-Control` header.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// GETs a JSON document (`kind`: `discovery` or `keys`, for the metrics); returns it with its
/// reuse lifetime ([`ttl`]).
pub(super) async fn fetch_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    kind: &'static str,
) -> Result<(T, Duration), String> {
    let started = std::time::Instant::now();
    let fetched = fetch(http, url).await;
    super::bounded::observe(kind, started, &fetched);
    fetched
}

async fn fetch<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<(T, Duration), String> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let lifetime = ttl(response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok()));
    super::bounded::require_json(&response)?;
    let body = super::bounded::read_body(response).await?;
    let document = serde_json::from_slice(&body).map_err(|e| format!("malformed document: {e}"))?;
    Ok((document, lifetime))
}

/// Never refetch more often than this, whatever the IdP says (Okta answers `no-cache` near the
/// end of a key period; obeying it literally would fetch on every sign-in).
pub(super) const MIN_TTL: Duration = Duration::from_secs(5 * 60);
/// Never keep a document longer than this, so an emergency rotation is seen within a day even
/// when a token never names the new key.
pub(super) const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// `max-age` clamped to [`MIN_TTL`, `MAX_TTL`]; no header, `no-cache` or `no-store` mean the
/// minimum.
pub(super) fn ttl(header: Option<&str>) -> Duration {
    let max_age = header.and_then(|value| {
        let directives: Vec<&str> = value.split(',').map(str::trim).collect();
        if directives
            .iter()
            .any(|d| d.eq_ignore_ascii_case("no-cache") || d.eq_ignore_ascii_case("no-store"))
        {
            return None;
        }
        directives.iter().find_map(|d| {
            let (name, seconds) = d.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| seconds.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
    });
    max_age.map_or(MIN_TTL, |seconds| {
        Duration::from_secs(seconds).clamp(MIN_TTL, MAX_TTL)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_honoured_within_bounds() {
        assert_eq!(ttl(Some("public, max-age=3600")), Duration::from_secs(3600));
        assert_eq!(ttl(Some("max-age=10")), MIN_TTL);
        assert_eq!(ttl(Some("max-age=999999999")), MAX_TTL);
    }

    #[test]
    fn no_cache_or_a_missing_header_means_the_minimum() {
        assert_eq!(ttl(Some("no-cache, max-age=3600")), MIN_TTL);
        assert_eq!(ttl(Some("no-store")), MIN_TTL);
        assert_eq!(ttl(None), MIN_TTL);
        assert_eq!(ttl(Some("max-age=soon")), MIN_TTL);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn an_arbitrary_cache_control_header_never_panics_and_gives_a_bounded_lifetime(
                header in prop_oneof![
                    any::<String>(),
                    concat!(
                        "((max-age|MAX-AGE|no-cache|no-store|public|s-maxage)",
                        " *(= *\"?[0-9+-]{0,22}\"?)?[, ]{0,2}){0,4}",
                    ),
                ],
            ) {
                prop_assert!((MIN_TTL..=MAX_TTL).contains(&ttl(Some(&header))));
            }

            #[test]
            fn max_age_alone_is_the_lifetime_within_bounds(seconds in any::<u64>()) {
                let expected = Duration::from_secs(seconds).clamp(MIN_TTL, MAX_TTL);
                prop_assert_eq!(ttl(Some(&format!("max-age={seconds}"))), expected);
                prop_assert_eq!(ttl(Some(&format!("public, max-age=\"{seconds}\""))), expected);
            }
        }
    }
}
