//! What an identity provider may send back is bounded: an endpoint that answers a gigabyte is
//! cut off after 256 KiB, an answer that is not JSON is refused, a discovery document naming an
//! endpoint off the issuer's host is refused before the browser is sent anywhere, and an issuer
//! on a host the operator does not allow is refused before anything is fetched.

use reqwest::StatusCode;
use server::config::ServeArgs;

use crate::helpers::{Browser, SESSION_COOKIE, SignInOutcome, dev_serve_args};
use crate::hostile_op::{
    Endpoint, HostileApp, HostileOp, Registration, Scenario, TestKey, VICTIM, VICTIM_TENANT,
    spawn_app_against, spawn_app_against_with,
};

const CLIENT_ID: &str = "0oa1victimclient";
const UNREACHABLE: &str = "could not be reached";

async fn provider_and_app(scenario: Scenario) -> (HostileOp, HostileApp) {
    let op = HostileOp::start(CLIENT_ID, TestKey::Rsa1).await;
    op.set_scenario(scenario);
    let app = spawn_app_against(&op).await;
    (op, app)
}

/// The page a refused sign-in ends on (the login start's, when it never left for the provider).
fn refusal(outcome: &SignInOutcome) -> &crate::helpers::Recorded {
    outcome.last()
}

async fn assert_refused(browser: &Browser, outcome: &SignInOutcome, status: StatusCode, why: &str) {
    let page = refusal(outcome);
    assert_eq!(page.status, status, "{page:#?}");
    assert!(
        page.body.contains(r#"data-testid="sign-in-error""#) && page.body.contains(why),
        "the error page does not say {why:?}: {}",
        page.body
    );
    assert!(
        outcome
            .hops
            .iter()
            .all(|hop| hop.set_cookie(SESSION_COOKIE).is_none())
    );
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_endpoint_answering_a_gigabyte_is_cut_off_early_and_the_sign_in_refused() {
    for endpoint in [
        Endpoint::Discovery,
        Endpoint::Keys,
        Endpoint::Token,
        Endpoint::Userinfo,
    ] {
        let (op, app) = provider_and_app(Scenario::HugeAnswer(endpoint)).await;
        let browser = app.browser();

        let outcome = browser.sign_in(VICTIM, None, None).await;

        assert_refused(&browser, &outcome, StatusCode::BAD_GATEWAY, UNREACHABLE).await;
        let sent = op.huge_bytes_sent();
        assert!(sent > 0, "{endpoint:?}: the huge answer was never sent");
        // The cap is 256 KiB; what the kernel buffers beyond it is a few MiB at most.
        assert!(
            sent < 32 * 1024 * 1024,
            "{endpoint:?}: the app read {sent} bytes of a 1 GiB answer"
        );
    }
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_refused() {
    for endpoint in [
        Endpoint::Discovery,
        Endpoint::Keys,
        Endpoint::Token,
        Endpoint::Userinfo,
    ] {
        let (_op, app) = provider_and_app(Scenario::NotJson(endpoint)).await;
        let browser = app.browser();

        let outcome = browser.sign_in(VICTIM, None, None).await;

        assert_refused(&browser, &outcome, StatusCode::BAD_GATEWAY, UNREACHABLE).await;
    }
}

#[tokio::test]
async fn a_discovery_document_naming_an_endpoint_off_the_issuers_host_is_refused_before_any_redirect()
 {
    for name in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        let (op, app) = provider_and_app(Scenario::EndpointElsewhere(name)).await;
        let browser = app.browser();

        let outcome = browser.sign_in(VICTIM, None, None).await;

        assert_refused(&browser, &outcome, StatusCode::BAD_GATEWAY, UNREACHABLE).await;
        let stats = op.stats();
        assert_eq!(
            (stats.authorize, stats.token, stats.keys),
            (0, 0, 0),
            "{name}: {stats:?}"
        );
    }
}

#[tokio::test]
async fn an_issuer_on_a_host_the_operator_does_not_allow_is_refused_before_anything_is_fetched() {
    let op = HostileOp::start(CLIENT_ID, TestKey::Rsa1).await;
    // Registered while loopback issuers were allowed; this server no longer allows them.
    let serve = ServeArgs {
        dev_loopback_issuers: false,
        ..dev_serve_args()
    };
    let app = spawn_app_against_with(
        &[Registration {
            op: &op,
            tenant: VICTIM_TENANT,
            instance: VICTIM,
        }],
        serve,
    )
    .await;
    let browser = app.browser();

    let outcome = browser.sign_in(VICTIM, None, None).await;

    assert_refused(
        &browser,
        &outcome,
        StatusCode::FORBIDDEN,
        "not allowed on this server",
    )
    .await;
    assert_eq!(op.stats().discovery, 0);
}

#[tokio::test]
async fn concurrent_sign_ins_for_a_failing_issuer_download_its_discovery_once() {
    let (op, app) = provider_and_app(Scenario::HugeAnswer(Endpoint::Discovery)).await;

    let starts = (0..20).map(|_| {
        let browser = app.browser();
        async move { browser.login(VICTIM, None, None).await.status }
    });
    let statuses = futures_util::future::join_all(starts).await;

    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::BAD_GATEWAY),
        "{statuses:?}"
    );
    assert_eq!(op.stats().discovery, 1, "one download for twenty sign-ins");
    op.set_scenario(Scenario::Normal);
    let again = app.browser().login(VICTIM, None, None).await;
    assert_eq!(
        again.status,
        StatusCode::BAD_GATEWAY,
        "retried within the backoff"
    );
    assert_eq!(op.stats().discovery, 1);
}
