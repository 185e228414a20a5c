//! The People tab: everyone who signed in through the org's instances, and "End sessions",
//! which ends one person's live browser sessions at the next request.

use app::api::{AuditLog, EndPersonSessions, ListPeople};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ACME_OKTA, ADA, Browser, GLOBEX_ENG, GRACE, HANK, spawn_app};
use crate::tenant_admins::{acme_admin, call, make_admin, signed_in_as};

async fn people(admin: &Browser, search: &str) -> Vec<Value> {
    let (status, page) = call(
        admin,
        ListPeople::PATH,
        &[("search", search), ("page", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["more"], false);
    page["people"].as_array().unwrap().clone()
}

fn person<'a>(people: &'a [Value], email: &str) -> &'a Value {
    people
        .iter()
        .find(|person| person["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not listed: {people:?}"))
}

#[tokio::test]
async fn the_people_of_the_org_are_listed_with_their_instance_sign_ins_sessions_and_admins() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let _grace_laptop = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let _grace_phone = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    signed_in_as(&app, GLOBEX_ENG, HANK.email).await;

    let listed = people(&ada, "").await;

    assert_eq!(listed.len(), 2, "globex's people are listed: {listed:?}");
    let grace = person(&listed, GRACE.email);
    assert_eq!(grace["name"], GRACE.name);
    assert_eq!(grace["instance_label"], "Okta");
    assert_eq!(grace["live_sessions"], 2);
    assert_eq!(grace["is_admin"], false);
    assert!(grace["first_sign_in_at"].as_i64() <= grace["last_sign_in_at"].as_i64());
    assert_eq!(person(&listed, ADA.email)["is_admin"], true);
    let found = people(&ada, "GRACE@").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["email"], GRACE.email);
    assert!(people(&ada, "%").await.is_empty(), "% is a wildcard");
}

#[tokio::test]
async fn end_sessions_signs_that_person_out_of_every_browser_at_the_next_request() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let laptop = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let phone = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let grace_id = person(&people(&ada, "").await, GRACE.email)["user_id"]
        .as_i64()
        .unwrap()
        .to_string();

    let (status, ended) = call(&ada, EndPersonSessions::PATH, &[("user_id", &grace_id)]).await;

    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended, 2);
    for browser in [&laptop, &phone] {
        assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        ada.session().await.0,
        StatusCode::OK,
        "the admin was signed out"
    );
    assert_eq!(
        person(&people(&ada, "").await, GRACE.email)["live_sessions"],
        0
    );
    let (_, log) = call(&ada, AuditLog::PATH, &[("page", "0")]).await;
    let event = &log["events"][0];
    assert_eq!(event["action"], "person.end_sessions");
    assert_eq!(event["detail"], "grace@acme.example: 2 session(s) ended");
    assert_eq!(event["actor"], "admin:ada@acme.example");
}

#[tokio::test]
async fn an_admin_of_another_org_can_neither_list_nor_sign_out_this_orgs_people() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let grace = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let grace_id = person(&people(&ada, "").await, GRACE.email)["user_id"]
        .as_i64()
        .unwrap()
        .to_string();
    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;
    make_admin(&app, "globex", HANK.email).await;

    let (status, _) = call(&hank, EndPersonSessions::PATH, &[("user_id", &grace_id)]).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(grace.session().await.0, StatusCode::OK);
    let listed = people(&hank, "").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["email"], HANK.email);
}
