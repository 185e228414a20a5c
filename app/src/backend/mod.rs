//! The server side of Orgpass (`ssr` only): storage, the registry of orgs, sessions and the OIDC flow.
//! HTTP handlers and server functions stay thin and call into these modules.

pub mod admins;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod cookies;
pub mod db;
pub mod org_settings;
pub mod people;
pub mod registry;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod state;
mod tokens;
pub mod vault;

pub use state::AppState;
