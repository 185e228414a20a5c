//! The cookies Orgpass sets, always HttpOnly and SameSite=Lax (the callback is a top-level
//! navigation from Okta, which Lax allows). `Secure` and the `__Host-` prefix are dropped only
//! when the operator runs on loopback http (see `Settings::new`).

use axum_extra::extract::cookie::{Cookie, SameSite};
use time::Duration;

use super::settings::Settings;

/// Names the signed-in session.
pub fn session_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        "__Host-orgpass_session"
    } else {
        "orgpass_session"
    }
}

/// Binds login flows to the browser that started them (RFC 9700 §4.7).
pub fn flow_binding_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        "__Host-orgpass_flow"
    } else {
        "orgpass_flow"
    }
}

/// Holds a setup link's token in the browser that opened it, so the link leaves the address bar
/// (and the history and `Referer`) at once.
pub fn setup_link_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        "__Host-orgpass_setup"
    } else {
        "orgpass_setup"
    }
}

fn build(
    settings: &Settings,
    name: &'static str,
    value: String,
    max_age: Duration,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .build()
}

fn seconds(duration: std::time::Duration) -> Duration {
    Duration::seconds(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

pub fn session(settings: &Settings, token: &str) -> Cookie<'static> {
    build(
        settings,
        session_name(settings),
        token.to_owned(),
        seconds(settings.session_ttl),
    )
}

pub fn session_removal(settings: &Settings) -> Cookie<'static> {
    build(
        settings,
        session_name(settings),
        String::new(),
        Duration::ZERO,
    )
}

pub fn flow_binding(settings: &Settings, value: &str) -> Cookie<'static> {
    build(
        settings,
        flow_binding_name(settings),
        value.to_owned(),
        seconds(settings.flow_ttl),
    )
}

/// Lives as long as the link: `expires_at` in Unix seconds.
pub fn setup_link(settings: &Settings, token: &str, expires_at: i64) -> Cookie<'static> {
    let left = expires_at.saturating_sub(crate::backend::db::now()).max(0);
    build(
        settings,
        setup_link_name(settings),
        token.to_owned(),
        Duration::seconds(left),
    )
}

pub fn setup_link_removal(settings: &Settings) -> Cookie<'static> {
    build(
        settings,
        setup_link_name(settings),
        String::new(),
        Duration::ZERO,
    )
}
