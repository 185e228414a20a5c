//! `orgpass admin`: an operator adds, lists and removes an org's admins for a support case,
//! with the same rules as the settings page (one org's people only, never the last admin).

use crate::support::{Cli, secret, stderr};

const ACME_ISSUER: &str = "https://acme.okta.com";
const GLOBEX_ISSUER: &str = "https://globex.okta.com";

/// Acme and Globex, one instance each; Ada and Grace signed in through acme's, Hank through
/// globex's.
async fn two_orgs_with_people() -> Cli {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    cli.add_tenant("globex", "Globex");
    cli.add_instance(
        "acme",
        "acme-okta",
        ACME_ISSUER,
        "0oa1acme",
        &secret("AAAA"),
    );
    cli.add_instance(
        "globex",
        "globex-okta",
        GLOBEX_ISSUER,
        "0oa1globex",
        &secret("BBBB"),
    );
    cli.signed_in("acme-okta", ACME_ISSUER, "ada@acme.com")
        .await;
    cli.signed_in("acme-okta", ACME_ISSUER, "grace@acme.com")
        .await;
    cli.signed_in("globex-okta", GLOBEX_ISSUER, "hank@globex.com")
        .await;
    cli
}

#[tokio::test]
async fn someone_who_signed_in_is_made_an_admin_by_email_and_listed_with_their_user_id() {
    let cli = two_orgs_with_people().await;

    let text = cli.ok(&["admin", "add", "acme", "--email", "Ada@Acme.com"]);
    assert!(text.contains("ada@acme.com (user "), "{text}");
    assert!(text.contains("is now an admin of acme"), "{text}");

    let list = cli.json(&["admin", "list", "acme", "--json"]);
    assert_eq!(list["admins"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["admins"][0]["email"], "ada@acme.com");
    assert_eq!(list["admins"][0]["instance"], "acme-okta");
    assert_eq!(list["admins"][0]["added_by"], "operator");
    assert!(list["admins"][0]["user_id"].as_i64().is_some());
    assert_eq!(list["invitations"], serde_json::json!([]));
    let globex = cli.json(&["admin", "list", "globex", "--json"]);
    assert_eq!(globex["admins"], serde_json::json!([]));
}

#[tokio::test]
async fn an_email_nobody_signed_in_with_is_invited_and_the_invitation_can_be_withdrawn() {
    let cli = two_orgs_with_people().await;

    let text = cli.ok(&["admin", "add", "acme", "--email", "linus@acme.com"]);
    assert!(text.contains("invited linus@acme.com"), "{text}");
    assert!(
        cli.ok(&["admin", "list", "acme"])
            .contains("invited\tlinus@acme.com\tby operator")
    );

    cli.ok(&["admin", "remove", "acme", "--email", "linus@acme.com"]);
    let list = cli.json(&["admin", "list", "acme", "--json"]);
    assert_eq!(list["invitations"], serde_json::json!([]));
    let again = cli.refused(&["admin", "remove", "acme", "--email", "linus@acme.com"]);
    assert!(
        again.contains("no such invitation in this organization"),
        "{again}"
    );
}

#[tokio::test]
async fn another_orgs_person_cannot_be_made_an_admin_here_by_email_or_by_user_id() {
    let cli = two_orgs_with_people().await;
    let hank = cli.json(&[
        "admin",
        "add",
        "globex",
        "--email",
        "hank@globex.com",
        "--json",
    ]);
    let hank_id = hank["user_id"].as_i64().unwrap().to_string();

    let refused = cli.refused(&["admin", "add", "acme", "--user", &hank_id]);
    assert!(
        refused.contains("no such person in this organization"),
        "{refused}"
    );
    // By email it is only an invitation, honoured at a sign-in through acme's instance.
    let text = cli.ok(&["admin", "add", "acme", "--email", "hank@globex.com"]);
    assert!(text.contains("invited hank@globex.com"), "{text}");
}

#[tokio::test]
async fn the_last_admin_of_an_org_is_not_removed() {
    let cli = two_orgs_with_people().await;
    let ada = cli.json(&["admin", "add", "acme", "--email", "ada@acme.com", "--json"]);
    let ada_id = ada["user_id"].as_i64().unwrap().to_string();

    let refused = cli.refused(&["admin", "remove", "acme", "--user", &ada_id]);
    assert!(refused.contains("keeps at least one admin"), "{refused}");

    cli.ok(&["admin", "add", "acme", "--email", "grace@acme.com"]);
    let text = cli.ok(&["admin", "remove", "acme", "--user", &ada_id]);
    assert!(text.contains("no longer an admin of acme"), "{text}");
    let list = cli.json(&["admin", "list", "acme", "--json"]);
    assert_eq!(list["admins"][0]["email"], "grace@acme.com");
    assert_eq!(list["admins"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input_exits_2_with_what_to_fix_and_changes_nothing() {
    let cli = two_orgs_with_people().await;

    for (args, says) in [
        (
            vec!["admin", "list", "initech"],
            "no organization named 'initech'",
        ),
        (
            vec!["admin", "add", "initech", "--email", "a@b.com"],
            "no organization named",
        ),
        (
            vec!["admin", "add", "acme", "--email", "ada"],
            "not an email address",
        ),
        (
            vec!["admin", "add", "acme"],
            "--user <USER>|--email <EMAIL>",
        ),
        (
            vec!["admin", "add", "acme", "--user", "1", "--email", "a@b.com"],
            "cannot be used with",
        ),
        (
            vec!["admin", "remove", "acme", "--user", "999"],
            "no such person",
        ),
    ] {
        let output = cli.run(&args, None);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let list = cli.json(&["admin", "list", "acme", "--json"]);
    assert_eq!(list, serde_json::json!({ "admins": [], "invitations": [] }));
}
