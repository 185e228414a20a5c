use leptos::prelude::*;

use crate::api::SessionView;

/// Who is signed in, through which org and instance, and the way out.
#[component]
pub fn SignedInCard(user: SessionView) -> impl IntoView {
    let display_name = user.name.clone().unwrap_or_else(|| user.sub.clone());
    let email = user.email.unwrap_or_default();
    view! {
        <section class="card">
            <p class="muted">"Signed in as"</p>
            <h1 data-testid="user-name">{display_name}</h1>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd data-testid="user-email">{email}</dd>
                <dt>"Organization"</dt>
                <dd data-testid="user-tenant">{user.tenant_name}</dd>
                <dt>"Okta instance"</dt>
                <dd data-testid="user-instance">{user.instance_label}</dd>
            </dl>
            <div class="actions">
                // Admins only; the page tells anyone else so.
                <a class="button secondary" href="/settings">"Organization settings"</a>
                // A plain form: signing out works before hydration and reloads the page after.
                <form method="post" action="/logout">
                    <button type="submit" class="button secondary">"Sign out"</button>
                </form>
            </div>
        </section>
    }
}
