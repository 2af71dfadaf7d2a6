//! The page for every path no route matches; answered with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::layout::Frame;

/// "Page not found", with status 404 when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found" />
        <Frame>
            <h1>"Page not found"</h1>
            <p>
                "The page you asked for does not exist. "
                <a href="/uniform/integrations">"Go to Integrations"</a>
            </p>
        </Frame>
    }
}
