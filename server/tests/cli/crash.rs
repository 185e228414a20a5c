//! `kill -9` of `orgpass serve` while people are signing in: after a restart on the same
//! storage (SQLite, or PostgreSQL in that pass) every org, instance, sealed secret, admin and
//! audit event written before the kill is there, SQLite's integrity check passes, sessions
//! opened before the kill still work, and new sign-ins succeed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use app::backend::db::{self, Location};
use serde_json::json;

use crate::common::simulator::Simulator;
use crate::support::{Cli, SIMULATOR_SERVE_ENV, Server, acme_on_the_simulator, secret, serve_acme};

const CLIENT_ID: &str = "0oa1crashtest";

/// A browser (a cookie jar that follows every redirect) signed in through the simulator.
async fn sign_in(base_url: &str) -> Result<reqwest::Client, String> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let landed = browser
        .get(format!("{base_url}/sso/acme-okta/login"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match (landed.status(), landed.url().path()) {
        (reqwest::StatusCode::OK, "/") => Ok(browser),
        (status, path) => Err(format!("ended at {path} with {status}")),
    }
}

async fn session_email(browser: &reqwest::Client, base_url: &str) -> Option<String> {
    let answer = browser
        .get(format!("{base_url}/api/session"))
        .send()
        .await
        .ok()?;
    let session: serde_json::Value = answer.json().await.ok()?;
    session["email"].as_str().map(str::to_owned)
}

async fn started(cli: &Cli, simulator: &Simulator) -> Server {
    serve_acme(cli, simulator, CLIENT_ID, &SIMULATOR_SERVE_ENV).await
}

async fn count(cli: &Cli, query: &str) -> i64 {
    let location = cli.storage.args().location().expect("a valid location");
    let db = db::open(&location).await.expect("the database opens");
    let counted = sqlx::query_scalar(query)
        .fetch_one(&db)
        .await
        .expect("the count");
    db.close().await;
    counted
}

#[tokio::test]
async fn after_a_kill_9_under_sign_in_load_nothing_written_is_lost_and_sessions_still_work() {
    let cli = Cli::new().await;
    let client_secret = secret("KILL");
    let simulator = acme_on_the_simulator(&cli, CLIENT_ID, &client_secret).await;
    let server = started(&cli, &simulator).await;
    let ada = sign_in(&server.base_url).await.expect("the first sign-in");
    cli.ok(&["admin", "add", "acme", "--email", "ada@acme.example"]);

    // Four browsers signing in over and over; the server is killed in the middle of it.
    let completed = Arc::new(AtomicU32::new(0));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let base_url = server.base_url.clone();
            let completed = Arc::clone(&completed);
            tokio::spawn(async move {
                loop {
                    if sign_in(&base_url).await.is_ok() {
                        completed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while completed.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    let signed_in_before_the_kill = i64::from(completed.load(Ordering::SeqCst));
    for task in load {
        task.abort();
    }

    let restarted = started(&cli, &simulator).await;

    assert_eq!(
        session_email(&ada, &restarted.base_url).await.as_deref(),
        Some("ada@acme.example"),
        "a session opened before the kill"
    );
    let tenant = cli.json(&["tenant", "show", "acme", "--json"]);
    assert_eq!(tenant["tenant"]["domains"], json!(["acme.example"]));
    let instance = cli.show("acme-okta");
    assert!(
        instance["client_secret"]
            .as_str()
            .unwrap()
            .ends_with("KILL"),
        "the sealed secret: {instance}"
    );
    let admins = cli.json(&["admin", "list", "acme", "--json"]);
    assert_eq!(admins["admins"][0]["email"], "ada@acme.example");
    let audited = count(
        &cli,
        "SELECT count(*) FROM audit_events WHERE action = 'sign_in' AND outcome = 'success'",
    )
    .await;
    assert!(
        audited > signed_in_before_the_kill,
        "{audited} sign-ins audited, {signed_in_before_the_kill} completed before the kill"
    );
    if let Location::Sqlite(_) = cli.storage.args().location().unwrap() {
        let location = cli.storage.args().location().unwrap();
        let db = db::open(&location).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        assert_eq!(check, "ok");
    }
    let again = sign_in(&restarted.base_url)
        .await
        .expect("a sign-in after the restart");
    assert_eq!(
        session_email(&again, &restarted.base_url).await.as_deref(),
        Some("ada@acme.example")
    );
}
