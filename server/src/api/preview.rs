//! `POST /api/v1/preview`: renders an (unsaved) subscription's webhook against an event,
//! exactly as the sender would, with every secret value shown as `***` and nothing sent.

use std::collections::HashMap;

use app::model::Subscription;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiJson, ErrorBody};
use crate::crypto::SecretValue;
use crate::dispatcher::attempt::{compile, render_parts};
use crate::error::DomainError;
use crate::state::AppState;
use crate::templates::render::Data;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview))
}

/// Body of `POST /api/v1/preview`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PreviewBody {
    /// The subscription as in the uniform API (only its webhook is used).
    pub subscription: Subscription,
    /// The event to render with (a Keptn CloudEvent).
    #[schema(value_type = Object)]
    pub event: Value,
}

/// The request as it would be sent.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    #[schema(value_type = Object)]
    pub request: Value,
    /// Whether the body is valid JSON.
    pub valid_json: bool,
    /// The `text` field Slack would show, when the body has one.
    pub slack_text: Option<String>,
}

/// Renders a webhook for an event; template errors answer 400 with `line` and `column`.
#[utoipa::path(post, path = "/v1/preview", tag = "deliveries", request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn preview(
    State(_state): State<AppState>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Json<Preview>, ApiError> {
    let webhook = body
        .subscription
        .webhook
        .ok_or_else(|| ApiError::bad_request("subscription.webhook: a webhook is required"))?;
    // Template errors with their position, field by field.
    let mut fields = vec![("webhook.url".to_string(), webhook.url.clone())];
    for (index, header) in webhook.headers.iter().enumerate() {
        fields.push((
            format!("webhook.headers[{index}].value"),
            header.value.clone(),
        ));
    }
    fields.push(("webhook.payload".to_string(), webhook.payload.clone()));
    for (field, source) in fields {
        crate::templates::parse(&source).map_err(|e| {
            ApiError::from(DomainError::Template {
                field,
                line: e.pos.line,
                column: e.pos.column,
                message: e.message,
            })
        })?;
    }
    let compiled = compile(&webhook).map_err(ApiError::bad_request)?;
    // Secrets are never opened for a preview: every reference renders as ***.
    let secrets: HashMap<(String, String), SecretValue> = compiled
        .secret_refs()
        .iter()
        .map(|pair| (pair.clone(), SecretValue::new("***".to_string())))
        .collect();
    let data = Data {
        event: &body.event,
        secrets: &secrets,
    };
    let (url, headers, payload) = render_parts(&compiled, &data).map_err(ApiError::bad_request)?;
    let parsed = payload.as_deref().map(serde_json::from_str::<Value>);
    let valid_json = matches!(parsed, Some(Ok(_)));
    let slack_text = match parsed {
        Some(Ok(value)) => value
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    };
    Ok(Json(Preview {
        request: json!({
            "method": compiled.method(),
            "url": url,
            "headers": headers.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "body": payload,
        }),
        valid_json,
        slack_text,
    }))
}
