//! The operator CLI, run as the real binary against a fresh SQLite directory or, in the
//! PostgreSQL pass (`ORGPASS_TEST_STORAGE=postgres`), a fresh PostgreSQL database.
//!
//! `support` runs the binary. One module per command: `tenant`, `instance`, `admin`, `import`
//! (`instance import`), `keys`, `setup_link`; `secrets` follows client secrets through all of
//! them, `storage` checks where the data may live.

mod admin;
#[path = "../common/mod.rs"]
mod common;
mod crash;
mod domain;
mod import;
mod instance;
mod keys;
mod log_secrets;
mod logs;
mod secrets;
mod setup_link;
mod storage;
mod support;
mod tenant;
