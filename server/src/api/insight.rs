//! `/api/v1/event/{id}/matches` (why each webhook subscription of an event's task did or did
//! not fire) and `/api/v1/stats` (the Overview's figures): the answers to "why didn't I get a
//! message?" for scripts, the same the Events page and the Overview show.

use app::model::{EventMatches, Stats};
use axum::extract::{Path, State};
use axum::Json;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ErrorBody};
use crate::domain::insight;
use crate::state::AppState;

/// The routes of these resources.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(event_matches))
        .routes(routes!(stats))
}

/// Every webhook subscription of the event's task (and any other that wants the event), with
/// whether it matches the event as it is configured now and, if not, why — e.g. "stage
/// `production` not in [dev, staging]" — and the deliveries the event caused for it.
#[utoipa::path(get, path = "/v1/event/{id}/matches", tag = "events", params(("id" = String, Path, description = "The event's id")),
    responses((status = 200, body = EventMatches), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn event_matches(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventMatches>, ApiError> {
    Ok(Json(insight::matches(&state.db, &id).await?))
}

/// The last 24 hours in figures: events, deliveries and how they stand, the queue, unread
/// error events, deliveries per 15 minutes, and per webhook subscription its success rate,
/// p50/p95 duration and last error.
#[utoipa::path(get, path = "/v1/stats", tag = "stats",
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody)))]
async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(
        insight::stats(&state.db, OffsetDateTime::now_utc()).await?,
    ))
}
