//! Okta's tile (login initiated by Okta, OIDC Core §4): `/sso/{instance}/initiate` starts a
//! fresh sign-in only for the instance's own issuer, compared before anything is fetched, and
//! lands on `target_link_uri` only when it is on this site. Also every open-redirect trick, on
//! `target_link_uri` and on the login's `return_to`.

use app::backend::audit::Actor;
use app::backend::registry::{self, TenantChanges, TenantStatus};
use app::domain::{InstanceId, TenantSlug};
use reqwest::{StatusCode, Url};

use crate::helpers::{
    ACME_OKTA, Browser, FLOW_COOKIE, GLOBEX_ENG, GLOBEX_OPS, GRACE, Recorded, SignInOutcome,
    TestApp, assert_refused_and_signed_out, query_param, reason, spawn_app,
};

/// What the error page says when `iss` is missing or not the instance's issuer.
const NOT_ISSUED_BY_YOUR_OKTA: &str =
    "This sign-in link was not issued by your organization&#39;s Okta.";

/// `/sso/{instance}/initiate` with these query parameters.
fn initiate_url(app: &TestApp, instance: &str, params: &[(&str, &str)]) -> Url {
    let mut url = app.url(&format!("/sso/{instance}/initiate"));
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url
}

/// Okta's tile as a link: `GET /sso/{instance}/initiate?…`, the whole sign-in followed.
async fn sign_in_from_tile(
    browser: &Browser,
    app: &TestApp,
    instance: &str,
    params: &[(&str, &str)],
) -> SignInOutcome {
    browser.follow(initiate_url(app, instance, params)).await
}

/// Checks that a tile click was accepted (a 302 to `org`'s authorization endpoint, with a flow
/// cookie) and returns the authorization URL.
fn assert_sent_to_authorize(app: &TestApp, org: &str, response: &Recorded) -> Url {
    assert_eq!(response.status, StatusCode::FOUND, "{response:#?}");
    assert!(
        response.set_cookie(FLOW_COOKIE).is_some(),
        "no flow cookie: {response:#?}"
    );
    let authorize = response.next_url().unwrap();
    assert_eq!(
        format!(
            "{}{}",
            authorize.origin().ascii_serialization(),
            authorize.path()
        ),
        format!("{}/oauth2/v1/authorize", app.issuer(org)),
        "{authorize}"
    );
    authorize
}

#[tokio::test]
async fn a_tile_link_from_the_instances_issuer_signs_the_hinted_user_in() {
    let app = spawn_app().await;
    let browser = app.browser();

    let initiate = browser
        .get(initiate_url(
            &app,
            ACME_OKTA,
            &[("iss", app.issuer("acme")), ("login_hint", GRACE.email)],
        ))
        .await;

    let authorize = assert_sent_to_authorize(&app, "acme", &initiate);
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some("0oa1acmeokta")
    );
    assert_eq!(
        query_param(&authorize, "login_hint").as_deref(),
        Some(GRACE.email)
    );
    assert_eq!(browser.follow(authorize).await.landing(), "/");
    let (status, session) = browser.session().await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["instance_id"], ACME_OKTA);
    assert_eq!(session["sub"], GRACE.sub);
}

#[tokio::test]
async fn a_tile_posting_the_initiate_form_from_oktas_own_site_signs_the_user_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    let okta = app.issuer("acme").to_owned();

    // A form on Okta's origin: cross-site to us, and still served (it only starts a sign-in).
    let initiate = browser
        .post_form_with(
            &format!("/sso/{ACME_OKTA}/initiate"),
            &[("iss", &okta), ("target_link_uri", "/o/acme")],
            &[("origin", &okta), ("sec-fetch-site", "cross-site")],
        )
        .await;

    let authorize = assert_sent_to_authorize(&app, "acme", &initiate);
    assert_eq!(browser.follow(authorize).await.landing(), "/o/acme");
    assert_eq!(browser.session().await.1["instance_id"], ACME_OKTA);
}

#[tokio::test]
async fn a_target_link_on_this_site_is_where_the_user_lands() {
    let app = spawn_app().await;
    let origin = &app.public_origin;
    for (target_link_uri, landing) in [
        (format!("{origin}/o/globex?x=1"), "/o/globex?x=1"),
        (format!("{origin}/o/globex#members"), "/o/globex#members"),
        (format!("{origin}?tab=2"), "/?tab=2"),
        (origin.clone(), "/"),
        ("/o/globex".to_owned(), "/o/globex"),
    ] {
        let browser = app.browser();
        let outcome = sign_in_from_tile(
            &browser,
            &app,
            GLOBEX_ENG,
            &[
                ("iss", app.issuer("globex")),
                ("target_link_uri", &target_link_uri),
            ],
        )
        .await;
        assert_eq!(
            outcome.landing(),
            landing,
            "target_link_uri={target_link_uri:?}"
        );
    }
}

#[tokio::test]
async fn a_tile_on_the_okta_dashboard_takes_the_browser_through_the_whole_sign_in() {
    let app = spawn_app().await;
    for (org, client_id, instance) in [
        ("acme", "0oa1acmeokta", ACME_OKTA),
        ("globex", "0oa1globexops", GLOBEX_OPS),
    ] {
        let browser = app.browser();
        let mut tile = Url::parse(&format!("{}/__sim/tile", app.issuer(org))).unwrap();
        tile.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair(
                "target_link_uri",
                &format!("{}/o/{org}?from=tile", app.public_origin),
            );

        let outcome = browser.follow(tile).await;

        let initiate = outcome.hops[1].url.clone();
        assert_eq!(
            initiate.path(),
            format!("/sso/{instance}/initiate"),
            "{:#?}",
            outcome.hops
        );
        assert_eq!(
            query_param(&initiate, "iss").as_deref(),
            Some(app.issuer(org))
        );
        assert_eq!(outcome.landing(), format!("/o/{org}?from=tile"));
        assert_eq!(browser.session().await.1["instance_id"], instance);
    }
}

#[tokio::test]
async fn a_tile_link_without_iss_is_refused() {
    let app = spawn_app().await;

    let link = app.browser();
    let response = link.get(initiate_url(&app, ACME_OKTA, &[])).await;
    assert_refused_and_signed_out(
        &link,
        &response,
        StatusCode::BAD_REQUEST,
        NOT_ISSUED_BY_YOUR_OKTA,
    )
    .await;
    let form = app.browser();
    let response = form
        .post_form(
            &format!("/sso/{ACME_OKTA}/initiate"),
            &[("target_link_uri", "/o/acme")],
        )
        .await;
    assert_refused_and_signed_out(
        &form,
        &response,
        StatusCode::BAD_REQUEST,
        NOT_ISSUED_BY_YOUR_OKTA,
    )
    .await;
    assert_eq!(app.simulator.stats("acme").await.discovery, 0);
}

#[tokio::test]
async fn a_tile_link_naming_another_or_a_lookalike_issuer_is_refused_before_contacting_anyone() {
    let app = spawn_app().await;
    let acme = app.issuer("acme");
    let https_variant = acme.replacen("http://", "https://", 1);
    for (why, iss) in [
        ("a lookalike host", format!("{acme}.evil.example")),
        ("a trailing slash", format!("{acme}/")),
        ("a path below the issuer", format!("{acme}/oauth2/default")),
        ("another org's issuer", app.issuer("globex").to_owned()),
        ("the https:// variant", https_variant),
        ("upper case", acme.to_uppercase()),
        ("an empty iss", String::new()),
    ] {
        let browser = app.browser();
        let response = browser
            .get(initiate_url(&app, ACME_OKTA, &[("iss", &iss)]))
            .await;
        assert!(
            response.location().is_none(),
            "{why} ({iss:?}) redirected: {response:#?}"
        );
        assert_refused_and_signed_out(
            &browser,
            &response,
            StatusCode::BAD_REQUEST,
            NOT_ISSUED_BY_YOUR_OKTA,
        )
        .await;
    }

    // Neither org was asked anything: no discovery (the lookalike hosts do not even exist).
    for org in ["acme", "globex"] {
        let stats = app.simulator.stats(org).await;
        assert_eq!(
            (stats.discovery, stats.authorize),
            (0, 0),
            "{org}: {stats:?}"
        );
    }
}

#[tokio::test]
async fn a_tile_link_for_an_unknown_instance_is_not_found() {
    let app = spawn_app().await;
    let browser = app.browser();

    let response = browser
        .get(initiate_url(
            &app,
            "no-such-instance",
            &[("iss", app.issuer("acme"))],
        ))
        .await;

    assert_refused_and_signed_out(
        &browser,
        &response,
        StatusCode::NOT_FOUND,
        reason::UNKNOWN_INSTANCE,
    )
    .await;
    assert_eq!(app.simulator.stats("acme").await.discovery, 0);
}

#[tokio::test]
async fn a_tile_link_for_a_disabled_instance_or_a_suspended_org_shows_the_logins_not_found_page() {
    let app = spawn_app().await;
    registry::set_enabled(
        &app.db,
        &InstanceId::parse(GLOBEX_ENG).unwrap(),
        false,
        &Actor::Operator,
    )
    .await
    .unwrap();
    let suspend = TenantChanges {
        status: Some(TenantStatus::Suspended),
        ..TenantChanges::default()
    };
    registry::update_tenant(
        &app.db,
        &TenantSlug::parse("acme").unwrap(),
        suspend,
        &Actor::Operator,
    )
    .await
    .unwrap();

    for (why, org, instance) in [
        ("disabled instance", "globex", GLOBEX_ENG),
        ("suspended org", "acme", ACME_OKTA),
    ] {
        let browser = app.browser();
        let tile = browser
            .get(initiate_url(&app, instance, &[("iss", app.issuer(org))]))
            .await;
        let login = browser.login(instance, None, None).await;

        assert_refused_and_signed_out(
            &browser,
            &tile,
            StatusCode::NOT_FOUND,
            reason::UNKNOWN_INSTANCE,
        )
        .await;
        assert_eq!(login.status, StatusCode::NOT_FOUND, "{why}: {login:#?}");
        assert_eq!(tile.body, login.body, "{why}: the pages differ");
    }
    // The sibling of the disabled instance still starts sign-ins from its tile.
    let browser = app.browser();
    let sibling = browser
        .get(initiate_url(
            &app,
            GLOBEX_OPS,
            &[("iss", app.issuer("globex"))],
        ))
        .await;
    assert_sent_to_authorize(&app, "globex", &sibling);
}

/// Every way a link could send the browser off this site after sign-in.
fn open_redirects(app: &TestApp) -> Vec<String> {
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "%2F%2Fevil.example",
        "\\\\evil.example",
        "/%09/evil.example",
        "javascript:alert(1)",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("{}.evil.example/x", app.public_origin)])
    .collect()
}

#[tokio::test]
async fn a_target_link_pointing_off_site_lands_on_the_home_page() {
    let app = spawn_app().await;
    for evil in open_redirects(&app) {
        let browser = app.browser();
        let outcome = sign_in_from_tile(
            &browser,
            &app,
            ACME_OKTA,
            &[("iss", app.issuer("acme")), ("target_link_uri", &evil)],
        )
        .await;
        assert_eq!(outcome.landing(), "/", "target_link_uri={evil:?}");
        // The tampered link still signs the user in.
        assert_eq!(browser.session().await.0, StatusCode::OK, "{evil:?}");
    }
}

#[tokio::test]
async fn a_return_to_pointing_off_site_or_at_a_lookalike_origin_lands_on_the_home_page() {
    let app = spawn_app().await;
    // A same-origin absolute URL is not a path either: return_to takes paths only.
    let same_origin_url = format!("{}/o/acme", app.public_origin);
    for evil in open_redirects(&app).into_iter().chain([same_origin_url]) {
        let browser = app.browser();
        let outcome = browser.sign_in(ACME_OKTA, Some(&evil), None).await;
        assert_eq!(outcome.landing(), "/", "return_to={evil:?}");
        assert_eq!(browser.session().await.0, StatusCode::OK, "{evil:?}");
    }
}
