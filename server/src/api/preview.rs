//! `POST /api/v1/preview` and `POST /api/v1/test-send`: an (unsaved) subscription's webhook
//! rendered for an event exactly as the sender would — shown with every secret as `***`, or
//! sent once through the real sender.

use app::model::{Preview, RenderProblem, Subscription, TestSend, Webhook};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiJson, ErrorBody};
use crate::domain::deliveries;
use crate::error::DomainError;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview))
        .routes(routes!(test_send))
}

/// Body of `POST /api/v1/preview` and `POST /api/v1/test-send`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PreviewBody {
    /// The subscription as in the uniform API (only its webhook is used).
    pub subscription: Subscription,
    /// The event to render with (a Keptn CloudEvent).
    #[schema(value_type = Object)]
    pub event: Value,
}

impl PreviewBody {
    fn webhook(self) -> Result<(Webhook, Value), ApiError> {
        let webhook = self
            .subscription
            .webhook
            .ok_or_else(|| ApiError::bad_request("subscription.webhook: a webhook is required"))?;
        if !self.event.is_object() {
            return Err(ApiError::bad_request("event: must be a JSON object"));
        }
        Ok((webhook, self.event))
    }
}

/// A render problem as the API's 400: template errors carry `line` and `column`.
fn refused(problem: RenderProblem) -> ApiError {
    match (problem.line, problem.column) {
        (Some(line), Some(column)) => DomainError::Template {
            field: problem.field,
            line,
            column,
            message: problem.message,
        }
        .into(),
        _ => ApiError::bad_request(problem.message),
    }
}

/// Renders a webhook for an event; template errors answer 400 with `line` and `column`.
#[utoipa::path(post, path = "/v1/preview", tag = "deliveries", request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn preview(ApiJson(body): ApiJson<PreviewBody>) -> Result<Json<Preview>, ApiError> {
    let (webhook, event) = body.webhook()?;
    deliveries::preview(&webhook, &event)
        .map(Json)
        .map_err(refused)
}

/// Sends a webhook rendered for an event once (no retries, nothing recorded) and answers
/// what came back; the receiver's failure is an outcome (200), not an error.
#[utoipa::path(post, path = "/v1/test-send", tag = "deliveries", request_body = PreviewBody,
    responses((status = 200, body = TestSend), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn test_send(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Json<TestSend>, ApiError> {
    let (webhook, event) = body.webhook()?;
    crate::dispatcher::test_send::test_send(&state.dispatcher, &webhook, &event)
        .await
        .map(Json)
        .map_err(refused)
}
