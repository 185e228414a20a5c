use leptos::prelude::*;

#[component]
pub fn ErrorNotice(message: String) -> impl IntoView {
    view! { <p class="notice error" role="alert">{message}</p> }
}
