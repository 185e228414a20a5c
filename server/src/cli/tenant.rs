use app::backend::db::Db;
use app::backend::tenants;
use app::domain::TenantSlug;
use clap::Subcommand;

use super::{CliError, print};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Register a customer organization.
    Add {
        /// URL-safe name, e.g. `acme` (lowercase letters, digits, inner hyphens).
        slug: String,
        /// Name shown to people, e.g. "Acme Corp".
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List organizations.
    List {
        #[arg(long)]
        json: bool,
    },
}

impl TenantCommand {
    pub async fn run(self, db: &Db) -> Result<(), CliError> {
        match self {
            Self::Add { slug, name, json } => {
                let slug = TenantSlug::parse(&slug).map_err(|e| CliError::BadInput(e.0))?;
                let tenant = tenants::add_tenant(db, slug, &name).await?;
                print(json, &tenant, || {
                    format!(
                        "added organization {} ({})",
                        tenant.slug, tenant.display_name
                    )
                })
            }
            Self::List { json } => {
                let all = tenants::list_tenants(db).await?;
                print(json, &all, || {
                    all.iter()
                        .map(|t| format!("{}\t{}", t.slug, t.display_name))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
        }
    }
}
