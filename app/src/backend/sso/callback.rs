//! Finishing a sign-in: the redirect back from Okta to `/sso/{instance}/callback`.

use serde::Deserialize;
use sqlx::AnyConnection;

use super::binding::BrowserBinding;
use super::flows::{PendingFlow, Tester};
use super::provider::{IdTokenExpectations, Provider, Tokens};
use super::test_sign_in::{self, TestReport};
use super::{SsoError, idp_text};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::now;
use crate::backend::registry::{self, ClockSkew, InstanceCredentials, SecretSlot, domains};
use crate::backend::sessions::{SessionToken, VerifiedIdentity};
use crate::backend::{AppState, admins};
use crate::domain::{InstanceId, IssuerUrl, ReturnPath};

/// The authorization response's query parameters. Not `Debug`: it holds the code.
#[derive(Deserialize, Default)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// How a callback ended well.
pub enum Finished {
    SignedIn(SignedIn),
    /// A tenant admin's test sign-in: no session, a report.
    Tested(TestReport),
}

/// What the browser's cookies bring to the callback.
#[derive(Default, Clone, Copy)]
pub struct BrowserCookies<'a> {
    /// The session this sign-in replaces.
    pub session: Option<&'a str>,
    /// A setup link's token: a sign-in through the instance it added makes its holder the
    /// org's first admin.
    pub setup_link: Option<&'a str>,
}

pub struct SignedIn {
    pub session: SessionToken,
    /// This sign-in used up the browser's setup link: its cookie can go.
    pub became_first_admin: bool,
    /// The email, else the subject: how the audit trail names them.
    pub who: String,
    pub return_to: ReturnPath,
}

/// Takes the flow, checks binding, instance and `iss`, exchanges the code with this
/// instance's secret (the next one on `invalid_client`), verifies the ID token and opens a
/// session in place of the browser's previous one. The flow is consumed whatever happens.
/// A test flow ends in a [`TestReport`] instead, for the one who started it only.
pub async fn finish(
    app: &AppState,
    instance: &InstanceId,
    params: CallbackParams,
    binding: &BrowserBinding,
    cookies: BrowserCookies<'_>,
) -> Result<Finished, SsoError> {
    let state = params
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(SsoError::UnknownFlow)?;
    // The flow and the credentials on one checkout, released before any call to the IdP.
    let mut conn = app.sign_in_db.acquire().await?;
    let flow = app
        .flows
        .take(&mut conn, state)
        .await?
        .ok_or(SsoError::UnknownFlow)?;
    if !binding.matches(&flow.browser_hash) || flow.instance != *instance {
        return Err(SsoError::FlowMismatch);
    }
    if let Some(tester) = &flow.tested_by {
        let credentials = registry::test_credentials(&mut *conn, &app.vault, instance)
            .await?
            .ok_or(SsoError::UnknownInstance)?;
        let actor = tester_actor(app, &mut conn, tester, cookies).await?;
        drop(conn);
        return test(app, params, &flow, &credentials, actor).await;
    }
    let credentials = registry::enabled_credentials(&mut *conn, &app.vault, instance)
        .await?
        .ok_or(SsoError::UnknownInstance)?;
    drop(conn);

    let outcome = complete(app, params, &flow, &credentials, cookies).await;
    record_outcome(app, &credentials, &outcome).await;
    outcome.map(Finished::SignedIn)
}

/// A test flow reaches its report only in the browser session of the admin who started it,
/// or the browser holding the setup link that did; the audit trail names them.
async fn tester_actor(
    app: &AppState,
    conn: &mut AnyConnection,
    tester: &Tester,
    cookies: BrowserCookies<'_>,
) -> Result<Actor, SsoError> {
    match tester {
        Tester::Admin(admin) => {
            let user = match cookies.session {
                Some(token) => app.sessions.find(&app.db, token).await?,
                None => None,
            };
            match user.filter(|user| user.user_id == *admin) {
                Some(user) => Ok(Actor::TenantAdmin(user.email.unwrap_or(user.sub))),
                None => Err(SsoError::FlowMismatch),
            }
        }
        Tester::SetupLink(link) => {
            let grant = match cookies.setup_link {
                Some(token) => registry::open_setup_link(conn, token).await?,
                None => None,
            };
            match grant.filter(|grant| grant.link_id == *link) {
                Some(grant) => Ok(grant.actor()),
                None => Err(SsoError::FlowMismatch),
            }
        }
    }
}

async fn test(
    app: &AppState,
    params: CallbackParams,
    flow: &PendingFlow,
    credentials: &InstanceCredentials,
    actor: Actor,
) -> Result<Finished, SsoError> {
    let report = test_sign_in::run(app, params, flow, credentials).await;
    let instance = &credentials.instance;
    let event = Event {
        actor: &actor,
        action: "instance.test_sign_in",
        tenant: Some(&instance.tenant),
        instance: Some(&instance.id),
        succeeded: report.passed(),
        detail: report
            .failure()
            .map_or_else(|| "every check passed".to_owned(), str::to_owned),
    };
    audit::record(&mut *app.sign_in_db.acquire().await?, event).await?;
    Ok(Finished::Tested(report))
}

/// What follows the flow's checks: everything that can go wrong here is the instance's
/// business, so its admins see it in the audit trail.
async fn complete(
    app: &AppState,
    params: CallbackParams,
    flow: &PendingFlow,
    credentials: &InstanceCredentials,
    cookies: BrowserCookies<'_>,
) -> Result<SignedIn, SsoError> {
    let provider = app.providers.provider(&flow.issuer).await?;
    check_response_issuer(
        params.iss.as_deref(),
        &flow.issuer,
        provider.requires_response_iss(),
    )?;
    if let Some(code) = params.error {
        return Err(SsoError::ProviderDenied {
            code: idp_text(&code),
            description: idp_text(&params.error_description.unwrap_or_default()),
        });
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or(SsoError::MissingCode)?;
    if credentials.instance.issuer != flow.issuer {
        return Err(SsoError::IssuerMismatch(
            "the instance's issuer changed during sign-in".into(),
        ));
    }
    let tokens = exchange(app, &provider, credentials, flow, &code).await?;

    let at = now();
    let expected = IdTokenExpectations {
        client_id: &credentials.instance.client_id,
        nonce: &flow.nonce,
        access_token: tokens.access_token(),
        leeway_secs: app.settings.clock_leeway.as_secs(),
        now: at,
    };
    let mut claims = provider
        .verify_id_token(&tokens.id_token, &expected)
        .await?;
    let instance = &credentials.instance;
    if let Some(skew) = ClockSkew::next(instance.clock_skew, at - claims.iat, at) {
        registry::record_clock_skew(&app.db, &instance.id, skew).await?;
    }
    if claims.name.is_none() || claims.email.is_none() {
        // A userinfo `sub` other than the ID token's means a substituted token: refuse.
        if let Some(info) = provider.userinfo(tokens.access_token()).await? {
            if info.sub != claims.sub {
                return Err(SsoError::InvalidIdToken(
                    "userinfo sub differs from the ID token's".into(),
                ));
            }
            claims.name = claims.name.take().or(info.name);
            claims.email = claims.email.take().or(info.email);
        }
    }
    let identity = VerifiedIdentity {
        instance: flow.instance.clone(),
        issuer: flow.issuer.clone(),
        sub: claims.sub,
        name: claims.name,
        email: claims.email,
    };

    let mut conn = app.sign_in_db.acquire().await?;
    let tenant = &credentials.instance.tenant;
    if !domains::sign_in_rule_admits(&mut conn, tenant, identity.email.as_deref()).await? {
        return Err(SsoError::OutsideVerifiedDomains(
            identity.email.unwrap_or(identity.sub),
        ));
    }
    let session = app
        .sessions
        .sign_in(&mut conn, &identity, &tokens.id_token, cookies.session)
        .await?;
    admins::honour_invitation(
        &mut conn,
        &identity.instance,
        &identity.issuer,
        &identity.sub,
        identity.email.as_deref(),
    )
    .await?;
    let became_first_admin = match cookies.setup_link {
        Some(token) => registry::claim_setup_link(&mut conn, token, &identity).await?,
        None => false,
    };
    Ok(SignedIn {
        session,
        became_first_admin,
        who: identity.email.unwrap_or(identity.sub),
        return_to: flow.return_to.clone(),
    })
}

/// One audit event per sign-in that reached its instance: who signed in, or why not.
/// Storage failures are ours, logged and not the admins' concern; so is a failure to record.
async fn record_outcome(
    app: &AppState,
    credentials: &InstanceCredentials,
    outcome: &Result<SignedIn, SsoError>,
) {
    let reason = outcome.as_ref().err().map_or("none", SsoError::kind);
    let result = if outcome.is_ok() {
        "success"
    } else {
        "failure"
    };
    metrics::counter!("orgpass_sign_ins_total", "outcome" => result, "reason" => reason)
        .increment(1);
    let (actor, succeeded, detail) = match outcome {
        Ok(signed_in) => (
            Actor::EndUser(signed_in.who.clone()),
            true,
            format!("{} signed in", signed_in.who),
        ),
        Err(SsoError::Database(_) | SsoError::Registry(_)) => return,
        Err(error @ SsoError::OutsideVerifiedDomains(who)) => {
            (Actor::EndUser(who.clone()), false, error.audit_reason())
        }
        Err(error) => (Actor::IdentityProvider, false, error.audit_reason()),
    };
    let instance = &credentials.instance;
    let event = Event {
        actor: &actor,
        action: "sign_in",
        tenant: Some(&instance.tenant),
        instance: Some(&instance.id),
        succeeded,
        detail,
    };
    let recorded = match app.sign_in_db.acquire().await {
        Ok(mut conn) => audit::record(&mut conn, event).await,
        Err(error) => Err(error),
    };
    if let Err(error) = recorded {
        tracing::error!(%error, instance = %instance.id, "a sign-in's audit event was not recorded");
    }
}

/// The code exchange with the instance's current secret; while Okta keeps two secrets active,
/// once more with the next one on `invalid_client`. The secret that worked is recorded for
/// the settings page.
pub(super) async fn exchange(
    app: &AppState,
    provider: &Provider<'_>,
    credentials: &InstanceCredentials,
    flow: &PendingFlow,
    code: &str,
) -> Result<Tokens, SsoError> {
    let redirect_uri = app.settings.public_url.callback_url(&flow.instance);
    let current = provider
        .exchange(
            credentials,
            &credentials.client_secret,
            redirect_uri.clone(),
            code,
            &flow.pkce_verifier,
        )
        .await;
    let (tokens, slot) = match (current, &credentials.next_secret) {
        (Err(SsoError::InvalidClient), Some(next_secret)) => {
            let tokens = provider
                .exchange(
                    credentials,
                    next_secret,
                    redirect_uri,
                    code,
                    &flow.pkce_verifier,
                )
                .await?;
            (tokens, SecretSlot::Next)
        }
        (current, _) => (current?, SecretSlot::Current),
    };
    if credentials.instance.working_secret != Some(slot) {
        registry::record_working_secret(&app.db, &flow.instance, slot).await?;
    }
    Ok(tokens)
}

/// RFC 9207: an `iss` that is present must be the flow's issuer; it must be present when the
/// issuer advertises it.
pub(super) fn check_response_issuer(
    iss: Option<&str>,
    expected: &IssuerUrl,
    required: bool,
) -> Result<(), SsoError> {
    match iss {
        Some(iss) if iss.trim_end_matches('/') == expected.as_str() => Ok(()),
        Some(iss) => Err(SsoError::IssuerMismatch(format!(
            "'{}' is not '{expected}'",
            idp_text(iss)
        ))),
        None if required => Err(SsoError::IssuerMismatch("missing iss parameter".into())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod properties {
    use axum::extract::Query;
    use axum::http::Uri;
    use proptest::prelude::*;

    use super::{CallbackParams, check_response_issuer};
    use crate::domain::IssuerUrl;

    const NAMES: [&str; 5] = ["state", "code", "iss", "error", "error_description"];

    /// A query string near a callback's: known and unknown names, repeated names, values
    /// with `+`, stray or invalid `%` escapes, escaped non-UTF-8 bytes; and any text.
    fn query_like() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
            "[a-z_%=+]{0,6}",
        ];
        let value = prop_oneof![
            "[A-Za-z0-9._~:/?@!$'()*,;=+-]{0,12}",
            "(%[0-9A-Fa-f]{2}|%[^0-9A-Fa-f]?|[a-z+])*",
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

    /// What axum's `Query` extractor makes of this query string (as `callback` gets it), or
    /// `None` when the text is no URI at all, which the HTTP server refuses first.
    fn extract(query: &str) -> Option<Result<CallbackParams, String>> {
        let uri: Uri = format!("/sso/acme-okta/callback?{query}").parse().ok()?;
        Some(
            Query::<CallbackParams>::try_from_uri(&uri)
                .map(|Query(params)| params)
                .map_err(|rejection| rejection.to_string()),
        )
    }

    fn issuer() -> IssuerUrl {
        IssuerUrl::from_trusted_storage("https://acme.okta.com".to_owned())
    }

    proptest! {
        #[test]
        fn an_arbitrary_callback_query_string_never_panics(query in query_like()) {
            let _ = extract(&query);
        }

        #[test]
        fn callback_parameters_sent_form_encoded_arrive_as_they_were_sent(
            values in prop::collection::vec(prop::option::of(any::<String>()), 5),
            junk in prop::option::of(("[a-z]{1,8}", any::<String>())),
        ) {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in NAMES.iter().zip(&values) {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            if let Some((name, value)) = &junk
                && !NAMES.contains(&name.as_str())
            {
                query.append_pair(name, value);
            }
            let query = query.finish();
            let params = extract(&query)
                .expect("form encoding makes a URI")
                .expect("it deserializes");
            let got =
                [params.state, params.code, params.iss, params.error, params.error_description];
            prop_assert_eq!(got.to_vec(), values);
        }

        #[test]
        fn an_arbitrary_iss_matches_only_the_flow_issuer(
            iss in prop::option::of(prop_oneof![
                any::<String>(),
                "https://acme\\.okta\\.com/{0,3}",
                "https://acme\\.okta\\.com[/.a-z]{0,4}",
            ]),
            required in any::<bool>(),
        ) {
            let verdict = check_response_issuer(iss.as_deref(), &issuer(), required);
            let matches = match iss.as_deref() {
                Some(iss) => iss.trim_end_matches('/') == "https://acme.okta.com",
                None => !required,
            };
            prop_assert_eq!(verdict.is_ok(), matches);
        }
    }
}
