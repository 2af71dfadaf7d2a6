//! `/uniform/deliveries`: the delivery log — every webhook delivery, newest first, with its
//! status, attempts, last HTTP status, Slack's reason and the next retry. Filters (status,
//! subscription, time range) live in the URL query (`?status=failed&subscription=<id>&
//! from=…&to=…`), so a reload or a link from the Integrations page keeps them. The table
//! refreshes itself every two seconds while the page is open. [`DeliveriesSection`] holds this
//! page and the detail page ([`super::delivery_detail`]) with their toasts.

use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::params::ParamsMap;

use crate::components::field::{Alert, PageHeader};
use crate::components::filters::{
    query_string, time_value, use_filter_navigate, utc_input_to_rfc3339, FilterForm, TimeRange,
};
use crate::components::live::{live_list, ListFilters, LiveList};
use crate::components::loaded::Loaded;
use crate::components::paging::Pager;
use crate::components::table::{Column, Column::Shown, RowButton, Table, ACTIONS};
use crate::components::toast::{provide_toaster, use_toaster, ToastRegion};
use crate::format::{display_time, place, subscription_label, NONE};
use crate::model::{
    Delivery, DeliveryPage, DeliveryQuery, DeliveryStatus, Integration, WEBHOOK_SERVICE,
};
use crate::paths::{delivery_path, edit_subscription_path, DELIVERIES_PATH};
use crate::server_fns::deliveries::{list_deliveries, Redeliver};
use crate::server_fns::uniform::list_integrations;

/// Deliveries per page.
const PAGE_SIZE: i64 = 20;
/// `project / stage / service`, a missing part as `—`.
pub fn event_place(delivery: &Delivery) -> String {
    place(&delivery.project, &delivery.stage, &delivery.service)
}

/// The filters of the delivery log, as kept in the URL query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// One status, or `None` for all.
    pub status: Option<DeliveryStatus>,
    /// A subscription id, or empty for all.
    pub subscription: String,
    /// `datetime-local` values (UTC), or empty.
    pub from: String,
    pub to: String,
}

impl Filters {
    /// `?status=…&subscription=…&from=…&to=…` with the filters set (empty when none is).
    pub fn to_query_string(&self) -> String {
        query_string([
            (
                "status",
                self.status.map(DeliveryStatus::as_str).unwrap_or_default(),
            ),
            ("subscription", &self.subscription),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

impl ListFilters for Filters {
    type Query = DeliveryQuery;

    /// The filters in `query`; unknown statuses and malformed times are left out.
    fn from_query(query: &ParamsMap) -> Self {
        let value = |key: &str| query.get(key).unwrap_or_default().trim().to_string();
        Self {
            status: DeliveryStatus::parse(&value("status")),
            subscription: value("subscription"),
            from: time_value(value("from")),
            to: time_value(value("to")),
        }
    }

    /// The server query for the page after `page_key` (the first page when `None`).
    fn to_query(&self, page_key: Option<String>) -> DeliveryQuery {
        let set = |value: &String| Some(value.clone()).filter(|v| !v.is_empty());
        DeliveryQuery {
            subscription_id: set(&self.subscription),
            status: self.status.map(|status| status.as_str().to_string()),
            from: utc_input_to_rfc3339(&self.from),
            to: utc_input_to_rfc3339(&self.to),
            page_size: Some(PAGE_SIZE),
            next_page_key: page_key,
        }
    }
}

/// The frame of the delivery pages: it outlives them, so a toast survives a navigation.
#[component]
pub fn DeliveriesSection() -> impl IntoView {
    let toaster = provide_toaster();
    view! {
        <Outlet />
        <ToastRegion toaster />
    }
}

/// A delivery's status as a coloured pill with its name.
#[component]
pub fn StatusPill(status: DeliveryStatus) -> impl IntoView {
    let class = format!("status-pill status-{status}");
    view! { <span class=class>{status.as_str()}</span> }
}

/// The delivery log.
#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let list = live_list::<Filters, _, _>(list_deliveries);
    let empty = list.empty_text(
        "No deliveries match these filters.",
        "No deliveries yet. They appear here when an event matches a webhook subscription.",
    );
    let LiveList {
        filters,
        paging,
        tick,
        page: deliveries,
    } = list;
    let subscriptions = webhook_subscriptions();
    let redeliver = ServerAction::<Redeliver>::new();

    let redeliver_error = follow_redeliver(redeliver, move || tick.update(|n| *n += 1));

    view! {
        <PageHeader
            title="Deliveries"
            lead="Every webhook call of a subscription, newest first: its status, its attempts and what the receiver answered. The list updates itself while it is open."
        />
        <FilterBar filters subscriptions />
        <Alert message=redeliver_error />
        <Loaded
            resource=deliveries
            loading="Loading deliveries…"
            is_empty=|page: &DeliveryPage| page.deliveries.is_empty()
            empty
            let:page
        >
            <DeliveryTable list=page.deliveries redeliver subscriptions />
            <Pager paging next_key=Some(page.next_page_key).filter(|key| !key.is_empty()) />
        </Loaded>
    }
}

/// Follows "Redeliver" (the log's and a delivery's): on success `done` runs (a refresh) and a
/// toast says so; the returned signal holds why it last failed.
pub fn follow_redeliver(
    redeliver: ServerAction<Redeliver>,
    done: impl Fn() + 'static,
) -> RwSignal<Option<String>> {
    let error = RwSignal::new(None::<String>);
    let toaster = use_toaster();
    Effect::new(move |_| match redeliver.value().get() {
        Some(Ok(())) => {
            error.set(None);
            done();
            if let Some(toaster) = toaster {
                toaster.show("Delivery queued again.");
            }
        }
        Some(Err(failure)) => error.set(Some(failure.to_string())),
        None => {}
    });
    error
}

/// The filters above the table; every change goes into the URL at once.
#[component]
fn FilterBar(filters: Memo<Filters>, subscriptions: Signal<Vec<SubscriptionRef>>) -> impl IntoView {
    let go = use_filter_navigate(DELIVERIES_PATH);
    // An input handler that puts the changed filters into the URL.
    let change = {
        let go = go.clone();
        move |set: fn(&mut Filters, String)| {
            let go = go.clone();
            move |event: leptos::ev::Event| {
                let mut next = filters.get_untracked();
                set(&mut next, event_target_value(&event));
                go(next.to_query_string());
            }
        }
    };
    let on_time = Callback::new(move |(key, value): (&'static str, String)| {
        let mut next = filters.get_untracked();
        match key {
            "from" => next.from = value,
            _ => next.to = value,
        }
        go(next.to_query_string());
    });
    let on_subscription = change(|f, value| f.subscription = value);
    let subscription_options = move || {
        let selected = filters.with(|f| f.subscription.clone());
        let mut options: Vec<(String, String)> = subscriptions
            .get()
            .into_iter()
            .map(|subscription| (subscription.id, subscription.label))
            .collect();
        if !selected.is_empty() && !options.iter().any(|(id, _)| *id == selected) {
            options.push((selected.clone(), format!("Subscription {selected}")));
        }
        options
            .into_iter()
            .map(|(id, label)| {
                let is_selected = id == selected;
                view! {
                    <option value=id selected=is_selected>
                        {label}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <FilterForm
            label="Filter deliveries"
            path=DELIVERIES_PATH
            any=Signal::derive(move || filters.with(Filters::any))
        >
            <div class="filter">
                <label for="filter-status">"Status"</label>
                <select
                    id="filter-status"
                    name="status"
                    prop:value=move || {
                        filters.with(|f| f.status.map(DeliveryStatus::as_str).unwrap_or_default())
                    }
                    on:change=change(|f, value| f.status = DeliveryStatus::parse(&value))
                >
                    <option value="" selected=move || filters.with(|f| f.status.is_none())>
                        "All"
                    </option>
                    {DeliveryStatus::ALL
                        .into_iter()
                        .map(|status| {
                            view! {
                                <option
                                    value=status.as_str()
                                    selected=move || filters.with(|f| f.status == Some(status))
                                >
                                    {status.as_str()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="filter filter-subscription">
                <label for="filter-subscription">"Subscription"</label>
                <Transition fallback=|| {
                    view! { <select id="filter-subscription" disabled=true></select> }
                }>
                    <select
                        id="filter-subscription"
                        name="subscription"
                        prop:value=move || filters.with(|f| f.subscription.clone())
                        on:change=on_subscription.clone()
                    >
                        <option
                            value=""
                            selected=move || filters.with(|f| f.subscription.is_empty())
                        >
                            "All subscriptions"
                        </option>
                        {subscription_options}
                    </select>
                </Transition>
            </div>
            <TimeRange
                id_prefix="filter"
                from=Signal::derive(move || filters.with(|f| f.from.clone()))
                to=Signal::derive(move || filters.with(|f| f.to.clone()))
                on_change=on_time
            />
        </FilterForm>
    }
}

/// A webhook subscription as the delivery log names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRef {
    pub id: String,
    pub integration_id: String,
    /// By task and filter (see [`subscription_label`]).
    pub label: String,
}

/// The webhook-service subscriptions, named by task and filter (loaded once; empty until they
/// arrive or when loading fails).
pub fn webhook_subscriptions() -> Signal<Vec<SubscriptionRef>> {
    let integrations = Resource::new(|| (), |()| list_integrations());
    Signal::derive(move || {
        integrations
            .get()
            .and_then(Result::ok)
            .map(|list| subscription_refs(&list))
            .unwrap_or_default()
    })
}

/// The webhook-service subscriptions among `integrations`.
fn subscription_refs(integrations: &[Integration]) -> Vec<SubscriptionRef> {
    integrations
        .iter()
        .filter(|integration| integration.name == WEBHOOK_SERVICE)
        .flat_map(|integration| {
            integration
                .subscriptions
                .iter()
                .map(|subscription| SubscriptionRef {
                    id: subscription.id.clone(),
                    integration_id: integration.id.clone(),
                    label: subscription_label(&subscription.event, &subscription.filter),
                })
        })
        .collect()
}

/// The table of deliveries, with a details link and a redeliver button per row.
#[component]
fn DeliveryTable(
    list: Vec<Delivery>,
    redeliver: ServerAction<Redeliver>,
    subscriptions: Signal<Vec<SubscriptionRef>>,
) -> impl IntoView {
    const COLUMNS: &[Column] = &[
        Shown("Time (UTC)"),
        Shown("Event"),
        Shown("Project / Stage / Service"),
        Shown("Status"),
        Shown("Attempts"),
        Shown("HTTP status"),
        Shown("Reason"),
        Shown("Duration"),
        Shown("Next retry"),
        Shown("Subscription"),
        ACTIONS,
    ];
    view! {
        <Table columns=COLUMNS class="deliveries" label="Deliveries" wide=true>
            {list
                .into_iter()
                .map(|delivery| view! { <DeliveryRow delivery redeliver subscriptions /> })
                .collect_view()}
        </Table>
    }
}

/// One row of the delivery log.
#[component]
fn DeliveryRow(
    delivery: Delivery,
    redeliver: ServerAction<Redeliver>,
    subscriptions: Signal<Vec<SubscriptionRef>>,
) -> impl IntoView {
    let subscription_id = delivery.subscription_id.clone();
    let subscription = move || {
        subscriptions.with(|list| {
            match list
                .iter()
                .find(|subscription| subscription.id == subscription_id)
            {
                Some(found) => view! {
                    <a href=edit_subscription_path(&found.integration_id, &found.id)>
                        {found.label.clone()}
                    </a>
                }
                .into_any(),
                None => view! { <span class="hint">"(deleted)"</span> }.into_any(),
            }
        })
    };
    let place = event_place(&delivery);
    let time = display_time(&delivery.created_at);
    let details_name = format!(" of the delivery at {time}");
    let redeliver_name = format!(" the delivery at {time}");
    let href = delivery_path(&delivery.id);
    let Delivery {
        id,
        event_type,
        status,
        attempt_count,
        last_status_code,
        reason,
        duration_ms,
        next_attempt_at,
        created_at,
        ..
    } = delivery;
    view! {
        <tr>
            <td class="time" data-label="Time (UTC)">
                <time datetime=created_at>{time}</time>
            </td>
            <td title=event_type.to_string() data-label="Event">
                {event_type.short()}
            </td>
            <td data-label="Project / Stage / Service">{place}</td>
            <td data-label="Status">
                <StatusPill status />
            </td>
            <td class="number" data-label="Attempts">
                {attempt_count}
            </td>
            <td class="number" data-label="HTTP status">
                {last_status_code.map_or_else(|| NONE.to_string(), |code| code.to_string())}
            </td>
            <td class="reason" data-label="Reason">
                {reason.unwrap_or_else(|| NONE.to_string())}
            </td>
            <td class="number nowrap" data-label="Duration">
                {duration_ms.map_or_else(|| NONE.to_string(), |ms| format!("{ms} ms"))}
            </td>
            <td class="time" data-label="Next retry">
                {next_attempt_at.map_or_else(|| NONE.to_string(), |at| display_time(&at))}
            </td>
            <td class="subscription" data-label="Subscription">
                {subscription}
            </td>
            <td class="row-actions">
                <a href=href class="button secondary">
                    "Details"
                    <span class="visually-hidden">{details_name}</span>
                </a>
                <RowButton
                    text="Redeliver"
                    object=redeliver_name
                    disabled=redeliver.pending()
                    on_click=Callback::new(move |()| {
                        redeliver.dispatch(Redeliver { id: id.clone() });
                    })
                />
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_the_url() {
        let query: ParamsMap = [
            ("status", "failed"),
            ("subscription", "abc"),
            ("from", "2026-11-27T10:00"),
            ("to", "nonsense"),
        ]
        .into_iter()
        .collect();
        let filters = Filters::from_query(&query);
        assert_eq!(
            filters,
            Filters {
                status: Some(DeliveryStatus::Failed),
                subscription: "abc".to_string(),
                from: "2026-11-27T10:00".to_string(),
                to: String::new(),
            }
        );
        let query = filters.to_query(Some("42".to_string()));
        assert_eq!(query.status.as_deref(), Some("failed"));
        assert_eq!(query.subscription_id.as_deref(), Some("abc"));
        assert_eq!(query.from.as_deref(), Some("2026-11-27T10:00:00Z"));
        assert_eq!(query.to, None);
        assert_eq!(query.next_page_key.as_deref(), Some("42"));
        let unknown: ParamsMap = [("status", "lost")].into_iter().collect();
        assert!(!Filters::from_query(&unknown).any());
        assert_eq!(Filters::default().to_query_string(), "");
    }
}
