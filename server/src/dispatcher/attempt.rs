//! One delivery attempt: render the subscription's webhook for the event (secrets opened
//! now, only from scope `keptn-webhook-service`), send it, record what was sent and received
//! with every secret value replaced by `***`, and settle the delivery.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{EventType, Webhook, WEBHOOK_SCOPE};
use serde_json::{json, Value};

use super::Dispatcher;
use crate::crypto::SecretValue;
use crate::db;
use crate::outbound::clients::ProxyProblem;
use crate::outbound::guard::Refused;
use crate::templates::render::Data;
use crate::templates::webhook::{compile, render_parts, CompiledWebhook};
use crate::util;

/// Largest response body kept in the attempt record.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Replaces every secret value (and its JSON- and percent-encoded forms) with `***`.
pub struct Masker {
    needles: Vec<String>,
}

impl Masker {
    fn new(secrets: &HashMap<(String, String), SecretValue>) -> Self {
        let mut needles = Vec::new();
        for value in secrets.values().filter(|v| !v.is_empty()) {
            let raw = value.expose().to_string();
            let json = Value::String(raw.clone()).to_string();
            needles.push(json[1..json.len() - 1].to_string());
            needles.push(crate::templates::render::percent_encode(&raw));
            needles.push(raw);
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    /// `text` with every secret value masked.
    pub fn mask(&self, text: &str) -> String {
        let mut masked = text.to_string();
        for needle in &self.needles {
            if !needle.is_empty() {
                masked = masked.replace(needle.as_str(), "***");
            }
        }
        masked
    }
}

/// What an attempt ended with (secret values already masked everywhere).
pub struct Ended {
    /// The request record (`{"method","url","headers","body"}`; `null` when nothing was made).
    pub request: Value,
    /// `{"status","headers","body"}` when an answer arrived.
    pub response: Option<Value>,
    pub error: Option<String>,
    pub status_code: Option<i64>,
    pub delivered: bool,
    pub reason: Option<String>,
    /// A transient failure (408, 429, 5xx, timeout, connection error): worth another try.
    pub retryable: bool,
    /// The receiver's `Retry-After`.
    pub retry_after: Option<std::time::Duration>,
    /// The answer was a 429.
    pub rate_limited: bool,
    /// The guard refused the target.
    pub refused: bool,
}

/// The Slack lane of a delivery of `subscription_id`, when the subscription's URL template
/// names a paced host before any placeholder; `None` for unpaced hosts.
pub async fn lane_of(dispatcher: &Dispatcher, subscription_id: &str) -> Option<Vec<u8>> {
    let all = db::integrations::all_recent(&dispatcher.db).await.ok()?;
    let subscription = all
        .iter()
        .flat_map(|integration| integration.subscriptions.iter())
        .find(|subscription| subscription.id == subscription_id)?;
    let url = &subscription.webhook.as_ref()?.url;
    let literal = url.split("{{").next().unwrap_or_default();
    let parsed = url::Url::parse(literal).ok()?;
    let host = parsed.host_str()?;
    dispatcher
        .slack_hosts
        .iter()
        .any(|slack| slack == host)
        .then(|| subscription.id.as_bytes().to_vec())
}

/// The subscriptions whose deliveries go through the Slack lane (their URL's host is a Slack
/// host), each its own lane.
pub async fn lane_subscriptions(dispatcher: &Dispatcher) -> Vec<String> {
    let Ok(all) = db::integrations::all_recent(&dispatcher.db).await else {
        return Vec::new();
    };
    all.iter()
        .flat_map(|integration| integration.subscriptions.iter())
        .filter(|subscription| {
            subscription.webhook.as_ref().is_some_and(|webhook| {
                let literal = webhook.url.split("{{").next().unwrap_or_default();
                url::Url::parse(literal)
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_string))
                    .is_some_and(|host| dispatcher.slack_hosts.contains(&host))
            })
        })
        .map(|subscription| subscription.id.clone())
        .collect()
}

/// Most claims of one delivery in a row whose attempt could not be recorded (each may have
/// reached the receiver); the next claim settles it failed instead of sending it again.
pub const MAX_UNRECORDED_SENDS: i64 = 3;

/// Waits before trying again to write an attempt record that failed.
const RECORD_RETRIES: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// Sends the delivery of `claim` once and records the outcome, holding the claim meanwhile:
/// its lease is renewed every third of the lease while it waits in its lane or is sent, and
/// when the claim is lost (the delivery was claimed again) this sender stops at once,
/// sending and recording nothing more. With a `ticket`, waits for its turn in the Slack
/// lane first, and is paced there.
pub async fn run(
    dispatcher: &Dispatcher,
    claim: db::events::Claim,
    ticket: Option<super::pacing::Ticket>,
) {
    let settled = tokio::select! {
        settled = attempt_claimed(dispatcher, &claim, ticket) => settled,
        () = lost(dispatcher, &claim) => {
            tracing::warn!(delivery = %claim.id,
                "the delivery was claimed again; this sender stops without sending or recording");
            None
        }
    };
    // The claim is settled (the record cleared it): what follows needs no lease.
    if let Some(Settled {
        task: Some(task),
        delivery_id,
        status,
        failure,
    }) = settled
    {
        if task.send_finished && status != "retrying" {
            emit(dispatcher, &task, &delivery_id, "finished", failure).await;
        }
    }
}

/// Renews `claim`'s lease every third of the lease; returns only once the claim is lost.
async fn lost(dispatcher: &Dispatcher, claim: &db::events::Claim) {
    let every = dispatcher.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let until = dispatcher.lease_until(util::now_millis());
        match db::events::renew(&dispatcher.db, claim, until).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => tracing::warn!(%error, delivery = %claim.id, "cannot renew the lease"),
        }
    }
}

/// A delivery whose attempt was recorded (or which was settled failed).
struct Settled {
    task: Option<TaskEvents>,
    delivery_id: String,
    status: &'static str,
    /// The reason of a failed delivery (already masked).
    failure: Option<String>,
}

/// The part of [`run`] that needs the claim: wait for the lane, send, record.
async fn attempt_claimed(
    dispatcher: &Dispatcher,
    claim: &db::events::Claim,
    ticket: Option<super::pacing::Ticket>,
) -> Option<Settled> {
    let id = claim.id.as_str();
    if let Some(ticket) = &ticket {
        ticket.turn().await;
        // The wait may have been long: the claim must still be this sender's to send.
        let until = dispatcher.lease_until(util::now_millis());
        if let Ok(false) = db::events::renew(&dispatcher.db, claim, until).await {
            tracing::warn!(delivery = %id, "the delivery was claimed again while it waited in its lane");
            return None;
        }
    }
    // The claim read the delivery and its event.
    let delivery = claim;
    let event: Option<(String, Value)> = claim.event.as_ref().map(|(t, body)| {
        let body = serde_json::from_str(body).unwrap_or(Value::Null);
        (t.clone(), body)
    });
    // Read once for the task events and the attempt.
    let subscription = db::integrations::cached_subscription(
        &dispatcher.db,
        &delivery.integration_id,
        &delivery.subscription_id,
    )
    .await;
    let task = task_events(
        subscription.as_ref().ok().and_then(Option::as_ref),
        event.as_ref(),
    );
    if claim.unrecorded > MAX_UNRECORDED_SENDS {
        return settle_unrecordable(dispatcher, claim, task).await;
    }
    if let Some(task) = task
        .as_ref()
        .filter(|t| t.send_started && delivery.attempt_count == 0)
    {
        emit(dispatcher, task, &delivery.id, "started", None).await;
    }
    let started_at = util::now_rfc3339();
    let started = Instant::now();
    let ended = attempt(
        dispatcher,
        delivery,
        subscription,
        event.as_ref().map(|(_, body)| body),
    )
    .await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let number = delivery.attempt_count + 1;
    let retry_in = if ended.delivered || !ended.retryable {
        None
    } else {
        super::retry::delay(
            &dispatcher.schedule,
            usize::try_from(number).unwrap_or(usize::MAX),
            rand::random::<f64>(),
            ended.retry_after,
        )
    };
    let status = match (ended.delivered, retry_in) {
        (true, _) => "delivered",
        (false, Some(_)) => "retrying",
        (false, None) => "failed",
    };
    let next_attempt_at = retry_in
        .map(|wait| util::now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
    let request = ended.request.to_string();
    let response = ended.response.as_ref().map(Value::to_string);
    let row = db::events::AttemptRow {
        delivery_id: id.to_string(),
        claim_token: claim.token.clone(),
        number,
        started_at,
        duration_ms,
        request,
        response,
        error: ended.error.clone(),
        status,
        status_code: ended.status_code,
        reason: ended.reason.clone(),
        next_attempt_at,
        updated_at: util::now_rfc3339(),
    };
    let recorded = record(dispatcher, row).await;
    dispatcher.metrics.attempt(
        &delivery.subscription_id,
        status,
        started.elapsed().as_secs_f64(),
        ended.rate_limited,
        ended.refused,
    );
    match recorded {
        Ok(true) => {
            // Thousands a second when all is well: delivered attempts are debug lines, the
            // others info (the delivery log has every attempt either way).
            if ended.delivered {
                tracing::debug!(
                    delivery = %id, subscription = %delivery.subscription_id, status,
                    code = ?ended.status_code, duration_ms, "delivery attempt"
                );
            } else {
                tracing::info!(
                    delivery = %id, subscription = %delivery.subscription_id, status,
                    code = ?ended.status_code, reason = ?ended.reason, duration_ms, "delivery attempt"
                );
            }
            Some(Settled {
                task,
                delivery_id: delivery.id.clone(),
                status,
                failure: (status == "failed").then(|| ended.reason.clone().unwrap_or_default()),
            })
        }
        Ok(false) => {
            tracing::warn!(delivery = %id, "the delivery was claimed again; this attempt is not recorded");
            None
        }
        Err(error) => {
            tracing::error!(%error, delivery = %id,
                "cannot record the attempt; the delivery is tried again when its lease runs out");
            None
        }
    }
}

/// Writes `row`, trying again a few times when the write fails; `Ok(false)` when the
/// claim was no longer current (nothing recorded).
async fn record(dispatcher: &Dispatcher, row: db::events::AttemptRow) -> Result<bool, String> {
    let mut waits = RECORD_RETRIES.iter();
    loop {
        match dispatcher.recorder.write(row.clone()).await {
            Err(error) => match waits.next() {
                Some(wait) => {
                    tracing::warn!(%error, delivery = %row.delivery_id,
                        "cannot record the attempt; trying again");
                    tokio::time::sleep(*wait).await;
                }
                None => return Err(error),
            },
            done => return done,
        }
    }
}

/// Settles a delivery whose attempts could not be recorded [`MAX_UNRECORDED_SENDS`] times
/// in a row failed, without sending it again (each of those attempts may have arrived).
async fn settle_unrecordable(
    dispatcher: &Dispatcher,
    claim: &db::events::Claim,
    task: Option<TaskEvents>,
) -> Option<Settled> {
    let reason = format!(
        "not sent again: the attempt could not be recorded {MAX_UNRECORDED_SENDS} times in a row \
         (it may have arrived); see the server log"
    );
    match db::events::settle_failed(&dispatcher.db, claim, &reason, &util::now_rfc3339()).await {
        Ok(true) => {
            tracing::error!(delivery = %claim.id, %reason, "delivery given up");
            Some(Settled {
                task,
                delivery_id: claim.id.clone(),
                status: "failed",
                failure: Some(reason),
            })
        }
        Ok(false) => None,
        Err(error) => {
            tracing::error!(%error, delivery = %claim.id, "cannot settle the delivery");
            None
        }
    }
}

/// What Keptn's task events of a delivery need: the incoming `.triggered` event and which
/// events Uniform sends itself ("automatically" in the form).
struct TaskEvents {
    event: Value,
    task: String,
    send_started: bool,
    send_finished: bool,
}

/// The task events of `delivery`, when its subscription takes a `.triggered` event (by name
/// or through `>`) and the event is one. Subscriptions on `.started`/`.finished` never emit
/// (no loops, Keptn #5642).
fn task_events(
    subscription: Option<&app::model::Subscription>,
    event: Option<&(String, Value)>,
) -> Option<TaskEvents> {
    let subscription = subscription?;
    let webhook = subscription.webhook.as_ref()?;
    let (event_type, body) = event?;
    // Keptn sends started/finished for a task's triggered event (`sh.keptn.event.<task>.
    // triggered`, the task one segment), not for a sequence's. The stored type is valid.
    let (task, suffix) = EventType::split(event_type);
    if !event_type.starts_with(EventType::PREFIX) || suffix != "triggered" || task.contains('.') {
        return None;
    }
    let takes_triggered =
        subscription.event.ends_with(".triggered") || subscription.event.ends_with(".>");
    if !takes_triggered || !(webhook.send_started || webhook.send_finished) {
        return None;
    }
    Some(TaskEvents {
        event: body.clone(),
        task: task.to_string(),
        send_started: webhook.send_started,
        send_finished: webhook.send_finished,
    })
}

/// Emits `sh.keptn.event.<task>.<phase>` for the delivery (ingested like any event, so
/// subscriptions on it fire). `failure` (already masked) makes a finished event errored.
/// The id derives from the delivery, so a repeated emission is a no-op.
async fn emit(
    dispatcher: &Dispatcher,
    task: &TaskEvents,
    delivery_id: &str,
    phase: &str,
    failure: Option<String>,
) {
    let incoming = &task.event;
    let data = &incoming["data"];
    let mut out = json!({
        "project": data["project"], "stage": data["stage"], "service": data["service"],
        "labels": data.get("labels").cloned().unwrap_or(json!({})),
        "status": "succeeded",
    });
    if phase == "finished" {
        let (status, result, message) = match &failure {
            None => ("succeeded", "pass", String::new()),
            Some(reason) => ("errored", "fail", reason.clone()),
        };
        out["status"] = json!(status);
        out["result"] = json!(result);
        out["message"] = json!(message);
    }
    let event = json!({
        "type": format!("{}{}.{phase}", EventType::PREFIX, task.task),
        "specversion": "1.0",
        "source": "webhook-service",
        "id": format!("{delivery_id}-{phase}"),
        "shkeptncontext": incoming["shkeptncontext"],
        "triggeredid": incoming["id"],
        "shkeptnspecversion": "0.2.4",
        "data": out,
    });
    match (dispatcher.emit)(event).await {
        Ok(Some(event_type)) => dispatcher.metrics.event_received(&event_type),
        Ok(None) => {}
        Err(error) => {
            tracing::error!(%error, delivery = %delivery_id, phase, "cannot emit the task event")
        }
    }
}

/// Opens the value of secret `name`.`key` (just in time for rendering a request); `None`
/// when there is no such value in the webhook scope.
async fn open_value(
    dispatcher: &Dispatcher,
    name: &str,
    key: &str,
) -> Result<Option<SecretValue>, String> {
    let values = db::secrets::scope_values_recent(&dispatcher.db, WEBHOOK_SCOPE)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let Some(sealed) = values.get(name, key) else {
        return Ok(None);
    };
    dispatcher
        .keyring
        .open(&crate::crypto::secret_aad(name, key), sealed)
        .map(Some)
        .map_err(|e| format!("cannot open secret {name}.{key}: {e}"))
}

fn failed(request: Value, reason: String) -> Ended {
    Ended {
        request,
        response: None,
        error: Some(reason.clone()),
        status_code: None,
        delivered: false,
        reason: Some(reason),
        retryable: false,
        retry_after: None,
        rate_limited: false,
        refused: false,
    }
}

/// A failure of ours that may pass (a database error): worth another try.
fn transient(reason: String) -> Ended {
    Ended {
        retryable: true,
        ..failed(json!(null), reason)
    }
}

/// `subscription`: as read for this attempt; `event`: the event's body, `None` when it is gone.
async fn attempt(
    dispatcher: &Dispatcher,
    delivery: &db::events::Claim,
    subscription: sqlx::Result<Option<app::model::Subscription>>,
    event: Option<&Value>,
) -> Ended {
    let unsent = json!(null);
    let subscription = match subscription {
        Ok(Some(subscription)) => subscription,
        Ok(None) => return failed(unsent, "the subscription was deleted".to_string()),
        Err(error) => return transient(format!("cannot read the subscription: database: {error}")),
    };
    let Some(webhook) = subscription.webhook else {
        return failed(unsent, "the subscription has no webhook".to_string());
    };
    let Some(event) = event else {
        return failed(unsent, "the event is gone".to_string());
    };
    let compiled = match compiled(dispatcher, &subscription.id, &webhook) {
        Ok(compiled) => compiled,
        Err(message) => return failed(template_request(&webhook), message),
    };
    send(dispatcher, &webhook, &compiled, event, &delivery.id).await
}

/// The request record of an attempt that failed before rendering: the webhook as written.
fn template_request(webhook: &Webhook) -> Value {
    json!({"method": webhook.method, "url": webhook.url, "headers": [], "body": null})
}

/// Renders `compiled` for `event` and sends it once with the `webhook-id` header: secrets
/// opened now (only from the webhook scope), the target checked by the guard, the Slack lane
/// paced, the dispatcher's timeouts. Used by every delivery attempt and by test sends.
pub async fn send(
    dispatcher: &Dispatcher,
    webhook: &Webhook,
    compiled: &CompiledWebhook,
    event: &Value,
    webhook_id: &str,
) -> Ended {
    let template_request = template_request(webhook);

    // Secrets: opened now, only from the webhook scope, dropped when this attempt ends.
    let mut secrets = HashMap::new();
    for (name, key) in compiled.secret_refs() {
        match open_value(dispatcher, name, key).await {
            Ok(Some(value)) => {
                secrets.insert((name.clone(), key.clone()), value);
            }
            Ok(None) => {}
            Err(error) => return failed(template_request, error.to_string()),
        }
    }
    let masker = Masker::new(&secrets);
    let data = Data {
        event,
        secrets: &secrets,
    };
    let rendered = render_parts(compiled, &data);
    let (url, mut headers, body) = match rendered {
        Ok(parts) => parts,
        Err(message) => return failed(template_request, masker.mask(&message)),
    };
    headers.push(("webhook-id".to_string(), webhook_id.to_string()));
    let request_record = json!({
        "method": compiled.method.as_str(),
        "url": masker.mask(&url),
        "headers": headers.iter().map(|(k, v)| json!({"key": k, "value": masker.mask(v)})).collect::<Vec<_>>(),
        "body": body.as_deref().map(|b| masker.mask(b)),
    });

    if let Err(reason) = check_url(dispatcher, &url) {
        return Ended {
            refused: true,
            ..failed(request_record, masker.mask(&reason))
        };
    }
    // The Slack lane's pacing key: the URL's hash (the URL may hold a secret).
    let paced = url::Url::parse(&url)
        .ok()
        .filter(|parsed| {
            let host = parsed.host_str().unwrap_or_default();
            dispatcher.slack_hosts.iter().any(|h| h == host)
        })
        .map(|_| crate::util::sha256(&url));
    if let Some(key) = &paced {
        match dispatcher.db.backend() {
            crate::db::Backend::Sqlite => dispatcher.pacer.acquire(key).await,
            crate::db::Backend::Postgres => {
                dispatcher
                    .lanes
                    .pace(&dispatcher.db, &hex::encode(key))
                    .await
            }
        }
    }
    let client = match dispatcher.client_for(compiled.proxy.as_deref()) {
        Ok(client) => client,
        Err(problem) => {
            return Ended {
                refused: matches!(problem, ProxyProblem::Refused(_)),
                ..failed(request_record, problem.to_string())
            }
        }
    };
    // A request that cannot be built fails for good: the next attempt would build it the
    // same way.
    if let Some(reason) = unsendable_header(&headers) {
        return failed(request_record, masker.mask(&reason));
    }
    let mut request = client.request(compiled.method.clone(), &url);
    for (key, value) in &headers {
        request = request.header(key, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let request = match request.build() {
        Ok(request) => request,
        Err(error) => {
            let reason = format!("cannot build the request: {}", describe(&error).0);
            return failed(request_record, masker.mask(&reason));
        }
    };
    match client.execute(request).await {
        Ok(response) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| super::retry::parse_retry_after(v, std::time::SystemTime::now()));
            let response_headers: Vec<Value> = response
                .headers()
                .iter()
                .map(|(k, v)| json!({"key": k.as_str(), "value": masker.mask(&String::from_utf8_lossy(v.as_bytes()))}))
                .collect();
            let text = masker.mask(&read_capped(response, MAX_RESPONSE_BODY).await);
            // Slack said "too many": every request of the lane waits out its Retry-After.
            if let (Some(key), Some(wait), true) = (&paced, retry_after, status.as_u16() == 429) {
                match dispatcher.db.backend() {
                    crate::db::Backend::Sqlite => dispatcher.pacer.block(key, wait),
                    crate::db::Backend::Postgres => {
                        dispatcher
                            .lanes
                            .block(&dispatcher.db, &hex::encode(key), wait)
                            .await
                    }
                }
            }
            let delivered = status.is_success();
            let reason = if delivered {
                None
            } else {
                Some(reason_for(status, &text))
            };
            Ended {
                request: request_record,
                response: Some(
                    json!({"status": status.as_u16(), "headers": response_headers, "body": text}),
                ),
                error: None,
                status_code: Some(i64::from(status.as_u16())),
                delivered,
                reason,
                retryable: super::retry::retryable_status(status.as_u16()),
                retry_after,
                rate_limited: status.as_u16() == 429,
                refused: false,
            }
        }
        Err(error) => {
            let (message, refused) = describe(&error);
            Ended {
                retryable: !refused,
                refused,
                ..failed(request_record, masker.mask(&message))
            }
        }
    }
}

/// The first header that cannot go into a request (a name or value HTTP does not allow),
/// in words; the value is not shown.
fn unsendable_header(headers: &[(String, String)]) -> Option<String> {
    headers.iter().find_map(|(key, value)| {
        if reqwest::header::HeaderName::from_bytes(key.as_bytes()).is_err() {
            Some(format!("header {key:?}: not a valid HTTP header name"))
        } else if reqwest::header::HeaderValue::from_str(value).is_err() {
            Some(format!(
                "header {key}: the value is not a valid HTTP header value"
            ))
        } else {
            None
        }
    })
}

/// The start of `response`'s body as text, at most `limit` bytes (cut at a character
/// boundary). Reads only that much (plus a byte, to tell a cut character): the rest is
/// never read, and dropping the response closes its connection.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> String {
    let keep = limit.saturating_add(1);
    let mut bytes = Vec::new();
    while bytes.len() < keep {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = keep - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    drop(response);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    util::truncate_utf8(&mut text, limit);
    text
}

fn compiled(
    dispatcher: &Dispatcher,
    subscription_id: &str,
    webhook: &Webhook,
) -> Result<Arc<CompiledWebhook>, String> {
    let mut cache = dispatcher
        .compiled
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((written, found)) = cache.get(subscription_id) {
        if written == webhook {
            return Ok(found.clone());
        }
    }
    let compiled = Arc::new(compile(webhook)?);
    cache.insert(
        subscription_id.to_string(),
        (webhook.clone(), compiled.clone()),
    );
    Ok(compiled)
}

/// Refuses non-http(s) URLs and IP-literal hosts the policy forbids (named hosts are
/// checked by the resolver, on the very addresses that get dialled).
fn check_url(dispatcher: &Dispatcher, url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("unsupported URL scheme {}", parsed.scheme()));
    }
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err("the URL has no host".to_string()),
    };
    dispatcher
        .policy
        .check(parsed.host_str().unwrap_or_default(), ip)
        .map_err(|refused| refused.to_string())
}

/// A failed request in words, and whether the guard refused the target (never retried):
/// the refusal itself; else what happened in words where it is a common case (no answer in
/// time, connection refused or reset, unknown host), naming the target's host and port;
/// else the error chain.
fn describe(error: &reqwest::Error) -> (String, bool) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut parts = Vec::new();
    let mut io_kind = None;
    let mut dns = false;
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return (refused.to_string(), true);
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        let text = current.to_string();
        dns |= text.contains("dns error") || text.contains("failed to lookup address");
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        source = current.source();
    }
    let target = error.url().map_or_else(String::new, |url| {
        let host = url.host_str().unwrap_or_default();
        match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    });
    let words = if error.is_timeout() {
        Some(format!("timed out: no answer from {target} in time"))
    } else if dns {
        let host = error
            .url()
            .and_then(|url| url.host_str())
            .unwrap_or_default();
        Some(format!("unknown host: {host} could not be resolved"))
    } else {
        match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => Some(format!(
                "connection refused: nothing accepts connections on {target}"
            )),
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                Some(format!("connection reset: {target} closed the connection"))
            }
            // The innermost cause says why (a TLS handshake, say).
            _ if error.is_connect() => Some(format!(
                "could not connect to {target}: {}",
                parts.last().map_or("", String::as_str)
            )),
            _ => None,
        }
    };
    (words.unwrap_or_else(|| parts.join(": ")), false)
}

/// The reason of a non-2xx answer: the status, and the body when it is short (Slack's error
/// strings such as `invalid_payload` or `channel_not_found`).
fn reason_for(status: reqwest::StatusCode, body: &str) -> String {
    let body = body.trim();
    if body.is_empty() || body.len() > 200 {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {body}", status.as_u16())
    }
}
