//! What the sign-in path notes about an instance as it goes, for the settings page: which
//! secret Okta accepted, and how far Okta's clock is from ours. Observations, not changes:
//! written only when they change, with no audit event.

use super::model::ClockSkew;
use super::secrets::SecretSlot;
use crate::backend::db::Db;
use crate::backend::registry::RegistryError;
use crate::domain::InstanceId;

/// Notes which secret the token endpoint accepted, when that changed.
pub async fn record_working_secret(
    db: &Db,
    id: &InstanceId,
    slot: SecretSlot,
) -> Result<(), RegistryError> {
    sqlx::query(
        "UPDATE instances SET working_secret = $1 WHERE id = $2 \
         AND (working_secret IS NULL OR working_secret <> $1)",
    )
    .bind(slot.as_str())
    .bind(id.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// A notable skew of the issuer's clock, or `None` once a token arrives on time again.
pub async fn record_clock_skew(
    db: &Db,
    id: &InstanceId,
    skew: Option<ClockSkew>,
) -> Result<(), RegistryError> {
    sqlx::query("UPDATE instances SET clock_skew_secs = $1, clock_skew_at = $2 WHERE id = $3")
        .bind(skew.map(|skew| skew.secs))
        .bind(skew.map(|skew| skew.seen_at))
        .bind(id.as_str())
        .execute(db)
        .await?;
    Ok(())
}
