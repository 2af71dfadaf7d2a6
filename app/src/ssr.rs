//! The port between the UI and the server (compiled with `ssr` only): the [`Backend`] trait
//! the server implements, and the guards every server function calls first.

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::{
    Delivery, DeliveryPage, DeliveryQuery, ErrorEvent, EventDetail, EventList, EventQuery,
    Integration, NewToken, PreviewOutcome, SecretForm, SecretInfo, SeenValues, SessionUser, Stats,
    Subscription, TestSendOutcome, TokenInfo, Webhook,
};

/// What the UI's server functions may ask of the server. Implemented in the `server` crate,
/// provided to Leptos as context (`Arc<dyn Backend>`).
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Every API token, without the tokens themselves.
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, AppError>;
    /// Creates a token named `name`; the answer holds its plaintext, once.
    async fn create_token(&self, name: String) -> Result<NewToken, AppError>;
    /// Revokes token `id`.
    async fn revoke_token(&self, id: String) -> Result<(), AppError>;

    /// Every secret (names, scopes, keys), sorted by name.
    async fn list_secrets(&self) -> Result<Vec<SecretInfo>, AppError>;
    /// One secret by name.
    async fn get_secret(&self, name: String) -> Result<SecretInfo, AppError>;
    /// The scopes a secret can have, sorted.
    async fn list_scopes(&self) -> Result<Vec<String>, AppError>;
    /// Creates a secret. Field errors name `name`, `scope`, `data`, `key-<i>` or `value-<i>`
    /// (`i` = row index); a duplicate name is a `Conflict` with the page's message.
    async fn create_secret(&self, form: SecretForm) -> Result<SecretInfo, AppError>;
    /// Updates a secret's keys (see [`SecretForm`] for empty values).
    async fn update_secret(&self, form: SecretForm) -> Result<SecretInfo, AppError>;
    /// Deletes a secret; a `Conflict` lists the subscriptions that use it.
    async fn delete_secret(&self, name: String, scope: String) -> Result<(), AppError>;

    /// Every integration (built-in webhook-service first) with its subscriptions.
    async fn list_integrations(&self) -> Result<Vec<Integration>, AppError>;
    /// One integration.
    async fn get_integration(&self, id: String) -> Result<Integration, AppError>;
    /// Adds a subscription; returns its id. Field errors name `event`, `filter`,
    /// `webhook.method`, `webhook.url`, `webhook.headers[<i>]`, `webhook.headers[<i>].value`,
    /// `webhook.payload` or `webhook.proxy`.
    async fn create_subscription(
        &self,
        integration_id: String,
        subscription: Subscription,
    ) -> Result<String, AppError>;
    /// Replaces subscription `subscription.id`.
    async fn update_subscription(
        &self,
        integration_id: String,
        subscription: Subscription,
    ) -> Result<(), AppError>;
    /// Deletes a subscription.
    async fn delete_subscription(
        &self,
        integration_id: String,
        subscription_id: String,
    ) -> Result<(), AppError>;
    /// Tasks, projects, stages and services seen in received events.
    async fn seen_values(&self) -> Result<SeenValues, AppError>;
    /// The error events (failed deliveries) of an integration, newest first, and marks them
    /// as read.
    async fn error_events(&self, integration_id: String) -> Result<Vec<ErrorEvent>, AppError>;
    /// How many error events (of all integrations) have not been viewed yet.
    async fn unread_error_count(&self) -> Result<i64, AppError>;

    /// A page of deliveries, newest first. Field errors name `status`, `from`, `to` or
    /// `nextPageKey`.
    async fn list_deliveries(&self, query: DeliveryQuery) -> Result<DeliveryPage, AppError>;
    /// One delivery with every attempt (secret values `***`).
    async fn get_delivery(&self, id: String) -> Result<Delivery, AppError>;
    /// Sends delivery `id` again (same id, a new attempt).
    async fn redeliver(&self, id: String) -> Result<(), AppError>;
    /// How many deliveries of a subscription ended failed.
    async fn failed_count(&self, subscription_id: String) -> Result<i64, AppError>;
    /// Sends every failed delivery of a subscription again; returns how many.
    async fn redeliver_failed(&self, subscription_id: String) -> Result<u64, AppError>;
    /// Renders `webhook` for the event in `event_json` (secrets `***`, nothing sent). A
    /// template or JSON error is an outcome, not an error: the pane shows it while typing.
    async fn preview(
        &self,
        webhook: Webhook,
        event_json: String,
    ) -> Result<PreviewOutcome, AppError>;
    /// A page of received events, newest first. Field errors name `from`, `to` or
    /// `nextPageKey`.
    async fn list_events(&self, query: EventQuery) -> Result<EventList, AppError>;
    /// Event `id` with its stored JSON, deliveries and why each subscription of its task did
    /// or did not fire.
    async fn event_detail(&self, id: String) -> Result<EventDetail, AppError>;
    /// The Overview's figures (the last 24 hours and the queue now).
    async fn stats(&self) -> Result<Stats, AppError>;

    /// Sends `webhook` for the event once through the real sender (no retries).
    async fn test_send(
        &self,
        webhook: Webhook,
        event_json: String,
    ) -> Result<TestSendOutcome, AppError>;
}

/// Runs a server function's body: the session guard first, then `body` with the backend;
/// an error also sets the answer's HTTP status (400 invalid input, 401, 404, 409, 500), so a
/// user's mistake is never reported as a server failure.
pub async fn call<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Arc<dyn Backend>) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = match require_session().and_then(|_| backend()) {
        Ok(backend) => body(backend).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &result {
        if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
            options.set_status(status_of(error));
        }
    }
    result
}

fn status_of(error: &AppError) -> http::StatusCode {
    use http::StatusCode;
    match error {
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The backend provided by the server.
pub fn backend() -> Result<Arc<dyn Backend>, AppError> {
    use_context::<Arc<dyn Backend>>().ok_or(AppError::Internal)
}

/// The session the server's middleware attached to this request, or `Unauthenticated`.
/// Every server function calls this before doing anything: a redirect alone would not stop
/// the function from running.
pub fn require_session() -> Result<SessionUser, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<SessionUser>().cloned())
        .ok_or(AppError::Unauthenticated)
}
