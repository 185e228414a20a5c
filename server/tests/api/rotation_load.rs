//! Key rotation under load, against the real simulator: a thousand sign-ins whose callbacks all
//! arrive at once, right after every org rotated its signing key, cost each IdP one key fetch.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::helpers::{
    ACME_OKTA, AppConfig, GLOBEX_ENG, GLOBEX_OPS, SESSION_COOKIE, spawn_app_with,
};

const CROWD: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_sign_ins_right_after_a_rotation_fetch_the_keys_once_per_issuer() {
    let app = spawn_app_with(AppConfig {
        // One node process signs every token of the crowd: slower than Okta, so more time.
        idp_timeout_secs: 60,
        // The codes are gathered first and redeemed together, so they must outlive the gathering.
        code_ttl_secs: 600,
        ..AppConfig::default()
    })
    .await;
    for instance in [ACME_OKTA, GLOBEX_ENG] {
        app.browser().sign_in_ok(instance).await;
    }

    // Every browser goes through the IdP up to the callback, which it does not open yet.
    let instances = [ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS];
    let gate = Arc::new(Semaphore::new(16));
    let mut gathering = JoinSet::new();
    for i in 0..CROWD {
        let browser = app.browser();
        let instance = instances[i % instances.len()];
        let gate = Arc::clone(&gate);
        gathering.spawn(async move {
            let _turn = gate.acquire_owned().await.unwrap();
            let callback = browser
                .follow_until_callback(browser.start(instance).await)
                .await;
            (browser, callback)
        });
    }
    let mut ready = Vec::with_capacity(CROWD);
    while let Some(gathered) = gathering.join_next().await {
        ready.push(
            gathered.unwrap_or_else(|failure| std::panic::resume_unwind(failure.into_panic())),
        );
    }
    // Each org replaces its key and retires the old one: every token the crowd gets is signed
    // with a key the app has never seen.
    for org in ["acme", "globex"] {
        app.simulator.rotate_keys(org, true, true).await;
        app.simulator.reset_stats(org).await;
    }

    let mut crowd = JoinSet::new();
    for (browser, callback) in ready {
        crowd.spawn(async move { browser.follow(callback).await });
    }
    let mut signed_in = 0;
    while let Some(outcome) = crowd.join_next().await {
        let outcome =
            outcome.unwrap_or_else(|failure| std::panic::resume_unwind(failure.into_panic()));
        let callback = outcome.callback();
        assert_eq!(callback.status, StatusCode::SEE_OTHER, "{callback:#?}");
        assert!(callback.set_cookie(SESSION_COOKIE).is_some());
        signed_in += 1;
    }

    assert_eq!(signed_in, CROWD);
    for org in ["acme", "globex"] {
        let stats = app.simulator.stats(org).await;
        assert_eq!(stats.keys, 1, "{org}: {stats:?}");
    }
}
