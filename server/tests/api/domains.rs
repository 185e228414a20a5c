//! Email domains proved by DNS: a claim shows the TXT record to publish and routes nothing
//! until the simulator's DNS server (a real one on 127.0.0.1) answers with its token; the
//! rules on whose domain is whose; the background check; the per-org sign-in rule.

use app::api::{
    AddDomain, AuditLog, OrgDomains, RemoveDomain, RouteEmail, SetSignInRule, VerifyDomain,
};
use app::backend::registry::domains;
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ACME_OKTA, ADA, AppConfig, Browser, GLOBEX_ENG, GRACE, HANK, INSTANCES, OrgFixture, TestApp,
    UserFixture, assert_refused, spawn_app, spawn_app_with,
};
use crate::tenant_admins::{call, make_admin, signed_in_as};

const RECORD: &str = "_orgpass-challenge.acme.example";

/// Someone Acme's Okta lets in whose email is not at Acme's domain.
const WANDA: UserFixture = UserFixture {
    sub: "00u1acmewanda",
    email: "wanda@wanda-consulting.example",
    name: "Wanda Contractor",
};
const ORGS_WITH_A_CONTRACTOR: [OrgFixture; 2] = [
    ("acme", "Acme Corporation", &[ADA, GRACE, WANDA]),
    ("globex", "Globex", &[HANK]),
];

async fn admin_of(app: &TestApp, org: &str, instance: &str, email: &str) -> Browser {
    let browser = signed_in_as(app, instance, email).await;
    make_admin(app, org, email).await;
    browser
}

async fn add_domain(admin: &Browser, domain: &str) -> (StatusCode, Value) {
    call(admin, AddDomain::PATH, &[("domain", domain)]).await
}

async fn verify(admin: &Browser, domain: &str) -> Value {
    let (status, answer) = call(admin, VerifyDomain::PATH, &[("domain", domain)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn route(app: &TestApp, email: &str) -> Value {
    let answer = app
        .browser()
        .post_form(RouteEmail::PATH, &[("email", email), ("return_to", "/")])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

async fn domains_of(admin: &Browser) -> Value {
    let (status, domains) = call(admin, OrgDomains::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "{domains}");
    domains
}

/// Acme's admin claims acme.example and publishes its record in the simulator's DNS.
async fn acme_proves_its_domain(app: &TestApp, admin: &Browser) {
    let (status, claim) = add_domain(admin, "acme.example").await;
    assert_eq!(status, StatusCode::OK, "{claim}");
    let value = claim["record_value"].as_str().unwrap();
    app.simulator.publish_txt(RECORD, &[value]).await;
    let checked = verify(admin, "acme.example").await;
    assert_eq!(checked["Verified"]["proof"], "Dns", "{checked}");
}

async fn audit_actions(admin: &Browser) -> Vec<String> {
    let (_, log) = call(admin, AuditLog::PATH, &[("page", "0")]).await;
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| format!("{} {}", event["action"].as_str().unwrap(), event["detail"]))
        .collect()
}

#[tokio::test]
async fn a_claimed_domain_routes_nobody_until_its_txt_record_is_published_and_verified() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;

    let (status, claim) = add_domain(&ada, "Acme.Example").await;

    assert_eq!(status, StatusCode::OK, "{claim}");
    assert_eq!(claim["domain"], "acme.example");
    assert_eq!(claim["record_name"], RECORD);
    let value = claim["record_value"].as_str().unwrap();
    let token = value.strip_prefix("orgpass-domain-verification=").unwrap();
    assert_eq!(token.len(), 32, "a token of 128 bits in hex: {value}");
    assert_eq!(route(&app, "grace@acme.example").await, json!("NoMatch"));

    app.simulator.publish_txt(RECORD, &[value]).await;
    let checked = verify(&ada, "acme.example").await;

    assert_eq!(checked["Verified"]["domain"], "acme.example", "{checked}");
    let routed = route(&app, "grace@acme.example").await;
    assert!(
        routed["SignIn"]["login_path"]
            .as_str()
            .is_some_and(|path| path.starts_with("/sso/acme-okta/login")),
        "{routed}"
    );
    let domains = domains_of(&ada).await;
    assert_eq!(domains["claims"], json!([]));
    assert_eq!(domains["verified"][0]["domain"], "acme.example");
    assert!(
        audit_actions(&ada)
            .await
            .iter()
            .any(|event| event.starts_with("domain.verify")),
        "the verification is not in the audit log"
    );
}

#[tokio::test]
async fn no_record_another_token_or_a_record_on_the_apex_leave_the_claim_pending() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;
    let (_, claim) = add_domain(&ada, "acme.example").await;
    let value = claim["record_value"].as_str().unwrap().to_owned();

    let absent = verify(&ada, "acme.example").await;
    assert_eq!(
        absent["NotYet"]["last_result"],
        format!("no TXT record at {RECORD} yet")
    );

    app.simulator
        .publish_txt(
            RECORD,
            &["orgpass-domain-verification=0123456789abcdef0123456789abcdef"],
        )
        .await;
    let other = verify(&ada, "acme.example").await;
    assert_eq!(
        other["NotYet"]["last_result"],
        format!("a TXT record is at {RECORD}, but not with this value")
    );

    app.simulator.publish_txt(RECORD, &[]).await;
    app.simulator.publish_txt("acme.example", &[&value]).await;
    let apex = verify(&ada, "acme.example").await;
    assert!(apex.get("NotYet").is_some(), "{apex}");

    assert_eq!(route(&app, "ada@acme.example").await, json!("NoMatch"));
    assert_eq!(domains_of(&ada).await["verified"], json!([]));
}

#[tokio::test]
async fn a_dns_server_that_does_not_answer_leaves_the_claim_pending_without_an_error() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;
    let (_, claim) = add_domain(&ada, "acme.example").await;
    app.simulator
        .publish_txt(RECORD, &[claim["record_value"].as_str().unwrap()])
        .await;
    app.simulator.dns_outage(true).await;

    let checked = verify(&ada, "acme.example").await;

    assert_eq!(
        checked["NotYet"]["last_result"],
        "the DNS did not answer; it is asked again"
    );
    app.simulator.dns_outage(false).await;
    assert!(verify(&ada, "acme.example").await.get("Verified").is_some());
}

#[tokio::test]
async fn free_mail_and_public_suffixes_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;

    for (domain, reason) in [
        ("gmail.com", "free mail provider"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("not a domain", "not an email domain"),
    ] {
        let (status, answer) = add_domain(&ada, domain).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{domain}: {answer}");
        assert!(
            answer["Invalid"].as_str().unwrap().contains(reason),
            "{domain}: {answer}"
        );
    }
    assert_eq!(domains_of(&ada).await["claims"], json!([]));
}

#[tokio::test]
async fn a_domain_another_org_proved_is_refused_without_naming_that_org() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;
    acme_proves_its_domain(&app, &ada).await;
    let hank = admin_of(&app, "globex", GLOBEX_ENG, HANK.email).await;

    let (status, answer) = add_domain(&hank, "acme.example").await;

    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(
        answer,
        json!({ "Conflict": domains::TAKEN_ELSEWHERE }),
        "the answer names the owner"
    );
    assert_eq!(domains_of(&hank).await["claims"], json!([]));
}

#[tokio::test]
async fn a_squatters_pending_claim_does_not_block_the_owner_and_is_dropped_when_the_owner_verifies()
{
    let app = spawn_app().await;
    let hank = admin_of(&app, "globex", GLOBEX_ENG, HANK.email).await;
    let (status, squat) = add_domain(&hank, "acme.example").await;
    assert_eq!(status, StatusCode::OK, "{squat}");
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;

    acme_proves_its_domain(&app, &ada).await;

    assert_eq!(domains_of(&hank).await["claims"], json!([]));
    assert!(
        audit_actions(&hank)
            .await
            .iter()
            .any(|event| event.starts_with("domain.claim_drop")),
        "globex's audit log does not say its claim was dropped"
    );
    assert!(
        audit_actions(&ada)
            .await
            .iter()
            .any(|event| event.contains("1 other organization(s)' pending claim dropped")),
        "acme's audit log does not say another claim was dropped"
    );
    let (status, _) = call(&hank, VerifyDomain::PATH, &[("domain", "acme.example")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_background_check_proves_a_due_claim_and_fails_one_whose_week_is_over() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;
    let (_, published) = add_domain(&ada, "acme.example").await;
    add_domain(&ada, "eng.acme.example").await;
    app.simulator
        .publish_txt(RECORD, &[published["record_value"].as_str().unwrap()])
        .await;
    // As if five minutes had passed for the first and a week for the second.
    sqlx::query("UPDATE domain_claims SET next_check_at = 0")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE domain_claims SET checks_from = checks_from - 8 * 86400 \
         WHERE domain = 'eng.acme.example'",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let proved = domains::check_due_claims(&app.db, &app.dns(), 100)
        .await
        .unwrap();

    assert_eq!(proved, 1);
    let domains = domains_of(&ada).await;
    assert_eq!(domains["verified"][0]["domain"], "acme.example");
    assert_eq!(domains["claims"][0]["domain"], "eng.acme.example");
    assert_eq!(domains["claims"][0]["failed"], true, "{domains}");
    let retried = verify(&ada, "eng.acme.example").await;
    assert_eq!(
        retried["NotYet"]["failed"], false,
        "a retry starts a new week"
    );
    assert_eq!(
        domains::check_due_claims(&app.db, &app.dns(), 100)
            .await
            .unwrap(),
        0,
        "a claim was checked again before it was due"
    );
}

#[tokio::test]
async fn removing_a_verified_domain_stops_routing_it_at_once() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;
    acme_proves_its_domain(&app, &ada).await;

    let (status, answer) = call(&ada, RemoveDomain::PATH, &[("domain", "acme.example")]).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(route(&app, "grace@acme.example").await, json!("NoMatch"));
    let (status, _) = call(&ada, RemoveDomain::PATH, &[("domain", "acme.example")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn with_a_contractor() -> AppConfig {
    AppConfig {
        orgs: &ORGS_WITH_A_CONTRACTOR,
        instances: &INSTANCES,
        ..AppConfig::default()
    }
}

#[tokio::test]
async fn verified_domains_only_refuses_a_person_outside_them_and_admits_one_inside() {
    let app = spawn_app_with(with_a_contractor()).await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;
    acme_proves_its_domain(&app, &ada).await;

    let (status, answer) = call(&ada, SetSignInRule::PATH, &[("rule", "VerifiedDomains")]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(domains_of(&ada).await["sign_in_rule"], "VerifiedDomains");

    let wanda = app.browser();
    let refused = wanda.sign_in(ACME_OKTA, None, Some(WANDA.email)).await;
    assert_refused(
        refused.callback(),
        StatusCode::FORBIDDEN,
        "only with an email address in one of its verified domains",
    );
    assert!(
        !refused.callback().body.contains("acme.example"),
        "the refusal names the verified domains"
    );
    let grace = app.browser();
    let admitted = grace.sign_in(ACME_OKTA, None, Some(GRACE.email)).await;
    assert_eq!(admitted.callback().status, StatusCode::SEE_OTHER);
    assert!(
        audit_actions(&ada).await.iter().any(|event| event.contains(
            "refused by the sign-in rule: wanda@wanda-consulting.example is not in a verified domain"
        )),
        "the refusal is not audited with its reason"
    );

    call(&ada, SetSignInRule::PATH, &[("rule", "Anyone")]).await;
    let again = wanda.sign_in(ACME_OKTA, None, Some(WANDA.email)).await;
    assert_eq!(again.callback().status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_sign_in_rule_never_locks_every_admin_out() {
    let app = spawn_app().await;
    let ada = admin_of(&app, "acme", ACME_OKTA, ADA.email).await;

    let (status, answer) = call(&ada, SetSignInRule::PATH, &[("rule", "VerifiedDomains")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(domains_of(&ada).await["sign_in_rule"], "Anyone");

    acme_proves_its_domain(&app, &ada).await;
    call(&ada, SetSignInRule::PATH, &[("rule", "VerifiedDomains")]).await;
    let (status, answer) = call(&ada, RemoveDomain::PATH, &[("domain", "acme.example")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(
        domains_of(&ada).await["verified"][0]["domain"],
        "acme.example"
    );
}
