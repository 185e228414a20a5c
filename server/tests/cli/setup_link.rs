//! `orgpass setup-link`: one-time setup links created, listed without their token and revoked.

use crate::support::Cli;

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
