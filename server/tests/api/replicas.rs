//! Two servers on one database (on PostgreSQL two replicas; on SQLite the same as the
//! operator's CLI beside the server): each answers session checks from its own memory, yet
//! every way a session ends is seen at once by the server that ends it and within a second
//! by the other.

use std::time::Duration;

use app::backend::audit::Actor;
use app::backend::registry::{self, TenantChanges, TenantStatus};
use app::backend::sessions::invalidation::FRESHNESS;
use app::domain::{InstanceId, TenantSlug};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::storage::postgres_pass;
use crate::helpers::{
    ACME_OKTA, ADA, Browser, GLOBEX_ENG, GLOBEX_OPS, INSTANCES, Replica, SESSION_COOKIE, TestApp,
    session_status_with, spawn_app, within_feed_delay,
};

const OK: StatusCode = StatusCode::OK;
const GONE: StatusCode = StatusCode::UNAUTHORIZED;

/// A browser signed in through `instance` on the first server, whose session both servers
/// have checked (so both hold it in memory).
async fn signed_in_on_both(app: &TestApp, replica: &Replica, instance: &str) -> (Browser, String) {
    let browser = app.browser();
    browser.sign_in_ok(instance).await;
    let token = browser.cookie(SESSION_COOKIE).expect("no session cookie");
    assert_eq!(browser.session().await.0, OK, "on the server signed in on");
    assert_eq!(
        browser.on(&replica.base_url).session().await.0,
        OK,
        "on the replica"
    );
    (browser, token)
}

async fn refused_on_both_soon(app: &TestApp, replica: &Replica, token: &str, what: &str) {
    for base in [&app.base_url, &replica.base_url] {
        within_feed_delay(&format!("{what} on {base}"), async || {
            session_status_with(base, token).await == GONE
        })
        .await;
    }
}

#[tokio::test]
async fn a_session_signed_in_on_one_server_is_live_on_the_other_with_the_same_user() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (browser, _) = signed_in_on_both(&app, &replica, ACME_OKTA).await;

    let here = browser.session().await.1;
    let there = browser.on(&replica.base_url).session().await.1;
    assert_eq!(here, there);
    assert_eq!(there["sub"], ADA.sub);
}

#[tokio::test]
async fn signing_out_is_refused_at_once_where_it_happened_and_within_a_second_on_the_other() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (browser, token) = signed_in_on_both(&app, &replica, ACME_OKTA).await;

    browser.logout().await;

    assert_eq!(session_status_with(&app.base_url, &token).await, GONE);
    let took = within_feed_delay("the sign-out on the replica", async || {
        session_status_with(&replica.base_url, &token).await == GONE
    })
    .await;
    println!("the replica refused the signed-out session after {took:?}");
}

#[tokio::test]
async fn a_universal_logout_received_by_one_server_ends_the_session_on_both() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (_, token) = signed_in_on_both(&app, &replica, ACME_OKTA).await;
    let client_id = INSTANCES
        .iter()
        .find(|i| i.id == ACME_OKTA)
        .unwrap()
        .client_id;

    let answer = app
        .simulator
        .universal_logout(
            "acme",
            json!({
                "client_id": client_id,
                "url": format!("{}/sso/{ACME_OKTA}/global-token-revocation", app.public_origin),
                "sub_id": { "format": "email", "email": ADA.email },
            }),
        )
        .await;
    assert_eq!(answer["status"], 204, "{answer}");

    assert_eq!(session_status_with(&app.base_url, &token).await, GONE);
    refused_on_both_soon(&app, &replica, &token, "the Universal Logout").await;
}

#[tokio::test]
async fn signing_in_again_ends_the_browsers_previous_session_on_both() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (browser, previous) = signed_in_on_both(&app, &replica, ACME_OKTA).await;

    browser.sign_in_ok(ACME_OKTA).await;

    assert_eq!(session_status_with(&app.base_url, &previous).await, GONE);
    refused_on_both_soon(&app, &replica, &previous, "the replaced session").await;
    assert_eq!(browser.on(&replica.base_url).session().await.0, OK);
}

#[tokio::test]
async fn disabling_or_removing_an_instance_and_suspending_an_org_end_exactly_their_sessions_on_both()
 {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (_, acme) = signed_in_on_both(&app, &replica, ACME_OKTA).await;
    let (_, eng) = signed_in_on_both(&app, &replica, GLOBEX_ENG).await;
    let (_, ops) = signed_in_on_both(&app, &replica, GLOBEX_OPS).await;
    let operator = Actor::Operator;

    let globex_eng = InstanceId::parse(GLOBEX_ENG).unwrap();
    registry::set_enabled(&app.db, &globex_eng, false, &operator)
        .await
        .unwrap();
    refused_on_both_soon(&app, &replica, &eng, "disabling globex-eng").await;

    let suspend = TenantChanges {
        status: Some(TenantStatus::Suspended),
        ..TenantChanges::default()
    };
    let acme_org = TenantSlug::parse("acme").unwrap();
    registry::update_tenant(&app.db, &acme_org, suspend, &operator)
        .await
        .unwrap();
    refused_on_both_soon(&app, &replica, &acme, "suspending acme").await;

    // Untouched so far: the session of globex-ops.
    assert_eq!(session_status_with(&app.base_url, &ops).await, OK);
    assert_eq!(session_status_with(&replica.base_url, &ops).await, OK);

    let globex_ops = InstanceId::parse(GLOBEX_OPS).unwrap();
    registry::remove_instance(&app.db, &globex_ops, &operator)
        .await
        .unwrap();
    refused_on_both_soon(&app, &replica, &ops, "removing globex-ops").await;
}

#[tokio::test]
async fn an_org_renamed_by_the_operator_shows_its_new_name_on_both() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (browser, _) = signed_in_on_both(&app, &replica, ACME_OKTA).await;
    let rename = TenantChanges {
        display_name: Some("Acme Worldwide".to_owned()),
        ..TenantChanges::default()
    };

    registry::update_tenant(
        &app.db,
        &TenantSlug::parse("acme").unwrap(),
        rename,
        &Actor::Operator,
    )
    .await
    .unwrap();

    for server in [&app.base_url, &replica.base_url] {
        let browser = browser.on(server);
        within_feed_delay(&format!("the new name on {server}"), async || {
            browser.session().await.1["tenant_name"] == "Acme Worldwide"
        })
        .await;
    }
}

#[tokio::test]
async fn a_session_kept_busy_on_one_server_is_not_idle_on_the_other() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (_, token) = signed_in_on_both(&app, &replica, ACME_OKTA).await;
    let advance_both = |secs| {
        app.clock.advance(Duration::from_secs(secs));
        replica.clock.advance(Duration::from_secs(secs));
    };

    // The harness's idle timeout is 1800 s: used at 1000 s on the first server only, the
    // session was last seen on the replica 2000 s ago at 2000 s.
    advance_both(1000);
    assert_eq!(session_status_with(&app.base_url, &token).await, OK);
    advance_both(1000);
    assert_eq!(session_status_with(&replica.base_url, &token).await, OK);

    // Then unused anywhere for longer than the idle timeout.
    advance_both(1801);
    assert_eq!(session_status_with(&app.base_url, &token).await, GONE);
    assert_eq!(session_status_with(&replica.base_url, &token).await, GONE);
}

#[tokio::test]
async fn a_busy_session_ends_at_its_absolute_lifetime_on_both() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let (_, token) = signed_in_on_both(&app, &replica, ACME_OKTA).await;

    // The harness's absolute lifetime is 3600 s; used every 1000 s on both.
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(1000));
        replica.clock.advance(Duration::from_secs(1000));
        assert_eq!(session_status_with(&app.base_url, &token).await, OK);
        assert_eq!(session_status_with(&replica.base_url, &token).await, OK);
    }
    app.clock.advance(Duration::from_secs(600));
    replica.clock.advance(Duration::from_secs(600));
    assert_eq!(session_status_with(&app.base_url, &token).await, GONE);
    assert_eq!(session_status_with(&replica.base_url, &token).await, GONE);
}

#[tokio::test]
async fn when_the_postgresql_invalidation_channel_drops_sessions_are_checked_against_the_database()
{
    if !postgres_pass() {
        return; // SQLite has no channel: the server polls the file.
    }
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_in_ok(ACME_OKTA).await;
    let token = browser.cookie(SESSION_COOKIE).expect("no session cookie");
    assert_eq!(session_status_with(&app.base_url, &token).await, OK);

    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(terminated, [true], "the server's one listener connection");
    // Behind the feed's back: what a change that no notification announced would look like.
    sqlx::query("DELETE FROM sessions")
        .execute(&app.db)
        .await
        .unwrap();

    within_feed_delay(
        "the session deleted while the channel was down",
        async || session_status_with(&app.base_url, &token).await == GONE,
    )
    .await;
    // And once the channel is back (it reconnects within a few heartbeats), the memory of
    // the time before does not return.
    let watched = std::time::Instant::now();
    while watched.elapsed() < FRESHNESS {
        assert_eq!(session_status_with(&app.base_url, &token).await, GONE);
    }
}

#[tokio::test]
async fn an_admins_end_sessions_on_one_server_ends_that_persons_session_on_both() {
    use app::api::{EndPersonSessions, ListPeople};
    use leptos::server_fn::ServerFn;

    use crate::helpers::GRACE;
    use crate::tenant_admins::{acme_admin, call};

    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let ada = acme_admin(&app).await;
    let grace = app.browser();
    grace.sign_in(ACME_OKTA, None, Some(GRACE.email)).await;
    let token = grace.cookie(SESSION_COOKIE).expect("no session cookie");
    assert_eq!(grace.on(&replica.base_url).session().await.0, OK);
    let (_, people) = call(
        &ada,
        ListPeople::PATH,
        &[("search", GRACE.email), ("page", "0")],
    )
    .await;
    let grace_id = people["people"][0]["user_id"].as_i64().unwrap().to_string();

    let (status, _) = call(&ada, EndPersonSessions::PATH, &[("user_id", &grace_id)]).await;

    assert_eq!(status, OK);
    assert_eq!(session_status_with(&app.base_url, &token).await, GONE);
    refused_on_both_soon(&app, &replica, &token, "the admin's End sessions").await;
    assert_eq!(ada.session().await.0, OK, "the admin was signed out");
}

#[tokio::test]
async fn a_universal_logout_token_used_on_one_server_is_refused_as_a_replay_on_the_other() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    signed_in_on_both(&app, &replica, ACME_OKTA).await;
    let client_id = INSTANCES
        .iter()
        .find(|i| i.id == ACME_OKTA)
        .unwrap()
        .client_id;
    let path = format!("/sso/{ACME_OKTA}/global-token-revocation");
    let body = json!({ "sub_id": { "format": "email", "email": ADA.email } });
    let first = app
        .simulator
        .universal_logout(
            "acme",
            json!({
                "client_id": client_id,
                "url": format!("{}{path}", app.public_origin),
                "sub_id": body["sub_id"],
            }),
        )
        .await;
    assert_eq!(first["status"], 204, "{first}");
    let token = first["token"].as_str().expect("the token sent");

    let replayed = reqwest::Client::new()
        .post(replica.base_url.join(&path).unwrap())
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replayed.text().await.unwrap().contains("invalid_token"),
        "not refused as a replay"
    );
}
