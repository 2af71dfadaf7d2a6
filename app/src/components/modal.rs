//! The frame every modal dialog shares: the backdrop and the `role="dialog"` box
//! (`aria-modal`), named by a label or by an element inside it, that Escape asks to close.
//! What goes in it (message, buttons, where the focus starts) is the dialog's own.

use leptos::prelude::*;

/// A modal dialog's frame around `children`.
#[component]
pub fn Modal(
    /// The dialog's accessible name (`aria-label`), when no element inside names it.
    #[prop(optional, into)]
    label: Option<String>,
    /// The id of the element inside that names the dialog (`aria-labelledby`).
    #[prop(optional)]
    labelled_by: Option<&'static str>,
    /// Runs on Escape.
    on_escape: Callback<()>,
    /// The dialog's content.
    children: Children,
) -> impl IntoView {
    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-label=label
                aria-labelledby=labelled_by
                on:keydown=move |event| {
                    if event.key() == "Escape" {
                        on_escape.run(());
                    }
                }
            >
                {children()}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_is_a_modal_dialog_named_as_asked() {
        let owner = Owner::new();
        owner.set();
        let html = view! {
            <Modal labelled_by="pending-changes-text" on_escape=Callback::new(|()| {})>
                <p id="pending-changes-text">"Sure?"</p>
            </Modal>
        }
        .to_html();
        assert!(
            html.starts_with("<div class=\"dialog-backdrop\"><div"),
            "{html}"
        );
        assert!(
            html.contains("role=\"dialog\" aria-modal=\"true\""),
            "{html}"
        );
        assert!(
            html.contains("aria-labelledby=\"pending-changes-text\""),
            "{html}"
        );
        assert!(!html.contains("aria-label="), "{html}");
        assert!(
            html.contains("<p id=\"pending-changes-text\">Sure?</p>"),
            "{html}"
        );
    }
}
