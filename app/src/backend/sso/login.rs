//! Starting a sign-in: from the SPA, a bookmark ([`start`]) or Okta's tile ([`initiate`]).

use super::SsoError;
use super::binding::BrowserBinding;
use super::flows::{PendingFlow, Tester};
use crate::backend::AppState;
use crate::backend::auth::Configurer;
use crate::backend::db::now;
use crate::backend::registry::{self, InstanceCredentials};
use crate::domain::{InstanceId, ReturnPath};

pub struct LoginRequest {
    pub return_to: ReturnPath,
    /// Forwarded to Okta to preselect the account; dropped if it is not plausible text.
    pub login_hint: Option<String>,
}

/// What Okta's tile sends to the initiate-login URI (OIDC Core §4).
pub struct InitiateRequest {
    /// Required: the issuer that initiated the sign-in.
    pub iss: Option<String>,
    pub login_hint: Option<String>,
    /// Where the user wants to land; kept only when it is on this site.
    pub target_link_uri: Option<String>,
}

/// Creates a pending flow (PKCE S256, state, nonce) bound to `binding` and returns the
/// issuer's authorization URL to redirect the browser to.
pub async fn start(
    app: &AppState,
    instance: &InstanceId,
    request: LoginRequest,
    binding: &BrowserBinding,
) -> Result<String, SsoError> {
    let credentials = enabled_credentials(app, instance).await?;
    begin(app, &credentials, request, binding, None).await
}

/// A test sign-in through one of the org's instances, active or not, by an admin or the
/// setup link that added it: its callback shows them what Okta sent and opens no session.
/// Another org's instance is [`SsoError::UnknownInstance`].
pub async fn start_test(
    app: &AppState,
    instance: &InstanceId,
    configurer: &Configurer,
    binding: &BrowserBinding,
) -> Result<String, SsoError> {
    let credentials =
        registry::test_credentials(&mut *app.sign_in_db.acquire().await?, &app.vault, instance)
            .await?
            .filter(|credentials| credentials.instance.tenant == configurer.tenant)
            .ok_or(SsoError::UnknownInstance)?;
    let request = LoginRequest {
        return_to: ReturnPath::parse_or_default(Some("/settings")),
        login_hint: None,
    };
    begin(
        app,
        &credentials,
        request,
        binding,
        Some(configurer.tester.clone()),
    )
    .await
}

/// Okta's tile ("Login initiated by Okta"): `iss` must be the instance's issuer exactly,
/// compared before anything is fetched, so an unknown `iss` never causes a discovery request.
/// Then a fresh SP-initiated flow starts, as [`start`] does.
pub async fn initiate(
    app: &AppState,
    instance: &InstanceId,
    request: InitiateRequest,
    binding: &BrowserBinding,
) -> Result<String, SsoError> {
    let credentials = enabled_credentials(app, instance).await?;
    match request.iss.as_deref() {
        Some(iss) if iss == credentials.instance.issuer.as_str() => {}
        Some(_) => return Err(SsoError::UnexpectedInitiator),
        None => return Err(SsoError::MissingInitiator),
    }
    let return_to = ReturnPath::from_target_link(
        request.target_link_uri.as_deref(),
        app.settings.public_url.origin(),
    );
    let request = LoginRequest {
        return_to,
        login_hint: request.login_hint,
    };
    begin(app, &credentials, request, binding, None).await
}

async fn enabled_credentials(
    app: &AppState,
    instance: &InstanceId,
) -> Result<InstanceCredentials, SsoError> {
    registry::enabled_credentials(&mut *app.sign_in_db.acquire().await?, &app.vault, instance)
        .await?
        .ok_or(SsoError::UnknownInstance)
}

async fn begin(
    app: &AppState,
    credentials: &InstanceCredentials,
    request: LoginRequest,
    binding: &BrowserBinding,
    tested_by: Option<Tester>,
) -> Result<String, SsoError> {
    let instance = &credentials.instance.id;
    let provider = app.providers.provider(&credentials.instance.issuer).await?;
    let hint = request
        .login_hint
        .as_deref()
        .filter(|hint| is_plausible_hint(hint));
    let authorization = provider.authorize_url(
        credentials,
        app.settings.public_url.callback_url(instance),
        hint,
    )?;
    let ttl = i64::try_from(app.settings.flow_ttl.as_secs()).unwrap_or(600);
    let flow = PendingFlow {
        instance: instance.clone(),
        issuer: credentials.instance.issuer.clone(),
        browser_hash: binding.digest(),
        nonce: authorization.nonce,
        pkce_verifier: authorization.pkce_verifier,
        return_to: request.return_to,
        expires_at: now() + ttl,
        tested_by,
    };
    app.flows
        .store(&app.sign_in_db, &authorization.state, flow)
        .await?;
    metrics::counter!("orgpass_login_starts_total").increment(1);
    Ok(authorization.url)
}

fn is_plausible_hint(hint: &str) -> bool {
    !hint.is_empty() && hint.len() <= 256 && !hint.chars().any(char::is_control)
}
