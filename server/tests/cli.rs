//! The operator CLI, run as the real binary against a fresh SQLite directory or, in the
//! PostgreSQL pass (`ORGPASS_TEST_STORAGE=postgres`), a fresh PostgreSQL database.

#[path = "common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sqlx::Row;
use tempfile::TempDir;

use crate::common::storage::{TestStorage, postgres_pass};

const PUBLIC_URL: &str = "https://orgpass.example.com";

/// An environment change for one run: `Some` sets a variable, `None` removes it.
type EnvChange<'a> = (&'a str, Option<&'a str>);

/// The `orgpass` binary against one test's storage. Every output is kept in a transcript, so a
/// test can check that a secret never appeared in any of them.
struct Cli {
    storage: TestStorage,
    /// Import files live here, apart from the data directory.
    files: TempDir,
    transcript: RefCell<String>,
}

impl Cli {
    async fn new() -> Self {
        Self {
            storage: TestStorage::new().await,
            files: tempfile::tempdir().expect("temp dir"),
            transcript: RefCell::new(String::new()),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(args, stdin, &[])
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[EnvChange]) -> Output {
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
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None, &[])
    }

    fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        self.ok_with(args, Some(stdin), &[])
    }

    fn ok_with(&self, args: &[&str], stdin: Option<&str>, env: &[EnvChange]) -> String {
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
    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("orgpass {args:?}: {e}: {text}"))
    }

    /// Runs a command that must be refused as bad input (exit 2); returns its standard error.
    fn refused(&self, args: &[&str]) -> String {
        self.refused_with(args, None, &[])
    }

    fn refused_stdin(&self, args: &[&str], stdin: &str) -> String {
        self.refused_with(args, Some(stdin), &[])
    }

    fn refused_with(&self, args: &[&str], stdin: Option<&str>, env: &[EnvChange]) -> String {
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

    fn add_tenant(&self, slug: &str, name: &str) {
        self.ok(&["tenant", "add", slug, "--name", name]);
    }

    /// Adds an instance with the secret on standard input; returns its JSON report.
    fn add_instance(
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

    fn show(&self, id: &str) -> Value {
        self.json(&["instance", "show", id, "--json"])
    }

    /// `(tenant list, instance list)` as JSON text: what "nothing was written" compares.
    fn snapshot(&self) -> (String, String) {
        (
            self.ok(&["tenant", "list", "--json"]),
            self.ok(&["instance", "list", "--json"]),
        )
    }

    fn instance_ids(&self) -> Vec<String> {
        ids(&self.json(&["instance", "list", "--json"]), "id")
    }

    fn tenant_slugs(&self) -> Vec<String> {
        ids(&self.json(&["tenant", "list", "--json"]), "slug")
    }

    fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.files.path().join(name);
        fs::write(&path, contents).expect("write an import file");
        path
    }

    fn data_file(&self, name: &str) -> PathBuf {
        self.storage.data_dir().join(name)
    }

    /// What the database holds of the secrets: every instance's sealed secrets, and the
    /// audit trail's details.
    async fn stored(&self) -> (Vec<StoredSecrets>, String) {
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

    fn transcript(&self) -> String {
        self.transcript.borrow().clone()
    }
}

struct StoredSecrets {
    id: String,
    key_id: i64,
    current: Vec<u8>,
    next: Option<Vec<u8>>,
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|item| item[field].as_str().expect("a string field").to_owned())
        .collect()
}

/// A fresh 40-character client secret (Okta's length) ending in `tail`, 4 upper-case letters
/// that appear nowhere else in it.
fn secret(tail: &str) -> String {
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
fn hint(tail: &str) -> String {
    format!("set, ends in …{tail}")
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Not the secret, nor any 12 characters of it in a row.
fn assert_hidden(text: &[u8], secret: &str, what: &str) {
    for part in secret.as_bytes().windows(12) {
        assert!(
            !contains_bytes(text, part),
            "{what} holds part of a secret ({})",
            String::from_utf8_lossy(part)
        );
    }
}

fn generated_key(cli: &Cli, id: &str) -> String {
    cli.ok(&["keys", "generate", "--id", id]).trim().to_owned()
}

fn add_instance_args(issuer: &str) -> Vec<&str> {
    vec![
        "instance",
        "add",
        "--tenant",
        "acme",
        "--label",
        "Okta",
        "--issuer",
        issuer,
        "--client-id",
        "0oa1acme",
        "--json",
    ]
}

const CSV_HEADER: &str = "tenant,tenant_name,domains,id,label,issuer,client_id,client_secret,\
                          token_auth_method";

#[tokio::test]
async fn an_operator_registers_an_org_and_an_instance_and_gets_the_urls_for_okta() {
    let cli = Cli::new().await;
    let added = cli.run(&["tenant", "add", "acme", "--name", "Acme Corp"], None);
    assert!(added.status.success(), "{}", stderr(&added));

    let output = cli.run(
        &add_instance_args("https://acme.okta.com"),
        Some("the-secret-value\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let id = report["id"].as_str().expect("an instance id");
    assert_eq!(report["issuer"], "https://acme.okta.com");
    assert_eq!(
        report["sign_in_redirect_uri"],
        format!("https://orgpass.example.com/sso/{id}/callback")
    );
    assert_eq!(
        report["initiate_login_uri"],
        format!("https://orgpass.example.com/sso/{id}/initiate")
    );
    assert_eq!(
        report["global_token_revocation_uri"],
        format!("https://orgpass.example.com/sso/{id}/global-token-revocation")
    );

    let listed = cli.run(&["instance", "list", "--json"], None);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed_text.contains(id));
    assert!(
        !listed_text.contains("the-secret-value"),
        "the secret must never be printed"
    );
}

#[tokio::test]
async fn a_slug_with_spaces_or_uppercase_is_refused_with_exit_code_2() {
    let cli = Cli::new().await;
    for slug in ["Acme", "ac me"] {
        let output = cli.run(&["tenant", "add", slug, "--name", "Acme"], None);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).contains("not a valid organization name"),
            "{}",
            stderr(&output)
        );
    }
    let listed = cli.run(&["tenant", "list", "--json"], None);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}

#[tokio::test]
async fn a_duplicate_org_is_refused_with_exit_code_2() {
    let cli = Cli::new().await;
    assert!(
        cli.run(&["tenant", "add", "acme", "--name", "Acme"], None)
            .status
            .success()
    );
    let again = cli.run(&["tenant", "add", "acme", "--name", "Acme again"], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));
}

#[tokio::test]
async fn unsafe_issuers_are_refused_with_exit_code_2_and_nothing_is_written() {
    let cli = Cli::new().await;
    assert!(
        cli.run(&["tenant", "add", "acme", "--name", "Acme"], None)
            .status
            .success()
    );
    for issuer in [
        "http://acme.okta.com",
        "https://acme.okta.com.evil.example",
        "https://169.254.169.254",
        "http://127.0.0.1:4011",
    ] {
        let output = cli.run(&add_instance_args(issuer), Some("secret"));
        assert_eq!(
            output.status.code(),
            Some(2),
            "{issuer}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("refused"), "{}", stderr(&output));
    }
    let listed = cli.run(&["instance", "list", "--json"], None);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}

#[tokio::test]
async fn an_instance_without_a_secret_or_org_is_refused_with_exit_code_2() {
    let cli = Cli::new().await;
    let no_org = cli.run(&add_instance_args("https://acme.okta.com"), Some("secret"));
    assert_eq!(no_org.status.code(), Some(2));
    assert!(
        stderr(&no_org).contains("no organization named 'acme'"),
        "{}",
        stderr(&no_org)
    );

    assert!(
        cli.run(&["tenant", "add", "acme", "--name", "Acme"], None)
            .status
            .success()
    );
    let no_secret = cli.run(&add_instance_args("https://acme.okta.com"), Some(""));
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(
        stderr(&no_secret).contains("no client secret"),
        "{}",
        stderr(&no_secret)
    );
}

#[tokio::test]
async fn a_client_id_registered_twice_for_one_issuer_is_refused() {
    let cli = Cli::new().await;
    assert!(
        cli.run(&["tenant", "add", "acme", "--name", "Acme"], None)
            .status
            .success()
    );
    let issuer = "https://acme.okta.com";
    assert!(
        cli.run(&add_instance_args(issuer), Some("secret"))
            .status
            .success()
    );
    let again = cli.run(&add_instance_args(issuer), Some("secret"));
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already registered"),
        "{}",
        stderr(&again)
    );
}

// Organizations and their domains.

#[tokio::test]
async fn an_org_added_with_a_domain_owns_it_and_no_other_org_can_claim_it() {
    let cli = Cli::new().await;
    let added = cli.json(&[
        "tenant",
        "add",
        "acme",
        "--name",
        "Acme Corp",
        "--domain",
        "acme.com",
        "--json",
    ]);
    assert_eq!(added["domains"], serde_json::json!(["acme.com"]));

    let shown = cli.json(&["tenant", "show", "acme", "--json"]);
    assert_eq!(shown["tenant"]["slug"], "acme");
    assert_eq!(shown["tenant"]["display_name"], "Acme Corp");
    assert_eq!(shown["tenant"]["status"], "active");
    assert_eq!(shown["tenant"]["domains"], serde_json::json!(["acme.com"]));
    assert_eq!(shown["instances"], serde_json::json!([]));

    // Domains are compared without case or a leading @.
    for claim in ["acme.com", "ACME.com", "@acme.com"] {
        let message = cli.refused(&[
            "tenant",
            "add",
            "roadrunner",
            "--name",
            "Roadrunner",
            "--domain",
            claim,
        ]);
        assert!(
            message.contains("'acme.com' already belongs to the organization 'acme'"),
            "{message}"
        );
    }
    // The refused org was not created half-way.
    assert_eq!(cli.tenant_slugs(), ["acme"]);
    assert!(
        cli.refused(&["tenant", "show", "roadrunner"])
            .contains("no organization named 'roadrunner'")
    );
}

#[tokio::test]
async fn a_free_mail_or_malformed_domain_is_refused_and_no_org_is_created() {
    let cli = Cli::new().await;
    for domain in ["gmail.com", "Outlook.com"] {
        let message = cli.refused(&[
            "tenant", "add", "acme", "--name", "Acme", "--domain", domain,
        ]);
        assert!(message.contains("free mail"), "{message}");
    }
    for domain in ["acme", "acme .com", "acme..com"] {
        let message = cli.refused(&[
            "tenant", "add", "acme", "--name", "Acme", "--domain", domain,
        ]);
        assert!(message.contains("not an email domain"), "{message}");
    }
    assert_eq!(cli.ok(&["tenant", "list", "--json"]).trim(), "[]");
}

#[tokio::test]
async fn a_slug_or_name_that_is_not_valid_is_refused_and_no_org_is_created() {
    let cli = Cli::new().await;
    for slug in ["Acme", "ac me", " acme", "acme-", "a", "acme_corp"] {
        let message = cli.refused(&["tenant", "add", slug, "--name", "Acme"]);
        assert!(
            message.contains("not a valid organization name"),
            "{message}"
        );
    }
    let long = "x".repeat(81);
    for name in ["", "   ", long.as_str()] {
        let message = cli.refused(&["tenant", "add", "acme", "--name", name]);
        assert!(message.contains("organization name"), "{message}");
    }
    assert_eq!(cli.ok(&["tenant", "list", "--json"]).trim(), "[]");
}

#[tokio::test]
async fn an_org_is_renamed_suspended_and_given_or_relieved_of_domains() {
    let cli = Cli::new().await;
    cli.ok(&[
        "tenant", "add", "acme", "--name", "Acme", "--domain", "acme.com",
    ]);

    let updated = cli.json(&[
        "tenant",
        "update",
        "acme",
        "--name",
        "Acme Inc",
        "--status",
        "suspended",
        "--add-domain",
        "acme.io",
        "--add-domain",
        "acme.dev",
        "--remove-domain",
        "acme.com",
        "--json",
    ]);
    assert_eq!(updated["display_name"], "Acme Inc");
    assert_eq!(updated["status"], "suspended");
    assert_eq!(
        updated["domains"],
        serde_json::json!(["acme.dev", "acme.io"])
    );
    let shown = cli.json(&["tenant", "show", "acme", "--json"]);
    assert_eq!(shown["tenant"], updated);
    let text = cli.ok(&["tenant", "list"]);
    assert!(
        text.contains("acme\tAcme Inc\tsuspended\tacme.dev,acme.io"),
        "{text}"
    );

    let active = cli.json(&["tenant", "update", "acme", "--status", "active", "--json"]);
    assert_eq!(active["status"], "active");
    assert_eq!(active["display_name"], "Acme Inc");

    // The removed domain is free for another org.
    cli.ok(&[
        "tenant", "add", "globex", "--name", "Globex", "--domain", "acme.com",
    ]);
}

#[tokio::test]
async fn a_bad_org_update_is_refused_and_changes_nothing() {
    let cli = Cli::new().await;
    cli.ok(&[
        "tenant", "add", "acme", "--name", "Acme", "--domain", "acme.com",
    ]);
    cli.ok(&[
        "tenant",
        "add",
        "globex",
        "--name",
        "Globex",
        "--domain",
        "globex.com",
    ]);
    let before = cli.snapshot();

    let message = cli.refused(&["tenant", "update", "acme", "--status", "paused"]);
    assert!(message.contains("must be active or suspended"), "{message}");
    let message = cli.refused(&["tenant", "update", "acme", "--add-domain", "gmail.com"]);
    assert!(message.contains("free mail"), "{message}");
    let message = cli.refused(&["tenant", "update", "nosuch", "--name", "Nobody"]);
    assert!(
        message.contains("no organization named 'nosuch'"),
        "{message}"
    );
    // One refused part undoes the whole update: neither the new name nor the removal lands.
    let message = cli.refused(&[
        "tenant",
        "update",
        "acme",
        "--name",
        "Renamed",
        "--remove-domain",
        "acme.com",
        "--add-domain",
        "globex.com",
    ]);
    assert!(
        message.contains("'globex.com' already belongs to the organization 'globex'"),
        "{message}"
    );

    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn an_org_is_removed_only_with_yes_and_takes_its_instances_along() {
    let cli = Cli::new().await;
    cli.ok(&[
        "tenant", "add", "acme", "--name", "Acme", "--domain", "acme.com",
    ]);
    cli.add_tenant("globex", "Globex");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("ACME"),
    );
    cli.add_instance(
        "globex",
        "globex-main",
        "https://globex.okta.com",
        "0oa1globex",
        &secret("GLBX"),
    );
    cli.ok(&["setup-link", "create", "acme"]);
    let before = cli.snapshot();
    let acme = cli.json(&["instance", "list", "--tenant", "acme", "--json"]);
    assert_eq!(ids(&acme, "id"), ["acme-main"]);

    let message = cli.refused(&["tenant", "remove", "acme"]);
    assert!(message.contains("--yes"), "{message}");
    assert_eq!(cli.snapshot(), before);

    let removed = cli.ok(&["tenant", "remove", "acme", "--yes"]);
    assert!(removed.contains("removed organization acme"), "{removed}");
    assert_eq!(cli.tenant_slugs(), ["globex"]);
    assert_eq!(cli.instance_ids(), ["globex-main"]);
    assert!(
        cli.refused(&["instance", "list", "--tenant", "acme"])
            .contains("no organization named 'acme'")
    );
    assert!(
        cli.refused(&["instance", "show", "acme-main"])
            .contains("no instance 'acme-main'")
    );
    assert_eq!(cli.ok(&["setup-link", "list", "--json"]).trim(), "[]");
    assert!(
        cli.refused(&["tenant", "remove", "acme", "--yes"])
            .contains("no organization named 'acme'")
    );
    // Its domain and client id went with it.
    cli.ok(&[
        "tenant",
        "add",
        "acme",
        "--name",
        "Acme again",
        "--domain",
        "acme.com",
    ]);
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("AGIN"),
    );
}

// Instances.

#[tokio::test]
async fn instance_show_prints_the_three_okta_urls_and_only_a_hint_of_the_secret() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let client_secret = secret("WXYZ");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &client_secret,
    );

    let shown = cli.show("acme-main");
    assert_eq!(shown["id"], "acme-main");
    assert_eq!(shown["tenant"], "acme");
    assert_eq!(shown["issuer"], "https://acme.okta.com");
    assert_eq!(shown["client_id"], "0oa1acme");
    assert_eq!(shown["enabled"], true);
    assert_eq!(
        shown["sign_in_redirect_uri"],
        "https://orgpass.example.com/sso/acme-main/callback"
    );
    assert_eq!(
        shown["initiate_login_uri"],
        "https://orgpass.example.com/sso/acme-main/initiate"
    );
    assert_eq!(
        shown["sign_out_redirect_uri"],
        "https://orgpass.example.com/signed-out"
    );
    assert_eq!(
        shown["global_token_revocation_uri"],
        "https://orgpass.example.com/sso/acme-main/global-token-revocation"
    );
    assert_eq!(shown["client_secret"], hint("WXYZ"));
    assert_eq!(shown["next_client_secret"], Value::Null);

    let text = cli.ok(&["instance", "show", "acme-main"]);
    for line in [
        format!("client secret   {}", hint("WXYZ")),
        "Sign-in redirect URI     https://orgpass.example.com/sso/acme-main/callback".to_owned(),
        "Initiate login URI       https://orgpass.example.com/sso/acme-main/initiate".to_owned(),
        "Sign-out redirect URI    https://orgpass.example.com/signed-out".to_owned(),
        "Global token revocation  https://orgpass.example.com/sso/acme-main/global-token-revocation"
            .to_owned(),
    ] {
        assert!(text.contains(&line), "{line:?} missing from:\n{text}");
    }
    assert!(!text.contains("next secret"), "{text}");

    // The URLs follow ORGPASS_PUBLIC_URL; a plaintext public URL is refused.
    let elsewhere = cli.ok_with(
        &["instance", "show", "acme-main", "--json"],
        None,
        &[("ORGPASS_PUBLIC_URL", Some("https://sso.example.net"))],
    );
    let elsewhere: Value = serde_json::from_str(&elsewhere).expect("JSON output");
    assert_eq!(
        elsewhere["sign_in_redirect_uri"],
        "https://sso.example.net/sso/acme-main/callback"
    );
    assert_eq!(
        elsewhere["sign_out_redirect_uri"],
        "https://sso.example.net/signed-out"
    );
    cli.refused_with(
        &["instance", "show", "acme-main"],
        None,
        &[("ORGPASS_PUBLIC_URL", Some("http://sso.example.net"))],
    );
    assert!(
        cli.refused(&["instance", "show", "nosuch"])
            .contains("no instance 'nosuch'")
    );
    assert_hidden(cli.transcript().as_bytes(), &client_secret, "the output");
}

#[tokio::test]
async fn a_client_secret_appears_in_no_output_of_any_command() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let (first, next, replaced, from_env) = (
        secret("FRST"),
        secret("NEXT"),
        secret("REPL"),
        secret("ENVS"),
    );
    let imported = [secret("IMPA"), secret("IMPB")];
    let refused = secret("REFU");

    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &first,
    );
    cli.ok_with(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--id",
            "acme-eng",
            "--label",
            "Eng",
            "--issuer",
            "https://acme.okta.com",
            "--client-id",
            "0oa2acme",
        ],
        None,
        &[("ORGPASS_CLIENT_SECRET", Some(from_env.as_str()))],
    );
    for json in [&[][..], &["--json"][..]] {
        let with = |args: &[&'static str]| [args, json].concat();
        cli.ok(&with(&["instance", "list"]));
        cli.ok(&with(&["instance", "show", "acme-main"]));
        cli.ok(&with(&["instance", "show", "acme-eng"]));
        cli.ok(&with(&["tenant", "show", "acme"]));
        cli.ok(&with(&[
            "instance",
            "update",
            "acme-main",
            "--label",
            "Okta SSO",
        ]));
        cli.ok_stdin(
            &with(&["instance", "update", "acme-main", "--secret", "next"]),
            &next,
        );
    }
    cli.ok_stdin(
        &["instance", "update", "acme-eng", "--secret", "current"],
        &replaced,
    );
    cli.ok(&["instance", "show", "acme-eng"]);
    cli.ok(&[
        "instance",
        "update",
        "acme-main",
        "--promote-next-secret",
        "--json",
    ]);
    cli.ok(&["instance", "show", "acme-main"]);

    let rows = format!(
        "{CSV_HEADER}\n\
         acme,,,acme-imp-a,Imported A,https://acme.okta.com,0oa3acme,{},\n\
         acme,,,acme-imp-b,Imported B,https://acme.okta.com,0oa4acme,{},client_secret_post\n",
        imported[0], imported[1]
    );
    let file = cli.write_file("good.csv", &rows);
    cli.ok(&["instance", "import", file.to_str().unwrap()]);
    cli.ok(&["instance", "list"]);
    cli.ok(&["instance", "show", "acme-imp-a", "--json"]);
    cli.ok(&["instance", "show", "acme-imp-b"]);

    // Refusals do not quote the secret either.
    cli.refused_stdin(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--label",
            "Dup",
            "--issuer",
            "https://acme.okta.com",
            "--client-id",
            "0oa1acme",
        ],
        &refused,
    );
    cli.refused_stdin(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--label",
            "Bad",
            "--issuer",
            "https://acme.okta.com.evil.example",
            "--client-id",
            "0oa9acme",
        ],
        &refused,
    );
    let bad_rows = format!(
        "{CSV_HEADER}\n\
         acme,,,acme-imp-c,C,https://169.254.169.254,0oa5acme,{refused},\n\
         acme,,,acme-imp-d,D,https://acme.okta.com,0oa1acme,{refused},\n\
         nosuch,,,,E,https://acme.okta.com,0oa6acme,{refused},\n"
    );
    let file = cli.write_file("bad.csv", &bad_rows);
    cli.refused(&["instance", "import", file.to_str().unwrap(), "--json"]);
    let bad_json = serde_json::json!([
        {"tenant": "acme", "label": "F", "issuer": "https://acme.okta.com",
         "client_id": "0oa1acme", "client_secret": refused},
    ]);
    let file = cli.write_file("bad.json", &bad_json.to_string());
    cli.refused(&["instance", "import", file.to_str().unwrap()]);

    let transcript = cli.transcript();
    assert!(transcript.contains(&hint("REPL")), "{transcript}");
    assert!(transcript.contains(&hint("IMPB")), "{transcript}");
    for secret in [
        &first,
        &next,
        &replaced,
        &from_env,
        &imported[0],
        &imported[1],
        &refused,
    ] {
        assert_hidden(transcript.as_bytes(), secret, "the output");
    }
}

#[tokio::test]
async fn client_secrets_are_sealed_at_rest_with_a_private_master_key() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let (current, next, imported) = (secret("CURR"), secret("NEXT"), secret("IMPT"));
    let secrets = [&current, &next, &imported];
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &current,
    );
    cli.ok_stdin(
        &["instance", "update", "acme-main", "--secret", "next"],
        &next,
    );
    let rows = serde_json::json!([
        {"tenant": "acme", "id": "acme-imported", "label": "Imported",
         "issuer": "https://acme.okta.com", "client_id": "0oa2acme", "client_secret": imported},
    ]);
    let file = cli.write_file("one.json", &rows.to_string());
    cli.ok(&["instance", "import", file.to_str().unwrap()]);

    if postgres_pass() {
        // The keys come from ORGPASS_MASTER_KEY: no key file, no SQLite file.
        assert!(!cli.data_file("master.keys").exists());
        assert!(!cli.data_file("orgpass.db").exists());
    } else {
        let mut files = 0;
        for name in ["orgpass.db", "orgpass.db-wal", "orgpass.db-shm"] {
            let Ok(bytes) = fs::read(cli.data_file(name)) else {
                continue;
            };
            files += 1;
            for secret in secrets {
                assert_hidden(&bytes, secret, name);
            }
        }
        assert!(files >= 1, "no database file in the data directory");
        let key_file = cli.data_file("master.keys");
        let mode = fs::metadata(&key_file)
            .expect("master.keys exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "master.keys mode {mode:o}");
    }

    // Whatever the backend, the rows hold AES-GCM seals (nonce, ciphertext, tag) of the
    // secrets, and the audit trail names changes without their values.
    let (stored, audit) = cli.stored().await;
    assert_eq!(
        stored.iter().map(|row| row.id.as_str()).collect::<Vec<_>>(),
        ["acme-imported", "acme-main"]
    );
    let next_sealed = stored[1].next.as_ref().expect("a sealed next secret");
    for sealed in [&stored[0].current, &stored[1].current, next_sealed] {
        assert_eq!(sealed.len(), 12 + 40 + 16);
        for secret in secrets {
            assert_hidden(sealed, secret, "a sealed secret");
        }
    }
    assert!(stored.iter().all(|row| row.key_id == 1));
    assert!(stored[0].next.is_none());
    assert_ne!(&stored[1].current, next_sealed);
    assert!(audit.contains("instance.add"), "{audit}");
    assert!(audit.contains("next client secret set"), "{audit}");
    assert!(audit.contains("instance.import"), "{audit}");
    for secret in secrets {
        assert_hidden(audit.as_bytes(), secret, "the audit trail");
    }
}

#[tokio::test]
async fn a_next_secret_is_added_promoted_and_dropped_as_show_reflects() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("CURR"),
    );
    let secrets = |shown: &Value| {
        (
            shown["client_secret"].as_str().unwrap().to_owned(),
            shown["next_client_secret"].as_str().map(str::to_owned),
        )
    };

    cli.ok_stdin(
        &["instance", "update", "acme-main", "--secret", "next"],
        &secret("NEXT"),
    );
    assert_eq!(
        secrets(&cli.show("acme-main")),
        (hint("CURR"), Some(hint("NEXT")))
    );
    let text = cli.ok(&["instance", "show", "acme-main"]);
    assert!(
        text.contains(&format!("next secret     {}", hint("NEXT"))),
        "{text}"
    );

    cli.ok(&["instance", "update", "acme-main", "--promote-next-secret"]);
    assert_eq!(secrets(&cli.show("acme-main")), (hint("NEXT"), None));
    let message = cli.refused(&["instance", "update", "acme-main", "--promote-next-secret"]);
    assert!(
        message.contains("no next client secret to promote"),
        "{message}"
    );
    assert_eq!(secrets(&cli.show("acme-main")), (hint("NEXT"), None));

    cli.ok_stdin(
        &["instance", "update", "acme-main", "--secret", "next"],
        &secret("NXT2"),
    );
    assert_eq!(
        secrets(&cli.show("acme-main")),
        (hint("NEXT"), Some(hint("NXT2")))
    );
    cli.ok(&["instance", "update", "acme-main", "--drop-next-secret"]);
    assert_eq!(secrets(&cli.show("acme-main")), (hint("NEXT"), None));

    cli.ok_stdin(
        &["instance", "update", "acme-main", "--secret", "current"],
        &secret("CUR3"),
    );
    assert_eq!(secrets(&cli.show("acme-main")), (hint("CUR3"), None));

    // A missing secret, or promoting and dropping at once, is refused.
    let before = cli.show("acme-main");
    let message = cli.refused_stdin(&["instance", "update", "acme-main", "--secret", "next"], "");
    assert!(message.contains("no client secret"), "{message}");
    cli.refused(&[
        "instance",
        "update",
        "acme-main",
        "--promote-next-secret",
        "--drop-next-secret",
    ]);
    assert_eq!(cli.show("acme-main"), before);
}

#[tokio::test]
async fn an_instance_is_updated_disabled_and_enabled_as_list_reflects() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    cli.add_instance(
        "acme",
        "acme-eng",
        "https://acme.okta.com",
        "0oa2acme",
        &secret("ENGS"),
    );
    let enabled = |cli: &Cli| -> Vec<(String, bool)> {
        let list = cli.json(&["instance", "list", "--json"]);
        let mut states: Vec<_> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_owned(),
                    i["enabled"].as_bool().unwrap(),
                )
            })
            .collect();
        states.sort();
        states
    };
    assert_eq!(
        enabled(&cli),
        [
            ("acme-eng".to_owned(), true),
            ("acme-main".to_owned(), true)
        ]
    );

    assert!(
        cli.ok(&["instance", "disable", "acme-main"])
            .contains("disabled instance acme-main")
    );
    assert_eq!(
        enabled(&cli),
        [
            ("acme-eng".to_owned(), true),
            ("acme-main".to_owned(), false)
        ]
    );
    assert!(cli.ok(&["instance", "list"]).contains("disabled"));
    assert!(
        cli.ok(&["instance", "enable", "acme-main"])
            .contains("enabled instance acme-main")
    );
    assert_eq!(
        enabled(&cli),
        [
            ("acme-eng".to_owned(), true),
            ("acme-main".to_owned(), true)
        ]
    );
    assert!(
        cli.refused(&["instance", "disable", "nosuch"])
            .contains("no instance 'nosuch'")
    );

    let updated = cli.json(&[
        "instance",
        "update",
        "acme-eng",
        "--label",
        "Engineering",
        "--token-auth-method",
        "client_secret_post",
        "--json",
    ]);
    assert_eq!(updated["label"], "Engineering");
    assert_eq!(updated["token_auth_method"], "client_secret_post");
    assert_eq!(cli.show("acme-eng")["client_secret"], hint("ENGS"));

    let before = cli.snapshot();
    let message = cli.refused(&["instance", "update", "acme-eng", "--client-id", "0oa1acme"]);
    assert!(message.contains("already registered"), "{message}");
    let message = cli.refused(&[
        "instance",
        "update",
        "acme-eng",
        "--issuer",
        "https://acme.okta.com.evil.example",
    ]);
    assert!(message.contains("refused"), "{message}");
    let message = cli.refused(&[
        "instance",
        "update",
        "acme-eng",
        "--token-auth-method",
        "none",
    ]);
    assert!(message.contains("client_secret_basic"), "{message}");
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn an_instance_is_removed_only_with_yes() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    cli.add_instance(
        "acme",
        "acme-eng",
        "https://acme.okta.com",
        "0oa2acme",
        &secret("ENGS"),
    );

    let message = cli.refused(&["instance", "remove", "acme-main"]);
    assert!(message.contains("--yes"), "{message}");
    let mut ids = cli.instance_ids();
    ids.sort();
    assert_eq!(ids, ["acme-eng", "acme-main"]);

    let removed = cli.ok(&["instance", "remove", "acme-main", "--yes"]);
    assert!(removed.contains("removed instance acme-main"), "{removed}");
    assert_eq!(cli.instance_ids(), ["acme-eng"]);
    assert!(
        cli.refused(&["instance", "remove", "acme-main", "--yes"])
            .contains("no instance 'acme-main'")
    );
    // The org stays; the client id is free again.
    assert_eq!(cli.tenant_slugs(), ["acme"]);
    cli.add_instance(
        "acme",
        "acme-new",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("NEWS"),
    );
}

#[tokio::test]
async fn extra_redirect_uris_are_checked_shown_replaced_and_cleared() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let added = cli.ok_stdin(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--id",
            "acme-main",
            "--label",
            "Okta",
            "--issuer",
            "https://acme.okta.com",
            "--client-id",
            "0oa1acme",
            "--redirect-uri",
            "https://app.acme.com/callback",
            "--redirect-uri",
            "http://localhost:8080/callback",
            "--post-logout-uri",
            "https://acme.com/signed-out",
            "--json",
        ],
        &secret("MAIN"),
    );
    let added: Value = serde_json::from_str(&added).expect("JSON output");
    assert_eq!(
        added["extra_redirect_uris"],
        serde_json::json!([
            "https://app.acme.com/callback",
            "http://localhost:8080/callback"
        ])
    );
    assert_eq!(added["post_logout_uri"], "https://acme.com/signed-out");
    let text = cli.ok(&["instance", "show", "acme-main"]);
    assert!(
        text.contains("Also registered          https://app.acme.com/callback"),
        "{text}"
    );

    let replaced = cli.json(&[
        "instance",
        "update",
        "acme-main",
        "--redirect-uri",
        "https://app.acme.com/v2/callback",
        "--json",
    ]);
    assert_eq!(
        replaced["extra_redirect_uris"],
        serde_json::json!(["https://app.acme.com/v2/callback"])
    );
    let before = cli.snapshot();
    for bad in [
        "http://app.acme.com/callback",
        "https://app.acme.com/callback#fragment",
        "https://user:pw@app.acme.com/callback",
        "/callback",
    ] {
        let message = cli.refused(&["instance", "update", "acme-main", "--redirect-uri", bad]);
        assert!(message.contains("refused"), "{bad}: {message}");
        let message = cli.refused(&["instance", "update", "acme-main", "--post-logout-uri", bad]);
        assert!(message.contains("refused"), "{bad}: {message}");
    }
    let message = cli.refused_stdin(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--label",
            "Other",
            "--issuer",
            "https://acme.okta.com",
            "--client-id",
            "0oa2acme",
            "--redirect-uri",
            "http://app.acme.com/callback",
        ],
        &secret("OTHR"),
    );
    assert!(message.contains("must use https"), "{message}");
    assert_eq!(cli.snapshot(), before);

    let cleared = cli.json(&[
        "instance",
        "update",
        "acme-main",
        "--clear-redirect-uris",
        "--json",
    ]);
    assert_eq!(cleared["extra_redirect_uris"], serde_json::json!([]));
    assert_eq!(cli.show("acme-main")["client_secret"], hint("MAIN"));
}

// Import.

#[tokio::test]
async fn a_json_import_of_three_good_rows_adds_them_all() {
    let cli = Cli::new().await;
    let rows = serde_json::json!([
        {"tenant": "acme", "tenant_name": "Acme Corp", "domains": "acme.com acme.io",
         "id": "acme-main", "label": "Okta", "issuer": "https://acme.okta.com",
         "client_id": "0oa1acme", "client_secret": secret("AAAA"),
         "token_auth_method": "client_secret_basic"},
        {"tenant": "acme", "tenant_name": "Acme Corp", "domains": "acme.com acme.io",
         "id": "acme-eng", "label": "Engineering", "issuer": "https://acme.okta.com",
         "client_id": "0oa2acme", "client_secret": secret("BBBB"),
         "token_auth_method": "client_secret_post"},
        {"tenant": "globex", "tenant_name": "Globex", "domains": "globex.com",
         "label": "Okta", "issuer": "https://globex.oktapreview.com",
         "client_id": "0oa1globex", "client_secret": secret("CCCC")},
    ]);
    let file = cli.write_file("instances.json", &rows.to_string());

    let out = cli.ok(&["instance", "import", file.to_str().unwrap()]);
    assert!(out.contains("imported 3"), "{out}");

    let mut slugs = cli.tenant_slugs();
    slugs.sort();
    assert_eq!(slugs, ["acme", "globex"]);
    let acme = cli.json(&["tenant", "show", "acme", "--json"]);
    assert_eq!(acme["tenant"]["display_name"], "Acme Corp");
    assert_eq!(
        acme["tenant"]["domains"],
        serde_json::json!(["acme.com", "acme.io"])
    );
    assert_eq!(acme["instances"].as_array().unwrap().len(), 2);
    let globex = cli.json(&["tenant", "show", "globex", "--json"]);
    assert_eq!(
        globex["tenant"]["domains"],
        serde_json::json!(["globex.com"])
    );
    let globex_id = globex["instances"][0]["id"]
        .as_str()
        .expect("a generated id");

    assert_eq!(cli.show("acme-main")["client_secret"], hint("AAAA"));
    let eng = cli.show("acme-eng");
    assert_eq!(eng["client_secret"], hint("BBBB"));
    assert_eq!(eng["token_auth_method"], "client_secret_post");
    let globex_main = cli.show(globex_id);
    assert_eq!(globex_main["client_secret"], hint("CCCC"));
    assert_eq!(globex_main["issuer"], "https://globex.oktapreview.com");
    assert_eq!(globex_main["token_auth_method"], "client_secret_basic");

    // --json reports the count; an explicit --format overrides the extension.
    let more = serde_json::json!([
        {"tenant": "acme", "label": "Sales", "issuer": "https://acme.okta.com",
         "client_id": "0oa3acme", "client_secret": secret("DDDD")},
    ]);
    let file = cli.write_file("more.txt", &more.to_string());
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("--format"), "{message}");
    let imported = cli.json(&[
        "instance",
        "import",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--json",
    ]);
    assert_eq!(imported, serde_json::json!({"imported": 1}));
    assert_eq!(cli.instance_ids().len(), 4);
}

#[tokio::test]
async fn a_csv_import_with_bad_rows_names_them_and_imports_nothing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    let before = cli.snapshot();

    let good_first = format!(
        "acme,,,acme-two,Two,https://acme.okta.com,0oa2acme,{},",
        secret("TWOS")
    );
    let good_last = format!(
        "initech,Initech,initech.com,,Okta,https://initech.okta.com,0oa1initech,{},\
         client_secret_post",
        secret("INIT")
    );
    let bad_rows = [
        (
            format!(
                "acme,,,acme-meta,Meta,http://169.254.169.254,0oa3acme,{},",
                secret("BAD1")
            ),
            "refused",
        ),
        (
            format!(
                "acme,,,acme-dup,Dup,https://acme.okta.com,0oa2acme,{},",
                secret("BAD2")
            ),
            "appears twice",
        ),
        (
            format!(
                "acme,,,acme-look,Look,https://acme.okta.com.evil.example,0oa4acme,{},",
                secret("BAD3")
            ),
            "refused",
        ),
        (
            format!(
                "acme,,,acme-two,Two again,https://acme.okta.com,0oa5acme,{},",
                secret("BAD4")
            ),
            "appears twice",
        ),
        (
            format!(
                "acme,,,acme-tam,Tam,https://acme.okta.com,0oa6acme,{},none",
                secret("BAD5")
            ),
            "token auth method",
        ),
        (
            "acme,,,acme-nosecret,None,https://acme.okta.com,0oa7acme,,".to_owned(),
            "empty",
        ),
    ];
    for (index, (bad, why)) in bad_rows.iter().enumerate() {
        let csv = format!("{CSV_HEADER}\n{good_first}\n{bad}\n{good_last}\n");
        let file = cli.write_file(&format!("bad-{index}.csv"), &csv);
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(message.contains("row 2:"), "{bad}: {message}");
        assert!(
            !message.contains("row 1:") && !message.contains("row 3:"),
            "{message}"
        );
        assert!(message.contains(why), "{bad}: {message}");
        assert!(message.contains("nothing was imported"), "{message}");
        assert_eq!(cli.snapshot(), before, "{bad}");
    }

    // Every bad row is named, not only the first.
    let csv = format!(
        "{CSV_HEADER}\n{good_first}\n{}\n{good_last}\n{}\n",
        bad_rows[0].0, bad_rows[2].0
    );
    let file = cli.write_file("two-bad.csv", &csv);
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("2 bad row(s)"), "{message}");
    assert!(
        message.contains("row 2:") && message.contains("row 4:"),
        "{message}"
    );
    assert_eq!(cli.snapshot(), before);

    // A row the CSV reader cannot take is named too.
    let csv = format!("{CSV_HEADER}\n{good_first}\nacme,,,short\n");
    let file = cli.write_file("ragged.csv", &csv);
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("row 2"), "{message}");
    let file = cli.write_file("empty.csv", &format!("{CSV_HEADER}\n"));
    assert!(
        cli.refused(&["instance", "import", file.to_str().unwrap()])
            .contains("no rows")
    );
    assert_eq!(cli.snapshot(), before);

    // The same file without its bad row goes in whole.
    let csv = format!("{CSV_HEADER}\n{good_first}\n{good_last}\n");
    let file = cli.write_file("good.csv", &csv);
    let out = cli.ok(&["instance", "import", file.to_str().unwrap()]);
    assert!(out.contains("imported 2"), "{out}");
    assert_eq!(cli.instance_ids().len(), 3);
    let initech = cli.json(&["tenant", "show", "initech", "--json"]);
    assert_eq!(
        initech["tenant"]["domains"],
        serde_json::json!(["initech.com"])
    );
    assert_eq!(
        initech["instances"][0]["token_auth_method"],
        "client_secret_post"
    );
}

#[tokio::test]
async fn an_import_row_conflicting_with_a_registered_client_id_imports_nothing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.ok(&[
        "tenant",
        "add",
        "globex",
        "--name",
        "Globex",
        "--domain",
        "globex.com",
    ]);
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    let before = cli.snapshot();

    // The first row would create an org; the conflict on row 2 undoes it too.
    let conflicts = [
        format!(
            "acme,,,acme-copy,Copy,https://acme.okta.com,0oa1acme,{},",
            secret("COPY")
        ),
        format!(
            "acme,,,acme-main,Same id,https://acme.okta.com,0oa9acme,{},",
            secret("SAME")
        ),
    ];
    for conflict in &conflicts {
        let csv = format!(
            "{CSV_HEADER}\n\
             initech,Initech,initech.com,,Okta,https://initech.okta.com,0oa1initech,{},\n\
             {conflict}\n",
            secret("INIT")
        );
        let file = cli.write_file("conflict.csv", &csv);
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(message.contains("row 2:"), "{message}");
        assert!(message.contains("already registered"), "{message}");
        assert!(message.contains("nothing was imported"), "{message}");
        assert_eq!(cli.snapshot(), before);
    }

    // So does a new org claiming a domain another org owns.
    let csv = format!(
        "{CSV_HEADER}\n\
         initech,Initech,globex.com,,Okta,https://initech.okta.com,0oa1initech,{},\n",
        secret("INIT")
    );
    let file = cli.write_file("domain.csv", &csv);
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("row 1:"), "{message}");
    assert!(
        message.contains("already belongs to the organization 'globex'"),
        "{message}"
    );
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn an_import_row_for_a_missing_org_without_a_name_imports_nothing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let before = cli.snapshot();

    let rows = serde_json::json!([
        {"tenant": "acme", "label": "Okta", "issuer": "https://acme.okta.com",
         "client_id": "0oa1acme", "client_secret": secret("ACME")},
        {"tenant": "nosuch", "label": "Okta", "issuer": "https://nosuch.okta.com",
         "client_id": "0oa1nosuch", "client_secret": secret("NONE")},
    ]);
    let file = cli.write_file("missing.json", &rows.to_string());
    let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
    assert!(message.contains("row 2:"), "{message}");
    assert!(
        message.contains("no organization named 'nosuch'"),
        "{message}"
    );
    assert!(message.contains("nothing was imported"), "{message}");
    assert_eq!(cli.snapshot(), before);

    // A file that is not an array of instances is refused as a whole.
    for text in ["{}", "[{\"tenant\": \"acme\"}]", "not json"] {
        let file = cli.write_file("malformed.json", text);
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(
            message.contains("not a JSON array of instances"),
            "{message}"
        );
    }
    let message = cli.refused(&["instance", "import", "/nonexistent/instances.json"]);
    assert!(message.contains("cannot read"), "{message}");
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn an_import_error_never_quotes_a_secret_put_in_the_wrong_column() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let misplaced = secret("MISP");
    let good = secret("GOOD");
    let header = "tenant,tenant_name,domains,label,issuer,client_id,client_secret,\
                  token_auth_method";
    for row in [
        format!("acme,,,Okta,https://acme.okta.com,0oa1acme,{good},{misplaced}"),
        format!("acme,,,Okta,{misplaced},0oa1acme,{good},"),
        format!("{misplaced},,,Okta,https://acme.okta.com,0oa1acme,{good},"),
        format!("initech,Initech,{misplaced},Okta,https://initech.okta.com,0oa1,{good},"),
    ] {
        let file = cli.write_file("misplaced.csv", &format!("{header}\n{row}\n"));
        let message = cli.refused(&["instance", "import", file.to_str().unwrap()]);
        assert!(message.contains("row 1:"), "{message}");
        assert_hidden(message.as_bytes(), &misplaced, "the import error");
        assert_hidden(message.as_bytes(), &good, "the import error");
    }
}

// Master keys.

#[tokio::test]
async fn keys_generate_prints_a_fresh_master_key_entry() {
    let cli = Cli::new().await;
    let first = generated_key(&cli, "1");
    let (id, key) = first.split_once(':').expect("ID:BASE64");
    assert_eq!(id, "1");
    assert_eq!(STANDARD.decode(key).expect("base64").len(), 32);
    assert_ne!(generated_key(&cli, "1"), first);
    assert!(cli.ok(&["keys", "generate"]).starts_with("1:"));
    assert!(generated_key(&cli, "7").starts_with("7:"));
    assert!(
        cli.refused(&["keys", "generate", "--id", "0"])
            .contains("1 or more")
    );
    // It needs no database.
    assert!(!cli.data_file("orgpass.db").exists());

    // The entry works as ORGPASS_MASTER_KEY.
    cli.ok_with(
        &["tenant", "add", "acme", "--name", "Acme"],
        None,
        &[("ORGPASS_MASTER_KEY", Some(first.as_str()))],
    );
    let client_secret = secret("ENVK");
    let env = [("ORGPASS_MASTER_KEY", Some(first.as_str()))];
    cli.ok_with(
        &[
            "instance",
            "add",
            "--tenant",
            "acme",
            "--id",
            "acme-main",
            "--label",
            "Okta",
            "--issuer",
            "https://acme.okta.com",
            "--client-id",
            "0oa1acme",
        ],
        Some(client_secret.as_str()),
        &env,
    );
    let shown = cli.ok_with(&["instance", "show", "acme-main"], None, &env);
    assert!(shown.contains(&hint("ENVK")), "{shown}");
    if !postgres_pass() {
        assert!(
            !cli.data_file("master.keys").exists(),
            "no key file with ORGPASS_MASTER_KEY"
        );
    }
}

/// Every storage command refuses to start with each of `wrong` keys, with a message about the
/// master key, and changes nothing.
fn assert_wrong_keys_refused(cli: &Cli, wrong: &[String]) {
    let before = cli.snapshot();
    let key_file = cli.data_file("master.keys");
    let key_bytes = fs::read(&key_file).ok();
    let client_secret = secret("WRNG");
    for key in wrong {
        let env = [("ORGPASS_MASTER_KEY", Some(key.as_str()))];
        let commands: &[&[&str]] = &[
            &["tenant", "list"],
            &["tenant", "add", "globex", "--name", "Globex"],
            &["tenant", "remove", "acme", "--yes"],
            &["instance", "list", "--json"],
            &["instance", "show", "acme-main"],
            &["instance", "disable", "acme-main"],
            &["instance", "update", "acme-main", "--label", "Renamed"],
            &["instance", "remove", "acme-main", "--yes"],
            &["setup-link", "list"],
            &["keys", "rotate"],
        ];
        for args in commands {
            let message = cli.refused_with(args, None, &env);
            assert!(message.contains("master key"), "{args:?}: {message}");
            let (_, material) = key.split_once(':').unwrap();
            assert!(
                !message.contains(material),
                "{args:?} echoed the key: {message}"
            );
        }
        let message = cli.refused_with(
            &[
                "instance",
                "add",
                "--tenant",
                "acme",
                "--id",
                "acme-other",
                "--label",
                "Other",
                "--issuer",
                "https://acme.okta.com",
                "--client-id",
                "0oa9acme",
            ],
            Some(client_secret.as_str()),
            &env,
        );
        assert!(message.contains("master key"), "{message}");
    }
    assert_eq!(cli.snapshot(), before);
    assert_eq!(fs::read(&key_file).ok(), key_bytes, "master.keys changed");
}

#[tokio::test]
async fn a_key_rotation_reseals_every_secret_under_the_new_master_key() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    cli.ok_stdin(
        &["instance", "update", "acme-main", "--secret", "next"],
        &secret("NEXT"),
    );
    cli.add_instance(
        "acme",
        "acme-eng",
        "https://acme.okta.com",
        "0oa2acme",
        &secret("ENGS"),
    );
    fn hints(cli: &Cli, env: &[EnvChange]) {
        let show = |id: &str| -> Value {
            serde_json::from_str(&cli.ok_with(&["instance", "show", id, "--json"], None, env))
                .expect("JSON output")
        };
        let (main, eng) = (show("acme-main"), show("acme-eng"));
        assert_eq!(main["client_secret"], hint("MAIN"));
        assert_eq!(main["next_client_secret"], hint("NEXT"));
        assert_eq!(eng["client_secret"], hint("ENGS"));
    }

    if let Some(old) = cli.storage.master_key() {
        // ORGPASS_MASTER_KEY: the operator puts the new key first, then re-seals.
        let new = generated_key(&cli, "2");
        let both = format!("{new},{old}");
        let out = cli.ok_with(
            &["keys", "rotate"],
            None,
            &[("ORGPASS_MASTER_KEY", Some(both.as_str()))],
        );
        assert!(!out.contains("added master key"), "{out}");
        assert!(
            out.contains("3 client secret(s) re-sealed with master key 2"),
            "{out}"
        );
        hints(&cli, &[("ORGPASS_MASTER_KEY", Some(both.as_str()))]);
        // Nothing is sealed under the old key any more: it can go, and alone it opens nothing.
        hints(&cli, &[("ORGPASS_MASTER_KEY", Some(new.as_str()))]);
        let message = cli.refused_with(
            &["instance", "list"],
            None,
            &[("ORGPASS_MASTER_KEY", Some(old))],
        );
        assert!(message.contains("master key"), "{message}");
        assert!(cli.stored().await.0.iter().all(|row| row.key_id == 2));
        return;
    }

    let key_file = cli.data_file("master.keys");
    let keys_before = fs::read_to_string(&key_file).expect("master.keys");
    let out = cli.ok(&["keys", "rotate"]);
    assert!(out.contains("added master key 2"), "{out}");
    assert!(
        out.contains("3 client secret(s) re-sealed with master key 2"),
        "{out}"
    );
    hints(&cli, &[]);
    let keys_after = fs::read_to_string(&key_file).expect("master.keys");
    assert!(
        keys_after.starts_with(&keys_before),
        "the old key must stay"
    );
    let key_lines = |text: &str| {
        text.lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .count()
    };
    assert_eq!(key_lines(&keys_after), 2);
    let mode = fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(cli.stored().await.0.iter().all(|row| row.key_id == 2));

    // Nothing left to re-seal but a new key: every secret moves again.
    let out = cli.ok(&["keys", "rotate"]);
    assert!(out.contains("added master key 3"), "{out}");
    assert!(
        out.contains("3 client secret(s) re-sealed with master key 3"),
        "{out}"
    );
    hints(&cli, &[]);

    // Keys from ORGPASS_MASTER_KEY that do not match the file's are refused.
    assert_wrong_keys_refused(
        &cli,
        &[
            generated_key(&cli, "1"),
            generated_key(&cli, "2"),
            generated_key(&cli, "3"),
        ],
    );
    hints(&cli, &[]);
}

#[tokio::test]
async fn a_wrong_master_key_stops_every_command_and_changes_nothing() {
    let cli = Cli::new().await;
    cli.ok(&[
        "tenant", "add", "acme", "--name", "Acme", "--domain", "acme.com",
    ]);
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    cli.ok(&["setup-link", "create", "acme"]);

    assert_wrong_keys_refused(&cli, &[generated_key(&cli, "1"), generated_key(&cli, "2")]);
    let message = cli.refused_with(
        &["tenant", "list"],
        None,
        &[("ORGPASS_MASTER_KEY", Some("1:not-a-key"))],
    );
    assert!(message.contains("malformed master key"), "{message}");
    assert!(!message.contains("not-a-key"), "{message}");

    // The right key still opens everything.
    assert_eq!(cli.show("acme-main")["client_secret"], hint("MAIN"));
    assert_eq!(cli.tenant_slugs(), ["acme"]);
}

#[tokio::test]
async fn a_missing_key_file_with_sealed_secrets_stops_every_command() {
    if postgres_pass() {
        return; // The key file is the embedded SQLite default's.
    }
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_instance(
        "acme",
        "acme-main",
        "https://acme.okta.com",
        "0oa1acme",
        &secret("MAIN"),
    );
    let before = cli.snapshot();
    let key_file = cli.data_file("master.keys");
    let key_bytes = fs::read(&key_file).expect("master.keys");
    fs::remove_file(&key_file).expect("remove master.keys");

    let commands: &[&[&str]] = &[
        &["tenant", "list"],
        &["tenant", "add", "globex", "--name", "Globex"],
        &["instance", "list"],
        &["instance", "show", "acme-main"],
        &["keys", "rotate"],
    ];
    for args in commands {
        let message = cli.refused(args);
        assert!(message.contains("missing"), "{args:?}: {message}");
        assert!(message.contains("master.keys"), "{args:?}: {message}");
        assert!(!key_file.exists(), "{args:?} created a new key file");
    }

    // Restored, the file opens everything again, and nothing was written meanwhile.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_file)
        .and_then(|mut file| file.write_all(&key_bytes))
        .expect("restore master.keys");
    assert_eq!(cli.snapshot(), before);
    assert_eq!(cli.show("acme-main")["client_secret"], hint("MAIN"));
}

#[tokio::test]
async fn postgres_without_a_master_key_is_refused() {
    if !postgres_pass() {
        return; // Only PostgreSQL requires ORGPASS_MASTER_KEY.
    }
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let before = cli.snapshot();
    let message = cli.refused_with(
        &["tenant", "add", "globex", "--name", "Globex"],
        None,
        &[("ORGPASS_MASTER_KEY", None)],
    );
    assert!(message.contains("ORGPASS_MASTER_KEY"), "{message}");
    assert!(!cli.data_file("master.keys").exists());
    assert_eq!(cli.snapshot(), before);
}

#[tokio::test]
async fn a_database_url_that_is_not_postgres_is_refused() {
    let cli = Cli::new().await;
    for url in [
        "mysql://x",
        "mysql://orgpass:hunter2@db.example/orgpass",
        "sqlite://x.db",
    ] {
        let message = cli.refused_with(&["tenant", "list"], None, &[("DATABASE_URL", Some(url))]);
        assert!(message.contains("postgres://"), "{message}");
        assert!(
            !message.contains("hunter2"),
            "the password was echoed: {message}"
        );
    }
    assert!(!cli.data_file("orgpass.db").exists());

    // A PostgreSQL database that cannot be opened is a failure (exit 1) that hides the password.
    if let Ok(server) = std::env::var("ORGPASS_TEST_DATABASE_URL")
        && postgres_pass()
    {
        let mut url = url::Url::parse(&server).expect("ORGPASS_TEST_DATABASE_URL");
        url.set_password(Some("hunter2"))
            .expect("a URL with a host");
        url.set_path("orgpass_no_such_database");
        let output = cli.run_with(
            &["tenant", "list"],
            None,
            &[("DATABASE_URL", Some(url.as_str()))],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("cannot open the database"),
            "{}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    }
}

// Setup links.

#[tokio::test]
async fn a_setup_link_is_created_listed_without_its_token_and_revoked() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_tenant("globex", "Globex");

    let created = cli.json(&["setup-link", "create", "acme", "--hours", "2", "--json"]);
    let id = created["id"].as_str().expect("an id").to_owned();
    let url = created["url"].as_str().expect("a url");
    let token = url
        .strip_prefix("https://orgpass.example.com/setup/")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(token.len() >= 20, "{token}");
    assert!(!token.contains(&id), "the id must not be part of the token");
    assert_eq!(created["tenant"], "acme");
    assert_eq!(created["status"], "active");
    assert_eq!(
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap(),
        2 * 3600
    );
    let text = cli.ok(&["setup-link", "create", "globex"]);
    assert!(
        text.contains("https://orgpass.example.com/setup/"),
        "{text}"
    );

    let listed_text = cli.ok(&["setup-link", "list", "--json"]);
    assert!(
        !listed_text.contains(token),
        "the token must never be listed"
    );
    assert!(!cli.ok(&["setup-link", "list"]).contains(token));
    let listed = cli.json(&["setup-link", "list", "--tenant", "acme", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["status"], "active");
    assert!(listed[0].get("url").is_none() && listed[0].get("token").is_none());

    assert!(cli.ok(&["setup-link", "revoke", &id]).contains(&id));
    let listed = cli.json(&["setup-link", "list", "--tenant", "acme", "--json"]);
    assert_eq!(listed[0]["status"], "revoked");
    let globex = cli.json(&["setup-link", "list", "--tenant", "globex", "--json"]);
    assert_eq!(globex[0]["status"], "active");
    // Revoking twice is harmless; an unknown link is not.
    cli.ok(&["setup-link", "revoke", &id]);
    assert!(
        cli.refused(&["setup-link", "revoke", "nosuchlink"])
            .contains("no setup link 'nosuchlink'")
    );
}

#[tokio::test]
async fn a_setup_link_for_an_unknown_org_or_a_bad_lifetime_is_refused() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let message = cli.refused(&["setup-link", "create", "nosuch"]);
    assert!(
        message.contains("no organization named 'nosuch'"),
        "{message}"
    );
    for hours in ["0", "721"] {
        let message = cli.refused(&["setup-link", "create", "acme", "--hours", hours]);
        assert!(message.contains("--hours"), "{message}");
    }
    cli.refused(&["setup-link", "create", "acme", "--hours", "-1"]);
    cli.refused(&["setup-link", "create", "Acme"]);
    assert_eq!(cli.ok(&["setup-link", "list", "--json"]).trim(), "[]");

    // The longest lifetime, 30 days, is accepted.
    let created = cli.json(&["setup-link", "create", "acme", "--hours", "720", "--json"]);
    assert_eq!(
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap(),
        720 * 3600
    );
}
