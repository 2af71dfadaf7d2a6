//! The server's side of the UI port: [`app::ssr::Backend`] implemented over the shared
//! domain operations, and the context every Leptos render and server function receives.

use std::sync::Arc;

use app::error::AppError;
use app::model::{
    Delivery, DeliveryPage, DeliveryQuery, ErrorEvent, EventDetail, EventList, EventQuery,
    Integration, NewToken, PreviewOutcome, SecretForm, SecretInfo, SeenValues, Stats, Subscription,
    TestSendOutcome, TokenInfo, Webhook,
};
use app::ssr::Backend;
use leptos::prelude::{provide_context, use_context};

use crate::auth::middleware::CspNonce;
use crate::auth::tokens;
use crate::crypto::SecretValue;
use crate::domain::secrets::{self, Entry, Submission};
use crate::domain::{deliveries, insight, integrations};
use crate::error::DomainError;
use crate::state::AppState;

/// The backend the UI's server functions call.
pub struct UiBackend {
    state: AppState,
}

#[async_trait::async_trait]
impl Backend for UiBackend {
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, AppError> {
        Ok(tokens::list(&self.state.db).await?)
    }

    async fn create_token(&self, name: String) -> Result<NewToken, AppError> {
        Ok(tokens::create(&self.state.db, &name).await?)
    }

    async fn revoke_token(&self, id: String) -> Result<(), AppError> {
        Ok(tokens::revoke(&self.state.db, &id).await?)
    }

    async fn list_secrets(&self) -> Result<Vec<SecretInfo>, AppError> {
        Ok(secrets::list(&self.state.db, None, None).await?)
    }

    async fn get_secret(&self, name: String) -> Result<SecretInfo, AppError> {
        Ok(secrets::get(&self.state.db, &name).await?)
    }

    async fn list_scopes(&self) -> Result<Vec<String>, AppError> {
        Ok(secrets::SCOPES.iter().map(|s| s.to_string()).collect())
    }

    async fn create_secret(&self, form: SecretForm) -> Result<SecretInfo, AppError> {
        let name = form.name.clone();
        match secrets::create(&self.state.db, &self.state.keyring, submission(form, false)).await {
            Err(DomainError::Conflict(_)) => Err(AppError::Conflict(format!(
                "A secret with the name {name} already exists. Please use another name for this secret to continue."
            ))),
            other => Ok(other?),
        }
    }

    async fn update_secret(&self, form: SecretForm) -> Result<SecretInfo, AppError> {
        Ok(secrets::update(&self.state.db, &self.state.keyring, submission(form, true)).await?)
    }

    async fn delete_secret(&self, name: String, scope: String) -> Result<(), AppError> {
        Ok(secrets::delete(&self.state.db, &name, &scope).await?)
    }

    async fn list_integrations(&self) -> Result<Vec<Integration>, AppError> {
        Ok(integrations::list(&self.state.db, None, None).await?)
    }

    async fn get_integration(&self, id: String) -> Result<Integration, AppError> {
        Ok(integrations::get(&self.state.db, &id).await?)
    }

    async fn create_subscription(
        &self,
        integration_id: String,
        subscription: Subscription,
    ) -> Result<String, AppError> {
        Ok(integrations::create_subscription(
            &self.state.db,
            &self.state.dispatcher.policy,
            &integration_id,
            subscription,
        )
        .await?)
    }

    async fn update_subscription(
        &self,
        integration_id: String,
        subscription: Subscription,
    ) -> Result<(), AppError> {
        let id = subscription.id.clone();
        Ok(integrations::update_subscription(
            &self.state.db,
            &self.state.dispatcher.policy,
            &integration_id,
            &id,
            subscription,
        )
        .await?)
    }

    async fn delete_subscription(
        &self,
        integration_id: String,
        subscription_id: String,
    ) -> Result<(), AppError> {
        Ok(
            integrations::delete_subscription(&self.state.db, &integration_id, &subscription_id)
                .await?,
        )
    }

    async fn seen_values(&self) -> Result<SeenValues, AppError> {
        let [types, projects, stages, services] = crate::db::events::seen(&self.state.db)
            .await
            .map_err(DomainError::from)?;
        let mut tasks: Vec<String> = types
            .iter()
            .filter_map(|t| t.split('.').nth(3).map(str::to_string))
            .collect();
        tasks.sort();
        tasks.dedup();
        Ok(SeenValues {
            tasks,
            projects,
            stages,
            services,
        })
    }

    async fn error_events(&self, integration_id: String) -> Result<Vec<ErrorEvent>, AppError> {
        let db = &self.state.db;
        let (rows, _) = crate::db::events::failures(db, Some(&integration_id), 100)
            .await
            .map_err(DomainError::from)?;
        crate::db::events::mark_errors_read(db, &integration_id, &crate::util::now_rfc3339())
            .await
            .map_err(DomainError::from)?;
        Ok(rows
            .into_iter()
            .map(|row| ErrorEvent {
                delivery_id: row.delivery_id,
                subscription_id: row.subscription_id,
                time: row.updated_at,
                task: row.event_type.task().to_string(),
                message: row.reason.unwrap_or_default(),
                shkeptncontext: row.shkeptncontext,
            })
            .collect())
    }

    async fn unread_error_count(&self) -> Result<i64, AppError> {
        Ok(crate::db::events::unread_errors(&self.state.db)
            .await
            .map_err(DomainError::from)?)
    }

    async fn list_deliveries(&self, query: DeliveryQuery) -> Result<DeliveryPage, AppError> {
        Ok(deliveries::list(&self.state.db, &query).await?)
    }

    async fn get_delivery(&self, id: String) -> Result<Delivery, AppError> {
        Ok(deliveries::get(&self.state.db, &id).await?)
    }

    async fn redeliver(&self, id: String) -> Result<(), AppError> {
        Ok(deliveries::redeliver(&self.state.db, &id).await?)
    }

    async fn failed_count(&self, subscription_id: String) -> Result<i64, AppError> {
        Ok(deliveries::failed_count(&self.state.db, &subscription_id).await?)
    }

    async fn redeliver_failed(&self, subscription_id: String) -> Result<u64, AppError> {
        Ok(deliveries::redeliver_failed(&self.state.db, &subscription_id).await?)
    }

    async fn list_events(&self, query: EventQuery) -> Result<EventList, AppError> {
        Ok(insight::list_events(&self.state.db, &query).await?)
    }

    async fn event_detail(&self, id: String) -> Result<EventDetail, AppError> {
        Ok(insight::detail(&self.state.db, &id).await?)
    }

    async fn stats(&self) -> Result<Stats, AppError> {
        Ok(insight::stats(&self.state.db, time::OffsetDateTime::now_utc()).await?)
    }

    async fn preview(
        &self,
        webhook: Webhook,
        event_json: String,
    ) -> Result<PreviewOutcome, AppError> {
        let outcome = deliveries::parse_event(&event_json)
            .and_then(|event| deliveries::preview(&webhook, &event));
        Ok(match outcome {
            Ok(preview) => PreviewOutcome::Rendered(preview),
            Err(problem) => PreviewOutcome::Problem(problem),
        })
    }

    async fn test_send(
        &self,
        webhook: Webhook,
        event_json: String,
    ) -> Result<TestSendOutcome, AppError> {
        let event = match deliveries::parse_event(&event_json) {
            Ok(event) => event,
            Err(problem) => return Ok(TestSendOutcome::Problem(problem)),
        };
        Ok(
            match crate::dispatcher::test_send::test_send(&self.state.dispatcher, &webhook, &event)
                .await
            {
                Ok(sent) => TestSendOutcome::Sent(sent),
                Err(problem) => TestSendOutcome::Problem(problem),
            },
        )
    }
}

/// The form's rows as domain entries; on update an empty value means "keep".
fn submission(form: SecretForm, update: bool) -> Submission {
    let entries = form
        .data
        .into_iter()
        .enumerate()
        .map(|(index, row)| Entry {
            key: row.key.trim().to_string(),
            value: if update && row.value.is_empty() {
                None
            } else {
                Some(SecretValue::new(row.value))
            },
            key_field: format!("key-{index}"),
            value_field: format!("value-{index}"),
        })
        .collect();
    Submission {
        name: form.name.trim().to_string(),
        scope: Some(form.scope),
        entries,
    }
}

/// A closure that provides, inside each Leptos render or server-function call, the backend
/// and this request's CSP nonce (so the inline hydration script carries the nonce the
/// `Content-Security-Policy` header allows).
pub fn context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let backend: Arc<dyn Backend> = Arc::new(UiBackend { state });
    move || {
        provide_context(backend.clone());
        let nonce = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    }
}
