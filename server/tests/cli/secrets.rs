//! Client secrets: in no output of any command, and sealed at rest under a private master key.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::storage::postgres_pass;
use crate::support::{CSV_HEADER, Cli, assert_hidden, hint, secret};

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
