//! What an admin can do to one instance: turn it on or off, edit it, rotate its client secret,
//! remove it. Each action refetches the org's settings, and says what happened or why not.

use leptos::prelude::*;

use super::OrgResource;
use crate::api::{
    ApiError, FinishRotation, InstanceSummary, RemovalView, RemoveOrgInstance, SecretField,
    SetInstanceEnabled, StageNextSecret, TestConnection, UpdateInstanceSettings, instance_removal,
};
use crate::components::ErrorNotice;

#[component]
pub fn InstanceActions(instance: InstanceSummary) -> impl IntoView {
    let OrgResource(org) = expect_context();
    let set_enabled = ServerAction::<SetInstanceEnabled>::new();
    let update = ServerAction::<UpdateInstanceSettings>::new();
    let stage = ServerAction::<StageNextSecret>::new();
    let finish = ServerAction::<FinishRotation>::new();
    let remove = ServerAction::<RemoveOrgInstance>::new();
    let test = ServerAction::<TestConnection>::new();
    // Whatever changed, the tab shows the instance as it now is.
    Effect::new(move |_| {
        let versions = (
            set_enabled.version().get(),
            update.version().get(),
            stage.version().get(),
            finish.version().get(),
            remove.version().get(),
        );
        if versions != (0, 0, 0, 0, 0) {
            org.refetch();
        }
    });
    let error = Memo::new(move |_| {
        [
            set_enabled.value().get().and_then(|a| a.err()),
            update.value().get().and_then(|a| a.err()),
            stage.value().get().and_then(|a| a.err()),
            finish.value().get().and_then(|a| a.err()),
            remove.value().get().and_then(|a| a.err()),
        ]
        .into_iter()
        .flatten()
        .last()
    });
    let id = instance.id.clone();
    let enabled = instance.enabled;
    let toggle = {
        let id = id.clone();
        move |_| {
            set_enabled.dispatch(SetInstanceEnabled {
                id: id.clone(),
                enabled: !enabled,
            });
        }
    };
    view! {
        <div class="instance-actions">
            {move || error.get().map(|error| view! { <ErrorNotice message=error.to_string()/> })}
            <div class="actions">
                <TestButton id=id.clone() test/>
                <TestSignInLink id=id.clone()/>
                <button
                    type="button"
                    class=if enabled { "button secondary" } else { "button" }
                    disabled=move || set_enabled.pending().get()
                    on:click=toggle
                >
                    {if enabled { "Disable" } else { "Activate" }}
                </button>
                <RemoveButton id=id.clone() label=instance.label.clone() remove/>
            </div>
            <TestResult test/>
            <details class="panel">
                <summary>"Edit"</summary>
                <EditForm instance=instance.clone() update/>
            </details>
            <details class="panel">
                <summary>"Rotate the client secret"</summary>
                <Rotation instance stage finish/>
            </details>
        </div>
    }
}

#[component]
fn EditForm(
    instance: InstanceSummary,
    update: ServerAction<UpdateInstanceSettings>,
) -> impl IntoView {
    let pending = update.pending();
    let saved = move || {
        matches!(update.value().get(), Some(Ok(_)))
            .then(|| view! { <p class="notice info" role="status">"Saved."</p> })
    };
    let suffix = instance.id.clone();
    let field = move |name: &str| format!("{name}-{suffix}");
    let basic = instance.token_auth_method == "client_secret_basic";
    let sign_out_default = instance.urls.sign_out_redirect_uri.clone();
    view! {
        <ActionForm action=update attr:class="stack">
            <input type="hidden" name="id" value=instance.id.clone()/>
            <div class="field">
                <label for=field("label")>"Label"</label>
                <input id=field("label") name="label" required value=instance.label.clone()/>
                <p class="muted small">"What people see on the sign-in button and the picker."</p>
            </div>
            <div class="field">
                <label for=field("method")>"Token authentication"</label>
                <select id=field("method") name="token_auth_method">
                    <option value="client_secret_basic" selected=basic>
                        "Client secret, HTTP Basic (Okta's default)"
                    </option>
                    <option value="client_secret_post" selected=!basic>
                        "Client secret in the request body"
                    </option>
                </select>
            </div>
            <div class="field">
                <label for=field("redirects")>"Other sign-in redirect URIs"</label>
                <textarea id=field("redirects") name="redirect_uris" rows="2"></textarea>
                <p class="muted small">"One per line; leave empty to use only the one above."</p>
            </div>
            <div class="field">
                <label for=field("sign-out")>"Sign-out redirect URI"</label>
                <input
                    id=field("sign-out")
                    name="sign_out_uri"
                    type="url"
                    placeholder=sign_out_default
                />
                <p class="muted small">"Leave empty for Orgpass's \"You are signed out\" page."</p>
            </div>
            {saved}
            <button type="submit" class="button" disabled=move || pending.get()>
                {move || if pending.get() { "Saving…" } else { "Save" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn Rotation(
    instance: InstanceSummary,
    stage: ServerAction<StageNextSecret>,
    finish: ServerAction<FinishRotation>,
) -> impl IntoView {
    let id = instance.id.clone();
    let secret = RwSignal::new(String::new());
    let field = format!("next-secret-{}", instance.id);
    let on_submit = {
        let id = id.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            stage.dispatch(StageNextSecret {
                id: id.clone(),
                secret: SecretField(secret.get_untracked()),
            });
            secret.set(String::new());
        }
    };
    let staged = instance.next_secret_hint.clone();
    let promote = {
        let id = id.clone();
        move |_| {
            finish.dispatch(FinishRotation {
                id: id.clone(),
                promote: true,
            });
        }
    };
    let discard = move |_| {
        finish.dispatch(FinishRotation {
            id: id.clone(),
            promote: false,
        });
    };
    let used_next = instance.working_secret.as_deref() == Some("next");
    view! {
        <ol class="steps">
            <li>"In Okta, generate a new client secret for this app. Keep the old one active."</li>
            <li>
                <form class="stack" on:submit=on_submit>
                    <div class="field">
                        <label for=field.clone()>"Next client secret"</label>
                        <input
                            id=field
                            type="password"
                            autocomplete="off"
                            required
                            prop:value=secret
                            on:input=move |event| secret.set(event_target_value(&event))
                        />
                    </div>
                    <button type="submit" class="button" disabled=move || stage.pending().get()>
                        "Save next secret"
                    </button>
                </form>
            </li>
            <li>
                {match staged {
                    Some(hint) => view! {
                        <p role="status">
                            "Next secret " {hint} ". "
                            {if used_next {
                                "Okta accepted it at the last sign-in: promote it now."
                            } else {
                                "Sign-ins try it when Okta refuses the current one. Promote it \
                                 once you deactivate the old secret in Okta."
                            }}
                        </p>
                        <div class="actions">
                            <button type="button" class="button" on:click=promote>"Promote"</button>
                            <button type="button" class="button secondary" on:click=discard>
                                "Discard next secret"
                            </button>
                        </div>
                    }
                    .into_any(),
                    None => view! {
                        <p class="muted">"Then promote it: it becomes the current secret."</p>
                    }
                    .into_any(),
                }}
            </li>
        </ol>
    }
}

/// A real sign-in in a new tab that opens no session and reports what Okta sent.
#[component]
pub(super) fn TestSignInLink(id: String) -> impl IntoView {
    view! {
        <a
            class="button secondary"
            href=format!("/sso/{id}/test")
            target="_blank"
            rel="external noopener"
        >
            "Test sign-in"
        </a>
    }
}

/// "Test connection": the button for the row of actions.
#[component]
pub(super) fn TestButton(id: String, test: ServerAction<TestConnection>) -> impl IntoView {
    let pending = test.pending();
    view! {
        <button
            type="button"
            class="button secondary"
            disabled=move || pending.get()
            on:click=move |_| {
                test.dispatch(TestConnection { id: id.clone() });
            }
        >
            {move || if pending.get() { "Testing…" } else { "Test connection" }}
        </button>
    }
}

/// The connection test's result, one line per check.
#[component]
pub(super) fn TestResult(test: ServerAction<TestConnection>) -> impl IntoView {
    move || match test.value().get() {
        Some(Ok(checks)) => view! {
            <ul class="checks plain" role="status" aria-label="Connection test result">
                {checks
                    .into_iter()
                    .map(|check| {
                        let (mark, class) = match check.outcome.as_str() {
                            "passed" => ("Passed", "badge ok"),
                            "failed" => ("Failed", "badge bad"),
                            _ => ("Not run", "badge off"),
                        };
                        view! {
                            <li class="check">
                                <span class=class>{mark}</span>
                                <span class="check-name">{check.name}</span>
                                <span class="muted small check-detail">{check.detail}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
        None => ().into_any(),
    }
}

/// "Remove" asks first, saying how many people and sessions go with the instance.
#[component]
fn RemoveButton(
    id: String,
    label: String,
    remove: ServerAction<RemoveOrgInstance>,
) -> impl IntoView {
    let asked = RwSignal::new(None::<Result<RemovalView, ApiError>>);
    let ask = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                asked.set(Some(instance_removal(id).await));
            });
        }
    };
    let confirm = move |_| {
        remove.dispatch(RemoveOrgInstance { id: id.clone() });
        asked.set(None);
    };
    let question = move |impact: RemovalView| {
        view! {
            <div class="notice warn confirm" role="alert">
                <p>
                    "Remove " <strong>{label.clone()}</strong> "? Its " {impact.users}
                    " people and " {impact.sessions}
                    " live sessions go with it. This cannot be undone."
                </p>
                <div class="actions">
                    <button type="button" class="button danger" on:click=confirm.clone()>
                        "Remove for good"
                    </button>
                    <button type="button" class="button secondary" on:click=move |_| asked.set(None)>
                        "Cancel"
                    </button>
                </div>
            </div>
        }
    };
    view! {
        <button type="button" class="button danger push-end" on:click=ask>"Remove"</button>
        {move || match asked.get() {
            Some(Ok(impact)) => question(impact).into_any(),
            Some(Err(error)) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
            None => ().into_any(),
        }}
    }
}
