use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::current_user;
use crate::components::{ErrorNotice, SignedInCard};
use crate::domain::TenantSlug;

/// The start page: who is signed in, or where to sign in.
#[component]
pub fn HomePage() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => view! { <SignedInCard user/> }.into_any(),
                    Ok(None) => view! { <FindOrg/> }.into_any(),
                    Err(error) => view! {
                        <ErrorNotice message=error.to_string()/>
                        <FindOrg/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Asks for the organization's name and goes to its sign-in page.
#[component]
fn FindOrg() -> impl IntoView {
    let slug = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match TenantSlug::parse(slug.get_untracked().trim()) {
            Ok(slug) => navigate(&format!("/o/{slug}"), Default::default()),
            Err(invalid) => problem.set(Some(invalid.to_string())),
        }
    };
    view! {
        <section class="card">
            <h1>"Sign in"</h1>
            <p class="muted">"Sign in with your organization's Okta account."</p>
            <form class="stack" method="get" action="/o" on:submit=on_submit>
                <label for="org-slug">"Organization"</label>
                <input
                    id="org-slug"
                    name="slug"
                    placeholder="acme"
                    autocomplete="organization"
                    bind:value=slug
                />
                <Show when=move || problem.get().is_some()>
                    <p class="error" role="alert">{move || problem.get()}</p>
                </Show>
                <button type="submit" class="button">"Continue"</button>
            </form>
        </section>
    }
}
