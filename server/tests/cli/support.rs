//! The harness: the `orgpass` binary run against one test's storage, with a transcript of
//! every output, and the helpers the tests share (secrets, their hints, JSON lists).

use std::cell::RefCell;
use std::fs;
use std::io::Write;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value;
use sqlx::Row;
use tempfile::TempDir;

use crate::common::simulator::Simulator;
use crate::common::storage::TestStorage;

const PUBLIC_URL: &str = "https://orgpass.example.com";

/// An environment change for one run: `Some` sets a variable, `None` removes it.
pub type EnvChange<'a> = (&'a str, Option<&'a str>);

/// The `orgpass` binary against one test's storage. Every output is kept in a transcript, so a
/// test can check that a secret never appeared in any of them.
pub struct Cli {
    pub storage: TestStorage,
    /// Import files live here, apart from the data directory.
    files: TempDir,
    transcript: RefCell<String>,
}

impl Cli {
    pub async fn new() -> Self {
        Self {
            storage: TestStorage::new().await,
            files: tempfile::tempdir().expect("temp dir"),
            transcript: RefCell::new(String::new()),
        }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(args, stdin, &[])
    }

    pub fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[EnvChange]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orgpass"));
        command
            .args(args)
            // Only TestStorage decides where the data lives and which keys seal it.
            .env_remove("DATABASE_URL")
            .env_remove("ORGPASS_MASTER_KEY")
            .env_remove("ORGPASS_CLIENT_SECRET")
            .env_remove("ORGPASS_DEV_LOOPBACK_ISSUERS")
            .env_remove("ORGPASS_ALLOWED_ISSUER_HOSTS")
            .env("ORGPASS_PUBLIC_URL", PUBLIC_URL)
            .envs(self.storage.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command.spawn().expect("orgpass binary runs");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        let output = child.wait_with_output().expect("orgpass exits");
        self.transcript.borrow_mut().push_str(&format!(
            "$ orgpass {}\n{}{}\n",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
        output
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None, &[])
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        self.ok_with(args, Some(stdin), &[])
    }

    pub fn ok_with(&self, args: &[&str], stdin: Option<&str>, env: &[EnvChange]) -> String {
        let output = self.run_with(args, stdin, env);
        assert!(
            output.status.success(),
            "orgpass {args:?} failed ({:?}): {}",
            output.status.code(),
            stderr(&output)
        );
        stdout(&output)
    }

    /// Runs a command that must succeed and print JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("orgpass {args:?}: {e}: {text}"))
    }

    /// Runs a command that must be refused as bad input (exit 2); returns its standard error.
    pub fn refused(&self, args: &[&str]) -> String {
        self.refused_with(args, None, &[])
    }

    pub fn refused_stdin(&self, args: &[&str], stdin: &str) -> String {
        self.refused_with(args, Some(stdin), &[])
    }

    pub fn refused_with(&self, args: &[&str], stdin: Option<&str>, env: &[EnvChange]) -> String {
        let output = self.run_with(args, stdin, env);
        assert_eq!(
            output.status.code(),
            Some(2),
            "orgpass {args:?} should exit 2; stdout: {} stderr: {}",
            stdout(&output),
            stderr(&output)
        );
        stderr(&output)
    }

    pub fn add_tenant(&self, slug: &str, name: &str) {
        self.ok(&["tenant", "add", slug, "--name", name]);
    }

    /// Adds an instance with the secret on standard input; returns its JSON report.
    pub fn add_instance(
        &self,
        tenant: &str,
        id: &str,
        issuer: &str,
        client_id: &str,
        secret: &str,
    ) -> Value {
        let text = self.ok_stdin(
            &[
                "instance",
                "add",
                "--tenant",
                tenant,
                "--id",
                id,
                "--label",
                "Okta",
                "--issuer",
                issuer,
                "--client-id",
                client_id,
                "--json",
            ],
            secret,
        );
        serde_json::from_str(&text).expect("JSON output")
    }

    pub fn show(&self, id: &str) -> Value {
        self.json(&["instance", "show", id, "--json"])
    }

    /// `(tenant list, instance list)` as JSON text: what "nothing was written" compares.
    pub fn snapshot(&self) -> (String, String) {
        (
            self.ok(&["tenant", "list", "--json"]),
            self.ok(&["instance", "list", "--json"]),
        )
    }

    pub fn instance_ids(&self) -> Vec<String> {
        ids(&self.json(&["instance", "list", "--json"]), "id")
    }

    pub fn tenant_slugs(&self) -> Vec<String> {
        ids(&self.json(&["tenant", "list", "--json"]), "slug")
    }

    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.files.path().join(name);
        fs::write(&path, contents).expect("write an import file");
        path
    }

    pub fn data_file(&self, name: &str) -> PathBuf {
        self.storage.data_dir().join(name)
    }

    /// What the database holds of the secrets: every instance's sealed secrets, and the
    /// audit trail's details.
    pub async fn stored(&self) -> (Vec<StoredSecrets>, String) {
        let location = self.storage.args().location().expect("a valid location");
        let db = app::backend::db::open(&location)
            .await
            .expect("the test database opens");
        let rows = sqlx::query(
            "SELECT id, secret_key_id, secret_sealed, next_secret_sealed FROM instances \
             ORDER BY id",
        )
        .fetch_all(&db)
        .await
        .expect("instances");
        let secrets = rows
            .iter()
            .map(|row| StoredSecrets {
                id: row.try_get("id").expect("id"),
                key_id: row.try_get("secret_key_id").expect("key id"),
                current: row.try_get("secret_sealed").expect("sealed secret"),
                next: row
                    .try_get("next_secret_sealed")
                    .expect("sealed next secret"),
            })
            .collect();
        let audit = sqlx::query("SELECT action, detail FROM audit_events ORDER BY id")
            .fetch_all(&db)
            .await
            .expect("audit events")
            .iter()
            .map(|row| {
                let action: String = row.try_get("action").expect("action");
                let detail: String = row.try_get("detail").expect("detail");
                format!("{action}: {detail}\n")
            })
            .collect();
        db.close().await;
        (secrets, audit)
    }

    /// Records a sign-in of `email` through `instance`, as the callback does after every check
    /// passed, so the person exists for `orgpass admin`.
    pub async fn signed_in(&self, instance: &str, issuer: &str, email: &str) {
        use app::backend::sessions::{SessionPolicy, Sessions, VerifiedIdentity};
        use app::domain::{InstanceId, IssuerUrl};
        let location = self.storage.args().location().expect("a valid location");
        let db = app::backend::db::open(&location)
            .await
            .expect("the test database opens");
        let policy = SessionPolicy {
            absolute_ttl: std::time::Duration::from_secs(3600),
            idle_timeout: std::time::Duration::from_secs(3600),
            clock: Default::default(),
        };
        let identity = VerifiedIdentity {
            instance: InstanceId::parse(instance).expect("an instance id"),
            issuer: IssuerUrl::from_trusted_storage(issuer.to_owned()),
            sub: format!("sub-{email}"),
            name: None,
            email: Some(email.to_owned()),
        };
        let mut conn = db.acquire().await.expect("a connection");
        Sessions::new(policy, 0)
            .sign_in(&mut conn, &identity, "id-token", None)
            .await
            .expect("the sign-in is recorded");
        drop(conn);
        db.close().await;
    }

    pub fn transcript(&self) -> String {
        self.transcript.borrow().clone()
    }
}

pub struct StoredSecrets {
    pub id: String,
    pub key_id: i64,
    pub current: Vec<u8>,
    pub next: Option<Vec<u8>>,
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|item| item[field].as_str().expect("a string field").to_owned())
        .collect()
}

/// A fresh 40-character client secret (Okta's length) ending in `tail`, 4 upper-case letters
/// that appear nowhere else in it.
pub fn secret(tail: &str) -> String {
    assert_eq!(tail.len(), 4);
    let secret = format!(
        "{:016x}{:016x}{:04x}{tail}",
        rand::random::<u64>(),
        rand::random::<u64>(),
        rand::random::<u16>()
    );
    assert_eq!(secret.len(), 40);
    secret
}

/// What may be shown of a secret made by [`secret`].
pub fn hint(tail: &str) -> String {
    format!("set, ends in …{tail}")
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Not the secret, nor any 12 characters of it in a row.
pub fn assert_hidden(text: &[u8], secret: &str, what: &str) {
    for part in secret.as_bytes().windows(12) {
        assert!(
            !contains_bytes(text, part),
            "{what} holds part of a secret ({})",
            String::from_utf8_lossy(part)
        );
    }
}

pub const CSV_HEADER: &str = "tenant,tenant_name,domains,id,label,issuer,client_id,client_secret,\
                          token_auth_method";

/// `orgpass serve` on a free port, its log read line by line; killed when dropped.
pub struct Server {
    child: Child,
    lines: Receiver<String>,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
}

impl Server {
    pub fn start(cli: &Cli, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_orgpass"))
            .arg("serve")
            .envs(cli.storage.env())
            .env_remove("ORGPASS_TRUSTED_PROXIES")
            .env("ORGPASS_LISTEN", "127.0.0.1:0")
            .env("ORGPASS_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,tower_http=debug")
            .env("LEPTOS_OUTPUT_NAME", "orgpass")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("orgpass serve starts");
        let stderr = child.stderr.take().expect("its stderr");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            base_url: String::new(),
        };
        let listening =
            server.line_where(|line| line["fields"]["message"] == "orgpass is listening");
        let addr = listening["fields"]["addr"]
            .as_str()
            .expect("an address")
            .to_owned();
        server.base_url = format!("http://{addr}");
        server
    }

    /// The first log line from now on that `wanted` accepts; every line must be JSON.
    pub fn line_where(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("the wanted log line within 20 s");
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            if wanted(&parsed) {
                return parsed;
            }
        }
    }
}

impl Server {
    /// Every line logged from now until one of the request with `request_id` (which the
    /// server keeps only when 127.0.0.1 is among its trusted proxies).
    pub async fn lines_until_request(&self, request_id: &str) -> Vec<String> {
        reqwest::Client::new()
            .get(format!("{}/healthz", self.base_url))
            .header("x-request-id", request_id)
            .send()
            .await
            .expect("the server answers");
        let mut lines = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("the request's log line within 20 s");
            let last = line.contains(request_id);
            lines.push(line);
            if last {
                return lines;
            }
        }
    }

    /// `kill -9`: no graceful stop, nothing saved.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment `orgpass serve` needs to sign in through the local simulator on http.
pub const SIMULATOR_SERVE_ENV: [(&str, &str); 2] = [
    ("ORGPASS_DEV_LOOPBACK_ISSUERS", "true"),
    ("ORGPASS_INSECURE_DEV_COOKIES", "true"),
];

/// The simulated Okta org `acme` (Ada its one user, one app `client_id`), registered with the
/// operator CLI as org `acme` (domain `acme.example`) and its instance `acme-okta`.
pub async fn acme_on_the_simulator(cli: &Cli, client_id: &str, client_secret: &str) -> Simulator {
    let simulator = Simulator::start(&serde_json::json!({ "orgs": [{
        "slug": "acme", "port": 0,
        "users": [{ "sub": "00u1acmeada", "email": "ada@acme.example", "name": "Ada Lovelace" }],
        "clients": [{ "client_id": client_id, "client_secret": client_secret,
                      "redirect_uris": ["http://127.0.0.1/not-yet"] }],
    }] }))
    .await;
    let loopback = [("ORGPASS_DEV_LOOPBACK_ISSUERS", Some("true"))];
    cli.ok_with(
        &[
            "tenant",
            "add",
            "acme",
            "--name",
            "Acme",
            "--domain",
            "acme.example",
        ],
        None,
        &loopback,
    );
    cli.ok_with(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--id",
            "acme-okta",
            "--label",
            "Okta",
            "--issuer",
            simulator.issuer("acme"),
            "--client-id",
            client_id,
        ],
        Some(client_secret),
        &loopback,
    );
    simulator
}

/// `orgpass serve` with `env`, its callback registered in the simulated app `client_id`.
pub async fn serve_acme(
    cli: &Cli,
    simulator: &Simulator,
    client_id: &str,
    env: &[(&str, &str)],
) -> Server {
    let server = Server::start(cli, env);
    let callback = format!("{}/sso/acme-okta/callback", server.base_url);
    simulator
        .set_redirect_uri("acme", client_id, &callback)
        .await;
    server
}
