//! End-to-end tests of the HTTP API against a real Okta simulator (node, oidc-provider).
//! Each test gets its own server on 127.0.0.1:0, its own SQLite directory (or
//! PostgreSQL database, in the PostgreSQL pass) and its own simulator.

#[path = "../common/mod.rs"]
mod common;
mod conformance;
mod cookies;
mod domains;
mod email_routing;
mod health;
mod helpers;
mod hostile_answers;
mod hostile_op;
mod metrics;
mod people;
mod rate_limits;
mod registry;
mod rejections;
mod replicas;
mod rotation_load;
mod scenario;
mod secrets;
mod security_headers;
mod sessions;
mod settings_instances;
mod setup_links;
mod sign_in;
mod sign_out;
mod tenant_admins;
mod test_sign_in;
mod tile;
mod universal_logout;
