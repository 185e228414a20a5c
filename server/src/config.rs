//! Deployment settings: command-line flags, each with an environment variable, each documented
//! (`orgpass serve --help`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use app::backend::settings::{PublicUrl, Settings};
use app::domain::{InvalidValue, IssuerPolicy};
use clap::Args;

/// Where the data lives; shared by `serve` and the operator commands.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory for the embedded SQLite database (created on first start).
    #[arg(long, env = "ORGPASS_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
}

impl StorageArgs {
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("orgpass.db")
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "ORGPASS_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The URL browsers use to reach this server; instance URLs are built from it.
    /// Defaults to `http://` plus the listening address (fine for local development only).
    #[arg(long, env = "ORGPASS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Development only: cookies without `Secure`, so they work on http://127.0.0.1.
    /// Refused unless the public URL is a loopback address.
    #[arg(long, env = "ORGPASS_INSECURE_DEV_COOKIES")]
    pub insecure_dev_cookies: bool,

    /// Development only: accept http:// issuers on loopback addresses (the local simulator).
    #[arg(long, env = "ORGPASS_DEV_LOOPBACK_ISSUERS")]
    pub dev_loopback_issuers: bool,

    /// Comma-separated custom issuer hosts approved besides Okta's domains.
    #[arg(long, env = "ORGPASS_ALLOWED_ISSUER_HOSTS", value_delimiter = ',')]
    pub allowed_issuer_hosts: Vec<String>,

    /// How long a sign-in lasts, in seconds.
    #[arg(long, env = "ORGPASS_SESSION_TTL_SECS", default_value_t = 8 * 3600)]
    pub session_ttl_secs: u64,

    /// Clock skew tolerated on ID token `exp`, `nbf` and `iat`, in seconds.
    #[arg(long, env = "ORGPASS_CLOCK_LEEWAY_SECS", default_value_t = 60)]
    pub clock_leeway_secs: u64,

    /// Timeout for each request to an identity provider, in seconds.
    #[arg(long, env = "ORGPASS_IDP_TIMEOUT_SECS", default_value_t = 5)]
    pub idp_timeout_secs: u64,
}

impl ServeArgs {
    /// `bound` is the address actually listened on (it differs from `listen` for port 0).
    pub fn settings(&self, bound: SocketAddr) -> Result<Settings, InvalidValue> {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let mut settings = Settings::new(
            PublicUrl::parse(&public_url)?,
            self.insecure_dev_cookies,
            self.issuer_policy(),
            Duration::from_secs(self.session_ttl_secs),
        )?;
        settings.clock_leeway = Duration::from_secs(self.clock_leeway_secs);
        Ok(settings)
    }

    pub fn issuer_policy(&self) -> IssuerPolicy {
        issuer_policy(&self.allowed_issuer_hosts, self.dev_loopback_issuers)
    }
}

pub fn issuer_policy(allowed_hosts: &[String], dev_loopback: bool) -> IssuerPolicy {
    IssuerPolicy {
        allowed_custom_hosts: allowed_hosts
            .iter()
            .map(|host| host.trim().to_ascii_lowercase())
            .filter(|host| !host.is_empty())
            .collect(),
        allow_loopback_http: dev_loopback,
    }
}
