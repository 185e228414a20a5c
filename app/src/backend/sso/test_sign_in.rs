//! A tenant admin's test sign-in: the real flow through one of their org's instances (active
//! or not), which opens NO session and instead reports what Okta sent (the ID token's claims,
//! the userinfo claims), each check that passed, the one that failed with what to change in
//! Okta, and the clock skew the token's `iat` shows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::callback::{CallbackParams, check_response_issuer, exchange};
use super::flows::PendingFlow;
use super::provider::probe::Outcome;
use super::provider::{IdTokenExpectations, TokenError};
use super::verify::{Claim, Invalid};
use super::{SsoError, idp_text};
use crate::backend::AppState;
use crate::backend::db::now;
use crate::backend::registry::InstanceCredentials;

/// What the admin sees. No token, code or secret: only the claims decoded from the token.
pub struct TestReport {
    pub instance_label: String,
    pub issuer: String,
    pub steps: Vec<Step>,
    /// The ID token's claims as received (shown whether or not they verified).
    pub id_token_claims: Option<Value>,
    pub userinfo_claims: Option<Value>,
    /// Server time minus the token's `iat`, in seconds.
    pub clock_skew_secs: Option<i64>,
    /// What to change, when a step failed.
    pub advice: Option<String>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.steps
            .iter()
            .all(|step| step.outcome == Outcome::Passed)
    }

    /// The failed step's detail, for the audit trail.
    pub fn failure(&self) -> Option<&str> {
        self.steps
            .iter()
            .find(|step| step.outcome == Outcome::Failed)
            .map(|step| step.detail.as_str())
    }
}

pub struct Step {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

const ANSWER: &str = "Okta's answer";
const EXCHANGE: &str = "Code exchange with the client secret";
const FORMAT: &str = "ID token format and algorithm";
const SIGNATURE: &str = "Signature by a key the issuer publishes";
const USERINFO: &str = "Userinfo";

/// Every step, in order; those after a failure are reported as skipped.
fn step_names() -> Vec<&'static str> {
    let mut names = vec![ANSWER, EXCHANGE, FORMAT, SIGNATURE];
    names.extend(Claim::ID_TOKEN.iter().map(|claim| claim_name(*claim)));
    names.push(USERINFO);
    names
}

fn claim_name(claim: Claim) -> &'static str {
    match claim {
        Claim::Issuer => "Issuer (iss) is the instance's issuer",
        Claim::Audience => "Audience (aud) is the instance's client ID",
        Claim::Subject => "Subject (sub) is present",
        Claim::Expiry => "Not expired (exp)",
        Claim::NotBefore => "Already valid (nbf)",
        Claim::IssuedAt => "Issued at (iat) is not in the future",
        Claim::AuthorizedParty => "Authorized party (azp) is the client ID",
        Claim::Nonce => "Nonce is the one sent",
        Claim::AccessTokenHash => "Access token hash (at_hash) matches",
        Claim::Lifetime | Claim::TokenId => "Universal Logout token",
    }
}

/// Runs the rest of a test flow whose state, binding and instance were checked.
pub(super) async fn run(
    app: &AppState,
    params: CallbackParams,
    flow: &PendingFlow,
    credentials: &InstanceCredentials,
) -> TestReport {
    let mut report = TestReport {
        instance_label: credentials.instance.label.clone(),
        issuer: credentials.instance.issuer.to_string(),
        steps: Vec::new(),
        id_token_claims: None,
        userinfo_claims: None,
        clock_skew_secs: None,
        advice: None,
    };
    if let Err((name, error, advice)) = steps(app, params, flow, credentials, &mut report).await {
        report.steps.push(Step {
            name,
            outcome: Outcome::Failed,
            detail: error,
        });
        report.advice = Some(advice);
    }
    let done = report.steps.len();
    for name in step_names().into_iter().skip(done) {
        report.steps.push(Step {
            name,
            outcome: Outcome::Skipped,
            detail: String::new(),
        });
    }
    report
}

type Failure = (&'static str, String, String);

async fn steps(
    app: &AppState,
    params: CallbackParams,
    flow: &PendingFlow,
    credentials: &InstanceCredentials,
    report: &mut TestReport,
) -> Result<(), Failure> {
    let provider = app
        .providers
        .provider(&flow.issuer)
        .await
        .map_err(|error| {
            (
                ANSWER,
                error.audit_reason(),
                "Test the connection first.".to_owned(),
            )
        })?;
    check_response_issuer(
        params.iss.as_deref(),
        &flow.issuer,
        provider.requires_response_iss(),
    )
    .map_err(|error| {
        let advice = "The answer came from another issuer: enter the Okta domain exactly as \
                      Okta shows it.";
        (ANSWER, error.audit_reason(), advice.to_owned())
    })?;
    if let Some(code) = params.error {
        let error = SsoError::ProviderDenied {
            code: idp_text(&code),
            description: idp_text(&params.error_description.unwrap_or_default()),
        };
        let advice = if code == "access_denied" {
            "Assign yourself (or your group) to this app in Okta, then test again."
        } else {
            "Check the app's settings in Okta against the values on the settings page."
        };
        return Err((ANSWER, error.audit_reason(), advice.to_owned()));
    }
    let code = params
        .code
        .filter(|code| !code.is_empty())
        .ok_or_else(|| (ANSWER, "no code in the answer".to_owned(), String::new()))?;
    report.pass(ANSWER, "a code for this sign-in".to_owned());

    let tokens = exchange(app, &provider, credentials, flow, &code)
        .await
        .map_err(|error| {
            let advice = match error {
                SsoError::InvalidClient => "Okta refused the client ID or secret: paste them \
                                            again from the app in Okta."
                    .to_owned(),
                _ => format!(
                    "Check that the app's sign-in redirect URI in Okta is exactly {}.",
                    app.settings.public_url.callback_url(&flow.instance)
                ),
            };
            (EXCHANGE, error.audit_reason(), advice)
        })?;
    report.pass(EXCHANGE, "Okta issued the tokens".to_owned());

    let now = now();
    report.id_token_claims = decoded_claims(&tokens.id_token);
    report.clock_skew_secs = report
        .id_token_claims
        .as_ref()
        .and_then(|claims| claims.get("iat"))
        .and_then(Value::as_i64)
        .map(|iat| now - iat);
    let expected = IdTokenExpectations {
        client_id: &credentials.instance.client_id,
        nonce: &flow.nonce,
        access_token: tokens.access_token(),
        leeway_secs: app.settings.clock_leeway.as_secs(),
        now,
    };
    match provider.verify_id_token(&tokens.id_token, &expected).await {
        Ok(_) => {
            report.pass(FORMAT, String::new());
            report.pass(SIGNATURE, String::new());
            for claim in Claim::ID_TOKEN {
                report.pass(claim_name(claim), String::new());
            }
        }
        Err(error) => return Err(token_failure(error, report)),
    }
    match provider.userinfo(tokens.access_token()).await {
        Ok(Some(info)) => {
            report.userinfo_claims = Some(serde_json::json!({
                "sub": info.sub, "name": info.name, "email": info.email,
            }));
            report.pass(USERINFO, String::new());
        }
        Ok(None) => report.pass(USERINFO, "the issuer has no userinfo endpoint".to_owned()),
        Err(error) => {
            let advice = "Okta issued an access token its userinfo endpoint refuses.";
            return Err((USERINFO, error.audit_reason(), advice.to_owned()));
        }
    }
    Ok(())
}

/// Which ID token check failed: those before it passed.
fn token_failure(error: TokenError, report: &mut TestReport) -> Failure {
    let detail = error.to_string();
    let signature_advice = "The token is not signed by a key the issuer publishes: check the \
                            app's signing settings in Okta.";
    match error {
        TokenError::Invalid(Invalid::NotAJws | Invalid::Header(_) | Invalid::Malformed(_)) => (
            FORMAT,
            detail,
            "Okta must sign ID tokens (RS256) and not encrypt them.".to_owned(),
        ),
        TokenError::Invalid(Invalid::Signature)
        | TokenError::UnknownKey(_)
        | TokenError::KeysUnavailable(_) => {
            report.pass(FORMAT, String::new());
            (SIGNATURE, detail, signature_advice.to_owned())
        }
        TokenError::Invalid(Invalid::Claim(failed, _)) => {
            report.pass(FORMAT, String::new());
            report.pass(SIGNATURE, String::new());
            for claim in Claim::ID_TOKEN
                .into_iter()
                .take_while(|claim| *claim != failed)
            {
                report.pass(claim_name(claim), String::new());
            }
            (
                claim_name(failed),
                detail,
                claim_advice(failed, report.clock_skew_secs),
            )
        }
    }
}

fn claim_advice(claim: Claim, skew: Option<i64>) -> String {
    match claim {
        Claim::Audience | Claim::AuthorizedParty => {
            "The token was issued to another app: the client ID here must be this Okta app's."
                .to_owned()
        }
        Claim::Issuer => "Enter the Okta domain exactly as Okta shows the issuer.".to_owned(),
        Claim::Expiry | Claim::NotBefore | Claim::IssuedAt => format!(
            "The clocks of Okta and this server differ by {} seconds: check the server's time \
             synchronization (NTP).",
            skew.unwrap_or_default()
        ),
        Claim::Nonce => "The token belongs to another sign-in: test again.".to_owned(),
        _ => "Check the app's settings in Okta.".to_owned(),
    }
}

impl TestReport {
    fn pass(&mut self, name: &'static str, detail: String) {
        self.steps.push(Step {
            name,
            outcome: Outcome::Passed,
            detail,
        });
    }
}

/// The token's payload as JSON, unverified: for showing, never for deciding.
fn decoded_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}
