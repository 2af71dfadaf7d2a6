//! The test send: an unsaved webhook sent once for an example event through the real
//! sender (secrets opened from the webhook scope, the SSRF guard, timeouts, the Slack lane's
//! pacing; no retries, nothing recorded), answered as the form shows it.

use std::time::Instant;

use app::model::{RenderProblem, SentRequest, TestResponse, TestSend, Webhook};
use serde_json::Value;

use super::attempt::send;
use super::Dispatcher;
use crate::records::{cut, received_response, sent_request};
use crate::templates::webhook::{check, compile, problem};

/// Sends `webhook` for `event` once through the real sender (secrets opened from the webhook
/// scope, the SSRF guard, timeouts, the Slack lane's pacing; no retries, nothing recorded).
pub async fn test_send(
    dispatcher: &Dispatcher,
    webhook: &Webhook,
    event: &Value,
) -> Result<TestSend, RenderProblem> {
    check(webhook)?;
    let compiled = compile(webhook).map_err(|message| problem("webhook", message))?;
    let webhook_id = format!("test-{}", uuid::Uuid::new_v4());
    let started = Instant::now();
    let ended = send(dispatcher, webhook, &compiled, event, &webhook_id).await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let request = sent_request(ended.request).unwrap_or_else(|| SentRequest {
        method: webhook.method.clone(),
        url: webhook.url.clone(),
        ..SentRequest::default()
    });
    let response = ended
        .response
        .and_then(received_response)
        .map(|r| TestResponse {
            status: r.status,
            body: cut(r.body),
        });
    Ok(TestSend {
        request,
        error: if response.is_none() {
            ended.error.or(ended.reason)
        } else {
            None
        },
        response,
        duration_ms,
    })
}
