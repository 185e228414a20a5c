//! Orgpass: the Leptos application (components, routes, server functions) and, behind the `ssr`
//! feature, the server-side domain in [`backend`].

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod components;
pub mod domain;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, ParamSegment, SsrMode, StaticSegment};

use components::provide_session;
use pages::{
    AdminsRoute, AuditRoute, DomainsRoute, HomePage, InstancesRoute, NotFound, OrgPage,
    PeopleRoute, SettingsRoute, SetupRoute, SignedOutPage,
};

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_headers();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_session();
    view! {
        <Stylesheet id="leptos" href="/pkg/orgpass.css"/>
        <Title text="Orgpass"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Orgpass"</a>
            </header>
            <main class="page">
                <Routes fallback=NotFound>
                    // Whole pages, not streamed: the page works before the wasm arrives, and
                    // one that has not hydrated yet shows what the server answered.
                    <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("o"), ParamSegment("slug")) view=OrgPage/>
                    <Route path=StaticSegment("signed-out") view=SignedOutPage/>
                    // The admins' pages: whole pages too (their suspense boundaries nest three
                    // deep), each loaded as its own wasm chunk.
                    <Route
                        path=StaticSegment("setup")
                        view={Lazy::<SetupRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <ParentRoute
                        path=StaticSegment("settings")
                        view={Lazy::<SettingsRoute>::new()}
                        ssr=SsrMode::Async
                    >
                        <Route
                            path=StaticSegment("")
                            view={Lazy::<InstancesRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment("domains")
                            view={Lazy::<DomainsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment("people")
                            view={Lazy::<PeopleRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment("admins")
                            view={Lazy::<AdminsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment("audit")
                            view={Lazy::<AuditRoute>::new()}
                            ssr=SsrMode::Async
                        />
                    </ParentRoute>
                </Routes>
            </main>
        </Router>
    }
}

/// A page's Content-Security-Policy: scripts only from this site or carrying this response's
/// nonce (Leptos puts it on its hydration and resource scripts), the wasm compiled with
/// `'wasm-unsafe-eval'`, nothing framed, no `<base>`, no plugins. Without a nonce in context
/// the middleware's stricter default stays. Pages may show who is signed in: never cached.
#[cfg(feature = "ssr")]
fn set_page_headers() {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    response.insert_header(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
