use leptos::prelude::*;

/// A value to paste into Okta: selectable text, and a "Copy" button (its accessible name says
/// what it copies) that confirms in a status line.
#[component]
pub fn CopyField(label: &'static str, value: String) -> impl IntoView {
    let copied = RwSignal::new(None::<&'static str>);
    let copy = {
        let value = value.clone();
        move |_| copy_to_clipboard(value.clone(), copied)
    };
    view! {
        <div class="copy-field">
            <span class="copy-label">{label}</span>
            <code class="copy-value">{value}</code>
            <button
                type="button"
                class="button small secondary"
                aria-label=format!("Copy {label}")
                on:click=copy
            >
                "Copy"
            </button>
            <span class="copy-status" role="status">{move || copied.get()}</span>
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn copy_to_clipboard(value: String, copied: RwSignal<Option<&'static str>>) {
    leptos::task::spawn_local(async move {
        let clipboard = window().navigator().clipboard();
        let written = wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&value)).await;
        copied.set(Some(match written {
            Ok(_) => "Copied",
            Err(_) => "Select the text to copy it",
        }));
    });
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_: String, _: RwSignal<Option<&'static str>>) {}
