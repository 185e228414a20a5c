//! `orgpass keys`: the master keys that seal client secrets at rest.

use app::backend::registry;
use app::backend::vault::{Vault, VaultError};
use clap::Subcommand;

use super::CliError;
use crate::startup::Storage;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Seal every client secret under a new master key, without downtime. With the key file
    /// (the embedded default) a new key is added to it; with ORGPASS_MASTER_KEY, first put the
    /// new key in front of the old one on every replica, then run this.
    Rotate,
    /// Print a fresh key as an ORGPASS_MASTER_KEY entry.
    Generate {
        /// The new key's id: one more than the highest in use.
        #[arg(long, default_value_t = 1)]
        id: i64,
    },
}

pub async fn rotate(storage: &Storage) -> Result<(), CliError> {
    let vault = &storage.vault;
    match vault.rotate() {
        Ok(id) => println!("added master key {id} to the key file"),
        // Keys from ORGPASS_MASTER_KEY: the operator has put the new key first already.
        Err(VaultError::NotRotatable) => {}
        Err(error) => return Err(CliError::Failed(error.to_string())),
    }
    let resealed = registry::reseal_all(&storage.db, vault).await?;
    println!(
        "{resealed} client secret(s) re-sealed with master key {}",
        vault.current_key_id()
    );
    Ok(())
}

pub fn generate(id: i64) -> Result<(), CliError> {
    if id < 1 {
        return Err(CliError::BadInput(
            "the key id must be 1 or more".to_owned(),
        ));
    }
    println!("{}", Vault::generate_env_entry(id));
    Ok(())
}
