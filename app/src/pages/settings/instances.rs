use leptos::prelude::*;

use super::add_instance::AddInstance;
use super::instance_actions::InstanceActions;
use super::{OrgResource, unless_explained};
use crate::api::{AddOrgInstance, InstanceSummary, InstanceUrlsView, IssuerHealthView};
use crate::components::CopyField;
use crate::components::time::{ago, utc};

/// One card per instance: its state, its secrets' hints, how sign-ins went, and what to paste
/// into Okta.
#[component]
pub fn InstancesPage() -> impl IntoView {
    let OrgResource(org) = expect_context();
    let add = ServerAction::<AddOrgInstance>::new();
    let save = Callback::new(move |form| {
        add.dispatch(form);
    });
    // A saved instance appears as a card; the form is rebuilt empty.
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            org.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading instances…"</p> }>
            {move || Suspend::new(async move {
                match org.await {
                    Ok(org) => view! {
                        {org
                            .instances
                            .is_empty()
                            .then(|| view! {
                                <p class="card muted">"This organization has no instance yet."</p>
                            })}
                        {org
                            .instances
                            .into_iter()
                            .map(|instance| view! { <InstanceCard instance/> })
                            .collect_view()}
                        <AddInstance
                            heading="Add an instance"
                            intro="Another Okta org, or another app integration in yours. \
                                   Create the app in Okta first: it gives you the client ID \
                                   and secret."
                            save
                            pending=add.pending()
                            outcome=add.value()
                        />
                    }
                    .into_any(),
                    Err(error) => unless_explained(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn InstanceCard(instance: InstanceSummary) -> impl IntoView {
    let actions = instance.clone();
    let (state, state_class) = if instance.enabled {
        ("Enabled", "badge ok")
    } else {
        ("Disabled", "badge off")
    };
    let last_sign_in = instance
        .last_sign_in_at
        .map_or_else(|| "None yet".to_owned(), utc);
    let secret_in_use = match instance.working_secret.as_deref() {
        Some("next") => "The next secret (promote it to finish the rotation)",
        Some(_) => "The current secret",
        None => "Not known until the first sign-in",
    };
    let next_secret = instance
        .next_secret_hint
        .unwrap_or_else(|| "none".to_owned());
    let failure = instance.last_failure.map(|failure| {
        view! {
            <div class="notice warn">
                <p class="notice-title">"Last failed sign-in · " {utc(failure.at)}</p>
                <p class="reason">{failure.reason}</p>
            </div>
        }
    });
    let clock = instance.clock_skew.map(|skew| {
        let (direction, by) = if skew.secs > 0 {
            ("behind", skew.secs)
        } else {
            ("ahead of", -skew.secs)
        };
        view! {
            <div class="notice warn" role="alert">
                <p class="notice-title">"Clocks differ · " {utc(skew.seen_at)}</p>
                <p class="reason">
                    "Okta's clock was " {by} " seconds " {direction} " this server's at a recent \
                     sign-in. Past the allowed leeway sign-ins fail: check the server's time \
                     synchronization (NTP)."
                </p>
            </div>
        }
    });
    let (health, health_class) = issuer_health(&instance.issuer_health);
    let urls = instance.urls.clone();
    let setting_up = (!instance.enabled && instance.last_sign_in_at.is_none()).then(|| {
        view! {
            <div class="notice info">
                <p class="notice-title">"Not active yet"</p>
                <ol class="setup-steps">
                    <li>"Enter the values below in your Okta app."</li>
                    <li>"Test the connection."</li>
                    <li>"Activate: people can then sign in through it."</li>
                </ol>
            </div>
        }
    });
    let heading = format!("instance-{}", instance.id);
    let labelled_by = heading.clone();
    view! {
        <section class="card instance" aria-labelledby=labelled_by>
            <div class="instance-head">
                <h2 id=heading>{instance.label}</h2>
                <span class=state_class>{state}</span>
            </div>
            <dl class="facts">
                <dt>"Okta domain"</dt>
                <dd>{instance.issuer}</dd>
                <dt>"Client ID"</dt>
                <dd><code>{instance.client_id}</code></dd>
                <dt>"Client secret"</dt>
                <dd>{instance.secret_hint}</dd>
                <dt>"Next secret"</dt>
                <dd>{next_secret}</dd>
                <dt>"Secret in use"</dt>
                <dd>{secret_in_use}</dd>
                <dt>"Last sign-in"</dt>
                <dd>{last_sign_in}</dd>
                <dt>"Discovery and keys"</dt>
                <dd class=health_class data-testid="issuer-health">{health}</dd>
            </dl>
            {failure}
            {clock}
            {setting_up}
            <OktaValues instance=instance.id urls/>
            <InstanceActions instance=actions/>
        </section>
    }
}

/// What to enter in Okta for one instance, each with its "Copy" button.
#[component]
pub(super) fn OktaValues(instance: String, urls: InstanceUrlsView) -> impl IntoView {
    view! {
        <h3>"What to enter in Okta"</h3>
        <p class="muted small">
            "In the Orgpass app from the Okta Integration Network, enter the instance ID. For an \
             app integration you created yourself, enter the four URLs."
        </p>
        <div class="copy-list">
            <CopyField label="Orgpass instance ID" value=instance/>
            <CopyField label="Sign-in redirect URI" value=urls.sign_in_redirect_uri/>
            <CopyField label="Initiate login URI" value=urls.initiate_login_uri/>
            <CopyField label="Sign-out redirect URI" value=urls.sign_out_redirect_uri/>
            <CopyField
                label="Global token revocation endpoint"
                value=urls.global_token_revocation_uri
            />
        </div>
    }
}

/// What this server holds of the issuer's discovery document and signing keys, and whether
/// that needs a look.
fn issuer_health(health: &IssuerHealthView) -> (String, &'static str) {
    let keys = |count: usize| {
        if count == 1 {
            "1 signing key".to_owned()
        } else {
            format!("{count} signing keys")
        }
    };
    match (
        health.discovered_secs_ago,
        health.keys_fetched_secs_ago,
        health.keys_failed_secs_ago,
    ) {
        (None, _, _) => (
            "Not fetched by this server yet: the next sign-in fetches them".to_owned(),
            "",
        ),
        (Some(_), Some(fetched), Some(failed)) => (
            format!(
                "The last key fetch failed {}; still using the {} fetched {}",
                ago(failed),
                keys(health.keys),
                ago(fetched)
            ),
            "error",
        ),
        (Some(_), None, Some(failed)) => (
            format!(
                "The key fetch failed {}: no keys to verify sign-ins",
                ago(failed)
            ),
            "error",
        ),
        (Some(discovered), Some(fetched), None) => (
            format!(
                "Discovery fetched {}; {} fetched {}",
                ago(discovered),
                keys(health.keys),
                ago(fetched)
            ),
            "",
        ),
        (Some(discovered), None, None) => (
            format!(
                "Discovery fetched {}; keys not fetched yet",
                ago(discovered)
            ),
            "",
        ),
    }
}
