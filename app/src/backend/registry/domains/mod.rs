//! The email domains that route an org's people, and how each was proved. A domain routes
//! (work-email sign-in, the "verified domains only" sign-in rule) once its org published a DNS
//! TXT record with the claim's token ([`dns`]), or the operator vouched for it. A claim not
//! proved yet never routes: it is checked when an admin asks and in the background
//! ([`schedule`]), and fails after a week. The first org to prove a domain gets it; every
//! other org's claim on it is dropped.

mod dns;
mod schedule;

pub use dns::{DnsChecker, Lookup, NotProved, record_name, record_value};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{RegistryError, decode_error};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, now};
use crate::domain::{EmailDomain, InvalidValue, TenantSlug};

/// How a routing domain was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Its org published the claim's TXT record.
    Dns,
    /// The operator added it (`tenant add/update --domain`): their word is the proof.
    Operator,
}

impl Proof {
    fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Operator => "operator",
        }
    }
}

/// A domain that routes the org's people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDomain {
    pub domain: EmailDomain,
    pub proof: Proof,
    pub verified_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    /// Checked until its record appears or the week is over.
    Pending,
    /// Not proved within the week; an admin's "Verify" starts a new one.
    Failed,
}

/// A domain the org says it owns, not proved yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainClaim {
    pub domain: EmailDomain,
    pub status: ClaimStatus,
    token: String,
    pub created_at: i64,
    pub last_checked_at: Option<i64>,
    pub last_result: Option<NotProved>,
    pub next_check_at: Option<i64>,
}

impl DomainClaim {
    /// The name of the TXT record to publish.
    pub fn record_name(&self) -> String {
        record_name(&self.domain)
    }

    /// The value of the TXT record to publish.
    pub fn record_value(&self) -> String {
        record_value(&self.token)
    }
}

/// An org's domains: those that route, and the claims waiting for their record.
pub struct OrgDomains {
    pub verified: Vec<VerifiedDomain>,
    pub claims: Vec<DomainClaim>,
}

/// What a check of a claim found.
pub enum Verification {
    Verified(VerifiedDomain),
    NotYet(DomainClaim),
}

/// The message another org gets for a domain someone else proved: it does not say who.
pub const TAKEN_ELSEWHERE: &str =
    "this domain is verified by another organization; if it is yours, contact support";

const CLAIM_COLUMNS: &str = "domain, status, token, created_at, checks_from, last_checked_at, \
                             last_result, next_check_at";

pub async fn org_domains(db: &Db, tenant: &TenantSlug) -> Result<OrgDomains, RegistryError> {
    let verified = sqlx::query(
        "SELECT domain, verified_by, created_at FROM tenant_domains WHERE tenant_slug = $1 \
         ORDER BY domain",
    )
    .bind(tenant.as_str())
    .fetch_all(db)
    .await?
    .iter()
    .map(verified_from_row)
    .collect::<Result<_, _>>()?;
    let claims = sqlx::query(&format!(
        "SELECT {CLAIM_COLUMNS} FROM domain_claims WHERE tenant_slug = $1 ORDER BY domain"
    ))
    .bind(tenant.as_str())
    .fetch_all(db)
    .await?
    .iter()
    .map(claim_from_row)
    .collect::<Result<_, _>>()?;
    Ok(OrgDomains { verified, claims })
}

/// Starts a claim on `domain` for `tenant`: a new token to publish. Refused for a domain that
/// identifies nobody (free mail, a public suffix) and for one another org has proved; another
/// org's pending claim does not stand in the way.
pub async fn claim_domain(
    db: &Db,
    tenant: &TenantSlug,
    domain: &EmailDomain,
    actor: &Actor,
) -> Result<DomainClaim, RegistryError> {
    ownable(domain)?;
    let mut tx = db.begin().await?;
    known_tenant(&mut tx, tenant).await?;
    match owner_of(&mut tx, domain).await? {
        Some(owner) if owner == tenant.as_str() => {
            return Err(RegistryError::Conflict(format!(
                "'{domain}' is verified for your organization already"
            )));
        }
        Some(owner) => {
            return Err(RegistryError::DomainTaken {
                domain: domain.clone(),
                owner,
            });
        }
        None => {}
    }
    let at = now();
    let token = new_token();
    let inserted = sqlx::query(
        "INSERT INTO domain_claims (tenant_slug, domain, token, status, created_at, checks_from, \
         next_check_at) VALUES ($1, $2, $3, 'pending', $4, $4, $5) \
         ON CONFLICT (tenant_slug, domain) DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(domain.as_str())
    .bind(&token)
    .bind(at)
    .bind(schedule::next_check(at, at))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(RegistryError::Conflict(format!(
            "'{domain}' was added already: publish its TXT record, then verify it"
        )));
    }
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "domain.claim",
            tenant: Some(tenant),
            instance: None,
            succeeded: true,
            detail: format!("{domain}: waiting for TXT {}", record_name(domain)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(DomainClaim {
        domain: domain.clone(),
        status: ClaimStatus::Pending,
        token,
        created_at: at,
        last_checked_at: None,
        last_result: None,
        next_check_at: schedule::next_check(at, at),
    })
}

/// Looks the claim's record up now. A failed claim is checked again for another week; a
/// domain verified already answers as such.
pub async fn verify_domain(
    db: &Db,
    dns: &DnsChecker,
    tenant: &TenantSlug,
    domain: &EmailDomain,
    actor: &Actor,
) -> Result<Verification, RegistryError> {
    let Some(claim) = find_claim(db, tenant, domain).await? else {
        let verified = org_domains(db, tenant).await?.verified;
        return verified
            .into_iter()
            .find(|verified| verified.domain == *domain)
            .map(Verification::Verified)
            .ok_or_else(|| RegistryError::UnknownDomain(domain.clone()));
    };
    let lookup = dns.txt(&claim.record_name()).await;
    match dns::proves(&lookup, &claim.token) {
        Ok(()) => prove(db, tenant, domain, Proof::Dns, actor)
            .await
            .map(Verification::Verified),
        Err(reason) => {
            let at = now();
            let restart = claim.status == ClaimStatus::Failed;
            let from = if restart { at } else { claim.checks_from };
            let next = if restart {
                schedule::next_check(at, at)
            } else {
                claim.next_check_at
            };
            sqlx::query(
                "UPDATE domain_claims SET status = 'pending', checks_from = $1, \
                 last_checked_at = $2, last_result = $3, next_check_at = $4 \
                 WHERE tenant_slug = $5 AND domain = $6",
            )
            .bind(from)
            .bind(at)
            .bind(reason.as_str())
            .bind(next)
            .bind(tenant.as_str())
            .bind(domain.as_str())
            .execute(db)
            .await?;
            Ok(Verification::NotYet(DomainClaim {
                status: ClaimStatus::Pending,
                last_checked_at: Some(at),
                last_result: Some(reason),
                next_check_at: next,
                ..claim.claim
            }))
        }
    }
}

/// Removes a verified domain (it stops routing at once) or a claim.
pub async fn remove_domain(
    db: &Db,
    tenant: &TenantSlug,
    domain: &EmailDomain,
    actor: &Actor,
) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    let routed = sqlx::query("DELETE FROM tenant_domains WHERE tenant_slug = $1 AND domain = $2")
        .bind(tenant.as_str())
        .bind(domain.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let claimed = sqlx::query("DELETE FROM domain_claims WHERE tenant_slug = $1 AND domain = $2")
        .bind(tenant.as_str())
        .bind(domain.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if routed + claimed == 0 {
        return Err(RegistryError::UnknownDomain(domain.clone()));
    }
    if routed > 0 {
        super::tenants::keeps_an_admin_admitted(&mut tx, tenant).await?;
    }
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "domain.remove",
            tenant: Some(tenant),
            instance: None,
            succeeded: true,
            detail: if routed > 0 {
                format!("{domain}: no longer routes sign-ins")
            } else {
                format!("{domain}: claim withdrawn")
            },
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The background check: looks up every pending claim that is due, at most `limit` of them.
/// Each claim is taken by moving its next check forward first, so replicas sharing a database
/// do not look the same record up twice. Returns how many were proved.
pub async fn check_due_claims(
    db: &Db,
    dns: &DnsChecker,
    limit: i64,
) -> Result<usize, RegistryError> {
    let at = now();
    let due = sqlx::query(&format!(
        "SELECT tenant_slug, {CLAIM_COLUMNS} FROM domain_claims \
         WHERE status = 'pending' AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2"
    ))
    .bind(at)
    .bind(limit)
    .fetch_all(db)
    .await?;
    let mut proved = 0;
    for row in &due {
        let tenant: String = row.try_get("tenant_slug")?;
        let tenant = TenantSlug::parse(&tenant).map_err(decode_error)?;
        let claim = stored_claim_from_row(row)?;
        let next = schedule::next_check(claim.checks_from, at);
        // With the window closed, look once more soon if this process stops before failing it.
        let taken = sqlx::query(
            "UPDATE domain_claims SET next_check_at = $1 \
             WHERE tenant_slug = $2 AND domain = $3 AND next_check_at = $4",
        )
        .bind(next.unwrap_or(at + 300))
        .bind(tenant.as_str())
        .bind(claim.domain.as_str())
        .bind(claim.next_check_at)
        .execute(db)
        .await?
        .rows_affected();
        if taken == 0 {
            continue;
        }
        let lookup = dns.txt(&claim.record_name()).await;
        match dns::proves(&lookup, &claim.token) {
            Ok(()) => {
                prove(db, &tenant, &claim.domain, Proof::Dns, &Actor::System).await?;
                proved += 1;
            }
            Err(reason) => record_check(db, &tenant, &claim.claim, reason, next).await?,
        }
    }
    Ok(proved)
}

async fn record_check(
    db: &Db,
    tenant: &TenantSlug,
    claim: &DomainClaim,
    reason: NotProved,
    next: Option<i64>,
) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE domain_claims SET last_checked_at = $1, last_result = $2, next_check_at = $3, \
         status = $4 WHERE tenant_slug = $5 AND domain = $6",
    )
    .bind(now())
    .bind(reason.as_str())
    .bind(next)
    .bind(if next.is_some() { "pending" } else { "failed" })
    .bind(tenant.as_str())
    .bind(claim.domain.as_str())
    .execute(&mut *tx)
    .await?;
    if next.is_none() {
        audit::record(
            &mut tx,
            Event {
                actor: &Actor::System,
                action: "domain.verify",
                tenant: Some(tenant),
                instance: None,
                succeeded: false,
                detail: format!(
                    "{}: no TXT record with its token at {} within 7 days",
                    claim.domain,
                    claim.record_name()
                ),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The operator's word for a domain (`tenant add/update --domain`): it routes at once.
pub(super) async fn route_by_operator(
    conn: &mut AnyConnection,
    tenant: &TenantSlug,
    domain: &EmailDomain,
) -> Result<(), RegistryError> {
    ownable(domain)?;
    route(conn, tenant, domain, Proof::Operator, &Actor::Operator).await?;
    Ok(())
}

async fn prove(
    db: &Db,
    tenant: &TenantSlug,
    domain: &EmailDomain,
    proof: Proof,
    actor: &Actor,
) -> Result<VerifiedDomain, RegistryError> {
    let mut tx = db.begin().await?;
    let verified = route(&mut tx, tenant, domain, proof, actor).await?;
    tx.commit().await?;
    Ok(verified)
}

/// Gives `domain` to `tenant` and drops every claim on it, the tenant's own and other orgs'
/// (each dropped claim is audited on its org too).
async fn route(
    conn: &mut AnyConnection,
    tenant: &TenantSlug,
    domain: &EmailDomain,
    proof: Proof,
    actor: &Actor,
) -> Result<VerifiedDomain, RegistryError> {
    let at = now();
    let inserted = sqlx::query(
        "INSERT INTO tenant_domains (domain, tenant_slug, created_at, verified_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (domain) DO NOTHING",
    )
    .bind(domain.as_str())
    .bind(tenant.as_str())
    .bind(at)
    .bind(proof.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        let owner = owner_of(conn, domain).await?.unwrap_or_default();
        if owner != tenant.as_str() {
            return Err(RegistryError::DomainTaken {
                domain: domain.clone(),
                owner,
            });
        }
    }
    let dropped: Vec<String> =
        sqlx::query_scalar("DELETE FROM domain_claims WHERE domain = $1 RETURNING tenant_slug")
            .bind(domain.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let others: Vec<TenantSlug> = dropped
        .iter()
        .filter(|other| *other != tenant.as_str())
        .map(|other| TenantSlug::parse(other).map_err(decode_error))
        .collect::<Result<_, _>>()?;
    let how = match proof {
        Proof::Dns => "its DNS TXT record was found",
        Proof::Operator => "added by the operator",
    };
    let mut detail = format!("{domain}: verified, {how}");
    if !others.is_empty() {
        detail.push_str(&format!(
            "; {} other organization(s)' pending claim dropped",
            others.len()
        ));
    }
    audit::record(
        &mut *conn,
        Event {
            actor,
            action: "domain.verify",
            tenant: Some(tenant),
            instance: None,
            succeeded: true,
            detail,
        },
    )
    .await?;
    for other in &others {
        audit::record(
            &mut *conn,
            Event {
                actor: &Actor::System,
                action: "domain.claim_drop",
                tenant: Some(other),
                instance: None,
                succeeded: true,
                detail: format!("{domain}: verified by another organization; this claim is gone"),
            },
        )
        .await?;
    }
    Ok(VerifiedDomain {
        domain: domain.clone(),
        proof,
        verified_at: at,
    })
}

/// A domain nobody can own: one anyone can register names under (`co.uk`, `github.io`), or a
/// free mail provider (refused when the domain is parsed).
fn ownable(domain: &EmailDomain) -> Result<(), InvalidValue> {
    let is_suffix = psl::suffix(domain.as_str().as_bytes())
        .is_some_and(|suffix| suffix.as_bytes() == domain.as_str().as_bytes());
    if is_suffix {
        return Err(InvalidValue(format!(
            "'{domain}' is a public suffix: anyone can register names under it, so it cannot \
             identify an organization; add your own domain, such as acme.{domain}"
        )));
    }
    Ok(())
}

/// Whether the sign-in rule of `tenant` lets a person with `email` in.
pub async fn sign_in_rule_admits(
    conn: &mut AnyConnection,
    tenant: &TenantSlug,
    email: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let domain = email.and_then(|email| EmailDomain::of_email(email).ok());
    let row = sqlx::query(
        "SELECT t.sign_in_rule AS sign_in_rule, (SELECT count(*) FROM tenant_domains d \
         WHERE d.tenant_slug = t.slug AND d.domain = $2) AS inside \
         FROM tenants t WHERE t.slug = $1",
    )
    .bind(tenant.as_str())
    .bind(domain.as_ref().map(EmailDomain::as_str))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let rule: String = row.try_get("sign_in_rule")?;
    let inside: i64 = row.try_get("inside")?;
    Ok(rule != "verified_domains" || inside > 0)
}

struct StoredClaim {
    claim: DomainClaim,
    checks_from: i64,
}

impl std::ops::Deref for StoredClaim {
    type Target = DomainClaim;
    fn deref(&self) -> &DomainClaim {
        &self.claim
    }
}

async fn find_claim(
    db: &Db,
    tenant: &TenantSlug,
    domain: &EmailDomain,
) -> Result<Option<StoredClaim>, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {CLAIM_COLUMNS} FROM domain_claims WHERE tenant_slug = $1 AND domain = $2"
    ))
    .bind(tenant.as_str())
    .bind(domain.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(stored_claim_from_row).transpose()?)
}

async fn known_tenant(conn: &mut AnyConnection, tenant: &TenantSlug) -> Result<(), RegistryError> {
    sqlx::query("SELECT slug FROM tenants WHERE slug = $1")
        .bind(tenant.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or_else(|| RegistryError::UnknownTenant(tenant.clone()))
}

async fn owner_of(
    conn: &mut AnyConnection,
    domain: &EmailDomain,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT tenant_slug FROM tenant_domains WHERE domain = $1")
        .bind(domain.as_str())
        .fetch_optional(&mut *conn)
        .await
}

/// 128 random bits, as 32 lower-case hex digits: easy to paste into any DNS console.
fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn parse_domain(row: &AnyRow) -> Result<EmailDomain, sqlx::Error> {
    let domain: String = row.try_get("domain")?;
    EmailDomain::parse(&domain).map_err(decode_error)
}

fn verified_from_row(row: &AnyRow) -> Result<VerifiedDomain, sqlx::Error> {
    let proof: String = row.try_get("verified_by")?;
    Ok(VerifiedDomain {
        domain: parse_domain(row)?,
        proof: if proof == "dns" {
            Proof::Dns
        } else {
            Proof::Operator
        },
        verified_at: row.try_get("created_at")?,
    })
}

fn claim_from_row(row: &AnyRow) -> Result<DomainClaim, sqlx::Error> {
    stored_claim_from_row(row).map(|stored| stored.claim)
}

fn stored_claim_from_row(row: &AnyRow) -> Result<StoredClaim, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let last_result: Option<String> = row.try_get("last_result")?;
    Ok(StoredClaim {
        claim: DomainClaim {
            domain: parse_domain(row)?,
            status: if status == "failed" {
                ClaimStatus::Failed
            } else {
                ClaimStatus::Pending
            },
            token: row.try_get("token")?,
            created_at: row.try_get("created_at")?,
            last_checked_at: row.try_get("last_checked_at")?,
            last_result: last_result.as_deref().and_then(NotProved::parse),
            next_check_at: row.try_get("next_check_at")?,
        },
        checks_from: row.try_get("checks_from")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(raw: &str) -> EmailDomain {
        EmailDomain::parse(raw).unwrap()
    }

    #[test]
    fn public_suffixes_are_refused_and_names_under_them_accepted() {
        for suffix in ["co.uk", "github.io", "com.au", "herokuapp.com"] {
            let error = ownable(&domain(suffix)).unwrap_err();
            assert!(error.0.contains("public suffix"), "{suffix}: {error}");
        }
        for own in [
            "acme.co.uk",
            "acme.github.io",
            "acme.com",
            "eng.acme.com",
            "acme.test",
        ] {
            assert!(ownable(&domain(own)).is_ok(), "{own} was refused");
        }
    }

    #[test]
    fn tokens_are_128_random_bits_in_hex() {
        let (one, two) = (new_token(), new_token());
        assert_eq!(one.len(), 32);
        assert!(one.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(one, two);
    }
}
