//! The operator CLI: `orgpass serve` and the registry commands. Exit codes: 0 done,
//! 2 bad input (with what to fix), 1 anything else.

mod admin;
mod domain;
mod import;
mod instance;
mod keys;
mod setup_link;
mod tenant;

use std::process::ExitCode;

use app::backend::registry::RegistryError;
use app::domain::{InvalidValue, TenantSlug};
use clap::{Parser, Subcommand};
use leptos::config::get_configuration;

use crate::config::{ServeArgs, StorageArgs};
use crate::startup::{Application, StartupError, Storage, open_storage};

#[derive(Debug, Parser)]
#[command(
    name = "orgpass",
    version,
    about = "Sign in with Okta for every customer org at once"
)]
pub struct Cli {
    #[command(flatten)]
    storage: StorageArgs,
    /// `text` for people, `json` for one JSON object per line (log collectors).
    #[arg(long, env = "ORGPASS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server.
    Serve(ServeArgs),
    /// Manage customer organizations.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Email domains: which route each organization's people, and claims awaiting their DNS
    /// TXT record.
    #[command(subcommand)]
    Domain(domain::DomainCommand),
    /// Manage instances of the integration (one set of Okta credentials each).
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// Master keys sealing the client secrets at rest.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// An organization's tenant admins (support cases; admins manage them in the settings page).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// One-time links for a customer's admin to configure their own instance.
    #[command(subcommand, name = "setup-link")]
    SetupLink(setup_link::SetupLinkCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The operator can fix it (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// Something else went wrong (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl From<RegistryError> for CliError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Database(source) => Self::Failed(format!("database error: {source}")),
            other => Self::BadInput(other.to_string()),
        }
    }
}

/// The org named on the command line, which must exist.
pub(crate) async fn known_tenant(storage: &Storage, raw: &str) -> Result<TenantSlug, CliError> {
    let tenant = TenantSlug::parse(raw).map_err(bad_input)?;
    match app::backend::registry::find_tenant(&storage.db, &tenant).await? {
        Some(_) => Ok(tenant),
        None => Err(RegistryError::UnknownTenant(tenant).into()),
    }
}

pub(crate) fn bad_input(error: InvalidValue) -> CliError {
    CliError::BadInput(error.0)
}

impl From<StartupError> for CliError {
    fn from(error: StartupError) -> Self {
        match error {
            StartupError::Config(_) | StartupError::Listen { .. } | StartupError::MasterKey(_) => {
                Self::BadInput(error.to_string())
            }
            StartupError::Database { .. } => Self::Failed(error.to_string()),
        }
    }
}

impl Cli {
    pub async fn run(self) -> ExitCode {
        match self.dispatch().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(CliError::BadInput(message)) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
            Err(CliError::Failed(message)) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        }
    }

    async fn dispatch(self) -> Result<(), CliError> {
        let storage = &self.storage;
        match self.command {
            Command::Serve(serve) => run_server(storage, &serve).await,
            // Needs no database: an operator prepares the key before the first start.
            Command::Keys(keys::KeysCommand::Generate { id }) => keys::generate(id),
            Command::Keys(keys::KeysCommand::Rotate) => {
                with_storage(storage, async |opened| keys::rotate(opened).await).await
            }
            Command::Tenant(command) => {
                with_storage(storage, async |opened| command.run(opened).await).await
            }
            Command::Domain(command) => {
                with_storage(storage, async |opened| command.run(opened).await).await
            }
            Command::Instance(command) => {
                with_storage(storage, async |opened| command.run(opened).await).await
            }
            Command::Admin(command) => {
                with_storage(storage, async |opened| command.run(opened).await).await
            }
            Command::SetupLink(command) => {
                with_storage(storage, async |opened| command.run(opened).await).await
            }
        }
    }
}

/// Runs an operator command against the storage, then closes the pool, so SQLite checkpoints
/// its write-ahead log instead of leaving it for the next start to replay.
async fn with_storage(
    args: &StorageArgs,
    command: impl AsyncFnOnce(&Storage) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let storage = open_storage(args).await?;
    let outcome = command(&storage).await;
    storage.db.close().await;
    outcome
}

async fn run_server(storage: &StorageArgs, serve: &ServeArgs) -> Result<(), CliError> {
    let leptos = get_configuration(None)
        .map_err(|e| CliError::BadInput(format!("Leptos configuration: {e}")))?
        .leptos_options;
    let app = Application::build(storage, serve, leptos).await?;
    let addr = app
        .local_addr()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    tracing::info!(%addr, public_url = %app.settings().public_url.origin(), "orgpass is listening");
    app.run_until_stopped()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
}

/// Prints `value` as pretty JSON, or `text` for people.
fn print(
    json: bool,
    value: &impl serde::Serialize,
    text: impl FnOnce() -> String,
) -> Result<(), CliError> {
    if json {
        let rendered = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::Failed(format!("cannot render JSON: {e}")))?;
        println!("{rendered}");
    } else {
        println!("{}", text());
    }
    Ok(())
}
