//! Tenant admins and the settings page's server functions: who may call them (401 signed out,
//! 403 not an admin, 404 for another org's things, refused from another site), admins by
//! invitation and by pick, the last admin, and what the settings page shows.

use app::api::{
    AddAdmin, AddAdminByEmail, AddDomain, AddOrgInstance, AdminCandidates, AuditLog,
    CheckOktaDomain, EndPersonSessions, FinishRotation, InstanceRemoval, ListAdmins, ListPeople,
    OrgDomains, OrgSettings, RemoveAdmin, RemoveDomain, RemoveOrgInstance, RevokeAdminInvitation,
    SetInstanceEnabled, SetSignInRule, StageNextSecret, TestConnection, UpdateInstanceSettings,
    VerifyDomain,
};
use app::backend::admins::{self, Added};
use app::backend::audit::Actor;
use app::domain::{EmailAddress, TenantSlug};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ACME_OKTA, ADA, Browser, GLOBEX_ENG, GRACE, HANK, TestApp, spawn_app};

/// A browser signed in as `email` through `instance`.
pub async fn signed_in_as(app: &TestApp, instance: &str, email: &str) -> Browser {
    let browser = app.browser();
    let outcome = browser.sign_in(instance, None, Some(email)).await;
    assert_eq!(
        outcome.callback().status,
        StatusCode::SEE_OTHER,
        "sign-in of {email} failed: {:#?}",
        outcome.callback()
    );
    browser
}

/// The operator makes `email`, who signed in through `org`, an admin of it.
pub async fn make_admin(app: &TestApp, org: &str, email: &str) {
    let added = admins::add_by_email(
        &app.db,
        &TenantSlug::parse(org).unwrap(),
        &EmailAddress::parse(email).unwrap(),
        &Actor::Operator,
    )
    .await
    .unwrap();
    assert!(matches!(added, Added::Now(_)), "{email} had not signed in");
}

/// A browser signed in as an admin of acme (Ada), for the fixture's acme.
pub async fn acme_admin(app: &TestApp) -> Browser {
    let browser = signed_in_as(app, ACME_OKTA, ADA.email).await;
    make_admin(app, "acme", ADA.email).await;
    browser
}

pub async fn call(browser: &Browser, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let answer = browser.post_form(path, form).await;
    let body = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (answer.status, body)
}

/// Every admin server function, with arguments that would change something if allowed.
fn every_admin_function() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (OrgSettings::PATH, vec![]),
        (ListAdmins::PATH, vec![]),
        (AdminCandidates::PATH, vec![("search", "")]),
        (AddAdmin::PATH, vec![("user_id", "1")]),
        (
            AddAdminByEmail::PATH,
            vec![("email", "mallory@acme.example")],
        ),
        (RemoveAdmin::PATH, vec![("user_id", "1")]),
        (
            RevokeAdminInvitation::PATH,
            vec![("email", "ada@acme.example")],
        ),
        (AuditLog::PATH, vec![("page", "0")]),
        (OrgDomains::PATH, vec![]),
        (AddDomain::PATH, vec![("domain", "acme.example")]),
        (VerifyDomain::PATH, vec![("domain", "acme.example")]),
        (RemoveDomain::PATH, vec![("domain", "acme.example")]),
        (SetSignInRule::PATH, vec![("rule", "Anyone")]),
        (ListPeople::PATH, vec![("search", ""), ("page", "0")]),
        (EndPersonSessions::PATH, vec![("user_id", "1")]),
        (
            UpdateInstanceSettings::PATH,
            vec![
                ("id", ACME_OKTA),
                ("label", "Renamed"),
                ("token_auth_method", "client_secret_post"),
                ("redirect_uris", ""),
                ("sign_out_uri", ""),
            ],
        ),
        (
            SetInstanceEnabled::PATH,
            vec![("id", ACME_OKTA), ("enabled", "false")],
        ),
        (InstanceRemoval::PATH, vec![("id", ACME_OKTA)]),
        (RemoveOrgInstance::PATH, vec![("id", ACME_OKTA)]),
        (
            StageNextSecret::PATH,
            vec![("id", ACME_OKTA), ("secret", "a-next-secret-0123456789")],
        ),
        (
            FinishRotation::PATH,
            vec![("id", ACME_OKTA), ("promote", "false")],
        ),
        (TestConnection::PATH, vec![("id", ACME_OKTA)]),
        (
            CheckOktaDomain::PATH,
            vec![("okta_domain", "acme.okta.com")],
        ),
        (
            AddOrgInstance::PATH,
            vec![
                ("label", "Rogue"),
                ("okta_domain", "acme.okta.com"),
                ("client_id", "0oa1rogue"),
                ("client_secret", "a-rogue-secret-0123456789"),
            ],
        ),
    ]
}

/// The user id of the person with `email`, from the admin's view of the people of their org.
async fn user_id_of(admin: &Browser, email: &str) -> i64 {
    let (status, people) = call(admin, AdminCandidates::PATH, &[("search", email)]).await;
    assert_eq!(status, StatusCode::OK, "{people}");
    people
        .as_array()
        .and_then(|people| people.iter().find(|p| p["email"] == email))
        .and_then(|person| person["user_id"].as_i64())
        .unwrap_or_else(|| panic!("{email} is not among the candidates: {people}"))
}

async fn admin_emails(admin: &Browser) -> Vec<String> {
    let (status, list) = call(admin, ListAdmins::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|admin| admin["person"]["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_admin_function_answers_401_to_a_browser_that_is_not_signed_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (path, form) in every_admin_function() {
        let (status, body) = call(&browser, path, &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
}

#[tokio::test]
async fn every_admin_function_answers_403_to_someone_signed_in_who_is_not_an_admin() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let grace = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    for (path, form) in every_admin_function() {
        let (status, body) = call(&grace, path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(
            body,
            json!({ "Forbidden": "only an admin of your organization can do this" })
        );
    }
    assert_eq!(admin_emails(&ada).await, [ADA.email]);
    let (_, settings) = call(&ada, OrgSettings::PATH, &[]).await;
    assert_eq!(
        settings["instances"][0]["label"], "Okta",
        "a refused call changed the instance"
    );
}

#[tokio::test]
async fn every_admin_function_refuses_a_request_from_another_site_even_for_an_admin() {
    let app = spawn_app().await;
    let admin = acme_admin(&app).await;
    for (path, form) in every_admin_function() {
        let answer = admin
            .post_form_with(
                path,
                &form,
                &[
                    ("origin", "https://evil.example"),
                    ("sec-fetch-site", "cross-site"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert!(answer.body.contains("came from another site"), "{path}");
    }
    let (_, list) = call(&admin, ListAdmins::PATH, &[]).await;
    assert_eq!(
        list["invitations"],
        json!([]),
        "a cross-site call invited someone"
    );
}

#[tokio::test]
async fn an_admin_of_another_org_finds_this_orgs_people_missing() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let grace_id = {
        signed_in_as(&app, ACME_OKTA, GRACE.email).await;
        user_id_of(&ada, GRACE.email).await
    };
    let ada_id = user_id_of_admin(&ada, ADA.email).await;
    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;
    make_admin(&app, "globex", HANK.email).await;

    for (path, form) in [
        (AddAdmin::PATH, [("user_id", grace_id.to_string())]),
        (RemoveAdmin::PATH, [("user_id", ada_id.to_string())]),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = call(&hank, path, &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, settings) = call(&hank, OrgSettings::PATH, &[]).await;
    assert_eq!(settings["tenant"], "globex");
    let ids: Vec<&str> = settings["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["globex-eng", "globex-ops"]);
    let (_, candidates) = call(&hank, AdminCandidates::PATH, &[("search", "")]).await;
    assert_eq!(candidates, json!([]), "acme's people are visible to globex");
    let (_, events) = call(
        &hank,
        AuditLog::PATH,
        &[("instance", ACME_OKTA), ("page", "0")],
    )
    .await;
    assert_eq!(
        events["events"],
        json!([]),
        "acme's events are visible to globex"
    );
    assert_eq!(
        admin_emails(&ada).await,
        [ADA.email],
        "acme's admins changed"
    );
}

async fn user_id_of_admin(admin: &Browser, email: &str) -> i64 {
    let (_, list) = call(admin, ListAdmins::PATH, &[]).await;
    list["admins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["person"]["email"] == email)
        .and_then(|a| a["person"]["user_id"].as_i64())
        .unwrap_or_else(|| panic!("{email} is not an admin: {list}"))
}

#[tokio::test]
async fn an_invitation_by_email_makes_that_person_an_admin_at_their_next_sign_in() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let (status, answer) = call(
        &ada,
        AddAdminByEmail::PATH,
        &[("email", " Grace@Acme.example ")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["Invited"]["email"], GRACE.email);
    assert_eq!(
        answer["Invited"]["invited_by"],
        format!("admin:{}", ADA.email)
    );

    let grace = signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let (status, list) = call(&grace, ListAdmins::PATH, &[]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["invitations"], json!([]));
    assert_eq!(admin_emails(&grace).await, [ADA.email, GRACE.email]);
}

#[tokio::test]
async fn an_invitation_is_not_honoured_for_a_sign_in_through_another_orgs_instance_with_that_email()
{
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    // Globex's Okta vouches for hank@globex.example; acme invites that same address.
    let (status, _) = call(&ada, AddAdminByEmail::PATH, &[("email", HANK.email)]).await;
    assert_eq!(status, StatusCode::OK);

    let hank = signed_in_as(&app, GLOBEX_ENG, HANK.email).await;

    let (status, _) = call(&hank, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "hank became an admin");
    let (_, list) = call(&ada, ListAdmins::PATH, &[]).await;
    assert_eq!(
        list["invitations"][0]["email"], HANK.email,
        "the invitation was consumed"
    );
    assert_eq!(admin_emails(&ada).await, [ADA.email]);
}

#[tokio::test]
async fn adding_by_email_someone_who_has_signed_in_makes_them_an_admin_at_once() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let grace = signed_in_as(&app, ACME_OKTA, GRACE.email).await;

    let (status, answer) = call(&ada, AddAdminByEmail::PATH, &[("email", GRACE.email)]).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["Now"]["person"]["email"], GRACE.email);
    let (status, _) = call(&grace, OrgSettings::PATH, &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the next request sees the new admin"
    );
    let (status, answer) = call(&ada, AddAdminByEmail::PATH, &[("email", GRACE.email)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[tokio::test]
async fn an_admin_picks_an_admin_among_the_people_who_signed_in() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    let grace_id = user_id_of(&ada, GRACE.email).await;

    let (status, answer) = call(&ada, AddAdmin::PATH, &[("user_id", &grace_id.to_string())]).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(admin_emails(&ada).await, [ADA.email, GRACE.email]);
    let (_, candidates) = call(&ada, AdminCandidates::PATH, &[("search", "")]).await;
    assert_eq!(candidates, json!([]), "admins are not candidates");
}

#[tokio::test]
async fn the_last_admin_cannot_remove_themselves_but_can_once_there_is_another() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let ada_id = user_id_of_admin(&ada, ADA.email).await;

    let (status, answer) = call(&ada, RemoveAdmin::PATH, &[("user_id", &ada_id.to_string())]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["Conflict"]
            .as_str()
            .unwrap()
            .contains("at least one admin")
    );

    signed_in_as(&app, ACME_OKTA, GRACE.email).await;
    make_admin(&app, "acme", GRACE.email).await;
    let (status, answer) = call(&ada, RemoveAdmin::PATH, &[("user_id", &ada_id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _) = call(&ada, ListAdmins::PATH, &[]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the removal takes effect at the next request"
    );
}

#[tokio::test]
async fn a_withdrawn_invitation_is_not_honoured() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    call(&ada, AddAdminByEmail::PATH, &[("email", GRACE.email)]).await;

    let (status, _) = call(&ada, RevokeAdminInvitation::PATH, &[("email", GRACE.email)]).await;
    assert_eq!(status, StatusCode::OK);
    let grace = signed_in_as(&app, ACME_OKTA, GRACE.email).await;

    let (status, _) = call(&grace, OrgSettings::PATH, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&ada, RevokeAdminInvitation::PATH, &[("email", GRACE.email)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_malformed_email_is_a_400_that_says_what_to_type() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let (status, answer) = call(&ada, AddAdminByEmail::PATH, &[("email", "grace")]).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer,
        json!({ "Invalid": "'grace' is not an email address such as 'ada@acme.com'" })
    );
}

#[tokio::test]
async fn the_settings_overview_shows_each_instance_with_what_to_paste_into_okta_and_no_secret() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let answer = ada.post_form(OrgSettings::PATH, &[]).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let settings: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(settings["tenant_name"], "Acme Corporation");
    let instance = &settings["instances"][0];
    assert_eq!(instance["id"], ACME_OKTA);
    assert_eq!(instance["client_id"], "0oa1acmeokta");
    assert_eq!(instance["enabled"], true);
    let secret = &app.secrets[ACME_OKTA];
    assert_eq!(
        instance["secret_hint"],
        format!("set, ends in …{}", &secret[secret.len() - 4..])
    );
    assert_eq!(instance["working_secret"], "current");
    assert!(instance["last_sign_in_at"].as_i64().is_some());
    let origin = &app.public_origin;
    assert_eq!(
        instance["urls"],
        json!({
            "sign_in_redirect_uri": format!("{origin}/sso/acme-okta/callback"),
            "initiate_login_uri": format!("{origin}/sso/acme-okta/initiate"),
            "sign_out_redirect_uri": format!("{origin}/signed-out"),
            "global_token_revocation_uri":
                format!("{origin}/sso/acme-okta/global-token-revocation"),
        })
    );
    for secret in app.all_secrets() {
        assert!(!answer.body.contains(secret), "a client secret was sent");
    }
}

#[tokio::test]
async fn the_audit_log_shows_sign_ins_their_failures_with_the_reason_and_admin_changes() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    app.simulator
        .tamper("acme", json!({ "claims": { "aud": "someone-else" } }))
        .await;
    let failed = app
        .browser()
        .sign_in(ACME_OKTA, None, Some(GRACE.email))
        .await;
    assert_eq!(failed.callback().status, StatusCode::BAD_REQUEST);

    let (status, log) = call(&ada, AuditLog::PATH, &[("page", "0")]).await;

    assert_eq!(status, StatusCode::OK, "{log}");
    let events: Vec<(String, String, bool)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["succeeded"].as_bool().unwrap(),
            )
        })
        .collect();
    let newest_first = [
        ("sign_in", "okta", false),
        ("admin.add", "operator", true),
        ("sign_in", "user:ada@acme.example", true),
    ];
    let newest_first: Vec<(String, String, bool)> = newest_first
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), *c))
        .collect();
    assert_eq!(events[..3], newest_first[..], "{log}");
    assert_eq!(
        log["events"][0]["detail"],
        "invalid ID token: claim check failed: aud does not name this client"
    );
    assert_eq!(log["events"][0]["instance"], ACME_OKTA);

    let (_, failures) = call(
        &ada,
        AuditLog::PATH,
        &[("succeeded", "false"), ("page", "0")],
    )
    .await;
    assert_eq!(
        failures["events"].as_array().unwrap().len(),
        1,
        "{failures}"
    );
    let (_, settings) = call(&ada, OrgSettings::PATH, &[]).await;
    assert_eq!(
        settings["instances"][0]["last_failure"]["reason"],
        "invalid ID token: claim check failed: aud does not name this client"
    );
}

#[tokio::test]
async fn the_audit_log_pages_fifty_events_at_a_time_newest_first() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;
    let acme = TenantSlug::parse("acme").unwrap();
    for n in 0..60 {
        let email = EmailAddress::parse(&format!("person{n:02}@acme.example")).unwrap();
        admins::add_by_email(&app.db, &acme, &email, &Actor::Operator)
            .await
            .unwrap();
    }

    let (_, first) = call(&ada, AuditLog::PATH, &[("page", "0")]).await;
    let (_, second) = call(&ada, AuditLog::PATH, &[("page", "1")]).await;

    assert_eq!(first["events"].as_array().unwrap().len(), 50);
    assert_eq!(first["more"], true);
    assert_eq!(
        first["events"][0]["detail"],
        "invited person59@acme.example"
    );
    // 60 invitations, the admin's sign-in and addition, the org's and its instance's creation.
    assert_eq!(second["events"].as_array().unwrap().len(), 14);
    assert_eq!(second["more"], false);
    let ids: Vec<i64> = [&first, &second]
        .iter()
        .flat_map(|page| page["events"].as_array().unwrap().clone())
        .map(|event| event["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] > pair[1]),
        "not newest first: {ids:?}"
    );
}

#[tokio::test]
async fn an_audit_period_that_ends_before_it_starts_is_a_400() {
    let app = spawn_app().await;
    let ada = acme_admin(&app).await;

    let (status, answer) = call(
        &ada,
        AuditLog::PATH,
        &[("from", "200"), ("until", "100"), ("page", "0")],
    )
    .await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}
