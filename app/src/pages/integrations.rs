//! `/uniform/integrations[/<id>]`: the integrations registered with Uniform (Keptn's
//! "Uniform" view) — a table; selecting a row shows the integration's subscriptions (add,
//! edit, delete after a confirmation) and its error events. A webhook-service subscription
//! links to its deliveries and can send all its failed deliveries again (after a confirmation
//! naming how many). [`IntegrationsSection`] holds this page and the subscription form with
//! their toasts.

use leptos::prelude::*;

use leptos_router::components::{Outlet, A};
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::components::dialog::{ConfirmDialog, Confirmation};
use crate::components::field::{Alert, PageHeader};
use crate::components::layout::ErrorsSeen;
use crate::components::live::poll;
use crate::components::loaded::{ConfirmedList, Loaded};
use crate::components::table::{Column::Hidden, Column::Shown, RowButton, Table};
use crate::components::toast::{provide_toaster, use_toaster, ToastRegion};
use crate::format::{display_event, display_time, subscription_label};
use crate::model::{Integration, Subscription, SubscriptionFilter, WEBHOOK_SERVICE};
use crate::paths::{
    delivery_path, edit_subscription_path, integration_path, subscription_deliveries_path,
};
use crate::server_fns::deliveries::{FailedCount, RedeliverFailed};
use crate::server_fns::insight::overview_stats;
use crate::server_fns::uniform::{list_integrations, load_error_events, DeleteSubscription};

/// Shown for a missing value.
const NOT_AVAILABLE: &str = "n/a";
/// Integrations whose subscriptions Keptn's Bridge does not show.
const WITHOUT_SUBSCRIPTIONS: [&str; 3] = [
    "approval-service",
    "remediation-service",
    "lighthouse-service",
];

/// `subscribes to: <event> in projects: <…> in stages: <…> for services: <…>` (lists joined
/// with `, `; an empty list is `all`).
pub fn subscription_summary(subscription: &Subscription) -> [(&'static str, String); 4] {
    let list = |values: &[String]| {
        if values.is_empty() {
            "all".to_string()
        } else {
            values.join(", ")
        }
    };
    let SubscriptionFilter {
        projects,
        stages,
        services,
    } = &subscription.filter;
    [
        ("subscribes to:", display_event(&subscription.event)),
        ("in projects:", list(projects)),
        ("in stages:", list(stages)),
        ("for services:", list(services)),
    ]
}

/// The frame of the Integrations pages: it outlives them, so a toast shown before navigating
/// from the subscription form back to the integration stays visible.
#[component]
pub fn IntegrationsSection() -> impl IntoView {
    let toaster = provide_toaster();
    view! {
        <Outlet />
        <ToastRegion toaster />
    }
}

/// A subscription waiting for the delete confirmation: its label (task and filter), integration
/// id and id.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ToDelete {
    label: String,
    integration_id: String,
    subscription_id: String,
}

/// The Integrations page: the table and, for the selected integration, its details.
#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let params = use_params_map();
    let selected = Memo::new(move |_| params.with(|params| params.get("id")));
    let delete = ServerAction::<DeleteSubscription>::new();
    let integrations = Resource::new(move || delete.version().get(), |_| list_integrations());
    let confirm = Confirmation::<ToDelete>::new();
    let ask_delete = confirm.follow(*delete, |_| {
        "Subscription deleted successfully!".to_string()
    });

    view! {
        <PageHeader
            title="Integrations"
            lead="Integrations receive events from your delivery pipeline and call webhooks when they match a subscription."
        />
        <ConfirmedList
            resource=integrations
            loading="Loading ..."
            empty="No integrations available."
            confirm
            label="Delete subscription confirmation"
            confirm_label="Delete"
            pending=delete.pending()
            question=|target: &ToDelete| {
                format!("Are you sure you want to delete the subscription \"{}\"?", target.label)
            }
            on_confirm=Callback::new(move |target: ToDelete| {
                delete
                    .dispatch(DeleteSubscription {
                        integration_id: target.integration_id,
                        subscription_id: target.subscription_id,
                    });
            })
            let:list
        >
            <div class="integrations">
                <IntegrationTable list=list.clone() selected />
                <IntegrationDetail list selected ask_delete />
            </div>
        </ConfirmedList>
    }
}

/// The table of integrations; a click on a row selects it.
#[component]
fn IntegrationTable(list: Vec<Integration>, selected: Memo<Option<String>>) -> impl IntoView {
    let navigate = use_navigate();
    view! {
        <Table
            columns=&[
                Shown("Name"),
                Shown("Version"),
                Shown("Cluster / Host"),
                Shown("Location"),
                Shown("Active subscriptions"),
            ]
            class="integrations-table"
        >
            {list
                .into_iter()
                .map(|integration| {
                    let navigate = navigate.clone();
                    let href = integration_path(&integration.id);
                    let target = href.clone();
                    let id = integration.id.clone();
                    let is_selected = move || selected.with(|s| s.as_deref() == Some(id.as_str()));
                    let is_selected_too = is_selected.clone();
                    let metadata = integration.metadata;
                    let or_na = |value: Option<String>| {
                        value.filter(|v| !v.is_empty()).unwrap_or_else(|| NOT_AVAILABLE.to_string())
                    };
                    view! {
                        <tr
                            class="selectable"
                            class:selected=is_selected
                            aria-current=move || is_selected_too().then_some("true")
                            on:click=move |event| {
                                // A click on the name link is handled by the router.
                                if !clicked_link(&event) {
                                    navigate(&target, Default::default());
                                }
                            }
                        >
                            <td>
                                <A href=href>{integration.name}</A>
                            </td>
                            <td>{or_na(metadata.integrationversion)}</td>
                            <td>{or_na(metadata.hostname)}</td>
                            <td>{or_na(metadata.location)}</td>
                            <td>
                                <ul class="plain">
                                    {integration
                                        .subscriptions
                                        .iter()
                                        .map(|subscription| {
                                            view! { <li>{display_event(&subscription.event)}</li> }
                                        })
                                        .collect_view()}
                                </ul>
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
}

/// Whether a click landed on a link.
fn clicked_link(event: &leptos::ev::MouseEvent) -> bool {
    use leptos::wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .and_then(|element| element.closest("a").ok().flatten())
        .is_some()
}

/// The selected integration: name, subscriptions and error events.
#[component]
fn IntegrationDetail(
    list: Vec<Integration>,
    selected: Memo<Option<String>>,
    ask_delete: Callback<ToDelete>,
) -> impl IntoView {
    let list = StoredValue::new(list);
    move || {
        let Some(id) = selected.get() else {
            return view! {
                <p class="empty detail-empty">"Select an integration to show error events"</p>
            }
            .into_any();
        };
        match list.with_value(|list| list.iter().find(|i| i.id == id).cloned()) {
            None => view! { <Alert message=format!("Integration {id} not found.") /> }.into_any(),
            Some(integration) => view! { <IntegrationView integration ask_delete /> }.into_any(),
        }
    }
}

/// One integration's tiles.
#[component]
fn IntegrationView(integration: Integration, ask_delete: Callback<ToDelete>) -> impl IntoView {
    let show_subscriptions = !WITHOUT_SUBSCRIPTIONS.contains(&integration.name.as_str());
    let webhooks = integration.name == WEBHOOK_SERVICE;
    let Integration {
        id,
        name,
        subscriptions,
        ..
    } = integration;
    let error_id = id.clone();
    // The error events name their subscription as the subscriptions tile does.
    let labels: Vec<(String, String, String)> = subscriptions
        .iter()
        .map(|subscription| {
            (
                subscription.id.clone(),
                subscription_label(&subscription.event, &subscription.filter),
                edit_subscription_path(&id, &subscription.id),
            )
        })
        .collect();
    view! {
        <section class="integration-detail" aria-labelledby="integration-name">
            <h2 id="integration-name">{name}</h2>
            {show_subscriptions
                .then(|| {
                    view! {
                        <SubscriptionsTile integration_id=id subscriptions webhooks ask_delete />
                    }
                })}
            <ErrorEventsTile integration_id=error_id labels />
        </section>
    }
}

/// The "Error events" tile: deliveries of this integration that ended failed (time, task,
/// subscription, message, a link to the delivery), newest first. Viewing it marks them as
/// read, which clears the navigation badge.
#[component]
fn ErrorEventsTile(
    integration_id: String,
    /// Per subscription: id, label and the path of its form.
    labels: Vec<(String, String, String)>,
) -> impl IntoView {
    let labels = StoredValue::new(labels);
    let events = Resource::new(move || integration_id.clone(), load_error_events);
    if let Some(ErrorsSeen(seen)) = use_context::<ErrorsSeen>() {
        Effect::new(move |_| {
            if events.get().is_some() {
                seen.update(|n| *n += 1);
            }
        });
    }
    view! {
        <section class="tile" aria-labelledby="tile-error-events">
            <h3 id="tile-error-events">"Error events"</h3>
            <Loaded
                resource=events
                loading="Loading error events…"
                is_empty=Vec::is_empty
                empty="No events for this integration available"
                let:list
            >
                <Table
                    columns=&[
                        Shown("Time (UTC)"),
                        Shown("Task"),
                        Shown("Subscription"),
                        Shown("Message"),
                        Hidden("Delivery"),
                    ]
                    labelled_by="tile-error-events"
                >
                    {list
                        .into_iter()
                        .map(|event| {
                            let time = display_time(&event.time);
                            let details_name = format!(
                                " of the delivery at {time}",
                            );
                            let subscription = labels
                                .with_value(|labels| {
                                    labels
                                        .iter()
                                        .find(|(id, ..)| *id == event.subscription_id)
                                        .cloned()
                                });
                            view! {
                                <tr>
                                    <td class="time">{time}</td>
                                    <td>{event.task}</td>
                                    <td>
                                        {match subscription {
                                            Some((_, label, href)) => {
                                                view! { <a href=href>{label}</a> }
                                                    .into_any()
                                            }
                                            None => {
                                                view! {
                                                    <span class="hint">"(deleted)"</span>
                                                }
                                                    .into_any()
                                            }
                                        }}
                                    </td>
                                    <td>{event.message}</td>
                                    <td>
                                        <a href=delivery_path(&event.delivery_id)>
                                            "Details"
                                            <span class="visually-hidden">
                                                {details_name}
                                            </span>
                                        </a>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </Table>
            </Loaded>
        </section>
    }
}

/// A subscription whose failed deliveries wait for the "Retry all failed" confirmation: its
/// label (task and filter), id and how many failed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ToRetry {
    label: String,
    subscription_id: String,
    failed: i64,
}

/// `<n> delivery`/`<n> deliveries`.
fn deliveries_count(count: i64) -> String {
    if count == 1 {
        "1 delivery".to_string()
    } else {
        format!("{count} deliveries")
    }
}

/// The "Subscriptions" tile: add, and per subscription its summary, edit and delete; for
/// webhook-service also its deliveries and "Retry all failed".
#[component]
fn SubscriptionsTile(
    integration_id: String,
    subscriptions: Vec<Subscription>,
    /// Whether the subscriptions call webhooks (and so have deliveries).
    webhooks: bool,
    ask_delete: Callback<ToDelete>,
) -> impl IntoView {
    let navigate = use_navigate();
    let base = integration_path(&integration_id);
    let add_path = format!("{base}/subscriptions/add");

    // "Retry all failed": count the failed deliveries, confirm, send them again.
    let count_failed = ServerAction::<FailedCount>::new();
    let retry_failed = ServerAction::<RedeliverFailed>::new();
    // The subscription whose failed deliveries are being counted (label, id).
    let asked = RwSignal::new(None::<(String, String)>);
    let to_retry = RwSignal::new(None::<ToRetry>);
    let retry_error = RwSignal::new(None::<String>);
    let toaster = use_toaster();
    Effect::new(move |_| {
        let Some(result) = count_failed.value().get() else {
            return;
        };
        let Some((label, subscription_id)) = asked.get_untracked() else {
            return;
        };
        asked.set(None);
        match result {
            Ok(0) => {
                if let Some(toaster) = toaster {
                    toaster.show("No failed deliveries to retry.");
                }
            }
            Ok(failed) => {
                retry_failed.clear();
                retry_error.set(None);
                to_retry.set(Some(ToRetry {
                    label,
                    subscription_id,
                    failed,
                }));
            }
            Err(error) => {
                if let Some(toaster) = toaster {
                    toaster.show(format!("Could not count the failed deliveries: {error}"));
                }
            }
        }
    });
    Effect::new(move |_| match retry_failed.value().get() {
        Some(Ok(count)) => {
            to_retry.set(None);
            if let Some(toaster) = toaster {
                toaster.show(format!(
                    "{} queued again.",
                    deliveries_count(i64::try_from(count).unwrap_or(i64::MAX))
                ));
            }
        }
        Some(Err(error)) => retry_error.set(Some(error.to_string())),
        None => {}
    });

    // Deliveries waiting to be retried, per subscription, with the newest error: a receiver
    // answering 500 shows here during the hours of retries, not only once they are exhausted.
    let stats = Resource::new(
        || (),
        move |()| async move {
            if webhooks {
                overview_stats().await.ok()
            } else {
                None
            }
        },
    );
    poll(move || stats.refetch());
    let retrying_of = move |subscription_id: String| {
        move || {
            stats
                .get()
                .flatten()
                .and_then(|stats| {
                    stats
                        .subscriptions
                        .into_iter()
                        .find(|row| row.subscription_id == subscription_id)
                })
                .filter(|row| row.retrying > 0)
                .map(|row| {
                    let count = if row.retrying == 1 {
                        "1 delivery waiting to be retried".to_string()
                    } else {
                        format!("{} deliveries waiting to be retried", row.retrying)
                    };
                    let error = row
                        .last_error
                        .map(|error| format!(" · last error: {}", error.message))
                        .unwrap_or_default();
                    view! { <p class="retrying-note">{count}{error}</p> }
                })
        }
    };

    let item = {
        let navigate = navigate.clone();
        move |(index, subscription): (usize, Subscription)| {
            let navigate = navigate.clone();
            let position = index + 1;
            let edit_path = format!("{base}/subscriptions/{}/edit", subscription.id);
            let label = subscription_label(&subscription.event, &subscription.filter);
            let target = ToDelete {
                label: label.clone(),
                integration_id: integration_id.clone(),
                subscription_id: subscription.id.clone(),
            };
            let summary = subscription_summary(&subscription);
            let deliveries_href = subscription_deliveries_path(&subscription.id);
            let subscription_id = subscription.id.clone();
            let label_for_retry = label.clone();
            let webhook_actions = webhooks.then(|| {
                view! {
                    <a class="button icon" href=deliveries_href>
                        "Deliveries"
                        <span class="visually-hidden">
                            {format!(" of subscription {position}")}
                        </span>
                    </a>
                    <RowButton
                        text="Retry all failed"
                        object=format!(" deliveries of subscription {position}")
                        disabled=count_failed.pending()
                        on_click=Callback::new(move |()| {
                            asked.set(Some((label_for_retry.clone(), subscription_id.clone())));
                            count_failed
                                .dispatch(FailedCount {
                                    subscription_id: subscription_id.clone(),
                                });
                        })
                    />
                }
            });
            view! {
                <li class="subscription">
                    <div class="subscription-text">
                        <h4>{label}</h4>
                        <p class="subscription-summary">
                            {summary
                                .into_iter()
                                .enumerate()
                                .map(|(part, (label, value))| {
                                    view! {
                                        {(part > 0).then_some(" ")}
                                        <strong>{label}</strong>
                                        " "
                                        <span class="value">{value}</span>
                                    }
                                })
                                .collect_view()}
                        </p>
                        <Transition>{retrying_of(subscription.id.clone())}</Transition>
                    </div>
                    <div class="row-actions">
                        {webhook_actions}
                        <RowButton
                            text="Edit"
                            object=" subscription"
                            on_click=Callback::new(move |()| {
                                navigate(&edit_path, Default::default())
                            })
                        />
                        <RowButton
                            text="Delete"
                            object=" subscription"
                            on_click=Callback::new(move |()| ask_delete.run(target.clone()))
                        />
                    </div>
                </li>
            }
        }
    };

    view! {
        <section class="tile" aria-labelledby="tile-subscriptions">
            <div class="tile-header">
                <h3 id="tile-subscriptions">"Subscriptions"</h3>
                <button type="button" on:click=move |_| navigate(&add_path, Default::default())>
                    "Add subscription"
                </button>
            </div>
            {if subscriptions.is_empty() {
                view! { <p class="empty">"No subscriptions yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="subscriptions">
                        {subscriptions.into_iter().enumerate().map(item).collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
        {move || {
            to_retry
                .get()
                .map(|target| {
                    let ToRetry { label, subscription_id, failed } = target;
                    let question = format!(
                        "Retry {} failed {} of the subscription \"{label}\"?",
                        failed,
                        if failed == 1 { "delivery" } else { "deliveries" },
                    );
                    view! {
                        <ConfirmDialog
                            label="Retry failed deliveries confirmation"
                            confirm_label="Retry"
                            destructive=false
                            pending=retry_failed.pending()
                            error=retry_error
                            on_confirm=Callback::new(move |()| {
                                retry_error.set(None);
                                retry_failed
                                    .dispatch(RedeliverFailed {
                                        subscription_id: subscription_id.clone(),
                                    });
                            })
                            on_cancel=Callback::new(move |()| to_retry.set(None))
                        >
                            <p>{question}</p>
                        </ConfirmDialog>
                    }
                })
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_like_keptns() {
        let subscription = Subscription {
            event: "sh.keptn.event.evaluation.finished".to_string(),
            filter: SubscriptionFilter {
                stages: vec!["dev".to_string(), "staging".to_string()],
                ..Default::default()
            },
            ..Default::default()
        };
        let text = subscription_summary(&subscription)
            .map(|(label, value)| format!("{label} {value}"))
            .join(" ");
        assert_eq!(
            text,
            "subscribes to: sh.keptn.event.evaluation.finished in projects: all in stages: dev, staging for services: all"
        );
    }
}
