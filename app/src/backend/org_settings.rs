//! What an org's admins see on their settings page, put together from the registry, the audit
//! trail and the public URL. Always one org's: callers pass the admin's own tenant.

use super::AppState;
use super::audit::{self, SignInHistory};
use super::registry::{self, InstanceDetail, RegistryError, Tenant};
use super::settings::InstanceUrls;
use crate::domain::TenantSlug;

/// The org and each of its instances, oldest first.
pub struct Overview {
    pub tenant: Tenant,
    pub instances: Vec<InstanceStatus>,
}

/// One instance: its settings with the hints of its secrets, the URLs to paste into Okta, and
/// how its sign-ins went lately.
pub struct InstanceStatus {
    pub detail: InstanceDetail,
    pub urls: InstanceUrls,
    pub history: SignInHistory,
}

pub async fn overview(app: &AppState, tenant: &TenantSlug) -> Result<Overview, RegistryError> {
    let found = registry::find_tenant(&app.db, tenant)
        .await?
        .ok_or_else(|| RegistryError::UnknownTenant(tenant.clone()))?;
    let mut instances = Vec::new();
    for instance in registry::list_instances(&app.db, Some(tenant)).await? {
        let detail = registry::instance_detail(&app.db, &app.vault, &instance.id).await?;
        let history = audit::sign_in_history(&app.db, &instance.id).await?;
        instances.push(InstanceStatus {
            urls: app.settings.public_url.instance_urls(&instance),
            detail,
            history,
        });
    }
    Ok(Overview {
        tenant: found,
        instances,
    })
}
