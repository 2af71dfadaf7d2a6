//! One row of a form's key-value list (a secret's key-value pairs, a webhook's custom headers):
//! [`KeyValuePair`], what is typed and whether each input was visited, and [`KeyValueRow`],
//! the row's group with the labelled key input, the value control and the remove button, each
//! input with its error.

use leptos::prelude::*;

use crate::components::form::{Field, TextInput};

/// What a key-value row holds: the key and the value as typed, and whether the user typed in
/// or left each input (its error shows from then on).
#[derive(Clone, Copy)]
pub struct KeyValuePair {
    pub key: RwSignal<String>,
    pub value: RwSignal<String>,
    pub key_touched: RwSignal<bool>,
    pub value_touched: RwSignal<bool>,
}

impl KeyValuePair {
    /// A row starting with `key` and `value`, not visited yet.
    pub fn new(key: String, value: String) -> Self {
        Self {
            key: RwSignal::new(key),
            value: RwSignal::new(value),
            key_touched: RwSignal::new(false),
            value_touched: RwSignal::new(false),
        }
    }

    /// Marks both inputs visited (a submit attempt shows every error).
    pub fn touch(self) {
        self.key_touched.set(true);
        self.value_touched.set(true);
    }
}

/// One key-value row (`role="group"`): the "Key" field, the "Value" field (its control is
/// `children`, which binds the value input itself, with the id `value_id`) and the remove
/// button.
#[component]
pub fn KeyValueRow(
    /// The group's class, e.g. `key-value`.
    class: &'static str,
    /// The group's accessible name, e.g. "Key-value pair 1".
    #[prop(into)]
    label: Signal<String>,
    /// The row's state.
    pair: KeyValuePair,
    /// The key input's id.
    key_id: String,
    /// The value input's id (the "Value" label's `for`).
    value_id: String,
    /// The key's error, when there is one.
    #[prop(into)]
    key_error: Signal<Option<String>>,
    /// The value's error, when there is one.
    #[prop(into)]
    value_error: Signal<Option<String>>,
    /// The key input's placeholder.
    key_placeholder: &'static str,
    /// Runs after each keystroke in the key input.
    #[prop(optional)]
    on_edit: Option<Callback<()>>,
    /// The remove button's content (its accessible name).
    #[prop(into)]
    remove_label: ViewFnOnce,
    /// The remove button's tooltip, if any.
    #[prop(optional)]
    remove_title: Option<&'static str>,
    /// Whether the remove button is disabled (e.g. for the last row).
    #[prop(optional, into)]
    remove_disabled: Signal<bool>,
    /// Runs on the remove button.
    on_remove: Callback<()>,
    /// The value's control: its input (and anything beside it).
    children: Children,
) -> impl IntoView {
    view! {
        <div class=class role="group" aria-label=move || label.get()>
            <Field id=key_id.clone() label="Key" error=key_error>
                <TextInput
                    id=key_id
                    value=pair.key
                    touched=pair.key_touched
                    error=key_error
                    placeholder=key_placeholder
                    on_edit=on_edit.unwrap_or_else(|| Callback::new(|()| {}))
                />
            </Field>
            <Field id=value_id label="Value" error=value_error>
                {children()}
            </Field>
            <button
                type="button"
                class="icon remove"
                title=remove_title
                disabled=move || remove_disabled.get()
                on:click=move |_| on_remove.run(())
            >
                {remove_label.run()}
            </button>
        </div>
    }
}
