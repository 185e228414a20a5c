//! Customer orgs: name, status and the email domains that route their people.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::instances::{Instance, list_instances};
use super::{RegistryError, decode_error, display_text};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, is_unique_violation, now};
use crate::backend::sessions::{self, Invalidation, invalidation};
use crate::domain::{EmailDomain, InvalidValue, TenantSlug};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Data kept, sign-in refused (e.g. an unpaid invoice).
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            other => Err(InvalidValue(format!(
                "status '{other}' must be active or suspended"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub slug: TenantSlug,
    pub display_name: String,
    pub status: TenantStatus,
    pub domains: Vec<EmailDomain>,
}

pub struct NewTenant {
    pub slug: TenantSlug,
    pub display_name: String,
    pub domains: Vec<EmailDomain>,
}

/// What to change; `None` and empty lists leave things as they are.
#[derive(Default)]
pub struct TenantChanges {
    pub display_name: Option<String>,
    pub status: Option<TenantStatus>,
    pub add_domains: Vec<EmailDomain>,
    pub remove_domains: Vec<EmailDomain>,
}

pub async fn add_tenant(db: &Db, new: NewTenant, actor: &Actor) -> Result<Tenant, RegistryError> {
    let display_name = display_text("organization name", &new.display_name)?;
    let mut tx = db.begin().await?;
    let at = now();
    sqlx::query(
        "INSERT INTO tenants (slug, display_name, status, created_at, updated_at) \
         VALUES ($1, $2, 'active', $3, $3)",
    )
    .bind(new.slug.as_str())
    .bind(&display_name)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            RegistryError::Conflict(format!(
                "an organization named '{}' already exists",
                new.slug
            ))
        } else {
            error.into()
        }
    })?;
    for domain in &new.domains {
        claim_domain(&mut tx, &new.slug, domain).await?;
    }
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "tenant.add",
            tenant: Some(&new.slug),
            instance: None,
            succeeded: true,
            detail: domains_detail(&new.domains),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Tenant {
        slug: new.slug,
        display_name,
        status: TenantStatus::Active,
        domains: new.domains,
    })
}

fn domains_detail(domains: &[EmailDomain]) -> String {
    if domains.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = domains.iter().map(EmailDomain::as_str).collect();
        format!("domains: {}", names.join(", "))
    }
}

/// Gives `domain` to `tenant`, or says which org already has it.
pub(super) async fn claim_domain(
    conn: &mut AnyConnection,
    tenant: &TenantSlug,
    domain: &EmailDomain,
) -> Result<(), RegistryError> {
    let inserted = sqlx::query(
        "INSERT INTO tenant_domains (domain, tenant_slug, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (domain) DO NOTHING",
    )
    .bind(domain.as_str())
    .bind(tenant.as_str())
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(());
    }
    let owner: String = sqlx::query("SELECT tenant_slug FROM tenant_domains WHERE domain = $1")
        .bind(domain.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get("tenant_slug")?;
    if owner == tenant.as_str() {
        return Ok(());
    }
    Err(RegistryError::Conflict(format!(
        "the domain '{domain}' already belongs to the organization '{owner}'"
    )))
}

fn tenant_from_row(row: &AnyRow, domains: Vec<EmailDomain>) -> Result<Tenant, sqlx::Error> {
    let slug: String = row.try_get("slug")?;
    let status: String = row.try_get("status")?;
    Ok(Tenant {
        slug: TenantSlug::parse(&slug).map_err(decode_error)?,
        display_name: row.try_get("display_name")?,
        status: TenantStatus::parse(&status).map_err(decode_error)?,
        domains,
    })
}

async fn domains_of(
    db: &Db,
    tenant: Option<&TenantSlug>,
) -> Result<Vec<(String, EmailDomain)>, RegistryError> {
    let rows = sqlx::query(
        "SELECT tenant_slug, domain FROM tenant_domains WHERE $1 IS NULL OR tenant_slug = $1 \
         ORDER BY domain",
    )
    .bind(tenant.map(TenantSlug::as_str))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            let domain: String = row.try_get("domain")?;
            Ok((
                row.try_get("tenant_slug")?,
                EmailDomain::parse(&domain).map_err(decode_error)?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(RegistryError::from)
}

pub async fn list_tenants(db: &Db) -> Result<Vec<Tenant>, RegistryError> {
    let rows = sqlx::query("SELECT slug, display_name, status FROM tenants ORDER BY slug")
        .fetch_all(db)
        .await?;
    let mut domains: HashMap<String, Vec<EmailDomain>> = HashMap::new();
    for (tenant, domain) in domains_of(db, None).await? {
        domains.entry(tenant).or_default().push(domain);
    }
    let mut tenants = Vec::with_capacity(rows.len());
    for row in &rows {
        let slug: String = row.try_get("slug")?;
        let own = domains.remove(&slug).unwrap_or_default();
        tenants.push(tenant_from_row(row, own)?);
    }
    Ok(tenants)
}

pub async fn find_tenant(db: &Db, slug: &TenantSlug) -> Result<Option<Tenant>, RegistryError> {
    let row = sqlx::query("SELECT slug, display_name, status FROM tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let domains = domains_of(db, Some(slug)).await?;
    Ok(Some(tenant_from_row(
        &row,
        domains.into_iter().map(|(_, d)| d).collect(),
    )?))
}

pub async fn update_tenant(
    db: &Db,
    slug: &TenantSlug,
    changes: TenantChanges,
    actor: &Actor,
) -> Result<Tenant, RegistryError> {
    let display_name = changes
        .display_name
        .as_deref()
        .map(|name| display_text("organization name", name))
        .transpose()?;
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE tenants SET display_name = COALESCE($1, display_name), \
         status = COALESCE($2, status), updated_at = $3 WHERE slug = $4",
    )
    .bind(&display_name)
    .bind(changes.status.map(TenantStatus::as_str))
    .bind(now())
    .bind(slug.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(RegistryError::UnknownTenant(slug.clone()));
    }
    if changes.status == Some(TenantStatus::Suspended) {
        sessions::end_for_tenant(&mut tx, slug).await?;
    } else if display_name.is_some() {
        // Signed-in pages show the org's name.
        invalidation::publish(&mut tx, &Invalidation::Tenant(slug.as_str().to_owned())).await?;
    }
    for domain in &changes.remove_domains {
        let removed =
            sqlx::query("DELETE FROM tenant_domains WHERE domain = $1 AND tenant_slug = $2")
                .bind(domain.as_str())
                .bind(slug.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if removed == 0 {
            return Err(RegistryError::Invalid(InvalidValue(format!(
                "the domain '{domain}' does not belong to '{slug}'"
            ))));
        }
    }
    for domain in &changes.add_domains {
        claim_domain(&mut tx, slug, domain).await?;
    }
    let mut detail = Vec::new();
    if let Some(name) = &display_name {
        detail.push(format!("name: {name}"));
    }
    if let Some(status) = changes.status {
        detail.push(format!("status: {}", status.as_str()));
    }
    for domain in &changes.add_domains {
        detail.push(format!("+{domain}"));
    }
    for domain in &changes.remove_domains {
        detail.push(format!("-{domain}"));
    }
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "tenant.update",
            tenant: Some(slug),
            instance: None,
            succeeded: true,
            detail: detail.join("; "),
        },
    )
    .await?;
    tx.commit().await?;
    find_tenant(db, slug)
        .await?
        .ok_or_else(|| RegistryError::UnknownTenant(slug.clone()))
}

/// Removes an org with its domains, instances, users, sessions and setup links.
pub async fn remove_tenant(db: &Db, slug: &TenantSlug, actor: &Actor) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    let removed = sqlx::query("DELETE FROM tenants WHERE slug = $1")
        .bind(slug.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(RegistryError::UnknownTenant(slug.clone()));
    }
    invalidation::publish(&mut tx, &Invalidation::Tenant(slug.as_str().to_owned())).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "tenant.remove",
            tenant: Some(slug),
            instance: None,
            succeeded: true,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An org and the instances its people may sign in with: none while it is suspended.
pub async fn sign_in_options(
    db: &Db,
    slug: &TenantSlug,
) -> Result<(Tenant, Vec<Instance>), RegistryError> {
    let tenant = find_tenant(db, slug)
        .await?
        .ok_or_else(|| RegistryError::UnknownTenant(slug.clone()))?;
    if tenant.status == TenantStatus::Suspended {
        return Ok((tenant, Vec::new()));
    }
    let instances = list_instances(db, Some(slug))
        .await?
        .into_iter()
        .filter(|instance| instance.enabled)
        .collect();
    Ok((tenant, instances))
}
