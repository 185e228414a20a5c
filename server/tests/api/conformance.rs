//! OpenID Foundation RP certification cases (Basic RP profile and others), FAPI 2.0 client
//! cases and a mix-up attack, played by the hostile OpenID Provider of `hostile_op.rs`.
//!
//! "Rejected" means what `shared/oidc-reference.md` says: an error page (4xx) with a short
//! reason, no session cookie, `/api/session` answering 401, and no further call to the token
//! endpoint (when the authorization response is at fault) or to the userinfo endpoint.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{Browser, Recorded, SESSION_COOKIE, SignInOutcome, assert_refused, reason};
use crate::hostile_op::{
    DeadIssuer, HostileApp, HostileOp, OpStats, Registration, SUBJECT, Scenario, TestKey,
    USER_EMAIL, USER_NAME, VICTIM, spawn_app_against, spawn_app_against_many,
    spawn_app_against_many_with_timeout,
};

const CLIENT_ID: &str = "0oa1victimclient";

/// A hostile provider playing `scenario` from the start, and Orgpass registered against it.
async fn provider_and_app(scenario: Scenario) -> (HostileOp, HostileApp) {
    let op = HostileOp::start(CLIENT_ID, TestKey::Rsa1).await;
    op.set_scenario(scenario);
    let app = spawn_app_against(&op).await;
    (op, app)
}

/// One sign-in through the victim instance in a fresh browser.
async fn sign_in(app: &HostileApp) -> (Browser, SignInOutcome) {
    let browser = app.browser();
    let outcome = browser.sign_in(VICTIM, None, None).await;
    (browser, outcome)
}

/// The JOSE header of a compact JWS, decoded.
fn jws_header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let first = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The claims of a compact JWS, decoded.
fn jws_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let second = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(second)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn session_cookie_set(outcome: &SignInOutcome) -> Option<&Recorded> {
    outcome
        .hops
        .iter()
        .find(|hop| hop.set_cookie(SESSION_COOKIE).is_some())
}

/// The callback redirected with a session cookie, and the session names the provider's user
/// at the victim instance. The provider saw no protocol mistake.
async fn assert_signed_in(op: &HostileOp, browser: &Browser, outcome: &SignInOutcome) {
    assert_signed_in_at(op, browser, outcome, VICTIM).await;
}

/// [`assert_signed_in`] at this instance.
async fn assert_signed_in_at(
    op: &HostileOp,
    browser: &Browser,
    outcome: &SignInOutcome,
    instance: &str,
) {
    let callback = outcome.callback();
    assert_eq!(
        callback.status,
        StatusCode::SEE_OTHER,
        "the sign-in was refused: {callback:#?}"
    );
    assert!(
        callback.set_cookie(SESSION_COOKIE).is_some(),
        "no session cookie: {callback:#?}"
    );
    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["sub"], SUBJECT, "{session}");
    assert_eq!(session["issuer"], op.issuer(), "{session}");
    assert_eq!(session["instance_id"], instance, "{session}");
    assert_eq!(session["name"], USER_NAME, "{session}");
    assert_eq!(session["email"], USER_EMAIL, "{session}");
    assert_eq!(
        op.violations(),
        Vec::<String>::new(),
        "RP protocol mistakes"
    );
}

/// Which part of the answer the app must refuse, and so how far the provider got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The authorization response (`iss`, `state`): the code must never be redeemed.
    AuthorizationResponse,
    /// The token response or its ID token: one token call, then nothing.
    TokenResponse,
    /// The userinfo response: one token call, one userinfo call.
    Userinfo,
}

/// An error page (4xx) with one of `reasons`, no session cookie on any hop, signed out, and no
/// call to the provider past the faulty step.
async fn assert_rejected(
    op: &HostileOp,
    browser: &Browser,
    outcome: &SignInOutcome,
    fault: Fault,
    reasons: &[&str],
) {
    let callback = outcome.callback();
    assert!(
        callback.status.is_client_error(),
        "expected a 4xx error page, got {}: {callback:#?}",
        callback.status
    );
    assert!(
        callback.body.contains(r#"data-testid="sign-in-error""#),
        "not the sign-in error page: {}",
        callback.body
    );
    assert!(
        reasons.iter().any(|reason| callback.body.contains(reason)),
        "the error page gives none of the reasons {reasons:?}: {}",
        callback.body
    );
    assert!(
        session_cookie_set(outcome).is_none(),
        "a refused sign-in set the session cookie: {:#?}",
        session_cookie_set(outcome)
    );
    let (status, session) = browser.session().await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "signed in anyway: {session}"
    );
    let stats = op.stats();
    match fault {
        Fault::AuthorizationResponse => {
            assert_eq!(stats.token, 0, "the code was redeemed anyway: {stats:?}")
        }
        Fault::TokenResponse | Fault::Userinfo => {
            assert_eq!(stats.token, 1, "{stats:?}")
        }
    }
    let userinfo_calls = match fault {
        Fault::Userinfo => 1,
        Fault::AuthorizationResponse | Fault::TokenResponse => 0,
    };
    assert_eq!(
        stats.userinfo, userinfo_calls,
        "userinfo called after a refusal, or more than once: {stats:?}"
    );
}

async fn assert_id_token_rejected(scenario: Scenario) {
    let (op, app) = provider_and_app(scenario).await;
    let (browser, outcome) = sign_in(&app).await;
    assert_rejected(
        &op,
        &browser,
        &outcome,
        Fault::TokenResponse,
        &[reason::BAD_ID_TOKEN],
    )
    .await;
}

async fn assert_id_token_accepted(scenario: Scenario) -> HostileOp {
    let (op, app) = provider_and_app(scenario).await;
    let (browser, outcome) = sign_in(&app).await;
    assert_signed_in(&op, &browser, &outcome).await;
    op
}

async fn assert_authorization_response_rejected(scenario: Scenario, reasons: &[&str]) {
    let (op, app) = provider_and_app(scenario).await;
    let (browser, outcome) = sign_in(&app).await;
    assert_eq!(op.stats().authorize, 1);
    assert_rejected(
        &op,
        &browser,
        &outcome,
        Fault::AuthorizationResponse,
        reasons,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Basic RP profile
// ---------------------------------------------------------------------------------------------

/// oidcc-client-test.
#[tokio::test]
async fn a_well_behaved_provider_signs_the_user_in_from_a_correct_authorization_request() {
    let (op, app) = provider_and_app(Scenario::Normal).await;
    let (browser, outcome) = sign_in(&app).await;

    assert_signed_in(&op, &browser, &outcome).await;
    let request = op
        .last_authorize_request()
        .expect("no authorization request");
    assert_eq!(
        request.param("redirect_uri"),
        Some(format!("{}/sso/{VICTIM}/callback", app.public_origin).as_str())
    );
    assert_eq!(request.param("client_id"), Some(CLIENT_ID));
    assert_eq!(request.param("response_type"), Some("code"));
    let scope: Vec<&str> = request.param("scope").unwrap_or("").split(' ').collect();
    assert!(scope.contains(&"openid"), "{scope:?}");
    assert!(request.param("nonce").is_some_and(|n| n.len() >= 16));
    assert!(request.param("state").is_some_and(|s| s.len() >= 16));
    assert_eq!(request.param("code_challenge_method"), Some("S256"));
    assert!(
        request
            .param("code_challenge")
            .is_some_and(|c| c.len() == 43)
    );
    let stats = op.stats();
    assert_eq!((stats.authorize, stats.token), (1, 1), "{stats:?}");
    // The ID token names the user: nothing to ask the userinfo endpoint.
    let claims = jws_claims(&op.last_id_token().unwrap());
    assert_eq!(
        (&claims["name"], &claims["email"]),
        (
            &serde_json::json!(USER_NAME),
            &serde_json::json!(USER_EMAIL)
        )
    );
    assert_eq!(
        stats.userinfo, 0,
        "userinfo called although the ID token has name and email: {stats:?}"
    );
}

/// invalid-iss: the certification's issuer + "1" (here not even a URL: the port number
/// overflows), then a well-formed lookalike, issuer + "/1", so the issuer comparison itself is
/// exercised and not only the claim's parsing.
#[tokio::test]
async fn an_id_token_whose_iss_is_the_issuer_with_a_suffix_is_rejected() {
    assert_id_token_rejected(Scenario::InvalidIss).await;
    assert_id_token_rejected(Scenario::InvalidIssWellFormed).await;
}

/// missing-sub.
#[tokio::test]
async fn an_id_token_without_sub_is_rejected() {
    assert_id_token_rejected(Scenario::MissingClaim("sub")).await;
}

/// invalid-aud.
#[tokio::test]
async fn an_id_token_for_the_client_id_with_a_suffix_is_rejected() {
    assert_id_token_rejected(Scenario::InvalidAud).await;
}

/// missing-iat.
#[tokio::test]
async fn an_id_token_without_iat_is_rejected() {
    assert_id_token_rejected(Scenario::MissingClaim("iat")).await;
}

/// kid-absent-single-jwks.
#[tokio::test]
async fn an_id_token_without_kid_is_accepted_when_the_jwks_holds_one_key_without_kid() {
    let op = assert_id_token_accepted(Scenario::KidAbsentSingleJwks).await;
    assert!(
        jws_header(&op.last_id_token().unwrap())
            .get("kid")
            .is_none()
    );
}

/// kid-absent-multiple-jwks: several RS256 keys, no `kid` anywhere. A token signed by a key
/// that is not published never signs in. A token signed by one of the published keys may be
/// accepted (the RP tried each key) or refused cleanly (the RP refuses ambiguous keys); both
/// are allowed by the certification, and the outcome is printed. Orgpass currently tries each
/// candidate key and signs the user in.
#[tokio::test]
async fn an_id_token_without_kid_among_several_keys_never_signs_in_with_a_wrong_key() {
    // Signed by RSA-3, which the JWKS (RSA-1, RSA-2) does not hold.
    let (op, app) = provider_and_app(Scenario::KidAbsentMultipleJwks {
        sign_with: TestKey::Rsa3,
    })
    .await;
    let (browser, outcome) = sign_in(&app).await;
    assert_rejected(
        &op,
        &browser,
        &outcome,
        Fault::TokenResponse,
        &[reason::BAD_ID_TOKEN],
    )
    .await;

    // Signed by RSA-2, the second published key.
    let (op, app) = provider_and_app(Scenario::KidAbsentMultipleJwks {
        sign_with: TestKey::Rsa2,
    })
    .await;
    let (browser, outcome) = sign_in(&app).await;
    let callback = outcome.callback();
    if callback.status == StatusCode::SEE_OTHER {
        eprintln!("kid-absent-multiple-jwks: the app tried each key and signed the user in");
        assert_signed_in(&op, &browser, &outcome).await;
    } else {
        eprintln!(
            "kid-absent-multiple-jwks: the app refused the ambiguous key ({})",
            callback.status
        );
        assert_rejected(
            &op,
            &browser,
            &outcome,
            Fault::TokenResponse,
            &[reason::BAD_ID_TOKEN],
        )
        .await;
    }
}

/// idtoken-sig-rs256.
#[tokio::test]
async fn an_rs256_signed_id_token_is_accepted() {
    let op = assert_id_token_accepted(Scenario::Normal).await;
    let header = jws_header(&op.last_id_token().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], TestKey::Rsa1.kid());
}

/// idtoken-sig-none.
#[tokio::test]
async fn an_unsigned_id_token_with_alg_none_is_rejected() {
    assert_id_token_rejected(Scenario::AlgNone).await;
}

/// invalid-sig-rs256.
#[tokio::test]
async fn an_rs256_id_token_with_a_corrupted_signature_is_rejected() {
    assert_id_token_rejected(Scenario::CorruptedRs256Signature).await;
}

/// nonce-invalid.
#[tokio::test]
async fn an_id_token_whose_nonce_is_the_sent_nonce_with_a_suffix_is_rejected() {
    assert_id_token_rejected(Scenario::InvalidNonce).await;
}

/// client-secret-basic (and scope-userinfo-claims: profile and email are asked for).
#[tokio::test]
async fn the_code_is_redeemed_with_client_secret_basic_and_the_user_is_signed_in() {
    let (op, app) = provider_and_app(Scenario::Normal).await;
    let (browser, outcome) = sign_in(&app).await;

    // The token endpoint refuses anything but HTTP Basic with the right secret and notes a
    // secret sent in the body too: no violation means Basic only.
    assert_signed_in(&op, &browser, &outcome).await;
    let request = op.last_authorize_request().unwrap();
    let scope: Vec<&str> = request.param("scope").unwrap_or("").split(' ').collect();
    for wanted in ["openid", "profile", "email"] {
        assert!(scope.contains(&wanted), "{wanted} missing from {scope:?}");
    }
}

/// scope-userinfo-claims.
#[tokio::test]
async fn a_name_and_email_missing_from_the_id_token_are_taken_from_userinfo_with_the_access_token()
{
    let (op, app) = provider_and_app(Scenario::UserinfoClaims).await;
    let (browser, outcome) = sign_in(&app).await;

    // The session's name and email (checked here) can only have come from userinfo.
    assert_signed_in(&op, &browser, &outcome).await;
    let claims = jws_claims(&op.last_id_token().unwrap());
    assert!(
        claims.get("name").is_none() && claims.get("email").is_none(),
        "{claims}"
    );
    let stats = op.stats();
    assert_eq!((stats.token, stats.userinfo), (1, 1), "{stats:?}");
    let access_token = op.last_access_token().expect("no access token issued");
    assert_eq!(op.userinfo_bearers(), vec![Some(access_token)]);
}

/// userinfo-invalid-sub.
#[tokio::test]
async fn a_userinfo_response_for_another_subject_is_rejected() {
    let (op, app) = provider_and_app(Scenario::UserinfoInvalidSub).await;
    let (browser, outcome) = sign_in(&app).await;

    assert_refused(
        outcome.callback(),
        StatusCode::BAD_REQUEST,
        reason::BAD_ID_TOKEN,
    );
    assert_rejected(
        &op,
        &browser,
        &outcome,
        Fault::Userinfo,
        &[reason::BAD_ID_TOKEN],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Other RP profiles
// ---------------------------------------------------------------------------------------------

/// missing-aud.
#[tokio::test]
async fn an_id_token_without_aud_is_rejected() {
    assert_id_token_rejected(Scenario::MissingClaim("aud")).await;
}

/// invalid-sig-hs256.
#[tokio::test]
async fn an_hs256_id_token_keyed_with_the_client_secret_is_rejected_even_when_advertised() {
    assert_id_token_rejected(Scenario::Hs256WithClientSecret).await;
}

/// invalid-sig-es256.
#[tokio::test]
async fn an_es256_id_token_with_a_corrupted_signature_is_rejected() {
    assert_id_token_rejected(Scenario::CorruptedEs256Signature).await;
}

/// discovery-issuer-mismatch.
#[tokio::test]
async fn a_discovery_document_naming_another_issuer_stops_the_sign_in_before_any_redirect() {
    let (op, app) = provider_and_app(Scenario::DiscoveryIssuerMismatch).await;
    let browser = app.browser();

    let response = browser.login(VICTIM, None, None).await;

    assert!(
        response.status == StatusCode::BAD_GATEWAY || response.status.is_client_error(),
        "login start should fail with 502 or 4xx: {response:#?}"
    );
    assert!(
        response.header("location").is_none(),
        "redirected anyway: {response:#?}"
    );
    assert!(
        response.body.contains(r#"data-testid="sign-in-error""#),
        "not the sign-in error page: {}",
        response.body
    );
    assert!(response.set_cookie(SESSION_COOKIE).is_none());
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
    let stats = op.stats();
    assert!(stats.discovery >= 1, "{stats:?}");
    assert_eq!(
        (stats.authorize, stats.token, stats.userinfo),
        (0, 0, 0),
        "{stats:?}"
    );
}

/// signing-key-rotation.
#[tokio::test]
async fn after_the_signing_key_rotates_the_next_sign_in_succeeds_after_one_key_refetch() {
    let (op, app) = provider_and_app(Scenario::Normal).await;
    let (browser, outcome) = sign_in(&app).await;
    assert_signed_in(&op, &browser, &outcome).await;
    let before: OpStats = op.stats();

    op.rotate_to(TestKey::Rsa2);
    let (browser, outcome) = sign_in(&app).await;

    assert_signed_in(&op, &browser, &outcome).await;
    assert_eq!(
        jws_header(&op.last_id_token().unwrap())["kid"],
        TestKey::Rsa2.kid()
    );
    let after = op.stats();
    assert_eq!(after.keys - before.keys, 1, "{before:?} → {after:?}");
}

/// rotation-just-before-signing.
#[tokio::test]
async fn a_key_published_only_when_the_provider_starts_signing_with_it_is_accepted() {
    let (op, app) = provider_and_app(Scenario::Normal).await;
    let (browser, outcome) = sign_in(&app).await;
    assert_signed_in(&op, &browser, &outcome).await;
    let before = op.stats();

    op.set_scenario(Scenario::RotateJustBeforeSigning {
        new_key: TestKey::Rsa2,
    });
    let (browser, outcome) = sign_in(&app).await;

    assert_signed_in(&op, &browser, &outcome).await;
    assert_eq!(
        jws_header(&op.last_id_token().unwrap())["kid"],
        TestKey::Rsa2.kid()
    );
    let after = op.stats();
    assert_eq!(after.keys - before.keys, 1, "{before:?} → {after:?}");
}

/// JWKS holding keys of unknown types.
#[tokio::test]
async fn keys_of_unknown_types_in_the_jwks_are_ignored_and_the_real_key_verifies() {
    assert_id_token_accepted(Scenario::UnusableKeysBesideTheRealOne).await;
}

// ---------------------------------------------------------------------------------------------
// FAPI 2.0 client tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_authorization_response_whose_iss_is_the_issuer_with_a_suffix_is_rejected_unredeemed() {
    assert_authorization_response_rejected(
        Scenario::AuthResponseIssSuffixed,
        &[reason::WRONG_ISSUER],
    )
    .await;
}

#[tokio::test]
async fn an_authorization_response_without_the_advertised_iss_is_rejected_unredeemed() {
    assert_authorization_response_rejected(
        Scenario::AuthResponseIssMissing,
        &[reason::WRONG_ISSUER],
    )
    .await;
}

#[tokio::test]
async fn an_authorization_response_with_an_altered_state_is_rejected_unredeemed() {
    assert_authorization_response_rejected(Scenario::StateChanged, &[reason::EXPIRED_OR_USED])
        .await;
}

#[tokio::test]
async fn an_authorization_response_without_state_is_rejected_unredeemed() {
    assert_authorization_response_rejected(Scenario::StateMissing, &[reason::EXPIRED_OR_USED])
        .await;
}

#[tokio::test]
async fn an_id_token_that_expired_more_than_the_leeway_ago_is_rejected() {
    assert_id_token_rejected(Scenario::ExpiredSecondsAgo(120)).await;
}

/// FAPI 2.0 asks for a configurable clock leeway of 60 s: a token 30 s past `exp` is still good.
#[tokio::test]
async fn an_id_token_that_expired_30_seconds_ago_is_accepted_within_the_60_second_leeway() {
    assert_id_token_accepted(Scenario::ExpiredSecondsAgo(30)).await;
}

#[tokio::test]
async fn an_id_token_without_exp_is_rejected() {
    assert_id_token_rejected(Scenario::MissingClaim("exp")).await;
}

#[tokio::test]
async fn an_id_token_without_iss_is_rejected() {
    assert_id_token_rejected(Scenario::MissingClaim("iss")).await;
}

#[tokio::test]
async fn an_id_token_without_the_nonce_that_was_sent_is_rejected() {
    assert_id_token_rejected(Scenario::MissingClaim("nonce")).await;
}

#[tokio::test]
async fn an_id_token_for_the_client_and_another_audience_without_azp_is_rejected() {
    assert_id_token_rejected(Scenario::AudWithAnotherAudience).await;
}

#[tokio::test]
async fn an_id_token_whose_aud_is_a_one_element_array_is_accepted() {
    assert_id_token_accepted(Scenario::AudAsOneElementArray).await;
}

#[tokio::test]
async fn a_token_response_whose_token_type_is_bearer_in_mixed_case_is_accepted() {
    assert_id_token_accepted(Scenario::TokenType("bEARER")).await;
}

#[tokio::test]
async fn an_id_token_typed_as_an_access_token_is_rejected() {
    assert_id_token_rejected(Scenario::TypHeader("at+jwt")).await;
}

#[tokio::test]
async fn an_id_token_with_a_critical_header_extension_is_rejected() {
    assert_id_token_rejected(Scenario::CritHeader).await;
}

#[tokio::test]
async fn an_id_token_not_valid_before_a_time_beyond_the_leeway_is_rejected() {
    assert_id_token_rejected(Scenario::NotBeforeInSeconds(300)).await;
}

// ---------------------------------------------------------------------------------------------
// Mix-up (RFC 9700 §4.4)
// ---------------------------------------------------------------------------------------------

/// Two tenants, two providers. A's token endpoint answers A's flow with an ID token that B
/// would issue: B's `iss`, signed by B's key (with A's client id and nonce, so only the issuer
/// and the key are wrong). First as is; then with A also publishing B's public key, so the
/// signature verifies against A's own JWKS and only the issuer check can stop it.
#[tokio::test]
async fn a_valid_id_token_of_another_tenants_provider_in_this_providers_flow_is_rejected() {
    for publish in [false, true] {
        let op_a = HostileOp::start("0oa1victima", TestKey::Rsa1).await;
        let op_b = HostileOp::start("0oa1bystanderb", TestKey::Rsa2).await;
        op_a.set_scenario(Scenario::ForeignToken {
            issuer: op_b.issuer().to_owned(),
            key: TestKey::Rsa2,
            publish,
        });
        let app = spawn_app_against_many(&[
            Registration {
                op: &op_a,
                tenant: "victim",
                instance: VICTIM,
            },
            Registration {
                op: &op_b,
                tenant: "bystander",
                instance: "bystander-okta",
            },
        ])
        .await;
        // B works, and the app knows B's key.
        let browser = app.browser();
        let outcome = browser.sign_in("bystander-okta", None, None).await;
        assert_eq!(
            outcome.callback().status,
            StatusCode::SEE_OTHER,
            "publish={publish}: {outcome:#?}"
        );
        let b_before = op_b.stats();

        let (browser, outcome) = sign_in(&app).await;

        assert_rejected(
            &op_a,
            &browser,
            &outcome,
            Fault::TokenResponse,
            &[reason::BAD_ID_TOKEN, reason::WRONG_ISSUER],
        )
        .await;
        let b_after = op_b.stats();
        assert_eq!(
            (b_after.token, b_after.userinfo),
            (b_before.token, b_before.userinfo),
            "publish={publish}: the app called B during A's flow"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Availability
// ---------------------------------------------------------------------------------------------

/// Tenant A's issuer accepts connections and never answers. While A's sign-in waits on it, a
/// sign-in at tenant B's (working) provider goes through; A's then ends with the 502 error page
/// once the app's IdP timeout has passed, and not much later.
#[tokio::test]
async fn a_dead_issuer_does_not_hold_up_another_tenants_sign_in_and_fails_within_the_timeout() {
    const IDP_TIMEOUT: Duration = Duration::from_secs(3);
    let dead = DeadIssuer::start().await;
    let op_b = HostileOp::start("0oa1bystanderb", TestKey::Rsa2).await;
    let app = spawn_app_against_many_with_timeout(
        &[
            Registration {
                op: &dead,
                tenant: "stalled",
                instance: "stalled-okta",
            },
            Registration {
                op: &op_b,
                tenant: "bystander",
                instance: "bystander-okta",
            },
        ],
        IDP_TIMEOUT.as_secs(),
    )
    .await;

    let browser_a = app.browser();
    let started = Instant::now();
    let a = tokio::spawn(async move {
        let response = browser_a.login("stalled-okta", None, None).await;
        (response, started.elapsed(), browser_a)
    });
    // A really is waiting on its dead issuer before B starts.
    dead.wait_for_a_connection(IDP_TIMEOUT / 2).await;

    let browser_b = app.browser();
    let outcome = browser_b.sign_in("bystander-okta", None, None).await;
    let b_elapsed = started.elapsed();

    assert!(
        !a.is_finished(),
        "A's sign-in ended before B's, which took {b_elapsed:?}"
    );
    assert_signed_in_at(&op_b, &browser_b, &outcome, "bystander-okta").await;

    let (response, a_elapsed, browser_a) = a.await.expect("A's sign-in task panicked");
    assert!(
        b_elapsed < a_elapsed,
        "B took {b_elapsed:?}, A {a_elapsed:?}"
    );
    assert_eq!(
        response.status,
        StatusCode::BAD_GATEWAY,
        "A's login: {response:#?}"
    );
    assert!(
        response.body.contains(r#"data-testid="sign-in-error""#),
        "not the sign-in error page: {}",
        response.body
    );
    assert!(response.header("location").is_none(), "{response:#?}");
    assert!(response.set_cookie(SESSION_COOKIE).is_none());
    assert!(
        a_elapsed >= IDP_TIMEOUT - Duration::from_millis(250),
        "A's login failed after {a_elapsed:?}, before the {IDP_TIMEOUT:?} timeout: it did not wait for the dead issuer"
    );
    assert!(
        a_elapsed < IDP_TIMEOUT + Duration::from_secs(2),
        "A's login took {a_elapsed:?}, well past the {IDP_TIMEOUT:?} IdP timeout"
    );
    assert_eq!(browser_a.session().await.0, StatusCode::UNAUTHORIZED);
    assert!(dead.accepted() >= 1);
}

#[tokio::test]
async fn signing_out_at_an_issuer_without_an_end_session_endpoint_ends_the_session_here() {
    // The hostile provider's discovery names no end_session_endpoint.
    let (op, app) = provider_and_app(Scenario::Normal).await;
    let (browser, outcome) = sign_in(&app).await;
    assert_signed_in(&op, &browser, &outcome).await;

    let logout = browser.logout().await;

    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(logout.location(), Some("/signed-out"));
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
}
