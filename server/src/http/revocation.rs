//! `POST /sso/{instance}/global-token-revocation`: Okta's Universal Logout. Okta reads only the
//! status; the body says briefly why, in OAuth's error words.

use app::backend::AppState;
use app::backend::sso::revocation::{self, RevocationError};
use app::domain::InstanceId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::middleware::LoggedError;

pub async fn revoke(
    State(app): State<AppState>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Refused> {
    let instance = InstanceId::parse(&instance).map_err(|_| RevocationError::UnknownInstance)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let outcome = revocation::revoke(&app, &instance, authorization, &body).await;
    let label = match &outcome {
        Ok(_) => "revoked",
        Err(RevocationError::RateLimited { .. }) => {
            metrics::counter!("orgpass_rate_limit_refusals_total", "limit" => "universal_logout")
                .increment(1);
            "rate_limited"
        }
        Err(RevocationError::InvalidToken(_) | RevocationError::Replayed) => "invalid_token",
        Err(RevocationError::UnknownInstance | RevocationError::UnknownSubject) => "not_found",
        Err(_) => "refused",
    };
    metrics::counter!("orgpass_universal_logout_requests_total", "outcome" => label).increment(1);
    outcome?;
    Ok(StatusCode::NO_CONTENT)
}

pub struct Refused(RevocationError);

impl From<RevocationError> for Refused {
    fn from(error: RevocationError) -> Self {
        Self(error)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, code) = match &self.0 {
            RevocationError::UnknownInstance | RevocationError::UnknownSubject => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            RevocationError::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            RevocationError::InvalidToken(_) | RevocationError::Replayed => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            RevocationError::Malformed(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            RevocationError::UnsupportedFormat(_) => {
                (StatusCode::BAD_REQUEST, "unsupported_subject_format")
            }
            RevocationError::ForeignIssuer => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable_subject")
            }
            RevocationError::ProviderUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            RevocationError::Database(_) | RevocationError::Registry(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        let mut response = (status, Json(serde_json::json!({ "error": code }))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match &self.0 {
            RevocationError::InvalidToken(_) | RevocationError::Replayed => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            RevocationError::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            _ => {}
        }
        response.extensions_mut().insert(LoggedError::new(self.0));
        response
    }
}
