//! `orgpass admin`: an org's tenant admins, for support cases (the org's admins manage them in
//! the settings page). Admins are people who signed in, by their user id; an email names
//! someone not yet signed in, and is honoured at their next sign-in through that org.

use app::backend::admins::{self, Added, AdminError, AdminList};
use app::backend::audit::Actor;
use app::domain::{EmailAddress, TenantSlug};
use clap::{ArgGroup, Subcommand};

use super::{CliError, bad_input, known_tenant, print};
use crate::startup::Storage;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// List an organization's admins (with their user ids) and open invitations.
    List {
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Make someone an admin: by user id, or by email (at once if exactly one person of the
    /// org with that email has signed in, else at their next sign-in).
    #[command(group(ArgGroup::new("who").required(true).args(["user", "email"])))]
    Add {
        tenant: String,
        #[arg(long)]
        user: Option<i64>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove an admin by user id, or withdraw an invitation by email. The last admin stays.
    #[command(group(ArgGroup::new("who").required(true).args(["user", "email"])))]
    Remove {
        tenant: String,
        #[arg(long)]
        user: Option<i64>,
        #[arg(long)]
        email: Option<String>,
    },
}

impl From<AdminError> for CliError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Database(source) => Self::Failed(format!("database error: {source}")),
            other => Self::BadInput(other.to_string()),
        }
    }
}

impl AdminCommand {
    pub async fn run(self, storage: &Storage) -> Result<(), CliError> {
        let db = &storage.db;
        let actor = Actor::Operator;
        match self {
            Self::List { tenant, json } => {
                let tenant = known_tenant(storage, &tenant).await?;
                let list = admins::list(db, &tenant).await?;
                print(json, &list, || list_text(&tenant, &list))
            }
            Self::Add {
                tenant,
                user,
                email,
                json,
            } => {
                let tenant = known_tenant(storage, &tenant).await?;
                let added = match (user, email) {
                    (Some(user), _) => {
                        Added::Now(admins::add_user(db, &tenant, user, &actor).await?)
                    }
                    (None, Some(email)) => {
                        let email = EmailAddress::parse(&email).map_err(bad_input)?;
                        admins::add_by_email(db, &tenant, &email, &actor).await?
                    }
                    (None, None) => return Err(who_missing()),
                };
                match added {
                    Added::Now(admin) => print(json, &admin, || {
                        format!(
                            "{} (user {}) is now an admin of {tenant}",
                            admin.person.email.as_deref().unwrap_or("someone"),
                            admin.person.user_id
                        )
                    }),
                    Added::Invited(invitation) => print(json, &invitation, || {
                        format!(
                            "invited {}: they become an admin of {tenant} at their next sign-in \
                             through one of its instances",
                            invitation.email
                        )
                    }),
                }
            }
            Self::Remove {
                tenant,
                user,
                email,
            } => {
                let tenant = known_tenant(storage, &tenant).await?;
                match (user, email) {
                    (Some(user), _) => {
                        admins::remove(db, &tenant, user, &actor).await?;
                        println!("user {user} is no longer an admin of {tenant}");
                    }
                    (None, Some(email)) => {
                        let email = EmailAddress::parse(&email).map_err(bad_input)?;
                        admins::revoke_invitation(db, &tenant, &email, &actor).await?;
                        println!("withdrew the invitation of {email} to {tenant}");
                    }
                    (None, None) => return Err(who_missing()),
                }
                Ok(())
            }
        }
    }
}

/// Clap requires one of them already; this keeps the match total without a panic.
fn who_missing() -> CliError {
    CliError::BadInput("name the person with --user ID or --email ADDRESS".to_owned())
}

fn list_text(tenant: &TenantSlug, list: &AdminList) -> String {
    if list.admins.is_empty() && list.invitations.is_empty() {
        return format!("{tenant} has no admins and no open invitations");
    }
    let admins = list.admins.iter().map(|admin| {
        let person = &admin.person;
        format!(
            "admin\tuser {}\t{}\t{}\tvia {}",
            person.user_id,
            person.email.as_deref().unwrap_or("-"),
            person.name.as_deref().unwrap_or("-"),
            person.instance
        )
    });
    let invitations = list.invitations.iter().map(|invitation| {
        format!(
            "invited\t{}\tby {}",
            invitation.email, invitation.invited_by
        )
    });
    admins.chain(invitations).collect::<Vec<_>>().join("\n")
}
