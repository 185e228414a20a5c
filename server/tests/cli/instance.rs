//! `orgpass instance`: instances added, shown with the URLs for Okta, updated (secrets and
//! redirect URIs included), disabled, enabled and removed.

use serde_json::Value;

use crate::support::{Cli, assert_hidden, hint, secret, stderr};

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
