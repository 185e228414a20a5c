//! What the set-up page calls, in a browser that opened a live setup link (`/setup/{token}`
//! put its token in a cookie): see the org, add its first instance. Testing and activating
//! that instance go through the settings functions, which accept the link for the instance it
//! added and for nothing else. The sign-in that follows makes the holder the first admin.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ApiError, InstanceSummary, SecretField};
#[cfg(feature = "ssr")]
use super::{app_state, request_parts, with_status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupView {
    pub tenant_name: String,
    /// When the link stops working, in Unix seconds.
    pub expires_at: i64,
    /// The instance this link added, once saved.
    pub instance: Option<InstanceSummary>,
}

#[cfg(feature = "ssr")]
async fn grant() -> Result<crate::backend::registry::SetupGrant, ApiError> {
    let app = app_state()?;
    Ok(crate::backend::auth::setup_grant(&request_parts()?, &app).await?)
}

#[server]
pub async fn setup_status() -> Result<SetupView, ApiError> {
    with_status(async move {
        let grant = grant().await?;
        let app = app_state()?;
        let overview = crate::backend::org_settings::setup_overview(&app, &grant).await?;
        Ok(SetupView {
            tenant_name: overview.tenant.display_name,
            expires_at: grant.expires_at,
            instance: overview.instance.map(InstanceSummary::from),
        })
    })
    .await
}

/// Adds the org's first instance, not active yet; one per link.
#[server]
pub async fn add_setup_instance(
    label: String,
    okta_domain: String,
    client_id: String,
    client_secret: SecretField,
) -> Result<InstanceSummary, ApiError> {
    with_status(async move {
        let grant = grant().await?;
        let app = app_state()?;
        let new =
            super::settings::new_instance(&app, label, &okta_domain, client_id, client_secret)?;
        let added = crate::backend::org_settings::add_setup_instance(&app, &grant, new).await?;
        super::settings::summary(&app, &grant.tenant, &added.id).await
    })
    .await
}
