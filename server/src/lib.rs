//! The `orgpass` binary's library: configuration, the operator CLI and the HTTP server.

pub mod cli;
pub mod config;
pub mod http;
pub mod startup;
