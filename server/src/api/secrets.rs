//! `/api/secrets/v1`: Keptn's secret-service API (same paths and shapes), except that values
//! are never echoed and deleting a secret in use is refused.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::crypto::SecretValue;
use crate::domain::secrets::{self, Entry, Submission};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_secrets,
            create_secret,
            update_secret,
            delete_secret
        ))
        .routes(routes!(list_scopes))
}

/// Body of `POST` and `PUT /api/secrets/v1/secret`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SecretBody {
    /// Lower-case alphanumerics and '-', starting and ending alphanumeric, at most 253.
    #[schema(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length = 253)]
    pub name: Option<String>,
    /// One of `GET /scope`; empty or missing means `keptn-default` (on `PUT`: unchanged).
    #[schema(
        pattern = r"^(|dynatrace-service|keptn-default|keptn-prometheus-service|keptn-webhook-service)$"
    )]
    pub scope: Option<String>,
    /// Keys (`[-._a-zA-Z0-9]+`) and their values (non-empty, at most 64 KiB).
    pub data: Option<BTreeMap<String, String>>,
}

/// A secret without its values.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SecretSummary {
    pub name: String,
    pub scope: String,
    /// Sorted.
    pub keys: Vec<String>,
}

/// `GET /api/secrets/v1/secret` answer (Keptn's capitalised key).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SecretList {
    #[serde(rename = "Secrets")]
    pub secrets: Vec<SecretSummary>,
}

/// `GET /api/secrets/v1/scope` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ScopeList {
    pub scopes: Vec<String>,
}

/// Query of `GET /secret`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only the secret with this name.
    pub name: Option<String>,
    /// Only secrets of this scope.
    pub scope: Option<String>,
}

/// Query of `DELETE /secret`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The secret's name (required).
    #[param(
        required = true,
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length = 253
    )]
    pub name: Option<String>,
    /// The secret's scope (required).
    #[param(
        required = true,
        pattern = r"^(dynatrace-service|keptn-default|keptn-prometheus-service|keptn-webhook-service)$"
    )]
    pub scope: Option<String>,
}

impl From<secrets::SecretInfo> for SecretSummary {
    fn from(info: secrets::SecretInfo) -> Self {
        Self {
            name: info.name,
            scope: info.scope,
            keys: info.keys,
        }
    }
}

/// The body as a domain submission; values move into [`SecretValue`]s at once.
fn submission(body: SecretBody) -> Result<Submission, ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::bad_request("name: Must not be empty"))?;
    let data = body
        .data
        .ok_or_else(|| ApiError::bad_request("data: At least one key-value pair is required"))?;
    let entries = data
        .into_iter()
        .map(|(key, value)| Entry {
            value_field: format!("data.{key}"),
            // The entry named by its key, quoted so that an empty or odd key shows: `data[""]`.
            key_field: format!("data[{}]", serde_json::Value::String(key.clone())),
            key,
            value: Some(SecretValue::new(value)),
        })
        .collect();
    Ok(Submission {
        name,
        scope: body.scope,
        entries,
    })
}

/// Lists secrets (names, scopes, sorted keys; never values).
#[utoipa::path(get, path = "/secrets/v1/secret", tag = "secrets", params(ListParams),
    responses((status = 200, body = SecretList), (status = 401, body = ErrorBody)))]
async fn list_secrets(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<SecretList>, ApiError> {
    let secrets = secrets::list(&state.db, params.name.as_deref(), params.scope.as_deref())
        .await?
        .into_iter()
        .map(SecretSummary::from)
        .collect();
    Ok(Json(SecretList { secrets }))
}

/// Creates a secret; its values are sealed at once and never returned.
#[utoipa::path(post, path = "/secrets/v1/secret", tag = "secrets", request_body = SecretBody,
    responses((status = 201, body = SecretSummary), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_secret(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SecretBody>,
) -> Result<(StatusCode, Json<SecretSummary>), ApiError> {
    let created = secrets::create(&state.db, &state.keyring, submission(body)?).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Replaces a secret's whole key set (and its scope, when given).
#[utoipa::path(put, path = "/secrets/v1/secret", tag = "secrets", request_body = SecretBody,
    responses((status = 200, body = SecretSummary), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_secret(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SecretBody>,
) -> Result<Json<SecretSummary>, ApiError> {
    let updated = secrets::update(&state.db, &state.keyring, submission(body)?).await?;
    Ok(Json(updated.into()))
}

/// Deletes a secret.
#[utoipa::path(delete, path = "/secrets/v1/secret", tag = "secrets", params(DeleteParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn delete_secret(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let required = |value: Option<String>, field: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("{field}: query parameter is required")))
    };
    let name = required(params.name, "name")?;
    let scope = required(params.scope, "scope")?;
    secrets::delete(&state.db, &name, &scope).await?;
    Ok(Json(serde_json::json!({})))
}

/// The scopes a secret can have, sorted.
#[utoipa::path(get, path = "/secrets/v1/scope", tag = "secrets",
    responses((status = 200, body = ScopeList), (status = 401, body = ErrorBody)))]
async fn list_scopes() -> Json<ScopeList> {
    Json(ScopeList {
        scopes: secrets::SCOPES.iter().map(|s| s.to_string()).collect(),
    })
}
