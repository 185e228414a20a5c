//! Looking up a claim's TXT record. One resolver per lookup, so no answer — above all no
//! "not found" — is remembered from one check to the next: an admin who has just published
//! the record and presses "Verify" is answered from the DNS as it is now.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;

use crate::domain::EmailDomain;

/// The prefix of the value an org publishes; the token follows it.
const VALUE_PREFIX: &str = "orgpass-domain-verification=";

/// Where the TXT record goes: under a label of its own, never on the domain's apex.
pub fn record_name(domain: &EmailDomain) -> String {
    format!("_orgpass-challenge.{domain}")
}

/// The TXT value that proves a claim.
pub fn record_value(token: &str) -> String {
    format!("{VALUE_PREFIX}{token}")
}

/// What the DNS said about a claim's record name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The TXT values there, each one's character-strings joined.
    Found(Vec<String>),
    /// No such name, or no TXT record under it.
    NoRecord,
    /// No answer: a timeout, a refusal, a network error.
    Unreachable,
}

/// Why a lookup did not prove a claim; stored with the claim and shown to its admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotProved {
    NoRecord,
    /// TXT records are there, but none carries this claim's token.
    OtherToken,
    Unreachable,
}

impl NotProved {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoRecord => "no_record",
            Self::OtherToken => "other_token",
            Self::Unreachable => "unreachable",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "no_record" => Some(Self::NoRecord),
            "other_token" => Some(Self::OtherToken),
            "unreachable" => Some(Self::Unreachable),
            _ => None,
        }
    }
}

/// Whether what the DNS holds proves the claim with `token`.
pub fn proves(lookup: &Lookup, token: &str) -> Result<(), NotProved> {
    match lookup {
        Lookup::Found(values) => {
            let expected = record_value(token);
            if values.iter().any(|value| value.trim() == expected) {
                Ok(())
            } else {
                Err(NotProved::OtherToken)
            }
        }
        Lookup::NoRecord => Err(NotProved::NoRecord),
        Lookup::Unreachable => Err(NotProved::Unreachable),
    }
}

/// Which DNS server answers: the system's resolvers, or one named server (tests, air-gapped
/// installs: `ORGPASS_DNS_SERVER`).
#[derive(Debug, Clone)]
pub struct DnsChecker {
    server: Option<SocketAddr>,
    timeout: Duration,
}

impl DnsChecker {
    pub fn new(server: Option<SocketAddr>) -> Self {
        Self {
            server,
            timeout: Duration::from_secs(3),
        }
    }

    /// The TXT values at `name`. A failure of any kind is an answer too: the claim stays
    /// pending, and nobody sees an error page for it.
    pub async fn txt(&self, name: &str) -> Lookup {
        let Some(resolver) = self.resolver() else {
            return Lookup::Unreachable;
        };
        // Fully qualified: the system's search domains must not be appended.
        match resolver.txt_lookup(format!("{name}.")).await {
            Ok(found) => Lookup::Found(
                found
                    .iter()
                    .map(|txt| {
                        txt.txt_data()
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect()
                    })
                    .collect(),
            ),
            Err(error) if error.is_no_records_found() => Lookup::NoRecord,
            Err(error) => {
                tracing::info!(%error, "domain verification lookup failed");
                Lookup::Unreachable
            }
        }
    }

    fn resolver(&self) -> Option<Resolver<TokioConnectionProvider>> {
        let builder = match self.server {
            Some(server) => Resolver::builder_with_config(
                ResolverConfig::from_parts(
                    None,
                    Vec::new(),
                    NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true),
                ),
                TokioConnectionProvider::default(),
            ),
            None => match Resolver::builder_tokio() {
                Ok(builder) => builder,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the system's DNS configuration");
                    return None;
                }
            },
        };
        let mut options = ResolverOpts::default();
        options.timeout = self.timeout;
        options.attempts = 1;
        Some(builder.with_options(options).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_lives_under_its_own_label() {
        let domain = EmailDomain::parse("acme.com").unwrap();
        assert_eq!(record_name(&domain), "_orgpass-challenge.acme.com");
        assert_eq!(record_value("abc"), "orgpass-domain-verification=abc");
    }

    #[test]
    fn a_record_with_the_token_proves_the_claim_among_others() {
        let found = Lookup::Found(vec![
            "v=spf1 -all".into(),
            "orgpass-domain-verification=abc".into(),
        ]);
        assert_eq!(proves(&found, "abc"), Ok(()));
    }

    #[test]
    fn another_token_or_no_record_or_no_answer_proves_nothing() {
        let other = Lookup::Found(vec!["orgpass-domain-verification=abd".into()]);
        assert_eq!(proves(&other, "abc"), Err(NotProved::OtherToken));
        let prefix_only = Lookup::Found(vec!["orgpass-domain-verification=".into()]);
        assert_eq!(proves(&prefix_only, "abc"), Err(NotProved::OtherToken));
        assert_eq!(proves(&Lookup::NoRecord, "abc"), Err(NotProved::NoRecord));
        assert_eq!(
            proves(&Lookup::Unreachable, "abc"),
            Err(NotProved::Unreachable)
        );
    }

    #[test]
    fn the_stored_reasons_round_trip() {
        for reason in [
            NotProved::NoRecord,
            NotProved::OtherToken,
            NotProved::Unreachable,
        ] {
            assert_eq!(NotProved::parse(reason.as_str()), Some(reason));
        }
    }
}
