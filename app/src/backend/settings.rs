//! What the domain needs to know about the deployment. Parsed and checked once at start-up by
//! the `orgpass` binary.

use std::time::Duration;

use url::{Host, Url};

use crate::domain::{InstanceId, InvalidValue, IssuerPolicy};

#[derive(Debug, Clone)]
pub struct Settings {
    public_url: Url,
    secure_cookies: bool,
    pub issuer_policy: IssuerPolicy,
    pub session_ttl: Duration,
    pub flow_ttl: Duration,
}

impl Settings {
    /// `insecure_cookies` drops the `Secure` attribute so a browser keeps cookies on plain
    /// `http://127.0.0.1`; it is refused for any public URL that is not loopback.
    pub fn new(
        public_url: &str,
        insecure_cookies: bool,
        issuer_policy: IssuerPolicy,
        session_ttl: Duration,
    ) -> Result<Self, InvalidValue> {
        let url = Url::parse(public_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                InvalidValue(format!(
                    "public URL '{public_url}' must be an absolute http(s) URL such as \
                     https://orgpass.example.com"
                ))
            })?;
        let loopback = match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(name)) => name == "localhost",
            None => false,
        };
        if insecure_cookies && !loopback {
            return Err(InvalidValue(
                "insecure (non-Secure) cookies are only allowed when the public URL is a \
                 loopback address"
                    .to_owned(),
            ));
        }
        if url.scheme() == "http" && !loopback {
            return Err(InvalidValue(format!(
                "public URL '{public_url}' must use https unless it is a loopback address"
            )));
        }
        Ok(Self {
            public_url: url,
            secure_cookies: !insecure_cookies,
            issuer_policy,
            session_ttl,
            flow_ttl: Duration::from_secs(600),
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// This site's origin, e.g. `https://orgpass.example.com`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// The sign-in redirect URI of one instance: the value pasted into Okta.
    pub fn callback_url(&self, instance: &InstanceId) -> String {
        format!("{}/sso/{instance}/callback", self.public_origin())
    }

    /// Where Okta's tile or a bookmark starts a sign-in for one instance.
    pub fn login_url(&self, instance: &InstanceId) -> String {
        format!("{}/sso/{instance}/login", self.public_origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, insecure: bool) -> Result<Settings, InvalidValue> {
        Settings::new(
            url,
            insecure,
            IssuerPolicy::default(),
            Duration::from_secs(60),
        )
    }

    #[test]
    fn insecure_cookies_are_allowed_only_on_loopback() {
        assert!(settings("http://127.0.0.1:3000", true).is_ok());
        assert!(settings("https://orgpass.example.com", true).is_err());
        assert!(settings("http://orgpass.example.com", false).is_err());
    }

    #[test]
    fn instance_urls_are_built_from_the_public_origin() {
        let s = settings("https://orgpass.example.com/", false).unwrap();
        let id = InstanceId::parse("acme-okta").unwrap();
        assert_eq!(
            s.callback_url(&id),
            "https://orgpass.example.com/sso/acme-okta/callback"
        );
    }
}
