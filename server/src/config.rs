//! Deployment settings: command-line flags, each with an environment variable, each documented
//! (`orgpass serve --help`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use app::backend::db::Location;
use app::backend::settings::{PublicUrl, Settings};
use app::domain::{InvalidValue, IssuerPolicy};
use clap::Args;
// Environment flags accept the usual spellings: 1/0, yes/no, on/off, true/false.
use clap::builder::BoolishValueParser;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

/// Where the data lives; shared by `serve` and the operator commands.
///
/// Two settings are read from the environment only, never from flags (which `ps` shows):
/// `DATABASE_URL` (a `postgres://` URL: PostgreSQL instead of the embedded SQLite, for several
/// replicas) and `ORGPASS_MASTER_KEY` (the master keys sealing client secrets,
/// `ID:BASE64[,ID:BASE64…]`, the first one current; required with PostgreSQL — without it the
/// embedded default keeps its keys in `DATA_DIR/master.keys`, created on first start, mode 0600).
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Directory for the embedded SQLite database and its master key file (created on first
    /// start). Set DATABASE_URL=postgres://… to use PostgreSQL instead.
    #[arg(long, env = "ORGPASS_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// `DATABASE_URL`; it may hold a password, hence redacted in `Debug`.
    #[arg(skip = secret_env("DATABASE_URL"))]
    pub database_url: Option<SecretString>,
    /// `ORGPASS_MASTER_KEY`.
    #[arg(skip = secret_env("ORGPASS_MASTER_KEY"))]
    pub master_key: Option<SecretString>,
}

fn secret_env(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .map(SecretString::from)
}

impl StorageArgs {
    /// The embedded default in `data_dir`, with the master key from its key file.
    pub fn embedded(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: None,
            master_key: None,
        }
    }

    /// The database to open: PostgreSQL when `DATABASE_URL` is set, else the SQLite file.
    pub fn location(&self) -> Result<Location, InvalidValue> {
        let Some(url) = &self.database_url else {
            return Ok(Location::Sqlite(self.data_dir.join("orgpass.db")));
        };
        let url = url.expose_secret().trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Location::Postgres(url.to_owned()))
        } else {
            Err(InvalidValue(
                "DATABASE_URL must be a postgres:// URL; unset it to use the embedded SQLite \
                 database in the data directory"
                    .to_owned(),
            ))
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir.join("master.keys")
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
    #[arg(long, env = "ORGPASS_INSECURE_DEV_COOKIES", value_parser = BoolishValueParser::new())]
    pub insecure_dev_cookies: bool,

    /// Development only: accept http:// issuers on loopback addresses (the local simulator).
    #[arg(long, env = "ORGPASS_DEV_LOOPBACK_ISSUERS", value_parser = BoolishValueParser::new())]
    pub dev_loopback_issuers: bool,

    /// Comma-separated custom issuer hosts approved besides Okta's domains.
    #[arg(long, env = "ORGPASS_ALLOWED_ISSUER_HOSTS", value_delimiter = ',')]
    pub allowed_issuer_hosts: Vec<String>,

    /// How long a sign-in lasts at most, in seconds, however active the user is.
    #[arg(long, env = "ORGPASS_SESSION_TTL_SECS", default_value_t = 24 * 3600)]
    pub session_ttl_secs: u64,

    /// A session ends after this many seconds without a request.
    #[arg(long, env = "ORGPASS_SESSION_IDLE_SECS", default_value_t = 8 * 3600)]
    pub session_idle_secs: u64,

    /// How many live sessions each server keeps in memory (about 1 KB each); checks of the
    /// others read the database. 0 turns the cache off.
    #[arg(long, env = "ORGPASS_SESSION_CACHE_ENTRIES", default_value_t = 100_000)]
    pub session_cache_entries: u64,

    /// Clock skew tolerated on ID token `exp`, `nbf` and `iat`, in seconds.
    #[arg(long, env = "ORGPASS_CLOCK_LEEWAY_SECS", default_value_t = 60)]
    pub clock_leeway_secs: u64,

    /// Timeout for each request to an identity provider, in seconds.
    #[arg(long, env = "ORGPASS_IDP_TIMEOUT_SECS", default_value_t = 5)]
    pub idp_timeout_secs: u64,

    #[command(flatten)]
    pub dns: DnsArgs,

    /// Sign-in requests (login start, tile, callback) per client IP and minute, also the burst
    /// allowed; the email and org page lookups get a fifth, server functions twice as many.
    /// 0 turns these limits off.
    #[arg(long, env = "ORGPASS_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,

    /// Serve `GET /metrics` (Prometheus) on this address instead of the main one, so it need
    /// not be public.
    #[arg(long, env = "ORGPASS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Comma-separated addresses or networks (`10.0.0.0/8`) of the reverse proxies in front of
    /// this server; a request from one of them keeps its `X-Request-Id`.
    #[arg(long, env = "ORGPASS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = proxy)]
    pub trusted_proxies: Vec<IpNet>,
}

/// An address (`10.1.2.3`) or a network (`10.0.0.0/8`).
fn proxy(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("'{raw}' is not an IP address or network such as 10.0.0.0/8"))
}

/// Where domain verification looks TXT records up.
#[derive(Debug, Clone, Args)]
pub struct DnsArgs {
    /// One DNS server (IP:PORT) to ask for domain verification records, instead of the
    /// system's resolvers: for air-gapped installs and tests.
    #[arg(long, env = "ORGPASS_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,
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
        settings.session_idle = Duration::from_secs(self.session_idle_secs);
        settings.dns_server = self.dns.dns_server;
        settings.trusted_proxies = self.trusted_proxies.clone();
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
