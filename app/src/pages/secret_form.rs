//! `/uniform/secrets/add` and `/uniform/secrets/edit/:name`: the secret form — name, scope and
//! key-value pairs, checked as the user types with Keptn's rules and messages. Values only
//! travel from the browser to the server; on edit an empty value keeps the stored one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::components::field::{Alert, FieldError};
use crate::components::form::{Field, FormActions, LoadFailed, TextInput};
use crate::components::key_value::{
    entries, position_in, KeyValueItem, KeyValuePair, KeyValueRow, RemoveButton, RowLook,
};
use crate::components::toast::use_toaster;
use crate::error::AppError;
use crate::model::{KeyValue, SecretForm};
use crate::server_fns::secrets::{get_secret, list_scopes, CreateSecret, UpdateSecret};
use crate::validation::{
    secret_key_error as key_error, secret_name_error as name_error, EMPTY_MESSAGE,
};

/// Where the form returns to.
const LIST_PATH: &str = "/uniform/secrets";
/// The key-value rows.
const ROW: RowLook = RowLook {
    class: "key-value",
    name: "Key-value pair",
    ids: "secret",
    key_placeholder: "e.g. Token",
    remove: RemoveButton::Text(" key-value pair"),
    keep_one: true,
};
/// Create or edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Create,
    Edit,
}

/// `/uniform/secrets/add`: an empty form; `?scope=` preselects the scope.
#[component]
pub fn CreateSecretPage() -> impl IntoView {
    let scope = use_query_map()
        .with_untracked(|query| query.get("scope"))
        .unwrap_or_default();
    view! {
        <Title text="Create Secret" />
        <h1>"Create Secret"</h1>
        <SecretEditor mode=Mode::Create name=String::new() scope keys=Vec::new() />
    }
}

/// `/uniform/secrets/edit/:name`: the form for an existing secret; its keys are listed with
/// empty values (the values never leave the server).
#[component]
pub fn EditSecretPage() -> impl IntoView {
    let params = use_params_map();
    let secret = Resource::new(
        move || params.with(|params| params.get("name").unwrap_or_default()),
        get_secret,
    );
    view! {
        <Title text="Edit Secret" />
        <h1>"Edit Secret"</h1>
        <Transition fallback=|| view! { <p>"Loading secret…"</p> }>
            {move || {
                secret
                    .get()
                    .map(|result| match result {
                        Ok(secret) => {
                            view! {
                                <SecretEditor
                                    mode=Mode::Edit
                                    name=secret.name
                                    scope=secret.scope
                                    keys=secret.keys
                                />
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                <LoadFailed
                                    message=error.to_string()
                                    back_path=LIST_PATH
                                    back_label="Back to the secrets"
                                />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// One key-value row of the form.
#[derive(Clone, Copy)]
struct Row {
    /// Unique within the form (element ids, list keys).
    id: usize,
    pair: KeyValuePair,
    /// The key as stored, for rows of the edited secret: while the key is unchanged an empty
    /// value keeps the stored one.
    stored_key: StoredValue<Option<String>>,
    /// Whether the value is shown in clear.
    shown: RwSignal<bool>,
}

impl KeyValueItem for Row {
    fn id(&self) -> usize {
        self.id
    }

    fn pair(&self) -> KeyValuePair {
        self.pair
    }
}

impl Row {
    /// True when an empty value would keep the stored one.
    fn keeps_value(&self) -> bool {
        self.stored_key
            .with_value(|stored| stored.as_deref() == Some(self.pair.key.get().as_str()))
    }

    fn value_error(&self) -> Option<String> {
        (self.pair.value.with(String::is_empty) && !self.keeps_value())
            .then(|| EMPTY_MESSAGE.to_string())
    }
}

/// The form itself, for both modes.
#[component]
fn SecretEditor(mode: Mode, name: String, scope: String, keys: Vec<String>) -> impl IntoView {
    let create = ServerAction::<CreateSecret>::new();
    let update = ServerAction::<UpdateSecret>::new();
    let pending = Signal::derive(move || match mode {
        Mode::Create => create.pending().get(),
        Mode::Edit => update.pending().get(),
    });
    let navigate = use_navigate();
    let toaster = use_toaster();

    let name = RwSignal::new(name);
    let scope = RwSignal::new(scope);
    let name_touched = RwSignal::new(false);
    let scope_touched = RwSignal::new(false);
    // Set by a submit attempt: then every error shows, touched or not.
    let attempted = RwSignal::new(false);
    let server_error = RwSignal::new(None::<AppError>);

    let next_id = StoredValue::new(0_usize);
    let new_row = move |stored_key: Option<String>| {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        Row {
            id,
            pair: KeyValuePair::new(stored_key.clone().unwrap_or_default(), String::new()),
            stored_key: StoredValue::new(stored_key),
            shown: RwSignal::new(false),
        }
    };
    let initial_rows: Vec<Row> = if keys.is_empty() {
        vec![new_row(None)]
    } else {
        keys.into_iter().map(|key| new_row(Some(key))).collect()
    };
    let rows = RwSignal::new(initial_rows);

    let row_key_error = move |id: usize| {
        rows.with(|rows| {
            let position = rows.iter().position(|row| row.id == id)?;
            let key = rows[position].pair.key.get();
            let earlier: Vec<String> = rows[..position]
                .iter()
                .map(|row| row.pair.key.get())
                .collect();
            key_error(&key, earlier.iter().map(String::as_str))
        })
    };
    let client_name_error = move || match mode {
        Mode::Create => name.with(|name| name_error(name)),
        Mode::Edit => None,
    };
    let client_scope_error = move || {
        (mode == Mode::Create && scope.with(String::is_empty)).then(|| EMPTY_MESSAGE.to_string())
    };
    let valid = Memo::new(move |_| {
        client_name_error().is_none()
            && client_scope_error().is_none()
            && rows.with(|all| {
                all.iter()
                    .all(|row| row_key_error(row.id).is_none() && row.value_error().is_none())
            })
    });

    // The server's message for `field`, if its last answer was about that field.
    let server_field_error = move |field: &str| {
        server_error.with(|error| match error {
            Some(AppError::Conflict(message)) if field == "name" && mode == Mode::Create => {
                Some(message.clone())
            }
            Some(error) => error.for_field(field),
            None => None,
        })
    };
    // The server's message when it belongs to no field shown.
    let general_error = move || {
        let rows_len = rows.with(Vec::len);
        server_error.with(|error| match error {
            None => None,
            Some(AppError::Conflict(_)) if mode == Mode::Create => None,
            Some(AppError::Invalid { field, message }) => {
                let row_field = |prefix: &str| {
                    field
                        .strip_prefix(prefix)
                        .and_then(|index| index.parse::<usize>().ok())
                        .is_some_and(|index| index < rows_len)
                };
                let shown = matches!(field.as_str(), "name" | "scope" | "data")
                    || row_field("key-")
                    || row_field("value-");
                (!shown).then(|| message.clone())
            }
            Some(error) => Some(error.to_string()),
        })
    };
    let name_message = move || {
        if name_touched.get() || attempted.get() {
            client_name_error().or_else(|| server_field_error("name"))
        } else {
            server_field_error("name")
        }
    };
    let scope_message = move || {
        if scope_touched.get() || attempted.get() {
            client_scope_error().or_else(|| server_field_error("scope"))
        } else {
            server_field_error("scope")
        }
    };
    // Any edit makes the server's last answer stale.
    let edited = move || server_error.set(None);

    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            let result = match mode {
                Mode::Create => create.value().get().map(|result| result.map(|_| ())),
                Mode::Edit => update.value().get().map(|result| result.map(|_| ())),
            };
            match result {
                Some(Ok(())) => {
                    if let Some(toaster) = toaster {
                        toaster.show(match mode {
                            Mode::Create => "Secret created successfully!",
                            Mode::Edit => "Secret updated successfully!",
                        });
                    }
                    navigate(LIST_PATH, Default::default());
                }
                Some(Err(error)) => server_error.set(Some(error)),
                None => {}
            }
        });
    }

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        attempted.set(true);
        if !valid.get_untracked() || pending.get_untracked() {
            return;
        }
        server_error.set(None);
        let form = SecretForm {
            name: name.get_untracked(),
            scope: scope.get_untracked(),
            data: untrack(|| entries(rows, |key, value| KeyValue { key, value })),
        };
        match mode {
            Mode::Create => {
                create.dispatch(CreateSecret { form });
            }
            Mode::Edit => {
                update.dispatch(UpdateSecret { form });
            }
        }
    };

    let name_field = move || match mode {
        Mode::Create => view! {
            <TextInput
                attr:name="name"
                placeholder="e.g. API"
                value=name
                touched=name_touched
                on_edit=Callback::new(move |()| edited())
            />
        }
        .into_any(),
        Mode::Edit => view! {
            <input id="secret-name" name="name" readonly value=name.get_untracked() />
        }
        .into_any(),
    };
    let scope_field = move || {
        match mode {
        Mode::Create => view! { <ScopeSelect scope scope_touched edited=Callback::new(move |()| edited()) invalid=Signal::derive(move || scope_message().is_some()) /> }
            .into_any(),
        Mode::Edit => view! {
            <input id="secret-scope" name="scope" readonly value=scope.get_untracked() />
        }
        .into_any(),
    }
    };

    let add_row = move |_| {
        let row = new_row(None);
        rows.update(|rows| rows.push(row));
        edited();
    };
    let row_view = move |row: Row| {
        let id = row.id;
        let pair = row.pair;
        let position = position_in(rows, id);
        let key_message = move || {
            let server = server_field_error(&format!("key-{}", position()));
            if pair.key_touched.get() || attempted.get() {
                row_key_error(id).or(server)
            } else {
                server
            }
        };
        let value_message = move || {
            let server = server_field_error(&format!("value-{}", position()));
            if pair.value_touched.get() || attempted.get() {
                row.value_error().or(server)
            } else {
                server
            }
        };
        let errors = (Signal::derive(key_message), Signal::derive(value_message));
        view! {
            <KeyValueRow look=ROW rows row errors on_edit=Callback::new(move |()| edited())>
                <div class="password-field">
                    <TextInput
                        attr:r#type=move || if row.shown.get() { "text" } else { "password" }
                        autocomplete="new-password"
                        placeholder=Signal::derive(move || {
                            row.keeps_value().then(|| "Unchanged".to_string())
                        })
                        value=pair.value
                        touched=pair.value_touched
                        on_edit=Callback::new(move |()| edited())
                    />
                    <button
                        type="button"
                        class="icon"
                        on:click=move |_| row.shown.update(|shown| *shown = !*shown)
                    >
                        {move || if row.shown.get() { "Hide" } else { "Show" }}
                        <span class="visually-hidden">" value"</span>
                    </button>
                </div>
            </KeyValueRow>
        }
    };

    let submit_label = match mode {
        Mode::Create => "Add secret",
        Mode::Edit => "Update secret",
    };
    view! {
        <form class="secret-form" novalidate on:submit=submit>
            <Field id="secret-name" label="Name" error=Signal::derive(name_message)>
                {name_field}
            </Field>
            <Field id="secret-scope" label="Scope" error=Signal::derive(scope_message)>
                {scope_field}
            </Field>
            <fieldset class="key-values">
                <legend>"Key-value pairs"</legend>
                <For each=move || rows.get() key=|row| row.id children=row_view />
                <FieldError message=Signal::derive(move || server_field_error("data")) />
                <button type="button" class="secondary" on:click=add_row>
                    "Add key-value pair"
                </button>
            </fieldset>
            <FormActions
                error=Signal::derive(general_error)
                submit_label
                disabled=Signal::derive(move || !valid.get() || pending.get())
                on_cancel=Callback::new(move |()| navigate(LIST_PATH, Default::default()))
            />
        </form>
    }
}

/// The scope `<select>`, filled from the server (disabled until the scopes are loaded).
#[component]
fn ScopeSelect(
    scope: RwSignal<String>,
    scope_touched: RwSignal<bool>,
    edited: Callback<()>,
    invalid: Signal<bool>,
) -> impl IntoView {
    let scopes = Resource::new(|| (), |_| list_scopes());
    // A `?scope=` that is no scope preselects nothing.
    Effect::new(move |_| {
        if let Some(Ok(list)) = scopes.get() {
            if !scope.with_untracked(|scope| scope.is_empty() || list.contains(scope)) {
                scope.set(String::new());
            }
        }
    });
    let loading = || {
        view! {
            <select id="secret-scope" name="scope" disabled>
                <option value="">"Choose scope"</option>
            </select>
        }
    };
    view! {
        <Transition fallback=loading>
            {move || {
                scopes
                    .get()
                    .map(|result| match result {
                        Ok(list) => {
                            let known = list.clone();
                            view! {
                                <select
                                    id="secret-scope"
                                    name="scope"
                                    on:change=move |event| {
                                        scope.set(event_target_value(&event));
                                        scope_touched.set(true);
                                        edited.run(());
                                    }
                                    on:blur=move |_| scope_touched.set(true)
                                    aria-invalid=move || invalid.get().to_string()
                                    aria-describedby=move || {
                                        invalid.get().then_some("secret-scope-error")
                                    }
                                >
                                    <option
                                        value=""
                                        disabled
                                        selected=move || scope.with(|scope| !known.contains(scope))
                                    >
                                        "Choose scope"
                                    </option>
                                    {list
                                        .into_iter()
                                        .map(|name| {
                                            let label = name.clone();
                                            let value = name.clone();
                                            view! {
                                                <option
                                                    value=name
                                                    selected=move || scope.with(|scope| *scope == value)
                                                >
                                                    {label}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                {loading()}
                                <Alert message=error.to_string() />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}
