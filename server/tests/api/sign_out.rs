//! Signing out through Okta (RP-initiated logout), and the refusal of state-changing requests
//! that another site sends with the user's cookie.

use app::api::CurrentUser;
use app::backend::audit::Actor;
use app::backend::registry::{self, InstanceChanges};
use app::domain::InstanceId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leptos::server_fn::ServerFn;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::helpers::{
    ACME_OKTA, ADA, Browser, SESSION_COOKIE, TestApp, query_param, session_status_with, spawn_app,
};

/// The claims of a JWT, unverified: for looking at what the app handed out.
fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("not a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("not base64url"))
        .expect("claims are not JSON")
}

/// Signs in through acme-okta and returns the session token.
async fn signed_in(browser: &Browser) -> String {
    browser.sign_in_ok(ACME_OKTA).await;
    browser.cookie(SESSION_COOKIE).expect("no session cookie")
}

#[tokio::test]
async fn signing_out_ends_the_session_and_sends_the_browser_to_oktas_end_session_endpoint() {
    let app = spawn_app().await;
    let browser = app.browser();
    let token = signed_in(&browser).await;
    assert_eq!(
        session_status_with(&app.base_url, &token).await,
        StatusCode::OK
    );

    let logout = browser.logout().await;

    assert_eq!(logout.status, StatusCode::SEE_OTHER, "{logout:#?}");
    let end_session = logout.next_url().unwrap();
    assert_eq!(
        format!(
            "{}{}",
            end_session.origin().ascii_serialization(),
            end_session.path()
        ),
        format!("{}/oauth2/v1/logout", app.issuer("acme"))
    );
    let mut names: Vec<String> = end_session
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["id_token_hint", "post_logout_redirect_uri", "state"],
        "{end_session}"
    );
    assert_eq!(
        query_param(&end_session, "post_logout_redirect_uri"),
        Some(format!("{}/signed-out", app.public_origin))
    );
    let state = query_param(&end_session, "state").unwrap();
    assert!(state.len() >= 32, "a guessable state: {state:?}");
    // The hint is the ID token Okta issued at this sign-in.
    let hint = jwt_claims(&query_param(&end_session, "id_token_hint").unwrap());
    assert_eq!(hint["iss"], app.issuer("acme"), "{hint}");
    assert_eq!(hint["aud"], "0oa1acmeokta", "{hint}");
    assert_eq!(hint["sub"], ADA.sub, "{hint}");

    let removal = logout
        .set_cookie(SESSION_COOKIE)
        .expect("logout did not clear the cookie");
    assert_eq!(removal.value(), "");
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        session_status_with(&app.base_url, &token).await,
        StatusCode::UNAUTHORIZED,
        "the old cookie, replayed, still works"
    );
}

#[tokio::test]
async fn an_instance_with_its_own_sign_out_uri_has_okta_send_the_browser_there() {
    let app = spawn_app().await;
    let own = format!("{}/bye?from=acme", app.public_origin);
    let changes = InstanceChanges {
        post_logout_uri: Some(Some(own.clone())),
        ..InstanceChanges::default()
    };
    registry::update_instance(
        &app.db,
        &app.vault,
        &InstanceId::parse(ACME_OKTA).unwrap(),
        changes,
        &Actor::Operator,
    )
    .await
    .unwrap();
    let browser = app.browser();
    signed_in(&browser).await;

    let end_session = browser.logout().await.next_url().unwrap();

    assert_eq!(
        query_param(&end_session, "post_logout_redirect_uri"),
        Some(own)
    );
}

#[tokio::test]
async fn each_sign_out_sends_its_own_state() {
    let app = spawn_app().await;
    let mut states = Vec::new();
    for _ in 0..2 {
        let browser = app.browser();
        signed_in(&browser).await;
        let end_session = browser.logout().await.next_url().unwrap();
        states.push(query_param(&end_session, "state").unwrap());
    }
    assert_ne!(states[0], states[1]);
}

#[tokio::test]
async fn signing_out_through_okta_ends_the_okta_session_and_lands_on_the_signed_out_page() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in(&browser).await;
    let ada_at_okta = |sessions: Vec<String>| sessions.iter().filter(|s| *s == ADA.sub).count();
    assert_eq!(ada_at_okta(app.simulator.live_sessions("acme").await), 1);
    let end_session = browser.logout().await.next_url().unwrap();
    let state = query_param(&end_session, "state").unwrap();

    // Okta's page submits itself; do what its script does.
    let page = browser.get(end_session).await;
    assert_eq!(page.status, StatusCode::OK, "{page:#?}");
    let confirmed = browser.submit_form(&page).await;

    assert!(confirmed.is_redirect(), "{confirmed:#?}");
    let back = confirmed.next_url().unwrap();
    let mut expected = Url::parse(&format!("{}/signed-out", app.public_origin)).unwrap();
    expected.query_pairs_mut().append_pair("state", &state);
    assert_eq!(back, expected);
    assert_eq!(
        ada_at_okta(app.simulator.live_sessions("acme").await),
        0,
        "Okta's session outlived the sign-out"
    );
    let signed_out = browser.get(back).await;
    assert_eq!(signed_out.status, StatusCode::OK, "{signed_out:#?}");
    assert!(
        signed_out.body.contains(r#"data-testid="signed-out""#),
        "{}",
        signed_out.body
    );
    assert_eq!(browser.session().await.0, StatusCode::UNAUTHORIZED);
}

/// Request headers of a POST that does not come from the app's own pages.
fn cross_site_headers(app: &TestApp) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let ours = app.public_origin.clone();
    vec![
        (
            "Sec-Fetch-Site: cross-site",
            vec![("sec-fetch-site", "cross-site".to_owned())],
        ),
        (
            "Sec-Fetch-Site: same-site",
            vec![("sec-fetch-site", "same-site".to_owned())],
        ),
        (
            "Sec-Fetch-Site: cross-site with our Origin",
            vec![
                ("sec-fetch-site", "cross-site".to_owned()),
                ("origin", ours),
            ],
        ),
        (
            "Origin of another site",
            vec![("origin", "https://evil.example".to_owned())],
        ),
        (
            "Origin of a lookalike site",
            vec![("origin", format!("{}.evil.example", app.public_origin))],
        ),
        ("Origin: null", vec![("origin", "null".to_owned())]),
        ("neither header", vec![]),
    ]
}

fn as_refs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

#[tokio::test]
async fn a_sign_out_posted_from_another_site_is_refused_and_the_session_lives_on() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in(&browser).await;

    for (why, headers) in cross_site_headers(&app) {
        let response = browser
            .post_form_with("/logout", &[], &as_refs(&headers))
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{why}: {response:#?}"
        );
        assert!(
            response.set_cookie(SESSION_COOKIE).is_none(),
            "{why}: the refusal touched the cookie: {response:#?}"
        );
        assert_eq!(
            browser.session().await.0,
            StatusCode::OK,
            "{why}: the session ended"
        );
    }
    assert_eq!(
        app.simulator.stats("acme").await.logout,
        0,
        "the browser was never sent to Okta's sign-out"
    );
}

#[tokio::test]
async fn a_server_function_called_from_another_site_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in(&browser).await;

    for (why, headers) in cross_site_headers(&app) {
        let response = browser
            .post_form_with(CurrentUser::PATH, &[], &as_refs(&headers))
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{why}: {response:#?}"
        );
        assert!(
            !response.body.contains(ADA.email),
            "{why}: {}",
            response.body
        );
    }

    // From the app's own pages: Sec-Fetch-Site, or only Origin from browsers without it.
    let origin = app.public_origin.clone();
    for (why, headers) in [
        (
            "Sec-Fetch-Site: same-origin",
            vec![("sec-fetch-site", "same-origin")],
        ),
        ("our Origin only", vec![("origin", origin.as_str())]),
    ] {
        let response = browser
            .post_form_with(CurrentUser::PATH, &[], &headers)
            .await;
        assert_eq!(response.status, StatusCode::OK, "{why}: {response:#?}");
        assert!(
            response.body.contains(ADA.email),
            "{why}: {}",
            response.body
        );
    }
}
