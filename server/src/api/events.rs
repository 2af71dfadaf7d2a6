//! `/api/v1/event` (Keptn's event API: ingest and list) and `/api/controlPlane/v1/log`
//! (Keptn's log API: failed deliveries as error events of an integration).

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::db;
use crate::state::AppState;

/// What a 503 (the ingest queue is full) asks the client to wait, in seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// The largest event accepted: exactly 1 MiB.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The routes of these resources.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_event, list_events))
        .layer(DefaultBodyLimit::max(MAX_EVENT_BYTES))
        .routes(routes!(list_logs))
}

/// `POST /api/v1/event` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventAccepted {
    #[serde(rename = "keptnContext")]
    pub keptn_context: String,
}

/// Query of `GET /api/v1/event`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct EventQuery {
    pub keptn_context: Option<String>,
    pub r#type: Option<String>,
    pub page_size: Option<i64>,
    pub next_page_key: Option<String>,
}

/// A page of events.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub events: Vec<Value>,
    pub next_page_key: String,
    pub page_size: i64,
    pub total_count: i64,
}

/// Accepts a Keptn CloudEvent; answers once it and its deliveries are committed.
#[utoipa::path(post, path = "/v1/event", tag = "events", request_body = Object,
    responses((status = 200, body = EventAccepted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 503, body = ErrorBody, description = "Too many events are waiting to be stored; nothing was stored, send it again later",
               headers(("Retry-After" = u32, description = "Seconds to wait before sending again")))))]
async fn post_event(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let ingested = match state.ingestor.try_ingest(body).await {
        Ok(ingested) => ingested?,
        Err(crate::domain::events::Busy) => {
            return Ok((
                [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many events are waiting to be stored; nothing was stored, send it again later",
                ),
            )
                .into_response());
        }
    };
    if ingested.created {
        state
            .dispatcher
            .metrics
            .event_received(ingested.event_type.as_str());
    }
    Ok(Json(EventAccepted {
        keptn_context: ingested.keptn_context,
    })
    .into_response())
}

/// Lists stored events, newest first.
#[utoipa::path(get, path = "/v1/event", tag = "events", params(EventQuery),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let page_size = query.page_size.unwrap_or(20).clamp(1, 100);
    let before = match query.next_page_key.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(key) => Some(
            key.parse::<i64>()
                .map_err(|_| ApiError::bad_request("nextPageKey: invalid page key"))?,
        ),
    };
    let (rows, total) = db::events::page(
        &state.db,
        query.keptn_context.as_deref(),
        query.r#type.as_deref(),
        before,
        page_size,
    )
    .await
    .map_err(ApiError::internal)?;
    let next_page_key = if rows.len() as i64 == page_size {
        rows.last()
            .map(|(rowid, _)| rowid.to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Json(EventPage {
        events: rows
            .into_iter()
            .map(|(_, body)| serde_json::from_str(&body).unwrap_or(Value::Null))
            .collect(),
        next_page_key,
        page_size,
        total_count: total,
    }))
}

/// Query of the log API.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    pub integration_id: Option<String>,
    pub page_size: Option<i64>,
}

/// One error event (Keptn's LogEntry).
#[derive(Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    pub integrationid: String,
    pub message: String,
    pub time: String,
    pub shkeptncontext: String,
    pub task: String,
    pub triggeredid: String,
}

/// A page of error events.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogPage {
    pub logs: Vec<LogEntry>,
    pub next_page_key: String,
    pub page_size: i64,
    pub total_count: i64,
}

/// Deliveries that ended failed, as error events (one per delivery), newest first.
#[utoipa::path(get, path = "/controlPlane/v1/log", tag = "uniform", params(LogQuery),
    responses((status = 200, body = LogPage), (status = 401, body = ErrorBody)))]
async fn list_logs(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    let page_size = query.page_size.unwrap_or(20).clamp(1, 100);
    let (rows, total) = db::events::failures(&state.db, query.integration_id.as_deref(), page_size)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(LogPage {
        logs: rows
            .into_iter()
            .map(|row| LogEntry {
                integrationid: row.integration_id,
                message: row.reason.unwrap_or_default(),
                time: row.updated_at,
                shkeptncontext: row.shkeptncontext,
                task: row.event_type.task().to_string(),
                triggeredid: row.triggeredid.unwrap_or(row.event_id),
            })
            .collect(),
        next_page_key: String::new(),
        page_size,
        total_count: total,
    }))
}
