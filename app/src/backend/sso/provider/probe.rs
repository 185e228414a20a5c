//! "Test connection": what a sign-in through an issuer will need, checked now and fresh (no
//! cache), each as a line an admin can act on. Stops at the first failure: later checks need
//! what it would have given.

use jsonwebtoken::Algorithm;
use serde::Serialize;

use super::cache_control::fetch_json;
use super::directory::{
    Metadata, ProviderDirectory, accepted_algorithms, endpoints_on_issuer_origin,
    signing_algorithms,
};
use super::keys::VerificationKey;
use crate::domain::IssuerUrl;

/// One line of the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    /// What was found, or what to change in Okta.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Not tried: an earlier check failed.
    Skipped,
}

const DISCOVERY: &str = "Discovery document reachable";
const ISSUER: &str = "Issuer matches exactly";
const ALGORITHMS: &str = "Signing algorithms supported";
const KEYS: &str = "Signing keys reachable";
const USABLE: &str = "Signing keys usable";

pub async fn test_connection(directory: &ProviderDirectory, issuer: &IssuerUrl) -> Vec<Check> {
    let mut report = Report::default();
    let url = format!("{issuer}/.well-known/openid-configuration");
    let metadata = match fetch_json::<Metadata>(directory.http(), &url, "discovery").await {
        Ok((metadata, _)) => {
            report.pass(DISCOVERY, url);
            metadata
        }
        Err(error) => {
            report.fail(DISCOVERY, format!("{url}: {error}"));
            return report.rest_skipped();
        }
    };
    let named = metadata.issuer().as_str().trim_end_matches('/');
    if named != issuer.as_str() {
        report.fail(
            ISSUER,
            format!(
                "the document names '{}', not '{issuer}': enter the issuer exactly as Okta shows it",
                clip(metadata.issuer().as_str())
            ),
        );
        return report.rest_skipped();
    }
    if let Err(error) = endpoints_on_issuer_origin(&metadata, issuer) {
        report.fail(ISSUER, error);
        return report.rest_skipped();
    }
    report.pass(ISSUER, issuer.to_string());
    let algorithms = signing_algorithms(&metadata);
    let advertises_some = !metadata.id_token_signing_alg_values_supported().is_empty();
    if advertises_some && accepted_algorithms(&metadata).is_empty() {
        report.fail(
            ALGORITHMS,
            "the issuer signs ID tokens with none of RS256, ES256, PS256".to_owned(),
        );
        return report.rest_skipped();
    }
    report.pass(ALGORITHMS, names(&algorithms));
    let jwks_uri = metadata.jwks_uri().url().as_str().to_owned();
    let keys = match fetch_json::<serde_json::Value>(directory.http(), &jwks_uri, "keys").await {
        Ok((body, _)) => {
            report.pass(KEYS, jwks_uri.clone());
            body.get("keys")
                .and_then(serde_json::Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(VerificationKey::from_jwk)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
        Err(error) => {
            report.fail(KEYS, format!("{jwks_uri}: {error}"));
            return report.rest_skipped();
        }
    };
    let fitting = keys
        .iter()
        .filter(|key| algorithms.iter().any(|alg| key.fits(*alg)))
        .count();
    if fitting == 0 {
        report.fail(
            USABLE,
            format!(
                "none of the {} keys verifies {}",
                keys.len(),
                names(&algorithms)
            ),
        );
    } else {
        report.pass(USABLE, format!("{fitting} of {} keys", keys.len()));
    }
    report.checks
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn pass(&mut self, name: &'static str, detail: String) {
        self.push(name, Outcome::Passed, detail);
    }

    fn fail(&mut self, name: &'static str, detail: String) {
        self.push(name, Outcome::Failed, clip(&detail));
    }

    fn push(&mut self, name: &'static str, outcome: Outcome, detail: String) {
        self.checks.push(Check {
            name,
            outcome,
            detail,
        });
    }

    fn rest_skipped(mut self) -> Vec<Check> {
        for name in [DISCOVERY, ISSUER, ALGORITHMS, KEYS, USABLE] {
            if !self.checks.iter().any(|check| check.name == name) {
                self.push(name, Outcome::Skipped, String::new());
            }
        }
        self.checks
    }
}

fn names(algorithms: &[Algorithm]) -> String {
    algorithms
        .iter()
        .map(|alg| format!("{alg:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the IdP chose to say, on one line and bounded.
fn clip(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

#[cfg(test)]
mod properties {
    use std::sync::LazyLock;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::super::test_idp::{
        RawIdp, answer_bytes, discovery_document, key_set_answer, with_base,
    };
    use super::{
        ALGORITHMS, DISCOVERY, ISSUER, KEYS, Outcome, ProviderDirectory, USABLE, test_connection,
    };
    use crate::domain::{IssuerPolicy, IssuerUrl};

    proptest! {
        #[test]
        fn test_connection_of_arbitrary_answers_never_panics_and_reports_five_lines_in_order(
            discovery in answer_bytes(discovery_document()),
            keys in key_set_answer(serde_json::Value::from("AQAB")),
        ) {
            static IDP: LazyLock<RawIdp> = LazyLock::new(RawIdp::start);
            static DIRECTORY: LazyLock<ProviderDirectory> = LazyLock::new(|| {
                ProviderDirectory::new(Duration::from_secs(10), IssuerPolicy::default())
                    .expect("a directory")
            });
            IDP.serve("/.well-known/openid-configuration", with_base(&discovery, &IDP.base));
            IDP.serve("/keys", keys);
            let issuer = IssuerUrl::from_trusted_storage(IDP.base.clone());
            let checks = IDP.block_on(test_connection(&DIRECTORY, &issuer));
            let names: Vec<_> = checks.iter().map(|check| check.name).collect();
            prop_assert_eq!(names, vec![DISCOVERY, ISSUER, ALGORITHMS, KEYS, USABLE]);
            // Passed checks, then at most one failure, then only skipped ones.
            let outcomes: Vec<_> = checks.iter().map(|check| check.outcome).collect();
            let passed = outcomes.iter().take_while(|o| **o == Outcome::Passed).count();
            if passed < outcomes.len() {
                prop_assert_eq!(outcomes[passed], Outcome::Failed);
                prop_assert!(outcomes[passed + 1..].iter().all(|o| *o == Outcome::Skipped));
            }
            for check in checks.iter().filter(|check| check.outcome == Outcome::Failed) {
                prop_assert!(check.detail.chars().count() <= 300, "{}", check.detail);
                prop_assert!(!check.detail.chars().any(char::is_control), "{}", check.detail);
            }
        }
    }
}
