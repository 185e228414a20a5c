//! Customer orgs: name, status and the email domains that route their people.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::domains;
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
    pub sign_in_rule: SignInRule,
    /// The verified domains, which route its people.
    pub domains: Vec<EmailDomain>,
}

/// Who may sign in through an org's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInRule {
    /// Anyone the org's Okta lets in (Okta's own assignments decide; the default).
    Anyone,
    /// Only people whose email is in one of the org's verified domains.
    VerifiedDomains,
}

impl SignInRule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anyone => "anyone",
            Self::VerifiedDomains => "verified_domains",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "anyone" => Ok(Self::Anyone),
            "verified_domains" => Ok(Self::VerifiedDomains),
            other => Err(InvalidValue(format!(
                "sign-in rule '{other}' must be anyone or verified_domains"
            ))),
        }
    }
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
        domains::route_by_operator(&mut tx, &new.slug, domain).await?;
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
        sign_in_rule: SignInRule::Anyone,
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

fn tenant_from_row(row: &AnyRow, domains: Vec<EmailDomain>) -> Result<Tenant, sqlx::Error> {
    let slug: String = row.try_get("slug")?;
    let status: String = row.try_get("status")?;
    let rule: String = row.try_get("sign_in_rule")?;
    Ok(Tenant {
        slug: TenantSlug::parse(&slug).map_err(decode_error)?,
        display_name: row.try_get("display_name")?,
        status: TenantStatus::parse(&status).map_err(decode_error)?,
        sign_in_rule: SignInRule::parse(&rule).map_err(decode_error)?,
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
    let rows =
        sqlx::query("SELECT slug, display_name, status, sign_in_rule FROM tenants ORDER BY slug")
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
    let row =
        sqlx::query("SELECT slug, display_name, status, sign_in_rule FROM tenants WHERE slug = $1")
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
        domains::route_by_operator(&mut tx, slug, domain).await?;
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

/// Sets who may sign in through the org's instances. "Verified domains only" is refused while
/// no admin's email is in a verified domain: the org would lock its admins out.
pub async fn set_sign_in_rule(
    db: &Db,
    slug: &TenantSlug,
    rule: SignInRule,
    actor: &Actor,
) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    let updated =
        sqlx::query("UPDATE tenants SET sign_in_rule = $1, updated_at = $2 WHERE slug = $3")
            .bind(rule.as_str())
            .bind(now())
            .bind(slug.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if updated == 0 {
        return Err(RegistryError::UnknownTenant(slug.clone()));
    }
    keeps_an_admin_admitted(&mut tx, slug).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "tenant.sign_in_rule",
            tenant: Some(slug),
            instance: None,
            succeeded: true,
            detail: match rule {
                SignInRule::Anyone => "anyone the organization's Okta lets in".to_owned(),
                SignInRule::VerifiedDomains => {
                    "only people whose email is in a verified domain".to_owned()
                }
            },
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses a change after which the org's sign-in rule would let none of its admins in.
pub(super) async fn keeps_an_admin_admitted(
    conn: &mut AnyConnection,
    slug: &TenantSlug,
) -> Result<(), RegistryError> {
    let rule: String = sqlx::query_scalar("SELECT sign_in_rule FROM tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_one(&mut *conn)
        .await?;
    if rule != SignInRule::VerifiedDomains.as_str() {
        return Ok(());
    }
    let admitted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenant_admins a JOIN users u ON u.id = a.user_id \
         JOIN instances i ON i.id = u.instance_id \
         JOIN tenant_domains d ON d.tenant_slug = i.tenant_slug \
         WHERE i.tenant_slug = $1 AND lower(u.email) LIKE '%@' || d.domain",
    )
    .bind(slug.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if admitted == 0 {
        return Err(RegistryError::Conflict(
            "with \"verified domains only\", no admin of the organization could sign in: \
             verify the domain of an admin's email first"
                .to_owned(),
        ));
    }
    Ok(())
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
