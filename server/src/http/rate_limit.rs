//! Limits per client IP on the anonymous ways in: sign-in starts and callbacks, the email and
//! org page lookups (which would otherwise enumerate tenants), and the server functions. A
//! refusal is 429 with `Retry-After`. The client is the socket peer, or, when the peer is a
//! trusted proxy, the right-most address of `X-Forwarded-For` that is not one.
//! Universal Logout has its own limit, per instance (`sso::revocation`).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use app::api::{OrgSignIn, RouteEmail};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use leptos::server_fn::ServerFn;

/// The limits of one server: each client IP's budget per kind of request.
pub struct ClientLimits {
    sign_in: Option<DefaultKeyedRateLimiter<IpAddr>>,
    lookup: Option<DefaultKeyedRateLimiter<IpAddr>>,
    server_fn: Option<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Vec<IpNet>,
}

/// What a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/sso/{instance}/login`, `/initiate`, `/callback`, `/test`.
    SignIn,
    /// The work-email and org page lookups.
    Lookup,
    /// Any other server function.
    ServerFn,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Lookup => "lookup",
            Self::ServerFn => "server_fn",
        }
    }
}

impl ClientLimits {
    /// `per_minute` sign-in requests per client IP (also its burst: a whole office behind one
    /// address signing in at nine); a fifth of that for lookups, twice that for server
    /// functions. 0 turns the limits off.
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpNet>) -> Self {
        let quota = |per_minute: u32| {
            NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
        };
        Self {
            sign_in: quota(per_minute),
            lookup: quota(per_minute.div_ceil(5)),
            server_fn: quota(per_minute.saturating_mul(2)),
            trusted_proxies,
        }
    }

    fn limiter(&self, kind: Kind) -> Option<&DefaultKeyedRateLimiter<IpAddr>> {
        match kind {
            Kind::SignIn => self.sign_in.as_ref(),
            Kind::Lookup => self.lookup.as_ref(),
            Kind::ServerFn => self.server_fn.as_ref(),
        }
    }

    /// Forgets the clients that have not come back lately; the server runs it periodically.
    pub fn forget_idle(&self) {
        for limiter in [&self.sign_in, &self.lookup, &self.server_fn]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn kind_of(request: &Request) -> Option<Kind> {
    let path = request.uri().path();
    if path == RouteEmail::PATH || path == OrgSignIn::PATH {
        return Some(Kind::Lookup);
    }
    // Server functions are routes of their own, each matched by its own path.
    if request.method() == Method::POST && path.starts_with("/api/") {
        return Some(Kind::ServerFn);
    }
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    matches!(
        matched,
        Some(
            "/sso/{instance}/login"
                | "/sso/{instance}/initiate"
                | "/sso/{instance}/callback"
                | "/sso/{instance}/test"
        )
    )
    .then_some(Kind::SignIn)
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy (entries left of it were written by the
/// client and prove nothing). An entry that is not an address stops the walk there.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded_for.unwrap_or_default().rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

pub async fn limit(
    State(limits): State<Arc<ClientLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(kind) = kind_of(&request) else {
        return next.run(request).await;
    };
    let Some(limiter) = limits.limiter(kind) else {
        return next.run(request).await;
    };
    let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    else {
        return next.run(request).await;
    };
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok());
    let client = client_ip(peer.ip(), forwarded, &limits.trusted_proxies);
    match limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            metrics::counter!("orgpass_rate_limit_refusals_total", "limit" => kind.label())
                .increment(1);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            too_many(wait.as_secs().max(1))
        }
    }
}

fn too_many(retry_after_secs: u64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too many requests from your network. Please try again in {retry_after_secs} \
             seconds.\n"
        ),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn nets(raw: &[&str]) -> Vec<IpNet> {
        raw.iter().map(|net| net.parse().unwrap()).collect()
    }

    #[test]
    fn without_a_trusted_proxy_the_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("198.51.100.1"), &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                Some("1.2.3.4, 198.51.100.7, 10.0.0.1"),
                &trusted
            ),
            ip("198.51.100.7"),
            "the client-written 1.2.3.4 was believed"
        );
        assert_eq!(client_ip(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn a_forwarded_entry_that_is_not_an_address_stops_the_walk() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("198.51.100.7, garbage"), &trusted),
            ip("10.0.0.2")
        );
    }
}
