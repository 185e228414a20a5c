//! The signed-in user as the SPA knows it, shared by every page, and the watch that notices
//! when the session ends elsewhere: sign-out in another tab, Okta's Universal Logout, expiry.

use leptos::prelude::*;

use crate::api::{ApiError, SessionView, current_user};

/// How often an open tab asks whether its session still lives, besides on focus.
#[cfg(feature = "hydrate")]
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Result<Option<SessionView>, ApiError>>,
    /// Set when a tab that was signed in learns its session has ended.
    pub ended: RwSignal<bool>,
}

#[cfg(feature = "hydrate")]
impl Session {
    fn is_signed_in(&self) -> bool {
        !self.ended.get_untracked() && matches!(self.user.get_untracked(), Some(Ok(Some(_))))
    }
}

/// Loads the user once for the whole app and, in the browser, starts the watch.
pub fn provide_session() {
    let session = Session {
        user: Resource::new(|| (), |()| current_user()),
        ended: RwSignal::new(false),
    };
    provide_context(session);
    #[cfg(feature = "hydrate")]
    watch_for_end(session);
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// When the tab regains focus and every [`CHECK_EVERY`], a signed-in tab asks
/// `GET /api/session`; a 401 means the session ended.
#[cfg(feature = "hydrate")]
fn watch_for_end(session: Session) {
    let check = move || {
        if !session.is_signed_in() {
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = gloo_net::http::Request::get("/api/session").send().await;
            if answer.is_ok_and(|response| response.status() == 401) {
                session.ended.set(true);
            }
        });
    };
    // For the app's lifetime: the listener and the interval are never removed.
    let _focus = window_event_listener(leptos::ev::focus, move |_| check());
    set_interval(check, CHECK_EVERY);
}
