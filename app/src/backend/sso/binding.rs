//! The cookie that binds login flows to the browser that started them (RFC 9700 §4.7): a
//! callback is accepted only from the browser whose cookie digests to the flow's binding.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::backend::tokens::{digest, random_token};
use crate::backend::{AppState, cookies};

/// The browser's flow-binding value: the one its cookie carries, or a fresh one when it has
/// none (or one too short to be ours). Reused across tabs, so parallel sign-ins in one browser
/// do not cancel each other. Not `Debug`.
pub struct BrowserBinding(SecretString);

impl BrowserBinding {
    /// Our values are 43 characters; anything much shorter was not set by us.
    const MIN_LEN: usize = 32;

    fn from_cookie(value: &str) -> Option<Self> {
        (value.len() >= Self::MIN_LEN).then(|| Self(SecretString::from(value.to_owned())))
    }

    pub fn fresh() -> Self {
        Self(SecretString::from(random_token()))
    }

    /// What a flow stores: never the value itself.
    pub fn digest(&self) -> String {
        digest(self.0.expose_secret())
    }

    /// Whether this browser started the flow stored with `flow_digest`.
    pub fn matches(&self, flow_digest: &str) -> bool {
        bool::from(self.digest().as_bytes().ct_eq(flow_digest.as_bytes()))
    }

    /// The cookie that keeps this binding for the flows' lifetime.
    pub fn cookie(&self, app: &AppState) -> Cookie<'static> {
        cookies::flow_binding(&app.settings, self.0.expose_secret())
    }
}

impl<S> FromRequestParts<S> for BrowserBinding
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(jar
            .get(cookies::flow_binding_name(&app.settings))
            .and_then(|cookie| Self::from_cookie(cookie.value()))
            .unwrap_or_else(Self::fresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_matches_only_its_own_digest() {
        let binding = BrowserBinding::fresh();
        assert!(binding.matches(&binding.digest()));
        assert!(!BrowserBinding::fresh().matches(&binding.digest()));
    }

    #[test]
    fn a_short_cookie_value_is_not_a_binding() {
        assert!(BrowserBinding::from_cookie("short").is_none());
        assert!(BrowserBinding::from_cookie(&random_token()).is_some());
    }
}
