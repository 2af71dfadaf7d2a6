//! Pages that keep themselves up to date: [`poll`] ticks while a page is open, and
//! [`live_list`] is the state of a filtered, paged list that refreshes itself (the delivery
//! log, the events): its filters read from the URL query, the page keys, and the resource.

use std::future::Future;
use std::time::Duration;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::components::paging::{paging, Paging};
use crate::error::AppError;

/// How often an open page asks for news.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Calls `tick` every [`POLL_INTERVAL`] while the calling component lives (browser only).
pub fn poll(tick: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(tick, POLL_INTERVAL) {
        on_cleanup(move || handle.clear());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = tick;
}

/// The filters of a live list, as kept in the URL query.
pub trait ListFilters: Clone + Default + PartialEq + Send + Sync + 'static {
    /// What the server function takes.
    type Query: Clone + PartialEq + Send + Sync + 'static;
    /// The filters in `query` (what does not parse is left out).
    fn from_query(query: &ParamsMap) -> Self;
    /// The server query for the page after `page_key` (the first page when `None`).
    fn to_query(&self, page_key: Option<String>) -> Self::Query;
    /// Whether any filter is set.
    fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// A live list's state.
pub struct LiveList<F: ListFilters, T: Send + Sync + 'static> {
    pub filters: Memo<F>,
    pub paging: Paging,
    /// Bump it to load again now.
    pub tick: RwSignal<u64>,
    /// The page shown.
    pub page: Resource<Result<T, AppError>>,
}

impl<F: ListFilters, T: Send + Sync + 'static> LiveList<F, T> {
    /// The sentence for an empty list (see [`Paging::empty_text`]): `filtered` while a
    /// filter is set, `none` otherwise.
    pub fn empty_text(&self, filtered: &'static str, none: &'static str) -> Signal<Option<String>> {
        let filters = self.filters;
        self.paging
            .empty_text(move || filters.with(F::any), filtered, none)
    }
}

/// A list filtered by the URL query, paged, loaded with `load` and refreshed every
/// [`POLL_INTERVAL`].
pub fn live_list<F, T, Fut>(load: fn(F::Query) -> Fut) -> LiveList<F, T>
where
    F: ListFilters,
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let query = use_query_map();
    let filters = Memo::new(move |_| query.with(F::from_query));
    let paging = paging(filters);
    let tick = RwSignal::new(0u64);
    let page = Resource::new(
        move || (filters.get().to_query(paging.key.get()), tick.get()),
        move |(query, _)| load(query),
    );
    poll(move || {
        tick.try_update(|n| *n += 1);
    });
    LiveList {
        filters,
        paging,
        tick,
        page,
    }
}
