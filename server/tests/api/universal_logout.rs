//! Okta's Universal Logout (global token revocation): the simulator plays Okta and POSTs a
//! signed request to `/sso/{instance}/global-token-revocation`. An accepted request ends every
//! session of one user in that instance and nowhere else; anything else is refused with the
//! status Okta reads.

use std::time::{SystemTime, UNIX_EPOCH};

use app::backend::audit;
use app::domain::TenantSlug;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{
    ACME_OKTA, ADA, Browser, GLOBEX_ENG, GLOBEX_OPS, GRACE, HANK, INSTANCES, TestApp, spawn_app,
};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The app's Universal Logout endpoint of `instance`, as registered at Okta.
fn endpoint(app: &TestApp, instance: &str) -> String {
    format!(
        "{}/sso/{instance}/global-token-revocation",
        app.public_origin
    )
}

fn client_id(instance: &str) -> &'static str {
    INSTANCES
        .iter()
        .find(|i| i.id == instance)
        .unwrap_or_else(|| panic!("no instance {instance} in the fixture"))
        .client_id
}

fn by_email(email: &str) -> Value {
    json!({ "format": "email", "email": email })
}

fn by_iss_sub(iss: &str, sub: &str) -> Value {
    json!({ "format": "iss_sub", "iss": iss, "sub": sub })
}

/// What Okta sends to `instance` about `sub_id`; tests add the simulator's `claims`, `header`,
/// `sign_with`… overrides with [`with`].
fn request(app: &TestApp, instance: &str, sub_id: Value) -> Value {
    json!({
        "client_id": client_id(instance),
        "url": endpoint(app, instance),
        "sub_id": sub_id,
    })
}

/// With `overrides` merged into the top level of `request`.
fn with(mut request: Value, overrides: Value) -> Value {
    for (key, value) in overrides.as_object().expect("overrides must be an object") {
        request[key] = value.clone();
    }
    request
}

/// What the app answered the simulator.
#[derive(Debug, Deserialize)]
struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: String,
    token: Option<String>,
}

impl Answer {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap()
    }

    /// The OAuth error word of a refusal.
    fn error(&self) -> Option<String> {
        let body: Value = serde_json::from_str(&self.body).ok()?;
        body["error"].as_str().map(str::to_owned)
    }
}

async fn send(app: &TestApp, org: &str, request: Value) -> Answer {
    let answer = app.simulator.universal_logout(org, request).await;
    serde_json::from_value(answer.clone())
        .unwrap_or_else(|e| panic!("unexpected simulator answer {answer}: {e}"))
}

async fn signed_in(app: &TestApp, instance: &str, login_hint: Option<&str>) -> Browser {
    let browser = app.browser();
    let outcome = browser.sign_in(instance, None, login_hint).await;
    outcome.landing();
    browser
}

async fn statuses(browsers: &[&Browser]) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for browser in browsers {
        statuses.push(browser.session().await.0);
    }
    statuses
}

const OK: StatusCode = StatusCode::OK;
const GONE: StatusCode = StatusCode::UNAUTHORIZED;

#[tokio::test]
async fn a_logout_by_email_ends_every_session_of_that_user_in_the_instance_and_is_audited() {
    let app = spawn_app().await;
    let ada_laptop = signed_in(&app, ACME_OKTA, Some(ADA.email)).await;
    let ada_phone = signed_in(&app, ACME_OKTA, Some(ADA.email)).await;
    let grace = signed_in(&app, ACME_OKTA, Some(GRACE.email)).await;

    // Email addresses are compared without regard to case.
    let answer = send(
        &app,
        "acme",
        request(&app, ACME_OKTA, by_email("Ada@ACME.example")),
    )
    .await;

    assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{answer:?}");
    assert_eq!(
        statuses(&[&ada_laptop, &ada_phone, &grace]).await,
        [GONE, GONE, OK],
        "[ada's laptop, ada's phone, grace]"
    );
    let events = audit::recent(&app.db, Some(&TenantSlug::parse("acme").unwrap()), 1)
        .await
        .unwrap();
    let event = &events[0];
    assert_eq!(
        (
            event.actor.as_str(),
            event.action.as_str(),
            event.instance.as_deref(),
            event.outcome.as_str()
        ),
        (
            "okta",
            "session.universal_logout",
            Some(ACME_OKTA),
            "success"
        ),
        "{event:?}"
    );
    assert!(event.detail.contains("2 session(s)"), "{event:?}");
}

#[tokio::test]
async fn a_logout_by_issuer_and_subject_leaves_the_same_persons_session_in_a_sibling_instance() {
    let app = spawn_app().await;
    let hank_eng = signed_in(&app, GLOBEX_ENG, None).await;
    let hank_eng_again = signed_in(&app, GLOBEX_ENG, None).await;
    let hank_ops = signed_in(&app, GLOBEX_OPS, None).await;
    let ada = signed_in(&app, ACME_OKTA, None).await;

    let answer = send(
        &app,
        "globex",
        request(&app, GLOBEX_ENG, by_iss_sub(app.issuer("globex"), HANK.sub)),
    )
    .await;

    assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{answer:?}");
    assert_eq!(
        statuses(&[&hank_eng, &hank_eng_again, &hank_ops, &ada]).await,
        [GONE, GONE, OK, OK],
        "[hank in eng, hank in eng again, hank in ops, ada in acme]"
    );
}

#[tokio::test]
async fn a_logout_for_someone_who_never_signed_in_through_the_instance_is_not_found() {
    let app = spawn_app().await;
    let hank_eng = signed_in(&app, GLOBEX_ENG, None).await;

    for (why, instance, sub_id) in [
        (
            "an unknown email",
            GLOBEX_ENG,
            by_email("nobody@globex.example"),
        ),
        (
            "an unknown subject",
            GLOBEX_ENG,
            by_iss_sub(app.issuer("globex"), "00u1nobody"),
        ),
        (
            "hank, who signed in through the sibling instance only",
            GLOBEX_OPS,
            by_iss_sub(app.issuer("globex"), HANK.sub),
        ),
    ] {
        let answer = send(&app, "globex", request(&app, instance, sub_id)).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{why}: {answer:?}");
        assert_eq!(answer.error().as_deref(), Some("not_found"), "{why}");
    }

    assert_eq!(hank_eng.session().await.0, OK);
    let events = audit::recent(&app.db, Some(&TenantSlug::parse("globex").unwrap()), 3)
        .await
        .unwrap();
    assert!(
        events.iter().all(|e| e.action == "session.universal_logout"
            && e.outcome == "failure"
            && e.detail.contains("no such user")),
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_token_okta_did_not_sign_for_this_endpoint_now_is_refused_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let ada = signed_in(&app, ACME_OKTA, None).await;
    let now = unix_now();
    let acme = || request(&app, ACME_OKTA, by_email(ADA.email));
    let cases = [
        (
            "signed by a key the issuer never published",
            "acme",
            with(acme(), json!({ "sign_with": "unpublished" })),
        ),
        (
            "unsigned (alg none)",
            "acme",
            with(acme(), json!({ "sign_with": "none" })),
        ),
        (
            "a kid the issuer does not publish",
            "acme",
            with(acme(), json!({ "header": { "kid": "nope" } })),
        ),
        (
            "without the global-token-revocation+jwt typ",
            "acme",
            with(acme(), json!({ "header": { "typ": null } })),
        ),
        (
            "an ID token's typ",
            "acme",
            with(acme(), json!({ "header": { "typ": "JWT" } })),
        ),
        (
            "for another endpoint (aud)",
            "acme",
            with(
                acme(),
                json!({ "claims": { "aud": endpoint(&app, GLOBEX_ENG) } }),
            ),
        ),
        (
            "from another issuer (iss)",
            "acme",
            with(
                acme(),
                json!({ "claims": { "iss": "https://evil.okta.com" } }),
            ),
        ),
        (
            "for another client (sub)",
            "acme",
            with(acme(), json!({ "claims": { "sub": "0oa1someoneelse" } })),
        ),
        (
            "expired beyond the leeway",
            "acme",
            with(
                acme(),
                json!({ "claims": { "iat": now - 420, "nbf": now - 720, "exp": now - 120 } }),
            ),
        ),
        (
            "issued in the future beyond the leeway",
            "acme",
            with(
                acme(),
                json!({ "claims": { "iat": now + 600, "nbf": now + 600, "exp": now + 900 } }),
            ),
        ),
        (
            "not valid yet (nbf)",
            "acme",
            with(acme(), json!({ "claims": { "nbf": now + 240 } })),
        ),
        (
            "valid for more than 15 minutes",
            "acme",
            with(
                acme(),
                json!({ "claims": { "iat": now, "exp": now + 3600 } }),
            ),
        ),
        (
            "without exp",
            "acme",
            with(acme(), json!({ "claims": { "exp": null } })),
        ),
        (
            "without a jti",
            "acme",
            with(acme(), json!({ "claims": { "jti": null } })),
        ),
        (
            "no Authorization header",
            "acme",
            with(acme(), json!({ "omit_authorization": true })),
        ),
        (
            "not a JWT",
            "acme",
            with(acme(), json!({ "token": "not-a-jwt" })),
        ),
        (
            "signed by the sibling instance's client (sub)",
            "globex",
            with(
                request(&app, GLOBEX_ENG, by_email(HANK.email)),
                json!({ "client_id": client_id(GLOBEX_OPS) }),
            ),
        ),
    ];

    for (why, org, request) in cases {
        let answer = send(&app, org, request).await;
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "{why}: {answer:?}"
        );
        assert_eq!(answer.error().as_deref(), Some("invalid_token"), "{why}");
        let challenge = answer.www_authenticate.as_deref().unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer"),
            "{why}: WWW-Authenticate {challenge:?}"
        );
    }
    assert_eq!(
        ada.session().await.0,
        OK,
        "a refused request ended a session"
    );
}

#[tokio::test]
async fn a_replayed_token_is_refused() {
    let app = spawn_app().await;
    signed_in(&app, ACME_OKTA, None).await;
    let first = send(&app, "acme", request(&app, ACME_OKTA, by_email(ADA.email))).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT, "{first:?}");
    // Ada signs in again; a replay of the same request must not end this session.
    let ada = signed_in(&app, ACME_OKTA, None).await;

    let replay = send(
        &app,
        "acme",
        with(
            request(&app, ACME_OKTA, by_email(ADA.email)),
            json!({ "token": first.token.clone().unwrap() }),
        ),
    )
    .await;

    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED, "{replay:?}");
    assert!(
        replay
            .www_authenticate
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer")),
        "{replay:?}"
    );
    assert_eq!(ada.session().await.0, OK);
}

#[tokio::test]
async fn a_flood_of_tokens_with_unknown_kids_costs_the_issuer_at_most_one_keys_fetch() {
    let app = spawn_app().await;
    let ada = signed_in(&app, ACME_OKTA, None).await;
    app.simulator.reset_stats("acme").await;

    for attempt in 0..6 {
        let overrides = if attempt % 2 == 0 {
            json!({ "header": { "kid": format!("nope-{attempt}") } })
        } else {
            // A throwaway key with a random kid.
            json!({ "sign_with": "unpublished" })
        };
        let answer = send(
            &app,
            "acme",
            with(request(&app, ACME_OKTA, by_email(ADA.email)), overrides),
        )
        .await;
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {answer:?}"
        );
    }

    let stats = app.simulator.stats("acme").await;
    assert!(stats.keys <= 1, "{stats:?}");
    assert_eq!(stats.discovery, 0, "{stats:?}");
    assert_eq!(ada.session().await.0, OK);
}

#[tokio::test]
async fn a_token_signed_by_another_org_is_refused() {
    let app = spawn_app().await;
    let ada = signed_in(&app, ACME_OKTA, None).await;
    let to_acme = |claims: Value| {
        json!({
            "client_id": client_id(GLOBEX_ENG),
            "url": endpoint(&app, ACME_OKTA),
            "sub_id": by_email(ADA.email),
            "claims": claims,
        })
    };

    for (why, request) in [
        ("globex's own token", to_acme(json!({}))),
        (
            "globex's key behind acme's iss and client id",
            to_acme(json!({ "iss": app.issuer("acme"), "sub": client_id(ACME_OKTA) })),
        ),
    ] {
        let answer = send(&app, "globex", request).await;
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "{why}: {answer:?}"
        );
    }
    assert_eq!(ada.session().await.0, OK);
}

#[tokio::test]
async fn a_request_body_that_names_nobody_usable_is_refused() {
    let app = spawn_app().await;
    let ada = signed_in(&app, ACME_OKTA, None).await;
    let acme = |overrides: Value| with(request(&app, ACME_OKTA, by_email(ADA.email)), overrides);
    let cases = [
        (
            "malformed JSON",
            acme(json!({ "raw_body": "{\"sub_id\": " })),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no sub_id",
            acme(json!({ "raw_body": "{}" })),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "an email sub_id without the email",
            acme(json!({ "sub_id": { "format": "email" } })),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "a phone number",
            acme(json!({ "sub_id": { "format": "phone_number", "phone_number": "+15551234" } })),
            StatusCode::BAD_REQUEST,
            "unsupported_subject_format",
        ),
        (
            "a subject of another issuer",
            acme(json!({ "sub_id": by_iss_sub(app.issuer("globex"), ADA.sub) })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_subject",
        ),
    ];

    for (why, request, status, error) in cases {
        let answer = send(&app, "acme", request).await;
        assert_eq!(answer.status(), status, "{why}: {answer:?}");
        assert_eq!(answer.error().as_deref(), Some(error), "{why}");
    }
    assert_eq!(ada.session().await.0, OK);
}

#[tokio::test]
async fn a_request_for_an_unknown_instance_is_not_found() {
    let app = spawn_app().await;

    let answer = send(
        &app,
        "acme",
        with(
            request(&app, ACME_OKTA, by_email(ADA.email)),
            json!({ "url": endpoint(&app, "no-such-instance") }),
        ),
    )
    .await;

    assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{answer:?}");
    assert_eq!(answer.error().as_deref(), Some("not_found"));
    assert_eq!(app.simulator.stats("acme").await.discovery, 0);
}

#[tokio::test]
async fn a_flood_at_one_instance_is_rate_limited_with_retry_after_and_spares_the_others() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let post = |instance: &str| {
        client
            .post(endpoint(&app, instance))
            .header("content-type", "application/json")
            .body(r#"{"sub_id":{"format":"email","email":"ada@acme.example"}}"#)
            .send()
    };

    // Far more than the burst, at once: unauthenticated requests count too.
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..400 {
        flood.spawn(post(ACME_OKTA));
    }
    let mut limited = Vec::new();
    while let Some(answer) = flood.join_next().await {
        let answer = answer.unwrap().unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            limited.push(answer);
        } else {
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        }
    }

    assert!(
        !limited.is_empty(),
        "400 requests at once were never limited"
    );
    let retry_after: u64 = limited[0]
        .headers()
        .get("retry-after")
        .expect("a 429 without Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is not a number of seconds");
    assert!(retry_after >= 1);
    let sibling = post(GLOBEX_ENG).await.unwrap();
    assert_eq!(
        sibling.status(),
        StatusCode::UNAUTHORIZED,
        "another instance was limited too"
    );
}
