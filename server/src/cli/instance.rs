use std::io::Read;

use app::backend::db::Db;
use app::backend::settings::PublicUrl;
use app::backend::tenants::{self, Instance, NewInstance, TokenAuthMethod};
use app::domain::{ClientSecret, InstanceId, IssuerUrl, TenantSlug};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::{CliError, print};
use crate::config;

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Register an instance. The client secret is read from ORGPASS_CLIENT_SECRET or, if that is
    /// unset, from standard input: never from the command line, which `ps` shows.
    Add(AddArgs),
    /// List instances with the URLs to paste into Okta.
    List {
        /// Only this organization's instances.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        urls: UrlArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The organization the instance belongs to.
    #[arg(long)]
    tenant: String,
    /// Name shown on the org's sign-in page, e.g. "Okta" or "Engineering".
    #[arg(long)]
    label: String,
    /// The org's issuer, e.g. https://acme.okta.com.
    #[arg(long)]
    issuer: String,
    /// The instance's client id from Okta.
    #[arg(long)]
    client_id: String,
    /// How the instance authenticates at Okta's token endpoint.
    #[arg(long, default_value = "client_secret_basic")]
    token_auth_method: String,
    /// A chosen instance id (used in its URLs); generated when omitted.
    #[arg(long)]
    id: Option<String>,
    #[arg(long, env = "ORGPASS_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Development only: accept http:// issuers on loopback addresses.
    #[arg(long, env = "ORGPASS_DEV_LOOPBACK_ISSUERS")]
    dev_loopback_issuers: bool,
    /// Comma-separated custom issuer hosts approved besides Okta's domains.
    #[arg(long, env = "ORGPASS_ALLOWED_ISSUER_HOSTS", value_delimiter = ',')]
    allowed_issuer_hosts: Vec<String>,
    #[command(flatten)]
    urls: UrlArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UrlArgs {
    /// The URL browsers use to reach Orgpass; the Okta URLs are built from it.
    #[arg(
        long,
        env = "ORGPASS_PUBLIC_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    public_url: String,
}

impl UrlArgs {
    fn parse(&self) -> Result<PublicUrl, CliError> {
        PublicUrl::parse(&self.public_url).map_err(|e| CliError::BadInput(e.0))
    }
}

/// An instance with the URLs its tenant admin pastes into Okta.
#[derive(Serialize)]
struct InstanceReport {
    #[serde(flatten)]
    instance: Instance,
    sign_in_redirect_uri: String,
    initiate_login_uri: String,
}

impl InstanceReport {
    fn new(instance: Instance, urls: &PublicUrl) -> Self {
        Self {
            sign_in_redirect_uri: urls.callback_url(&instance.id),
            initiate_login_uri: urls.login_url(&instance.id),
            instance,
        }
    }

    fn line(&self) -> String {
        let i = &self.instance;
        let state = if i.enabled { "enabled" } else { "disabled" };
        format!(
            "{}\t{}\t{}\t{}\t{}\t{state}\tredirect {}",
            i.id, i.tenant, i.label, i.issuer, i.client_id, self.sign_in_redirect_uri
        )
    }
}

fn read_secret(from_env: Option<String>) -> Result<ClientSecret, CliError> {
    let raw = match from_env {
        Some(secret) => secret,
        None => {
            let mut buffer = String::new();
            std::io::stdin().read_to_string(&mut buffer).map_err(|e| {
                CliError::BadInput(format!("cannot read the secret from stdin: {e}"))
            })?;
            buffer
        }
    };
    ClientSecret::new(raw).map_err(|_| {
        CliError::BadInput(
            "no client secret: set ORGPASS_CLIENT_SECRET or pipe the secret to standard input"
                .to_owned(),
        )
    })
}

impl InstanceCommand {
    pub async fn run(self, db: &Db) -> Result<(), CliError> {
        match self {
            Self::Add(args) => {
                let urls = args.urls.parse()?;
                let policy =
                    config::issuer_policy(&args.allowed_issuer_hosts, args.dev_loopback_issuers);
                let bad = |e: app::domain::InvalidValue| CliError::BadInput(e.0);
                let new = NewInstance {
                    id: args
                        .id
                        .as_deref()
                        .map(InstanceId::parse)
                        .transpose()
                        .map_err(bad)?,
                    tenant: TenantSlug::parse(&args.tenant).map_err(bad)?,
                    label: args.label,
                    issuer: IssuerUrl::parse(&args.issuer, &policy).map_err(bad)?,
                    client_id: args.client_id,
                    client_secret: read_secret(args.client_secret)?,
                    token_auth_method: TokenAuthMethod::parse(&args.token_auth_method)
                        .map_err(bad)?,
                };
                let report = InstanceReport::new(tenants::add_instance(db, new).await?, &urls);
                print(args.json, &report, || {
                    format!("added instance\n{}", report.line())
                })
            }
            Self::List { tenant, urls, json } => {
                let public_url = urls.parse()?;
                let tenant = tenant
                    .as_deref()
                    .map(TenantSlug::parse)
                    .transpose()
                    .map_err(|e| CliError::BadInput(e.0))?;
                let reports: Vec<InstanceReport> = tenants::list_instances(db, tenant.as_ref())
                    .await?
                    .into_iter()
                    .map(|instance| InstanceReport::new(instance, &public_url))
                    .collect();
                print(json, &reports, || {
                    reports
                        .iter()
                        .map(InstanceReport::line)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
        }
    }
}
