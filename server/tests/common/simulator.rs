//! The Okta simulator (end2end/simulator, node and oidc-provider) as a child process, and its
//! test-only `/__sim/` endpoints.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const SIMULATOR_READY_TIMEOUT: Duration = Duration::from_secs(30);

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
    dns: String,
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
            dns: String,
        }
        let ready: Ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("unexpected simulator ready line {line:?}: {e}"));
        assert!(ready.ready, "simulator not ready: {line}");
        Self {
            orgs: ready.orgs,
            dns: ready.dns,
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
    /// What an Okta admin does in the app's settings: its sign-in redirect URI becomes `uri`.
    pub async fn set_redirect_uri(&self, org: &str, client_id: &str, uri: &str) {
        let body = json!({ "client_id": client_id, "redirect_uris": [uri] });
        self.admin(org, "/__sim/clients/update", Some(body)).await;
    }

    /// The simulator's DNS server, `127.0.0.1:PORT`.
    pub fn dns(&self) -> &str {
        &self.dns
    }

    /// `POST /__sim/dns/txt`: the TXT values at `name` in the simulator's DNS server (none:
    /// the name is gone). Any org's endpoint serves the one zone.
    pub async fn publish_txt(&self, name: &str, values: &[&str]) {
        let org = self.any_org();
        let body = json!({ "name": name, "values": values });
        self.admin(&org, "/__sim/dns/txt", Some(body)).await;
    }

    /// `POST /__sim/dns/outage`: the DNS server drops every query while `down`.
    pub async fn dns_outage(&self, down: bool) {
        let org = self.any_org();
        self.admin(&org, "/__sim/dns/outage", Some(json!({ "down": down })))
            .await;
    }

    fn any_org(&self) -> String {
        self.orgs.keys().next().expect("no simulated org").clone()
    }

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

    /// `GET /__sim/sessions`: the subject of every live Okta session of the org, one entry per
    /// session.
    pub async fn live_sessions(&self, org: &str) -> Vec<String> {
        #[derive(Deserialize)]
        struct Sessions {
            accounts: Vec<String>,
        }
        let sessions: Sessions = self
            .admin(org, "/__sim/sessions", None)
            .await
            .json()
            .await
            .unwrap();
        sessions.accounts
    }

    /// `POST /__sim/universal-logout`: the org sends a Universal Logout request as `body`
    /// describes (see the simulator's README); returns what the app answered:
    /// `{"status", "www_authenticate", "body", "token"}`.
    pub async fn universal_logout(&self, org: &str, body: Value) -> Value {
        self.admin(org, "/__sim/universal-logout", Some(body))
            .await
            .json()
            .await
            .unwrap()
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
