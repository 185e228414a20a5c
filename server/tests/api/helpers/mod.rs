//! Test harness: a real Orgpass server on 127.0.0.1:0 with its own SQLite directory (or
//! PostgreSQL database), the fixture it is registered with, a real Okta simulator as a child
//! process (`common::simulator`) and a cookie-keeping HTTP client that follows redirects by hand so
//! every hop can be inspected ([`browser`]).

mod browser;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::audit::Actor;
use app::backend::clock::Clock;
use app::backend::registry::{self, ImportRow, NewInstance, NewTenant, TokenAuthMethod};
use app::backend::sessions::invalidation::FRESHNESS;
use app::backend::vault::Vault;
use app::domain::{ClientSecret, InstanceId, IssuerPolicy, IssuerUrl, TenantSlug};
use leptos::config::LeptosOptions;
use reqwest::Url;
use serde_json::{Value, json};
use server::config::{DnsArgs, ServeArgs};
use server::startup::Application;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common::storage::TestStorage;

pub use crate::common::simulator::*;
pub use browser::*;

/// The session cookie's name when the app runs with insecure dev cookies.
pub const SESSION_COOKIE: &str = "orgpass_session";
/// The flow-binding cookie's name when the app runs with insecure dev cookies.
pub const FLOW_COOKIE: &str = "orgpass_flow";

pub const ACME_OKTA: &str = "acme-okta";
/// An app integration every simulated org has but no instance uses yet: what a customer's
/// admin creates in Okta before connecting it on the set-up or settings page.
pub const NEW_APP_CLIENT_ID: &str = "0oa1newapp";
/// Okta's default sign-in redirect URI for a new app integration, until the admin pastes ours.
pub const OKTA_DEFAULT_REDIRECT: &str = "http://localhost:8080/authorization-code/callback";
pub const GLOBEX_ENG: &str = "globex-eng";
pub const GLOBEX_OPS: &str = "globex-ops";

// ---------------------------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------------------------

pub struct UserFixture {
    pub sub: &'static str,
    pub email: &'static str,
    pub name: &'static str,
}

pub const ADA: UserFixture = UserFixture {
    sub: "00u1acmeada",
    email: "ada@acme.example",
    name: "Ada Lovelace",
};
pub const GRACE: UserFixture = UserFixture {
    sub: "00u1acmegrace",
    email: "grace@acme.example",
    name: "Grace Hopper",
};
pub const HANK: UserFixture = UserFixture {
    sub: "00u1globexhank",
    email: "hank@globex.example",
    name: "Hank Scorpio",
};

/// One instance of the integration in the default fixture.
pub struct InstanceFixture {
    pub id: &'static str,
    pub org: &'static str,
    pub label: &'static str,
    pub client_id: &'static str,
    pub token_auth_method: TokenAuthMethod,
}

pub const INSTANCES: [InstanceFixture; 3] = [
    InstanceFixture {
        id: ACME_OKTA,
        org: "acme",
        label: "Okta",
        client_id: "0oa1acmeokta",
        token_auth_method: TokenAuthMethod::ClientSecretBasic,
    },
    InstanceFixture {
        id: GLOBEX_ENG,
        org: "globex",
        label: "Engineering",
        client_id: "0oa1globexeng",
        token_auth_method: TokenAuthMethod::ClientSecretBasic,
    },
    InstanceFixture {
        id: GLOBEX_OPS,
        org: "globex",
        label: "Operations",
        client_id: "0oa1globexops",
        // One fixture authenticates in the request body, so both methods are exercised.
        token_auth_method: TokenAuthMethod::ClientSecretPost,
    },
];

/// A simulated customer org: slug, display name, people.
pub type OrgFixture = (&'static str, &'static str, &'static [UserFixture]);

pub const ORGS: [OrgFixture; 2] = [
    ("acme", "Acme Corporation", &[ADA, GRACE]),
    ("globex", "Globex", &[HANK]),
];

/// How the operator registers the fixture's orgs and instances.
pub enum Registration {
    /// `add_tenant` and `add_instance`, one at a time.
    OneByOne,
    /// One all-or-nothing `import_instances`, as `orgpass instance import` does.
    Import,
}

/// How the app under test is configured; `Default` is the local development setup with the
/// two-org fixture.
pub struct AppConfig {
    pub insecure_dev_cookies: bool,
    pub public_url: Option<String>,
    pub orgs: &'static [OrgFixture],
    pub instances: &'static [InstanceFixture],
    pub registration: Registration,
    /// The app's timeout for each IdP request.
    pub idp_timeout_secs: u64,
    /// How long the simulator's authorization codes stay redeemable.
    pub code_ttl_secs: u64,
    /// `ORGPASS_RATE_LIMIT_PER_MINUTE` (0: off, as every other test comes from 127.0.0.1).
    pub rate_limit_per_minute: u32,
    /// `ORGPASS_TRUSTED_PROXIES`: with 127.0.0.1 here, a test names its client in
    /// `X-Forwarded-For`.
    pub trusted_proxies: &'static [&'static str],
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            insecure_dev_cookies: true,
            public_url: None,
            orgs: &ORGS,
            instances: &INSTANCES,
            registration: Registration::OneByOne,
            idp_timeout_secs: 5,
            code_ttl_secs: 60,
            rate_limit_per_minute: 0,
            trusted_proxies: &[],
        }
    }
}

pub struct TestApp {
    /// The app's own database, for arranging registry state the way an operator would.
    pub db: app::backend::db::Db,
    /// The app's master keys, for registry calls that touch secrets.
    pub vault: Arc<Vault>,
    #[allow(dead_code)]
    pub address: SocketAddr,
    /// Where the test reaches the server, e.g. `http://127.0.0.1:41234`.
    pub base_url: Url,
    /// The public origin the app builds its redirect URIs from (equals `base_url` unless a
    /// public URL was configured).
    pub public_origin: String,
    pub simulator: Simulator,
    #[allow(dead_code)]
    pub instance_ids: Vec<&'static str>,
    /// Client secret of each instance, by instance id (fresh random values per test).
    pub secrets: HashMap<&'static str, String>,
    /// The client secret of every org's [`NEW_APP_CLIENT_ID`].
    pub new_app_secret: String,
    /// The clock sessions are measured by: `advance` it to reach an idle or absolute expiry.
    pub clock: Clock,
    /// How the server was started, with the port it got: a restart reuses both.
    serve: ServeArgs,
    server: BackgroundServer,
    storage: TestStorage,
}

/// The server settings of local development, on a free port of 127.0.0.1.
pub fn dev_serve_args() -> ServeArgs {
    ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        insecure_dev_cookies: true,
        dev_loopback_issuers: true,
        allowed_issuer_hosts: Vec::new(),
        session_ttl_secs: 3600,
        session_idle_secs: 1800,
        session_cache_entries: 10_000,
        clock_leeway_secs: 60,
        idp_timeout_secs: 5,
        dns: DnsArgs { dns_server: None },
        trusted_proxies: Vec::new(),
        metrics_listen: None,
        // Every test comes from 127.0.0.1; the rate limits have tests of their own.
        rate_limit_per_minute: 0,
    }
}

/// A port of 127.0.0.1 free for UDP and TCP, for the simulator's DNS server: the app must
/// know its DNS server when it starts, and the simulator starts after the app (its clients
/// need the app's port). Taken below the kernel's ephemeral range (32768 and up), so no
/// outgoing connection of the tests can take it before the simulator binds it, and handed out
/// once per test process.
fn free_dns_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // A start of its own per process, so a second test run beside this one rarely overlaps.
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 600) as u16 * 20,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < 32_768, "no free port left for the DNS server");
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        if udp.is_ok() && tcp.is_ok() {
            return port;
        }
    }
}

/// Where cargo-leptos puts the site; the API tests need only its name.
pub fn test_leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("orgpass")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build()
}

/// A server running on the test's runtime: aborted when dropped, or stopped the way SIGTERM
/// stops it.
pub struct BackgroundServer {
    handle: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
}

impl BackgroundServer {
    /// Lets the requests in progress finish and the server save its state, as on SIGTERM.
    pub async fn stop_gracefully(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.handle).await.expect("the server failed");
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

pub fn serve_in_background(application: Application) -> BackgroundServer {
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        application
            .run_until(async {
                let _ = stopped.await;
            })
            .await
            .expect("the server failed");
    });
    BackgroundServer {
        handle,
        stop: Some(stop),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppConfig::default()).await
}

/// Server logs go to the test's captured output, so a failing test shows why the app refused.
/// `RUST_LOG` overrides the filter.
fn init_logging() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "warn,server=info".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}

pub async fn spawn_app_with(config: AppConfig) -> TestApp {
    init_logging();
    let storage = TestStorage::new().await;
    let dns_port = free_dns_port();
    let serve = ServeArgs {
        public_url: config.public_url,
        insecure_dev_cookies: config.insecure_dev_cookies,
        idp_timeout_secs: config.idp_timeout_secs,
        rate_limit_per_minute: config.rate_limit_per_minute,
        trusted_proxies: config
            .trusted_proxies
            .iter()
            .map(|proxy| proxy.parse().expect("a trusted proxy network"))
            .collect(),
        dns: DnsArgs {
            dns_server: Some(SocketAddr::from(([127, 0, 0, 1], dns_port))),
        },
        ..dev_serve_args()
    };
    let leptos_options = test_leptos_options();
    let application = Application::build(&storage.args(), &serve, leptos_options)
        .await
        .expect("failed to build the application");
    let address = application.local_addr().expect("no local address");
    let base_url = Url::parse(&format!("http://{address}")).unwrap();
    // The origin browsers use: the configured public URL, else the bound address.
    let public_origin = match &serve.public_url {
        Some(public_url) => Url::parse(public_url)
            .expect("bad public URL")
            .origin()
            .ascii_serialization(),
        None => base_url.origin().ascii_serialization(),
    };
    let db = application.state.db.clone();
    let vault = application.state.vault.clone();
    let clock = application.state.sessions.policy.clock.clone();

    // The simulator's clients must know the app's redirect URIs, which depend on the port.
    let secrets: HashMap<&'static str, String> = config
        .instances
        .iter()
        .map(|i| (i.id, random_secret()))
        .collect();
    let new_app_secret = random_secret();
    let orgs: Vec<Value> = config
        .orgs
        .iter()
        .map(|(slug, _, users)| {
            let mut clients: Vec<Value> = config
                .instances
                .iter()
                .filter(|i| i.org == *slug)
                .map(|i| {
                    json!({
                        "client_id": i.client_id,
                        "client_secret": secrets[i.id],
                        "redirect_uris": [format!("{public_origin}/sso/{}/callback", i.id)],
                        "post_logout_redirect_uris": [format!("{public_origin}/signed-out")],
                        "initiate_login_uri": format!("{public_origin}/sso/{}/initiate", i.id),
                        "token_endpoint_auth_method": i.token_auth_method.as_str(),
                    })
                })
                .collect();
            clients.push(json!({
                "client_id": NEW_APP_CLIENT_ID,
                "client_secret": new_app_secret,
                "redirect_uris": [OKTA_DEFAULT_REDIRECT],
            }));
            let users: Vec<Value> = users
                .iter()
                .map(|u| {
                    json!({
                        "sub": u.sub, "email": u.email, "name": u.name,
                        "preferred_username": u.email,
                    })
                })
                .collect();
            json!({
                "slug": slug, "port": 0, "users": users, "clients": clients,
                "code_ttl": config.code_ttl_secs,
            })
        })
        .collect();
    let simulator = Simulator::start(&json!({ "orgs": orgs, "dns_port": dns_port })).await;

    let policy = IssuerPolicy {
        allow_loopback_http: true,
        ..IssuerPolicy::default()
    };
    match config.registration {
        Registration::OneByOne => {
            for (slug, display_name, _) in config.orgs {
                let new = NewTenant {
                    slug: TenantSlug::parse(slug).unwrap(),
                    display_name: (*display_name).to_owned(),
                    domains: Vec::new(),
                };
                registry::add_tenant(&db, new, &Actor::Operator)
                    .await
                    .expect("cannot add a tenant");
            }
            for instance in config.instances {
                let new = NewInstance {
                    id: Some(InstanceId::parse(instance.id).unwrap()),
                    tenant: TenantSlug::parse(instance.org).unwrap(),
                    label: instance.label.to_owned(),
                    issuer: IssuerUrl::parse(simulator.issuer(instance.org), &policy).unwrap(),
                    client_id: instance.client_id.to_owned(),
                    client_secret: ClientSecret::new(secrets[instance.id].clone()).unwrap(),
                    token_auth_method: instance.token_auth_method,
                    extra_redirect_uris: Vec::new(),
                    post_logout_uri: None,
                    enabled: true,
                };
                registry::add_instance(&db, &vault, new, &Actor::Operator)
                    .await
                    .expect("cannot add an instance");
            }
        }
        Registration::Import => {
            let rows = config
                .instances
                .iter()
                .map(|instance| {
                    let (_, display_name, _) = config
                        .orgs
                        .iter()
                        .find(|(slug, _, _)| *slug == instance.org)
                        .expect("an instance of an org the fixture lacks");
                    ImportRow {
                        tenant: instance.org.to_owned(),
                        tenant_name: Some((*display_name).to_owned()),
                        domains: None,
                        id: Some(instance.id.to_owned()),
                        label: instance.label.to_owned(),
                        issuer: simulator.issuer(instance.org).to_owned(),
                        client_id: instance.client_id.to_owned(),
                        client_secret: secrets[instance.id].clone(),
                        token_auth_method: Some(instance.token_auth_method.as_str().to_owned()),
                    }
                })
                .collect();
            registry::import_instances(&db, &vault, rows, &policy, &Actor::Operator)
                .await
                .expect("cannot import the instances");
        }
    }

    let server = serve_in_background(application);
    TestApp {
        serve: ServeArgs {
            listen: address,
            ..serve
        },
        db,
        vault,
        address,
        base_url,
        public_origin,
        simulator,
        instance_ids: config.instances.iter().map(|i| i.id).collect(),
        secrets,
        new_app_secret,
        clock,
        server,
        storage,
    }
}

fn random_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sim-secret-{hex}")
}

impl TestApp {
    pub fn url(&self, path: &str) -> Url {
        self.base_url.join(path).unwrap()
    }

    /// A new browser: its own cookies, no automatic redirects.
    pub fn browser(&self) -> Browser {
        Browser::new(self.base_url.clone(), self.public_origin.clone())
    }

    /// Domain verification as the app under test does it: through the simulator's DNS.
    pub fn dns(&self) -> app::backend::registry::domains::DnsChecker {
        app::backend::registry::domains::DnsChecker::new(self.serve.dns.dns_server)
    }

    pub fn issuer(&self, org: &str) -> &str {
        self.simulator.issuer(org)
    }

    /// Where the app's data lives.
    pub fn storage(&self) -> &TestStorage {
        &self.storage
    }

    /// Stops the server as SIGTERM would, then starts a new one on the same port and data, as
    /// an operator's restart does.
    pub async fn restart(self) -> Self {
        self.server.stop_gracefully().await;
        let application =
            Application::build(&self.storage.args(), &self.serve, test_leptos_options())
                .await
                .expect("the restarted application failed to build");
        Self {
            // A new process starts on the wall clock again.
            clock: application.state.sessions.policy.clock.clone(),
            server: serve_in_background(application),
            ..self
        }
    }

    /// Every client secret of the simulated orgs.
    pub fn all_secrets(&self) -> Vec<&str> {
        let mut secrets: Vec<&str> = self.secrets.values().map(String::as_str).collect();
        secrets.push(&self.new_app_secret);
        secrets
    }

    /// A second server on the same database, as another replica behind the same load
    /// balancer would be (on SQLite: another process on the same file, like the CLI).
    pub async fn spawn_replica(&self) -> Replica {
        let serve = ServeArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: Some(self.public_origin.clone()),
            ..self.serve.clone()
        };
        let application = Application::build(&self.storage.args(), &serve, test_leptos_options())
            .await
            .expect("the replica failed to build");
        let address = application.local_addr().expect("no local address");
        Replica {
            base_url: Url::parse(&format!("http://{address}")).unwrap(),
            clock: application.state.sessions.policy.clock.clone(),
            _server: serve_in_background(application),
        }
    }
}

/// Another server on a [`TestApp`]'s database.
pub struct Replica {
    pub base_url: Url,
    /// This replica's session clock: replicas' clocks are independent, as machines' are.
    pub clock: Clock,
    _server: BackgroundServer,
}

/// Waits until `check` holds, at most as long as a server may take to learn of another
/// process's change ([`FRESHNESS`], plus the time to ask), and says how long it took.
pub async fn within_feed_delay<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    let deadline = FRESHNESS + Duration::from_millis(500);
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < deadline,
            "{what}: still not seen after {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
