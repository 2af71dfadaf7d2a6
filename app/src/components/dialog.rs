//! A modal confirmation dialog (`role="dialog"`): a message, an error if the action failed,
//! and a confirm and a "Cancel" button (the confirm button is disabled while an error is
//! shown). Escape cancels; "Cancel" has the focus while it is
//! open, and the focus returns to where it was when it closes.

use leptos::html::Button;
use leptos::prelude::*;

/// A modal asking to confirm a (usually destructive) action.
#[component]
pub fn ConfirmDialog(
    /// The dialog's accessible name, e.g. "Delete secret confirmation".
    #[prop(into)]
    label: String,
    /// The confirm button's text, e.g. "Delete".
    #[prop(into)]
    confirm_label: String,
    /// True while the confirmed action runs (both buttons are disabled).
    #[prop(into)]
    pending: Signal<bool>,
    /// Why the confirmed action failed, shown in the dialog.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Runs when the user confirms.
    on_confirm: Callback<()>,
    /// Whether the action destroys something (a red confirm button); false for a harmless
    /// one such as sending again.
    #[prop(default = true)]
    destructive: bool,
    /// Runs on "Cancel" or Escape.
    on_cancel: Callback<()>,
    /// The question.
    children: Children,
) -> impl IntoView {
    let cancel_button = NodeRef::<Button>::new();
    // The element that had the focus before the dialog took it (browser only).
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    Effect::new(move |_| {
        if let Some(button) = cancel_button.get() {
            use leptos::wasm_bindgen::JsCast;
            let focused = document()
                .active_element()
                .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
            opener.set_value(focused);
            let _ = button.focus();
        }
    });
    on_cleanup(move || {
        if let Some(Some(element)) = opener.try_get_value() {
            if element.is_connected() {
                let _ = element.focus();
            }
        }
    });
    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-label=label
                on:keydown=move |event| {
                    if event.key() == "Escape" && !pending.get_untracked() {
                        on_cancel.run(());
                    }
                }
            >
                <div class="dialog-body">{children()}</div>
                {move || {
                    error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })
                }}
                <div class="form-actions">
                    // After a refusal (e.g. "in use") confirming again would only repeat it.
                    <button
                        type="button"
                        class=if destructive { "danger" } else { "" }
                        disabled=move || pending.get() || error.with(Option::is_some)
                        on:click=move |_| on_confirm.run(())
                    >
                        {confirm_label}
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        node_ref=cancel_button
                        disabled=move || pending.get()
                        on:click=move |_| on_cancel.run(())
                    >
                        "Cancel"
                    </button>
                </div>
            </div>
        </div>
    }
}
