use leptos::prelude::*;

use super::{OrgResource, Outcome, clear_on_success, unless_explained};
use crate::api::{
    AddAdmin, AddAdminByEmail, AdminAdded, AdminView, AdminsView, InvitationView, PersonView,
    RemoveAdmin, RevokeAdminInvitation, admin_candidates, list_admins,
};
use crate::components::time::utc;

/// The org's admins and invitations, adding one by email or from the people who signed in,
/// and removing one (never the last).
#[component]
pub fn AdminsPage() -> impl IntoView {
    let add_by_email = ServerAction::<AddAdminByEmail>::new();
    let add = ServerAction::<AddAdmin>::new();
    let remove = ServerAction::<RemoveAdmin>::new();
    let revoke = ServerAction::<RevokeAdminInvitation>::new();
    let changes = move || {
        (
            add_by_email.version().get(),
            add.version().get(),
            remove.version().get(),
            revoke.version().get(),
        )
    };
    let admins = Resource::new(changes, |_| list_admins());
    let search = RwSignal::new(String::new());
    let candidates = Resource::new(
        move || (search.get(), changes()),
        |(search, _)| admin_candidates(search),
    );
    // The outcome of the latest change, for the status line.
    let outcome = Memo::new(move |_| {
        let latest = [
            add_by_email.value().get().map(|answer| {
                answer.map(|added| match added {
                    AdminAdded::Now(admin) => {
                        format!("{} is now an admin.", name_of(&admin.person))
                    }
                    AdminAdded::Invited(invitation) => format!(
                        "Invitation saved: {} becomes an admin at their next sign-in.",
                        invitation.email
                    ),
                })
            }),
            add.value().get().map(|answer| {
                answer.map(|admin| format!("{} is now an admin.", name_of(&admin.person)))
            }),
            remove
                .value()
                .get()
                .map(|answer| answer.map(|()| "Admin removed.".to_owned())),
            revoke
                .value()
                .get()
                .map(|answer| answer.map(|()| "Invitation withdrawn.".to_owned())),
        ];
        latest.into_iter().flatten().last()
    });

    // Nothing for those the frame turns away; the resources above stay outside the suspense.
    let OrgResource(org) = expect_context();
    let content = move || {
        view! {
        <section class="card">
            <h2>"Admins"</h2>
            <p class="muted small">
                "Admins manage this organization's instances. Each is a person who signed in \
                 through one of its instances."
            </p>
            <Outcome outcome/>
            <Transition fallback=|| view! { <p class="muted">"Loading admins…"</p> }>
                {move || Suspend::new(async move {
                    match admins.await {
                        Ok(list) => view! { <AdminList list remove revoke/> }.into_any(),
                        Err(error) => unless_explained(error),
                    }
                })}
            </Transition>
        </section>
        <section class="card">
            <h2>"Add an admin"</h2>
            <InviteForm action=add_by_email/>
            <h3>"Or pick someone who has signed in"</h3>
            <div class="field">
                <label for="people-search">"Search by email"</label>
                <input
                    id="people-search"
                    type="search"
                    autocomplete="off"
                    prop:value=search
                    on:input=move |event| search.set(event_target_value(&event))
                />
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading people…"</p> }>
                {move || Suspend::new(async move {
                    match candidates.await {
                        Ok(people) => {
                            let searching = !search.get_untracked().trim().is_empty();
                            view! { <Candidates people add searching/> }.into_any()
                        }
                        Err(error) => unless_explained(error),
                    }
                })}
            </Transition>
        </section>
        }
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { org.await.ok().map(|_| content()) })}
        </Suspense>
    }
}

#[component]
fn AdminList(
    list: AdminsView,
    remove: ServerAction<RemoveAdmin>,
    revoke: ServerAction<RevokeAdminInvitation>,
) -> impl IntoView {
    let pending = remove.pending();
    // The last admin cannot be removed: no button to press.
    let removable = list.admins.len() > 1;
    let admins = list
        .admins
        .into_iter()
        .map(|admin| view! { <AdminRow admin remove pending removable/> })
        .collect_view();
    let invitations = (!list.invitations.is_empty()).then(|| {
        view! {
            <h3>"Invited"</h3>
            <ul class="rows plain">
                {list
                    .invitations
                    .into_iter()
                    .map(|invitation| view! { <InvitationRow invitation revoke/> })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        <ul class="rows plain">{admins}</ul>
        {invitations}
    }
}

#[component]
fn AdminRow(
    admin: AdminView,
    remove: ServerAction<RemoveAdmin>,
    pending: Memo<bool>,
    removable: bool,
) -> impl IntoView {
    let user_id = admin.person.user_id;
    let name = name_of(&admin.person);
    let you = admin.is_me.then_some(" (you)");
    let email = admin.person.email.clone().unwrap_or_default();
    view! {
            <li class="row">
                <div class="row-main">
                    <p class="row-title">{name.clone()} {you}</p>
                    <p class="muted small">
                        {email} " · via " {admin.person.instance_label} " · admin since "
                        {utc(admin.added_at)}
                    </p>
                </div>
    {if removable {
                    view! {
                        <button
                            type="button"
                            class="button small danger"
                            aria-label=format!("Remove {name}")
                            disabled=move || pending.get()
                            on:click=move |_| {
                                remove.dispatch(RemoveAdmin { user_id });
                            }
                        >
                            "Remove"
                        </button>
                    }
                    .into_any()
                } else {
                    view! { <span class="muted small">"The only admin"</span> }.into_any()
                }}
            </li>
        }
}

#[component]
fn InvitationRow(
    invitation: InvitationView,
    revoke: ServerAction<RevokeAdminInvitation>,
) -> impl IntoView {
    let email = invitation.email.clone();
    view! {
        <li class="row">
            <div class="row-main">
                <p class="row-title">{invitation.email.clone()}</p>
                <p class="muted small">
                    "Invited by " {invitation.invited_by} " on " {utc(invitation.invited_at)}
                    " · becomes an admin at their next sign-in"
                </p>
            </div>
            <button
                type="button"
                class="button small secondary"
                aria-label=format!("Withdraw the invitation of {}", invitation.email)
                on:click=move |_| {
                    revoke.dispatch(RevokeAdminInvitation { email: email.clone() });
                }
            >
                "Withdraw"
            </button>
        </li>
    }
}

#[component]
fn InviteForm(action: ServerAction<AddAdminByEmail>) -> impl IntoView {
    let pending = action.pending();
    let email = clear_on_success(action);
    view! {
        <ActionForm action attr:class="stack">
            <div class="field">
                <label for="admin-email">"Email"</label>
                <input
                    id="admin-email"
                    node_ref=email
                    name="email"
                    type="email"
                    required
                    autocomplete="off"
                    placeholder="name@yourcompany.com"
                />
                <p class="muted small">
                    "If they have signed in, they become an admin at once; otherwise at their \
                     next sign-in through one of this organization's instances."
                </p>
            </div>
            <button type="submit" class="button" disabled=move || pending.get()>
                {move || if pending.get() { "Adding…" } else { "Add admin" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn Candidates(
    people: Vec<PersonView>,
    add: ServerAction<AddAdmin>,
    searching: bool,
) -> impl IntoView {
    if people.is_empty() {
        let none = if searching {
            "Nobody who is not an admin matches."
        } else {
            "Everyone who has signed in is an admin already."
        };
        return view! { <p class="muted small">{none}</p> }.into_any();
    }
    view! {
        <ul class="rows plain">
            {people
                .into_iter()
                .map(|person| {
                    let user_id = person.user_id;
                    let name = name_of(&person);
                    view! {
                        <li class="row">
                            <div class="row-main">
                                <p class="row-title">{name.clone()}</p>
                                <p class="muted small">
                                    {person.email.unwrap_or_default()} " · via "
                                    {person.instance_label} " · last sign-in "
                                    {utc(person.last_sign_in_at)}
                                </p>
                            </div>
                            <button
                                type="button"
                                class="button small secondary"
                                aria-label=format!("Make {name} an admin")
                                on:click=move |_| {
                                    add.dispatch(AddAdmin { user_id });
                                }
                            >
                                "Make admin"
                            </button>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

fn name_of(person: &PersonView) -> String {
    person
        .name
        .clone()
        .or_else(|| person.email.clone())
        .unwrap_or_else(|| format!("User {}", person.user_id))
}
