//! Leaving the form with pending changes asks first: in-app links are held back for the
//! "pending changes" dialog, and the browser confirms reloads and closing.

use super::*;
use crate::components::focus::focus_on_mount;
use crate::components::modal::Modal;

/// Holds back clicks on in-app links while `stay()` says changes are pending; the link's
/// path goes to `leave_to` (which opens the dialog). Browser only: the listener is kept in
/// thread-local storage, which the server (rendering and cleaning up on any thread) must not
/// create.
#[cfg(not(feature = "hydrate"))]
pub(super) fn guard_links(
    _stay: impl Fn() -> bool + Copy + 'static,
    _leave_to: RwSignal<Option<String>>,
) {
}

/// See above.
#[cfg(feature = "hydrate")]
pub(super) fn guard_links(
    stay: impl Fn() -> bool + Copy + 'static,
    leave_to: RwSignal<Option<String>>,
) {
    let listener = StoredValue::new_local(None::<leptos::wasm_bindgen::JsValue>);
    Effect::new(move |_| {
        use leptos::wasm_bindgen::closure::Closure;
        use leptos::wasm_bindgen::JsCast;
        if listener.with_value(Option::is_some) {
            return;
        }
        let handler =
            Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
                if event.default_prevented()
                    || event.button() != 0
                    || event.meta_key()
                    || event.alt_key()
                    || event.ctrl_key()
                    || event.shift_key()
                    || !stay()
                {
                    return;
                }
                let Some(anchor) = event
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                    .and_then(|element| element.closest("a[href]").ok().flatten())
                    .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok())
                else {
                    return;
                };
                let same_origin = window()
                    .location()
                    .origin()
                    .is_ok_and(|origin| origin == anchor.origin());
                if !anchor.target().is_empty() || anchor.has_attribute("download") || !same_origin {
                    return;
                }
                // The router (listening on the window) leaves prevented clicks alone.
                event.prevent_default();
                leave_to.set(Some(format!(
                    "{}{}{}",
                    anchor.pathname(),
                    anchor.search(),
                    anchor.hash()
                )));
            });
        let function = handler.into_js_value();
        let _ = document().add_event_listener_with_callback("click", function.unchecked_ref());
        listener.set_value(Some(function));
    });
    on_cleanup(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(Some(function)) = listener.try_get_value() {
            let _ =
                document().remove_event_listener_with_callback("click", function.unchecked_ref());
        }
    });
}

/// Asks the browser to confirm reloads and closing while `stay()` says changes are pending.
pub(super) fn guard_unload(stay: impl Fn() -> bool + Copy + 'static) {
    let handle = StoredValue::new(None::<WindowListenerHandle>);
    Effect::new(move |_| {
        if handle.with_value(Option::is_some) {
            return;
        }
        let listener = window_event_listener(leptos::ev::beforeunload, move |event| {
            if stay() {
                event.prevent_default();
                event.set_return_value("");
            }
        });
        handle.set_value(Some(listener));
    });
    on_cleanup(move || {
        if let Some(Some(listener)) = handle.try_update_value(Option::take) {
            listener.remove();
        }
    });
}

/// "You have pending changes…": "Stay" (the default) or "Discard changes and leave page".
#[component]
pub(super) fn PendingChangesDialog(on_stay: Callback<()>, on_leave: Callback<()>) -> impl IntoView {
    let stay_button = NodeRef::<leptos::html::Button>::new();
    // "Stay" takes the focus. As before, closing does not give it back to the held link.
    focus_on_mount(stay_button);
    view! {
        <Modal labelled_by="pending-changes-text" on_escape=on_stay>
            <div class="dialog-body">
                <p id="pending-changes-text">{PENDING_CHANGES_MESSAGE}</p>
            </div>
            <div class="form-actions">
                <button
                    type="button"
                    class="secondary"
                    node_ref=stay_button
                    on:click=move |_| on_stay.run(())
                >
                    "Stay"
                </button>
                <button type="button" class="danger" on:click=move |_| on_leave.run(())>
                    "Discard changes and leave page"
                </button>
            </div>
        </Modal>
    }
}
