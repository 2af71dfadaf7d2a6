//! The subscription form itself, for both modes: its state (task, suffix, filter, webhook,
//! header rows), checks as the user types, the payload-not-JSON warning at save, saving and
//! the server's field errors.

use super::*;
use crate::components::form::{Choice, Field, FormActions, TextInput};
use crate::components::key_value::{entries, KeyValueItem, KeyValuePair};

/// One custom header row of the form.
#[derive(Clone, Copy)]
pub(super) struct HeaderRow {
    /// Unique within the form (element ids, list keys).
    pub(super) id: usize,
    pub(super) pair: KeyValuePair,
    pub(super) value_field: NodeRef<Input>,
}

impl KeyValueItem for HeaderRow {
    fn id(&self) -> usize {
        self.id
    }

    fn pair(&self) -> KeyValuePair {
        self.pair
    }
}

/// The form, for both modes.
#[component]
pub(super) fn SubscriptionEditor(
    mode: Mode,
    integration: Integration,
    subscription: Option<Subscription>,
    /// Tasks, projects, stages and services seen in events (suggestions).
    seen: SeenValues,
) -> impl IntoView {
    let create = ServerAction::<CreateSubscription>::new();
    let update = ServerAction::<UpdateSubscription>::new();
    // While the payload is rendered for the check at save (`payload_check`).
    let checking = RwSignal::new(false);
    let pending = Signal::derive(move || {
        checking.get()
            || match mode {
                Mode::Create => create.pending().get(),
                Mode::Edit => update.pending().get(),
            }
    });
    let navigate = use_navigate();
    let toaster = use_toaster();

    let with_webhook = integration.name == WEBHOOK_SERVICE;
    let integration_id = StoredValue::new(integration.id.clone());
    let back_path = StoredValue::new(integration_path(&integration.id));
    let existing = subscription.unwrap_or_default();
    let subscription_id = existing.id.clone();
    let (initial_task, initial_suffix) = split_event(&existing.event);
    let webhook = existing.webhook.clone().unwrap_or(Webhook {
        // A new webhook has no method until one is chosen (Keptn's "Choose method").
        method: match mode {
            Mode::Create => String::new(),
            Mode::Edit => "POST".to_string(),
        },
        ..Webhook::default()
    });

    // The event is only built once both parts are there: they count as changes on their own.
    let first_parts = StoredValue::new((initial_task.clone(), initial_suffix.clone()));
    let task = RwSignal::new(initial_task);
    let suffix = RwSignal::new(initial_suffix);
    let tags = RwSignal::new(tags_from_filter(&existing.filter));
    let method = RwSignal::new(webhook.method.clone());
    let url = RwSignal::new(webhook.url.clone());
    let payload = RwSignal::new(webhook.payload.clone());
    let proxy = RwSignal::new(webhook.proxy.clone().unwrap_or_default());
    let send_started = RwSignal::new(webhook.send_started);
    let send_finished = RwSignal::new(webhook.send_finished);
    let initial_url = webhook.url.clone();
    let initial_payload = webhook.payload.clone();

    // Whether the user changed or left each field (its error shows from then on).
    let touched: [RwSignal<bool>; 5] = std::array::from_fn(|_| RwSignal::new(false));
    let [task_touched, suffix_touched, method_touched, url_touched, proxy_touched] = touched;
    let server_error = RwSignal::new(None::<AppError>);
    // Set once the user confirmed leaving or the subscription was saved.
    let leaving = RwSignal::new(false);
    // Where the user wants to go while changes are pending (the dialog is open).
    let leave_to = RwSignal::new(None::<String>);

    let next_header = StoredValue::new(0_usize);
    let new_header = move |header: Header| {
        let id = next_header.get_value();
        next_header.set_value(id + 1);
        HeaderRow {
            id,
            pair: KeyValuePair::new(header.key, header.value),
            value_field: NodeRef::new(),
        }
    };
    let headers = RwSignal::new(
        webhook
            .headers
            .iter()
            .cloned()
            .map(new_header)
            .collect::<Vec<_>>(),
    );

    let url_field = NodeRef::<Textarea>::new();
    let payload_field = NodeRef::<Textarea>::new();

    // The subscription as the form stands; compared with the first one to detect changes.
    let build = move || Subscription {
        id: subscription_id.clone(),
        event: event_type(&task.get(), &suffix.get()),
        filter: filter_from_tags(&tags.get()),
        webhook: with_webhook.then(|| {
            let sends = sends_apply(&suffix.get());
            Webhook {
                method: method.get(),
                url: url.get(),
                headers: entries(headers, |key, value| Header { key, value }),
                payload: payload.get(),
                proxy: Some(proxy.get()).filter(|proxy| !proxy.is_empty()),
                send_started: !sends || send_started.get(),
                send_finished: !sends || send_finished.get(),
            }
        }),
    };
    let initial = StoredValue::new(untrack(&build));
    let snapshot = Memo::new(move |_| build());
    // What the preview pane renders: the webhook as the form stands.
    // `?previewEvent=<id>` (from an event's page): the preview opens on that received event.
    let preview_event = use_query_map().with_untracked(|query| {
        query
            .get(crate::pages::event_detail::PREVIEW_EVENT_PARAM)
            .filter(|id| !id.is_empty())
    });
    let preview_open = RwSignal::new(preview_event.is_some());
    let preview_webhook = Memo::new(move |_| {
        snapshot.with(|subscription| subscription.webhook.clone().unwrap_or_default())
    });
    let dirty = Memo::new(move |_| {
        let parts_changed = first_parts.with_value(|(first_task, first_suffix)| {
            task.with(|task| task != first_task) || suffix.with(|suffix| suffix != first_suffix)
        });
        parts_changed || snapshot.with(|now| initial.with_value(|first| now != first))
    });
    // Any change makes the server's last answer stale.
    Effect::new(move |ran: Option<()>| {
        snapshot.track();
        task.track();
        suffix.track();
        if ran.is_some() {
            server_error.set(None);
        }
    });

    // Client-side checks.
    let task_client = move || task.with(|task| task_error(task.trim()));
    let suffix_client = move || {
        suffix
            .with(String::is_empty)
            .then(|| EMPTY_MESSAGE.to_string())
    };
    let filter_client = move || {
        tags.with(|tags| {
            let has = |category| tags.iter().any(|tag: &FilterTag| tag.category == category);
            (has(Category::Service) && !has(Category::Stage))
                .then(|| SERVICE_WITHOUT_STAGE_MESSAGE.to_string())
        })
    };
    let method_client = move || {
        method
            .with(String::is_empty)
            .then(|| METHOD_EMPTY_MESSAGE.to_string())
    };
    let url_client = move || url.with(|url| url_error(url));
    let proxy_client = move || proxy.with(|proxy| proxy_error(proxy));
    // Empty parts get the form's own short message; the rest are the shared header rules.
    let header_rule = |row: HeaderRow, part: HeaderPart| {
        let (key, value) = (row.pair.key.get(), row.pair.value.get());
        if key.trim().is_empty() || value.is_empty() {
            return None;
        }
        header_error(&key, &value).and_then(|(at, message)| (at == part).then_some(message))
    };
    let header_key_client = move |row: HeaderRow| {
        if row.pair.key.with(|key| key.trim().is_empty()) {
            Some(EMPTY_MESSAGE.to_string())
        } else {
            header_rule(row, HeaderPart::Key)
        }
    };
    let header_value_client = move |row: HeaderRow| {
        if row.pair.value.with(String::is_empty) {
            Some(EMPTY_MESSAGE.to_string())
        } else {
            header_rule(row, HeaderPart::Value)
        }
    };
    let valid = Memo::new(move |_| {
        let basics =
            task_client().is_none() && suffix_client().is_none() && filter_client().is_none();
        let webhook_ok = !with_webhook
            || (method_client().is_none()
                && url_client().is_none()
                && proxy_client().is_none()
                && headers.with(|rows| {
                    rows.iter().all(|row| {
                        header_key_client(*row).is_none() && header_value_client(*row).is_none()
                    })
                }));
        basics && webhook_ok
    });

    // The server's message for `field`, if its last answer was about that field.
    let server_field = move |field: &str| {
        server_error.with(|error| error.as_ref().and_then(|error| error.for_field(field)))
    };
    // The server's message when it belongs to no field shown.
    let general_error = move || {
        let rows = headers.with(Vec::len);
        server_error.with(|error| match error {
            None => None,
            Some(AppError::Invalid { field, message }) => {
                let header = field
                    .strip_prefix("webhook.headers[")
                    .and_then(|rest| rest.split_once(']'))
                    .and_then(|(index, rest)| {
                        (rest.is_empty() || rest == ".value").then_some(index)
                    })
                    .and_then(|index| index.parse::<usize>().ok())
                    .is_some_and(|index| index < rows);
                let webhook_field = matches!(
                    field.as_str(),
                    "webhook.method" | "webhook.url" | "webhook.payload" | "webhook.proxy"
                ) || header;
                let shown = matches!(
                    field.as_str(),
                    "event" | "filter" | "filter.projects" | "filter.stages" | "filter.services"
                ) || (with_webhook && webhook_field);
                (!shown).then(|| message.clone())
            }
            Some(error) => Some(error.to_string()),
        })
    };
    let shown_when = |touched: bool, client: Option<String>, server: Option<String>| {
        if touched {
            client.or(server)
        } else {
            server
        }
    };
    let task_message = move || shown_when(task_touched.get(), task_client(), server_field("event"));
    let suffix_message = move || shown_when(suffix_touched.get(), suffix_client(), None);
    let filter_message = move || {
        filter_client()
            .or_else(|| server_field("filter"))
            .or_else(|| server_field("filter.projects"))
            .or_else(|| server_field("filter.stages"))
            .or_else(|| server_field("filter.services"))
    };
    let method_message = move || {
        shown_when(
            method_touched.get(),
            method_client(),
            server_field("webhook.method"),
        )
    };
    let url_message =
        move || shown_when(url_touched.get(), url_client(), server_field("webhook.url"));
    let payload_message = move || server_field("webhook.payload");
    let proxy_message = move || {
        shown_when(
            proxy_touched.get(),
            proxy_client(),
            server_field("webhook.proxy"),
        )
    };

    // Saving.
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            let result = match mode {
                Mode::Create => create.value().get().map(|result| result.map(|_| ())),
                Mode::Edit => update.value().get(),
            };
            match result {
                Some(Ok(())) => {
                    leaving.set(true);
                    if let Some(toaster) = toaster {
                        toaster.show(match mode {
                            Mode::Create => "Subscription successfully created!",
                            Mode::Edit => "Subscription successfully updated!",
                        });
                    }
                    navigate(&back_path.get_value(), Default::default());
                }
                Some(Err(error)) => server_error.set(Some(error)),
                None => {}
            }
        });
    }
    let save = move || {
        let subscription = snapshot.get_untracked();
        let integration_id = integration_id.get_value();
        match mode {
            Mode::Create => {
                create.dispatch(CreateSubscription {
                    integration_id,
                    subscription,
                });
            }
            Mode::Edit => {
                update.dispatch(UpdateSubscription {
                    integration_id,
                    subscription,
                });
            }
        }
    };
    // The payload that rendered to no JSON at the last save, and the one the user chose to
    // save anyway. An edit of the payload takes the warning away.
    // (the payload, what is wrong with it)
    let payload_warning = RwSignal::new(None::<(String, String)>);
    let payload_accepted = RwSignal::new(None::<String>);
    Effect::watch(
        move || payload.get(),
        move |now, _, _| {
            let stale = payload_warning
                .with_untracked(|shown| shown.as_ref().is_some_and(|(shown, _)| shown != now));
            if stale {
                payload_warning.set(None);
            }
        },
        false,
    );
    let save_anyway = move |()| {
        payload_accepted.set(payload_warning.get_untracked().map(|(payload, _)| payload));
        payload_warning.set(None);
        save();
    };
    let payload_warning_text = move || {
        payload_warning.with(|warning| {
            warning.as_ref().map(|(_, detail)| {
                format!(
                    "Rendered with an example {} event, this payload is not valid JSON{detail}. \
                     Receivers that expect JSON, such as Slack, would refuse every delivery. \
                     Check it with Preview, or save it as it is.",
                    event_type(&task.get(), &suffix.get())
                )
            })
        })
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        for field in touched {
            field.set(true);
        }
        headers.with_untracked(|rows| {
            for row in rows {
                row.pair.touch();
            }
        });
        if !valid.get_untracked() || pending.get_untracked() {
            return;
        }
        server_error.set(None);
        // A payload meant as JSON is rendered with the example event first; one that comes
        // out as no JSON is said next to the field, and saved only when the user says so.
        let payload_text = payload.get_untracked();
        let looks_json = matches!(payload_text.trim_start().chars().next(), Some('{' | '['));
        let accepted =
            payload_accepted.with_untracked(|accepted| accepted.as_ref() == Some(&payload_text));
        let webhook = snapshot.with_untracked(|subscription| subscription.webhook.clone());
        match webhook {
            Some(webhook) if looks_json && !accepted => {
                let event = example_event_json(&task.get_untracked(), &suffix.get_untracked());
                checking.set(true);
                leptos::task::spawn_local(async move {
                    let outcome = render_preview(webhook, event).await;
                    checking.set(false);
                    let problem = match outcome {
                        Ok(PreviewOutcome::Rendered(preview)) if !preview.valid_json => {
                            Some(String::new())
                        }
                        // A payload sent as JSON that renders to no JSON is a problem of the
                        // whole webhook; template errors go on to the server, which names
                        // their field.
                        Ok(PreviewOutcome::Problem(problem))
                            if problem.message.contains("not valid JSON") =>
                        {
                            Some(format!(" ({})", problem.message))
                        }
                        _ => None,
                    };
                    match problem {
                        Some(detail) => payload_warning.set(Some((payload_text, detail))),
                        None => save(),
                    }
                });
            }
            _ => save(),
        }
    };

    // Leaving with pending changes asks first: "Cancel", in-app links, and reloads.
    let wants_to_stay = move || dirty.get_untracked() && !leaving.get_untracked();
    let go = {
        let navigate = navigate.clone();
        move |path: String| navigate(&path, Default::default())
    };
    let request_leave = {
        let go = go.clone();
        move |path: String| {
            if wants_to_stay() {
                leave_to.set(Some(path));
            } else {
                go(path);
            }
        }
    };
    guard_links(wants_to_stay, leave_to);
    guard_unload(wants_to_stay);

    // The pickers. The secrets load when a secret popup opens (again at each opening).
    let load_secrets = Action::new(|_: &()| list_secrets());
    let webhook_secret_list = Memo::new(move |_| {
        load_secrets
            .value()
            .get()
            .map(|result| result.map(webhook_secrets))
    });
    let variables = Memo::new(move |_| {
        let task = task.get();
        let suffix = suffix.get();
        (task_error(&task).is_none() && !suffix.is_empty())
            .then(|| example_event_tree(task.trim(), &suffix))
    });
    let picker_data = PickerData {
        active: RwSignal::new(None),
        secrets: webhook_secret_list.into(),
        refresh_secrets: Callback::new(move |()| {
            load_secrets.dispatch(());
        }),
        variables: variables.into(),
    };
    let SeenValues {
        tasks: seen_tasks,
        projects,
        stages,
        services,
    } = seen;
    let known_filters: Vec<String> = [
        (Category::Project, projects),
        (Category::Stage, stages),
        (Category::Service, services),
    ]
    .into_iter()
    .flat_map(|(category, values)| {
        values
            .into_iter()
            .map(move |value| FilterTag::new(category, value).entry())
    })
    .collect();
    let task_options = {
        let mut all: Vec<String> = STANDARD_TASKS.iter().map(|task| task.to_string()).collect();
        for task in seen_tasks {
            if !all.contains(&task) {
                all.push(task);
            }
        }
        all.into_iter()
            .map(|task| view! { <option value=task></option> })
            .collect_view()
    };

    let task_message = Signal::derive(task_message);
    let task_field = view! {
        <Field id="subscription-task" label="Task" error=task_message>
            <TextInput
                attr:list="subscription-task-options"
                attr:required=true
                placeholder="Choose your task"
                value=task
                touched=task_touched
            />
            <datalist id="subscription-task-options">{task_options}</datalist>
        </Field>
    };
    let suffix_message = Signal::derive(suffix_message);
    let suffix_field = view! {
        <Field id="subscription-suffix" label="Task suffix" error=suffix_message>
            <Choice
                value=suffix
                touched=suffix_touched
                prompt="Choose your task suffix"
                options=SUFFIXES.to_vec()
            />
        </Field>
    };

    let webhook_section = with_webhook.then(|| {
        view! {
            <WebhookFields
                method
                url
                payload
                proxy
                send_started
                send_finished
                suffix
                headers
                new_header=Callback::new(move |()| new_header(Header::default()))
                method_touched
                url_touched
                proxy_touched
                url_field
                payload_field
                initial_url
                initial_payload
                picker_data
                method_message=Signal::derive(method_message)
                url_message=Signal::derive(url_message)
                payload_message=Signal::derive(payload_message)
                proxy_message=Signal::derive(proxy_message)
                server_error
                payload_warning=Signal::derive(payload_warning_text)
                on_save_anyway=Callback::new(save_anyway)
            />
        }
    });

    let cancel = {
        let request_leave = request_leave.clone();
        move |()| request_leave(back_path.get_value())
    };
    let submit_label = match mode {
        Mode::Create => "Create subscription",
        Mode::Edit => "Update subscription",
    };
    let preview_button = with_webhook.then(|| {
        view! {
            <button
                type="button"
                class="secondary preview-toggle"
                aria-expanded=move || preview_open.get().to_string()
                on:click=move |_| preview_open.update(|open| *open = !*open)
            >
                "Preview"
            </button>
        }
    });
    let preview_pane = move || {
        (with_webhook && preview_open.get()).then(|| {
            view! {
                <PreviewPane
                    webhook=preview_webhook.into()
                    task=task.into()
                    suffix=suffix.into()
                    event_id=preview_event.clone()
                />
            }
        })
    };
    view! {
        <p class="lead">"Integration: " <strong>{integration.name.clone()}</strong></p>
        <div class=move || {
            if preview_open.get() {
                "subscription-workspace previewing"
            } else {
                "subscription-workspace"
            }
        }>
            <form class="subscription-form" novalidate on:submit=submit>
                <div class="form-row">{task_field} {suffix_field}</div>
                <TagInput
                    id="subscription-filter"
                    label="Filter by stages and services"
                    tags
                    known=Signal::stored(known_filters)
                    error=Signal::derive(filter_message)
                />
                {webhook_section}
                <FormActions
                    error=Signal::derive(general_error)
                    submit_label
                    disabled=Signal::derive(move || !valid.get() || pending.get())
                    on_cancel=Callback::new(cancel)
                >
                    {preview_button}
                </FormActions>
            </form>
            {preview_pane}
        </div>
        {move || {
            leave_to
                .get()
                .map(|path| {
                    let go = go.clone();
                    view! {
                        <PendingChangesDialog
                            on_stay=Callback::new(move |()| leave_to.set(None))
                            on_leave=Callback::new(move |()| {
                                leaving.set(true);
                                leave_to.set(None);
                                go(path.clone());
                            })
                        />
                    }
                })
        }}
    }
}
