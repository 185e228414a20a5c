//! The operator CLI, run as the real binary against a fresh SQLite directory.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

struct Cli {
    data: TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            data: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_orgpass"))
            .args(args)
            .env("ORGPASS_DATA_DIR", self.data.path())
            .env_remove("ORGPASS_CLIENT_SECRET")
            .env_remove("ORGPASS_DEV_LOOPBACK_ISSUERS")
            .env("ORGPASS_PUBLIC_URL", "https://orgpass.example.com")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("orgpass binary runs");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        child.wait_with_output().expect("orgpass exits")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
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

#[test]
fn an_operator_registers_an_org_and_an_instance_and_gets_the_urls_for_okta() {
    let cli = Cli::new();
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
        format!("https://orgpass.example.com/sso/{id}/login")
    );

    let listed = cli.run(&["instance", "list", "--json"], None);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed_text.contains(id));
    assert!(
        !listed_text.contains("the-secret-value"),
        "the secret must never be printed"
    );
}

#[test]
fn a_slug_with_spaces_or_uppercase_is_refused_with_exit_code_2() {
    let cli = Cli::new();
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

#[test]
fn a_duplicate_org_is_refused_with_exit_code_2() {
    let cli = Cli::new();
    assert!(
        cli.run(&["tenant", "add", "acme", "--name", "Acme"], None)
            .status
            .success()
    );
    let again = cli.run(&["tenant", "add", "acme", "--name", "Acme again"], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));
}

#[test]
fn unsafe_issuers_are_refused_with_exit_code_2_and_nothing_is_written() {
    let cli = Cli::new();
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

#[test]
fn an_instance_without_a_secret_or_org_is_refused_with_exit_code_2() {
    let cli = Cli::new();
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

#[test]
fn a_client_id_registered_twice_for_one_issuer_is_refused() {
    let cli = Cli::new();
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
