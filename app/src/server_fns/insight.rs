//! Server functions behind the Events page and the Overview.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{EventDetail, EventList, EventQuery, Stats};

/// A page of received events, newest first.
#[server(prefix = "/rpc", endpoint = "events/list", input = Json)]
pub async fn list_events(query: EventQuery) -> Result<EventList, AppError> {
    crate::ssr::call(move |backend| async move { backend.list_events(query).await }).await
}

/// One event with its stored JSON, its deliveries and the match explanation.
#[server(prefix = "/rpc", endpoint = "events/get")]
pub async fn get_event(id: String) -> Result<EventDetail, AppError> {
    crate::ssr::call(move |backend| async move { backend.event_detail(id).await }).await
}

/// The Overview's figures.
#[server(prefix = "/rpc", endpoint = "stats")]
pub async fn overview_stats() -> Result<Stats, AppError> {
    crate::ssr::call(move |backend| async move { backend.stats().await }).await
}
