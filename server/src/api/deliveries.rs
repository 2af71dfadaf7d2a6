//! `/api/v1/deliveries`: what was sent, to whom, with what outcome — every attempt with the
//! request and response as recorded (secret values already `***`) — and redelivery.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiQuery, ErrorBody};
use crate::db;
use crate::db::events::DeliveryListRow;
use crate::state::AppState;
use crate::util;

/// How much of a response body the API shows.
const RESPONSE_PREVIEW: usize = 4096;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
}

/// Query of the list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryQuery {
    pub subscription_id: Option<String>,
    /// pending, retrying, delivered or failed.
    pub status: Option<String>,
    pub page_size: Option<i64>,
    pub next_page_key: Option<String>,
}

/// A delivery.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Also the `webhook-id` header value.
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    pub status: String,
    pub attempt_count: i64,
    pub last_status_code: Option<i64>,
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<Attempt>>,
}

/// One attempt of a delivery.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub number: i64,
    pub started_at: String,
    pub duration_ms: i64,
    #[schema(value_type = Object)]
    pub request: Value,
    #[schema(value_type = Object)]
    pub response: Value,
    pub error: Option<String>,
}

/// A page of deliveries.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub next_page_key: String,
}

fn delivery(row: DeliveryListRow) -> Delivery {
    let finished = matches!(row.status.as_str(), "delivered" | "failed");
    Delivery {
        id: row.id,
        subscription_id: row.subscription_id,
        event_id: row.event_id,
        event_type: row.event_type,
        project: row.project,
        stage: row.stage,
        service: row.service,
        status: row.status,
        attempt_count: row.attempt_count,
        last_status_code: row.last_status_code,
        reason: row.reason,
        duration_ms: row.duration_ms,
        next_attempt_at: if finished {
            None
        } else {
            row.next_attempt_at.and_then(util::millis_to_rfc3339)
        },
        created_at: row.created_at,
        attempts: None,
    }
}

/// Lists deliveries, newest first.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", params(DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    if let Some(status) = query.status.as_deref() {
        if !["pending", "retrying", "delivered", "failed"].contains(&status) {
            return Err(ApiError::bad_request(
                "status: must be pending, retrying, delivered or failed",
            ));
        }
    }
    let page_size = query.page_size.unwrap_or(20).clamp(1, 100);
    let before = match query.next_page_key.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(key) => Some(
            key.parse::<i64>()
                .map_err(|_| ApiError::bad_request("nextPageKey: invalid page key"))?,
        ),
    };
    let rows = db::events::list_deliveries(
        &state.db,
        None,
        query.subscription_id.as_deref(),
        query.status.as_deref(),
        before,
        page_size,
    )
    .await
    .map_err(ApiError::internal)?;
    let next_page_key = if rows.len() as i64 == page_size {
        rows.last().map(|r| r.rowid.to_string()).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Json(DeliveryPage {
        deliveries: rows.into_iter().map(delivery).collect(),
        next_page_key,
    }))
}

/// One delivery with every attempt (secret values as `***`; response bodies cut at 4 KiB).
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 200, body = Delivery), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn get_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Delivery>, ApiError> {
    let row = db::events::list_deliveries(&state.db, Some(&id), None, None, None, 1)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("delivery {id} not found")))?;
    let attempts = db::events::attempts(&state.db, &id)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(
            |(number, started_at, duration_ms, request, response, error)| {
                let mut response: Value = response
                    .and_then(|r| serde_json::from_str(&r).ok())
                    .unwrap_or(Value::Null);
                if let Some(Value::String(body)) = response.get_mut("body") {
                    if body.len() > RESPONSE_PREVIEW {
                        let mut cut = RESPONSE_PREVIEW;
                        while !body.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        body.truncate(cut);
                    }
                }
                Attempt {
                    number,
                    started_at,
                    duration_ms,
                    request: serde_json::from_str(&request).unwrap_or(Value::Null),
                    response,
                    error,
                }
            },
        )
        .collect();
    let mut delivery = delivery(row);
    delivery.attempts = Some(attempts);
    Ok(Json(delivery))
}

/// `{"id"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryId {
    pub id: String,
}

/// Sends a delivery again (same id, a new attempt).
#[utoipa::path(post, path = "/v1/deliveries/{id}/redeliver", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 202, body = DeliveryId), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryId>), ApiError> {
    let found = db::events::redeliver(&state.db, &id, util::now_millis(), &util::now_rfc3339())
        .await
        .map_err(ApiError::internal)?;
    if !found {
        return Err(ApiError::not_found(format!("delivery {id} not found")));
    }
    state.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(DeliveryId { id })))
}
