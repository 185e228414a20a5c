//! What the domain needs to know about the deployment. Parsed and checked once at start-up by
//! the `orgpass` binary.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use url::{Host, Url};

use super::registry::Instance;

use crate::domain::{InstanceId, InvalidValue, IssuerPolicy};

/// The URL browsers use to reach this deployment; every instance's URLs are built from it.
#[derive(Debug, Clone)]
pub struct PublicUrl {
    origin: String,
    loopback: bool,
}

impl PublicUrl {
    /// An absolute URL; https unless the host is a loopback address.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let url = Url::parse(raw)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                InvalidValue(format!(
                    "public URL '{raw}' must be an absolute http(s) URL such as \
                     https://orgpass.example.com"
                ))
            })?;
        let loopback = match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(name)) => name == "localhost",
            None => false,
        };
        if url.scheme() == "http" && !loopback {
            return Err(InvalidValue(format!(
                "public URL '{raw}' must use https unless it is a loopback address"
            )));
        }
        Ok(Self {
            origin: url.origin().ascii_serialization(),
            loopback,
        })
    }

    /// Whether browsers reach this site over https (then HSTS tells them to keep doing so).
    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// This site's origin, e.g. `https://orgpass.example.com`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The sign-in redirect URI of one instance: the value pasted into Okta.
    pub fn callback_url(&self, instance: &InstanceId) -> String {
        format!("{}/sso/{instance}/callback", self.origin)
    }

    /// Where Okta's tile or a bookmark starts a sign-in for one instance.
    pub fn login_url(&self, instance: &InstanceId) -> String {
        format!("{}/sso/{instance}/login", self.origin)
    }

    /// The initiate-login URI of one instance: where Okta's dashboard tile sends the browser.
    pub fn initiate_login_url(&self, instance: &InstanceId) -> String {
        format!("{}/sso/{instance}/initiate", self.origin)
    }

    /// Where Okta sends the browser after signing out: the "You are signed out" page.
    pub fn sign_out_redirect_url(&self) -> String {
        format!("{}/signed-out", self.origin)
    }

    /// Where Okta's Universal Logout posts for one instance; also the `aud` its token names.
    pub fn global_token_revocation_url(&self, instance: &InstanceId) -> String {
        format!("{}/sso/{instance}/global-token-revocation", self.origin)
    }

    /// What an org's admin pastes into Okta for one instance.
    pub fn instance_urls(&self, instance: &Instance) -> InstanceUrls {
        InstanceUrls {
            sign_in_redirect_uri: self.callback_url(&instance.id),
            initiate_login_uri: self.initiate_login_url(&instance.id),
            sign_out_redirect_uri: instance
                .post_logout_uri
                .clone()
                .unwrap_or_else(|| self.sign_out_redirect_url()),
            global_token_revocation_uri: self.global_token_revocation_url(&instance.id),
        }
    }

    /// The one-time link a tenant admin opens to configure their instance.
    pub fn setup_url(&self, token: &str) -> String {
        format!("{}/setup/{token}", self.origin)
    }
}

/// The four URLs of an instance that Okta must know (a custom app integration made by hand
/// takes them as they are; the OIN app builds them from the instance id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceUrls {
    pub sign_in_redirect_uri: String,
    pub initiate_login_uri: String,
    pub sign_out_redirect_uri: String,
    pub global_token_revocation_uri: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub public_url: PublicUrl,
    secure_cookies: bool,
    pub issuer_policy: IssuerPolicy,
    /// A session's absolute lifetime.
    pub session_ttl: Duration,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    pub flow_ttl: Duration,
    /// Clock skew tolerated on ID token times (`exp`, `nbf`, `iat`).
    pub clock_leeway: Duration,
    /// The one DNS server that domain verification asks; `None`: the system's resolvers.
    pub dns_server: Option<SocketAddr>,
    /// Reverse proxies and load balancers in front of this server: a request from one of them
    /// keeps the `X-Request-Id` it brings.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Settings {
    /// `insecure_cookies` drops the `Secure` attribute so a browser keeps cookies on plain
    /// `http://127.0.0.1`; it is refused for any public URL that is not loopback.
    pub fn new(
        public_url: PublicUrl,
        insecure_cookies: bool,
        issuer_policy: IssuerPolicy,
        session_ttl: Duration,
    ) -> Result<Self, InvalidValue> {
        if insecure_cookies && !public_url.loopback {
            return Err(InvalidValue(
                "insecure (non-Secure) cookies are only allowed when the public URL is a \
                 loopback address"
                    .to_owned(),
            ));
        }
        Ok(Self {
            public_url,
            secure_cookies: !insecure_cookies,
            issuer_policy,
            session_ttl,
            session_idle: Duration::from_secs(8 * 3600),
            flow_ttl: Duration::from_secs(600),
            clock_leeway: Duration::from_secs(60),
            dns_server: None,
            trusted_proxies: Vec::new(),
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, insecure: bool) -> Result<Settings, InvalidValue> {
        Settings::new(
            PublicUrl::parse(url)?,
            insecure,
            IssuerPolicy::default(),
            Duration::ZERO,
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
        let url = PublicUrl::parse("https://orgpass.example.com/").unwrap();
        let id = InstanceId::parse("acme-okta").unwrap();
        assert_eq!(
            url.callback_url(&id),
            "https://orgpass.example.com/sso/acme-okta/callback"
        );
    }
}
