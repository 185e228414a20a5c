//! Instances of the integration: each its own Okta client (issuer, client id, sealed secrets).
//!
//! `model` holds the types and their row mapping, `validate` the checks on client ids and
//! redirect URIs, `secrets` the two sealed secret slots, `read` the queries, `write` the
//! changes with their audit events, and `observed` what sign-ins note as they go.

mod model;
mod observed;
mod read;
mod secrets;
mod validate;
mod write;

pub use model::{
    ClockSkew, Instance, InstanceChanges, InstanceCredentials, InstanceDetail, NewInstance,
    TokenAuthMethod,
};
pub use observed::{record_clock_skew, record_working_secret};
pub use read::{
    enabled_credentials, find_instance, instance_detail, list_instances,
    sign_in_options_for_domain, test_credentials,
};
pub use secrets::SecretSlot;
pub use write::{add_instance, remove_instance, set_enabled, update_instance};
// For `import` (client ids, inserting rows) and `keys` (opening secrets to check or re-seal).
pub(super) use secrets::open_secret;
pub(super) use validate::client_id;
pub(super) use write::insert_instance;
