//! Uniform's user interface: the Leptos application shared by the server (SSR, feature `ssr`)
//! and the browser (hydration, feature `hydrate`). It holds pages and components only; anything
//! touching the database, keys or the network lives in the `server` crate.

#![recursion_limit = "256"]

pub mod components;
pub mod error;
pub mod format;
pub mod model;
pub mod pages;
pub mod paths;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod validation;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
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
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} />
                <ParentRoute path=path!("/uniform") view=Layout>
                    // Rendered whole before it is sent: the chart reads without the wasm.
                    <Route
                        path=path!("")
                        view={Lazy::<OverviewRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("events") view={Lazy::<EventsRoute>::new()} />
                    <Route path=path!("events/:id") view={Lazy::<EventDetailRoute>::new()} />
                    <ParentRoute path=path!("integrations") view=IntegrationsSection>
                        <Route
                            path=path!(":id/subscriptions/add")
                            view={Lazy::<CreateSubscriptionRoute>::new()}
                        />
                        <Route
                            path=path!(":id/subscriptions/:sid/edit")
                            view={Lazy::<EditSubscriptionRoute>::new()}
                        />
                        <Route path=path!(":id?") view={Lazy::<IntegrationsRoute>::new()} />
                    </ParentRoute>
                    <ParentRoute path=path!("secrets") view=SecretsSection>
                        <Route path=path!("") view={Lazy::<SecretsRoute>::new()} />
                        <Route path=path!("add") view={Lazy::<CreateSecretRoute>::new()} />
                        <Route path=path!("edit/:name") view={Lazy::<EditSecretRoute>::new()} />
                    </ParentRoute>
                    <ParentRoute path=path!("deliveries") view=DeliveriesSection>
                        <Route path=path!("") view={Lazy::<DeliveriesRoute>::new()} />
                        <Route path=path!(":id") view={Lazy::<DeliveryDetailRoute>::new()} />
                    </ParentRoute>
                    <Route path=path!("tokens") view={Lazy::<TokensRoute>::new()} />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Declares a route whose page is compiled into a wasm chunk of its own (`cargo leptos build
/// --split`), fetched when the route is first shown; the server renders it as any other.
macro_rules! lazy_page {
    ($($route:ident => $page:ident,)*) => {$(
        #[doc = concat!("The route of [`", stringify!($page), "`], loaded lazily.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    LoginRoute => LoginPage,
    OverviewRoute => OverviewPage,
    EventsRoute => EventsPage,
    EventDetailRoute => EventDetailPage,
    CreateSubscriptionRoute => CreateSubscriptionPage,
    EditSubscriptionRoute => EditSubscriptionPage,
    IntegrationsRoute => IntegrationsPage,
    SecretsRoute => SecretsPage,
    CreateSecretRoute => CreateSecretPage,
    EditSecretRoute => EditSecretPage,
    DeliveriesRoute => DeliveriesPage,
    DeliveryDetailRoute => DeliveryDetailPage,
    TokensRoute => TokensPage,
}

/// Browser entry point: attaches the server-rendered HTML to the reactive system, loading
/// the wasm chunk of the page shown first.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(App);
}
