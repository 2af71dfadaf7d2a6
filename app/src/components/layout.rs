//! The page frame of Keptn's Bridge: dark top bar, left navigation, white content area.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_location;

use crate::server_fns::uniform::unread_error_count;

/// Bumped when error events have been viewed, so the navigation badge refreshes.
#[derive(Clone, Copy)]
pub struct ErrorsSeen(pub RwSignal<usize>);

/// Top bar, navigation and the content area `children` render into.
///
/// The `data-hydrated` attribute on the frame turns `true` once the wasm has taken over
/// (effects only run in the browser); browser tests wait for it before clicking.
#[component]
pub fn Frame(children: Children) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    // Failed deliveries nobody has looked at yet; refreshed on every navigation (viewing an
    // integration's "Error events" tile marks its failures as read).
    let location = use_location();
    let seen = RwSignal::new(0usize);
    provide_context(ErrorsSeen(seen));
    let unread = Resource::new(
        move || (location.pathname.get(), seen.get()),
        |_| unread_error_count(),
    );
    let badge = move || {
        unread
            .get()
            .and_then(Result::ok)
            .filter(|count| *count > 0)
            .map(|count| {
                let label = if count == 1 {
                    "1 unread error event".to_string()
                } else {
                    format!("{count} unread error events")
                };
                let title = label.clone();
                view! {
                    <span class="badge" title=title>
                        <span aria-hidden="true">{count}</span>
                        <span class="visually-hidden">{label}</span>
                    </span>
                }
            })
    };
    view! {
        <div class="frame" data-hydrated=move || hydrated.get().to_string()>
            <header class="topbar">
                <a class="brand" href="/uniform">
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
                            <A href="/uniform" exact=true>
                                "Overview"
                            </A>
                        </li>
                        <li>
                            <A href="/uniform/integrations">"Integrations"</A>
                            <Transition>{badge}</Transition>
                        </li>
                        <li>
                            <A href="/uniform/events">"Events"</A>
                        </li>
                        <li>
                            <A href="/uniform/secrets">"Secrets"</A>
                        </li>
                        <li>
                            <A href="/uniform/deliveries">"Deliveries"</A>
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
