//! `orgpass setup-link`: one-time links with which a customer's admin configures their own
//! instance (consumed by the settings page).

use std::time::Duration;

use app::backend::audit::Actor;
use app::backend::registry::{self, SetupLink};
use app::domain::TenantSlug;
use clap::Subcommand;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::instance::UrlArgs;
use super::{CliError, bad_input, print};
use crate::startup::Storage;

#[derive(Debug, Subcommand)]
pub enum SetupLinkCommand {
    /// Create a link for an organization; it is shown once.
    Create {
        tenant: String,
        /// How long the link works, in hours.
        #[arg(long, default_value_t = 72)]
        hours: u64,
        #[command(flatten)]
        urls: UrlArgs,
        #[arg(long)]
        json: bool,
    },
    /// List links (never their tokens).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a link by its id.
    Revoke { id: String },
}

#[derive(Serialize)]
struct Created<'a> {
    #[serde(flatten)]
    link: &'a SetupLink,
    url: &'a str,
}

impl SetupLinkCommand {
    pub async fn run(self, storage: &Storage) -> Result<(), CliError> {
        let db = &storage.db;
        match self {
            Self::Create {
                tenant,
                hours,
                urls,
                json,
            } => {
                if !(1..=24 * 30).contains(&hours) {
                    return Err(CliError::BadInput(
                        "--hours must be between 1 and 720 (30 days)".to_owned(),
                    ));
                }
                let urls = urls.parse()?;
                let tenant = TenantSlug::parse(&tenant).map_err(bad_input)?;
                let (link, token) = registry::create_setup_link(
                    db,
                    &tenant,
                    Duration::from_secs(hours * 3600),
                    &Actor::Operator,
                )
                .await?;
                let url = urls.setup_url(token.expose_secret());
                print(
                    json,
                    &Created {
                        link: &link,
                        url: &url,
                    },
                    || {
                        format!(
                            "setup link {} for {tenant}, valid for {hours} h (shown once):\n{url}",
                            link.id
                        )
                    },
                )
            }
            Self::List { tenant, json } => {
                let tenant = tenant
                    .as_deref()
                    .map(TenantSlug::parse)
                    .transpose()
                    .map_err(bad_input)?;
                let links = registry::list_setup_links(db, tenant.as_ref()).await?;
                print(json, &links, || {
                    links
                        .iter()
                        .map(|link| {
                            format!(
                                "{}\t{}\t{:?}\texpires {}",
                                link.id, link.tenant, link.status, link.expires_at
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            Self::Revoke { id } => {
                registry::revoke_setup_link(db, &id, &Actor::Operator).await?;
                println!("revoked setup link {id}");
                Ok(())
            }
        }
    }
}
