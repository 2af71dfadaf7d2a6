//! `/uniform/secrets`: the encrypted secrets that webhook subscriptions can reference.

use leptos::prelude::*;
use leptos_meta::Title;

/// The Secrets page.
#[component]
pub fn SecretsPage() -> impl IntoView {
    view! {
        <Title text="Secrets" />
        <h1>"Secrets"</h1>
        <p class="lead">
            "Secrets can be used to store sensitive data like credentials or URIs for integrations."
        </p>
    }
}
