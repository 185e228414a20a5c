//! `orgpass domain`: what routes each org's people and what waits for its TXT record; the
//! operator's `--domain` as an override, and `domain verify` against a real DNS server (the
//! simulator's, on 127.0.0.1).

use app::backend::audit::Actor;
use app::backend::registry::domains;
use app::domain::{EmailDomain, TenantSlug};
use serde_json::json;

use crate::common::simulator::Simulator;
use crate::support::Cli;

/// A claim as the settings page makes one; returns the TXT value to publish.
async fn claimed_from_the_settings_page(cli: &Cli, tenant: &str, domain: &str) -> String {
    let location = cli.storage.args().location().expect("a valid location");
    let db = app::backend::db::open(&location)
        .await
        .expect("the test database opens");
    let claim = domains::claim_domain(
        &db,
        &TenantSlug::parse(tenant).unwrap(),
        &EmailDomain::parse(domain).unwrap(),
        &Actor::TenantAdmin("ada@acme.com".into()),
    )
    .await
    .expect("the claim is made");
    db.close().await;
    claim.record_value()
}

/// Only its DNS server is used.
async fn dns_server() -> Simulator {
    Simulator::start(&json!({ "orgs": [{
        "slug": "dns", "port": 0,
        "users": [{ "sub": "00u1", "email": "x@dns.example" }],
        "clients": [{ "client_id": "0oa1", "client_secret": "s", "redirect_uris": ["http://127.0.0.1/cb"] }],
    }] }))
    .await
}

#[tokio::test]
async fn a_domain_the_operator_adds_is_listed_as_verified_by_the_operator() {
    let cli = Cli::new().await;
    cli.ok(&[
        "tenant", "add", "acme", "--name", "Acme", "--domain", "acme.com",
    ]);

    let listed = cli.json(&["domain", "list", "--json"]);

    assert_eq!(
        listed,
        json!([{ "tenant": "acme", "domain": "acme.com", "status": "verified",
                 "verified_by": "operator", "record_name": null, "record_value": null }])
    );
    assert_eq!(
        cli.ok(&["domain", "list", "acme"]),
        "acme  acme.com  verified (operator)\n"
    );
}

#[tokio::test]
async fn a_public_suffix_is_refused_even_from_the_operator() {
    let cli = Cli::new().await;

    let message = cli.refused(&[
        "tenant", "add", "acme", "--name", "Acme", "--domain", "co.uk",
    ]);

    assert!(message.contains("public suffix"), "{message}");
    assert!(cli.tenant_slugs().is_empty(), "the org was created");
}

#[tokio::test]
async fn domain_verify_fails_until_the_record_is_published_then_the_domain_routes() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");
    let value = claimed_from_the_settings_page(&cli, "acme", "acme.com").await;
    let dns = dns_server().await;
    let listed = cli.ok(&["domain", "list"]);
    assert!(
        listed.contains(&format!(
            "acme  acme.com  pending: TXT _orgpass-challenge.acme.com \"{value}\""
        )),
        "{listed}"
    );

    let refused = cli.refused(&[
        "domain",
        "verify",
        "acme",
        "acme.com",
        "--dns-server",
        dns.dns(),
    ]);
    assert!(
        refused.contains("acme.com is not verified yet"),
        "{refused}"
    );
    assert!(refused.contains(&value), "{refused}");

    dns.publish_txt("_orgpass-challenge.acme.com", &[&value])
        .await;
    let verified = cli.ok(&[
        "domain",
        "verify",
        "acme",
        "acme.com",
        "--dns-server",
        dns.dns(),
    ]);

    assert_eq!(
        verified,
        "acme.com is verified for acme: it routes sign-ins\n"
    );
    let listed = cli.json(&["domain", "list", "acme", "--json"]);
    assert_eq!(listed[0]["status"], "verified");
    assert_eq!(listed[0]["verified_by"], "dns");
}

#[tokio::test]
async fn domain_verify_of_an_unknown_org_or_domain_says_what_is_missing() {
    let cli = Cli::new().await;
    cli.add_tenant("acme", "Acme");

    let no_org = cli.refused(&["domain", "verify", "initech", "acme.com"]);
    let no_claim = cli.refused(&["domain", "verify", "acme", "acme.com"]);

    assert!(
        no_org.contains("no organization named 'initech'"),
        "{no_org}"
    );
    assert!(
        no_claim.contains("no domain 'acme.com' in this organization"),
        "{no_claim}"
    );
}
