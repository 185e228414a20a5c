//! The browser entry point: hydrates the server-rendered `App`, whose admin pages load as
//! separate wasm chunks (`hydrate_lazy`).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
