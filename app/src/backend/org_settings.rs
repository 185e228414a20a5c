//! What an org's admins see and change on their settings page, put together from the
//! registry, the audit trail and the public URL. Always one org's: callers pass the admin's own
//! tenant, and another org's instance is reported missing. Changes take effect on this server
//! at the next request and on the others through the sessions' invalidation feed.

use sqlx::Row;

use super::AppState;
use super::audit::{self, Actor, SignInHistory};
use super::registry::{
    self, Instance, InstanceChanges, InstanceDetail, NewInstance, RegistryError, SetupGrant,
    Tenant, TokenAuthMethod,
};
use super::sessions::Invalidation;
use super::settings::InstanceUrls;
use super::sso::provider::directory::IssuerHealth;
use crate::domain::{ClientSecret, InstanceId, IssuerUrl, TenantSlug};

/// The org and each of its instances, oldest first.
pub struct Overview {
    pub tenant: Tenant,
    pub instances: Vec<InstanceStatus>,
}

/// One instance: its settings with the hints of its secrets, the URLs to paste into Okta, how
/// its sign-ins went lately, and what this server holds of its issuer's discovery and keys.
pub struct InstanceStatus {
    pub detail: InstanceDetail,
    pub urls: InstanceUrls,
    pub history: SignInHistory,
    pub issuer_health: IssuerHealth,
}

pub async fn overview(app: &AppState, tenant: &TenantSlug) -> Result<Overview, RegistryError> {
    let found = registry::find_tenant(&app.db, tenant)
        .await?
        .ok_or_else(|| RegistryError::UnknownTenant(tenant.clone()))?;
    let mut instances = Vec::new();
    for instance in registry::list_instances(&app.db, Some(tenant)).await? {
        instances.push(status(app, instance).await?);
    }
    Ok(Overview {
        tenant: found,
        instances,
    })
}

/// One of the org's instances as its card shows it, e.g. after a change.
pub async fn instance_status(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
) -> Result<InstanceStatus, RegistryError> {
    status(app, instance_of(app, tenant, id).await?).await
}

async fn status(app: &AppState, instance: Instance) -> Result<InstanceStatus, RegistryError> {
    let detail = registry::instance_detail(&app.db, &app.vault, &instance.id).await?;
    let history = audit::sign_in_history(&app.db, &instance.id).await?;
    Ok(InstanceStatus {
        urls: app.settings.public_url.instance_urls(&instance),
        issuer_health: app.providers.health(&instance.issuer),
        detail,
        history,
    })
}

/// One of the org's instances; another org's is [`RegistryError::UnknownInstance`], exactly
/// like a missing one.
pub async fn instance_of(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
) -> Result<Instance, RegistryError> {
    registry::find_instance(&app.db, id)
        .await?
        .filter(|instance| instance.tenant == *tenant)
        .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))
}

/// What removing an instance takes with it.
pub struct RemovalImpact {
    pub users: i64,
    pub sessions: i64,
}

pub async fn removal_impact(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
) -> Result<RemovalImpact, RegistryError> {
    instance_of(app, tenant, id).await?;
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM users WHERE instance_id = $1) AS users, \
         (SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id \
          WHERE u.instance_id = $1) AS sessions",
    )
    .bind(id.as_str())
    .fetch_one(&app.db)
    .await?;
    Ok(RemovalImpact {
        users: row.try_get("users")?,
        sessions: row.try_get("sessions")?,
    })
}

/// Removes one of the org's instances with its people and sessions, unless every admin of the
/// org signed in through it: the org would be locked out of its own settings.
pub async fn remove_instance(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
    actor: &Actor,
) -> Result<(), RegistryError> {
    instance_of(app, tenant, id).await?;
    keeps_an_admin_without(app, tenant, id, "removing").await?;
    registry::remove_instance(&app.db, id, actor).await?;
    app.sessions
        .forget_scope(&Invalidation::Instance(id.as_str().to_owned()));
    Ok(())
}

/// Turns sign-in through one of the org's instances on or off. Disabling ends its sessions,
/// and is refused when every admin signed in through it.
pub async fn set_enabled(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
    enabled: bool,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    instance_of(app, tenant, id).await?;
    if !enabled {
        keeps_an_admin_without(app, tenant, id, "disabling").await?;
    }
    let instance = registry::set_enabled(&app.db, id, enabled, actor).await?;
    app.sessions
        .forget_scope(&Invalidation::Instance(id.as_str().to_owned()));
    Ok(instance)
}

/// Changes one of the org's instances (settings or secrets); the sessions cached here show
/// the new label at the next request.
pub async fn update_instance(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
    changes: InstanceChanges,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    instance_of(app, tenant, id).await?;
    let instance = registry::update_instance(&app.db, &app.vault, id, changes, actor).await?;
    app.sessions
        .forget_scope(&Invalidation::Instance(id.as_str().to_owned()));
    Ok(instance)
}

/// Refuses a change that would leave no admin able to sign in: some admin must have signed in
/// through another enabled instance of the org.
async fn keeps_an_admin_without(
    app: &AppState,
    tenant: &TenantSlug,
    id: &InstanceId,
    doing: &str,
) -> Result<(), RegistryError> {
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenant_admins a JOIN users u ON u.id = a.user_id \
         JOIN instances i ON i.id = u.instance_id \
         WHERE i.tenant_slug = $1 AND i.id <> $2 AND i.enabled = 1",
    )
    .bind(tenant.as_str())
    .bind(id.as_str())
    .fetch_one(&app.db)
    .await?;
    if others == 0 {
        return Err(RegistryError::Conflict(format!(
            "{doing} this instance would lock every admin out: first make someone who signs in \
             through another instance an admin"
        )));
    }
    Ok(())
}

/// An instance as an org's admin adds it: not active until they activate it, so they can
/// paste its URLs into Okta and test the connection first.
pub struct NewOrgInstance {
    pub label: String,
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub client_secret: ClientSecret,
}

pub async fn add_instance(
    app: &AppState,
    tenant: &TenantSlug,
    new: NewOrgInstance,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    registry::add_instance(&app.db, &app.vault, new.inactive_in(tenant), actor).await
}

impl NewOrgInstance {
    fn inactive_in(self, tenant: &TenantSlug) -> NewInstance {
        NewInstance {
            id: None,
            tenant: tenant.clone(),
            label: self.label,
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: self.client_secret,
            token_auth_method: TokenAuthMethod::default(),
            extra_redirect_uris: Vec::new(),
            post_logout_uri: None,
            enabled: false,
        }
    }
}

/// What the holder of a setup link sees: the org, and the instance the link added if any.
pub struct SetupOverview {
    pub tenant: Tenant,
    pub instance: Option<InstanceStatus>,
}

pub async fn setup_overview(
    app: &AppState,
    grant: &SetupGrant,
) -> Result<SetupOverview, RegistryError> {
    let tenant = registry::find_tenant(&app.db, &grant.tenant)
        .await?
        .ok_or_else(|| RegistryError::UnknownTenant(grant.tenant.clone()))?;
    let instance = match &grant.instance {
        Some(id) => Some(instance_status(app, &grant.tenant, id).await?),
        None => None,
    };
    Ok(SetupOverview { tenant, instance })
}

/// The org's instance added with a setup link: inactive, like any an admin adds, and the only
/// one the link may add.
pub async fn add_setup_instance(
    app: &AppState,
    grant: &SetupGrant,
    new: NewOrgInstance,
) -> Result<Instance, RegistryError> {
    let new = new.inactive_in(&grant.tenant);
    registry::add_setup_instance(&app.db, &app.vault, grant, new).await
}
