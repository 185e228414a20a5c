use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::db::{Db, SignInDb};
use super::sessions::Sessions;
use super::settings::Settings;
use super::sso::revocation::RevocationLimiter;
use super::sso::{FlowStore, ProviderDirectory};
use super::vault::Vault;

/// Everything a handler or server function may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Opens the sealed client secrets.
    pub vault: Arc<Vault>,
    pub settings: Arc<Settings>,
    pub providers: Arc<ProviderDirectory>,
    /// The connection of login starts and callbacks (see [`SignInDb`]).
    pub sign_in_db: SignInDb,
    /// Sign-ins waiting for their callback.
    pub flows: Arc<FlowStore>,
    /// Session lifetimes, the clock they are measured by, and the cache of live sessions.
    pub sessions: Sessions,
    /// Universal Logout requests allowed per instance.
    pub revocation_limiter: Arc<RevocationLimiter>,
}
