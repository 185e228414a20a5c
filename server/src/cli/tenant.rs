use app::backend::audit::Actor;
use app::backend::registry::{self, NewTenant, Tenant, TenantChanges, TenantStatus};
use app::domain::{EmailDomain, TenantSlug};
use clap::Subcommand;

use super::{CliError, bad_input, print};
use crate::startup::Storage;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Register a customer organization.
    Add {
        /// URL-safe name, e.g. `acme` (lowercase letters, digits, inner hyphens).
        slug: String,
        /// Name shown to people, e.g. "Acme Corp".
        #[arg(long)]
        name: String,
        /// A work-email domain that routes sign-ins to this org; repeatable.
        #[arg(long = "domain")]
        domains: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List organizations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one organization with its domains and instances.
    Show {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an organization's name, status or domains.
    Update {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// `active`, or `suspended` to refuse every sign-in while keeping the data.
        #[arg(long)]
        status: Option<String>,
        #[arg(long = "add-domain")]
        add_domains: Vec<String>,
        #[arg(long = "remove-domain")]
        remove_domains: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove an organization with its instances, users and sessions.
    Remove {
        slug: String,
        /// Required: removing cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

fn domains(raw: &[String]) -> Result<Vec<EmailDomain>, CliError> {
    raw.iter()
        .map(|domain| EmailDomain::parse(domain).map_err(bad_input))
        .collect()
}

fn line(tenant: &Tenant) -> String {
    let domains: Vec<&str> = tenant.domains.iter().map(EmailDomain::as_str).collect();
    format!(
        "{}\t{}\t{}\t{}",
        tenant.slug,
        tenant.display_name,
        tenant.status.as_str(),
        domains.join(",")
    )
}

impl TenantCommand {
    pub async fn run(self, storage: &Storage) -> Result<(), CliError> {
        let db = &storage.db;
        let actor = Actor::Operator;
        match self {
            Self::Add {
                slug,
                name,
                domains: raw_domains,
                json,
            } => {
                let new = NewTenant {
                    slug: TenantSlug::parse(&slug).map_err(bad_input)?,
                    display_name: name,
                    domains: domains(&raw_domains)?,
                };
                let tenant = registry::add_tenant(db, new, &actor).await?;
                print(json, &tenant, || {
                    format!("added organization\n{}", line(&tenant))
                })
            }
            Self::List { json } => {
                let all = registry::list_tenants(db).await?;
                print(json, &all, || {
                    all.iter().map(line).collect::<Vec<_>>().join("\n")
                })
            }
            Self::Show { slug, json } => {
                let slug = TenantSlug::parse(&slug).map_err(bad_input)?;
                let tenant = registry::find_tenant(db, &slug)
                    .await?
                    .ok_or_else(|| CliError::BadInput(format!("no organization named '{slug}'")))?;
                let instances = registry::list_instances(db, Some(&slug)).await?;
                let report = serde_json::json!({ "tenant": tenant, "instances": instances });
                print(json, &report, || {
                    let mut text = line(&tenant);
                    for instance in &instances {
                        let state = if instance.enabled {
                            "enabled"
                        } else {
                            "disabled"
                        };
                        text.push_str(&format!(
                            "\n  {}\t{}\t{}\t{}\t{state}",
                            instance.id, instance.label, instance.issuer, instance.client_id
                        ));
                    }
                    text
                })
            }
            Self::Update {
                slug,
                name,
                status,
                add_domains,
                remove_domains,
                json,
            } => {
                let slug = TenantSlug::parse(&slug).map_err(bad_input)?;
                let changes = TenantChanges {
                    display_name: name,
                    status: status
                        .as_deref()
                        .map(TenantStatus::parse)
                        .transpose()
                        .map_err(bad_input)?,
                    add_domains: domains(&add_domains)?,
                    remove_domains: domains(&remove_domains)?,
                };
                let tenant = registry::update_tenant(db, &slug, changes, &actor).await?;
                print(json, &tenant, || {
                    format!("updated organization\n{}", line(&tenant))
                })
            }
            Self::Remove { slug, yes } => {
                let slug = TenantSlug::parse(&slug).map_err(bad_input)?;
                if !yes {
                    return Err(CliError::BadInput(format!(
                        "removing '{slug}' deletes its instances, users and sessions: add --yes"
                    )));
                }
                registry::remove_tenant(db, &slug, &actor).await?;
                println!("removed organization {slug}");
                Ok(())
            }
        }
    }
}
