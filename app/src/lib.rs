//! Uniform's user interface: the Leptos application shared by the server (SSR, feature `ssr`)
//! and the browser (hydration, feature `hydrate`). It holds pages and components only; anything
//! touching the database, keys or the network lives in the `server` crate.

#![recursion_limit = "256"]

pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod validation;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use components::layout::Layout;
use pages::{
    deliveries::{DeliveriesPage, DeliveriesSection},
    delivery_detail::DeliveryDetailPage,
    event_detail::EventDetailPage,
    events::EventsPage,
    integrations::{IntegrationsPage, IntegrationsSection},
    login::LoginPage,
    not_found::NotFound,
    overview::OverviewPage,
    secret_form::{CreateSecretPage, EditSecretPage},
    secrets::{SecretsPage, SecretsSection},
    subscription_form::{CreateSubscriptionPage, EditSubscriptionPage},
    tokens::TokensPage,
};

/// The HTML document around the app; rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: routes (`/login` alone, everything under `/uniform` in the frame).
/// `/` is redirected by the server before it gets here.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/uniform.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Title formatter=|page: String| format!("{page} · Uniform") />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage />
                <ParentRoute path=path!("/uniform") view=Layout>
                    // Rendered whole before it is sent: the chart reads without the wasm.
                    <Route path=path!("") view=OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("events") view=EventsPage />
                    <Route path=path!("events/:id") view=EventDetailPage />
                    <ParentRoute path=path!("integrations") view=IntegrationsSection>
                        <Route path=path!(":id/subscriptions/add") view=CreateSubscriptionPage />
                        <Route
                            path=path!(":id/subscriptions/:sid/edit")
                            view=EditSubscriptionPage
                        />
                        <Route path=path!(":id?") view=IntegrationsPage />
                    </ParentRoute>
                    <ParentRoute path=path!("secrets") view=SecretsSection>
                        <Route path=path!("") view=SecretsPage />
                        <Route path=path!("add") view=CreateSecretPage />
                        <Route path=path!("edit/:name") view=EditSecretPage />
                    </ParentRoute>
                    <ParentRoute path=path!("deliveries") view=DeliveriesSection>
                        <Route path=path!("") view=DeliveriesPage />
                        <Route path=path!(":id") view=DeliveryDetailPage />
                    </ParentRoute>
                    <Route path=path!("tokens") view=TokensPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Browser entry point: attaches the server-rendered HTML to the reactive system.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
