//! Test harness: a real Orgpass server on 127.0.0.1:0 with its own SQLite directory, a real
//! Okta simulator (node, oidc-provider) as a child process, and a cookie-keeping HTTP client that
//! follows redirects by hand so every hop can be inspected.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::backend::audit::Actor;
use app::backend::registry::{self, ImportRow, NewInstance, NewTenant, TokenAuthMethod};
use app::backend::vault::Vault;
use app::domain::{ClientSecret, InstanceId, IssuerPolicy, IssuerUrl, TenantSlug};
use axum_extra::extract::cookie::Cookie;
use leptos::config::LeptosOptions;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url, redirect};
use serde::Deserialize;
use serde_json::{Value, json};
use server::config::ServeArgs;
use server::startup::Application;
use tempfile::TempDir;

use crate::common::storage::TestStorage;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The session cookie's name when the app runs with insecure dev cookies.
pub const SESSION_COOKIE: &str = "orgpass_session";
/// The flow-binding cookie's name when the app runs with insecure dev cookies.
pub const FLOW_COOKIE: &str = "orgpass_flow";

pub const ACME_OKTA: &str = "acme-okta";
pub const GLOBEX_ENG: &str = "globex-eng";
pub const GLOBEX_OPS: &str = "globex-ops";

const SIMULATOR_READY_TIMEOUT: Duration = Duration::from_secs(30);

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
        clock_leeway_secs: 60,
        idp_timeout_secs: 5,
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
    let serve = ServeArgs {
        public_url: config.public_url,
        insecure_dev_cookies: config.insecure_dev_cookies,
        idp_timeout_secs: config.idp_timeout_secs,
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

    // The simulator's clients must know the app's redirect URIs, which depend on the port.
    let secrets: HashMap<&'static str, String> = config
        .instances
        .iter()
        .map(|i| (i.id, random_secret()))
        .collect();
    let orgs: Vec<Value> = config
        .orgs
        .iter()
        .map(|(slug, _, users)| {
            let clients: Vec<Value> = config
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
    let simulator = Simulator::start(&json!({ "orgs": orgs })).await;

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
            server: serve_in_background(application),
            ..self
        }
    }

    /// Every instance's client secret.
    pub fn all_secrets(&self) -> Vec<&str> {
        self.secrets.values().map(String::as_str).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The Okta simulator
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SimStats {
    pub discovery: u32,
    pub authorize: u32,
    pub token: u32,
    pub keys: u32,
    pub userinfo: u32,
    pub logout: u32,
}

/// The node Okta simulator, killed when dropped.
pub struct Simulator {
    orgs: HashMap<String, String>,
    http: reqwest::Client,
    _child: Child,
    // Held open: the simulator runs with --exit-on-stdin-close, so it dies with this process.
    _stdin: ChildStdin,
    _stdout: BufReader<ChildStdout>,
    _config_dir: TempDir,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl Simulator {
    pub async fn start(config: &Value) -> Self {
        let end2end = repo_root().join("end2end");
        let main = end2end.join("simulator/main.mjs");
        assert!(
            main.exists(),
            "the Okta simulator is missing at {}",
            main.display()
        );
        assert!(
            end2end.join("node_modules/oidc-provider").exists(),
            "the Okta simulator's node modules are missing: run `cd {} && npm ci`",
            end2end.display()
        );
        let config_dir = tempfile::tempdir().expect("cannot create a temporary directory");
        let config_path = config_dir.path().join("simulator.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(config).unwrap())
            .expect("cannot write the simulator config");

        let mut child = Command::new("node")
            .arg(&main)
            .arg("--config")
            .arg(&config_path)
            .arg("--exit-on-stdin-close")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start the Okta simulator with `node` (is Node.js on PATH?): {error}")
            });
        let stdin = child.stdin.take().unwrap();
        let stderr_log = collect_lines(child.stderr.take().unwrap());
        let mut stdout = BufReader::new(child.stdout.take().unwrap());

        let mut line = String::new();
        let read = tokio::time::timeout(SIMULATOR_READY_TIMEOUT, stdout.read_line(&mut line)).await;
        let stderr = || stderr_log.lock().unwrap().clone();
        match read {
            Err(_) => panic!(
                "the Okta simulator printed no ready line within {SIMULATOR_READY_TIMEOUT:?}; \
                 stderr:\n{}",
                stderr()
            ),
            Ok(Err(error)) => panic!("cannot read the Okta simulator's stdout: {error}"),
            Ok(Ok(0)) => {
                // Give the stderr reader a moment to drain what the dying process wrote.
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
                panic!(
                    "the Okta simulator exited before it was ready (is `npm ci` done in \
                     end2end/?); stderr:\n{}",
                    stderr()
                )
            }
            Ok(Ok(_)) => {}
        }
        #[derive(Deserialize)]
        struct Ready {
            ready: bool,
            orgs: HashMap<String, String>,
        }
        let ready: Ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("unexpected simulator ready line {line:?}: {e}"));
        assert!(ready.ready, "simulator not ready: {line}");
        Self {
            orgs: ready.orgs,
            http: reqwest::Client::new(),
            _child: child,
            _stdin: stdin,
            _stdout: stdout,
            _config_dir: config_dir,
        }
    }

    /// The issuer of one simulated org, e.g. `http://127.0.0.1:40123`.
    pub fn issuer(&self, org: &str) -> &str {
        self.orgs
            .get(org)
            .unwrap_or_else(|| panic!("no simulated org {org}"))
    }

    async fn admin(&self, org: &str, path: &str, body: Option<Value>) -> reqwest::Response {
        let url = format!("{}{path}", self.issuer(org));
        let request = match body {
            Some(body) => self.http.post(&url).json(&body),
            None => self.http.get(&url),
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response
    }

    /// `POST /__sim/keys/rotate`: a new signing key for all later ID tokens.
    pub async fn rotate_keys(&self, org: &str, retire_previous: bool, publish: bool) -> Value {
        let body = json!({ "retire_previous": retire_previous, "publish": publish });
        self.admin(org, "/__sim/keys/rotate", Some(body))
            .await
            .json()
            .await
            .unwrap()
    }

    /// `POST /__sim/keys/rotate` with `activate: false`: the new key is published, not signing.
    pub async fn stage_key(&self, org: &str) -> String {
        let body = json!({ "activate": false });
        let staged: Value = self
            .admin(org, "/__sim/keys/rotate", Some(body))
            .await
            .json()
            .await
            .unwrap();
        staged["kid"].as_str().unwrap().to_owned()
    }

    /// `POST /__sim/keys/activate`: a staged key starts signing.
    pub async fn activate_key(&self, org: &str, kid: &str) {
        self.admin(org, "/__sim/keys/activate", Some(json!({ "kid": kid })))
            .await;
    }

    /// `POST /__sim/keys/outage`: the keys endpoint fails (503) while `down`.
    pub async fn keys_outage(&self, org: &str, down: bool) {
        self.admin(org, "/__sim/keys/outage", Some(json!({ "down": down })))
            .await;
    }

    /// `POST /__sim/tamper`: rewrites the next ID token the org issues.
    pub async fn tamper(&self, org: &str, fault: Value) {
        self.admin(org, "/__sim/tamper", Some(fault)).await;
    }

    pub async fn stats(&self, org: &str) -> SimStats {
        self.admin(org, "/__sim/stats", None)
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn reset_stats(&self, org: &str) {
        self.admin(org, "/__sim/stats/reset", Some(json!({}))).await;
    }
}

fn collect_lines(stream: impl AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

/// One HTTP response, read in full.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    async fn read(url: Url, response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Self {
            url,
            status,
            headers,
            body,
        }
    }

    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.headers.contains_key(LOCATION)
    }

    /// The `Location` header exactly as sent.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().expect("non-ASCII Location"))
    }

    /// The `Location` header resolved against the request URL.
    pub fn next_url(&self) -> Option<Url> {
        self.location().map(|location| {
            self.url
                .join(location)
                .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<Cookie<'static>> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| {
                let raw = value.to_str().expect("non-ASCII Set-Cookie").to_owned();
                Cookie::parse(raw.clone()).unwrap_or_else(|e| panic!("bad Set-Cookie {raw}: {e}"))
            })
            .collect()
    }

    pub fn set_cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.set_cookies()
            .into_iter()
            .find(|cookie| cookie.name() == name)
    }

    /// Every header value and the body, for "does this leak X" checks.
    pub fn everything(&self) -> String {
        let mut all = String::new();
        for (name, value) in &self.headers {
            all.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        all.push_str(&self.body);
        all
    }
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub struct SignInOutcome {
    /// Every response on the way, in order.
    pub hops: Vec<Recorded>,
    /// The app's answer at `/sso/{instance}/callback`, if the flow got that far.
    pub callback: Option<Recorded>,
}

impl SignInOutcome {
    /// The last response received.
    pub fn last(&self) -> &Recorded {
        self.hops.last().expect("no response at all")
    }

    pub fn callback(&self) -> &Recorded {
        self.callback.as_ref().unwrap_or_else(|| {
            panic!(
                "the flow never reached the callback; last response: {:#?}",
                self.last()
            )
        })
    }

    /// Where the callback sends the browser (its raw `Location`); panics unless it redirected.
    pub fn landing(&self) -> &str {
        let callback = self.callback();
        assert_eq!(
            callback.status,
            StatusCode::SEE_OTHER,
            "callback did not redirect: {callback:#?}"
        );
        callback.location().unwrap()
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    jar: Arc<Jar>,
    base_url: Url,
    public_origin: String,
}

impl Browser {
    /// A browser for the app at `base_url` whose redirect URIs use `public_origin`.
    pub fn new(base_url: Url, public_origin: String) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base_url,
            public_origin,
        }
    }

    fn is_app_callback(&self, url: &Url) -> bool {
        let segments: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
        url.origin().ascii_serialization() == self.public_origin
            && segments.len() == 3
            && segments[0] == "sso"
            && segments[2] == "callback"
    }

    pub async fn get(&self, url: impl AsRef<str>) -> Recorded {
        let url = Url::parse(url.as_ref())
            .or_else(|_| self.base_url.join(url.as_ref()))
            .unwrap_or_else(|e| panic!("bad URL {}: {e}", url.as_ref()));
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        Recorded::read(url, response).await
    }

    /// `GET /sso/{instance}/login` with optional `return_to` and `login_hint`.
    pub async fn login(
        &self,
        instance: &str,
        return_to: Option<&str>,
        login_hint: Option<&str>,
    ) -> Recorded {
        let mut url = self
            .base_url
            .join(&format!("/sso/{instance}/login"))
            .unwrap();
        {
            let mut query = url.query_pairs_mut();
            if let Some(return_to) = return_to {
                query.append_pair("return_to", return_to);
            }
            if let Some(login_hint) = login_hint {
                query.append_pair("login_hint", login_hint);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.get(url).await
    }

    /// Starts a sign-in and returns the authorization URL at the simulator, not yet visited.
    pub async fn start(&self, instance: &str) -> Url {
        let response = self.login(instance, None, None).await;
        assert_eq!(
            response.status,
            StatusCode::FOUND,
            "login did not redirect: {response:#?}"
        );
        response.next_url().unwrap()
    }

    /// Follows redirects from `url` until the next one targets the app's callback; returns that
    /// callback URL without requesting it.
    pub async fn follow_until_callback(&self, url: Url) -> Url {
        let mut url = url;
        for _ in 0..20 {
            if self.is_app_callback(&url) {
                return url;
            }
            let response = self.get(url.clone()).await;
            url = response.next_url().unwrap_or_else(|| {
                panic!("expected a redirect towards the callback, got {response:#?}")
            });
        }
        panic!("too many redirects before reaching the callback")
    }

    /// Follows redirects from `url` (both app and simulator) and stops after the app's callback
    /// answered, or at the first response that is not a redirect.
    pub async fn follow(&self, url: Url) -> SignInOutcome {
        let mut hops = Vec::new();
        let mut url = url;
        for _ in 0..20 {
            let is_callback = self.is_app_callback(&url);
            let response = self.get(url.clone()).await;
            let next = response.is_redirect().then(|| response.next_url().unwrap());
            hops.push(response);
            if is_callback {
                let callback = hops.last().cloned();
                return SignInOutcome { hops, callback };
            }
            match next {
                Some(next) => url = next,
                None => {
                    return SignInOutcome {
                        hops,
                        callback: None,
                    };
                }
            }
        }
        panic!("too many redirects: {hops:#?}")
    }

    /// A whole sign-in, as a user clicking "Sign in with Okta" would do it.
    pub async fn sign_in(
        &self,
        instance: &str,
        return_to: Option<&str>,
        login_hint: Option<&str>,
    ) -> SignInOutcome {
        let login = self.login(instance, return_to, login_hint).await;
        let Some(next) = login.is_redirect().then(|| login.next_url().unwrap()) else {
            return SignInOutcome {
                hops: vec![login],
                callback: None,
            };
        };
        let mut outcome = self.follow(next).await;
        outcome.hops.insert(0, login);
        outcome
    }

    /// Signs in and checks that it worked (303 from the callback with a session cookie).
    pub async fn sign_in_ok(&self, instance: &str) -> SignInOutcome {
        let outcome = self.sign_in(instance, None, None).await;
        let callback = outcome.callback();
        assert_eq!(
            callback.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {callback:#?}"
        );
        assert!(
            callback.set_cookie(SESSION_COOKIE).is_some(),
            "no session cookie: {callback:#?}"
        );
        outcome
    }

    /// `GET /api/session`: the status and the JSON body.
    pub async fn session(&self) -> (StatusCode, Value) {
        let response = self.get(self.base_url.join("/api/session").unwrap()).await;
        let json = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        (response.status, json)
    }

    /// `POST /logout` from the app's own page.
    pub async fn logout(&self) -> Recorded {
        self.post_form("/logout", &[]).await
    }

    /// `POST` a form body to a path of the app from one of its own pages, as a browser does:
    /// `Origin` and `Sec-Fetch-Site: same-origin` (server functions use this encoding too).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Recorded {
        let origin = self.public_origin.clone();
        self.post_form_with(
            path,
            form,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await
    }

    /// `POST` a form body with exactly these request headers (and no others a browser adds),
    /// e.g. a form on another site.
    pub async fn post_form_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Recorded {
        let url = self.base_url.join(path).unwrap();
        let mut request = self.client.post(url.clone()).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        Recorded::read(url, response).await
    }

    /// The value of a cookie this browser would send to the app.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.base_url)?;
        header.to_str().unwrap().split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }
}

/// Replaces (or adds) one query parameter of `url`.
pub fn with_query_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = url.clone();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(&pairs)
        .append_pair(name, value);
    url
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, v)| v.into_owned())
}

/// A refused sign-in: the given 4xx status, the error page with `reason`, and no session cookie.
pub fn assert_refused(response: &Recorded, status: StatusCode, reason: &str) {
    assert_eq!(
        response.status, status,
        "unexpected response: {response:#?}"
    );
    assert!(
        response.body.contains(r#"data-testid="sign-in-error""#) && response.body.contains(reason),
        "the error page does not say {reason:?}: {}",
        response.body
    );
    assert!(
        response.set_cookie(SESSION_COOKIE).is_none(),
        "a refused sign-in set the session cookie: {response:#?}"
    );
}

/// `assert_refused` plus: this browser is not signed in.
pub async fn assert_refused_and_signed_out(
    browser: &Browser,
    response: &Recorded,
    status: StatusCode,
    reason: &str,
) {
    assert_refused(response, status, reason);
    let (session_status, body) = browser.session().await;
    assert_eq!(
        session_status,
        StatusCode::UNAUTHORIZED,
        "unexpected session: {body}"
    );
}

/// Fragments of the short reasons the error page shows (as they appear in the HTML).
pub mod reason {
    pub const EXPIRED_OR_USED: &str = "This sign-in attempt has expired or was already used.";
    pub const OTHER_BROWSER: &str =
        "This sign-in was started in a different browser or for a different organization.";
    pub const BAD_ID_TOKEN: &str = "identity token could not be verified.";
    pub const WRONG_ISSUER: &str =
        "The sign-in response came from an unexpected identity provider.";
    pub const UNUSABLE_ANSWER: &str = "answer could not be used to sign you in.";
    pub const UNKNOWN_INSTANCE: &str = "This sign-in link does not match any active organization.";
}
