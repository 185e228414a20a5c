//! The seed's scenario: ten customer orgs, three of them running two instances on the org's one
//! issuer — thirteen credential sets — imported in one go; every instance signs people in on
//! its own, and no instance accepts what was issued to another.

use app::backend::registry;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    AppConfig, InstanceFixture, OrgFixture, Registration, TestApp, UserFixture,
    assert_refused_and_signed_out, query_param, reason, spawn_app_with, with_query_param,
};
use app::backend::registry::TokenAuthMethod::{ClientSecretBasic, ClientSecretPost};

macro_rules! person {
    ($sub:literal, $email:literal, $name:literal) => {
        UserFixture {
            sub: $sub,
            email: $email,
            name: $name,
        }
    };
}

const ORGS: [OrgFixture; 10] = [
    (
        "acme",
        "Acme",
        &[person!("00uacme", "ada@acme.example", "Ada")],
    ),
    (
        "globex",
        "Globex",
        &[person!("00uglobex", "hank@globex.example", "Hank")],
    ),
    (
        "initech",
        "Initech",
        &[person!("00uinitech", "peter@initech.example", "Peter")],
    ),
    (
        "umbrella",
        "Umbrella",
        &[person!("00uumbrella", "alice@umbrella.example", "Alice")],
    ),
    (
        "hooli",
        "Hooli",
        &[person!("00uhooli", "gavin@hooli.example", "Gavin")],
    ),
    (
        "stark",
        "Stark",
        &[person!("00ustark", "pepper@stark.example", "Pepper")],
    ),
    (
        "wayne",
        "Wayne",
        &[person!("00uwayne", "lucius@wayne.example", "Lucius")],
    ),
    (
        "wonka",
        "Wonka",
        &[person!("00uwonka", "charlie@wonka.example", "Charlie")],
    ),
    (
        "cyberdyne",
        "Cyberdyne",
        &[person!("00ucyberdyne", "miles@cyberdyne.example", "Miles")],
    ),
    (
        "soylent",
        "Soylent",
        &[person!("00usoylent", "sol@soylent.example", "Sol")],
    ),
];

macro_rules! instance {
    ($id:literal, $org:literal, $label:literal, $client:literal, $method:expr) => {
        InstanceFixture {
            id: $id,
            org: $org,
            label: $label,
            client_id: $client,
            token_auth_method: $method,
        }
    };
}

const INSTANCES: [InstanceFixture; 13] = [
    instance!(
        "acme-main",
        "acme",
        "Main",
        "0oaacmemain",
        ClientSecretBasic
    ),
    instance!("acme-labs", "acme", "Labs", "0oaacmelabs", ClientSecretPost),
    instance!(
        "globex-eng",
        "globex",
        "Engineering",
        "0oaglobexeng",
        ClientSecretBasic
    ),
    instance!(
        "globex-ops",
        "globex",
        "Operations",
        "0oaglobexops",
        ClientSecretBasic
    ),
    instance!(
        "initech-hq",
        "initech",
        "HQ",
        "0oainitechhq",
        ClientSecretPost
    ),
    instance!(
        "initech-eu",
        "initech",
        "Europe",
        "0oainitecheu",
        ClientSecretBasic
    ),
    instance!(
        "umbrella",
        "umbrella",
        "Okta",
        "0oaumbrella",
        ClientSecretBasic
    ),
    instance!("hooli", "hooli", "Okta", "0oahooli", ClientSecretBasic),
    instance!("stark", "stark", "Okta", "0oastark", ClientSecretPost),
    instance!("wayne", "wayne", "Okta", "0oawayne", ClientSecretBasic),
    instance!("wonka", "wonka", "Okta", "0oawonka", ClientSecretBasic),
    instance!(
        "cyberdyne",
        "cyberdyne",
        "Okta",
        "0oacyberdyne",
        ClientSecretBasic
    ),
    instance!(
        "soylent",
        "soylent",
        "Okta",
        "0oasoylent",
        ClientSecretBasic
    ),
];

/// The three orgs with two instances on one issuer.
const SIBLINGS: [(&str, &str, &str); 3] = [
    ("acme", "acme-main", "acme-labs"),
    ("globex", "globex-eng", "globex-ops"),
    ("initech", "initech-hq", "initech-eu"),
];

async fn spawn_thirteen() -> TestApp {
    spawn_app_with(AppConfig {
        orgs: &ORGS,
        instances: &INSTANCES,
        registration: Registration::Import,
        ..AppConfig::default()
    })
    .await
}

#[tokio::test]
async fn each_of_thirteen_imported_instances_signs_in_to_its_own_org_and_instance() {
    let app = spawn_thirteen().await;
    assert_eq!(registry::list_tenants(&app.db).await.unwrap().len(), 10);
    assert_eq!(
        registry::list_instances(&app.db, None).await.unwrap().len(),
        13
    );

    for instance in &INSTANCES {
        let browser = app.browser();
        browser.sign_in_ok(instance.id).await;

        let (status, session) = browser.session().await;
        let (_, org_name, people) = ORGS
            .iter()
            .find(|(slug, _, _)| *slug == instance.org)
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{}", instance.id);
        assert_eq!(session["tenant"], instance.org, "{}", instance.id);
        assert_eq!(session["tenant_name"], *org_name);
        assert_eq!(session["instance_id"], instance.id);
        assert_eq!(session["instance_label"], instance.label);
        assert_eq!(session["issuer"], app.issuer(instance.org));
        assert_eq!(session["sub"], people[0].sub);
    }
    // Each exchange used that instance's own credentials: one token call per instance.
    for (org, first, second) in SIBLINGS {
        assert_eq!(
            app.simulator.stats(org).await.token,
            2,
            "{first} and {second}"
        );
    }
}

#[tokio::test]
async fn a_code_issued_to_one_instance_is_refused_in_its_siblings_flow_on_the_same_issuer() {
    let app = spawn_thirteen().await;
    for (org, first, second) in SIBLINGS {
        let browser = app.browser();
        let first_callback = browser
            .follow_until_callback(browser.start(first).await)
            .await;
        let code = query_param(&first_callback, "code").expect("no code");
        let second_callback = browser
            .follow_until_callback(browser.start(second).await)
            .await;
        assert_eq!(
            query_param(&first_callback, "iss"),
            query_param(&second_callback, "iss"),
            "{org}'s instances share one issuer"
        );

        let injected = browser
            .get(with_query_param(&second_callback, "code", &code))
            .await;

        assert_refused_and_signed_out(
            &browser,
            &injected,
            StatusCode::BAD_REQUEST,
            reason::UNUSABLE_ANSWER,
        )
        .await;
    }
}

#[tokio::test]
async fn an_id_token_issued_to_one_instance_is_refused_in_its_siblings_flow() {
    let app = spawn_thirteen().await;
    for (org, first, second) in SIBLINGS {
        let first_client = INSTANCES.iter().find(|i| i.id == first).unwrap().client_id;
        // The org's issuer answers the sibling's exchange with a token minted for `first`.
        app.simulator
            .tamper(
                org,
                json!({ "claims": { "aud": first_client, "azp": first_client } }),
            )
            .await;
        let browser = app.browser();

        let outcome = browser.sign_in(second, None, None).await;

        assert_refused_and_signed_out(
            &browser,
            outcome.callback(),
            StatusCode::BAD_REQUEST,
            reason::BAD_ID_TOKEN,
        )
        .await;
    }
}
