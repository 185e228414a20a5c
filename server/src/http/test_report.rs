//! The page a test sign-in ends on: each check, the claims Okta sent, the clock skew, and
//! what to change in Okta when a check failed. Plain HTML (it opens in its own tab), every
//! value escaped; no token, code or secret is in it.

use app::backend::sso::provider::probe::Outcome;
use app::backend::sso::test_sign_in::TestReport;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error_page::{escape, page, private};

pub struct TestReportPage(pub TestReport);

impl IntoResponse for TestReportPage {
    fn into_response(self) -> Response {
        // The callback URL carried the code.
        private(StatusCode::OK, render(&self.0))
    }
}

fn render(report: &TestReport) -> String {
    let (verdict, class) = if report.passed() {
        (
            "Every check passed: people can sign in through this instance.",
            "notice info",
        )
    } else {
        ("The test sign-in failed.", "notice error")
    };
    let advice = report
        .advice
        .as_deref()
        .map(|advice| {
            format!(
                r#"<p class="reason"><strong>What to change:</strong> {}</p>"#,
                escape(advice)
            )
        })
        .unwrap_or_default();
    let steps: String = report
        .steps
        .iter()
        .map(|step| {
            let (mark, class) = match step.outcome {
                Outcome::Passed => ("Passed", "badge ok"),
                Outcome::Failed => ("Failed", "badge bad"),
                Outcome::Skipped => ("Not run", "badge off"),
            };
            format!(
                r#"<li class="check"><span class="{class}">{mark}</span><span class="check-name">{}</span><span class="muted small check-detail">{}</span></li>"#,
                escape(step.name),
                escape(&step.detail)
            )
        })
        .collect();
    let skew = report
        .clock_skew_secs
        .map(|skew| {
            let warning = if skew.abs() > 30 { " (more than 30 seconds: check the server's time)" } else { "" };
            format!(
                r#"<p data-testid="clock-skew">Clock skew: this server's time minus the token's <code>iat</code> is {skew} s{warning}.</p>"#
            )
        })
        .unwrap_or_default();
    let id_token = claims_table("ID token claims", report.id_token_claims.as_ref());
    let userinfo = claims_table("Userinfo claims", report.userinfo_claims.as_ref());
    let body = format!(
        r#"<section class="card">
<p class="eyebrow">Test sign-in · no session was opened</p>
<h1>{label}</h1>
<p class="muted small">{issuer}</p>
<div class="{class}" role="status"><p class="notice-title">{verdict}</p>{advice}</div>
<h2>Checks</h2>
<ul class="checks plain" aria-label="Checks">{steps}</ul>
{skew}
{id_token}
{userinfo}
<p><a class="button secondary" href="/settings">Back to settings</a></p>
</section>"#,
        label = escape(&report.instance_label),
        issuer = escape(&report.issuer),
    );
    page("Test sign-in", "page report", &body)
}

fn claims_table(title: &str, claims: Option<&Value>) -> String {
    let Some(Value::Object(claims)) = claims else {
        return String::new();
    };
    let rows: String = claims
        .iter()
        .map(|(name, value)| {
            let shown = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            format!(
                "<dt><code>{}</code></dt><dd>{}</dd>",
                escape(name),
                escape(&shown)
            )
        })
        .collect();
    format!(r#"<h2>{title}</h2><dl class="facts claims" aria-label="{title}">{rows}</dl>"#)
}
