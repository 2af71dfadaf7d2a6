//! `/api/controlPlane/v1/uniform/registration`: Keptn's uniform API — integrations and
//! their subscriptions (with the webhook for the built-in webhook-service).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::model::{Integration, Subscription};

use crate::api::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::domain::integrations;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_integrations, register_integration))
        .routes(routes!(unregister_integration))
        .routes(routes!(ping_integration))
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(
            get_subscription,
            update_subscription,
            delete_subscription
        ))
}

/// `{"id"}` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IdBody {
    pub id: String,
}

/// Filters of the integration list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only the integration with this id.
    pub id: Option<String>,
    /// Only integrations with this name.
    pub name: Option<String>,
}

fn empty() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}

/// Lists integrations with their subscriptions.
#[utoipa::path(get, path = "/controlPlane/v1/uniform/registration", tag = "uniform",
    params(ListParams), responses((status = 200, body = Vec<Integration>), (status = 401, body = ErrorBody)))]
async fn list_integrations(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Vec<Integration>>, ApiError> {
    Ok(Json(
        integrations::list(&state.db, params.id.as_deref(), params.name.as_deref()).await?,
    ))
}

/// Registers an integration: 201 when new, 200 (metadata updated) when it exists.
#[utoipa::path(post, path = "/controlPlane/v1/uniform/registration", tag = "uniform",
    request_body = Integration,
    responses((status = 201, body = IdBody), (status = 200, body = IdBody),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn register_integration(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Integration>,
) -> Result<(StatusCode, Json<IdBody>), ApiError> {
    let (id, created) = integrations::register(&state.db, &state.dispatcher.policy, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(IdBody { id })))
}

/// Removes an integration and its subscriptions.
#[utoipa::path(delete, path = "/controlPlane/v1/uniform/registration/{id}", tag = "uniform",
    params(("id" = String, Path)),
    responses((status = 200, body = Object),
        (status = 400, body = ErrorBody, description = "The built-in webhook-service cannot be unregistered"),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn unregister_integration(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    integrations::unregister(&state.db, &id).await?;
    Ok(empty())
}

/// Marks an integration as alive (`lastseen` = now).
#[utoipa::path(put, path = "/controlPlane/v1/uniform/registration/{id}/ping", tag = "uniform",
    params(("id" = String, Path)),
    responses((status = 200, body = Integration), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn ping_integration(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Integration>, ApiError> {
    Ok(Json(integrations::ping(&state.db, &id).await?))
}

/// Lists an integration's subscriptions.
#[utoipa::path(get, path = "/controlPlane/v1/uniform/registration/{id}/subscription", tag = "uniform",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Subscription>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_subscriptions(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Subscription>>, ApiError> {
    Ok(Json(integrations::get(&state.db, &id).await?.subscriptions))
}

/// Adds a subscription (the id in the body is ignored).
#[utoipa::path(post, path = "/controlPlane/v1/uniform/registration/{id}/subscription", tag = "uniform",
    params(("id" = String, Path)), request_body = Subscription,
    responses((status = 201, body = IdBody), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_subscription(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Subscription>,
) -> Result<(StatusCode, Json<IdBody>), ApiError> {
    let id =
        integrations::create_subscription(&state.db, &state.dispatcher.policy, &id, body).await?;
    Ok((StatusCode::CREATED, Json(IdBody { id })))
}

/// One subscription.
#[utoipa::path(get, path = "/controlPlane/v1/uniform/registration/{id}/subscription/{subscriptionId}",
    tag = "uniform", params(("id" = String, Path), ("subscriptionId" = String, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn get_subscription(
    State(state): State<AppState>,
    Path((id, subscription_id)): Path<(String, String)>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(
        integrations::get_subscription(&state.db, &id, &subscription_id).await?,
    ))
}

/// Replaces a subscription.
#[utoipa::path(put, path = "/controlPlane/v1/uniform/registration/{id}/subscription/{subscriptionId}",
    tag = "uniform", params(("id" = String, Path), ("subscriptionId" = String, Path)),
    request_body = Subscription,
    responses((status = 200, body = IdBody), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn update_subscription(
    State(state): State<AppState>,
    Path((id, subscription_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Subscription>,
) -> Result<Json<IdBody>, ApiError> {
    integrations::update_subscription(
        &state.db,
        &state.dispatcher.policy,
        &id,
        &subscription_id,
        body,
    )
    .await?;
    Ok(Json(IdBody {
        id: subscription_id,
    }))
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/controlPlane/v1/uniform/registration/{id}/subscription/{subscriptionId}",
    tag = "uniform", params(("id" = String, Path), ("subscriptionId" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn delete_subscription(
    State(state): State<AppState>,
    Path((id, subscription_id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    integrations::delete_subscription(&state.db, &id, &subscription_id).await?;
    Ok(empty())
}
