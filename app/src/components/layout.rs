//! The page frame of Keptn's Bridge: dark top bar, left navigation, white content area.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

/// Top bar, navigation and the content area `children` render into.
///
/// The `data-hydrated` attribute on the frame turns `true` once the wasm has taken over
/// (effects only run in the browser); browser tests wait for it before clicking.
#[component]
pub fn Frame(children: Children) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <div class="frame" data-hydrated=move || hydrated.get().to_string()>
            <header class="topbar">
                <a class="brand" href="/uniform/integrations">
                    "Uniform"
                </a>
                // A plain form post: logging out works without the wasm too.
                <form class="actions" method="post" action="/logout">
                    <button type="submit" class="secondary">
                        "Log out"
                    </button>
                </form>
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
                        <li>
                            <A href="/uniform/tokens">"API tokens"</A>
                        </li>
                    </ul>
                </nav>
                <main class="content">{children()}</main>
            </div>
        </div>
    }
}

/// The frame around whichever nested route matched.
#[component]
pub fn Layout() -> impl IntoView {
    view! {
        <Frame>
            <Outlet />
        </Frame>
    }
}
