//! `orgpass domain`: the email domains that route each org's people, and the claims waiting
//! for their DNS TXT record. `tenant add/update --domain` is the operator's override: such a
//! domain routes at once, recorded as verified by the operator.

use app::backend::audit::Actor;
use app::backend::registry;
use app::backend::registry::domains::{
    self, ClaimStatus, DnsChecker, OrgDomains, Proof, Verification,
};
use app::domain::{EmailDomain, TenantSlug};
use clap::Subcommand;
use serde::Serialize;

use super::{CliError, bad_input, known_tenant, print};
use crate::config::DnsArgs;
use crate::startup::Storage;

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// List the domains of one organization, or of all: verified ones (how) and claims (the
    /// TXT record they wait for).
    List {
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Look a claim's TXT record up now (what the admin's "Verify" does); exit 2 while it is
    /// not there.
    Verify {
        tenant: String,
        domain: String,
        #[command(flatten)]
        dns: DnsArgs,
    },
}

/// One line of `domain list`.
#[derive(Serialize)]
struct DomainRow {
    tenant: String,
    domain: String,
    /// `verified`, `pending` or `failed`.
    status: &'static str,
    /// For a verified domain: `dns` or `operator`.
    verified_by: Option<&'static str>,
    /// For a claim: the TXT record to publish.
    record_name: Option<String>,
    record_value: Option<String>,
}

impl DomainCommand {
    pub async fn run(self, storage: &Storage) -> Result<(), CliError> {
        let db = &storage.db;
        match self {
            Self::List { tenant, json } => {
                let tenants = match tenant {
                    Some(raw) => vec![known_tenant(storage, &raw).await?],
                    None => registry::list_tenants(db)
                        .await?
                        .into_iter()
                        .map(|tenant| tenant.slug)
                        .collect(),
                };
                let mut rows = Vec::new();
                for tenant in &tenants {
                    rows.extend(rows_of(tenant, domains::org_domains(db, tenant).await?));
                }
                print(json, &rows, || list_text(&rows))
            }
            Self::Verify {
                tenant,
                domain,
                dns,
            } => {
                let tenant = known_tenant(storage, &tenant).await?;
                let domain = EmailDomain::parse(&domain).map_err(bad_input)?;
                let checker = DnsChecker::new(dns.dns_server);
                match domains::verify_domain(db, &checker, &tenant, &domain, &Actor::Operator)
                    .await?
                {
                    Verification::Verified(_) => {
                        println!("{domain} is verified for {tenant}: it routes sign-ins");
                        Ok(())
                    }
                    Verification::NotYet(claim) => Err(CliError::BadInput(format!(
                        "{domain} is not verified yet: publish TXT \"{}\" at {}, then run \
                         this again",
                        claim.record_value(),
                        claim.record_name()
                    ))),
                }
            }
        }
    }
}

fn rows_of(tenant: &TenantSlug, found: OrgDomains) -> Vec<DomainRow> {
    let verified = found.verified.into_iter().map(|verified| DomainRow {
        tenant: tenant.to_string(),
        domain: verified.domain.to_string(),
        status: "verified",
        verified_by: Some(match verified.proof {
            Proof::Dns => "dns",
            Proof::Operator => "operator",
        }),
        record_name: None,
        record_value: None,
    });
    let claims = found.claims.into_iter().map(|claim| DomainRow {
        tenant: tenant.to_string(),
        domain: claim.domain.to_string(),
        status: match claim.status {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Failed => "failed",
        },
        verified_by: None,
        record_name: Some(claim.record_name()),
        record_value: Some(claim.record_value()),
    });
    verified.chain(claims).collect()
}

fn list_text(rows: &[DomainRow]) -> String {
    if rows.is_empty() {
        return "no domains".to_owned();
    }
    rows.iter()
        .map(
            |row| match (&row.verified_by, &row.record_name, &row.record_value) {
                (Some(by), _, _) => format!("{}  {}  verified ({by})", row.tenant, row.domain),
                (None, Some(name), Some(value)) => format!(
                    "{}  {}  {}: TXT {name} \"{value}\"",
                    row.tenant, row.domain, row.status
                ),
                _ => format!("{}  {}  {}", row.tenant, row.domain, row.status),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}
