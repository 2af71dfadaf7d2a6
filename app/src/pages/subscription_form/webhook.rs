//! The webhook part of the form (webhook-service only): method, URL, custom header rows,
//! payload and proxy, each with its pickers, and the started/finished events.

use super::*;

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
    let error_view = |id: &'static str, message: Signal<Option<String>>| {
        move || {
            message
                .get()
                .map(|message| view! { <p class="field-error" id=id>{message}</p> })
        }
    };

    let header_row = move |row: HeaderRow| {
        let id = row.id;
        let position =
            move || headers.with(|rows| rows.iter().position(|r| r.id == id).unwrap_or(0));
        let key_id = format!("webhook-header-key-{id}");
        let value_id = format!("webhook-header-value-{id}");
        let key_error_id = format!("{key_id}-error");
        let value_error_id = format!("{value_id}-error");
        let key_message = move || {
            let server = server_field(format!("webhook.headers[{}]", position()));
            if row.key_touched.get() {
                row.key
                    .with(|key| key.trim().is_empty())
                    .then(|| EMPTY_MESSAGE.to_string())
                    .or(server)
            } else {
                server
            }
        };
        let value_message = move || {
            let server = server_field(format!("webhook.headers[{}].value", position()));
            if row.value_touched.get() {
                row.value
                    .with(String::is_empty)
                    .then(|| EMPTY_MESSAGE.to_string())
                    .or(server)
            } else {
                server
            }
        };
        let key_error_ref = key_error_id.clone();
        let value_error_ref = value_error_id.clone();
        view! {
            <div
                class="header-row"
                role="group"
                aria-label=move || format!("Custom header {}", position() + 1)
            >
                <div class="field">
                    <label for=key_id.clone()>"Key"</label>
                    <input
                        id=key_id
                        autocomplete="off"
                        placeholder="e.g. Content-Type"
                        prop:value=move || row.key.get()
                        on:input=move |event| {
                            row.key.set(event_target_value(&event));
                            row.key_touched.set(true);
                        }
                        on:blur=move |_| row.key_touched.set(true)
                        aria-invalid=move || key_message().is_some().to_string()
                        aria-describedby=move || key_message().is_some().then(|| key_error_ref.clone())
                    />
                    {move || {
                        key_message()
                            .map(|message| {
                                view! { <p class="field-error" id=key_error_id.clone()>{message}</p> }
                            })
                    }}
                </div>
                <div class="field">
                    <label for=value_id.clone()>"Value"</label>
                    <div class="with-tools">
                        <input
                            id=value_id.clone()
                            node_ref=row.value_field
                            autocomplete="off"
                            placeholder="e.g. application/json"
                            prop:value=move || row.value.get()
                            on:input=move |event| {
                                row.value.set(event_target_value(&event));
                                row.value_touched.set(true);
                            }
                            on:blur=move |_| row.value_touched.set(true)
                            aria-invalid=move || value_message().is_some().to_string()
                            aria-describedby=move || {
                                value_message().is_some().then(|| value_error_ref.clone())
                            }
                        />
                        <PickerButtons
                            field_id=value_id
                            target=CaretField::Input(row.value_field)
                            value=row.value
                            data=picker_data
                            on_insert=Callback::new(move |()| row.value_touched.set(true))
                        />
                    </div>
                    {move || {
                        value_message()
                            .map(|message| {
                                view! { <p class="field-error" id=value_error_id.clone()>{message}</p> }
                            })
                    }}
                </div>
                <button
                    type="button"
                    class="icon remove"
                    title="Remove Header"
                    on:click=move |_| headers.update(|rows| rows.retain(|r| r.id != id))
                >
                    <span aria-hidden="true">"×"</span>
                    <span class="visually-hidden">"Remove Header"</span>
                </button>
            </div>
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

    view! {
        <section class="webhook-config" aria-labelledby="webhook-heading">
            <h2 id="webhook-heading">"Webhook configuration"</h2>
            <div class="field">
                <label for="webhook-method">"Request Method"</label>
                <select
                    id="webhook-method"
                    required
                    on:change=move |event| {
                        method.set(event_target_value(&event));
                        method_touched.set(true);
                    }
                    on:blur=move |_| method_touched.set(true)
                    aria-invalid=move || method_message.with(Option::is_some).to_string()
                    aria-describedby=move || {
                        method_message.with(Option::is_some).then_some("webhook-method-error")
                    }
                >
                    <option value="" disabled selected=move || method.with(String::is_empty)>
                        "Choose method"
                    </option>
                    {METHODS
                        .into_iter()
                        .map(|name| {
                            view! {
                                <option value=name selected=move || method.with(|m| m == name)>
                                    {name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                {error_view("webhook-method-error", method_message)}
            </div>
            <div class="field">
                <label for="webhook-url">"URL"</label>
                <div class="with-tools">
                    <textarea
                        id="webhook-url"
                        node_ref=url_field
                        rows="2"
                        required
                        placeholder="https://keptn.sh/"
                        prop:value=move || url.get()
                        on:input=move |event| {
                            url.set(event_target_value(&event));
                            url_touched.set(true);
                        }
                        on:blur=move |_| url_touched.set(true)
                        aria-invalid=move || url_message.with(Option::is_some).to_string()
                        aria-describedby=move || {
                            url_message.with(Option::is_some).then_some("webhook-url-error")
                        }
                    >
                        {initial_url}
                    </textarea>
                    <PickerButtons
                        field_id="webhook-url"
                        target=CaretField::Textarea(url_field)
                        value=url
                        data=picker_data
                        on_insert=Callback::new(move |()| url_touched.set(true))
                    />
                </div>
                {error_view("webhook-url-error", url_message)}
            </div>
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
            <div class="field">
                <label for="webhook-payload">"Custom payload"</label>
                <div class="with-tools">
                    <textarea
                        id="webhook-payload"
                        class="code"
                        node_ref=payload_field
                        rows="8"
                        spellcheck="false"
                        prop:value=move || payload.get()
                        on:input=move |event| payload.set(event_target_value(&event))
                        aria-invalid=move || payload_message.with(Option::is_some).to_string()
                        aria-describedby=move || {
                            payload_message.with(Option::is_some).then_some("webhook-payload-error")
                        }
                    >
                        {initial_payload}
                    </textarea>
                    <PickerButtons
                        field_id="webhook-payload"
                        target=CaretField::Textarea(payload_field)
                        value=payload
                        data=picker_data
                        on_insert=Callback::new(|()| {})
                    />
                </div>
                {error_view("webhook-payload-error", payload_message)}
                {move || {
                    payload_warning
                        .get()
                        .map(|message| {
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
                }}
            </div>
            <div class="field">
                <label for="webhook-proxy">"Proxy"</label>
                <input
                    id="webhook-proxy"
                    autocomplete="off"
                    placeholder="Proxy"
                    prop:value=move || proxy.get()
                    on:input=move |event| {
                        proxy.set(event_target_value(&event));
                        proxy_touched.set(true);
                    }
                    on:blur=move |_| proxy_touched.set(true)
                    aria-invalid=move || proxy_message.with(Option::is_some).to_string()
                    aria-describedby=move || {
                        proxy_message.with(Option::is_some).then_some("webhook-proxy-error")
                    }
                />
                {error_view("webhook-proxy-error", proxy_message)}
            </div>
            <div class="send-events">
                {send_group("send-started", "Send started event", send_started)}
                {send_group("send-finished", "Send finished event", send_finished)}
            </div>
            <p class="field-hint">{SEND_EVENTS_INFO}</p>
        </section>
    }
    .into_any()
}
