use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{InstanceLink, org_sign_in};
use crate::components::ErrorNotice;

/// An organization's sign-in page: one button per instance of the integration.
#[component]
pub fn OrgPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let org = Resource::new(move || slug.get(), org_sign_in);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match org.await {
                    Ok(org) => view! {
                        <section class="card">
                            <h1>{org.display_name}</h1>
                            <p class="muted">"Choose how to sign in."</p>
                            <InstanceButtons instances=org.instances/>
                        </section>
                    }.into_any(),
                    Err(error) => view! {
                        <ErrorNotice message=error.to_string()/>
                        <p><a href="/">"Try another organization"</a></p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn InstanceButtons(instances: Vec<InstanceLink>) -> impl IntoView {
    if instances.is_empty() {
        return view! { <p class="muted">"This organization has no active sign-in yet."</p> }
            .into_any();
    }
    view! {
        <ul class="stack plain">
            {instances
                .into_iter()
                .map(|instance| {
                    // rel="external": a full navigation to the server, not a client-side route.
                    view! {
                        <li>
                            <a class="button" rel="external" href=instance.login_path>
                                "Sign in with Okta · " {instance.label}
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
