//! `/uniform/events`: every received event, newest first — time, type, project / stage /
//! service, source, Keptn context and how many deliveries it caused — with filters (type,
//! project, stage, service, time range) kept in the URL query, paging, and a refresh every two
//! seconds while the page is open. An event opens its detail ([`super::event_detail`]).

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

use crate::components::field::PageHeader;
use crate::components::filters::{
    query_string, time_value, use_filter_navigate, utc_input_to_rfc3339, FilterForm, FilterInput,
    TimeRange,
};
use crate::components::live::{live_list, ListFilters, LiveList};
use crate::components::loaded::Loaded;
use crate::components::paging::Pager;
use crate::components::table::{Column::Shown, Table, ACTIONS};
use crate::format::{display_time, place};
use crate::model::{EventList, EventQuery, EventSummary, EventType};
use crate::paths::{event_path, EVENTS_PATH};
use crate::server_fns::insight::list_events;
use crate::server_fns::uniform::load_seen_values;

/// Events per page.
const PAGE_SIZE: i64 = 20;

/// A type filter as typed: `evaluation.finished` stands for
/// `sh.keptn.event.evaluation.finished`.
pub fn full_type(typed: &str) -> String {
    let typed = typed.trim();
    if typed.is_empty() || typed.starts_with(EventType::PREFIX) {
        typed.to_string()
    } else {
        format!("{}{typed}", EventType::PREFIX)
    }
}

/// The filters of the Events page, as kept in the URL query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// As typed (`evaluation.finished` or the whole type), or empty.
    pub r#type: String,
    pub project: String,
    pub stage: String,
    pub service: String,
    /// `datetime-local` values (UTC), or empty.
    pub from: String,
    pub to: String,
}

impl Filters {
    const KEYS: [&'static str; 6] = ["type", "project", "stage", "service", "from", "to"];

    fn field(&mut self, key: &str) -> Option<&mut String> {
        match key {
            "type" => Some(&mut self.r#type),
            "project" => Some(&mut self.project),
            "stage" => Some(&mut self.stage),
            "service" => Some(&mut self.service),
            "from" => Some(&mut self.from),
            "to" => Some(&mut self.to),
            _ => None,
        }
    }

    fn values(&self) -> [(&'static str, &String); 6] {
        [
            ("type", &self.r#type),
            ("project", &self.project),
            ("stage", &self.stage),
            ("service", &self.service),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    /// `?type=…&project=…` with the filters set (empty when none is).
    pub fn to_query_string(&self) -> String {
        query_string(self.values().map(|(key, value)| (key, value.as_str())))
    }
}

impl ListFilters for Filters {
    type Query = EventQuery;

    /// The filters in `query`; malformed times are left out.
    fn from_query(query: &ParamsMap) -> Self {
        let mut filters = Self::default();
        for key in Self::KEYS {
            let value = query.get(key).unwrap_or_default().trim().to_string();
            let value = if matches!(key, "from" | "to") {
                time_value(value)
            } else {
                value
            };
            if let Some(field) = filters.field(key) {
                *field = value;
            }
        }
        filters
    }

    /// The server query for the page after `page_key` (the first page when `None`).
    fn to_query(&self, page_key: Option<String>) -> EventQuery {
        let set = |value: &String| Some(value.clone()).filter(|v| !v.is_empty());
        EventQuery {
            r#type: set(&full_type(&self.r#type)),
            project: set(&self.project),
            stage: set(&self.stage),
            service: set(&self.service),
            from: utc_input_to_rfc3339(&self.from),
            to: utc_input_to_rfc3339(&self.to),
            page_size: Some(PAGE_SIZE),
            next_page_key: page_key,
        }
    }
}

/// The Events page.
#[component]
pub fn EventsPage() -> impl IntoView {
    let list = live_list::<Filters, _, _>(list_events);
    let empty = list.empty_text(
        "No events match these filters.",
        "No events yet. They appear here when something posts to /api/v1/event.",
    );
    let LiveList {
        filters,
        paging,
        page: events,
        ..
    } = list;
    view! {
        <PageHeader
            title="Events"
            lead="Every event Uniform received, newest first, with the deliveries it caused. Open an event to see why a subscription did or did not fire. The list updates itself while it is open."
        />
        <EventFilterBar filters />
        <Loaded
            resource=events
            loading="Loading events…"
            is_empty=|list: &EventList| list.events.is_empty()
            empty
            let:list
        >
            <p class="result-count">
                {if list.total_count == 1 {
                    "1 event".to_string()
                } else {
                    format!("{} events", list.total_count)
                }}
            </p>
            <EventTable list=list.events />
            <Pager paging next_key=Some(list.next_page_key).filter(|key| !key.is_empty()) />
        </Loaded>
    }
}

/// The filters above the table; a change goes into the URL when the field is left or Enter
/// is pressed.
#[component]
fn EventFilterBar(filters: Memo<Filters>) -> impl IntoView {
    let go = use_filter_navigate(EVENTS_PATH);
    let set = Callback::new(move |(key, value): (&'static str, String)| {
        let mut next = filters.get_untracked();
        if let Some(field) = next.field(key) {
            *field = value.trim().to_string();
        }
        if next != filters.get_untracked() {
            go(next.to_query_string());
        }
    });
    let value = move |key: &'static str| {
        Signal::derive(move || {
            filters.with(|f| {
                f.values()
                    .into_iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
        })
    };
    let seen = Resource::new(|| (), |()| load_seen_values());
    let options = move |pick: fn(&crate::model::SeenValues) -> Vec<String>| {
        move || {
            seen.get()
                .and_then(Result::ok)
                .map(|values| pick(&values))
                .unwrap_or_default()
                .into_iter()
                .map(|value| view! { <option value=value></option> })
                .collect_view()
        }
    };
    let text_filter = move |key: &'static str, label: &'static str, list: &'static str| {
        view! {
            <FilterInput
                id=format!("event-filter-{key}")
                name=key
                label
                input_type="search"
                list
                value=value(key)
                on_change=Callback::new(move |text| set.run((key, text)))
            />
        }
    };
    view! {
        <FilterForm
            label="Filter events"
            path=EVENTS_PATH
            any=Signal::derive(move || filters.with(Filters::any))
        >
            {text_filter("type", "Type", "event-types")}
            {text_filter("project", "Project", "event-projects")}
            {text_filter("stage", "Stage", "event-stages")}
            {text_filter("service", "Service", "event-services")}
            <TimeRange id_prefix="event-filter" from=value("from") to=value("to") on_change=set />
            <Transition>
                <datalist id="event-types">
                    {options(|values| {
                        values
                            .tasks
                            .iter()
                            .flat_map(|task| {
                                ["triggered", "started", "finished"]
                                    .map(|suffix| format!("{task}.{suffix}"))
                            })
                            .collect()
                    })}
                </datalist>
                <datalist id="event-projects">{options(|values| values.projects.clone())}</datalist>
                <datalist id="event-stages">{options(|values| values.stages.clone())}</datalist>
                <datalist id="event-services">{options(|values| values.services.clone())}</datalist>
            </Transition>
        </FilterForm>
    }
}

/// The table of events.
#[component]
fn EventTable(list: Vec<EventSummary>) -> impl IntoView {
    view! {
        <Table
            columns=&[
                Shown("Received (UTC)"),
                Shown("Type"),
                Shown("Project / Stage / Service"),
                Shown("Source"),
                Shown("Keptn context"),
                Shown("Deliveries"),
                ACTIONS,
            ]
            class="events"
            label="Events"
            wide=true
        >
            {list
                .into_iter()
                .map(|event| {
                    let time = display_time(&event.received_at);
                    let short = event.r#type.short();
                    let details_name = format!(" of the {short} event at {time}");
                    let context_short: String = event.shkeptncontext.chars().take(8).collect();
                    view! {
                        <tr>
                            <td class="time" data-label="Received (UTC)">
                                <time datetime=event.received_at.clone()>{time}</time>
                            </td>
                            <td title=event.r#type.to_string() data-label="Type">
                                {short}
                            </td>
                            <td data-label="Project / Stage / Service">
                                {place(&event.project, &event.stage, &event.service)}
                            </td>
                            <td data-label="Source">{event.source.clone()}</td>
                            <td data-label="Keptn context">
                                <code title=event.shkeptncontext.clone()>{context_short}</code>
                            </td>
                            <td class="number" data-label="Deliveries">
                                {event.deliveries}
                            </td>
                            <td class="row-actions">
                                <a href=event_path(&event.id) class="button secondary">
                                    "Details"
                                    <span class="visually-hidden">{details_name}</span>
                                </a>
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </Table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_the_url() {
        let query: ParamsMap = [
            ("type", "evaluation.finished"),
            ("stage", "dev"),
            ("from", "2026-11-27T10:00"),
            ("to", "nonsense"),
        ]
        .into_iter()
        .collect();
        let filters = Filters::from_query(&query);
        assert_eq!(filters.r#type, "evaluation.finished");
        assert_eq!(filters.stage, "dev");
        assert_eq!(filters.to, "");
        assert_eq!(
            filters.to_query_string(),
            "?type=evaluation%2Efinished&stage=dev&from=2026%2D11%2D27T10%3A00"
        );
        let query = filters.to_query(Some("7".to_string()));
        assert_eq!(
            query.r#type.as_deref(),
            Some("sh.keptn.event.evaluation.finished")
        );
        assert_eq!(query.from.as_deref(), Some("2026-11-27T10:00:00Z"));
        assert_eq!(query.project, None);
        assert_eq!(query.next_page_key.as_deref(), Some("7"));
        assert!(!Filters::default().any());
        assert_eq!(
            full_type("sh.keptn.event.x.started"),
            "sh.keptn.event.x.started"
        );
        assert_eq!(
            place(&Some("p".into()), &None, &Some("".into())),
            "p / — / —"
        );
    }
}
