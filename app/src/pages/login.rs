//! `/login`: a plain HTML form posted to the server, so it works before (or without) the wasm.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The message shown after a failed attempt (`?error=invalid`).
pub const INVALID_CREDENTIALS: &str = "Invalid username or password.";

/// The login page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let failed = move || query.read().get("error").as_deref() == Some("invalid");
    view! {
        <Title text="Log in" />
        <div class="login-card">
            <h1>"Log in to Uniform"</h1>
            <form method="post" action="/login">
                <input type="hidden" name="next" value=next />
                <label for="login-username">"Username"</label>
                // After a failed attempt the username comes back (`?username=`).
                <input
                    id="login-username"
                    name="username"
                    autocomplete="username"
                    required
                    value=move || query.read().get("username").unwrap_or_default()
                />
                <label for="login-password">"Password"</label>
                <input
                    id="login-password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <Show when=failed>
                    <p class="field-error" role="alert">
                        {INVALID_CREDENTIALS}
                    </p>
                </Show>
                <div class="form-actions">
                    <button type="submit">"Log in"</button>
                </div>
            </form>
        </div>
    }
}
