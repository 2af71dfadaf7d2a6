//! `/api/v1/tokens`: list, create (plaintext shown once) and revoke API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, ApiJson, ErrorBody};
use crate::auth::tokens;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Body of `POST /api/v1/tokens`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateTokenBody {
    /// A name that says who uses the token (at most 100 characters, not only spaces).
    #[schema(value_type = String, required = true, pattern = r"\S", max_length = 100)]
    pub name: Option<String>,
}

/// A token just created: the only answer that carries its plaintext.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub token: String,
    pub created_at: String,
}

/// A token as listed.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// `GET /api/v1/tokens` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenSummary>,
}

/// Lists the API tokens (never the tokens themselves).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody)))]
async fn list_tokens(State(state): State<AppState>) -> Result<Json<TokenList>, ApiError> {
    let tokens = tokens::list(&state.db)
        .await?
        .into_iter()
        .map(|t| TokenSummary {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        })
        .collect();
    Ok(Json(TokenList { tokens }))
}

/// Creates an API token; the answer holds its plaintext, once.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = CreateTokenBody,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::bad_request("name: Must not be empty"))?;
    let created = tokens::create(&state.db, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: created.id,
            name: created.name,
            token: created.token,
            created_at: created.created_at,
        }),
    ))
}

/// Revokes an API token; it stops working at once.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    tokens::revoke(&state.db, &id).await?;
    Ok(Json(serde_json::json!({})))
}
