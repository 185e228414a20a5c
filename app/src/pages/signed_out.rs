use leptos::prelude::*;

/// Where Okta sends the browser after signing out. Whatever `state` comes back (or none), the
/// page is the same: nothing in the query is trusted.
#[component]
pub fn SignedOutPage() -> impl IntoView {
    view! {
        <section class="card" data-testid="signed-out">
            <h1>"You are signed out"</h1>
            <p class="muted">"Your Orgpass session has ended."</p>
            <p><a class="button" href="/">"Sign in again"</a></p>
        </section>
    }
}
