//! Server functions behind the delivery log and the subscription form's preview and test
//! send.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{
    Delivery, DeliveryPage, DeliveryQuery, PreviewOutcome, TestSendOutcome, Webhook,
};

/// A page of deliveries, newest first.
#[server(prefix = "/rpc", endpoint = "deliveries/list", input = Json)]
pub async fn list_deliveries(query: DeliveryQuery) -> Result<DeliveryPage, AppError> {
    crate::ssr::call(move |backend| async move { backend.list_deliveries(query).await }).await
}

/// One delivery with every attempt.
#[server(prefix = "/rpc", endpoint = "deliveries/get")]
pub async fn get_delivery(id: String) -> Result<Delivery, AppError> {
    crate::ssr::call(move |backend| async move { backend.get_delivery(id).await }).await
}

/// Sends a delivery again (same id, a new attempt).
#[server(prefix = "/rpc", endpoint = "deliveries/redeliver")]
pub async fn redeliver(id: String) -> Result<(), AppError> {
    crate::ssr::call(move |backend| async move { backend.redeliver(id).await }).await
}

/// How many deliveries of a subscription ended failed.
#[server(prefix = "/rpc", endpoint = "deliveries/failed-count")]
pub async fn failed_count(subscription_id: String) -> Result<i64, AppError> {
    crate::ssr::call(move |backend| async move { backend.failed_count(subscription_id).await })
        .await
}

/// Sends every failed delivery of a subscription again; returns how many.
#[server(prefix = "/rpc", endpoint = "deliveries/redeliver-failed")]
pub async fn redeliver_failed(subscription_id: String) -> Result<u64, AppError> {
    crate::ssr::call(move |backend| async move { backend.redeliver_failed(subscription_id).await })
        .await
}

/// Renders an unsaved webhook for the event in `event_json` (secrets `***`, nothing sent).
#[server(prefix = "/rpc", endpoint = "deliveries/preview", input = Json)]
pub async fn preview_webhook(
    webhook: Webhook,
    event_json: String,
) -> Result<PreviewOutcome, AppError> {
    crate::ssr::call(move |backend| async move { backend.preview(webhook, event_json).await }).await
}

/// Sends an unsaved webhook for the event once through the real sender (no retries).
#[server(prefix = "/rpc", endpoint = "deliveries/test-send", input = Json)]
pub async fn test_send(webhook: Webhook, event_json: String) -> Result<TestSendOutcome, AppError> {
    crate::ssr::call(move |backend| async move { backend.test_send(webhook, event_json).await })
        .await
}
