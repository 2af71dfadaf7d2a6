//! The parts the forms (secret, subscription) are built from: a labelled [`Field`] with its
//! error, the controls bound to a signal that go inside one and take their id and error from
//! it ([`TextInput`], [`Choice`], see [`field_context`]), the end of a form
//! ([`FormActions`]: its error, submit and "Cancel"), and what a form page shows when what it
//! edits cannot be loaded ([`LoadFailed`]).

use leptos::context::Provider;
use leptos::html::Input;
use leptos::prelude::*;

use crate::components::field::{described_by, invalid, Alert, FieldError};

/// The id of the error under the control `id` (what its `aria-describedby` names).
pub fn error_id(id: &str) -> String {
    format!("{id}-error")
}

/// What a [`Field`] tells the control inside it (see [`field_context`]).
#[derive(Clone, Default)]
pub struct FieldContext {
    /// The control's element id.
    pub id: String,
    /// The control's error, when there is one.
    pub error: MaybeProp<String>,
}

impl FieldContext {
    /// The control's `aria-invalid`: `"true"` while the field has an error.
    pub fn invalid(&self) -> impl Fn() -> String + Send + Sync + 'static {
        let error = self.error;
        invalid(move || error.get())
    }

    /// The control's `aria-describedby`: the field's error while there is one.
    pub fn described_by(&self) -> impl Fn() -> Option<String> + Send + Sync + 'static {
        let error = self.error;
        described_by(move || error.get(), error_id(&self.id))
    }
}

/// The id and the error of the [`Field`] around the calling control (an empty id outside one).
pub fn field_context() -> FieldContext {
    use_context().unwrap_or_default()
}

/// A field: `<div class="field">` with the control's `<label>`, the control (`children`, which
/// gets the field's id and error from [`field_context`]), its error (id [`error_id`]) and
/// whatever goes below that (`after`).
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
    /// Shown below the error, e.g. a warning with its own button (drawn again when what it
    /// reads changes).
    #[prop(optional, into)]
    after: ViewFn,
    /// The control.
    children: Children,
) -> impl IntoView {
    let error_id = error_id(&id);
    // A Provider, not provide_context: a component has no owner of its own, so a context
    // provided here would reach the fields after this one too (and a control rendered late,
    // after the page's data arrived, would take the last field's id).
    let context = FieldContext {
        id: id.clone(),
        error,
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <Provider value=context>{children()}</Provider>
            <FieldError id=error_id message=error />
            {move || after.run()}
        </div>
    }
}

/// A text `<input>` in a [`Field`], bound to `value`: typing sets it and marks it `touched`
/// (leaving it does too), and its `aria-invalid`/`aria-describedby` follow the field's error.
/// Other attributes (`type`, `name`, `list`, `required`) go on as `attr:…`.
#[component]
pub fn TextInput(
    /// What is typed.
    value: RwSignal<String>,
    /// Set once the user typed or left the input.
    touched: RwSignal<bool>,
    /// The `placeholder`, if any.
    #[prop(optional, into)]
    placeholder: MaybeProp<String>,
    /// The `autocomplete`.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// Runs after each keystroke (after `value` and `touched` are set).
    #[prop(optional)]
    on_edit: Option<Callback<()>>,
    /// Refers to the input element, e.g. for the pickers' caret.
    #[prop(optional)]
    input_ref: NodeRef<Input>,
) -> impl IntoView {
    let field = field_context();
    view! {
        <input
            id=field.id.clone()
            autocomplete=autocomplete
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
            aria-invalid=field.invalid()
            aria-describedby=field.described_by()
        />
    }
}

/// A `required` `<select>` in a [`Field`], bound to `value`, that starts on a disabled
/// "choose" option (`prompt`) while `value` is empty; choosing marks it `touched` (leaving it
/// does too), and its `aria-invalid`/`aria-describedby` follow the field's error.
#[component]
pub fn Choice(
    /// The chosen option's value; empty while none is chosen.
    value: RwSignal<String>,
    /// Set once the user chose or left the select.
    touched: RwSignal<bool>,
    /// The text of the option that asks to choose.
    prompt: &'static str,
    /// The options: (value, text).
    options: Vec<(&'static str, &'static str)>,
) -> impl IntoView {
    let field = field_context();
    view! {
        <select
            id=field.id.clone()
            required
            on:change=move |event| {
                value.set(event_target_value(&event));
                touched.set(true);
            }
            on:blur=move |_| touched.set(true)
            aria-invalid=field.invalid()
            aria-describedby=field.described_by()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTML of `view`, without the hydration markers.
    fn html(view: impl FnOnce() -> AnyView) -> String {
        let owner = Owner::new();
        owner.set();
        let html = view().to_html().replace("<!>", "");
        html.replace("<!--<() />-->", "")
    }

    #[test]
    fn a_control_takes_the_fields_id_and_error() {
        let html = html(|| {
            view! {
                <Field id="secret-name" label="Name" error=Some("Must not be empty".to_string())>
                    <TextInput
                        attr:name="name"
                        placeholder="e.g. API"
                        value=RwSignal::new(String::new())
                        touched=RwSignal::new(true)
                    />
                </Field>
            }
            .into_any()
        });
        assert!(
            html.starts_with("<div class=\"field\"><label for=\"secret-name\">Name</label>"),
            "{html}"
        );
        assert!(
            html.contains("<input id=\"secret-name\" autocomplete=\"off\""),
            "{html}"
        );
        assert!(html.contains("placeholder=\"e.g. API\""), "{html}");
        assert!(html.contains("name=\"name\""), "{html}");
        assert!(
            html.contains("aria-invalid=\"true\" aria-describedby=\"secret-name-error\""),
            "{html}"
        );
        assert!(
            html.contains(
                "<p id=\"secret-name-error\" class=\"field-error\">Must not be empty</p>"
            ),
            "{html}"
        );
    }

    #[test]
    fn a_valid_control_points_at_no_error() {
        let html = html(|| {
            view! {
                <Field id="subscription-suffix" label="Task suffix">
                    <Choice
                        value=RwSignal::new("finished".to_string())
                        touched=RwSignal::new(false)
                        prompt="Choose your task suffix"
                        options=vec![("finished", "finished")]
                    />
                </Field>
            }
            .into_any()
        });
        assert!(
            html.contains("<select id=\"subscription-suffix\" required aria-invalid=\"false\">"),
            "{html}"
        );
        assert!(!html.contains("aria-describedby"), "{html}");
        assert!(!html.contains("field-error"), "{html}");
    }
}
