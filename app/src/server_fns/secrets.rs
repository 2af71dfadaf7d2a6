//! Server functions behind the Secrets pages. Values travel only browser → server.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{SecretForm, SecretInfo};

/// Lists the secrets (names, scopes, keys).
#[server(prefix = "/rpc", endpoint = "secrets/list")]
pub async fn list_secrets() -> Result<Vec<SecretInfo>, AppError> {
    crate::ssr::call(move |backend| async move { backend.list_secrets().await }).await
}

/// One secret (names, scope, keys) for the edit form.
#[server(prefix = "/rpc", endpoint = "secrets/get")]
pub async fn get_secret(name: String) -> Result<SecretInfo, AppError> {
    crate::ssr::call(move |backend| async move { backend.get_secret(name).await }).await
}

/// The scopes a secret can have.
#[server(prefix = "/rpc", endpoint = "secrets/scopes")]
pub async fn list_scopes() -> Result<Vec<String>, AppError> {
    crate::ssr::call(move |backend| async move { backend.list_scopes().await }).await
}

/// Creates a secret.
#[server(prefix = "/rpc", endpoint = "secrets/create", input = Json)]
pub async fn create_secret(form: SecretForm) -> Result<SecretInfo, AppError> {
    crate::ssr::call(move |backend| async move { backend.create_secret(form).await }).await
}

/// Updates a secret's keys; an empty value keeps the stored one.
#[server(prefix = "/rpc", endpoint = "secrets/update", input = Json)]
pub async fn update_secret(form: SecretForm) -> Result<SecretInfo, AppError> {
    crate::ssr::call(move |backend| async move { backend.update_secret(form).await }).await
}

/// Deletes a secret.
#[server(prefix = "/rpc", endpoint = "secrets/delete")]
pub async fn delete_secret(name: String, scope: String) -> Result<(), AppError> {
    crate::ssr::call(move |backend| async move { backend.delete_secret(name, scope).await }).await
}
