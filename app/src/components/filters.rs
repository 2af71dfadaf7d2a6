//! What the filter bars of the Deliveries and Events pages share: the search form around the
//! fields with its "Clear filters" link ([`FilterForm`]), the From/To fields of a time range in
//! UTC ([`TimeRange`]), and how filters live in the URL query ([`query_string`],
//! [`time_value`], [`use_filter_navigate`]): a change replaces the history entry and keeps
//! the scroll position, so a reload or a shared link shows the same list.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

/// A value of a `datetime-local` input (`2026-11-27T10:00`, optionally with seconds), read as
/// UTC, as RFC 3339 (`2026-11-27T10:00:00Z`); `None` when it is not such a value.
pub fn utc_input_to_rfc3339(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let shape = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16);
    match bytes.len() {
        16 if shape => Some(format!("{value}:00Z")),
        19 if shape && bytes.get(16) == Some(&b':') && digits(17..19) => Some(format!("{value}Z")),
        _ => None,
    }
}

/// `?key=value&…` of the pairs whose value is not empty (empty when none is).
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'static str, &'a str)>) -> String {
    let query: ParamsMap = pairs
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key, value.to_string()))
        .collect();
    query.to_query_string()
}

/// A time filter from the URL: kept when it is a `datetime-local` value, otherwise empty.
pub fn time_value(text: String) -> String {
    if utc_input_to_rfc3339(&text).is_some() {
        text
    } else {
        String::new()
    }
}

/// Goes to `path` with a filters' query string (see [`query_string`]), in place of the
/// current history entry and without scrolling.
pub fn use_filter_navigate(path: &'static str) -> impl Fn(String) + Clone + 'static {
    let navigate = use_navigate();
    move |query: String| {
        navigate(
            &format!("{path}{query}"),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    }
}

/// The form of a filter bar: `role="search"`, never submitted; a "Clear filters" link to
/// `path` while any filter is set.
#[component]
pub fn FilterForm(
    /// The form's accessible name, e.g. "Filter deliveries".
    label: &'static str,
    /// The page without filters.
    path: &'static str,
    /// Whether any filter is set.
    #[prop(into)]
    any: Signal<bool>,
    children: Children,
) -> impl IntoView {
    view! {
        <form
            class="delivery-filters"
            role="search"
            aria-label=label
            on:submit=move |event| event.prevent_default()
        >
            {children()}
            <Show when=move || any.get()>
                <a href=path class="button secondary clear-filters">
                    "Clear filters"
                </a>
            </Show>
        </form>
    }
}

/// One labelled field of a filter bar; `on_change` gets its value when it changes (when the
/// field is left or Enter is pressed).
#[component]
pub fn FilterInput(
    /// The element id.
    id: String,
    /// The query key, also the input's name.
    name: &'static str,
    label: &'static str,
    /// The input's type: "search", "datetime-local" …
    input_type: &'static str,
    /// The id of a `<datalist>` of suggestions.
    #[prop(optional)]
    list: Option<&'static str>,
    /// The value shown.
    value: Signal<String>,
    on_change: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="filter">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=input_type
                autocomplete=list.map(|_| "off")
                list=list
                prop:value=move || value.get()
                on:change=move |event| on_change.run(event_target_value(&event))
            />
        </div>
    }
}

/// The "From (UTC)" and "To (UTC)" fields (`datetime-local`, ids `<id_prefix>-from` and
/// `<id_prefix>-to`); `on_change` gets `("from" | "to", value)` when one changes.
#[component]
pub fn TimeRange(
    id_prefix: &'static str,
    #[prop(into)] from: Signal<String>,
    #[prop(into)] to: Signal<String>,
    on_change: Callback<(&'static str, String)>,
) -> impl IntoView {
    [("from", "From (UTC)", from), ("to", "To (UTC)", to)]
        .into_iter()
        .map(|(key, label, value)| {
            view! {
                <FilterInput
                    id=format!("{id_prefix}-{key}")
                    name=key
                    label
                    input_type="datetime-local"
                    value
                    on_change=Callback::new(move |text| on_change.run((key, text)))
                />
            }
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_become_utc_instants() {
        assert_eq!(
            utc_input_to_rfc3339("2026-11-27T10:00").as_deref(),
            Some("2026-11-27T10:00:00Z")
        );
        assert_eq!(
            utc_input_to_rfc3339("2026-11-27T10:00:30").as_deref(),
            Some("2026-11-27T10:00:30Z")
        );
        assert_eq!(utc_input_to_rfc3339(""), None);
        assert_eq!(utc_input_to_rfc3339("2026-11-27 10:00"), None);
        assert_eq!(utc_input_to_rfc3339("2026-11-27T10:00Z"), None);
    }
}
