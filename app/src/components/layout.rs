//! The page frame of Keptn's Bridge: dark top bar, left navigation, white content area, with
//! a "Skip to content" link first and the focus moved to the content after each navigation.

use leptos::html::Main;
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
    // After a navigation the keyboard user goes on in the new content, not at the top of the
    // page again. A page that focused something of its own (a form's field, the preview's
    // heading) keeps it: only a focus outside the content moves.
    let main = NodeRef::<Main>::new();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|previous| previous != path) {
            request_animation_frame(move || {
                let Some(main) = main.get_untracked() else {
                    return;
                };
                let inside = document()
                    .active_element()
                    .is_some_and(|focused| main.contains(Some(focused.as_ref())));
                if !inside {
                    let _ = main.focus();
                }
            });
        }
        path
    });
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
            // The router would treat the link as a navigation; the content takes the focus
            // itself (without the wasm the browser follows the fragment).
            <a
                class="skip-link"
                href="#main"
                on:click=move |event| {
                    if let Some(main) = main.get_untracked() {
                        event.prevent_default();
                        let _ = main.focus();
                    }
                }
            >
                "Skip to content"
            </a>
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
                <main class="content" id="main" tabindex="-1" node_ref=main>
                    {children()}
                </main>
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
