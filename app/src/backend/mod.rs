//! The server side of Orgpass (`ssr` only): storage, tenants, sessions and the OIDC flow.
//! HTTP handlers and server functions stay thin and call into these modules.

pub mod auth;
pub mod cookies;
pub mod db;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod state;
pub mod tenants;
mod tokens;

pub use state::AppState;
