use leptos::prelude::*;

use super::audit::Pager;
use super::{OrgResource, unless_explained};
use crate::api::{EndPersonSessions, MemberView, list_people};
use crate::components::ErrorNotice;
use crate::components::time::utc;

/// Everyone who signed in through the org's instances, searchable by email, and "End
/// sessions" to sign one of them out of every browser at once.
#[component]
pub fn PeoplePage() -> impl IntoView {
    let end = ServerAction::<EndPersonSessions>::new();
    let search = RwSignal::new(String::new());
    let page = RwSignal::new(0u32);
    let people = Resource::new(
        move || (search.get(), page.get(), end.version().get()),
        |(search, page, _)| list_people(search, page),
    );

    let OrgResource(org) = expect_context();
    let content = move || {
        view! {
            <section class="card">
                <h2>"People"</h2>
                <p class="muted small">
                    "Everyone who has signed in through this organization's instances. End a \
                     person's sessions to sign them out of every browser at once, e.g. after a \
                     lost laptop; Okta decides whether they can sign in again."
                </p>
                <Ended end/>
                <div class="field">
                    <label for="people-filter">"Search by email"</label>
                    <input
                        id="people-filter"
                        type="search"
                        autocomplete="off"
                        prop:value=search
                        on:input=move |event| {
                            page.set(0);
                            search.set(event_target_value(&event));
                        }
                    />
                </div>
                <Transition fallback=|| view! { <p class="muted">"Loading people…"</p> }>
                    {move || Suspend::new(async move {
                        match people.await {
                            Ok(answer) => {
                                let more = answer.more;
                                view! {
                                    <PersonList people=answer.people end/>
                                    <Pager page more/>
                                }
                                .into_any()
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
fn Ended(end: ServerAction<EndPersonSessions>) -> impl IntoView {
    move || match end.value().get() {
        Some(Ok(count)) => {
            let sessions = if count == 1 { "session" } else { "sessions" };
            view! {
                <p class="notice info" role="status">
                    {format!("{count} {sessions} ended: that person is signed out everywhere.")}
                </p>
            }
            .into_any()
        }
        Some(Err(error)) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
        None => ().into_any(),
    }
}

#[component]
fn PersonList(people: Vec<MemberView>, end: ServerAction<EndPersonSessions>) -> impl IntoView {
    if people.is_empty() {
        return view! { <p class="muted small">"Nobody matches."</p> }.into_any();
    }
    view! {
        <ul class="rows plain" aria-label="People">
            {people.into_iter().map(|person| view! { <PersonRow person end/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn PersonRow(person: MemberView, end: ServerAction<EndPersonSessions>) -> impl IntoView {
    let pending = end.pending();
    let user_id = person.user_id;
    let name = person
        .name
        .clone()
        .or_else(|| person.email.clone())
        .unwrap_or_else(|| format!("User {user_id}"));
    let sessions = match person.live_sessions {
        0 => "not signed in".to_owned(),
        1 => "1 live session".to_owned(),
        n => format!("{n} live sessions"),
    };
    let admin = person
        .is_admin
        .then(|| view! { " " <span class="badge ok">"Admin"</span> });
    view! {
        <li class="row" data-testid="person">
            <div class="row-main">
                <p class="row-title">{name} {admin}</p>
                <p class="muted small">
                    {person.email.unwrap_or_default()} " · via " {person.instance_label}
                    " · first sign-in " {utc(person.first_sign_in_at)} " · last sign-in "
                    {utc(person.last_sign_in_at)}
                </p>
                <p class="muted small">{sessions}</p>
            </div>
            {(person.live_sessions > 0).then(|| view! {
                <button
                    type="button"
                    class="button small danger"
                    disabled=move || pending.get()
                    on:click=move |_| {
                        end.dispatch(EndPersonSessions { user_id });
                    }
                >
                    "End sessions"
                </button>
            })}
        </li>
    }
}
