//! The settings page's "Email domains" tab: the org's verified domains, its claims with the
//! TXT record to publish, and the sign-in rule. Admins only, their own org only (see
//! [`settings`](super::settings)).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
#[cfg(feature = "ssr")]
use super::{app_state, settings::admin, with_status};

/// Who may sign in through the org's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInRuleView {
    /// Anyone the org's Okta lets in.
    Anyone,
    /// Only people whose email is in one of the org's verified domains.
    VerifiedDomains,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProofView {
    /// The org published the TXT record.
    Dns,
    /// The operator added the domain.
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedDomainView {
    pub domain: String,
    pub proof: ProofView,
    pub verified_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainClaimView {
    pub domain: String,
    /// Not proved within the week of checks; "Verify" starts another.
    pub failed: bool,
    /// The TXT record to publish: its name and value.
    pub record_name: String,
    pub record_value: String,
    pub added_at: i64,
    pub last_checked_at: Option<i64>,
    /// What the last lookup found, in words.
    pub last_result: Option<String>,
    pub next_check_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainsView {
    pub sign_in_rule: SignInRuleView,
    pub verified: Vec<VerifiedDomainView>,
    pub claims: Vec<DomainClaimView>,
}

/// What "Verify" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DomainChecked {
    Verified(VerifiedDomainView),
    NotYet(DomainClaimView),
}

#[cfg(feature = "ssr")]
fn email_domain(raw: &str) -> Result<crate::domain::EmailDomain, ApiError> {
    crate::domain::EmailDomain::parse(raw).map_err(|invalid| ApiError::Invalid(invalid.0))
}

#[cfg(feature = "ssr")]
fn dns(app: &crate::backend::AppState) -> crate::backend::registry::domains::DnsChecker {
    crate::backend::registry::domains::DnsChecker::new(app.settings.dns_server)
}

#[server]
pub async fn org_domains() -> Result<DomainsView, ApiError> {
    use crate::backend::registry;
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let tenant = registry::find_tenant(&app.db, &admin.tenant)
            .await?
            .ok_or(ApiError::Internal)?;
        let domains = registry::domains::org_domains(&app.db, &admin.tenant).await?;
        Ok(DomainsView::new(tenant.sign_in_rule, domains))
    })
    .await
}

/// Starts a claim: the answer carries the TXT record to publish.
#[server]
pub async fn add_domain(domain: String) -> Result<DomainClaimView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let domain = email_domain(&domain)?;
        let app = app_state()?;
        let claim = crate::backend::registry::domains::claim_domain(
            &app.db,
            &admin.tenant,
            &domain,
            &admin.actor(),
        )
        .await?;
        Ok(claim.into())
    })
    .await
}

/// Looks the claim's TXT record up now.
#[server]
pub async fn verify_domain(domain: String) -> Result<DomainChecked, ApiError> {
    use crate::backend::registry::domains::{self, Verification};
    with_status(async move {
        let admin = admin().await?;
        let domain = email_domain(&domain)?;
        let app = app_state()?;
        let checked =
            domains::verify_domain(&app.db, &dns(&app), &admin.tenant, &domain, &admin.actor())
                .await?;
        Ok(match checked {
            Verification::Verified(verified) => DomainChecked::Verified(verified.into()),
            Verification::NotYet(claim) => DomainChecked::NotYet(claim.into()),
        })
    })
    .await
}

/// Removes a verified domain (it stops routing at once) or withdraws a claim.
#[server]
pub async fn remove_domain(domain: String) -> Result<(), ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let domain = email_domain(&domain)?;
        let app = app_state()?;
        crate::backend::registry::domains::remove_domain(
            &app.db,
            &admin.tenant,
            &domain,
            &admin.actor(),
        )
        .await?;
        Ok(())
    })
    .await
}

#[server]
pub async fn set_sign_in_rule(rule: SignInRuleView) -> Result<(), ApiError> {
    use crate::backend::registry::{self, SignInRule};
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        let rule = match rule {
            SignInRuleView::Anyone => SignInRule::Anyone,
            SignInRuleView::VerifiedDomains => SignInRule::VerifiedDomains,
        };
        registry::set_sign_in_rule(&app.db, &admin.tenant, rule, &admin.actor()).await?;
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::backend::registry::SignInRule;
    use crate::backend::registry::domains::{
        ClaimStatus, DomainClaim, NotProved, OrgDomains, Proof, VerifiedDomain,
    };

    impl DomainsView {
        pub(super) fn new(rule: SignInRule, domains: OrgDomains) -> Self {
            Self {
                sign_in_rule: match rule {
                    SignInRule::Anyone => SignInRuleView::Anyone,
                    SignInRule::VerifiedDomains => SignInRuleView::VerifiedDomains,
                },
                verified: domains.verified.into_iter().map(Into::into).collect(),
                claims: domains.claims.into_iter().map(Into::into).collect(),
            }
        }
    }

    impl From<VerifiedDomain> for VerifiedDomainView {
        fn from(verified: VerifiedDomain) -> Self {
            Self {
                domain: verified.domain.to_string(),
                proof: match verified.proof {
                    Proof::Dns => ProofView::Dns,
                    Proof::Operator => ProofView::Operator,
                },
                verified_at: verified.verified_at,
            }
        }
    }

    impl From<DomainClaim> for DomainClaimView {
        fn from(claim: DomainClaim) -> Self {
            let record_name = claim.record_name();
            Self {
                last_result: claim.last_result.map(|reason| match reason {
                    NotProved::NoRecord => format!("no TXT record at {record_name} yet"),
                    NotProved::OtherToken => {
                        format!("a TXT record is at {record_name}, but not with this value")
                    }
                    NotProved::Unreachable => "the DNS did not answer; it is asked again".into(),
                }),
                record_value: claim.record_value(),
                record_name,
                domain: claim.domain.to_string(),
                failed: claim.status == ClaimStatus::Failed,
                added_at: claim.created_at,
                last_checked_at: claim.last_checked_at,
                next_check_at: claim.next_check_at,
            }
        }
    }
}
