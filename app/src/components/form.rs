//! The parts the forms (secret, subscription) are built from: a labelled [`Field`] with its
//! error, the inputs bound to a signal ([`TextInput`], [`Choice`]), the end of a form
//! ([`FormActions`]: its error, submit and "Cancel"), and what a form page shows when what it
//! edits cannot be loaded ([`LoadFailed`]).

use leptos::html::Input;
use leptos::prelude::*;

use crate::components::field::{described_by, invalid, Alert, FieldError};

/// The id of the error under the control `id` (what its `aria-describedby` names).
pub fn error_id(id: &str) -> String {
    format!("{id}-error")
}

/// A field: `<div class="field">` with the control's `<label>`, the control (`children`), its
/// error (id [`error_id`]) and whatever goes below that (`after`).
#[component]
pub fn Field(
    /// The control's element id (the label's `for`).
    #[prop(into)]
    id: String,
    /// The label's text.
    label: &'static str,
    /// The control's error, when there is one.
    #[prop(optional, into)]
    error: MaybeProp<String>,
    /// Shown below the error, e.g. a warning with its own button.
    #[prop(optional, into)]
    after: ViewFn,
    /// The control.
    children: Children,
) -> impl IntoView {
    let error_id = error_id(&id);
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {children()}
            <FieldError id=error_id message=error />
            {after.run()}
        </div>
    }
}

/// A text `<input>` bound to `value`: typing sets it and marks it `touched` (leaving it does
/// too), and its `aria-invalid`/`aria-describedby` follow `error` (see [`error_id`]).
#[component]
pub fn TextInput(
    /// The element id.
    #[prop(into)]
    id: String,
    /// What is typed.
    value: RwSignal<String>,
    /// Set once the user typed or left the input.
    touched: RwSignal<bool>,
    /// The error shown under the input, when there is one.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// The `placeholder`, if any.
    #[prop(optional, into)]
    placeholder: MaybeProp<String>,
    /// The `type` (none: a text input).
    #[prop(optional, into)]
    kind: MaybeProp<String>,
    /// The `autocomplete`.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// The `name` (form data), if any.
    #[prop(optional)]
    name: Option<&'static str>,
    /// The id of a `<datalist>` of suggestions, if any.
    #[prop(optional)]
    list: Option<&'static str>,
    /// Whether the input is `required`.
    #[prop(optional)]
    required: bool,
    /// Runs after each keystroke (after `value` and `touched` are set).
    #[prop(optional)]
    on_edit: Option<Callback<()>>,
    /// Refers to the input element, e.g. for the pickers' caret.
    #[prop(optional)]
    input_ref: NodeRef<Input>,
) -> impl IntoView {
    let message = move || error.get();
    let described = described_by(message, error_id(&id));
    view! {
        <input
            id=id
            name=name
            type=move || kind.get()
            list=list
            autocomplete=autocomplete
            required=required
            placeholder=move || placeholder.get()
            node_ref=input_ref
            prop:value=move || value.get()
            on:input=move |event| {
                value.set(event_target_value(&event));
                touched.set(true);
                if let Some(on_edit) = on_edit {
                    on_edit.run(());
                }
            }
            on:blur=move |_| touched.set(true)
            aria-invalid=invalid(message)
            aria-describedby=described
        />
    }
}

/// A `<select>` bound to `value`, `required`, that starts on a disabled "choose" option
/// (`prompt`) while `value` is empty; choosing marks it `touched` (leaving it does too), and
/// its `aria-invalid`/`aria-describedby` follow `error` (see [`error_id`]).
#[component]
pub fn Choice(
    /// The element id.
    id: &'static str,
    /// The chosen option's value; empty while none is chosen.
    value: RwSignal<String>,
    /// Set once the user chose or left the select.
    touched: RwSignal<bool>,
    /// The error shown under the select, when there is one.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// The text of the option that asks to choose.
    prompt: &'static str,
    /// The options: (value, text).
    options: Vec<(&'static str, &'static str)>,
) -> impl IntoView {
    let message = move || error.get();
    view! {
        <select
            id=id
            required
            on:change=move |event| {
                value.set(event_target_value(&event));
                touched.set(true);
            }
            on:blur=move |_| touched.set(true)
            aria-invalid=invalid(message)
            aria-describedby=described_by(message, error_id(id))
        >
            <option value="" disabled selected=move || value.with(String::is_empty)>
                {prompt}
            </option>
            {options
                .into_iter()
                .map(|(option, text)| {
                    view! {
                        <option value=option selected=move || value.with(|value| value == option)>
                            {text}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    }
}

/// The end of a form: its error about no field in particular (an [`Alert`]), then the
/// submit button (disabled while `disabled`), "Cancel" and any further buttons (`children`).
#[component]
pub fn FormActions(
    /// The form's error that belongs to no field, when there is one.
    #[prop(into)]
    error: MaybeProp<String>,
    /// The submit button's text, e.g. "Add secret".
    submit_label: &'static str,
    /// Whether the submit button is disabled (invalid form, saving).
    #[prop(into)]
    disabled: Signal<bool>,
    /// Runs on "Cancel".
    on_cancel: Callback<()>,
    /// Buttons after "Cancel".
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <Alert message=error />
        <div class="form-actions">
            <button type="submit" disabled=move || disabled.get()>
                {submit_label}
            </button>
            <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>
                "Cancel"
            </button>
            {children.map(|children| children())}
        </div>
    }
}

/// What a form page shows instead of the form when what it edits could not be loaded: the
/// error (an [`Alert`]) and a link back.
#[component]
pub fn LoadFailed(
    /// Why loading failed.
    message: String,
    /// Where the link goes.
    back_path: &'static str,
    /// The link's text, e.g. "Back to the secrets".
    back_label: &'static str,
) -> impl IntoView {
    view! {
        <Alert message />
        <p>
            <a href=back_path>{back_label}</a>
        </p>
    }
}
