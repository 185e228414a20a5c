use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::{SignInForm, SignedInCard, use_session};

const SESSION_ENDED: &str = "Your session has ended. Sign in again to continue.";

/// The start page: who is signed in, or the sign-in by work email.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let user = session.user.await;
                match (user, session.ended.get()) {
                    (Ok(Some(user)), false) => view! { <SignedInCard user/> }.into_any(),
                    (Ok(Some(_)), true) | (Err(ApiError::Unauthorized(_)), _) => {
                        view! { <SignInForm notice=SESSION_ENDED/> }.into_any()
                    }
                    (Ok(None), _) => view! { <SignInForm/> }.into_any(),
                    (Err(error), _) => view! { <SignInForm notice=error.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
