use leptos::prelude::*;

use super::{OrgResource, Outcome, clear_on_success, unless_explained};
use crate::api::{
    AddDomain, DomainChecked, DomainClaimView, DomainsView, ProofView, RemoveDomain, SetSignInRule,
    SignInRuleView, VerifiedDomainView, VerifyDomain, org_domains,
};
use crate::components::CopyField;
use crate::components::time::utc;

/// The org's email domains: those that route its people, the claims waiting for their DNS
/// TXT record with the record to publish, and who may sign in.
#[component]
pub fn DomainsPage() -> impl IntoView {
    let add = ServerAction::<AddDomain>::new();
    let verify = ServerAction::<VerifyDomain>::new();
    let remove = ServerAction::<RemoveDomain>::new();
    let rule = ServerAction::<SetSignInRule>::new();
    let domains = Resource::new(
        move || {
            (
                add.version().get(),
                verify.version().get(),
                remove.version().get(),
                rule.version().get(),
            )
        },
        |_| org_domains(),
    );
    let outcome = Memo::new(move |_| {
        let latest = [
            add.value().get().map(|answer| {
                answer.map(|claim| {
                    format!(
                        "{} added. Publish its TXT record below, then press Verify.",
                        claim.domain
                    )
                })
            }),
            verify.value().get().map(|answer| answer.map(checked_text)),
            remove
                .value()
                .get()
                .map(|answer| answer.map(|()| "Domain removed.".to_owned())),
            rule.value()
                .get()
                .map(|answer| answer.map(|()| "Sign-in rule saved.".to_owned())),
        ];
        latest.into_iter().flatten().last()
    });

    let OrgResource(org) = expect_context();
    let content = move || {
        view! {
            <section class="card">
                <h2>"Email domains"</h2>
                <p class="muted small">
                    "People who type an email at a verified domain on the sign-in page are sent \
                     to this organization's Okta. Prove that a domain is yours by publishing a \
                     DNS TXT record; it routes nobody until then."
                </p>
                <Outcome outcome/>
                <Transition fallback=|| view! { <p class="muted">"Loading domains…"</p> }>
                    {move || Suspend::new(async move {
                        match domains.await {
                            Ok(list) => view! { <DomainList list verify remove/> }.into_any(),
                            Err(error) => unless_explained(error),
                        }
                    })}
                </Transition>
                <AddDomainForm action=add/>
            </section>
            <section class="card">
                <h2>"Who can sign in"</h2>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        domains.await.ok().map(|list| view! { <RuleForm current=list.sign_in_rule action=rule/> })
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

fn checked_text(checked: DomainChecked) -> String {
    match checked {
        DomainChecked::Verified(verified) => format!(
            "{0} is verified: people with an @{0} email now sign in through this organization.",
            verified.domain
        ),
        DomainChecked::NotYet(claim) => format!(
            "{} is not verified yet: {}. DNS changes can take a while to appear; it is checked \
             again automatically.",
            claim.domain,
            claim.last_result.unwrap_or_default()
        ),
    }
}

#[component]
fn DomainList(
    list: DomainsView,
    verify: ServerAction<VerifyDomain>,
    remove: ServerAction<RemoveDomain>,
) -> impl IntoView {
    if list.verified.is_empty() && list.claims.is_empty() {
        return view! {
            <p class="muted small">"No domains yet: add your organization's email domain below."</p>
        }
        .into_any();
    }
    view! {
        <ul class="rows plain" aria-label="Domains">
            {list
                .verified
                .into_iter()
                .map(|verified| view! { <VerifiedRow verified remove/> })
                .collect_view()}
            {list
                .claims
                .into_iter()
                .map(|claim| view! { <ClaimRow claim verify remove/> })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn VerifiedRow(verified: VerifiedDomainView, remove: ServerAction<RemoveDomain>) -> impl IntoView {
    let how = match verified.proof {
        ProofView::Dns => "Verified by its DNS record on ",
        ProofView::Operator => "Added by your Orgpass operator on ",
    };
    // Removing a domain that routes people is asked about first; a claim just goes.
    let asked = RwSignal::new(false);
    let domain = verified.domain.clone();
    let question = move || {
        let domain = domain.clone();
        let shown = domain.clone();
        view! {
            <div class="notice warn confirm" role="alert">
                <p>
                    "Remove " <strong>{shown.clone()}</strong> "? People with an @" {shown}
                    " email will no longer find this organization by email, and using it again \
                     needs a new TXT record."
                </p>
                <div class="actions">
                    <button
                        type="button"
                        class="button danger"
                        on:click=move |_| {
                            remove.dispatch(RemoveDomain { domain: domain.clone() });
                            asked.set(false);
                        }
                    >
                        "Remove domain"
                    </button>
                    <button type="button" class="button secondary" on:click=move |_| asked.set(false)>
                        "Cancel"
                    </button>
                </div>
            </div>
        }
    };
    view! {
        <li class="row wrap" data-testid="domain">
            <div class="row-main">
                <p class="row-title">
                    {verified.domain.clone()} " " <span class="badge ok">"Verified"</span>
                </p>
                <p class="muted small">{how} {utc(verified.verified_at)}</p>
            </div>
            <button type="button" class="button small secondary" on:click=move |_| asked.set(true)>
                "Remove"
            </button>
            {move || asked.get().then(question.clone())}
        </li>
    }
}

#[component]
fn ClaimRow(
    claim: DomainClaimView,
    verify: ServerAction<VerifyDomain>,
    remove: ServerAction<RemoveDomain>,
) -> impl IntoView {
    let pending = verify.pending();
    let (to_verify, to_remove) = (claim.domain.clone(), claim.domain.clone());
    let (badge, state) = if claim.failed {
        ("badge bad", "Not verified after 7 days")
    } else {
        ("badge off", "Waiting for its DNS record")
    };
    let checked = match (claim.last_checked_at, &claim.last_result) {
        (Some(at), Some(result)) => format!("Last checked {}: {result}.", utc(at)),
        _ => "Not checked yet.".to_owned(),
    };
    let next = if claim.failed {
        " Press Verify to check again for another week.".to_owned()
    } else {
        claim
            .next_check_at
            .map(|at| format!(" Checked again automatically at {}.", utc(at)))
            .unwrap_or_default()
    };
    view! {
        <li class="row claim" data-testid="domain">
            <div class="row-main">
                <p class="row-title">
                    {claim.domain.clone()} " " <span class=badge>{state}</span>
                </p>
                <p class="muted small">
                    "Add this TXT record at your DNS provider, then press Verify:"
                </p>
                <div class="copy-list">
                    <CopyField label="Record name" value=claim.record_name.clone()/>
                    <div class="copy-field">
                        <span class="copy-label">"Type"</span>
                        <code class="copy-value">"TXT"</code>
                    </div>
                    <CopyField label="Record value" value=claim.record_value.clone()/>
                </div>
                <p class="muted small">{checked} {next}</p>
                <div class="actions">
                    <button
                        type="button"
                        class="button small"
                        disabled=move || pending.get()
                        on:click=move |_| {
                            verify.dispatch(VerifyDomain { domain: to_verify.clone() });
                        }
                    >
                        "Verify"
                    </button>
                    <button
                        type="button"
                        class="button small secondary"
                        on:click=move |_| {
                            remove.dispatch(RemoveDomain { domain: to_remove.clone() });
                        }
                    >
                        "Remove"
                    </button>
                </div>
            </div>
        </li>
    }
}

#[component]
fn AddDomainForm(action: ServerAction<AddDomain>) -> impl IntoView {
    let pending = action.pending();
    let input = clear_on_success(action);
    view! {
        <ActionForm action attr:class="stack add-domain">
            <div class="field">
                <label for="new-domain">"Domain"</label>
                <input
                    id="new-domain"
                    node_ref=input
                    name="domain"
                    required
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="yourcompany.com"
                />
                <p class="muted small">
                    "The part after the @ of your people's email addresses. Add each domain \
                     and subdomain you use on its own."
                </p>
            </div>
            <button type="submit" class="button" disabled=move || pending.get()>
                "Add domain"
            </button>
        </ActionForm>
    }
}

#[component]
fn RuleForm(current: SignInRuleView, action: ServerAction<SetSignInRule>) -> impl IntoView {
    let pending = action.pending();
    let anyone = current == SignInRuleView::Anyone;
    view! {
        <ActionForm action attr:class="stack">
            <fieldset class="choices">
                <legend class="muted small">
                    "Okta decides who is assigned to the app; this rule can narrow it further."
                </legend>
                <div class="choice">
                    <input type="radio" id="rule-anyone" name="rule" value="Anyone" checked=anyone/>
                    <label for="rule-anyone">"Anyone your Okta org lets in"</label>
                </div>
                <p class="muted small choice-hint">
                    "Everyone assigned to the app in Okta, whatever their email address. Okta's \
                     integration tests expect this."
                </p>
                <div class="choice">
                    <input
                        type="radio"
                        id="rule-verified"
                        name="rule"
                        value="VerifiedDomains"
                        checked=!anyone
                    />
                    <label for="rule-verified">
                        "Only people whose email is in a verified domain of this organization"
                    </label>
                </div>
                <p class="muted small choice-hint">
                    "Others, such as contractors with their own email addresses, see a page \
                     saying your organization does not let them in."
                </p>
            </fieldset>
            <button type="submit" class="button secondary" disabled=move || pending.get()>
                "Save rule"
            </button>
        </ActionForm>
    }
}
