//! The delivery log and the "try it" operations the REST API and the UI share: listing
//! deliveries and their attempts, redelivery, and rendering an unsaved webhook for an event
//! (preview) with the sender's own templates, so what is previewed is what gets sent (the
//! test send itself is the sender's: `dispatcher::test_send`).

use std::collections::HashMap;

use crate::db::Store;
use app::model::{
    Attempt, Delivery, DeliveryPage, DeliveryQuery, DeliveryStatus, Header, Preview, RenderProblem,
    SentRequest, Webhook,
};
use serde_json::Value;

use crate::crypto::SecretValue;
use crate::db;
use crate::db::events::{DeliveryFilter, DeliveryListRow};
use crate::error::DomainError;
use crate::records::{received_response, sent_request};
use crate::templates::render::Data;
use crate::templates::webhook::{check as check_templates, compile, problem, render_parts};
use crate::util;

/// How much of a response body the log and test sends show.
pub const RESPONSE_PREVIEW: usize = crate::records::RESPONSE_PREVIEW;

/// A page of deliveries, newest first, as `query` asks.
pub async fn list(db: &Store, query: &DeliveryQuery) -> Result<DeliveryPage, DomainError> {
    let status =
        match query.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(name) => Some(DeliveryStatus::parse(name).ok_or_else(|| {
                invalid("status", "must be pending, retrying, delivered or failed")
            })?),
        };
    let (page_size, before) = page_request(query.page_size, query.next_page_key.as_deref())?;
    let from = instant(query.from.as_deref(), "from")?;
    let to = instant(query.to.as_deref(), "to")?;
    let filter = DeliveryFilter {
        subscription_id: query.subscription_id.as_deref().filter(|s| !s.is_empty()),
        status: status.map(DeliveryStatus::as_str),
        from: from.as_deref(),
        to: to.as_deref(),
        before,
    };
    let rows = db::events::list_deliveries(db, &filter, page_size).await?;
    let next_page_key = next_page_key(page_size, rows.iter().map(|r| r.rowid));
    Ok(DeliveryPage {
        deliveries: rows.into_iter().map(delivery).collect(),
        next_page_key,
    })
}

/// One delivery with every attempt (response bodies cut at 4 KiB).
pub async fn get(db: &Store, id: &str) -> Result<Delivery, DomainError> {
    let row = db::events::delivery(db, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("delivery {id} not found")))?;
    let attempts = db::events::attempts(db, id)
        .await?
        .into_iter()
        .map(
            |(number, started_at, duration_ms, request, response, error)| Attempt {
                number,
                started_at,
                duration_ms,
                request: serde_json::from_str::<Value>(&request)
                    .ok()
                    .and_then(sent_request),
                response: response
                    .and_then(|r| serde_json::from_str::<Value>(&r).ok())
                    .and_then(received_response),
                error,
            },
        )
        .collect();
    let mut delivery = delivery(row);
    delivery.attempts = Some(attempts);
    Ok(delivery)
}

/// Makes delivery `id` due now (same id, a new attempt) and wakes the sender; a delivery
/// being sent right now is a conflict (it is never sent twice in parallel).
pub async fn redeliver(db: &Store, id: &str) -> Result<(), DomainError> {
    match db::events::redeliver(db, id, util::now_millis(), &util::now_rfc3339()).await? {
        db::events::Redelivered::Due => {
            db.wake().notify_one();
            Ok(())
        }
        db::events::Redelivered::InFlight => Err(DomainError::Conflict(format!(
            "delivery {id} is being sent right now; redeliver it once this attempt has finished"
        ))),
        db::events::Redelivered::Unknown => {
            Err(DomainError::NotFound(format!("delivery {id} not found")))
        }
    }
}

/// How many deliveries of a subscription ended failed.
pub async fn failed_count(db: &Store, subscription_id: &str) -> Result<i64, DomainError> {
    Ok(db::events::count_deliveries(db, subscription_id, "failed").await?)
}

/// Sends every failed delivery of a subscription again; returns how many.
pub async fn redeliver_failed(db: &Store, subscription_id: &str) -> Result<u64, DomainError> {
    let count = db::events::redeliver_failed(
        db,
        subscription_id,
        util::now_millis(),
        &util::now_rfc3339(),
    )
    .await?;
    if count > 0 {
        db.wake().notify_one();
    }
    Ok(count)
}

/// Renders `webhook` for `event` as the sender would, every secret reference as `***`
/// (no secret is opened), nothing sent.
pub fn preview(webhook: &Webhook, event: &Value) -> Result<Preview, RenderProblem> {
    check_templates(webhook)?;
    let compiled = compile(webhook).map_err(|message| problem("webhook", message))?;
    let secrets: HashMap<(String, String), SecretValue> = compiled
        .secret_refs()
        .iter()
        .map(|pair| (pair.clone(), SecretValue::new("***".to_string())))
        .collect();
    let data = Data {
        event,
        secrets: &secrets,
    };
    let (url, headers, body) =
        render_parts(&compiled, &data).map_err(|message| problem("webhook", message))?;
    let parsed = body.as_deref().map(serde_json::from_str::<Value>);
    let valid_json = matches!(parsed, Some(Ok(_)));
    let slack_text = match parsed {
        Some(Ok(value)) => value
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    };
    Ok(Preview {
        request: SentRequest {
            method: compiled.method().to_string(),
            url,
            headers: headers
                .into_iter()
                .map(|(key, value)| Header { key, value })
                .collect(),
            body,
        },
        valid_json,
        slack_text,
    })
}

/// The event of a preview or test send, from the JSON text the form holds; a syntax error
/// names its line and column.
pub fn parse_event(text: &str) -> Result<Value, RenderProblem> {
    let value: Value = serde_json::from_str(text).map_err(|e| RenderProblem {
        field: "event".to_string(),
        line: Some(e.line()),
        column: Some(e.column()),
        message: format!("the example event is not valid JSON: {e}"),
    })?;
    if !value.is_object() {
        return Err(problem("event", "the example event must be a JSON object"));
    }
    Ok(value)
}

/// A list request's page size (1–100, default 20) and the rowid its page key names (rows
/// older than it), shared by the delivery log and the events.
pub(crate) fn page_request(
    page_size: Option<i64>,
    next_page_key: Option<&str>,
) -> Result<(i64, Option<i64>), DomainError> {
    let before = match next_page_key.filter(|k| !k.is_empty()) {
        None => None,
        Some(key) => Some(
            key.parse::<i64>()
                .map_err(|_| invalid("nextPageKey", "invalid page key"))?,
        ),
    };
    Ok((page_size.unwrap_or(20).clamp(1, 100), before))
}

/// The key of the page after a full page of rows (`rowids`, newest first), empty after a
/// short one (the last page).
pub(crate) fn next_page_key(page_size: i64, rowids: impl ExactSizeIterator<Item = i64>) -> String {
    if rowids.len() as i64 == page_size {
        rowids
            .last()
            .map(|rowid| rowid.to_string())
            .unwrap_or_default()
    } else {
        String::new()
    }
}

pub(crate) fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// An optional RFC 3339 instant from a query, in the stored format (so it compares as text).
pub(crate) fn instant(value: Option<&str>, field: &str) -> Result<Option<String>, DomainError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => util::parse_rfc3339(text)
            .map(|at| Some(util::rfc3339(at)))
            .ok_or_else(|| {
                invalid(
                    field,
                    "must be an RFC 3339 time such as 2026-11-27T10:00:00Z",
                )
            }),
    }
}

pub(crate) fn delivery(row: DeliveryListRow) -> Delivery {
    let finished = !row.status.under_way();
    Delivery {
        id: row.id,
        subscription_id: row.subscription_id,
        event_id: row.event_id,
        event_type: row.event_type,
        project: row.project,
        stage: row.stage,
        service: row.service,
        status: row.status,
        attempt_count: row.attempt_count,
        last_status_code: row.last_status_code,
        reason: row.reason,
        duration_ms: row.duration_ms,
        next_attempt_at: if finished {
            None
        } else {
            row.next_attempt_at.and_then(util::millis_to_rfc3339)
        },
        created_at: row.created_at,
        attempts: None,
    }
}
