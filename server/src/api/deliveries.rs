//! `/api/v1/deliveries`: what was sent, to whom, with what outcome — every attempt with the
//! request and response as recorded (secret values already `***`) — and redelivery.

use app::model::{Delivery, DeliveryPage, DeliveryQuery};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiQuery, ErrorBody};
use crate::domain::deliveries;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(redeliver_failed))
}

/// Lists deliveries, newest first.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", params(DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    Ok(Json(deliveries::list(&state.db, &query).await?))
}

/// One delivery with every attempt (secret values as `***`; response bodies cut at 4 KiB).
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 200, body = Delivery), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn get_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Delivery>, ApiError> {
    Ok(Json(deliveries::get(&state.db, &id).await?))
}

/// `{"id"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryId {
    pub id: String,
}

/// Sends a delivery again (same id, a new attempt).
#[utoipa::path(post, path = "/v1/deliveries/{id}/redeliver", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 202, body = DeliveryId), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The delivery is being sent right now")))]
async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryId>), ApiError> {
    deliveries::redeliver(&state.db, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryId { id })))
}

/// Query of "retry all failed".
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct RedeliverFailedQuery {
    pub subscription_id: String,
}

/// `{"count"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Redelivered {
    pub count: u64,
}

/// Sends every failed delivery of a subscription again (same ids, new attempts).
#[utoipa::path(post, path = "/v1/deliveries/redeliver-failed", tag = "deliveries", params(RedeliverFailedQuery),
    responses((status = 202, body = Redelivered), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn redeliver_failed(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RedeliverFailedQuery>,
) -> Result<(StatusCode, Json<Redelivered>), ApiError> {
    let count = deliveries::redeliver_failed(&state.db, &query.subscription_id).await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivered { count })))
}
