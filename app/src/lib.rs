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
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

use components::provide_session;
use pages::{HomePage, NotFound, OrgPage, SignedOutPage};

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
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
                    <Route path=StaticSegment("") view=HomePage/>
                    <Route path=(StaticSegment("o"), ParamSegment("slug")) view=OrgPage/>
                    <Route path=StaticSegment("signed-out") view=SignedOutPage/>
                </Routes>
            </main>
        </Router>
    }
}
