//! The webhook part of the form (webhook-service only): method, URL, custom header rows,
//! payload and proxy, each with its pickers, and the started/finished events.

use super::*;
use crate::components::form::{field_context, Choice, Field, TextInput};
use crate::components::key_value::{position_in, KeyValueRow, RemoveButton, RowLook};

/// The custom header rows.
const HEADER_ROW: RowLook = RowLook {
    class: "header-row",
    name: "Custom header",
    ids: "webhook-header",
    key_placeholder: "e.g. Content-Type",
    remove: RemoveButton::Cross("Remove Header"),
    keep_one: false,
};

/// The webhook part of the form (webhook-service only).
#[component]
pub(super) fn WebhookFields(
    method: RwSignal<String>,
    url: RwSignal<String>,
    payload: RwSignal<String>,
    proxy: RwSignal<String>,
    send_started: RwSignal<bool>,
    send_finished: RwSignal<bool>,
    suffix: RwSignal<String>,
    headers: RwSignal<Vec<HeaderRow>>,
    new_header: Callback<(), HeaderRow>,
    method_touched: RwSignal<bool>,
    url_touched: RwSignal<bool>,
    proxy_touched: RwSignal<bool>,
    url_field: NodeRef<Textarea>,
    payload_field: NodeRef<Textarea>,
    initial_url: String,
    initial_payload: String,
    picker_data: PickerData,
    method_message: Signal<Option<String>>,
    url_message: Signal<Option<String>>,
    payload_message: Signal<Option<String>>,
    proxy_message: Signal<Option<String>>,
    server_error: RwSignal<Option<AppError>>,
    /// Why the payload was not saved (it renders to no JSON), until it changes.
    payload_warning: Signal<Option<String>>,
    /// Saves with the payload as it is.
    on_save_anyway: Callback<()>,
) -> impl IntoView {
    let server_field = move |field: String| {
        server_error.with(|error| error.as_ref().and_then(|error| error.for_field(&field)))
    };
    let sends_enabled = move || sends_apply(&suffix.get());

    let header_row = move |row: HeaderRow| {
        let id = row.id;
        let pair = row.pair;
        let position = position_in(headers, id);
        let value_id = HEADER_ROW.value_id(id);
        // Empty parts only; the header rules proper are checked at submit.
        let message = move |touched: RwSignal<bool>, empty: bool, field: String| {
            let server = server_field(field);
            if touched.get() && empty {
                Some(EMPTY_MESSAGE.to_string())
            } else {
                server
            }
        };
        let key_message = move || {
            message(
                pair.key_touched,
                pair.key.with(|key| key.trim().is_empty()),
                format!("webhook.headers[{}]", position()),
            )
        };
        let value_message = move || {
            message(
                pair.value_touched,
                pair.value.with(String::is_empty),
                format!("webhook.headers[{}].value", position()),
            )
        };
        let errors = (Signal::derive(key_message), Signal::derive(value_message));
        view! {
            <KeyValueRow look=HEADER_ROW rows=headers row errors>
                <div class="with-tools">
                    <TextInput
                        input_ref=row.value_field
                        placeholder="e.g. application/json"
                        value=pair.value
                        touched=pair.value_touched
                    />
                    <PickerButtons
                        field_id=value_id
                        target=CaretField::Input(row.value_field)
                        value=pair.value
                        data=picker_data
                        on_insert=Callback::new(move |()| pair.value_touched.set(true))
                    />
                </div>
            </KeyValueRow>
        }
    };

    let send_group = move |name: &'static str, label: &'static str, value: RwSignal<bool>| {
        let label_id = format!("{name}-label");
        let initial = value.get_untracked();
        view! {
            <fieldset class="radio-group" disabled=move || !sends_enabled()>
                <legend id=label_id.clone()>{label}</legend>
                <div role="radiogroup" aria-labelledby=label_id class="radios">
                    <label class="radio">
                        <input
                            type="radio"
                            name=name
                            value="automatically"
                            checked=initial
                            prop:checked=move || value.get()
                            on:change=move |_| value.set(true)
                        />
                        "automatically"
                    </label>
                    <label class="radio">
                        <input
                            type="radio"
                            name=name
                            value="webhook-receiver"
                            checked=!initial
                            prop:checked=move || !value.get()
                            on:change=move |_| value.set(false)
                        />
                        "by webhook receiver"
                    </label>
                </div>
            </fieldset>
        }
    };

    let payload_warning_view = move || {
        payload_warning.get().map(|message| {
            view! {
                <div class="payload-warning" role="alert">
                    <p>{message}</p>
                    <button
                        type="button"
                        class="secondary"
                        on:click=move |_| on_save_anyway.run(())
                    >
                        "Save anyway"
                    </button>
                </div>
            }
        })
    };

    view! {
        <section class="webhook-config" aria-labelledby="webhook-heading">
            <h2 id="webhook-heading">"Webhook configuration"</h2>
            <Field id="webhook-method" label="Request Method" error=method_message>
                <Choice
                    value=method
                    touched=method_touched
                    prompt="Choose method"
                    options=METHODS.iter().map(|name| (*name, *name)).collect()
                />
            </Field>
            <Field id="webhook-url" label="URL" error=url_message>
                <TemplateArea
                    value=url
                    touched=url_touched
                    area=url_field
                    initial=initial_url
                    picker_data
                    rows="2"
                    required=true
                    placeholder="https://keptn.sh/"
                />
            </Field>
            <fieldset class="headers">
                <legend>"Custom headers"</legend>
                <For each=move || headers.get() key=|row| row.id children=header_row />
                <button
                    type="button"
                    class="secondary"
                    on:click=move |_| {
                        let row = new_header.run(());
                        headers.update(|rows| rows.push(row));
                    }
                >
                    "Add custom header"
                </button>
            </fieldset>
            <Field
                id="webhook-payload"
                label="Custom payload"
                error=payload_message
                after=payload_warning_view
            >
                <TemplateArea
                    value=payload
                    area=payload_field
                    initial=initial_payload
                    picker_data
                    rows="8"
                    class="code"
                    spellcheck="false"
                />
            </Field>
            <Field id="webhook-proxy" label="Proxy" error=proxy_message>
                <TextInput
                    placeholder="Proxy"
                    value=proxy
                    touched=proxy_touched
                />
            </Field>
            <div class="send-events">
                {send_group("send-started", "Send started event", send_started)}
                {send_group("send-finished", "Send finished event", send_finished)}
            </div>
            <p class="field-hint">{SEND_EVENTS_INFO}</p>
        </section>
    }
    .into_any()
}

/// A template's textarea (URL, payload) in a [`Field`], with the picker buttons beside it:
/// typing sets `value` and marks it `touched` (leaving it and picking do too), and its
/// `aria-invalid` and `aria-describedby` follow the field's error.
#[component]
fn TemplateArea(
    /// The template as typed.
    value: RwSignal<String>,
    /// Set once the user typed, picked or left it; none for a field whose error is the
    /// server's only.
    #[prop(optional)]
    touched: Option<RwSignal<bool>>,
    /// The textarea (the pickers insert at its caret).
    area: NodeRef<Textarea>,
    /// The text it starts with.
    initial: String,
    /// What the form's pickers share.
    picker_data: PickerData,
    /// How many rows it shows.
    rows: &'static str,
    /// Whether it is `required`.
    #[prop(optional)]
    required: bool,
    /// The `placeholder`, if any.
    #[prop(optional)]
    placeholder: Option<&'static str>,
    /// The `class`, if any.
    #[prop(optional)]
    class: Option<&'static str>,
    /// The `spellcheck`, if any.
    #[prop(optional)]
    spellcheck: Option<&'static str>,
) -> impl IntoView {
    let touch = move || {
        if let Some(touched) = touched {
            touched.set(true);
        }
    };
    let field = field_context();
    // An attribute, not a class list: no `class=""` on a textarea without one.
    let class = leptos::attr::custom::custom_attribute("class", class);
    view! {
        <div class="with-tools">
            <textarea
                {..class}
                id=field.id.clone()
                node_ref=area
                rows=rows
                required=required
                spellcheck=spellcheck
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |event| {
                    value.set(event_target_value(&event));
                    touch();
                }
                on:blur=move |_| touch()
                aria-invalid=field.invalid()
                aria-describedby=field.described_by()
            >
                {initial}
            </textarea>
            <PickerButtons
                field_id=field.id
                target=CaretField::Textarea(area)
                value
                data=picker_data
                on_insert=Callback::new(move |()| touch())
            />
        </div>
    }
}
