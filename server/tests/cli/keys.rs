//! `orgpass keys`: master keys generated and rotated; a wrong or missing key stops every
//! command.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::common::storage::postgres_pass;
use crate::support::{Cli, EnvChange, hint, secret};

fn generated_key(cli: &Cli, id: &str) -> String {
    cli.ok(&["keys", "generate", "--id", id]).trim().to_owned()
}

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
