//! Server functions behind the Secrets pages. Values travel only browser → server.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{SecretForm, SecretInfo};

/// Lists the secrets (names, scopes, keys).
#[server(prefix = "/rpc", endpoint = "secrets/list")]
pub async fn list_secrets() -> Result<Vec<SecretInfo>, AppError> {
    crate::ssr::require_session()?;
    crate::ssr::backend()?.list_secrets().await
}

/// One secret (names, scope, keys) for the edit form.
#[server(prefix = "/rpc", endpoint = "secrets/get")]
pub async fn get_secret(name: String) -> Result<SecretInfo, AppError> {
    crate::ssr::require_session()?;
    crate::ssr::backend()?.get_secret(name).await
}

/// The scopes a secret can have.
#[server(prefix = "/rpc", endpoint = "secrets/scopes")]
pub async fn list_scopes() -> Result<Vec<String>, AppError> {
    crate::ssr::require_session()?;
    crate::ssr::backend()?.list_scopes().await
}

/// Creates a secret.
#[server(prefix = "/rpc", endpoint = "secrets/create", input = Json)]
pub async fn create_secret(form: SecretForm) -> Result<SecretInfo, AppError> {
    crate::ssr::require_session()?;
    crate::ssr::backend()?.create_secret(form).await
}

/// Updates a secret's keys; an empty value keeps the stored one.
#[server(prefix = "/rpc", endpoint = "secrets/update", input = Json)]
pub async fn update_secret(form: SecretForm) -> Result<SecretInfo, AppError> {
    crate::ssr::require_session()?;
    crate::ssr::backend()?.update_secret(form).await
}

/// Deletes a secret.
#[server(prefix = "/rpc", endpoint = "secrets/delete")]
pub async fn delete_secret(name: String, scope: String) -> Result<(), AppError> {
    crate::ssr::require_session()?;
    crate::ssr::backend()?.delete_secret(name, scope).await
}
