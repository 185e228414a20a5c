//! `/setup`: the page a setup link leads to, for a customer's admin who has no account yet.
//! Steps: connect the Okta app (domain, client ID, secret), enter the values in Okta, test
//! the connection and a sign-in, activate, then sign in through it, which makes them the
//! org's first admin and uses the link up. What they may do is decided by the server
//! functions; this page only shows the step they are at.

use leptos::prelude::*;

use super::add_instance::AddInstance;
use super::instance_actions::{TestButton, TestResult, TestSignInLink};
use super::instances::OktaValues;
use crate::api::{
    AddOrgInstance, AddSetupInstance, ApiError, InstanceSummary, SetInstanceEnabled,
    TestConnection, setup_status,
};
use crate::components::ErrorNotice;
use crate::components::time::utc;

#[component]
pub fn SetupPage() -> impl IntoView {
    let status = Resource::new(|| (), |()| setup_status());
    let add = ServerAction::<AddSetupInstance>::new();
    let save = Callback::new(move |form: AddOrgInstance| {
        add.dispatch(AddSetupInstance {
            label: form.label,
            okta_domain: form.okta_domain,
            client_id: form.client_id,
            client_secret: form.client_secret,
        });
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            status.refetch();
        }
    });
    view! {
        <div class="settings setup">
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(setup) => view! {
                            <header class="settings-head">
                                <p class="eyebrow">"Set up sign-in with Okta"</p>
                                <h1>{setup.tenant_name}</h1>
                            </header>
                            <Progress instance=setup.instance.clone()/>
                            {match setup.instance {
                                None => view! {
                                    <AddInstance
                                        heading="Connect your Okta app"
                                        intro="In Okta, add the Orgpass app from the Okta \
                                               Integration Network (or create an OIDC web app \
                                               integration). It gives you a client ID and a \
                                               client secret: enter them here."
                                        save
                                        pending=add.pending()
                                        outcome=add.value()
                                    />
                                }
                                .into_any(),
                                Some(instance) => view! { <Configure instance status/> }.into_any(),
                            }}
                            <p class="muted small">
                                "This set-up link works once, until " {utc(setup.expires_at)} "."
                            </p>
                        }
                        .into_any(),
                        Err(ApiError::Unauthorized(_)) => view! { <LinkNoLongerValid/> }.into_any(),
                        Err(error) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// Where they are among the steps.
#[component]
fn Progress(instance: Option<InstanceSummary>) -> impl IntoView {
    let at = match &instance {
        None => 0,
        Some(instance) if !instance.enabled => 1,
        Some(_) => 3,
    };
    let steps = [
        "Connect your Okta app",
        "Enter the values in Okta",
        "Test and activate",
        "Sign in as the first admin",
    ];
    view! {
        <ol class="progress" aria-label="Set-up steps">
            {steps
                .into_iter()
                .enumerate()
                .map(|(step, name)| {
                    let (class, current) = match step.cmp(&at) {
                        std::cmp::Ordering::Less => ("done", None),
                        std::cmp::Ordering::Equal => ("current", Some("step")),
                        std::cmp::Ordering::Greater => ("", None),
                    };
                    view! { <li class=class aria-current=current>{name}</li> }
                })
                .collect_view()}
        </ol>
    }
}

/// The saved instance: what to enter in Okta, the tests, activation, then the sign-in.
#[component]
fn Configure(
    instance: InstanceSummary,
    status: Resource<Result<crate::api::SetupView, ApiError>>,
) -> impl IntoView {
    let test = ServerAction::<TestConnection>::new();
    let activate = ServerAction::<SetInstanceEnabled>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = activate.value().get() {
            status.refetch();
        }
    });
    let id = instance.id.clone();
    let sign_in = format!("/sso/{id}/login?return_to=%2Fsettings");
    let last = if instance.enabled {
        view! {
            <section class="card stack" aria-labelledby="sign-in-step">
                <h2 id="sign-in-step">"Sign in as the first admin"</h2>
                <p class="notice info" role="status">
                    {instance.label.clone()} " is active: people of your organization can sign in \
                     through it."
                </p>
                <p class="muted">
                    "Sign in through it now: you become your organization's first admin and this \
                     set-up link stops working. You can then add other admins, more instances, \
                     and see every sign-in in the audit log."
                </p>
                // A server route, not a page of the app: the router must not take it.
                <a class="button" href=sign_in rel="external">"Sign in as the first admin"</a>
            </section>
        }
        .into_any()
    } else {
        let id = id.clone();
        let pending = activate.pending();
        view! {
            <section class="card stack" aria-labelledby="test-step">
                <h2 id="test-step">"Test and activate"</h2>
                <p class="muted small">
                    "Test the connection (discovery, issuer, keys), then a sign-in: it opens in a \
                     new tab, shows what Okta sent and each check, and signs nobody in."
                </p>
                <div class="actions">
                    <TestButton id=id.clone() test/>
                    <TestSignInLink id=id.clone()/>
                </div>
                <TestResult test/>
                {move || {
                    activate
                        .value()
                        .get()
                        .and_then(Result::err)
                        .map(|error| view! { <ErrorNotice message=error.to_string()/> })
                }}
                <div class="actions">
                    <button
                        type="button"
                        class="button"
                        disabled=move || pending.get()
                        on:click=move |_| {
                            activate.dispatch(SetInstanceEnabled { id: id.clone(), enabled: true });
                        }
                    >
                        {move || if pending.get() { "Activating…" } else { "Activate" }}
                    </button>
                </div>
            </section>
        }
        .into_any()
    };
    let heading = format!("instance-{}", instance.id);
    let labelled_by = heading.clone();
    view! {
        <section class="card instance" aria-labelledby=labelled_by>
            <div class="instance-head">
                <h2 id=heading>{instance.label.clone()}</h2>
                {if instance.enabled {
                    view! { <span class="badge ok">"Active"</span> }
                } else {
                    view! { <span class="badge off">"Not active yet"</span> }
                }}
            </div>
            <dl class="facts">
                <dt>"Okta domain"</dt>
                <dd>{instance.issuer.clone()}</dd>
                <dt>"Client ID"</dt>
                <dd><code>{instance.client_id.clone()}</code></dd>
                <dt>"Client secret"</dt>
                <dd>{instance.secret_hint.clone()}</dd>
            </dl>
            <OktaValues instance=instance.id.clone() urls=instance.urls.clone()/>
        </section>
        {last}
    }
}

/// The same words as the server's page for a link that is used, revoked or expired.
#[component]
fn LinkNoLongerValid() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"This link is no longer valid"</h1>
            <p class="muted" role="alert">
                "Set-up links work once and for a limited time. Ask whoever sent you this one for \
                 a new link."
            </p>
        </section>
    }
}
