//! What the settings pages call. Every function authorizes on the server: the session must be
//! an admin's ([`TenantAdmin`](crate::backend::auth::TenantAdmin)), and it acts on that
//! admin's own org only, so another org's instances, people and events answer 404 like
//! missing ones. No secret crosses the wire: secrets appear as hints ("set, ends in …WXYZ").

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
#[cfg(feature = "ssr")]
use super::{app_state, request_parts, with_status};

/// The settings page's first view: the org and its instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettingsView {
    pub tenant: String,
    pub tenant_name: String,
    pub instances: Vec<InstanceSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSummary {
    pub id: String,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    pub enabled: bool,
    /// "set, ends in …WXYZ": never the secret.
    pub secret_hint: String,
    pub next_secret_hint: Option<String>,
    /// "current" or "next": which secret Okta last accepted; `None` before the first sign-in.
    pub working_secret: Option<String>,
    pub token_auth_method: String,
    pub urls: InstanceUrlsView,
    pub last_sign_in_at: Option<i64>,
    pub last_failure: Option<FailureView>,
    /// A recent sign-in's ID token was this far from the server's clock.
    pub clock_skew: Option<ClockSkewView>,
    /// What the server answering holds of the issuer's discovery document and keys.
    pub issuer_health: IssuerHealthView,
}

/// Ages in seconds, measured by the server, so the page shows the same text before and after
/// hydration. `None`: not fetched by this server yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerHealthView {
    pub discovered_secs_ago: Option<u64>,
    pub keys: usize,
    pub keys_fetched_secs_ago: Option<u64>,
    pub keys_failed_secs_ago: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockSkewView {
    /// Server time minus the token's `iat`.
    pub secs: i64,
    pub seen_at: i64,
}

/// What to paste into Okta for one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceUrlsView {
    pub sign_in_redirect_uri: String,
    pub initiate_login_uri: String,
    pub sign_out_redirect_uri: String,
    pub global_token_revocation_uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureView {
    pub at: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub user_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub instance_label: String,
    pub last_sign_in_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminView {
    pub person: PersonView,
    pub added_at: i64,
    pub added_by: String,
    /// The admin looking at the list.
    pub is_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub invited_at: i64,
    pub invited_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminsView {
    pub admins: Vec<AdminView>,
    pub invitations: Vec<InvitationView>,
}

/// What adding an admin by email did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAdded {
    /// They had signed in: admin now.
    Now(AdminView),
    /// They become admin at their next sign-in through one of the org's instances.
    Invited(InvitationView),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub instance: Option<String>,
    pub succeeded: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageView {
    pub events: Vec<AuditEventView>,
    pub page: u32,
    pub more: bool,
}

/// A client secret on its way from the admin's browser to the server: sent once, never sent
/// back, and not printable, so a log of the request cannot show it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretField(pub String);

impl std::fmt::Debug for SecretField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretField(redacted)")
    }
}

/// What removing an instance takes with it, for the confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalView {
    pub users: i64,
    pub sessions: i64,
}

/// One line of "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    pub name: String,
    /// "passed", "failed" or "skipped" (an earlier check failed).
    pub outcome: String,
    pub detail: String,
}

/// Events per page of the audit log.
pub const AUDIT_PAGE_SIZE: u32 = 50;

#[cfg(feature = "ssr")]
pub(super) async fn admin() -> Result<crate::backend::auth::TenantAdmin, ApiError> {
    let app = app_state()?;
    let mut parts = request_parts()?;
    Ok(crate::backend::auth::tenant_admin(&mut parts, &app).await?)
}

/// An admin, or the setup link that added this instance (see `api::setup`).
#[cfg(feature = "ssr")]
async fn configurer(
    id: &crate::domain::InstanceId,
) -> Result<crate::backend::auth::Configurer, ApiError> {
    let app = app_state()?;
    let mut parts = request_parts()?;
    Ok(crate::backend::auth::instance_configurer(&mut parts, &app, id).await?)
}

#[server]
pub async fn org_settings() -> Result<OrgSettingsView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let overview = crate::backend::org_settings::overview(&app, &admin.tenant).await?;
        Ok(OrgSettingsView::from(overview))
    })
    .await
}

#[server]
pub async fn list_admins() -> Result<AdminsView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let list = crate::backend::admins::list(&app.db, &admin.tenant).await?;
        Ok(AdminsView::new(list, admin.user.user_id))
    })
    .await
}

/// People of the org who signed in and are not admins, whose email contains `search`.
#[server]
pub async fn admin_candidates(search: String) -> Result<Vec<PersonView>, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let people =
            crate::backend::admins::candidates(&app.db, &admin.tenant, &search, 20).await?;
        Ok(people.into_iter().map(PersonView::from).collect())
    })
    .await
}

#[server]
pub async fn add_admin(user_id: i64) -> Result<AdminView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let added =
            crate::backend::admins::add_user(&app.db, &admin.tenant, user_id, &admin.actor())
                .await?;
        Ok(AdminView::new(added, admin.user.user_id))
    })
    .await
}

#[server]
pub async fn add_admin_by_email(email: String) -> Result<AdminAdded, ApiError> {
    use crate::backend::admins::{self, Added};
    with_status(async move {
        let admin = admin().await?;
        let email = crate::domain::EmailAddress::parse(&email)
            .map_err(|invalid| ApiError::Invalid(invalid.0))?;
        let app = app_state()?;
        Ok(
            match admins::add_by_email(&app.db, &admin.tenant, &email, &admin.actor()).await? {
                Added::Now(added) => AdminAdded::Now(AdminView::new(added, admin.user.user_id)),
                Added::Invited(invitation) => AdminAdded::Invited(invitation.into()),
            },
        )
    })
    .await
}

#[server]
pub async fn remove_admin(user_id: i64) -> Result<(), ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        crate::backend::admins::remove(&app.db, &admin.tenant, user_id, &admin.actor()).await?;
        Ok(())
    })
    .await
}

#[server]
pub async fn revoke_admin_invitation(email: String) -> Result<(), ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let email = crate::domain::EmailAddress::parse(&email)
            .map_err(|invalid| ApiError::Invalid(invalid.0))?;
        let app = app_state()?;
        crate::backend::admins::revoke_invitation(&app.db, &admin.tenant, &email, &admin.actor())
            .await?;
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
fn instance_id(raw: &str) -> Result<crate::domain::InstanceId, ApiError> {
    crate::domain::InstanceId::parse(raw).map_err(|invalid| ApiError::Invalid(invalid.0))
}

/// The form of "Add an instance", checked: the Okta domain against the issuer policy.
#[cfg(feature = "ssr")]
pub(super) fn new_instance(
    app: &crate::backend::AppState,
    label: String,
    okta_domain: &str,
    client_id: String,
    client_secret: SecretField,
) -> Result<crate::backend::org_settings::NewOrgInstance, ApiError> {
    let issuer =
        crate::domain::IssuerUrl::from_okta_domain(okta_domain, &app.settings.issuer_policy)
            .map_err(|invalid| ApiError::Invalid(invalid.0))?;
    Ok(crate::backend::org_settings::NewOrgInstance {
        label,
        issuer,
        client_id,
        client_secret: secret_of(client_secret)?,
    })
}

#[cfg(feature = "ssr")]
fn secret_of(field: SecretField) -> Result<crate::domain::ClientSecret, ApiError> {
    crate::domain::ClientSecret::new(field.0).map_err(|invalid| ApiError::Invalid(invalid.0))
}

/// The issuer an "Okta domain" stands for, checked against the issuer policy as the admin
/// (or a setup link's holder) types.
#[server]
pub async fn check_okta_domain(okta_domain: String) -> Result<String, ApiError> {
    with_status(async move {
        let app = app_state()?;
        let parts = request_parts()?;
        if crate::backend::auth::setup_grant(&parts, &app)
            .await
            .is_err()
        {
            admin().await?;
        }
        let issuer =
            crate::domain::IssuerUrl::from_okta_domain(&okta_domain, &app.settings.issuer_policy)
                .map_err(|invalid| ApiError::Invalid(invalid.0))?;
        Ok(issuer.to_string())
    })
    .await
}

/// Adds an instance to the admin's org, not active yet: Okta needs its URLs first.
#[server]
pub async fn add_org_instance(
    label: String,
    okta_domain: String,
    client_id: String,
    client_secret: SecretField,
) -> Result<InstanceSummary, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let new = new_instance(&app, label, &okta_domain, client_id, client_secret)?;
        let added =
            crate::backend::org_settings::add_instance(&app, &admin.tenant, new, &admin.actor())
                .await?;
        summary(&app, &admin.tenant, &added.id).await
    })
    .await
}

/// Changes an instance's label, token authentication method, extra redirect URIs (one per
/// line) and sign-out redirect URI (empty: the default).
#[server]
pub async fn update_instance_settings(
    id: String,
    label: String,
    token_auth_method: String,
    redirect_uris: String,
    sign_out_uri: String,
) -> Result<InstanceSummary, ApiError> {
    use crate::backend::registry::{InstanceChanges, TokenAuthMethod};
    with_status(async move {
        let admin = admin().await?;
        let method =
            TokenAuthMethod::parse(&token_auth_method).map_err(|e| ApiError::Invalid(e.0))?;
        let changes = InstanceChanges {
            label: Some(label),
            token_auth_method: Some(method),
            extra_redirect_uris: Some(
                redirect_uris
                    .lines()
                    .map(str::trim)
                    .filter(|uri| !uri.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            post_logout_uri: Some(Some(sign_out_uri.trim().to_owned()).filter(|u| !u.is_empty())),
            ..InstanceChanges::default()
        };
        change_instance(&admin, &id, changes).await
    })
    .await
}

#[server]
pub async fn set_instance_enabled(id: String, enabled: bool) -> Result<InstanceSummary, ApiError> {
    with_status(async move {
        let id = instance_id(&id)?;
        let configurer = configurer(&id).await?;
        let app = app_state()?;
        crate::backend::org_settings::set_enabled(
            &app,
            &configurer.tenant,
            &id,
            enabled,
            &configurer.actor,
        )
        .await?;
        summary(&app, &configurer.tenant, &id).await
    })
    .await
}

/// How many people and live sessions removing the instance would take with it.
#[server]
pub async fn instance_removal(id: String) -> Result<RemovalView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let id = instance_id(&id)?;
        let app = app_state()?;
        let impact = crate::backend::org_settings::removal_impact(&app, &admin.tenant, &id).await?;
        Ok(RemovalView {
            users: impact.users,
            sessions: impact.sessions,
        })
    })
    .await
}

#[server]
pub async fn remove_org_instance(id: String) -> Result<(), ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let id = instance_id(&id)?;
        let app = app_state()?;
        crate::backend::org_settings::remove_instance(&app, &admin.tenant, &id, &admin.actor())
            .await?;
        Ok(())
    })
    .await
}

/// Rotation, step 1: the secret Okta generated next, active alongside the current one. The
/// next sign-in uses it if Okta refuses the current one.
#[server]
pub async fn stage_next_secret(
    id: String,
    secret: SecretField,
) -> Result<InstanceSummary, ApiError> {
    use crate::backend::registry::InstanceChanges;
    with_status(async move {
        let admin = admin().await?;
        let changes = InstanceChanges {
            next_secret: Some(Some(secret_of(secret)?)),
            ..InstanceChanges::default()
        };
        change_instance(&admin, &id, changes).await
    })
    .await
}

/// Rotation, last step: the next secret becomes the current one and the old one is dropped
/// (deactivate it in Okta then). `promote: false` drops the next secret instead.
#[server]
pub async fn finish_rotation(id: String, promote: bool) -> Result<InstanceSummary, ApiError> {
    use crate::backend::registry::InstanceChanges;
    with_status(async move {
        let admin = admin().await?;
        let changes = if promote {
            InstanceChanges {
                promote_next: true,
                ..InstanceChanges::default()
            }
        } else {
            InstanceChanges {
                next_secret: Some(None),
                ..InstanceChanges::default()
            }
        };
        change_instance(&admin, &id, changes).await
    })
    .await
}

/// Checks, fresh, what a sign-in through the instance's issuer needs: discovery, the exact
/// issuer, supported algorithms, reachable and usable signing keys.
#[server]
pub async fn test_connection(id: String) -> Result<Vec<CheckView>, ApiError> {
    use crate::backend::sso::provider::probe::{self, Outcome};
    with_status(async move {
        let id = instance_id(&id)?;
        let configurer = configurer(&id).await?;
        let app = app_state()?;
        let instance =
            crate::backend::org_settings::instance_of(&app, &configurer.tenant, &id).await?;
        let checks = probe::test_connection(&app.providers, &instance.issuer).await;
        Ok(checks
            .into_iter()
            .map(|check| CheckView {
                name: check.name.to_owned(),
                outcome: match check.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed => "failed",
                    Outcome::Skipped => "skipped",
                }
                .to_owned(),
                detail: check.detail,
            })
            .collect())
    })
    .await
}

/// Applies `changes` to one of the admin's instances and returns it as the tab shows it.
#[cfg(feature = "ssr")]
async fn change_instance(
    admin: &crate::backend::auth::TenantAdmin,
    id: &str,
    changes: crate::backend::registry::InstanceChanges,
) -> Result<InstanceSummary, ApiError> {
    let id = instance_id(id)?;
    let app = app_state()?;
    crate::backend::org_settings::update_instance(
        &app,
        &admin.tenant,
        &id,
        changes,
        &admin.actor(),
    )
    .await?;
    summary(&app, &admin.tenant, &id).await
}

/// One instance as the Instances tab shows it, after a change.
#[cfg(feature = "ssr")]
pub(super) async fn summary(
    app: &crate::backend::AppState,
    tenant: &crate::domain::TenantSlug,
    id: &crate::domain::InstanceId,
) -> Result<InstanceSummary, ApiError> {
    let status = crate::backend::org_settings::instance_status(app, tenant, id).await?;
    Ok(InstanceSummary::from(status))
}

/// One page (from 0) of the org's events, newest first. Every filter is optional: the
/// instance id, `succeeded` (true successes, false failures), and the period in Unix seconds
/// (`from` inclusive, `until` exclusive).
#[server]
pub async fn audit_log(
    instance: Option<String>,
    succeeded: Option<bool>,
    from: Option<i64>,
    until: Option<i64>,
    page: u32,
) -> Result<AuditPageView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let filter = audit_filter(instance, succeeded, from, until, page)?;
        let app = app_state()?;
        let found =
            crate::backend::audit::page(&app.db, &admin.tenant, &filter, page, AUDIT_PAGE_SIZE)
                .await?;
        Ok(AuditPageView {
            events: found.events.into_iter().map(AuditEventView::from).collect(),
            page,
            more: found.more,
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn audit_filter(
    instance: Option<String>,
    succeeded: Option<bool>,
    from: Option<i64>,
    until: Option<i64>,
    page: u32,
) -> Result<crate::backend::audit::Filter, ApiError> {
    let instance = instance
        .as_deref()
        .filter(|id| !id.is_empty())
        .map(crate::domain::InstanceId::parse)
        .transpose()
        .map_err(|invalid| ApiError::Invalid(invalid.0))?;
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        return Err(ApiError::Invalid(
            "the start of the period must be before its end".to_owned(),
        ));
    }
    if page > 10_000 {
        return Err(ApiError::Invalid("page must be at most 10000".to_owned()));
    }
    Ok(crate::backend::audit::Filter {
        instance,
        succeeded,
        from,
        until,
    })
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::backend::admins::{Admin, AdminList, Invitation, Person};
    use crate::backend::audit::RecordedEvent;
    use crate::backend::org_settings::{InstanceStatus, Overview};

    impl From<Overview> for OrgSettingsView {
        fn from(overview: Overview) -> Self {
            Self {
                tenant: overview.tenant.slug.to_string(),
                tenant_name: overview.tenant.display_name,
                instances: overview
                    .instances
                    .into_iter()
                    .map(InstanceSummary::from)
                    .collect(),
            }
        }
    }

    impl From<InstanceStatus> for InstanceSummary {
        fn from(status: InstanceStatus) -> Self {
            let instance = status.detail.instance;
            Self {
                id: instance.id.to_string(),
                label: instance.label,
                issuer: instance.issuer.to_string(),
                client_id: instance.client_id,
                enabled: instance.enabled,
                secret_hint: status.detail.client_secret,
                next_secret_hint: status.detail.next_client_secret,
                working_secret: instance.working_secret.map(|slot| slot.as_str().to_owned()),
                token_auth_method: instance.token_auth_method.as_str().to_owned(),
                urls: InstanceUrlsView {
                    sign_in_redirect_uri: status.urls.sign_in_redirect_uri,
                    initiate_login_uri: status.urls.initiate_login_uri,
                    sign_out_redirect_uri: status.urls.sign_out_redirect_uri,
                    global_token_revocation_uri: status.urls.global_token_revocation_uri,
                },
                last_sign_in_at: status.history.last_success_at,
                last_failure: status
                    .history
                    .last_failure
                    .map(|(at, reason)| FailureView { at, reason }),
                clock_skew: instance.clock_skew.map(|skew| ClockSkewView {
                    secs: skew.secs,
                    seen_at: skew.seen_at,
                }),
                issuer_health: IssuerHealthView {
                    discovered_secs_ago: status.issuer_health.discovered_secs_ago,
                    keys: status.issuer_health.keys.map_or(0, |keys| keys.count),
                    keys_fetched_secs_ago: status
                        .issuer_health
                        .keys
                        .and_then(|keys| keys.fetched_secs_ago),
                    keys_failed_secs_ago: status
                        .issuer_health
                        .keys
                        .and_then(|keys| keys.failed_secs_ago),
                },
            }
        }
    }

    impl From<Person> for PersonView {
        fn from(person: Person) -> Self {
            Self {
                user_id: person.user_id,
                name: person.name,
                email: person.email,
                instance_label: person.instance_label,
                last_sign_in_at: person.last_sign_in_at,
            }
        }
    }

    impl AdminView {
        pub(super) fn new(admin: Admin, me: i64) -> Self {
            Self {
                is_me: admin.person.user_id == me,
                person: admin.person.into(),
                added_at: admin.added_at,
                added_by: admin.added_by,
            }
        }
    }

    impl From<Invitation> for InvitationView {
        fn from(invitation: Invitation) -> Self {
            Self {
                email: invitation.email.into(),
                invited_at: invitation.invited_at,
                invited_by: invitation.invited_by,
            }
        }
    }

    impl AdminsView {
        pub(super) fn new(list: AdminList, me: i64) -> Self {
            Self {
                admins: list
                    .admins
                    .into_iter()
                    .map(|admin| AdminView::new(admin, me))
                    .collect(),
                invitations: list.invitations.into_iter().map(Into::into).collect(),
            }
        }
    }

    impl From<RecordedEvent> for AuditEventView {
        fn from(event: RecordedEvent) -> Self {
            Self {
                id: event.id,
                at: event.at,
                actor: event.actor,
                action: event.action,
                instance: event.instance,
                succeeded: event.outcome == "success",
                detail: event.detail,
            }
        }
    }
}
