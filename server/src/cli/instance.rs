use std::io::Read;
use std::path::PathBuf;

use app::backend::audit::Actor;
use app::backend::registry::{
    self, Instance, InstanceChanges, InstanceDetail, NewInstance, TokenAuthMethod,
};
use app::backend::settings::{InstanceUrls, PublicUrl};
use app::domain::{ClientSecret, InstanceId, IssuerPolicy, IssuerUrl, TenantSlug};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::{CliError, bad_input, import, print};
use crate::config;
use crate::startup::Storage;

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
    /// Show one instance: its settings, its secrets' hints and the three URLs to paste into Okta.
    Show {
        id: String,
        #[command(flatten)]
        urls: UrlArgs,
        #[arg(long)]
        json: bool,
    },
    /// Change an instance. A secret (with --secret) is read like `add` reads it.
    Update(UpdateArgs),
    /// Let people sign in through an instance again.
    Enable { id: String },
    /// Stop sign-ins through an instance; its signed-in sessions end.
    Disable { id: String },
    /// Remove an instance with its users and sessions.
    Remove {
        id: String,
        /// Required: removing cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Add many instances from a JSON array or a CSV file (with a header row), all or nothing.
    /// Fields: tenant, label, issuer, client_id, client_secret; optional id, token_auth_method,
    /// and tenant_name (+ domains) to create a missing organization.
    Import {
        file: PathBuf,
        /// The file's format; by default from its extension (.json or .csv).
        #[arg(long, value_enum)]
        format: Option<import::Format>,
        #[command(flatten)]
        issuers: IssuerArgs,
        #[arg(long)]
        json: bool,
    },
}

/// Which issuers may be registered (the same policy `serve` applies).
#[derive(Debug, Args)]
pub struct IssuerArgs {
    /// Development only: accept http:// issuers on loopback addresses.
    #[arg(long, env = "ORGPASS_DEV_LOOPBACK_ISSUERS")]
    dev_loopback_issuers: bool,
    /// Comma-separated custom issuer hosts approved besides Okta's domains.
    #[arg(long, env = "ORGPASS_ALLOWED_ISSUER_HOSTS", value_delimiter = ',')]
    allowed_issuer_hosts: Vec<String>,
}

impl IssuerArgs {
    pub fn policy(&self) -> IssuerPolicy {
        config::issuer_policy(&self.allowed_issuer_hosts, self.dev_loopback_issuers)
    }
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
    /// Another redirect URI registered in Okta besides the default one; repeatable.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Where Okta may send people after signing out.
    #[arg(long)]
    post_logout_uri: Option<String>,
    #[arg(long, env = "ORGPASS_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    #[command(flatten)]
    issuers: IssuerArgs,
    #[command(flatten)]
    urls: UrlArgs,
    #[arg(long)]
    json: bool,
}

/// Which secret a new value replaces.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SecretTarget {
    /// The secret in use now.
    Current,
    /// The secret Okta generated for a rotation; both are tried until it is promoted.
    Next,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    #[arg(long)]
    label: Option<String>,
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    #[arg(long)]
    token_auth_method: Option<String>,
    /// Replace the extra redirect URIs with these; repeatable.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Remove every extra redirect URI.
    #[arg(long, conflicts_with = "redirect_uris")]
    clear_redirect_uris: bool,
    #[arg(long)]
    post_logout_uri: Option<String>,
    /// Read a secret (ORGPASS_CLIENT_SECRET or stdin) and store it as this one.
    #[arg(long, value_enum)]
    secret: Option<SecretTarget>,
    /// Make the next secret the current one (after Okta deactivated the old secret).
    #[arg(long, conflicts_with_all = ["secret", "drop_next_secret"])]
    promote_next_secret: bool,
    /// Forget the next secret.
    #[arg(long)]
    drop_next_secret: bool,
    #[arg(long, env = "ORGPASS_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    #[command(flatten)]
    issuers: IssuerArgs,
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
    pub fn parse(&self) -> Result<PublicUrl, CliError> {
        PublicUrl::parse(&self.public_url).map_err(bad_input)
    }
}

/// An instance with the URLs its tenant admin pastes into Okta.
#[derive(Serialize)]
struct InstanceReport<T: Serialize> {
    #[serde(flatten)]
    instance: T,
    #[serde(flatten)]
    urls: InstanceUrls,
}

impl<T: Serialize> InstanceReport<T> {
    fn new(instance: T, of: &Instance, urls: &PublicUrl) -> Self {
        Self {
            urls: urls.instance_urls(of),
            instance,
        }
    }
}

fn line(instance: &Instance, redirect: &str) -> String {
    let state = if instance.enabled {
        "enabled"
    } else {
        "disabled"
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{state}\tredirect {redirect}",
        instance.id, instance.tenant, instance.label, instance.issuer, instance.client_id
    )
}

fn report(instance: Instance, urls: &PublicUrl, json: bool, heading: &str) -> Result<(), CliError> {
    let report = InstanceReport::new(instance.clone(), &instance, urls);
    print(json, &report, || {
        format!(
            "{heading}\n{}",
            line(&report.instance, &report.urls.sign_in_redirect_uri)
        )
    })
}

fn detail_text(report: &InstanceReport<InstanceDetail>) -> String {
    let detail = &report.instance;
    let instance = &detail.instance;
    let mut text = format!(
        "instance        {}\norganization    {}\nlabel           {}\nissuer          {}\n\
         client id       {}\nclient secret   {}\n",
        instance.id,
        instance.tenant,
        instance.label,
        instance.issuer,
        instance.client_id,
        detail.client_secret
    );
    if let Some(next) = &detail.next_client_secret {
        text.push_str(&format!("next secret     {next}\n"));
    }
    text.push_str(&format!(
        "auth method     {}\nstatus          {}\n\nPaste into Okta:\n\
         Sign-in redirect URI     {}\nInitiate login URI       {}\nSign-out redirect URI    {}\n\
         Global token revocation  {}",
        instance.token_auth_method.as_str(),
        if instance.enabled {
            "enabled"
        } else {
            "disabled"
        },
        report.urls.sign_in_redirect_uri,
        report.urls.initiate_login_uri,
        report.urls.sign_out_redirect_uri,
        report.urls.global_token_revocation_uri,
    ));
    for uri in &instance.extra_redirect_uris {
        text.push_str(&format!("\nAlso registered          {uri}"));
    }
    text
}

pub fn read_secret(from_env: Option<String>) -> Result<ClientSecret, CliError> {
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

fn instance_id(raw: &str) -> Result<InstanceId, CliError> {
    InstanceId::parse(raw).map_err(bad_input)
}

impl InstanceCommand {
    pub async fn run(self, storage: &Storage) -> Result<(), CliError> {
        let (db, vault) = (&storage.db, storage.vault.as_ref());
        let actor = Actor::Operator;
        match self {
            Self::Add(args) => {
                let urls = args.urls.parse()?;
                let policy = args.issuers.policy();
                let new = NewInstance {
                    id: args.id.as_deref().map(instance_id).transpose()?,
                    tenant: TenantSlug::parse(&args.tenant).map_err(bad_input)?,
                    label: args.label,
                    issuer: IssuerUrl::parse(&args.issuer, &policy).map_err(bad_input)?,
                    client_id: args.client_id,
                    client_secret: read_secret(args.client_secret)?,
                    token_auth_method: TokenAuthMethod::parse(&args.token_auth_method)
                        .map_err(bad_input)?,
                    extra_redirect_uris: args.redirect_uris,
                    post_logout_uri: args.post_logout_uri,
                    enabled: true,
                };
                let instance = registry::add_instance(db, vault, new, &actor).await?;
                report(instance, &urls, args.json, "added instance")
            }
            Self::List { tenant, urls, json } => {
                let public_url = urls.parse()?;
                let tenant = tenant
                    .as_deref()
                    .map(TenantSlug::parse)
                    .transpose()
                    .map_err(bad_input)?;
                if let Some(slug) = &tenant
                    && registry::find_tenant(db, slug).await?.is_none()
                {
                    return Err(CliError::BadInput(format!(
                        "no organization named '{slug}'"
                    )));
                }
                let reports: Vec<_> = registry::list_instances(db, tenant.as_ref())
                    .await?
                    .into_iter()
                    .map(|instance| InstanceReport::new(instance.clone(), &instance, &public_url))
                    .collect();
                print(json, &reports, || {
                    reports
                        .iter()
                        .map(|r| line(&r.instance, &r.urls.sign_in_redirect_uri))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            Self::Show { id, urls, json } => {
                let urls = urls.parse()?;
                let id = instance_id(&id)?;
                let detail = registry::instance_detail(db, vault, &id).await?;
                let instance = detail.instance.clone();
                let report = InstanceReport::new(detail, &instance, &urls);
                print(json, &report, || detail_text(&report))
            }
            Self::Update(args) => {
                let urls = args.urls.parse()?;
                let id = instance_id(&args.id)?;
                let policy = args.issuers.policy();
                let secret = match args.secret {
                    Some(_) => Some(read_secret(args.client_secret)?),
                    None => None,
                };
                let (client_secret, next_secret) = match (args.secret, secret) {
                    (Some(SecretTarget::Current), secret) => (secret, None),
                    (Some(SecretTarget::Next), secret) => (None, Some(secret)),
                    _ if args.drop_next_secret => (None, Some(None)),
                    _ => (None, None),
                };
                let changes = InstanceChanges {
                    label: args.label,
                    issuer: args
                        .issuer
                        .as_deref()
                        .map(|raw| IssuerUrl::parse(raw, &policy))
                        .transpose()
                        .map_err(bad_input)?,
                    client_id: args.client_id,
                    client_secret,
                    next_secret,
                    promote_next: args.promote_next_secret,
                    token_auth_method: args
                        .token_auth_method
                        .as_deref()
                        .map(TokenAuthMethod::parse)
                        .transpose()
                        .map_err(bad_input)?,
                    extra_redirect_uris: if args.clear_redirect_uris {
                        Some(Vec::new())
                    } else if args.redirect_uris.is_empty() {
                        None
                    } else {
                        Some(args.redirect_uris)
                    },
                    post_logout_uri: args.post_logout_uri.map(Some),
                };
                let instance = registry::update_instance(db, vault, &id, changes, &actor).await?;
                report(instance, &urls, args.json, "updated instance")
            }
            Self::Enable { id } => {
                let instance = registry::set_enabled(db, &instance_id(&id)?, true, &actor).await?;
                println!("enabled instance {}", instance.id);
                Ok(())
            }
            Self::Disable { id } => {
                let instance = registry::set_enabled(db, &instance_id(&id)?, false, &actor).await?;
                println!("disabled instance {}", instance.id);
                Ok(())
            }
            Self::Remove { id, yes } => {
                let id = instance_id(&id)?;
                if !yes {
                    return Err(CliError::BadInput(format!(
                        "removing '{id}' deletes its users and sessions: add --yes"
                    )));
                }
                registry::remove_instance(db, &id, &actor).await?;
                println!("removed instance {id}");
                Ok(())
            }
            Self::Import {
                file,
                format,
                issuers,
                json,
            } => import::run(storage, &file, format, &issuers.policy(), json).await,
        }
    }
}
