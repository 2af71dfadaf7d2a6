//! Server functions behind the Integrations pages (integrations and their subscriptions).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{ErrorEvent, Integration, SeenValues, Subscription};

/// Lists the integrations with their subscriptions.
#[server(prefix = "/rpc", endpoint = "uniform/list")]
pub async fn list_integrations() -> Result<Vec<Integration>, AppError> {
    crate::ssr::call(move |backend| async move { backend.list_integrations().await }).await
}

/// One integration with its subscriptions.
#[server(prefix = "/rpc", endpoint = "uniform/get")]
pub async fn get_integration(id: String) -> Result<Integration, AppError> {
    crate::ssr::call(move |backend| async move { backend.get_integration(id).await }).await
}

/// Adds a subscription to an integration; returns its id.
#[server(prefix = "/rpc", endpoint = "uniform/subscription/create", input = Json)]
pub async fn create_subscription(
    integration_id: String,
    subscription: Subscription,
) -> Result<String, AppError> {
    crate::ssr::call(move |backend| async move {
        backend
            .create_subscription(integration_id, subscription)
            .await
    })
    .await
}

/// Replaces a subscription (`subscription.id` says which).
#[server(prefix = "/rpc", endpoint = "uniform/subscription/update", input = Json)]
pub async fn update_subscription(
    integration_id: String,
    subscription: Subscription,
) -> Result<(), AppError> {
    crate::ssr::call(move |backend| async move {
        backend
            .update_subscription(integration_id, subscription)
            .await
    })
    .await
}

/// Deletes a subscription.
#[server(prefix = "/rpc", endpoint = "uniform/subscription/delete")]
pub async fn delete_subscription(
    integration_id: String,
    subscription_id: String,
) -> Result<(), AppError> {
    crate::ssr::call(move |backend| async move {
        backend
            .delete_subscription(integration_id, subscription_id)
            .await
    })
    .await
}

/// Values seen in received events (suggestions for tasks and filters).
#[server(prefix = "/rpc", endpoint = "uniform/seen")]
pub async fn load_seen_values() -> Result<SeenValues, AppError> {
    crate::ssr::call(move |backend| async move { backend.seen_values().await }).await
}

/// The error events of an integration (newest first); viewing them marks them as read.
#[server(prefix = "/rpc", endpoint = "uniform/errors")]
pub async fn load_error_events(integration_id: String) -> Result<Vec<ErrorEvent>, AppError> {
    crate::ssr::call(move |backend| async move { backend.error_events(integration_id).await }).await
}

/// How many error events have not been viewed yet (the badge on "Integrations").
#[server(prefix = "/rpc", endpoint = "uniform/errors/unread")]
pub async fn unread_error_count() -> Result<i64, AppError> {
    crate::ssr::call(move |backend| async move { backend.unread_error_count().await }).await
}
