//! Instances of the integration: each its own Okta client (issuer, client id, sealed secrets).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};
use url::{Host, Url};

use super::{RegistryError, decode_error, display_text};
use crate::backend::audit::{self, Actor, Event};
use crate::backend::db::{Db, is_unique_violation, now};
use crate::backend::vault::{Sealed, Vault};
use crate::domain::{ClientSecret, EmailDomain, InstanceId, InvalidValue, IssuerUrl, TenantSlug};

/// An instance as anyone may see it: no secret in it.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub id: InstanceId,
    pub tenant: TenantSlug,
    pub label: String,
    #[serde(serialize_with = "serialize_display")]
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub token_auth_method: TokenAuthMethod,
    pub enabled: bool,
    /// Which secret the token endpoint last accepted; `None` before the first sign-in.
    pub working_secret: Option<SecretSlot>,
    /// Redirect URIs registered besides the default `/sso/{id}/callback`.
    pub extra_redirect_uris: Vec<String>,
    pub post_logout_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An instance with what may be shown of its secrets ("set, ends in …WXYZ").
#[derive(Debug, Clone, Serialize)]
pub struct InstanceDetail {
    #[serde(flatten)]
    pub instance: Instance,
    pub client_secret: String,
    pub next_client_secret: Option<String>,
}

/// How an instance authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    /// HTTP Basic: Okta's default.
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            other => Err(InvalidValue(format!(
                "token auth method '{other}' must be client_secret_basic or client_secret_post"
            ))),
        }
    }
}

/// One of the two secrets Okta keeps active during a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSlot {
    Current,
    Next,
}

impl SecretSlot {
    fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Next => "next",
        }
    }

    /// The associated data a secret is sealed with: a ciphertext copied to another instance or
    /// slot does not open.
    pub(super) fn context(self, instance: &InstanceId) -> String {
        format!("instance:{instance}:{}", self.as_str())
    }
}

fn serialize_display<S: serde::Serializer>(
    value: &impl std::fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// What the code exchange needs: the instance and its secrets. Not `Serialize`, not `Debug`.
pub struct InstanceCredentials {
    pub instance: Instance,
    pub client_secret: ClientSecret,
    /// The secret Okta generated next, active alongside the current one until it is promoted.
    pub next_secret: Option<ClientSecret>,
}

pub struct NewInstance {
    pub id: Option<InstanceId>,
    pub tenant: TenantSlug,
    pub label: String,
    pub issuer: IssuerUrl,
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub token_auth_method: TokenAuthMethod,
    pub extra_redirect_uris: Vec<String>,
    pub post_logout_uri: Option<String>,
}

/// What to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct InstanceChanges {
    pub label: Option<String>,
    pub issuer: Option<IssuerUrl>,
    pub client_id: Option<String>,
    /// A new current secret (the next one, if any, is kept).
    pub client_secret: Option<ClientSecret>,
    /// `Some(None)` drops the next secret.
    pub next_secret: Option<Option<ClientSecret>>,
    /// Makes the next secret the current one, once Okta's old secret is deactivated.
    pub promote_next: bool,
    pub token_auth_method: Option<TokenAuthMethod>,
    pub extra_redirect_uris: Option<Vec<String>>,
    /// `Some(None)` clears it.
    pub post_logout_uri: Option<Option<String>>,
}

pub(super) fn client_id(raw: &str) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    let valid = !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(InvalidValue(format!(
            "client id '{raw}' must be 1 to 128 visible ASCII characters"
        )));
    }
    Ok(raw.to_owned())
}

/// A redirect URI an admin registers in Okta: https, or http on a loopback address (local
/// development); no credentials and no fragment (RFC 6749 §3.1.2).
pub fn redirect_uri(raw: &str) -> Result<String, InvalidValue> {
    let refuse = |why: &str| InvalidValue(format!("redirect URI '{raw}' refused: {why}"));
    let url = Url::parse(raw.trim()).map_err(|_| refuse("not an absolute URL"))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(refuse("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(refuse("it must use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it must not contain credentials"));
    }
    if url.fragment().is_some() {
        return Err(refuse("it must not have a fragment"));
    }
    Ok(url.to_string())
}

fn redirect_uris(raw: &[String]) -> Result<Vec<String>, InvalidValue> {
    let mut uris = Vec::with_capacity(raw.len());
    for uri in raw {
        let uri = redirect_uri(uri)?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    Ok(uris)
}

fn conflict(id: &InstanceId, client_id: &str, issuer: &IssuerUrl) -> RegistryError {
    RegistryError::Conflict(format!(
        "instance id '{id}' or client id '{client_id}' at {issuer} is already registered"
    ))
}

fn conflict_or(
    error: sqlx::Error,
    id: &InstanceId,
    client_id: &str,
    issuer: &IssuerUrl,
) -> RegistryError {
    if is_unique_violation(&error) {
        conflict(id, client_id, issuer)
    } else {
        error.into()
    }
}

pub async fn add_instance(
    db: &Db,
    vault: &Vault,
    new: NewInstance,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    let mut tx = db.begin().await?;
    let instance = insert_instance(&mut tx, vault, new).await?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.add",
            tenant: Some(&instance.tenant),
            instance: Some(&instance.id),
            succeeded: true,
            detail: format!("client id {} at {}", instance.client_id, instance.issuer),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// Validates and inserts one instance; the caller owns the transaction (and the audit event).
pub(super) async fn insert_instance(
    conn: &mut AnyConnection,
    vault: &Vault,
    new: NewInstance,
) -> Result<Instance, RegistryError> {
    let label = display_text("instance label", &new.label)?;
    let client_id = client_id(&new.client_id)?;
    let extra_redirect_uris = redirect_uris(&new.extra_redirect_uris)?;
    let post_logout_uri = new
        .post_logout_uri
        .as_deref()
        .map(redirect_uri)
        .transpose()?;
    let id = new.id.unwrap_or_else(InstanceId::generate);
    let tenant_exists = sqlx::query("SELECT 1 FROM tenants WHERE slug = $1")
        .bind(new.tenant.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !tenant_exists {
        return Err(RegistryError::UnknownTenant(new.tenant));
    }
    let sealed = vault.seal(
        new.client_secret.expose().as_bytes(),
        &SecretSlot::Current.context(&id),
    );
    let at = now();
    let inserted = sqlx::query(
        "INSERT INTO instances (id, tenant_slug, label, issuer, client_id, secret_key_id, \
         secret_sealed, token_auth_method, extra_redirect_uris, post_logout_uri, enabled, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id.as_str())
    .bind(new.tenant.as_str())
    .bind(&label)
    .bind(new.issuer.as_str())
    .bind(&client_id)
    .bind(sealed.key_id)
    .bind(&sealed.bytes)
    .bind(new.token_auth_method.as_str())
    .bind(extra_redirect_uris.join("\n"))
    .bind(&post_logout_uri)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // DO NOTHING rather than an error: on PostgreSQL an error would abort the caller's whole
    // transaction, and an import reports every conflicting row.
    if inserted == 0 {
        return Err(conflict(&id, &client_id, &new.issuer));
    }
    Ok(Instance {
        id,
        tenant: new.tenant,
        label,
        issuer: new.issuer,
        client_id,
        token_auth_method: new.token_auth_method,
        enabled: true,
        working_secret: None,
        extra_redirect_uris,
        post_logout_uri,
        created_at: at,
        updated_at: at,
    })
}

const INSTANCE_COLUMNS: &str = "i.id, i.tenant_slug, i.label, i.issuer, i.client_id, \
     i.token_auth_method, i.enabled, i.working_secret, i.extra_redirect_uris, i.post_logout_uri, \
     i.created_at, i.updated_at";

fn instance_from_row(row: &AnyRow) -> Result<Instance, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let tenant: String = row.try_get("tenant_slug")?;
    let method: String = row.try_get("token_auth_method")?;
    let working: Option<String> = row.try_get("working_secret")?;
    let extra: String = row.try_get("extra_redirect_uris")?;
    Ok(Instance {
        id: InstanceId::parse(&id).map_err(decode_error)?,
        tenant: TenantSlug::parse(&tenant).map_err(decode_error)?,
        label: row.try_get("label")?,
        issuer: IssuerUrl::from_trusted_storage(row.try_get("issuer")?),
        client_id: row.try_get("client_id")?,
        token_auth_method: TokenAuthMethod::parse(&method).map_err(decode_error)?,
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        working_secret: match working.as_deref() {
            Some("next") => Some(SecretSlot::Next),
            Some(_) => Some(SecretSlot::Current),
            None => None,
        },
        extra_redirect_uris: extra.lines().map(str::to_owned).collect(),
        post_logout_uri: row.try_get("post_logout_uri")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The sealed secrets of a row selected with `secret_key_id, secret_sealed, next_…`.
struct SealedSecrets {
    current: Sealed,
    next: Option<Sealed>,
}

impl SealedSecrets {
    const COLUMNS: &str =
        "i.secret_key_id, i.secret_sealed, i.next_secret_key_id, i.next_secret_sealed";

    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
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

    fn open(
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

pub(super) fn open_secret(
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

/// All instances, or those of one tenant, in a stable order.
pub async fn list_instances(
    db: &Db,
    tenant: Option<&TenantSlug>,
) -> Result<Vec<Instance>, RegistryError> {
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances i \
         WHERE $1 IS NULL OR i.tenant_slug = $1 ORDER BY i.tenant_slug, i.created_at, i.id"
    ))
    .bind(tenant.map(TenantSlug::as_str))
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(instance_from_row)
        .collect::<Result<_, _>>()?)
}

/// The enabled instances of the active org that routes `domain`, by label then id (a stable
/// order for the picker); none when no org routes it.
pub async fn sign_in_options_for_domain(
    db: &Db,
    domain: &EmailDomain,
) -> Result<Vec<Instance>, RegistryError> {
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM tenant_domains d \
         JOIN tenants t ON t.slug = d.tenant_slug \
         JOIN instances i ON i.tenant_slug = t.slug \
         WHERE d.domain = $1 AND t.status = 'active' AND i.enabled = 1 \
         ORDER BY i.label, i.id"
    ))
    .bind(domain.as_str())
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(instance_from_row)
        .collect::<Result<_, _>>()?)
}

/// One instance, without its secrets; `None` when there is no such instance.
pub async fn find_instance(db: &Db, id: &InstanceId) -> Result<Option<Instance>, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances i WHERE i.id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(instance_from_row).transpose()?)
}

/// An instance with the hints of its secrets (which opens them, so it needs the vault).
pub async fn instance_detail(
    db: &Db,
    vault: &Vault,
    id: &InstanceId,
) -> Result<InstanceDetail, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, {} FROM instances i WHERE i.id = $1",
        SealedSecrets::COLUMNS
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?
    .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))?;
    let (current, next) = SealedSecrets::from_row(&row)?.open(vault, id)?;
    Ok(InstanceDetail {
        instance: instance_from_row(&row)?,
        client_secret: current.hint(),
        next_client_secret: next.as_ref().map(ClientSecret::hint),
    })
}

/// The credentials of an enabled instance of an active org; `None` otherwise.
pub async fn enabled_credentials<'c>(
    db: impl Executor<'c, Database = Any>,
    vault: &Vault,
    id: &InstanceId,
) -> Result<Option<InstanceCredentials>, RegistryError> {
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, {} FROM instances i JOIN tenants t ON t.slug = i.tenant_slug \
         WHERE i.id = $1 AND i.enabled = 1 AND t.status = 'active'",
        SealedSecrets::COLUMNS
    ))
    .bind(id.as_str())
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (client_secret, next_secret) = SealedSecrets::from_row(&row)?.open(vault, id)?;
    Ok(Some(InstanceCredentials {
        instance: instance_from_row(&row)?,
        client_secret,
        next_secret,
    }))
}

/// Applies `changes` in one transaction; secrets are re-sealed under the current master key.
pub async fn update_instance(
    db: &Db,
    vault: &Vault,
    id: &InstanceId,
    changes: InstanceChanges,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    let label = changes
        .label
        .as_deref()
        .map(|label| display_text("instance label", label))
        .transpose()?;
    let new_client_id = changes.client_id.as_deref().map(client_id).transpose()?;
    let extra = changes
        .extra_redirect_uris
        .as_deref()
        .map(redirect_uris)
        .transpose()?;
    let post_logout = changes
        .post_logout_uri
        .as_ref()
        .map(|uri| uri.as_deref().map(redirect_uri).transpose())
        .transpose()?;

    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS}, {} FROM instances i WHERE i.id = $1",
        SealedSecrets::COLUMNS
    ))
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))?;
    let mut instance = instance_from_row(&row)?;
    let (mut current, mut next) = SealedSecrets::from_row(&row)?.open(vault, id)?;

    let mut detail = Vec::new();
    if let Some(label) = label {
        instance.label = label;
        detail.push("label");
    }
    if let Some(issuer) = changes.issuer {
        instance.issuer = issuer;
        detail.push("issuer");
    }
    if let Some(client_id) = new_client_id {
        instance.client_id = client_id;
        detail.push("client id");
    }
    if let Some(method) = changes.token_auth_method {
        instance.token_auth_method = method;
        detail.push("token auth method");
    }
    if let Some(extra) = extra {
        instance.extra_redirect_uris = extra;
        detail.push("redirect URIs");
    }
    if let Some(post_logout) = post_logout {
        instance.post_logout_uri = post_logout;
        detail.push("sign-out redirect URI");
    }
    let secrets_changed =
        changes.client_secret.is_some() || changes.next_secret.is_some() || changes.promote_next;
    if let Some(secret) = changes.client_secret {
        current = secret;
        detail.push("client secret replaced");
    }
    if let Some(secret) = changes.next_secret {
        detail.push(if secret.is_some() {
            "next client secret set"
        } else {
            "next client secret dropped"
        });
        next = secret;
    }
    if changes.promote_next {
        current = next.take().ok_or_else(|| {
            InvalidValue(format!(
                "instance '{id}' has no next client secret to promote"
            ))
        })?;
        detail.push("next client secret promoted");
    }

    let sealed_current = vault.seal(
        current.expose().as_bytes(),
        &SecretSlot::Current.context(id),
    );
    let sealed_next = next
        .as_ref()
        .map(|secret| vault.seal(secret.expose().as_bytes(), &SecretSlot::Next.context(id)));
    instance.updated_at = now();
    sqlx::query(
        "UPDATE instances SET label = $1, issuer = $2, client_id = $3, token_auth_method = $4, \
         extra_redirect_uris = $5, post_logout_uri = $6, secret_key_id = $7, secret_sealed = $8, \
         next_secret_key_id = $9, next_secret_sealed = $10, \
         working_secret = CASE WHEN $11 = 1 THEN NULL ELSE working_secret END, updated_at = $12 \
         WHERE id = $13",
    )
    .bind(&instance.label)
    .bind(instance.issuer.as_str())
    .bind(&instance.client_id)
    .bind(instance.token_auth_method.as_str())
    .bind(instance.extra_redirect_uris.join("\n"))
    .bind(&instance.post_logout_uri)
    .bind(sealed_current.key_id)
    .bind(&sealed_current.bytes)
    .bind(sealed_next.as_ref().map(|sealed| sealed.key_id))
    .bind(sealed_next.as_ref().map(|sealed| sealed.bytes.clone()))
    .bind(i64::from(secrets_changed))
    .bind(instance.updated_at)
    .bind(id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(|error| conflict_or(error, id, &instance.client_id, &instance.issuer))?;
    if secrets_changed {
        instance.working_secret = None;
    }
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.update",
            tenant: Some(&instance.tenant),
            instance: Some(id),
            succeeded: true,
            detail: detail.join("; "),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// Turns sign-in through an instance on or off; signed-in sessions of a disabled instance end.
pub async fn set_enabled(
    db: &Db,
    id: &InstanceId,
    enabled: bool,
    actor: &Actor,
) -> Result<Instance, RegistryError> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query("UPDATE instances SET enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(enabled))
        .bind(now())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(RegistryError::UnknownInstance(id.clone()));
    }
    let row = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances i WHERE i.id = $1"
    ))
    .bind(id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let instance = instance_from_row(&row)?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: if enabled {
                "instance.enable"
            } else {
                "instance.disable"
            },
            tenant: Some(&instance.tenant),
            instance: Some(id),
            succeeded: true,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(instance)
}

/// Removes an instance with its users, sessions and pending flows.
pub async fn remove_instance(db: &Db, id: &InstanceId, actor: &Actor) -> Result<(), RegistryError> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("DELETE FROM instances WHERE id = $1 RETURNING tenant_slug")
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| RegistryError::UnknownInstance(id.clone()))?;
    let tenant: String = row.try_get("tenant_slug")?;
    let tenant = TenantSlug::parse(&tenant)?;
    audit::record(
        &mut tx,
        Event {
            actor,
            action: "instance.remove",
            tenant: Some(&tenant),
            instance: Some(id),
            succeeded: true,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

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
