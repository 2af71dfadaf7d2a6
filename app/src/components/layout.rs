//! The page frame of Keptn's Bridge: dark top bar, left navigation, white content area.

use leptos::prelude::*;
use leptos_router::components::A;

/// Top bar, navigation and the content area the routed page renders into.
///
/// The `data-hydrated` attribute on the frame turns `true` once the wasm has taken over
/// (effects only run in the browser); browser tests wait for it before clicking.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <div class="frame" data-hydrated=move || hydrated.get().to_string()>
            <header class="topbar">
                <a class="brand" href="/uniform/integrations">
                    "Uniform"
                </a>
            </header>
            <div class="body">
                <nav class="sidenav" aria-label="Main">
                    <p class="nav-group" id="nav-uniform">
                        "Uniform"
                    </p>
                    <ul aria-labelledby="nav-uniform">
                        <li>
                            <A href="/uniform/integrations">"Integrations"</A>
                        </li>
                        <li>
                            <A href="/uniform/secrets">"Secrets"</A>
                        </li>
                    </ul>
                </nav>
                <main class="content">{children()}</main>
            </div>
        </div>
    }
}
