//! The instance types (as shown, with secret hints, as a sign-in uses it, as added, as
//! changed) and how a row becomes an [`Instance`].

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::secrets::SecretSlot;
use crate::backend::registry::decode_error;
use crate::domain::{ClientSecret, InstanceId, InvalidValue, IssuerUrl, TenantSlug};

/// An instance as anyone may see it: no secret in it.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub id: InstanceId,
    pub tenant: TenantSlug,
    pub label: String,
    #[serde(serialize_with = "serialize_display")]
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub token_auth_method: TokenAuthMethod,
    pub enabled: bool,
    /// Which secret the token endpoint last accepted; `None` before the first sign-in.
    pub working_secret: Option<SecretSlot>,
    /// Redirect URIs registered besides the default `/sso/{id}/callback`.
    pub extra_redirect_uris: Vec<String>,
    pub post_logout_uri: Option<String>,
    /// The last sign-in whose ID token came with an `iat` far from this server's clock.
    pub clock_skew: Option<ClockSkew>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How far an ID token's `iat` was from this server's time: server time minus `iat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockSkew {
    pub secs: i64,
    /// When that sign-in happened.
    pub seen_at: i64,
}

impl ClockSkew {
    /// Beyond this, clocks are worth an admin's look: Okta's are on NTP, and a token reaches
    /// us within a second or two of being issued.
    pub const NOTABLE_SECS: i64 = 30;

    /// While a skew lasts, it is written again at most this often.
    const REFRESH_SECS: i64 = 600;

    /// What to record after a sign-in whose token was `secs` off at `at`, given what is
    /// recorded: `None` when nothing needs writing, so most sign-ins write nothing.
    pub fn next(recorded: Option<Self>, secs: i64, at: i64) -> Option<Option<Self>> {
        let seen = (secs.abs() >= Self::NOTABLE_SECS).then_some(Self { secs, seen_at: at });
        match (recorded, seen) {
            (None, None) => None,
            (Some(old), Some(new)) if new.seen_at - old.seen_at < Self::REFRESH_SECS => None,
            (_, seen) => Some(seen),
        }
    }
}

#[cfg(test)]
mod clock_skew_tests {
    use super::ClockSkew;

    const AT: i64 = 1_800_000_000;

    #[test]
    fn a_token_on_time_writes_nothing_when_no_skew_is_recorded() {
        assert_eq!(ClockSkew::next(None, 2, AT), None);
        assert_eq!(ClockSkew::next(None, -29, AT), None);
    }

    #[test]
    fn a_token_far_from_our_clock_either_way_is_recorded() {
        let ahead = ClockSkew::next(None, 95, AT);
        assert_eq!(
            ahead,
            Some(Some(ClockSkew {
                secs: 95,
                seen_at: AT
            }))
        );
        let behind = ClockSkew::next(None, -30, AT);
        assert_eq!(
            behind,
            Some(Some(ClockSkew {
                secs: -30,
                seen_at: AT
            }))
        );
    }

    #[test]
    fn a_lasting_skew_is_written_again_only_every_ten_minutes() {
        let recorded = Some(ClockSkew {
            secs: 95,
            seen_at: AT,
        });
        assert_eq!(ClockSkew::next(recorded, 97, AT + 599), None);
        assert_eq!(
            ClockSkew::next(recorded, 97, AT + 600),
            Some(Some(ClockSkew {
                secs: 97,
                seen_at: AT + 600
            }))
        );
    }

    #[test]
    fn a_token_on_time_again_clears_the_recorded_skew() {
        let recorded = Some(ClockSkew {
            secs: 95,
            seen_at: AT,
        });
        assert_eq!(ClockSkew::next(recorded, 1, AT + 5), Some(None));
    }
}

/// An instance with what may be shown of its secrets ("set, ends in …WXYZ").
#[derive(Debug, Clone, Serialize)]
pub struct InstanceDetail {
    #[serde(flatten)]
    pub instance: Instance,
    pub client_secret: String,
    pub next_client_secret: Option<String>,
}

/// How an instance authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    /// HTTP Basic: Okta's default.
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            other => Err(InvalidValue(format!(
                "token auth method '{other}' must be client_secret_basic or client_secret_post"
            ))),
        }
    }
}

fn serialize_display<S: serde::Serializer>(
    value: &impl std::fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// What the code exchange needs: the instance and its secrets. Not `Serialize`, not `Debug`.
pub struct InstanceCredentials {
    pub instance: Instance,
    pub client_secret: ClientSecret,
    /// The secret Okta generated next, active alongside the current one until it is promoted.
    pub next_secret: Option<ClientSecret>,
}

pub struct NewInstance {
    pub id: Option<InstanceId>,
    pub tenant: TenantSlug,
    pub label: String,
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub token_auth_method: TokenAuthMethod,
    pub extra_redirect_uris: Vec<String>,
    pub post_logout_uri: Option<String>,
    /// `false` for one a tenant admin is still setting up: nobody signs in through it yet.
    pub enabled: bool,
}

/// What to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct InstanceChanges {
    pub label: Option<String>,
    pub issuer: Option<IssuerUrl>,
    pub client_id: Option<String>,
    /// A new current secret (the next one, if any, is kept).
    pub client_secret: Option<ClientSecret>,
    /// `Some(None)` drops the next secret.
    pub next_secret: Option<Option<ClientSecret>>,
    /// Makes the next secret the current one, once Okta's old secret is deactivated.
    pub promote_next: bool,
    pub token_auth_method: Option<TokenAuthMethod>,
    pub extra_redirect_uris: Option<Vec<String>>,
    /// `Some(None)` clears it.
    pub post_logout_uri: Option<Option<String>>,
}

pub(super) const INSTANCE_COLUMNS: &str = "i.id, i.tenant_slug, i.label, i.issuer, i.client_id, \
     i.token_auth_method, i.enabled, i.working_secret, i.extra_redirect_uris, i.post_logout_uri, \
     i.clock_skew_secs, i.clock_skew_at, i.created_at, i.updated_at";

pub(super) fn instance_from_row(row: &AnyRow) -> Result<Instance, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let tenant: String = row.try_get("tenant_slug")?;
    let method: String = row.try_get("token_auth_method")?;
    let working: Option<String> = row.try_get("working_secret")?;
    let extra: String = row.try_get("extra_redirect_uris")?;
    let skew: Option<i64> = row.try_get("clock_skew_secs")?;
    let skew_at: Option<i64> = row.try_get("clock_skew_at")?;
    Ok(Instance {
        id: InstanceId::parse(&id).map_err(decode_error)?,
        tenant: TenantSlug::parse(&tenant).map_err(decode_error)?,
        label: row.try_get("label")?,
        issuer: IssuerUrl::from_trusted_storage(row.try_get("issuer")?),
        client_id: row.try_get("client_id")?,
        token_auth_method: TokenAuthMethod::parse(&method).map_err(decode_error)?,
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        working_secret: match working.as_deref() {
            Some("next") => Some(SecretSlot::Next),
            Some(_) => Some(SecretSlot::Current),
            None => None,
        },
        extra_redirect_uris: extra.lines().map(str::to_owned).collect(),
        post_logout_uri: row.try_get("post_logout_uri")?,
        clock_skew: skew
            .zip(skew_at)
            .map(|(secs, seen_at)| ClockSkew { secs, seen_at }),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
