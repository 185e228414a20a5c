//! Who may change an org's settings. An admin is a person who signed in through one of the
//! org's instances, keyed on that user (instance, issuer, sub), never on an email: an email
//! only names someone in an invitation, honoured at their next sign-in through one of THIS
//! org's instances. Okta gives OIN apps no `groups` claim, so nothing is mapped from claims.
//!
//! Every change is one transaction with its audit event. An org always keeps one admin once it
//! has one: removing the last is refused.

use sqlx::{AnyConnection, Row};

use super::audit::{self, Actor, Event};
use super::db::{Db, now};
use crate::domain::{EmailAddress, InstanceId, InvalidValue, IssuerUrl, TenantSlug};

/// Why an admin change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A malformed email (HTTP 400, CLI exit 2).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such org, or no such person or invitation in it (HTTP 404, CLI exit 2). Another
    /// org's people are reported exactly as missing ones.
    #[error("no such {0} in this organization")]
    NotFound(&'static str),
    /// That person is an admin already, or already invited (HTTP 409, CLI exit 2).
    #[error("{0} is already an admin or invited")]
    AlreadyAdmin(String),
    /// Removing them would leave the org without an admin (HTTP 409, CLI exit 2).
    #[error("an organization keeps at least one admin: add another before removing this one")]
    LastAdmin,
    /// Storage failed; logged, never shown (HTTP 500, CLI exit 1).
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// A person who signed in through one of the org's instances.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    pub user_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub instance: InstanceId,
    pub instance_label: String,
    pub last_sign_in_at: i64,
}

/// An admin: the person, and who made them one when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Admin {
    #[serde(flatten)]
    pub person: Person,
    pub added_at: i64,
    pub added_by: String,
}

/// An invitation not yet honoured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invitation {
    pub email: EmailAddress,
    pub invited_at: i64,
    pub invited_by: String,
}

/// An org's admins and open invitations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminList {
    pub admins: Vec<Admin>,
    pub invitations: Vec<Invitation>,
}

/// What [`add_by_email`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Exactly one person with that email has signed in through the org: admin at once.
    Now(Admin),
    /// Nobody (or several people) with that email: they become admin at their next sign-in.
    Invited(Invitation),
}

const PERSON_COLUMNS: &str =
    "u.id AS user_id, u.name, u.email, u.instance_id, i.label, u.last_login_at";
/// The people of one org (`$1`).
const PEOPLE_OF_TENANT: &str = "users u JOIN instances i ON i.id = u.instance_id \
     WHERE i.tenant_slug = $1";

/// The admins of one org (`$1`).
const ADMINS_OF_TENANT: &str = "tenant_admins a JOIN users u ON u.id = a.user_id \
     JOIN instances i ON i.id = u.instance_id WHERE i.tenant_slug = $1";

/// Whether the user is an admin of the org of their instance.
pub async fn is_admin(db: &Db, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 FROM tenant_admins WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}

pub async fn list(db: &Db, tenant: &TenantSlug) -> Result<AdminList, AdminError> {
    let rows = sqlx::query(&format!(
        "SELECT {PERSON_COLUMNS}, a.added_at, a.added_by FROM {ADMINS_OF_TENANT} \
         ORDER BY a.added_at, u.id"
    ))
    .bind(tenant.as_str())
    .fetch_all(db)
    .await?;
    let admins = rows
        .iter()
        .map(|row| {
            Ok(Admin {
                person: person_from_row(row)?,
                added_at: row.try_get("added_at")?,
                added_by: row.try_get("added_by")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let rows = sqlx::query(
        "SELECT email, invited_at, invited_by FROM admin_invitations WHERE tenant_slug = $1 \
         ORDER BY invited_at, email",
    )
    .bind(tenant.as_str())
    .fetch_all(db)
    .await?;
    let invitations = rows
        .iter()
        .map(invitation_from_row)
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(AdminList {
        admins,
        invitations,
    })
}

/// People of the org who are not admins, most recent sign-in first, whose email contains
/// `search` (all of them when it is empty); at most `limit`.
pub async fn candidates(
    db: &Db,
    tenant: &TenantSlug,
    search: &str,
    limit: i64,
) -> Result<Vec<Person>, AdminError> {
    let rows = sqlx::query(&format!(
        "SELECT {PERSON_COLUMNS} FROM {PEOPLE_OF_TENANT} \
         AND u.id NOT IN (SELECT user_id FROM tenant_admins) \
         AND ($2 = '' OR lower(COALESCE(u.email, '')) LIKE '%' || $2 || '%' ESCAPE '\\') \
         ORDER BY u.last_login_at DESC, u.id LIMIT $3"
    ))
    .bind(tenant.as_str())
    .bind(like_escaped(&search.trim().to_lowercase()))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(person_from_row)
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Makes a person who signed in through the org an admin.
pub async fn add_user(
    db: &Db,
    tenant: &TenantSlug,
    user_id: i64,
    actor: &Actor,
) -> Result<Admin, AdminError> {
    let mut tx = db.begin().await?;
    let person = person_in(&mut tx, tenant, user_id).await?;
    let admin = insert_admin(&mut tx, tenant, person, actor).await?;
    tx.commit().await?;
    Ok(admin)
}

/// Makes the one person of the org with this email an admin now, or else invites the email.
pub async fn add_by_email(
    db: &Db,
    tenant: &TenantSlug,
    email: &EmailAddress,
    actor: &Actor,
) -> Result<Added, AdminError> {
    let mut tx = db.begin().await?;
    lock_tenant(&mut tx, tenant).await?;
    let rows = sqlx::query(&format!(
        "SELECT {PERSON_COLUMNS} FROM {PEOPLE_OF_TENANT} AND lower(u.email) = $2 LIMIT 2"
    ))
    .bind(tenant.as_str())
    .bind(email.as_str())
    .fetch_all(&mut *tx)
    .await?;
    if let [row] = rows.as_slice() {
        let person = person_from_row(row)?;
        let admin = insert_admin(&mut tx, tenant, person, actor).await?;
        tx.commit().await?;
        return Ok(Added::Now(admin));
    }
    let invitation = Invitation {
        email: email.clone(),
        invited_at: now(),
        invited_by: actor.label(),
    };
    let inserted = sqlx::query(
        "INSERT INTO admin_invitations (tenant_slug, email, invited_at, invited_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(email.as_str())
    .bind(invitation.invited_at)
    .bind(&invitation.invited_by)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AdminError::AlreadyAdmin(email.to_string()));
    }
    let event = Event {
        actor,
        action: "admin.invite",
        tenant: Some(tenant),
        instance: None,
        succeeded: true,
        detail: format!("invited {email}"),
    };
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(Added::Invited(invitation))
}

/// Removes an admin; refused when they are the org's last.
pub async fn remove(
    db: &Db,
    tenant: &TenantSlug,
    user_id: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let mut tx = db.begin().await?;
    lock_tenant(&mut tx, tenant).await?;
    let person = person_in(&mut tx, tenant, user_id).await?;
    let admins: Vec<i64> = sqlx::query_scalar(&format!("SELECT u.id FROM {ADMINS_OF_TENANT}"))
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
    if !admins.contains(&user_id) {
        return Err(AdminError::NotFound("admin"));
    }
    if admins.len() == 1 {
        return Err(AdminError::LastAdmin);
    }
    sqlx::query("DELETE FROM tenant_admins WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let event = Event {
        actor,
        action: "admin.remove",
        tenant: Some(tenant),
        instance: Some(&person.instance),
        succeeded: true,
        detail: format!("removed {}", describe(&person)),
    };
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Withdraws an invitation that was not honoured yet.
pub async fn revoke_invitation(
    db: &Db,
    tenant: &TenantSlug,
    email: &EmailAddress,
    actor: &Actor,
) -> Result<(), AdminError> {
    let mut tx = db.begin().await?;
    let revoked =
        sqlx::query("DELETE FROM admin_invitations WHERE tenant_slug = $1 AND email = $2")
            .bind(tenant.as_str())
            .bind(email.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if revoked == 0 {
        return Err(AdminError::NotFound("invitation"));
    }
    let event = Event {
        actor,
        action: "admin.invitation_revoke",
        tenant: Some(tenant),
        instance: None,
        succeeded: true,
        detail: format!("withdrew the invitation of {email}"),
    };
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Honours an invitation of the person who just signed in, if their org invited the email the
/// ID token vouches for. Only the org of the instance they signed in through is consulted.
pub async fn honour_invitation(
    conn: &mut AnyConnection,
    instance: &InstanceId,
    issuer: &IssuerUrl,
    sub: &str,
    email: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let Some(email) = email.and_then(|email| EmailAddress::parse(email).ok()) else {
        return Ok(false);
    };
    let invited = sqlx::query(
        "SELECT inv.tenant_slug, inv.invited_by FROM admin_invitations inv \
         JOIN instances i ON i.tenant_slug = inv.tenant_slug \
         WHERE i.id = $1 AND inv.email = $2",
    )
    .bind(instance.as_str())
    .bind(email.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(invited) = invited else {
        return Ok(false);
    };
    let tenant: String = invited.try_get("tenant_slug")?;
    let tenant = TenantSlug::parse(&tenant).map_err(|e| sqlx::Error::Decode(e.0.into()))?;
    let invited_by: String = invited.try_get("invited_by")?;
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO tenant_admins (user_id, added_at, added_by) \
         SELECT id, $4, $5 FROM users WHERE instance_id = $1 AND issuer = $2 AND sub = $3 \
         ON CONFLICT DO NOTHING",
    )
    .bind(instance.as_str())
    .bind(issuer.as_str())
    .bind(sub)
    .bind(now())
    .bind(&invited_by)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM admin_invitations WHERE tenant_slug = $1 AND email = $2")
        .bind(tenant.as_str())
        .bind(email.as_str())
        .execute(&mut *tx)
        .await?;
    let event = Event {
        actor: &Actor::EndUser(email.to_string()),
        action: "admin.invitation_accept",
        tenant: Some(&tenant),
        instance: Some(instance),
        succeeded: true,
        detail: format!("{email} signed in and became an admin (invited by {invited_by})"),
    };
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_admin(
    tx: &mut AnyConnection,
    tenant: &TenantSlug,
    person: Person,
    actor: &Actor,
) -> Result<Admin, AdminError> {
    let added_at = now();
    let added_by = actor.label();
    let inserted = sqlx::query(
        "INSERT INTO tenant_admins (user_id, added_at, added_by) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(person.user_id)
    .bind(added_at)
    .bind(&added_by)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AdminError::AlreadyAdmin(describe(&person)));
    }
    let event = Event {
        actor,
        action: "admin.add",
        tenant: Some(tenant),
        instance: Some(&person.instance),
        succeeded: true,
        detail: format!("made {} an admin", describe(&person)),
    };
    audit::record(tx, event).await?;
    Ok(Admin {
        person,
        added_at,
        added_by,
    })
}

/// The person `user_id` if they belong to the org; another org's are [`AdminError::NotFound`].
async fn person_in(
    conn: &mut AnyConnection,
    tenant: &TenantSlug,
    user_id: i64,
) -> Result<Person, AdminError> {
    let row = sqlx::query(&format!(
        "SELECT {PERSON_COLUMNS} FROM {PEOPLE_OF_TENANT} AND u.id = $2"
    ))
    .bind(tenant.as_str())
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AdminError::NotFound("person"))?;
    Ok(person_from_row(&row)?)
}

/// Serializes admin changes of one org: PostgreSQL locks the row, SQLite takes its write
/// lock, so two admins removing each other cannot both see a second admin left.
async fn lock_tenant(conn: &mut AnyConnection, tenant: &TenantSlug) -> Result<(), AdminError> {
    let locked = sqlx::query("UPDATE tenants SET updated_at = updated_at WHERE slug = $1")
        .bind(tenant.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if locked == 0 {
        return Err(AdminError::NotFound("organization"));
    }
    Ok(())
}

fn person_from_row(row: &sqlx::any::AnyRow) -> Result<Person, sqlx::Error> {
    let instance: String = row.try_get("instance_id")?;
    Ok(Person {
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        instance: InstanceId::parse(&instance).map_err(|e| sqlx::Error::Decode(e.0.into()))?,
        instance_label: row.try_get("label")?,
        last_sign_in_at: row.try_get("last_login_at")?,
    })
}

fn invitation_from_row(row: &sqlx::any::AnyRow) -> Result<Invitation, sqlx::Error> {
    let email: String = row.try_get("email")?;
    Ok(Invitation {
        email: EmailAddress::parse(&email).map_err(|e| sqlx::Error::Decode(e.0.into()))?,
        invited_at: row.try_get("invited_at")?,
        invited_by: row.try_get("invited_by")?,
    })
}

/// How a person is named in audit details: email, else name, else their user number.
fn describe(person: &Person) -> String {
    person
        .email
        .clone()
        .or_else(|| person.name.clone())
        .unwrap_or_else(|| format!("user {}", person.user_id))
}

/// A search for `%` or `_` means those characters, not `LIKE`'s wildcards.
pub(super) fn like_escaped(search: &str) -> String {
    search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
