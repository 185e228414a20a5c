use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::InvalidValue;

/// Which issuers this deployment may contact. Issuer URLs come from tenant admins, and the
/// server makes requests to them, so this is the SSRF guard.
#[derive(Debug, Clone, Default)]
pub struct IssuerPolicy {
    /// Operator-approved custom domains (exact host names) besides Okta's own domains.
    pub allowed_custom_hosts: Vec<String>,
    /// Lets `http://127.0.0.1:port` issuers through: only for the local simulator in development.
    pub allow_loopback_http: bool,
}

const OKTA_DOMAINS: [&str; 4] = [
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
];

impl IssuerPolicy {
    fn host_is_allowed(&self, host: &Host<&str>) -> bool {
        match host {
            Host::Domain(name) => {
                let name = name.to_ascii_lowercase();
                OKTA_DOMAINS.iter().any(|okta| {
                    name.strip_suffix(okta)
                        .and_then(|org| org.strip_suffix('.'))
                        .is_some_and(|org| !org.is_empty())
                }) || self
                    .allowed_custom_hosts
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(&name))
            }
            Host::Ipv4(_) | Host::Ipv6(_) => false,
        }
    }
}

/// An OpenID Provider's issuer identifier, checked against an [`IssuerPolicy`]. Normalised
/// without a trailing slash, as Okta writes it in the `iss` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerUrl(String);

impl IssuerUrl {
    pub fn parse(raw: &str, policy: &IssuerPolicy) -> Result<Self, InvalidValue> {
        let refuse = |why: &str| InvalidValue(format!("issuer '{raw}' refused: {why}"));
        let url = Url::parse(raw.trim()).map_err(|_| refuse("not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it must not have a query or fragment"));
        }
        let host = url.host().ok_or_else(|| refuse("it has no host"))?;
        match url.scheme() {
            "https" if policy.host_is_allowed(&host) => {}
            "https" => {
                return Err(refuse(
                    "the host is neither an Okta domain nor on the operator's allow-list \
                     (ORGPASS_ALLOWED_ISSUER_HOSTS)",
                ));
            }
            "http" if policy.allow_loopback_http && is_loopback(&host) => {}
            _ => return Err(refuse("it must use https")),
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// What an admin types as their "Okta domain": `acme.okta.com`, a custom domain, or the
    /// issuer URL itself; a bare domain means `https://`.
    pub fn from_okta_domain(raw: &str, policy: &IssuerPolicy) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidValue(
                "enter your Okta domain, e.g. acme.okta.com".to_owned(),
            ));
        }
        if raw.contains("://") {
            Self::parse(raw, policy)
        } else {
            Self::parse(&format!("https://{raw}"), policy)
        }
    }

    /// Re-reads a value this deployment stored earlier; it was checked when it was written.
    pub fn from_trusted_storage(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

impl fmt::Display for IssuerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{IssuerPolicy, IssuerUrl};

    fn strict() -> IssuerPolicy {
        IssuerPolicy {
            allowed_custom_hosts: vec!["login.acme.example".to_owned()],
            allow_loopback_http: false,
        }
    }

    #[test]
    fn an_okta_domain_is_typed_bare_or_as_the_issuer_url() {
        for typed in ["acme.okta.com", " acme.okta.com/ ", "https://acme.okta.com"] {
            let issuer = IssuerUrl::from_okta_domain(typed, &strict()).unwrap();
            assert_eq!(issuer.as_str(), "https://acme.okta.com", "{typed}");
        }
        let custom = IssuerUrl::from_okta_domain("https://acme.okta.com/oauth2/default", &strict());
        assert_eq!(
            custom.unwrap().as_str(),
            "https://acme.okta.com/oauth2/default"
        );
        assert!(IssuerUrl::from_okta_domain("login.acme.example", &strict()).is_ok());
    }

    #[test]
    fn an_okta_domain_obeys_the_issuer_policy() {
        for typed in ["", "evil.example", "http://acme.okta.com", "127.0.0.1:4011"] {
            assert!(
                IssuerUrl::from_okta_domain(typed, &strict()).is_err(),
                "{typed}"
            );
        }
    }

    #[test]
    fn okta_org_issuers_and_approved_custom_domains_are_accepted() {
        for ok in [
            "https://acme.okta.com",
            "https://acme.okta.com/",
            "https://acme.oktapreview.com",
            "https://acme.okta-emea.com/oauth2/aus1",
            "https://login.acme.example",
        ] {
            let issuer = IssuerUrl::parse(ok, &strict()).unwrap();
            assert!(!issuer.as_str().ends_with('/'), "{issuer}");
        }
    }

    #[test]
    fn lookalike_private_and_plaintext_issuers_are_refused() {
        for bad in [
            "http://acme.okta.com",
            "https://acme.okta.com.evil.example",
            "https://evilokta.com",
            "https://okta.com",
            "https://169.254.169.254",
            "http://169.254.169.254",
            "https://10.0.0.1",
            "https://user:pw@acme.okta.com",
            "https://acme.okta.com?x=1",
            "https://acme.okta.com#frag",
            "http://127.0.0.1:4011",
            "acme.okta.com",
            "not a url",
        ] {
            assert!(
                IssuerUrl::parse(bad, &strict()).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn loopback_http_is_accepted_only_in_dev_mode() {
        let dev = IssuerPolicy {
            allow_loopback_http: true,
            ..strict()
        };
        assert!(IssuerUrl::parse("http://127.0.0.1:4011", &dev).is_ok());
        assert!(IssuerUrl::parse("http://[::1]:4011", &dev).is_ok());
        assert!(IssuerUrl::parse("http://10.0.0.1:4011", &dev).is_err());
    }

    mod properties {
        use proptest::prelude::*;
        use proptest::test_runner::TestCaseError;
        use url::{Host, Url};

        use super::super::{IssuerPolicy, IssuerUrl};
        use super::strict;

        fn dev() -> IssuerPolicy {
            IssuerPolicy {
                allow_loopback_http: true,
                ..strict()
            }
        }

        fn one_of(options: &'static [&'static str]) -> impl Strategy<Value = String> {
            prop::sample::select(options).prop_map(str::to_owned)
        }

        fn any_text() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), "(?s).{0,40}"]
        }

        /// Issuer-shaped text: scheme, credentials, a host near the allowed ones (lookalikes,
        /// IP addresses in several spellings, Unicode, a trailing dot), port, path, query and
        /// fragment, each usually plausible and sometimes arbitrary.
        fn issuer_like() -> impl Strategy<Value = String> {
            let scheme = prop_oneof![
                6 => Just("https://".to_owned()),
                3 => one_of(&["http://", "HTTPS://", "https:", "https:///", "ftp://", ""]),
                1 => any_text(),
            ];
            let credentials = prop_oneof![
                6 => Just(String::new()),
                1 => one_of(&["user@", "user:pw@", ":@", "@"]),
            ];
            let host = prop_oneof![
                4 => "[a-z0-9-]{0,8}\\.(okta|oktapreview|okta-emea|okta-gov)\\.com",
                2 => one_of(&[
                    "okta.com",
                    ".okta.com",
                    "acme..okta.com",
                    "ACME.OKTA.COM",
                    "acme.okta.com.",
                    "acme.okta.com.evil.example",
                    "evilokta.com",
                    "login.acme.example",
                    "LOGIN.acme.example",
                    "login.acme.example.",
                    "localhost",
                    "LocalHost",
                    "127.0.0.1",
                    "127.1",
                    "2130706433",
                    "0x7f000001",
                    "[::1]",
                    "[::ffff:127.0.0.1]",
                    "169.254.169.254",
                    "10.0.0.1",
                    "%61cme.okta.com",
                    "ü.okta.com",
                    "xn--tda.okta.com",
                    "ac me.okta.com",
                    "",
                ]),
                1 => any_text(),
            ];
            let port = prop_oneof![
                6 => Just(String::new()),
                1 => one_of(&[":443", ":4011", ":", ":99999", ":0"]),
            ];
            let path = prop_oneof![
                one_of(&[
                    "",
                    "/",
                    "//",
                    "/oauth2/default",
                    "/oauth2/default/",
                    "/oauth2/default//",
                    "/./",
                    "/a/..",
                    "/%2e%2e/",
                    "/a/%2e/",
                    "/%2F",
                    "\\oauth2",
                ]),
                "(/[a-zA-Z0-9%.~-]{0,6}){0,3}",
                any_text(),
            ];
            let tail = prop_oneof![
                6 => Just(String::new()),
                1 => one_of(&["?", "?x=1", "#", "#frag", " ", "\t", "\n", "/\t"]),
            ];
            let lead = prop_oneof![
                6 => Just(String::new()),
                1 => one_of(&[" ", "\t", "\n"]),
            ];
            (lead, scheme, credentials, host, port, path, tail).prop_map(
                |(lead, scheme, credentials, host, port, path, tail)| {
                    format!("{lead}{scheme}{credentials}{host}{port}{path}{tail}")
                },
            )
        }

        fn raw_issuer() -> impl Strategy<Value = String> {
            prop_oneof![any_text(), issuer_like()]
        }

        /// What the policy promises of an accepted issuer, checked on the URL itself.
        fn obeys(issuer: &IssuerUrl, policy: &IssuerPolicy) -> Result<(), TestCaseError> {
            let text = issuer.as_str();
            prop_assert!(!text.ends_with('/'), "{}", text);
            let url = Url::parse(text).expect("an accepted issuer is a URL");
            prop_assert!(
                url.username().is_empty() && url.password().is_none(),
                "{}",
                text
            );
            prop_assert!(
                url.query().is_none() && url.fragment().is_none(),
                "{}",
                text
            );
            let okta_org = |name: &str| {
                [
                    "okta.com",
                    "oktapreview.com",
                    "okta-emea.com",
                    "okta-gov.com",
                ]
                .iter()
                .any(|okta| name.len() > okta.len() + 1 && name.ends_with(&format!(".{okta}")))
            };
            let allowed = match (url.scheme(), url.host()) {
                ("https", Some(Host::Domain(name))) => {
                    let name = name.to_ascii_lowercase();
                    okta_org(&name) || policy.allowed_custom_hosts.contains(&name)
                }
                ("http", Some(Host::Domain(name))) => {
                    policy.allow_loopback_http && name.eq_ignore_ascii_case("localhost")
                }
                ("http", Some(Host::Ipv4(ip))) => policy.allow_loopback_http && ip.is_loopback(),
                ("http", Some(Host::Ipv6(ip))) => policy.allow_loopback_http && ip.is_loopback(),
                _ => false,
            };
            prop_assert!(allowed, "{} is not allowed by {:?}", text, policy);
            Ok(())
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics_and_an_accepted_issuer_obeys_the_policy(
                raw in raw_issuer(),
            ) {
                for policy in [strict(), dev()] {
                    for issuer in [
                        IssuerUrl::parse(&raw, &policy),
                        IssuerUrl::from_okta_domain(&raw, &policy),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        obeys(&issuer, &policy)?;
                    }
                }
            }

            #[test]
            fn an_accepted_issuer_parses_again_to_itself(raw in raw_issuer()) {
                for policy in [strict(), dev()] {
                    for issuer in [
                        IssuerUrl::parse(&raw, &policy),
                        IssuerUrl::from_okta_domain(&raw, &policy),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        prop_assert_eq!(
                            &IssuerUrl::parse(issuer.as_str(), &policy),
                            &Ok(issuer.clone())
                        );
                        prop_assert_eq!(
                            &IssuerUrl::from_okta_domain(issuer.as_str(), &policy),
                            &Ok(issuer.clone())
                        );
                    }
                }
            }

            #[test]
            fn the_strict_policy_accepts_nothing_that_the_dev_policy_refuses(raw in raw_issuer()) {
                if IssuerUrl::parse(&raw, &strict()).is_ok() {
                    prop_assert_eq!(
                        IssuerUrl::parse(&raw, &strict()),
                        IssuerUrl::parse(&raw, &dev())
                    );
                }
            }
        }
    }
}
