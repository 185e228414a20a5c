//! Signing out: the local session ends, then the browser goes to the instance's Okta to end
//! that session too (RP-initiated logout), and comes back to the "You are signed out" page.

use crate::backend::AppState;
use crate::backend::tokens::random_token;

/// Where the browser lands after signing out; `state` from Okta is never trusted, so the page
/// shows the same thing whatever comes back.
pub const SIGNED_OUT_PATH: &str = "/signed-out";

/// Ends the session `token` names (if any) and returns where to send the browser: the
/// issuer's `end_session_endpoint` with `id_token_hint`, the instance's registered sign-out
/// URL and a fresh `state`; or straight to [`SIGNED_OUT_PATH`] when there was no session or the
/// issuer offers no end-session endpoint.
pub async fn sign_out(app: &AppState, token: Option<&str>) -> Result<String, sqlx::Error> {
    let Some(token) = token else {
        return Ok(SIGNED_OUT_PATH.to_owned());
    };
    let Some(ended) = app.sessions.end(&app.db, token).await? else {
        return Ok(SIGNED_OUT_PATH.to_owned());
    };
    let provider = match app.providers.provider(&ended.issuer).await {
        Ok(provider) => provider,
        Err(error) => {
            // Signed out here already; Okta's session outlives this one, as if it had no
            // end-session endpoint.
            tracing::warn!(issuer = %ended.issuer, %error, "cannot reach the issuer to sign out there");
            return Ok(SIGNED_OUT_PATH.to_owned());
        }
    };
    let post_logout_redirect_uri = ended
        .post_logout_uri
        .unwrap_or_else(|| app.settings.public_url.sign_out_redirect_url());
    Ok(provider
        .end_session_url(
            ended.id_token.as_deref(),
            &post_logout_redirect_uri,
            &random_token(),
        )
        .unwrap_or_else(|| SIGNED_OUT_PATH.to_owned()))
}
