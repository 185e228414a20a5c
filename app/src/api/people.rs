//! The settings page's "People" tab: everyone who signed in through the org's instances, and
//! "End sessions" for one of them. Admins only, their own org only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
#[cfg(feature = "ssr")]
use super::{app_state, settings::admin, with_status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub instance_label: String,
    pub first_sign_in_at: i64,
    pub last_sign_in_at: i64,
    pub live_sessions: i64,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeopleView {
    pub people: Vec<MemberView>,
    pub page: u32,
    pub more: bool,
}

/// The org's people whose email contains `search`, most recent sign-in first, `page` from 0.
#[server]
pub async fn list_people(search: String, page: u32) -> Result<PeopleView, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        if page > 10_000 {
            return Err(ApiError::Invalid("page must be at most 10000".to_owned()));
        }
        let app = app_state()?;
        let found =
            crate::backend::people::list(&app.db, &app.sessions, &admin.tenant, &search, page)
                .await?;
        Ok(PeopleView {
            people: found.people.into_iter().map(Into::into).collect(),
            page,
            more: found.more,
        })
    })
    .await
}

/// Ends every session of one person of the org, on every server; answers how many were open.
#[server]
pub async fn end_person_sessions(user_id: i64) -> Result<u64, ApiError> {
    with_status(async move {
        let admin = admin().await?;
        let app = app_state()?;
        Ok(crate::backend::people::end_sessions(
            &app.db,
            &app.sessions,
            &admin.tenant,
            user_id,
            &admin.actor(),
        )
        .await?)
    })
    .await
}

#[cfg(feature = "ssr")]
impl From<crate::backend::people::Member> for MemberView {
    fn from(member: crate::backend::people::Member) -> Self {
        Self {
            user_id: member.user_id,
            name: member.name,
            email: member.email,
            instance_label: member.instance_label,
            first_sign_in_at: member.first_sign_in_at,
            last_sign_in_at: member.last_sign_in_at,
            live_sessions: member.live_sessions,
            is_admin: member.is_admin,
        }
    }
}
