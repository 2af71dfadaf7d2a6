//! `/uniform/integrations`: the integrations registered with Uniform and their subscriptions.

use leptos::prelude::*;
use leptos_meta::Title;

/// The Integrations page.
#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! {
        <Title text="Integrations" />
        <h1>"Integrations"</h1>
        <p class="lead">
            "Integrations receive events from your delivery pipeline and call webhooks when they match a subscription."
        </p>
    }
}
