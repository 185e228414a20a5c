//! What end users' pages call: who is signed in, an org's sign-in options, where a work email
//! leads.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
#[cfg(feature = "ssr")]
use super::{app_state, request_parts, with_status};

/// The signed-in user as the browser may see it (also the body of `GET /api/session`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub tenant: String,
    pub tenant_name: String,
    pub instance_id: String,
    pub instance_label: String,
    pub issuer: String,
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// One button on an org's sign-in page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceLink {
    pub label: String,
    pub login_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSignInOptions {
    pub display_name: String,
    pub instances: Vec<InstanceLink>,
}

/// Where a work email leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailRoute {
    /// The org has one instance: straight to its sign-in.
    SignIn { login_path: String },
    /// The org has several: the person picks one (labels in a stable order).
    Choose { instances: Vec<InstanceLink> },
    /// No active org routes that domain. Deliberately says nothing about which orgs exist.
    NoMatch,
}

/// The signed-in user, `None` without a session; an ended session is an error. A fixed path,
/// so load generators can call it.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionView>, ApiError> {
    let app = app_state()?;
    let mut parts = request_parts()?;
    let user = crate::backend::auth::maybe_user(&mut parts, &app).await?;
    Ok(user.map(SessionView::from))
}

/// An org's sign-in page: its name and one entry per enabled instance.
#[server]
pub async fn org_sign_in(slug: String) -> Result<OrgSignInOptions, ApiError> {
    with_status(async move {
        let slug = crate::domain::TenantSlug::parse(&slug).map_err(|e| ApiError::Invalid(e.0))?;
        let app = app_state()?;
        let (tenant, instances) = crate::backend::registry::sign_in_options(&app.db, &slug).await?;
        Ok(OrgSignInOptions {
            display_name: tenant.display_name,
            instances: instances
                .into_iter()
                .map(|instance| InstanceLink {
                    label: instance.label,
                    login_path: login_path(&instance.id, None, &Default::default()),
                })
                .collect(),
        })
    })
    .await
}

/// The sign-in of a work email: the domain's org and its enabled instances, with the email
/// as `login_hint` and `return_to` kept (the login endpoint re-checks it).
#[server]
pub async fn route_email(email: String, return_to: Option<String>) -> Result<EmailRoute, ApiError> {
    with_status(async move {
        let domain =
            crate::domain::EmailDomain::of_email(&email).map_err(|e| ApiError::Invalid(e.0))?;
        let app = app_state()?;
        let instances =
            crate::backend::registry::sign_in_options_for_domain(&app.db, &domain).await?;
        let return_to = crate::domain::ReturnPath::parse_or_default(return_to.as_deref());
        let link = |instance: &crate::backend::registry::Instance| InstanceLink {
            label: instance.label.clone(),
            login_path: login_path(&instance.id, Some(email.trim()), &return_to),
        };
        Ok(match instances.as_slice() {
            [] => EmailRoute::NoMatch,
            [one] => EmailRoute::SignIn {
                login_path: link(one).login_path,
            },
            several => EmailRoute::Choose {
                instances: several.iter().map(link).collect(),
            },
        })
    })
    .await
}

#[cfg(feature = "ssr")]
fn login_path(
    instance: &crate::domain::InstanceId,
    login_hint: Option<&str>,
    return_to: &crate::domain::ReturnPath,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    if return_to.as_str() != "/" {
        query.append_pair("return_to", return_to.as_str());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/sso/{instance}/login")
    } else {
        format!("/sso/{instance}/login?{query}")
    }
}

#[cfg(feature = "ssr")]
impl From<crate::backend::sessions::SignedInUser> for SessionView {
    fn from(user: crate::backend::sessions::SignedInUser) -> Self {
        Self {
            tenant: user.tenant,
            tenant_name: user.tenant_name,
            instance_id: user.instance_id,
            instance_label: user.instance_label,
            issuer: user.issuer,
            sub: user.sub,
            name: user.name,
            email: user.email,
        }
    }
}
