//! `/uniform/deliveries/<id>`: one delivery — its summary and every attempt with the request
//! as sent (method, URL, headers, body; secret values already `***`) and the response (status,
//! headers, body) or why none came. "Redeliver" sends it again; the page follows the delivery
//! live while it is pending or retrying and for a while after a redelivery.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::field::Alert;
use crate::components::live::poll;
use crate::components::loaded::Loaded;
use crate::format::{display_time, NONE};
use crate::model::{Attempt, Delivery, Header, ReceivedResponse, SentRequest};
use crate::pages::deliveries::{
    event_place, follow_redeliver, webhook_subscriptions, StatusPill, SubscriptionRef,
};
use crate::paths::{edit_subscription_path, subscription_deliveries_path, DELIVERIES_PATH};
use crate::server_fns::deliveries::{get_delivery, Redeliver};

/// How many polls follow a redelivery even when the delivery already looks finished.
const POLLS_AFTER_REDELIVER: u32 = 15;

/// The delivery detail page.
#[component]
pub fn DeliveryDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|params| params.get("id").unwrap_or_default()));
    let tick = RwSignal::new(0u64);
    let delivery = Resource::new(move || (id.get(), tick.get()), |(id, _)| get_delivery(id));
    // The subscription is named by task and filter, as in the delivery log.
    let subscriptions = webhook_subscriptions();
    // Whether the delivery is still under way (then the page polls), as last loaded.
    let under_way = RwSignal::new(false);
    let extra_polls = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(delivery)) = delivery.get() {
            under_way.set(delivery.status.under_way());
        }
    });
    poll(move || {
        let boosted = extra_polls
            .try_update(|left| {
                let boosted = *left > 0;
                *left = left.saturating_sub(1);
                boosted
            })
            .unwrap_or(false);
        if boosted || under_way.try_get_untracked().unwrap_or(false) {
            tick.try_update(|n| *n += 1);
        }
    });

    let redeliver = ServerAction::<Redeliver>::new();
    let redeliver_error = follow_redeliver(redeliver, move || {
        extra_polls.set(POLLS_AFTER_REDELIVER);
        tick.update(|n| *n += 1);
    });

    view! {
        <Title text=move || format!("Delivery {}", id.get()) />
        <p class="back-link">
            <a href=DELIVERIES_PATH>"Back to the delivery log"</a>
        </p>
        <div class="delivery-heading">
            <h1>"Delivery " <code>{move || id.get()}</code></h1>
            <button
                type="button"
                disabled=move || redeliver.pending().get()
                on:click=move |_| {
                    redeliver.dispatch(Redeliver { id: id.get_untracked() });
                }
            >
                "Redeliver"
            </button>
        </div>
        <Alert message=redeliver_error />
        <Loaded resource=delivery loading="Loading the delivery…" let:delivery>
            <DeliveryView delivery subscriptions />
        </Loaded>
    }
}

/// The summary and the attempts (newest first).
#[component]
fn DeliveryView(delivery: Delivery, subscriptions: Signal<Vec<SubscriptionRef>>) -> impl IntoView {
    let place = event_place(&delivery);
    let or_none = |value: Option<String>| value.unwrap_or_else(|| NONE.to_string());
    let Delivery {
        subscription_id,
        event_id,
        event_type,
        status,
        attempt_count,
        last_status_code,
        reason,
        duration_ms,
        next_attempt_at,
        created_at,
        attempts,
        ..
    } = delivery;
    let mut attempts = attempts.unwrap_or_default();
    attempts.reverse();
    let subscription_href = subscription_deliveries_path(&subscription_id);
    let subscription = move || {
        subscriptions.with(
            |list| match list.iter().find(|found| found.id == subscription_id) {
                Some(found) => view! {
                    <a href=edit_subscription_path(&found.integration_id, &found.id)>
                        {found.label.clone()}
                    </a>
                }
                .into_any(),
                None => view! {
                    <code>{subscription_id.clone()}</code>
                    " "
                    <span class="hint">"(deleted)"</span>
                }
                .into_any(),
            },
        )
    };
    view! {
        <dl class="delivery-summary">
            <div>
                <dt>"Status"</dt>
                <dd>
                    <StatusPill status />
                </dd>
            </div>
            <div>
                <dt>"Event"</dt>
                <dd title=event_type.to_string()>{event_type.short()}</dd>
            </div>
            <div>
                <dt>"Project / Stage / Service"</dt>
                <dd>{place}</dd>
            </div>
            <div>
                <dt>"Created"</dt>
                <dd>
                    <time datetime=created_at.clone()>{display_time(&created_at)} " UTC"</time>
                </dd>
            </div>
            <div>
                <dt>"Attempts"</dt>
                <dd>{attempt_count}</dd>
            </div>
            <div>
                <dt>"HTTP status"</dt>
                <dd>{or_none(last_status_code.map(|code| code.to_string()))}</dd>
            </div>
            <div>
                <dt>"Reason"</dt>
                <dd>{or_none(reason)}</dd>
            </div>
            <div>
                <dt>"Duration"</dt>
                <dd>{or_none(duration_ms.map(|ms| format!("{ms} ms")))}</dd>
            </div>
            <div>
                <dt>"Next retry"</dt>
                <dd>{or_none(next_attempt_at.map(|at| format!("{} UTC", display_time(&at))))}</dd>
            </div>
            <div>
                <dt>"Subscription"</dt>
                <dd>
                    {subscription} " · "
                    <a href=subscription_href>"its deliveries"</a>
                </dd>
            </div>
            <div>
                <dt>"Event id"</dt>
                <dd>
                    <code>{event_id}</code>
                </dd>
            </div>
        </dl>
        <h2>"Attempts"</h2>
        {if attempts.is_empty() {
            view! { <p class="empty">"No attempt yet."</p> }.into_any()
        } else {
            attempts
                .into_iter()
                .map(|attempt| view! { <AttemptView attempt /> })
                .collect_view()
                .into_any()
        }}
    }
}

/// One attempt: when, how long, the request and the response.
#[component]
fn AttemptView(attempt: Attempt) -> impl IntoView {
    let Attempt {
        number,
        started_at,
        duration_ms,
        request,
        response,
        error,
    } = attempt;
    let heading_id = format!("attempt-{number}");
    let labelled_by = heading_id.clone();
    let started = format!("{} UTC", display_time(&started_at));
    view! {
        <section class="attempt" aria-labelledby=labelled_by>
            <h3 id=heading_id>{format!("Attempt {number}")}</h3>
            <p class="attempt-meta">
                "Started " <time datetime=started_at>{started}</time> " · "
                {format!("{duration_ms} ms")}
            </p>
            <div class="exchange">
                <div class="exchange-part">
                    <h4>"Request"</h4>
                    {match request {
                        Some(request) => view! { <RequestView request /> }.into_any(),
                        None => view! { <p class="empty">"No request was sent."</p> }.into_any(),
                    }}
                </div>
                <div class="exchange-part">
                    <h4>"Response"</h4>
                    {match response {
                        Some(response) => view! { <ResponseView response error /> }.into_any(),
                        None => {
                            view! {
                                <p class="no-response">"No response"</p>
                                {error
                                    .map(|error| {
                                        view! { <p class="attempt-error">{error}</p> }
                                    })}
                            }
                                .into_any()
                        }
                    }}
                </div>
            </div>
        </section>
    }
}

/// A request as sent.
#[component]
fn RequestView(request: SentRequest) -> impl IntoView {
    let SentRequest {
        method,
        url,
        headers,
        body,
    } = request;
    view! {
        <p class="request-line">
            <code class="method">{method}</code>
            " "
            <code class="url">{url}</code>
        </p>
        <HeaderTable headers label="Request headers" />
        {match body.filter(|body| !body.is_empty()) {
            Some(body) => view! { <pre class="body">{body}</pre> }.into_any(),
            None => view! { <p class="empty">"No body."</p> }.into_any(),
        }}
    }
}

/// A response as received (the body cut at 4 KiB).
#[component]
fn ResponseView(response: ReceivedResponse, error: Option<String>) -> impl IntoView {
    let ReceivedResponse {
        status,
        headers,
        body,
    } = response;
    view! {
        <p class="request-line">
            "HTTP " <code class="http-status">{status}</code>
        </p>
        {error.map(|error| view! { <p class="attempt-error">{error}</p> })}
        <HeaderTable headers label="Response headers" />
        {if body.is_empty() {
            view! { <p class="empty">"No body."</p> }.into_any()
        } else {
            view! { <pre class="body">{body}</pre> }.into_any()
        }}
    }
}

/// Headers as a two-column table (nothing when there are none).
#[component]
fn HeaderTable(headers: Vec<Header>, label: &'static str) -> impl IntoView {
    (!headers.is_empty()).then(|| {
        view! {
            <table class="headers-table" aria-label=label>
                <thead>
                    <tr>
                        <th>"Header"</th>
                        <th>"Value"</th>
                    </tr>
                </thead>
                <tbody>
                    {headers
                        .into_iter()
                        .map(|header| {
                            view! {
                                <tr>
                                    <td>
                                        <code>{header.key}</code>
                                    </td>
                                    <td>
                                        <code>{header.value}</code>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
    })
}
