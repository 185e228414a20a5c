//! The tenant admins' settings pages under `/settings`, and `/setup` where a setup link's holder
//! configures the org's first instance. The guard here only decides what to show; every
//! server function they call authorizes on its own.

mod add_instance;
mod admins;
mod audit;
mod domains;
mod instance_actions;
mod instances;
mod people;
mod setup;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use leptos_router::{LazyRoute, lazy_route};

use admins::AdminsPage;
use audit::AuditPage;
use domains::DomainsPage;
use instances::InstancesPage;
use people::PeoplePage;
use setup::SetupPage;

use crate::api::{ApiError, OrgSettingsView, org_settings};
use crate::components::ErrorNotice;

/// The routes of these pages. Each view is its own wasm chunk (cargo-leptos `--split`), loaded
/// when the route is first visited, so an end user's browser never downloads admin code. The
/// pages load their own data, so a route's `data` is empty.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(SettingsRoute, SettingsLayout);
lazy_page!(InstancesRoute, InstancesPage);
lazy_page!(DomainsRoute, DomainsPage);
lazy_page!(PeopleRoute, PeoplePage);
lazy_page!(AdminsRoute, AdminsPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(SetupRoute, SetupPage);

/// The org's settings, loaded once for every tab; a tab that changes them refetches it.
#[derive(Clone, Copy)]
pub struct OrgResource(pub Resource<Result<OrgSettingsView, ApiError>>);

/// The frame of every settings tab: the org's name and the tabs, or the way in or the refusal
/// for those who may not see it (the tabs then show nothing of their own, see [`unless_explained`]).
/// The tab itself stays outside this suspense, so it is created once, not at every re-render.
#[component]
fn SettingsLayout() -> impl IntoView {
    let org = Resource::new(|| (), |()| org_settings());
    provide_context(OrgResource(org));
    view! {
        <div class="settings">
            <Suspense fallback=|| view! { <p class="muted">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match org.await {
                        Ok(org) => view! {
                            <header class="settings-head">
                                <p class="eyebrow">"Organization settings"</p>
                                <h1>{org.tenant_name}</h1>
                            </header>
                            <nav class="tabs" aria-label="Settings">
                                <A href="/settings" exact=true>"Instances"</A>
                                <A href="/settings/domains">"Email domains"</A>
                                <A href="/settings/people">"People"</A>
                                <A href="/settings/admins">"Admins"</A>
                                <A href="/settings/audit">"Audit log"</A>
                            </nav>
                        }
                        .into_any(),
                        Err(ApiError::Unauthorized(_)) => view! { <SignInFirst/> }.into_any(),
                        Err(ApiError::Forbidden(_)) => view! { <AdminsOnly/> }.into_any(),
                        Err(error) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
            <Outlet/>
        </div>
    }
}

/// The status line of a tab: what its last change did, or why it was refused.
#[component]
fn Outcome(outcome: Memo<Option<Result<String, ApiError>>>) -> impl IntoView {
    move || match outcome.get() {
        Some(Ok(done)) => view! { <p class="notice info" role="status">{done}</p> }.into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
        None => ().into_any(),
    }
}

/// The input of a one-field form, emptied once `action` succeeds, ready for the next entry.
fn clear_on_success<A>(action: ServerAction<A>) -> NodeRef<leptos::html::Input>
where
    A: server_fn::ServerFn + Send + Sync + Clone + 'static,
    A::Output: Send + Sync + 'static,
    A::Error: Send + Sync + 'static,
{
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        let succeeded = action.value().with(|value| matches!(value, Some(Ok(_))));
        if let (true, Some(input)) = (succeeded, input.get()) {
            input.set_value("");
        }
    });
    input
}

/// What a tab shows for an error: nothing when the frame already explains it (not signed in,
/// not an admin), else the error.
pub(super) fn unless_explained(error: ApiError) -> AnyView {
    match error {
        ApiError::Unauthorized(_) | ApiError::Forbidden(_) => ().into_any(),
        other => view! { <ErrorNotice message=other.to_string()/> }.into_any(),
    }
}

#[component]
fn SignInFirst() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"Sign in to manage your organization"</h1>
            <p class="muted">
                "Organization settings are for your organization's admins. Sign in with your work \
                 email first."
            </p>
            <a class="button" href="/?return_to=%2Fsettings">"Sign in"</a>
        </section>
    }
}

#[component]
fn AdminsOnly() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"Only admins can see this"</h1>
            <p class="muted" role="alert">
                "You are signed in, but you are not an admin of your organization. Ask one of its \
                 admins to add you."
            </p>
            <a class="button secondary" href="/">"Back"</a>
        </section>
    }
}
