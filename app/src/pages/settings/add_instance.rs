//! "Add an instance": the Okta domain (checked against the issuer policy as it is typed), the
//! client ID and the write-only client secret. The instance is saved inactive; its card then
//! shows what to enter in Okta, "Test connection" and "Activate". Admins add instances with
//! it, and so does the holder of a setup link (with its own server function).

use leptos::prelude::*;

use crate::api::{AddOrgInstance, ApiError, InstanceSummary, SecretField, check_okta_domain};
use crate::components::ErrorNotice;

/// `save` sends the form to the caller's server action, whose `pending` and `outcome` belong
/// to the page, not to this form: the form is rebuilt when the page reloads after a save, and
/// the outcome must outlive it.
#[component]
pub fn AddInstance(
    heading: &'static str,
    intro: &'static str,
    save: Callback<AddOrgInstance>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] outcome: Signal<Option<Result<InstanceSummary, ApiError>>>,
) -> impl IntoView {
    let label = RwSignal::new("Okta".to_owned());
    let domain = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    // What the typed domain stands for, or why it is refused; checked when the field is left.
    let domain_check = RwSignal::new(None::<Result<String, String>>);
    let check_domain = move |_| {
        let typed = domain.get_untracked();
        if typed.trim().is_empty() {
            domain_check.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            domain_check.set(Some(
                check_okta_domain(typed).await.map_err(|e| e.to_string()),
            ));
        });
    };
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save.run(AddOrgInstance {
            label: label.get_untracked(),
            okta_domain: domain.get_untracked(),
            client_id: client_id.get_untracked(),
            client_secret: SecretField(secret.get_untracked()),
        });
    };
    let domain_hint = move || match domain_check.get() {
        Some(Ok(issuer)) => {
            view! { <p class="muted small" role="status">"Issuer: " {issuer}</p> }.into_any()
        }
        Some(Err(why)) => view! { <p class="field-error error" role="alert">{why}</p> }.into_any(),
        None => view! {
            <p class="muted small">"e.g. acme.okta.com, your custom domain, or the issuer URL"</p>
        }
        .into_any(),
    };
    let outcome = move || match outcome.get() {
        Some(Ok(added)) => view! {
            <p class="notice info" role="status">
                {added.label} " was saved, not active yet: enter its values in Okta above, test \
                 the connection, then activate it."
            </p>
        }
        .into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
        None => ().into_any(),
    };
    view! {
        <section class="card" aria-labelledby="add-instance">
            <h2 id="add-instance">{heading}</h2>
            <p class="muted small">{intro}</p>
            <form class="stack" on:submit=on_submit>
                <div class="field">
                    <label for="new-domain">"Okta domain"</label>
                    <input
                        id="new-domain"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=domain
                        on:input=move |event| domain.set(event_target_value(&event))
                        on:change=check_domain
                        aria-invalid=move || matches!(domain_check.get(), Some(Err(_))).to_string()
                    />
                    {domain_hint}
                </div>
                <div class="field">
                    <label for="new-client-id">"Client ID"</label>
                    <input
                        id="new-client-id"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=client_id
                        on:input=move |event| client_id.set(event_target_value(&event))
                    />
                </div>
                <div class="field">
                    <label for="new-client-secret">"Client secret"</label>
                    <input
                        id="new-client-secret"
                        type="password"
                        required
                        autocomplete="off"
                        prop:value=secret
                        on:input=move |event| secret.set(event_target_value(&event))
                    />
                    <p class="muted small">"Stored sealed; after saving only its last characters show."</p>
                </div>
                <div class="field">
                    <label for="new-label">"Label"</label>
                    <input
                        id="new-label"
                        required
                        prop:value=label
                        on:input=move |event| label.set(event_target_value(&event))
                    />
                    <p class="muted small">"What people see when they pick how to sign in."</p>
                </div>
                {outcome}
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save instance" }}
                </button>
            </form>
        </section>
    }
}
