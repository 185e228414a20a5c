use leptos::prelude::*;

use super::{OrgResource, unless_explained};
use crate::api::{AuditEventView, InstanceSummary, audit_log};
use crate::components::time::{start_of_day, utc};

const SECS_PER_DAY: i64 = 86_400;

/// Sign-ins and configuration changes, newest first, 50 a page, filtered by instance, outcome
/// and period. The filters and the events' resource live here, outside any suspense, so they
/// are created once.
#[component]
pub fn AuditPage() -> impl IntoView {
    let OrgResource(org) = expect_context();
    let instance = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let page = RwSignal::new(0_u32);
    let query = move || {
        (
            Some(instance.get()).filter(|id| !id.is_empty()),
            match outcome.get().as_str() {
                "success" => Some(true),
                "failure" => Some(false),
                _ => None,
            },
            start_of_day(&from.get()),
            // The end date is included: up to the start of the next day.
            start_of_day(&until.get()).map(|day| day + SECS_PER_DAY),
            page.get(),
        )
    };
    let events = Resource::new(query, |(instance, succeeded, from, until, page)| {
        audit_log(instance, succeeded, from, until, page)
    });
    // A new filter starts at the newest page.
    let filter_changed = move |signal: RwSignal<String>| {
        move |event| {
            signal.set(event_target_value(&event));
            page.set(0);
        }
    };
    let content = move |instances: Vec<InstanceSummary>| {
        let instance_options = instances
            .into_iter()
            .map(|i| view! { <option value=i.id>{i.label}</option> })
            .collect_view();
        view! {
            <section class="card">
                <h2>"Audit log"</h2>
                <form class="filters" on:submit=|event| event.prevent_default()>
                    <div class="field">
                        <label for="audit-instance">"Instance"</label>
                        <select id="audit-instance" on:change=filter_changed(instance)>
                            <option value="">"All instances"</option>
                            {instance_options}
                        </select>
                    </div>
                    <div class="field">
                        <label for="audit-outcome">"Outcome"</label>
                        <select id="audit-outcome" on:change=filter_changed(outcome)>
                            <option value="">"All"</option>
                            <option value="success">"Succeeded"</option>
                            <option value="failure">"Failed"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="audit-from">"From"</label>
                        <input id="audit-from" type="date" on:change=filter_changed(from)/>
                    </div>
                    <div class="field">
                        <label for="audit-until">"Until"</label>
                        <input id="audit-until" type="date" on:change=filter_changed(until)/>
                    </div>
                </form>
                <Transition fallback=|| view! { <p class="muted">"Loading events…"</p> }>
                    {move || Suspend::new(async move {
                        match events.await {
                            Ok(answer) => {
                                let more = answer.more;
                                view! {
                                    <EventList events=answer.events/>
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
            {move || Suspend::new(async move { org.await.ok().map(|org| content(org.instances)) })}
        </Suspense>
    }
}

#[component]
fn EventList(events: Vec<AuditEventView>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="muted" role="status">"No events match."</p> }.into_any();
    }
    view! {
        <table class="events">
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"What"</th>
                    <th scope="col">"Instance"</th>
                    <th scope="col">"Outcome"</th>
                </tr>
            </thead>
            <tbody>
                {events
                    .into_iter()
                    .map(|event| {
                        let (outcome, class) = if event.succeeded {
                            ("Succeeded", "badge ok")
                        } else {
                            ("Failed", "badge bad")
                        };
                        view! {
                            <tr>
                                <td data-label="When">{utc(event.at)}</td>
                                <td data-label="Who">{event.actor}</td>
                                <td data-label="What">
                                    <div>
                                        <span class="action">{action_label(&event.action)}</span>
                                        <span class="detail">{event.detail}</span>
                                    </div>
                                </td>
                                <td data-label="Instance">{event.instance.unwrap_or_default()}</td>
                                <td data-label="Outcome"><span class=class>{outcome}</span></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub(super) fn Pager(page: RwSignal<u32>, more: bool) -> impl IntoView {
    let current = page.get_untracked();
    view! {
        <nav class="pager" aria-label="Pages">
            <button
                type="button"
                class="button small secondary"
                disabled=current == 0
                on:click=move |_| page.update(|p| *p = p.saturating_sub(1))
            >
                "Newer"
            </button>
            <span class="muted small">"Page " {current + 1}</span>
            <button
                type="button"
                class="button small secondary"
                disabled=!more
                on:click=move |_| page.update(|p| *p += 1)
            >
                "Older"
            </button>
        </nav>
    }
}

/// What an audit action code means, in words; an unknown code is shown as it is.
fn action_label(action: &str) -> String {
    match action {
        "sign_in" => "Sign-in",
        "admin.add" => "Admin added",
        "admin.invite" => "Admin invited",
        "admin.invitation_accept" => "Invitation accepted",
        "admin.invitation_revoke" => "Invitation withdrawn",
        "admin.remove" => "Admin removed",
        "instance.add" => "Instance added",
        "instance.update" => "Instance changed",
        "instance.enable" => "Instance activated",
        "instance.disable" => "Instance disabled",
        "instance.remove" => "Instance removed",
        "instance.test_sign_in" => "Test sign-in",
        "tenant.add" => "Organization added",
        "tenant.update" => "Organization changed",
        "setup_link.create" => "Setup link created",
        "setup_link.revoke" => "Setup link revoked",
        "setup_link.use" => "Setup link used",
        other => other,
    }
    .to_owned()
}
