//! The two secret slots, current and next: the context each is sealed under, opening them,
//! and which one the token endpoint last accepted.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::backend::registry::RegistryError;
use crate::backend::vault::{Sealed, Vault};
use crate::domain::{ClientSecret, InstanceId, InvalidValue};

/// One of the two secrets Okta keeps active during a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSlot {
    Current,
    Next,
}

impl SecretSlot {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Next => "next",
        }
    }

    /// The associated data a secret is sealed with: a ciphertext copied to another instance or
    /// slot does not open.
    pub(in crate::backend::registry) fn context(self, instance: &InstanceId) -> String {
        format!("instance:{instance}:{}", self.as_str())
    }
}

/// The sealed secrets of a row selected with `secret_key_id, secret_sealed, next_…`.
pub(super) struct SealedSecrets {
    current: Sealed,
    next: Option<Sealed>,
}

impl SealedSecrets {
    pub(super) const COLUMNS: &str =
        "i.secret_key_id, i.secret_sealed, i.next_secret_key_id, i.next_secret_sealed";

    pub(super) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let next_key: Option<i64> = row.try_get("next_secret_key_id")?;
        let next_bytes: Option<Vec<u8>> = row.try_get("next_secret_sealed")?;
        Ok(Self {
            current: Sealed {
                key_id: row.try_get("secret_key_id")?,
                bytes: row.try_get("secret_sealed")?,
            },
            next: next_key
                .zip(next_bytes)
                .map(|(key_id, bytes)| Sealed { key_id, bytes }),
        })
    }

    pub(super) fn open(
        &self,
        vault: &Vault,
        id: &InstanceId,
    ) -> Result<(ClientSecret, Option<ClientSecret>), RegistryError> {
        let current = open_secret(vault, &self.current, SecretSlot::Current, id)?;
        let next = self
            .next
            .as_ref()
            .map(|sealed| open_secret(vault, sealed, SecretSlot::Next, id))
            .transpose()?;
        Ok((current, next))
    }
}

pub(in crate::backend::registry) fn open_secret(
    vault: &Vault,
    sealed: &Sealed,
    slot: SecretSlot,
    id: &InstanceId,
) -> Result<ClientSecret, RegistryError> {
    use secrecy::ExposeSecret;
    let plain = vault.open(sealed, &slot.context(id))?;
    let text = String::from_utf8(plain.expose_secret().to_vec())
        .map_err(|_| InvalidValue("a stored client secret is not UTF-8".to_owned()))?;
    Ok(ClientSecret::new(text)?)
}
