//! `/uniform/events/<id>`: one received event — its summary, every webhook subscription of its
//! task with whether it fired and, if not, why ("stage `production` not in [dev, staging]"),
//! the deliveries it caused (linking to the delivery log), and the event as stored (JSON,
//! collapsible). "Preview with this event" opens a subscription's form with its preview
//! rendering this event. The page refreshes itself while a delivery of the event is under
//! way.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::field::{Alert, Section};
use crate::components::live::poll;
use crate::components::table::{Column::Shown, Table, ACTIONS};
use crate::format::{display_time, place, subscription_label, NONE};
use crate::model::{Delivery, EventDetail, SubscriptionMatch};
use crate::pages::deliveries::StatusPill;
use crate::paths::{delivery_path, edit_subscription_path, EVENTS_PATH};
use crate::server_fns::insight::get_event;

/// The query parameter of the subscription form that loads a received event into its preview.
pub const PREVIEW_EVENT_PARAM: &str = "previewEvent";

/// The subscription form of `row`'s subscription, its preview rendering event `event_id`.
pub fn preview_path(row: &SubscriptionMatch, event_id: &str) -> String {
    format!(
        "{}?{PREVIEW_EVENT_PARAM}={event_id}",
        edit_subscription_path(&row.integration_id, &row.subscription_id)
    )
}

/// The event detail page.
#[component]
pub fn EventDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|params| params.get("id").unwrap_or_default()));
    let tick = RwSignal::new(0u64);
    let detail = Resource::new(move || (id.get(), tick.get()), |(id, _)| get_event(id));
    // Follows the event while one of its deliveries is still under way.
    let under_way = RwSignal::new(true);
    Effect::new(move |_| {
        if let Some(Ok(detail)) = detail.get() {
            under_way.set(detail.deliveries.iter().any(|d| d.status.under_way()));
        }
    });
    poll(move || {
        if under_way.try_get_untracked().unwrap_or(false) {
            tick.try_update(|n| *n += 1);
        }
    });
    // Whether "Event JSON" is expanded: kept here so a refresh does not fold it again.
    let json_open = RwSignal::new(false);
    view! {
        <Title text="Event" />
        <p class="back-link">
            <a href=EVENTS_PATH>"Back to the events"</a>
        </p>
        <Transition fallback=|| view! { <p>"Loading the event…"</p> }>
            {move || {
                detail
                    .get()
                    .map(|result| match result {
                        Ok(detail) => view! { <EventView detail json_open /> }.into_any(),
                        Err(error) => {
                            view! {
                                <h1>"Event"</h1>
                                <Alert message=error.to_string() />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// Everything about one event.
#[component]
fn EventView(detail: EventDetail, json_open: RwSignal<bool>) -> impl IntoView {
    let EventDetail {
        event,
        body,
        deliveries,
        matches,
    } = detail;
    let task = matches.task.clone();
    let event_id = event.id.clone();
    let rows = matches.subscriptions;
    let subscriptions = if rows.is_empty() {
        view! {
            <p class="empty">
                "No webhook subscription is set up for the task "
                <code>{task.clone()}</code>
                ", so this event caused no delivery."
            </p>
        }
        .into_any()
    } else {
        view! {
            <Table
                columns=&[
                    Shown("Subscription"),
                    Shown("Result"),
                    Shown("Why"),
                    ACTIONS,
                ]
                class="matches"
                label="Subscriptions"
                wide=true
            >
                {rows
                    .into_iter()
                    .map(|row| view! { <MatchRow row event_id=event_id.clone() /> })
                    .collect_view()}
            </Table>
        }
        .into_any()
    };
    let short = event.r#type.short();
    view! {
        <h1>"Event " <code>{short.clone()}</code></h1>
        <dl class="delivery-summary">
            <dt>"Type"</dt>
            <dd>
                <code>{event.r#type.to_string()}</code>
            </dd>
            <dt>"Received (UTC)"</dt>
            <dd>
                <time datetime=event.received_at.clone()>{display_time(&event.received_at)}</time>
            </dd>
            <dt>"Project / Stage / Service"</dt>
            <dd>{place(&event.project, &event.stage, &event.service)}</dd>
            <dt>"Source"</dt>
            <dd>{event.source.clone()}</dd>
            <dt>"Keptn context"</dt>
            <dd>
                <code>{event.shkeptncontext.clone()}</code>
            </dd>
            <dt>"Event id"</dt>
            <dd>
                <code>{event.id.clone()}</code>
            </dd>
        </dl>
        <section aria-labelledby="matches-heading">
            <h2 id="matches-heading">
                "Subscriptions of the task " <code>{task}</code>
            </h2>
            <p class="hint">
                "Each webhook subscription of this task, checked against the event as the subscription is set up now."
            </p>
            {subscriptions}
        </section>
        <Section id="event-deliveries-heading" title="Deliveries">
            <EventDeliveries deliveries />
        </Section>
        <Section id="event-json-heading" title="The event as stored">
            <details
                class="event-json"
                prop:open=move || json_open.get()
                on:toggle=move |event| {
                    use leptos::wasm_bindgen::JsCast;
                    if let Some(details) = event
                        .target()
                        .and_then(|target| target.dyn_into::<web_sys::HtmlDetailsElement>().ok())
                    {
                        json_open.set(details.open());
                    }
                }
            >
                <summary>"Event JSON"</summary>
                <pre>
                    <code>{body}</code>
                </pre>
            </details>
        </Section>
    }
}

/// One subscription: fired or not, and why.
#[component]
fn MatchRow(row: SubscriptionMatch, event_id: String) -> impl IntoView {
    let label = subscription_label(&row.event, &row.filter);
    let edit = edit_subscription_path(&row.integration_id, &row.subscription_id);
    let preview = preview_path(&row, &event_id);
    let preview_name = format!(" for {label}");
    let (result_class, result) = if row.matched {
        ("match-yes", "Fired")
    } else {
        ("match-no", "Did not fire")
    };
    let why = if row.matched {
        let count = row.delivery_ids.len();
        if count == 0 {
            view! {
                <span>"Matches as set up now; no delivery (the subscription changed after the event arrived)"</span>
            }
            .into_any()
        } else {
            view! {
                <ul class="reasons">
                    {row
                        .delivery_ids
                        .iter()
                        .map(|id| {
                            view! {
                                <li>
                                    <a href=delivery_path(id)>"Delivery " <code>{id.clone()}</code></a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }
    } else {
        view! {
            <ul class="reasons">
                {row
                    .reasons
                    .into_iter()
                    .map(|reason| view! { <li>{reason.message}</li> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <tr>
            <td data-label="Subscription">
                <a href=edit>{label.clone()}</a>
                <span class="integration-name">{format!(" ({})", row.integration_name)}</span>
            </td>
            <td data-label="Result">
                <span class=format!("match-pill {result_class}")>{result}</span>
            </td>
            <td data-label="Why">{why}</td>
            <td class="row-actions">
                <a href=preview class="button secondary">
                    "Preview with this event"
                    <span class="visually-hidden">{preview_name}</span>
                </a>
            </td>
        </tr>
    }
}

/// The deliveries of the event.
#[component]
fn EventDeliveries(deliveries: Vec<Delivery>) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="empty">"This event caused no delivery."</p> }.into_any();
    }
    view! {
        <Table
            columns=&[
                Shown("Created (UTC)"),
                Shown("Status"),
                Shown("Attempts"),
                Shown("HTTP status"),
                Shown("Reason"),
                ACTIONS,
            ]
            class="deliveries"
            label="Deliveries of this event"
            wide=true
        >
            {deliveries
                .into_iter()
                .map(|delivery| {
                    let time = display_time(&delivery.created_at);
                    let name = format!(" of the delivery at {time}");
                    view! {
                        <tr>
                            <td class="time" data-label="Created (UTC)">
                                {time}
                            </td>
                            <td data-label="Status">
                                <StatusPill status=delivery.status />
                            </td>
                            <td class="number" data-label="Attempts">
                                {delivery.attempt_count}
                            </td>
                            <td class="number" data-label="HTTP status">
                                {delivery
                                    .last_status_code
                                    .map_or_else(|| NONE.to_string(), |code| code.to_string())}
                            </td>
                            <td class="reason" data-label="Reason">
                                {delivery.reason.clone().unwrap_or_else(|| NONE.to_string())}
                            </td>
                            <td class="row-actions">
                                <a href=delivery_path(&delivery.id) class="button secondary">
                                    "Details"
                                    <span class="visually-hidden">{name}</span>
                                </a>
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
    .into_any()
}
