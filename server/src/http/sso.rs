use app::backend::AppState;
use app::backend::auth;
use app::backend::cookies;
use app::backend::sso::callback::{self, BrowserCookies, CallbackParams, Finished};
use app::backend::sso::login::{self, InitiateRequest, LoginRequest};
use app::backend::sso::{BrowserBinding, SsoError};
use app::domain::{InstanceId, ReturnPath};
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::error_page::{NotAllowed, SignInFailed};
use super::test_report::TestReportPage;

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    login_hint: Option<String>,
}

/// `GET /sso/{instance}/login?return_to=/path&login_hint=…` → 302 to the instance's Okta.
pub async fn login(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    binding: BrowserBinding,
    Query(query): Query<LoginQuery>,
) -> Result<Response, SignInFailed> {
    let instance = InstanceId::parse(&instance).map_err(|_| SsoError::UnknownInstance)?;
    let request = LoginRequest {
        return_to: ReturnPath::parse_or_default(query.return_to.as_deref()),
        login_hint: query.login_hint,
    };
    let authorize_url = login::start(&app, &instance, request, &binding).await?;
    Ok(to_okta(&app, &binding, authorize_url))
}

/// What Okta's tile sends, in the query (GET) or a form (POST).
#[derive(Deserialize)]
pub struct InitiateParams {
    iss: Option<String>,
    login_hint: Option<String>,
    target_link_uri: Option<String>,
}

impl From<InitiateParams> for InitiateRequest {
    fn from(params: InitiateParams) -> Self {
        Self {
            iss: params.iss,
            login_hint: params.login_hint,
            target_link_uri: params.target_link_uri,
        }
    }
}

/// `GET /sso/{instance}/initiate?iss=…[&login_hint][&target_link_uri]` → 302 to Okta.
pub async fn initiate_get(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    binding: BrowserBinding,
    Query(params): Query<InitiateParams>,
) -> Result<Response, SignInFailed> {
    initiate(app, instance, binding, params).await
}

/// `POST /sso/{instance}/initiate` with the same parameters as a form.
pub async fn initiate_post(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    binding: BrowserBinding,
    Form(params): Form<InitiateParams>,
) -> Result<Response, SignInFailed> {
    initiate(app, instance, binding, params).await
}

async fn initiate(
    app: AppState,
    instance: String,
    binding: BrowserBinding,
    params: InitiateParams,
) -> Result<Response, SignInFailed> {
    let instance = InstanceId::parse(&instance).map_err(|_| SsoError::UnknownInstance)?;
    let authorize_url = login::initiate(&app, &instance, params.into(), &binding).await?;
    Ok(to_okta(&app, &binding, authorize_url))
}

/// `GET /sso/{instance}/test` → 302 to Okta for a test sign-in, which opens no session (see
/// `app::backend::sso::test_sign_in`): for admins of the instance's org, and for the setup link
/// that added it.
pub async fn test(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    binding: BrowserBinding,
    request: Request,
) -> Result<Response, Response> {
    let instance = InstanceId::parse(&instance)
        .map_err(|_| SignInFailed(SsoError::UnknownInstance).into_response())?;
    let (mut parts, _) = request.into_parts();
    let configurer = auth::instance_configurer(&mut parts, &app, &instance)
        .await
        .map_err(|refusal| NotAllowed(refusal).into_response())?;
    let authorize_url = login::start_test(&app, &instance, &configurer, &binding)
        .await
        .map_err(|error| SignInFailed(error).into_response())?;
    Ok(to_okta(&app, &binding, authorize_url))
}

fn to_okta(app: &AppState, binding: &BrowserBinding, authorize_url: String) -> Response {
    let jar = CookieJar::new().add(binding.cookie(app));
    (StatusCode::FOUND, jar, [(header::LOCATION, authorize_url)]).into_response()
}

/// `GET /sso/{instance}/callback?code&state&iss` → session cookie and 303 to `return_to`.
pub async fn callback(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    binding: BrowserBinding,
    jar: CookieJar,
    Query(params): Query<CallbackParams>,
) -> Result<Response, SignInFailed> {
    let instance = InstanceId::parse(&instance).map_err(|_| SsoError::UnknownInstance)?;
    let browser = BrowserCookies {
        session: jar
            .get(cookies::session_name(&app.settings))
            .map(|cookie| cookie.value()),
        setup_link: jar
            .get(cookies::setup_link_name(&app.settings))
            .map(|cookie| cookie.value()),
    };
    let signed_in = match callback::finish(&app, &instance, params, &binding, browser).await? {
        Finished::SignedIn(signed_in) => signed_in,
        Finished::Tested(report) => return Ok(TestReportPage(report).into_response()),
    };
    let mut jar = jar.add(cookies::session(&app.settings, signed_in.session.expose()));
    if signed_in.became_first_admin {
        jar = jar.add(cookies::setup_link_removal(&app.settings));
    }
    let mut response = (jar, Redirect::to(signed_in.return_to.as_str())).into_response();
    // The callback URL carried the code: do not leak it to the next page (RFC 9700 §4.2.4).
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[cfg(test)]
mod properties {
    use axum::body::Body;
    use axum::extract::FromRequest;
    use proptest::prelude::*;

    use super::*;

    const ORIGIN: &str = "https://orgpass.example.com";
    const NAMES: [&str; 3] = ["iss", "login_hint", "target_link_uri"];

    /// A query string or form body near the initiate and login ones: known and unknown names,
    /// repeats, `+`, stray or invalid `%` escapes, escaped non-UTF-8 bytes; and any text.
    fn query_like() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            prop::sample::select(vec!["iss", "login_hint", "target_link_uri", "return_to"])
                .prop_map(str::to_owned),
            "[a-z_%=+]{0,6}",
        ];
        let value = prop_oneof![
            "[A-Za-z0-9._~:/?@!$'()*,;=+-]{0,12}",
            "(%[0-9A-Fa-f]{2}|%[^0-9A-Fa-f]?|[a-z+/\\\\])*",
            any::<String>(),
        ];
        let pair = (name, prop::option::of(value)).prop_map(|(name, value)| match value {
            Some(value) => format!("{name}={value}"),
            None => name,
        });
        prop_oneof![
            prop::collection::vec(pair, 0..7).prop_map(|pairs| pairs.join("&")),
            any::<String>(),
        ]
    }

    fn uri(path: &str, query: &str) -> Option<axum::http::Uri> {
        format!("{path}?{query}").parse().ok()
    }

    /// What `Form` makes of a POST body, as `initiate_post` gets it.
    fn form(body: Vec<u8>) -> Result<InitiateParams, String> {
        let request = Request::post("/sso/acme-okta/initiate")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a request");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime
            .block_on(Form::<InitiateParams>::from_request(request, &()))
            .map(|Form(params)| params)
            .map_err(|rejection| rejection.body_text())
    }

    /// Where a sign-in started this way would land: always a path on this site.
    fn lands_on_this_site(params: InitiateParams) -> Result<(), TestCaseError> {
        let request = InitiateRequest::from(params);
        let path = ReturnPath::from_target_link(request.target_link_uri.as_deref(), ORIGIN);
        prop_assert!(path.as_str().starts_with('/'), "{}", path);
        prop_assert!(!path.as_str()[1..].starts_with(['/', '\\']), "{}", path);
        Ok(())
    }

    proptest! {
        #[test]
        fn an_arbitrary_initiate_query_or_form_never_panics_and_lands_on_this_site(
            query in query_like(),
        ) {
            if let Some(uri) = uri("/sso/acme-okta/initiate", &query)
                && let Ok(Query(params)) = Query::<InitiateParams>::try_from_uri(&uri)
            {
                lands_on_this_site(params)?;
            }
            if let Ok(params) = form(query.into_bytes()) {
                lands_on_this_site(params)?;
            }
        }

        #[test]
        fn an_arbitrary_form_body_of_any_bytes_never_panics(
            body in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Ok(params) = form(body) {
                lands_on_this_site(params)?;
            }
        }

        #[test]
        fn an_arbitrary_login_query_never_panics_and_returns_to_this_site(query in query_like()) {
            if let Some(uri) = uri("/sso/acme-okta/login", &query)
                && let Ok(Query(query)) = Query::<LoginQuery>::try_from_uri(&uri)
            {
                let path = ReturnPath::parse_or_default(query.return_to.as_deref());
                prop_assert!(path.as_str().starts_with('/'), "{}", path);
                prop_assert!(!path.as_str()[1..].starts_with(['/', '\\']), "{}", path);
            }
        }

        #[test]
        fn initiate_parameters_sent_form_encoded_arrive_as_they_were_sent(
            values in prop::collection::vec(prop::option::of(any::<String>()), 3),
        ) {
            let mut encoded = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in NAMES.iter().zip(&values) {
                if let Some(value) = value {
                    encoded.append_pair(name, value);
                }
            }
            let encoded = encoded.finish();
            let uri = uri("/sso/acme-okta/initiate", &encoded).expect("form encoding makes a URI");
            let Query(by_get) =
                Query::<InitiateParams>::try_from_uri(&uri).expect("it deserializes");
            let by_post = form(encoded.into_bytes()).expect("it deserializes");
            for params in [by_get, by_post] {
                let got = vec![params.iss, params.login_hint, params.target_link_uri];
                prop_assert_eq!(&got, &values);
            }
        }
    }
}
