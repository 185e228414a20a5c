//! `orgpass tenant`: organizations and their domains, added, shown, updated and removed.

use crate::support::{Cli, ids, secret, stderr};

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
