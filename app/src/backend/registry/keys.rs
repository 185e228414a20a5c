//! The master keys against the stored secrets: the start-up check and the re-sealing that
//! `orgpass keys rotate` runs.

use sqlx::Row;

use super::RegistryError;
use super::instances::{SecretSlot, open_secret};
use crate::backend::db::Db;
use crate::backend::vault::{Sealed, Vault, VaultError};
use crate::domain::InstanceId;

/// Proves that the configured master keys open the stored secrets: for every key id in use,
/// one secret sealed with it is opened. Run at start-up, so a wrong `ORGPASS_MASTER_KEY` stops
/// the server with a clear message before anything is read or written with it.
pub async fn check_master_keys(db: &Db, vault: &Vault) -> Result<(), RegistryError> {
    for (key_column, sealed_column, slot) in [
        ("secret_key_id", "secret_sealed", SecretSlot::Current),
        ("next_secret_key_id", "next_secret_sealed", SecretSlot::Next),
    ] {
        let samples = sqlx::query(&format!(
            "SELECT i.id, i.{key_column} AS key_id, i.{sealed_column} AS sealed FROM instances i \
             WHERE i.id IN (SELECT MIN(id) FROM instances WHERE {key_column} IS NOT NULL \
             GROUP BY {key_column})"
        ))
        .fetch_all(db)
        .await?;
        for row in samples {
            let id: String = row.try_get("id")?;
            let sealed = Sealed {
                key_id: row.try_get("key_id")?,
                bytes: row.try_get("sealed")?,
            };
            open_secret(vault, &sealed, slot, &InstanceId::parse(&id)?)?;
        }
    }
    Ok(())
}

/// How many secrets are stored (sealed), e.g. to refuse creating a fresh key file over them.
pub async fn sealed_secret_count(db: &Db) -> Result<i64, RegistryError> {
    let row = sqlx::query("SELECT COUNT(*) + COUNT(next_secret_key_id) AS sealed FROM instances")
        .fetch_one(db)
        .await?;
    Ok(row.try_get("sealed")?)
}

/// Re-seals every secret not sealed under the current master key, in small transactions so
/// sign-ins continue meanwhile (each row is readable with the old or the new key throughout).
/// Returns how many secrets were re-sealed.
pub async fn reseal_all(db: &Db, vault: &Vault) -> Result<u64, RegistryError> {
    let current = vault.current_key_id();
    let mut resealed = 0;
    loop {
        let mut tx = db.begin().await?;
        let rows = sqlx::query(
            "SELECT id, secret_key_id, secret_sealed, next_secret_key_id, next_secret_sealed \
             FROM instances WHERE secret_key_id <> $1 OR next_secret_key_id <> $1 \
             ORDER BY id LIMIT 500",
        )
        .bind(current)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id: String = row.try_get("id")?;
            let id = InstanceId::parse(&id)?;
            let mut reseal = |key_column: &str, sealed_column: &str, slot: SecretSlot| {
                let key_id: Option<i64> = row.try_get(key_column)?;
                let bytes: Option<Vec<u8>> = row.try_get(sealed_column)?;
                let Some(sealed) = key_id
                    .zip(bytes)
                    .map(|(key_id, bytes)| Sealed { key_id, bytes })
                else {
                    return Ok::<_, RegistryError>(None);
                };
                if sealed.key_id == current {
                    return Ok(Some(sealed));
                }
                let secret = open_secret(vault, &sealed, slot, &id)?;
                resealed += 1;
                Ok(Some(
                    vault.seal(secret.expose().as_bytes(), &slot.context(&id)),
                ))
            };
            let current_secret = reseal("secret_key_id", "secret_sealed", SecretSlot::Current)?
                .ok_or(VaultError::Malformed(
                    "a stored secret is missing".to_owned(),
                ))?;
            let next_secret = reseal("next_secret_key_id", "next_secret_sealed", SecretSlot::Next)?;
            sqlx::query(
                "UPDATE instances SET secret_key_id = $1, secret_sealed = $2, \
                 next_secret_key_id = $3, next_secret_sealed = $4 WHERE id = $5",
            )
            .bind(current_secret.key_id)
            .bind(current_secret.bytes)
            .bind(next_secret.as_ref().map(|sealed| sealed.key_id))
            .bind(next_secret.map(|sealed| sealed.bytes))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    Ok(resealed)
}
