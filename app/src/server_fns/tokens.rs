//! Server functions behind the API tokens page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{NewToken, TokenInfo};

/// Lists the API tokens.
#[server(prefix = "/rpc", endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    crate::ssr::call(move |backend| async move { backend.list_tokens().await }).await
}

/// Creates an API token named `name`.
#[server(prefix = "/rpc", endpoint = "tokens/create")]
pub async fn create_token(name: String) -> Result<NewToken, AppError> {
    crate::ssr::call(move |backend| async move { backend.create_token(name).await }).await
}

/// Revokes API token `id`.
#[server(prefix = "/rpc", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    crate::ssr::call(move |backend| async move { backend.revoke_token(id).await }).await
}
