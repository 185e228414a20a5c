//! Key rotation under load, against the real simulator: the whole crowd that arrives right after
//! a rotation costs the IdP one key fetch. (The simulator, one node process signing every
//! token, answers 300 simultaneous sign-ins slower than the app's 5 s IdP timeout on a 2-core
//! machine, so the crowd here is 100; `keys.rs` checks 1,000 concurrent lookups of a new kid
//! against a real key endpoint.)

use tokio::task::JoinSet;

use crate::helpers::{ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS, spawn_app};

const CROWD: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_concurrent_sign_ins_right_after_a_rotation_fetches_the_keys_once_per_issuer() {
    let app = spawn_app().await;
    for instance in [ACME_OKTA, GLOBEX_ENG] {
        app.browser().sign_in_ok(instance).await;
    }
    for org in ["acme", "globex"] {
        app.simulator.rotate_keys(org, true, true).await;
        app.simulator.reset_stats(org).await;
    }

    // Every sign-in's callback arrives with a token signed by a key the app has never seen.
    let instances = [ACME_OKTA, GLOBEX_ENG, GLOBEX_OPS];
    let mut crowd = JoinSet::new();
    for i in 0..CROWD {
        let browser = app.browser();
        let instance = instances[i % instances.len()];
        crowd.spawn(async move { browser.sign_in_ok(instance).await });
    }
    let mut succeeded = 0;
    while let Some(outcome) = crowd.join_next().await {
        // sign_in_ok panics on any refusal; the panic surfaces here with its message.
        if let Err(failure) = outcome {
            std::panic::resume_unwind(failure.into_panic());
        }
        succeeded += 1;
    }

    assert_eq!(succeeded, CROWD);
    for org in ["acme", "globex"] {
        let stats = app.simulator.stats(org).await;
        assert_eq!(stats.keys, 1, "{org}: {stats:?}");
    }
}
