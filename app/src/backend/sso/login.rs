//! Starting a sign-in: from the SPA, a bookmark or Okta's tile.

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};

use super::flows::PendingFlow;
use super::{SsoError, providers};
use crate::backend::AppState;
use crate::backend::db::now;
use crate::backend::registry;
use crate::backend::tokens::digest;
use crate::domain::{InstanceId, ReturnPath};

pub struct LoginRequest {
    pub return_to: ReturnPath,
    /// Forwarded to Okta to preselect the account; dropped if it is not plausible text.
    pub login_hint: Option<String>,
}

/// Creates a pending flow (PKCE S256, state, nonce) bound to `browser_binding` and returns the
/// issuer's authorization URL to redirect the browser to.
pub async fn start(
    app: &AppState,
    instance: &InstanceId,
    request: LoginRequest,
    browser_binding: &str,
) -> Result<String, SsoError> {
    let credentials =
        registry::enabled_credentials(&mut *app.sign_in_db.acquire().await?, &app.vault, instance)
            .await?
            .ok_or(SsoError::UnknownInstance)?;
    let issuer = credentials.instance.issuer.clone();
    let metadata = app.providers.metadata(&issuer).await?;
    let client = providers::client(
        &metadata,
        &credentials,
        &credentials.client_secret,
        app.settings.public_url.callback_url(instance),
    )?;

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut authorize = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge);
    if let Some(hint) = request.login_hint.filter(|hint| is_plausible_hint(hint)) {
        authorize = authorize.add_extra_param("login_hint", hint);
    }
    let (url, state, nonce) = authorize.url();

    let ttl = i64::try_from(app.settings.flow_ttl.as_secs()).unwrap_or(600);
    let flow = PendingFlow {
        instance: instance.clone(),
        issuer,
        browser_hash: digest(browser_binding),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        return_to: request.return_to,
        expires_at: now() + ttl,
    };
    app.flows
        .store(&app.sign_in_db, state.secret(), flow)
        .await?;
    Ok(url.into())
}

fn is_plausible_hint(hint: &str) -> bool {
    !hint.is_empty() && hint.len() <= 256 && !hint.chars().any(char::is_control)
}
