use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{ApiError, EmailRoute, InstanceLink, RouteEmail, route_email};
use crate::components::ErrorNotice;
use crate::domain::EmailDomain;

/// "Work email" and "Continue": the email's domain picks the org; one instance goes straight
/// to Okta, several show a picker, none shows one neutral message.
#[component]
pub fn SignInForm(#[prop(optional, into)] notice: Option<String>) -> impl IntoView {
    let query = use_query_map();
    let return_to = move || query.read().get("return_to").unwrap_or_default();
    let route = ServerAction::<RouteEmail>::new();
    // Before hydration the form is a plain GET of `/?email=…`: the server routes it then.
    let typed_before_hydration = move || query.read().get("email").filter(|e| !e.trim().is_empty());
    let routed_by_query = Resource::new(
        move || (typed_before_hydration(), return_to()),
        |(email, return_to)| async move {
            match email {
                Some(email) => {
                    Some(route_email(email, Some(return_to).filter(|p| !p.is_empty())).await)
                }
                None => None,
            }
        },
    );
    let action_answer = route.value();
    let email = RwSignal::new(typed_before_hydration().unwrap_or_default());
    // A malformed address is explained at once, without asking the server.
    let typo = RwSignal::new(None::<String>);
    let field_error = move || {
        typo.get().or_else(|| match action_answer.get() {
            Some(Err(ApiError::Invalid(message))) => Some(message),
            _ => None,
        })
    };
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let typed = email.get_untracked();
        match EmailDomain::of_email(&typed) {
            Ok(_) => {
                typo.set(None);
                route.dispatch(RouteEmail {
                    email: typed.trim().to_owned(),
                    return_to: Some(return_to()).filter(|path| !path.is_empty()),
                });
            }
            Err(invalid) => {
                typo.set(Some(invalid.0));
                action_answer.set(None);
            }
        }
    };
    // One instance: the browser leaves for Okta at once.
    Effect::new(move || {
        if let Some(Ok(EmailRoute::SignIn { login_path })) = action_answer.get() {
            leave_for(&login_path);
        }
    });
    view! {
        <section class="card">
            <h1>"Sign in"</h1>
            {notice.map(|notice| view! {
                <p class="notice info" role="status" data-testid="session-ended">{notice}</p>
            })}
            <p class="muted">"Use your work email: we send you to your organization's Okta."</p>
            <form class="stack" method="get" action="/" novalidate on:submit=on_submit>
                <label for="work-email">"Work email"</label>
                <input
                    id="work-email"
                    name="email"
                    type="email"
                    placeholder="ada@acme.com"
                    autocomplete="email"
                    required
                    bind:value=email
                    aria-invalid=move || field_error().is_some().to_string()
                    aria-describedby="work-email-error"
                    data-testid="work-email"
                />
                <input type="hidden" name="return_to" value=return_to/>
                <p id="work-email-error" class="error field-error" role="alert">
                    {field_error}
                </p>
                <button type="submit" class="button" disabled=move || route.pending().get()>
                    {move || if route.pending().get() { "Checking…" } else { "Continue" }}
                </button>
            </form>
            // The answer to this tab's submit, else to the `?email=` the page was loaded with.
            <Suspense fallback=|| ()>
                {move || {
                    let from_action = action_answer.get();
                    Suspend::new(async move {
                        // A submit's bad address is shown at the field; one from the URL here.
                        let invalid_shown_here = from_action.is_none();
                        let answer = from_action.or(routed_by_query.await);
                        view! { <RouteAnswer answer invalid_shown_here/> }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// What the routing of an email said: a picker, the neutral no-match, or the way to Okta.
#[component]
fn RouteAnswer(
    answer: Option<Result<EmailRoute, ApiError>>,
    invalid_shown_here: bool,
) -> impl IntoView {
    match answer {
        Some(Ok(EmailRoute::Choose { instances })) => {
            view! { <InstancePicker instances/> }.into_any()
        }
        Some(Ok(EmailRoute::NoMatch)) => view! {
            <p class="notice info" role="status" data-testid="no-match">
                "We could not find a sign-in for that email. Check the address, or use "
                "the sign-in link or Okta tile your IT team gave you."
            </p>
        }
        .into_any(),
        Some(Ok(EmailRoute::SignIn { login_path })) => view! {
            <p class="muted" role="status">
                "Taking you to your organization's sign-in… "
                <a rel="external" href=login_path>"Continue"</a>
            </p>
        }
        .into_any(),
        Some(Err(ApiError::Invalid(_))) if !invalid_shown_here => ().into_any(),
        None => ().into_any(),
        Some(Err(error)) => view! { <ErrorNotice message=error.to_string()/> }.into_any(),
    }
}

/// The instances of one org, each a way in.
#[component]
fn InstancePicker(instances: Vec<InstanceLink>) -> impl IntoView {
    view! {
        <div class="picker">
            <p class="picker-title">"Your organization has several sign-ins. Choose one:"</p>
            <ul class="stack plain" data-testid="instance-picker">
                {instances
                    .into_iter()
                    .map(|instance| {
                        // rel="external": a full navigation to the server, not a client route.
                        view! {
                            <li>
                                <a class="button secondary wide" rel="external" href=instance.login_path>
                                    {instance.label}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
}

fn leave_for(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Err(error) = window().location().set_href(path) {
        leptos::logging::error!("cannot leave for {path}: {error:?}");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
