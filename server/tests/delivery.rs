//! Events in, webhook out: ingress through the real API, matching, rendering and sending to
//! a real HTTP receiver on 127.0.0.1 standing in for Slack (allow-listed), masking, the SSRF
//! guard and error events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    call, create_subscription, eventually, open_db, send_event, webhook_service_id, BinaryServer,
    MockReceiver, Reply, TestServer, LOOPBACK, REGISTRATION,
};
use reqwest::Method;
use serde_json::{json, Value};

const SEED_PAYLOAD: &str = "{\n  \"text\": \"Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.\"\n}";

/// A server with every default; `allow_loopback` lets it send to receivers on 127.0.0.1.
async fn start(allow_loopback: bool) -> TestServer {
    if allow_loopback {
        TestServer::start_allowing(LOOPBACK, |_| {}).await
    } else {
        TestServer::start().await
    }
}

async fn put_secret(server: &TestServer, value: &str, method: Method) {
    let (status, body) = call(server, method, "/api/secrets/v1/secret", Some(json!({
        "name": "slack-secret", "scope": "keptn-webhook-service", "data": {"webhook-identifier": value}}))).await;
    assert!(status == 200 || status == 201, "{body}");
}

async fn subscribe(server: &TestServer, url: &str, stages: &[&str], payload: &str) -> String {
    let (status, created) = create_subscription(
        server,
        json!({
        "event": "sh.keptn.event.evaluation.finished",
        "filter": {"projects": [], "stages": stages, "services": []},
        "webhook": {"method": "POST", "url": url, "headers": [], "payload": payload,
                    "proxy": null, "sendStarted": true, "sendFinished": true}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

fn evaluation(stage: &str, score: Value) -> Value {
    json!({"type": "sh.keptn.event.evaluation.finished", "specversion": "1.0", "source": "lighthouse-service",
           "shkeptncontext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb", "triggeredid": "t-1",
           "data": {"project": "sockshop", "stage": stage, "service": "carts", "result": "pass",
                    "evaluation": {"result": "pass", "score": score}}})
}

fn slack_url(receiver: &MockReceiver) -> String {
    format!(
        "http://127.0.0.1:{}/services/T00000000/B00000000/{{{{.secret.slack-secret.webhook-identifier}}}}",
        receiver.addr.port()
    )
}

/// Waits (at most 10 s) until every delivery of `event_id` has settled; returns
/// (status, reason, response) of each.
async fn settled(
    server: &TestServer,
    event_id: &str,
) -> Vec<(String, Option<String>, Option<String>)> {
    common::settled::<(String, Option<String>, Option<String>)>(
        server,
        "SELECT d.status, d.reason, a.response FROM deliveries d
         LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
         WHERE d.event_id = ? ORDER BY d.created_at",
        event_id,
        |row| row.0.as_str(),
    )
    .await
}

async fn deliveries_of(server: &TestServer, event_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE event_id = ?")
        .bind(event_id)
        .fetch_one(&server.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_seed_scenario_delivers_the_message_to_slack() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    put_secret(&server, "XXXXXXXXXXXXXXXXXXXXXXXX", Method::POST).await;
    subscribe(
        &server,
        &slack_url(&receiver),
        &["dev", "staging"],
        SEED_PAYLOAD,
    )
    .await;

    let mut dev = evaluation("dev", json!(100));
    dev["id"] = json!("event-dev");
    let (status, body) = send_event(&server, dev.clone()).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"keptnContext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb"})
        )
    );
    let request = receiver.next().await;
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        "{\n  \"text\": \"Evaluation in dev finished with result pass and score 100.\"\n}"
    );
    let webhook_id = request.header("webhook-id").unwrap().to_string();
    let rows = settled(&server, "event-dev").await;
    assert_eq!(rows[0].0, "delivered");
    let id_in_db: String =
        sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = 'event-dev'")
            .fetch_one(&server.db().await)
            .await
            .unwrap();
    assert_eq!(id_in_db, webhook_id);

    // The same id again: answered as the first time, nothing new.
    let (status, body) = send_event(&server, dev).await;
    assert_eq!(
        (status, body["keptnContext"].as_str()),
        (200, Some("3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb"))
    );
    assert_eq!(deliveries_of(&server, "event-dev").await, 1);

    let mut staging = evaluation("staging", json!(87.5));
    staging["id"] = json!("event-staging");
    send_event(&server, staging).await;
    let request = receiver.next().await;
    assert_eq!(
        request.body,
        "{\n  \"text\": \"Evaluation in staging finished with result pass and score 87.5.\"\n}"
    );

    let mut production = evaluation("production", json!(1));
    production["id"] = json!("event-production");
    let (status, _) = send_event(&server, production).await;
    assert_eq!(status, 200);
    assert_eq!(
        deliveries_of(&server, "event-production").await,
        0,
        "production must not match"
    );
}

#[tokio::test]
async fn overlapping_subscriptions_each_get_a_delivery_and_hostile_values_stay_json() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    subscribe(
        &server,
        &slack_url(&receiver),
        &[],
        "{\"stage\": {{.data.stage}}, \"score\": {{.data.evaluation.score}}}",
    )
    .await;

    let hostile = "dev \"blue\"\n\\ {{x}} ünï😀";
    let mut event = evaluation("dev", json!(1000000));
    event["data"]["stage"] = json!(hostile);
    event["id"] = json!("e-hostile");
    send_event(&server, event).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    let mut bodies: Vec<Value> = [first.body, second.body]
        .iter()
        .map(|b| serde_json::from_str(b).expect("valid JSON"))
        .collect();
    bodies.sort_by_key(|b| b.to_string());
    assert_eq!(bodies[0], json!({"stage": hostile, "score": 1000000}));
    assert_eq!(
        bodies[1]["text"],
        format!("Evaluation in {hostile} finished with result pass and score 1000000.")
    );
    assert_eq!(deliveries_of(&server, "e-hostile").await, 2);
}

#[tokio::test]
async fn a_slack_error_fails_the_delivery_and_shows_as_an_error_event() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(400, "invalid_payload");
    let server = start(true).await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-400");
    send_event(&server, event).await;
    receiver.next().await;
    let rows = settled(&server, "e-400").await;
    assert_eq!(rows[0].0, "failed");
    assert_eq!(rows[0].1.as_deref(), Some("HTTP 400: invalid_payload"));

    let integration = webhook_service_id(&server).await;
    let (status, logs) = call(
        &server,
        Method::GET,
        &format!("/api/controlPlane/v1/log?integrationId={integration}&pageSize=10"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(logs["totalCount"], 1);
    let entry = &logs["logs"][0];
    assert_eq!(entry["integrationid"], integration.as_str());
    assert_eq!(entry["message"], "HTTP 400: invalid_payload");
    assert_eq!(entry["task"], "evaluation");
    assert_eq!(
        entry["shkeptncontext"],
        "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb"
    );
    assert_eq!(entry["triggeredid"], "t-1");
}

#[tokio::test]
async fn a_missing_path_fails_with_its_name() {
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(1));
    event["data"]["evaluation"] = json!({"result": "pass"});
    event["id"] = json!("e-missing");
    send_event(&server, event).await;
    let rows = settled(&server, "e-missing").await;
    assert_eq!(rows[0].0, "failed");
    assert_eq!(
        rows[0].1.as_deref(),
        Some("payload: .data.evaluation.score: the event has no value at this path")
    );
}

#[tokio::test]
async fn loopback_targets_are_refused_without_the_allow_list() {
    let receiver = MockReceiver::start().await;
    let server = start(false).await;
    put_secret(&server, "id-1", Method::POST).await;
    let port = receiver.addr.port();
    subscribe(&server, &format!("http://127.0.0.1:{port}/a"), &[], "{}").await;
    subscribe(&server, &format!("http://localhost:{port}/b"), &[], "{}").await;
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-ssrf");
    send_event(&server, event).await;
    let mut reasons: Vec<String> = settled(&server, "e-ssrf")
        .await
        .into_iter()
        .map(|(status, reason, response)| {
            assert_eq!(status, "failed");
            assert!(response.is_none(), "no response: nothing was sent");
            reason.unwrap()
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons[0], "refused target 127.0.0.1: 127.0.0.1 is a loopback address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)");
    assert!(
        reasons[1].starts_with("refused target localhost: "),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[1].contains("is a loopback address"),
        "{}",
        reasons[1]
    );
}

#[tokio::test]
async fn a_changed_secret_is_used_from_the_next_send_on() {
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    put_secret(&server, "first-value", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    send_event(&server, evaluation("dev", json!(1))).await;
    assert!(receiver.next().await.path.ends_with("/first-value"));
    put_secret(&server, "second-value", Method::PUT).await;
    send_event(&server, evaluation("dev", json!(2))).await;
    assert!(receiver.next().await.path.ends_with("/second-value"));
}

#[tokio::test]
async fn an_edited_webhook_is_sent_as_edited_from_the_next_send_on() {
    // The sender keeps each subscription's translated templates: an edit must replace them.
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    put_secret(&server, "id-1", Method::POST).await;
    let url = slack_url(&receiver);
    let sub_id = subscribe(&server, &url, &[], "{\"text\": \"first {{.data.stage}}\"}").await;
    send_event(&server, evaluation("dev", json!(1))).await;
    assert_eq!(receiver.next().await.body, "{\"text\": \"first dev\"}");
    let integration = webhook_service_id(&server).await;
    let (status, body) = call(
        &server,
        Method::PUT,
        &format!("{REGISTRATION}/{integration}/subscription/{sub_id}"),
        Some(json!({
            "event": "sh.keptn.event.evaluation.finished",
            "filter": {"projects": [], "stages": [], "services": []},
            "webhook": {"method": "PUT", "url": url, "headers": [],
                        "payload": "{\"text\": \"second {{.data.stage}}\"}",
                        "proxy": null, "sendStarted": true, "sendFinished": true}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    send_event(&server, evaluation("staging", json!(2))).await;
    let second = receiver.next().await;
    assert_eq!(
        (second.method.as_str(), second.body.as_str()),
        ("PUT", "{\"text\": \"second staging\"}")
    );
}

#[tokio::test]
async fn a_receiver_echoing_the_secret_is_stored_masked_and_never_logged() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    receiver.reply_with(400, "you sent: {body}");
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(
        dir.path(),
        &[("UNIFORM_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32")],
    );
    let secret = "s3cr3t-Echo-Value";
    server.api(Method::POST, "/api/secrets/v1/secret")
        .json(&json!({"name": "slack-secret", "scope": "keptn-webhook-service", "data": {"webhook-identifier": secret}}))
        .send().await.unwrap();
    let list = server
        .get_json(&format!("{REGISTRATION}?name=webhook-service"))
        .await;
    let id = list[0]["id"].as_str().unwrap();
    let created = server.api(Method::POST, &format!("{REGISTRATION}/{id}/subscription"))
        .json(&json!({"event": "sh.keptn.event.evaluation.finished",
            "webhook": {"method": "POST", "url": slack_url(&receiver), "headers": [{"key": "X-Token", "value": "{{.secret.slack-secret.webhook-identifier}}"}],
                        "payload": "{\"token\": \"{{.secret.slack-secret.webhook-identifier}}\"}"}}))
        .send().await.unwrap();
    assert_eq!(created.status(), 201);
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-echo");
    server
        .api(Method::POST, "/api/v1/event")
        .json(&event)
        .send()
        .await
        .unwrap();
    let request = receiver.next().await;
    assert_eq!(
        request.header("x-token"),
        Some(secret),
        "the receiver gets the real value"
    );

    // Wait for the failure to be recorded, through the log API.
    let logs = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let logs = server.get_json("/api/controlPlane/v1/log").await;
            if logs["totalCount"] == 1 {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(
        logs["logs"][0]["message"],
        "HTTP 400: you sent: {\"token\": \"***\"}"
    );
    let log = server.stop();
    assert!(!log.contains(secret), "the secret is in the log:\n{log}");
    let mut raw = std::fs::read(dir.path().join("uniform.db")).unwrap();
    raw.extend(std::fs::read(dir.path().join("uniform.db-wal")).unwrap_or_default());
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is in the database"
    );
    let pool = open_db(dir.path()).await;
    let (request, response): (String, String) =
        sqlx::query_as("SELECT request, response FROM delivery_attempts")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(request.contains("\"value\":\"***\""), "{request}");
    assert!(request.contains("B00000000/***"), "{request}");
    assert!(
        response.contains("you sent: {\\\"token\\\": \\\"***\\\"}"),
        "{response}"
    );
}

#[tokio::test]
async fn ingress_checks_events_and_lists_them() {
    let server = start(true).await;
    for (event, message) in [
        (
            json!({"specversion": "1.0", "source": "s", "data": {}}),
            "type: type is required",
        ),
        (
            json!({"type": "t", "specversion": "1.0", "source": "s"}),
            "data: data is required",
        ),
        (
            json!({"type": "t", "specversion": "1.0", "source": "s", "data": []}),
            "data: data must be an object",
        ),
        (
            json!({"type": "t", "specversion": 1, "source": "s", "data": {}}),
            "specversion: specversion must be a string",
        ),
    ] {
        assert_eq!(
            send_event(&server, event).await,
            (400, json!({"code": 400, "message": message}))
        );
    }
    let malformed = server
        .api(Method::POST, "/api/v1/event")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    // Exactly 1 MiB is accepted; one byte more is 413.
    let base = json!({"type": "sh.keptn.event.x.finished", "specversion": "1.0", "source": "s", "data": {"pad": ""}}).to_string();
    let pad = 1024 * 1024 - base.len();
    let exact = base.replace("\"pad\":\"\"", &format!("\"pad\":\"{}\"", "x".repeat(pad)));
    assert_eq!(exact.len(), 1024 * 1024);
    let ok = server
        .api(Method::POST, "/api/v1/event")
        .header("content-type", "application/json")
        .body(exact.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let too_big = exact.replacen("\"pad\":\"", "\"pad\":\"x", 1);
    let refused = server
        .api(Method::POST, "/api/v1/event")
        .header("content-type", "application/json")
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"code": 413, "message": "the request body is too large (at most 1 MiB)"})
    );

    let (_, first) = send_event(&server, json!({"type": "sh.keptn.event.a.triggered", "specversion": "1.0", "source": "s", "data": {}})).await;
    let context = first["keptnContext"].as_str().unwrap();
    let (status, page) = call(
        &server,
        Method::GET,
        &format!("/api/v1/event?keptnContext={context}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["events"][0]["type"], "sh.keptn.event.a.triggered");
    assert!(page["events"][0]["id"].is_string() && page["events"][0]["time"].is_string());
    let (_, all) = call(&server, Method::GET, "/api/v1/event?pageSize=1", None).await;
    assert_eq!(all["totalCount"], 2);
    assert_eq!(
        all["events"][0]["type"], "sh.keptn.event.a.triggered",
        "newest first"
    );
    let key = all["nextPageKey"].as_str().unwrap();
    let (_, next) = call(
        &server,
        Method::GET,
        &format!("/api/v1/event?pageSize=1&nextPageKey={key}"),
        None,
    )
    .await;
    assert_eq!(next["events"][0]["type"], "sh.keptn.event.x.finished");
}

#[tokio::test]
async fn the_ui_sees_error_events_with_an_unread_count_and_seen_values() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(404, "no_service");
    let server = start(true).await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-ui");
    send_event(&server, event).await;
    settled(&server, "e-ui").await;

    let client = server.login().await;
    let rpc = |path: &str, form: Vec<(&'static str, String)>| {
        client
            .post(server.url(path))
            .header("origin", server.url(""))
            .form(&form)
            .send()
    };
    let unread: Value = rpc("/rpc/uniform/errors/unread", vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unread, json!(1));
    let integration = webhook_service_id(&server).await;
    let errors: Value = rpc("/rpc/uniform/errors", vec![("integration_id", integration)])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errors[0]["task"], "evaluation");
    assert_eq!(errors[0]["message"], "HTTP 404: no_service");
    let unread: Value = rpc("/rpc/uniform/errors/unread", vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unread, json!(0), "viewing the tile clears the count");

    let seen: Value = rpc("/rpc/uniform/seen", vec![])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen,
        json!({"tasks": ["evaluation"], "projects": ["sockshop"], "stages": ["dev"], "services": ["carts"]})
    );
}

/// A server whose retries come quickly (100 ms, 200 ms).
async fn quick_retries() -> TestServer {
    TestServer::start_allowing(LOOPBACK, |config| {
        config.retry_schedule = server::config::RetrySchedule(vec![
            Duration::from_millis(100),
            Duration::from_millis(200),
        ]);
        config.webhook_timeout = Duration::from_millis(500);
    })
    .await
}

async fn attempts_of(server: &TestServer, event_id: &str) -> Vec<(i64, Option<String>)> {
    sqlx::query_as(
        "SELECT a.number, a.error FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE d.event_id = ? ORDER BY a.number",
    )
    .bind(event_id)
    .fetch_all(&server.db().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn transient_failures_are_retried_with_the_same_webhook_id() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    receiver.script(vec![Reply::new(500, "oops"), Reply::new(408, "")]);
    let server = quick_retries().await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-retry");
    send_event(&server, event).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    let third = receiver.next().await;
    let id = first.header("webhook-id").unwrap();
    assert_eq!(second.header("webhook-id"), Some(id));
    assert_eq!(third.header("webhook-id"), Some(id));
    assert_eq!(third.body, first.body);
    let rows = settled(&server, "e-retry").await;
    assert_eq!(rows.last().unwrap().0, "delivered");
    assert_eq!(attempts_of(&server, "e-retry").await.len(), 3);
}

#[tokio::test]
async fn retries_end_failed_when_the_schedule_is_used_up_and_4xx_is_final() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    receiver.reply_with(503, "no_service");
    let server = quick_retries().await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-exhaust");
    send_event(&server, event).await;
    for _ in 0..3 {
        receiver.next().await;
    }
    let rows = settled(&server, "e-exhaust").await;
    assert_eq!(rows.last().unwrap().0, "failed");
    assert_eq!(
        attempts_of(&server, "e-exhaust").await.len(),
        3,
        "1 attempt + 2 retries"
    );
    let (_, logs) = call(&server, Method::GET, "/api/controlPlane/v1/log", None).await;
    assert_eq!(
        logs["totalCount"], 1,
        "one error event per failed delivery, not per attempt"
    );

    receiver.reply_with(400, "invalid_payload");
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-final");
    send_event(&server, event).await;
    receiver.next().await;
    settled(&server, "e-final").await;
    assert_eq!(
        attempts_of(&server, "e-final").await.len(),
        1,
        "400 is not retried"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let receiver = MockReceiver::start().await;
    let mut limited = Reply::new(429, "rate_limited");
    limited.headers = vec![("retry-after".to_string(), "2".to_string())];
    receiver.script(vec![limited]);
    let server = quick_retries().await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    send_event(&server, evaluation("dev", json!(1))).await;
    receiver.next().await;
    let first = std::time::Instant::now();
    receiver.next().await;
    assert!(
        first.elapsed() >= Duration::from_millis(1950),
        "retried after {:?}",
        first.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_receiver_times_out_and_is_retried() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    let mut hang = Reply::new(200, "ok");
    hang.delay = Duration::from_secs(5);
    receiver.script(vec![hang]);
    let server = quick_retries().await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(1));
    event["id"] = json!("e-hang");
    send_event(&server, event).await;
    receiver.next().await;
    receiver.next().await;
    let rows = settled(&server, "e-hang").await;
    assert_eq!(rows.last().unwrap().0, "delivered");
    let attempts = attempts_of(&server, "e-hang").await;
    assert!(
        attempts[0]
            .1
            .as_deref()
            .is_some_and(|e| e.starts_with("timed out")),
        "{attempts:?}"
    );
}

#[tokio::test]
async fn nothing_is_lost_when_the_process_is_killed() {
    let receiver = MockReceiver::start().await;
    let mut slow = Reply::new(200, "ok");
    slow.delay = Duration::from_millis(40);
    receiver.reply(slow);
    let dir = tempfile::tempdir().unwrap();
    // On PostgreSQL the leases of the killed process run out (no replica may void another's
    // leases at start), so they are short here.
    let env = [
        ("UNIFORM_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"),
        ("UNIFORM_DELIVERY_LEASE", "2s"),
    ];
    let first = BinaryServer::start(dir.path(), &env);
    seed_binary(&first, &receiver).await;
    post_events(&first, "kill", 200).await;
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 10 {
        seen.insert(
            receiver
                .next()
                .await
                .header("webhook-id")
                .unwrap()
                .to_string(),
        );
    }
    first.kill_hard();

    let second = BinaryServer::start(dir.path(), &env);
    while seen.len() < 200 {
        seen.insert(
            receiver
                .next()
                .await
                .header("webhook-id")
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        seen.len(),
        200,
        "every delivery arrived (duplicates allowed: at-least-once)"
    );
    drop(second);
}

async fn subscribe_to(server: &TestServer, event: &str, url: &str, started: bool, finished: bool) {
    let (status, body) = create_subscription(
        server,
        json!({
        "event": event,
        "webhook": {"method": "POST", "url": url, "payload": "{\"stage\": \"{{.data.stage}}\"}",
                    "sendStarted": started, "sendFinished": finished}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// The events of `context` oldest first: (type, data.status, data.result, data.message, triggeredid).
async fn task_events_of(
    server: &TestServer,
    context: &str,
    count: usize,
) -> Vec<(String, Value, Value, Value, Value)> {
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(20),
        "the task events did not appear within 10 s",
        || async move {
            let (_, page) = call(
                server,
                Method::GET,
                &format!("/api/v1/event?keptnContext={context}&pageSize=50"),
                None,
            )
            .await;
            let events = page["events"].as_array().unwrap().clone();
            (events.len() >= count).then(|| {
                events
                    .iter()
                    .rev()
                    .map(|e| {
                        (
                            e["type"].as_str().unwrap().to_string(),
                            e["data"]["status"].clone(),
                            e["data"]["result"].clone(),
                            e["data"]["message"].clone(),
                            e["triggeredid"].clone(),
                        )
                    })
                    .collect()
            })
        },
    )
    .await
}

fn triggered(context: &str, id: &str) -> Value {
    json!({"type": "sh.keptn.event.deployment.triggered", "specversion": "1.0", "source": "shipyard-controller",
           "id": id, "shkeptncontext": context, "data": {"project": "p", "stage": "dev", "service": "s"}})
}

#[tokio::test]
async fn a_triggered_subscription_emits_started_then_finished() {
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    subscribe_to(
        &server,
        "sh.keptn.event.deployment.triggered",
        &url,
        true,
        true,
    )
    .await;
    send_event(&server, triggered("ctx-ok", "trig-1")).await;
    receiver.next().await;
    let events = task_events_of(&server, "ctx-ok", 3).await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].0, "sh.keptn.event.deployment.triggered");
    assert_eq!(events[1].0, "sh.keptn.event.deployment.started");
    assert_eq!(events[1].4, json!("trig-1"));
    assert_eq!(events[2].0, "sh.keptn.event.deployment.finished");
    assert_eq!(
        (&events[2].1, &events[2].2, &events[2].4),
        (&json!("succeeded"), &json!("pass"), &json!("trig-1"))
    );
}

#[tokio::test]
async fn a_failed_triggered_delivery_finishes_errored_with_a_masked_message() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(400, "bad token s3cr3t-token-value");
    let server = start(true).await;
    put_secret(&server, "s3cr3t-token-value", Method::POST).await;
    let url = format!(
        "http://127.0.0.1:{}/hook/{{{{.secret.slack-secret.webhook-identifier}}}}",
        receiver.addr.port()
    );
    subscribe_to(
        &server,
        "sh.keptn.event.deployment.triggered",
        &url,
        true,
        true,
    )
    .await;
    send_event(&server, triggered("ctx-fail", "trig-2")).await;
    receiver.next().await;
    let events = task_events_of(&server, "ctx-fail", 3).await;
    assert_eq!(events[2].0, "sh.keptn.event.deployment.finished");
    assert_eq!(
        (&events[2].1, &events[2].2),
        (&json!("errored"), &json!("fail"))
    );
    assert_eq!(events[2].3, json!("HTTP 400: bad token ***"));
}

#[tokio::test]
async fn no_task_events_by_webhook_receiver_or_for_finished_subscriptions() {
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    subscribe_to(
        &server,
        "sh.keptn.event.deployment.triggered",
        &url,
        false,
        false,
    )
    .await;
    subscribe_to(
        &server,
        "sh.keptn.event.deployment.finished",
        &url,
        true,
        true,
    )
    .await;
    send_event(&server, triggered("ctx-none", "trig-3")).await;
    receiver.next().await;
    settled(&server, "trig-3").await;
    let mut finished = triggered("ctx-none", "fin-3");
    finished["type"] = json!("sh.keptn.event.deployment.finished");
    send_event(&server, finished).await;
    receiver.next().await;
    settled(&server, "fin-3").await;
    let (_, page) = call(
        &server,
        Method::GET,
        "/api/v1/event?keptnContext=ctx-none",
        None,
    )
    .await;
    assert_eq!(page["totalCount"], 2, "only the two events sent in: {page}");
}

#[tokio::test]
async fn the_slack_lane_paces_one_webhook_url_after_a_burst() {
    let receiver = MockReceiver::start().await;
    let server = TestServer::start_allowing(LOOPBACK, |config| {
        config.slack_hosts = vec!["127.0.0.1".to_string()];
        config.slack_interval = Duration::from_millis(300);
    })
    .await;
    put_secret(&server, "id-1", Method::POST).await;
    subscribe(
        &server,
        &slack_url(&receiver),
        &[],
        "{\"n\": {{.data.evaluation.score}}}",
    )
    .await;
    for n in 0..6 {
        send_event(&server, evaluation("dev", json!(n))).await;
    }
    let mut arrivals = Vec::new();
    for _ in 0..6 {
        let request = receiver.next().await;
        let n: Value = serde_json::from_str(&request.body).unwrap();
        arrivals.push((request.at, n["n"].as_i64().unwrap()));
    }
    // A burst of 3, then one per 300 ms.
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1].0 - w[0].0).collect();
    // (300 ms apart when sent; arrivals wobble by a few ms of send latency.)
    assert!(
        arrivals[3].0 - arrivals[0].0 >= Duration::from_millis(250),
        "paced gaps: {gaps:?}"
    );
    assert!(
        arrivals[5].0 - arrivals[3].0 >= Duration::from_millis(550),
        "paced gaps: {gaps:?}"
    );
    assert!(
        arrivals[2].0 - arrivals[0].0 < Duration::from_millis(250),
        "the burst: {gaps:?}"
    );
    let mut order: Vec<i64> = arrivals.iter().map(|(_, n)| *n).collect();
    let sent_order = order.clone();
    order.sort();
    assert_eq!(order, [0, 1, 2, 3, 4, 5], "every event arrived once");
    assert_eq!(
        sent_order[3..],
        [3, 4, 5],
        "paced requests leave in event order: {sent_order:?}"
    );
}

#[tokio::test]
async fn sigterm_leaves_no_delivery_half_done() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    let mut slow = Reply::new(200, "ok");
    slow.delay = Duration::from_millis(300);
    receiver.reply(slow);
    let dir = tempfile::tempdir().unwrap();
    let env = [("UNIFORM_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32")];
    let server = BinaryServer::start(dir.path(), &env);
    seed_binary(&server, &receiver).await;
    post_events(&server, "term", 30).await;
    receiver.next().await; // requests are in flight now
                           // SIGTERM, then wait for the exit off the runtime, so the receiver keeps answering.
    let log = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(log.contains("shutting down"), "{log}");

    let pool = open_db(dir.path()).await;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT d.status, (SELECT COUNT(*) FROM delivery_attempts a WHERE a.delivery_id = d.id) FROM deliveries d",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 30);
    let delivered = rows
        .iter()
        .filter(|(s, n)| s == "delivered" && *n == 1)
        .count();
    let pending = rows
        .iter()
        .filter(|(s, n)| s == "pending" && *n == 0)
        .count();
    let errors: Vec<Option<String>> = sqlx::query_scalar("SELECT error FROM delivery_attempts")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        delivered >= 1,
        "in-flight requests were allowed to finish: {rows:?} {errors:?}"
    );
    assert_eq!(
        delivered + pending,
        30,
        "each delivery is either done and recorded or untouched: {rows:?}"
    );
}

#[tokio::test]
async fn deliveries_can_be_listed_inspected_and_redelivered() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(400, "invalid_token");
    let server = start(true).await;
    put_secret(&server, "secret-in-url", Method::POST).await;
    let subscription = subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    let mut event = evaluation("dev", json!(100));
    event["id"] = json!("e-log");
    send_event(&server, event).await;
    let first = receiver.next().await;
    settled(&server, "e-log").await;

    let (status, page) = call(
        &server,
        Method::GET,
        &format!("/api/v1/deliveries?subscriptionId={subscription}&status=failed"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let listed = &page["deliveries"][0];
    let id = listed["id"].as_str().unwrap().to_string();
    assert_eq!(Some(id.as_str()), first.header("webhook-id"));
    assert_eq!(listed["eventType"], "sh.keptn.event.evaluation.finished");
    assert_eq!(
        (
            listed["project"].as_str(),
            listed["stage"].as_str(),
            listed["service"].as_str()
        ),
        (Some("sockshop"), Some("dev"), Some("carts"))
    );
    assert_eq!(
        (
            listed["status"].as_str(),
            listed["attemptCount"].as_i64(),
            listed["lastStatusCode"].as_i64()
        ),
        (Some("failed"), Some(1), Some(400))
    );
    assert_eq!(listed["reason"], "HTTP 400: invalid_token");
    assert!(listed["nextAttemptAt"].is_null());

    let (status, detail) = call(
        &server,
        Method::GET,
        &format!("/api/v1/deliveries/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let attempt = &detail["attempts"][0];
    assert_eq!(attempt["number"], 1);
    assert_eq!(attempt["request"]["method"], "POST");
    assert!(
        attempt["request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/services/T00000000/B00000000/***"),
        "{attempt}"
    );
    assert_eq!(
        attempt["request"]["body"],
        "{\n  \"text\": \"Evaluation in dev finished with result pass and score 100.\"\n}"
    );
    assert_eq!(attempt["response"]["status"], 400);
    assert_eq!(attempt["response"]["body"], "invalid_token");
    assert!(
        !detail.to_string().contains("secret-in-url"),
        "the secret leaked: {detail}"
    );

    receiver.reply_with(200, "ok");
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("/api/v1/deliveries/{id}/redeliver"),
        None,
    )
    .await;
    assert_eq!((status, body), (202, json!({"id": id})));
    let again = receiver.next().await;
    assert_eq!(
        again.header("webhook-id"),
        Some(id.as_str()),
        "same id, a new attempt"
    );
    let rows = settled(&server, "e-log").await;
    assert_eq!(rows.last().unwrap().0, "delivered");
    let (_, detail) = call(
        &server,
        Method::GET,
        &format!("/api/v1/deliveries/{id}"),
        None,
    )
    .await;
    assert_eq!(detail["attemptCount"], 2);
    assert_eq!(detail["attempts"][1]["response"]["body"], "ok");

    assert_eq!(
        call(&server, Method::GET, "/api/v1/deliveries/nope", None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/api/v1/deliveries/nope/redeliver",
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&server, Method::GET, "/api/v1/deliveries?status=odd", None).await,
        (
            400,
            json!({"code": 400, "message": "status: must be pending, retrying, delivered or failed"})
        )
    );
}

#[tokio::test]
async fn preview_renders_the_seed_with_secrets_masked_and_reports_template_errors() {
    let server = start(true).await;
    let subscription = json!({
        "event": "sh.keptn.event.evaluation.finished",
        "webhook": {"method": "POST",
                    "url": "https://hooks.slack.com/services/T00000000/B00000000/{{.secret.slack-secret.webhook-identifier}}",
                    "headers": [], "payload": SEED_PAYLOAD}});
    let (status, preview) = try_webhook(
        &server,
        "/api/v1/preview",
        &subscription,
        evaluation("dev", json!(100)),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        preview["request"]["url"],
        "https://hooks.slack.com/services/T00000000/B00000000/***"
    );
    assert_eq!(
        preview["request"]["body"],
        "{\n  \"text\": \"Evaluation in dev finished with result pass and score 100.\"\n}"
    );
    assert_eq!(
        preview["request"]["headers"],
        json!([{"key": "Content-Type", "value": "application/json"}])
    );
    assert_eq!(preview["validJson"], true);
    assert_eq!(
        preview["slackText"],
        "Evaluation in dev finished with result pass and score 100."
    );

    let mut broken = subscription.clone();
    broken["webhook"]["payload"] = json!("{\n  \"text\": \"{{.data.stage\"\n}");
    let (status, error) = try_webhook(
        &server,
        "/api/v1/preview",
        &broken,
        evaluation("dev", json!(1)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        (error["line"].as_i64(), error["column"].as_i64()),
        (Some(2), Some(12))
    );
    let mut missing = subscription;
    missing["webhook"]["payload"] = json!("{\"t\": \"{{.data.nothing}}\"}");
    let (status, error) = try_webhook(
        &server,
        "/api/v1/preview",
        &missing,
        evaluation("dev", json!(1)),
    )
    .await;
    assert_eq!(
        (status, error["message"].as_str()),
        (
            400,
            Some("payload: .data.nothing: the event has no value at this path")
        )
    );
}

/// The walkthrough's secret and seed subscription on the real binary, sending to `receiver`.
async fn seed_binary(server: &BinaryServer, receiver: &MockReceiver) {
    let secret = server
        .api(Method::POST, "/api/secrets/v1/secret")
        .json(
            &json!({"name": "slack-secret", "scope": "keptn-webhook-service",
                      "data": {"webhook-identifier": "k"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(secret.status(), 201);
    let list = server
        .get_json(&format!("{REGISTRATION}?name=webhook-service"))
        .await;
    let id = list[0]["id"].as_str().unwrap();
    let created = server
        .api(Method::POST, &format!("{REGISTRATION}/{id}/subscription"))
        .json(&json!({"event": "sh.keptn.event.evaluation.finished",
            "webhook": {"method": "POST", "url": slack_url(receiver), "payload": SEED_PAYLOAD}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

/// Posts `count` evaluation events with ids `<prefix>-<n>` to the real binary.
async fn post_events(server: &BinaryServer, prefix: &str, count: usize) {
    for n in 0..count {
        let mut event = evaluation("dev", json!(n));
        event["id"] = json!(format!("{prefix}-{n}"));
        let response = server
            .api(Method::POST, "/api/v1/event")
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Posts an unsaved subscription and an event to `/api/v1/preview` or `/api/v1/test-send`.
async fn try_webhook(
    server: &TestServer,
    path: &str,
    subscription: impl serde::Serialize,
    event: Value,
) -> (u16, Value) {
    call(
        server,
        Method::POST,
        path,
        Some(json!({"subscription": subscription, "event": event})),
    )
    .await
}

fn seed_subscription(url: &str) -> Value {
    json!({"event": "sh.keptn.event.evaluation.finished",
           "webhook": {"method": "POST", "url": url, "headers": [], "payload": SEED_PAYLOAD}})
}

#[tokio::test]
async fn a_test_send_goes_once_through_the_real_sender_and_shows_the_answer() {
    let receiver = MockReceiver::start().await;
    let server = start(true).await;
    put_secret(&server, "test-send-secret", Method::POST).await;
    let subscription = seed_subscription(&slack_url(&receiver));

    let (status, sent) = try_webhook(
        &server,
        "/api/v1/test-send",
        &subscription,
        evaluation("dev", json!(100)),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let got = receiver.next().await;
    assert_eq!(got.path, "/services/T00000000/B00000000/test-send-secret");
    assert_eq!(
        got.body,
        "{\n  \"text\": \"Evaluation in dev finished with result pass and score 100.\"\n}"
    );
    assert_eq!(sent["response"], json!({"status": 200, "body": "ok"}));
    assert!(sent["error"].is_null());
    assert!(sent["durationMs"].as_i64().unwrap() >= 0);
    assert!(
        sent["request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/services/T00000000/B00000000/***"),
        "{sent}"
    );
    assert!(!sent.to_string().contains("test-send-secret"));

    // A failing receiver is an outcome, not an error, and is not retried: the next request
    // the receiver sees is the next test send, not a retry of this one.
    receiver.reply_with(500, "rollup_error");
    let (status, sent) = try_webhook(
        &server,
        "/api/v1/test-send",
        &subscription,
        evaluation("staging", json!(1)),
    )
    .await;
    assert_eq!(
        (status, &sent["response"]),
        (200, &json!({"status": 500, "body": "rollup_error"}))
    );
    assert!(receiver.next().await.body.contains("staging"));
    receiver.reply_with(200, "ok");
    try_webhook(
        &server,
        "/api/v1/test-send",
        &subscription,
        evaluation("prod", json!(2)),
    )
    .await;
    assert!(
        receiver.next().await.body.contains("prod"),
        "a test send is never retried"
    );
    let (_, page) = call(&server, Method::GET, "/api/v1/deliveries", None).await;
    assert_eq!(
        page["deliveries"],
        json!([]),
        "test sends leave no delivery"
    );

    // A receiver that is not there is said in words, naming where it was tried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nobody = seed_subscription(&format!(
        "http://127.0.0.1:{port}/services/T00000000/B00000000/{{{{.secret.slack-secret.webhook-identifier}}}}"
    ));
    let (status, sent) = try_webhook(
        &server,
        "/api/v1/test-send",
        &nobody,
        evaluation("dev", json!(3)),
    )
    .await;
    assert_eq!((status, &sent["response"]), (200, &Value::Null), "{sent}");
    assert_eq!(
        sent["error"],
        json!(format!(
            "connection refused: nothing accepts connections on 127.0.0.1:{port}"
        ))
    );

    // Template errors name line and column, like preview.
    let mut broken = subscription.clone();
    broken["webhook"]["payload"] = json!("{\n  \"text\": \"{{.data.stage\"\n}");
    let (status, error) = try_webhook(
        &server,
        "/api/v1/test-send",
        &broken,
        evaluation("dev", json!(1)),
    )
    .await;
    assert_eq!(
        (status, error["line"].as_i64(), error["column"].as_i64()),
        (400, Some(2), Some(12))
    );
}

#[tokio::test]
async fn a_test_send_to_a_forbidden_target_is_refused_by_the_guard() {
    let receiver = MockReceiver::start().await;
    let server = start(false).await;
    let (status, sent) = call(
        &server,
        Method::POST,
        "/api/v1/test-send",
        Some(json!({"subscription": seed_subscription(&format!("http://127.0.0.1:{}/hook", receiver.addr.port())),
                    "event": evaluation("dev", json!(1))})),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent["response"].is_null());
    let error = sent["error"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.1") && error.contains("loopback"),
        "{error}"
    );
    let (_, metrics) = server.metrics().await;
    assert!(
        metrics.contains("uniform_refused_targets_total 0"),
        "test sends are not deliveries: {metrics}"
    );
}

#[tokio::test]
async fn retry_all_failed_sends_every_failed_delivery_of_a_subscription_again() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(400, "invalid_payload");
    let server = start(true).await;
    put_secret(&server, "k", Method::POST).await;
    let subscription = subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    for id in ["f-1", "f-2"] {
        let mut event = evaluation("dev", json!(1));
        event["id"] = json!(id);
        send_event(&server, event).await;
        settled(&server, id).await;
    }
    receiver.next().await;
    receiver.next().await;
    receiver.reply_with(200, "ok");
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("/api/v1/deliveries/redeliver-failed?subscriptionId={subscription}"),
        None,
    )
    .await;
    assert_eq!((status, body), (202, json!({"count": 2})));
    receiver.next().await;
    receiver.next().await;
    for id in ["f-1", "f-2"] {
        assert_eq!(settled(&server, id).await.last().unwrap().0, "delivered");
    }
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("/api/v1/deliveries/redeliver-failed?subscriptionId={subscription}"),
        None,
    )
    .await;
    assert_eq!((status, body), (202, json!({"count": 0})));
}

#[tokio::test]
async fn metrics_move_as_deliveries_happen() {
    let receiver = MockReceiver::start().await;
    let server = TestServer::start_allowing(LOOPBACK, |config| {
        config.retry_schedule.0 = vec![Duration::from_millis(10); 3];
    })
    .await;
    let anonymous = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), 401, "metrics need a token");
    let (status, before) = server.metrics().await;
    assert_eq!(status, 200);
    assert!(before.contains("uniform_queue_depth 0"), "{before}");

    put_secret(&server, "k", Method::POST).await;
    let subscription = subscribe(&server, &slack_url(&receiver), &["dev"], SEED_PAYLOAD).await;
    subscribe(
        &server,
        "http://169.254.169.254/latest/meta-data",
        &["prod"],
        SEED_PAYLOAD,
    )
    .await;
    receiver.script(vec![
        Reply::new(200, "ok"),
        Reply {
            headers: vec![("retry-after".to_string(), "0".to_string())],
            ..Reply::new(429, "rate_limited")
        },
        Reply::new(200, "ok"),
        Reply::new(404, "no_service"),
    ]);
    for (id, stage) in [
        ("m-1", "dev"),
        ("m-2", "dev"),
        ("m-3", "dev"),
        ("m-4", "prod"),
    ] {
        let mut event = evaluation(stage, json!(1));
        event["id"] = json!(id);
        send_event(&server, event).await;
        settled(&server, id).await;
    }
    let (_, text) = server.metrics().await;
    let expect = [
        "uniform_events_received_total{type=\"sh.keptn.event.evaluation.finished\"} 4".to_string(),
        format!(
            "uniform_deliveries_total{{outcome=\"delivered\",subscription=\"{subscription}\"}} 2"
        ),
        format!(
            "uniform_deliveries_total{{outcome=\"retrying\",subscription=\"{subscription}\"}} 1"
        ),
        format!("uniform_deliveries_total{{outcome=\"failed\",subscription=\"{subscription}\"}} 1"),
        "uniform_delivery_attempt_duration_seconds_count 5".to_string(),
        "uniform_rate_limited_total 1".to_string(),
        "uniform_refused_targets_total 1".to_string(),
        "uniform_queue_depth 0".to_string(),
        "uniform_oldest_pending_seconds 0.0".to_string(),
    ];
    for line in expect {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_queue_gauges_count_what_waits_for_a_retry() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(503, "busy");
    let server = TestServer::start_allowing(LOOPBACK, |config| {
        config.retry_schedule.0 = vec![Duration::from_secs(3600)];
    })
    .await;
    put_secret(&server, "k", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    send_event(&server, evaluation("dev", json!(1))).await;
    receiver.next().await;
    let served = &server;
    let text = eventually(
        Duration::from_secs(10),
        Duration::from_millis(20),
        "the attempt was not recorded",
        || async move {
            let (_, text) = served.metrics().await;
            text.contains("outcome=\"retrying\"").then_some(text)
        },
    )
    .await;
    assert!(text.lines().any(|l| l == "uniform_queue_depth 1"), "{text}");
    let age: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("uniform_oldest_pending_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(age > 0.0 && age < 60.0, "{age}");
}

#[tokio::test]
async fn finished_deliveries_older_than_the_retention_are_pruned_and_waiting_ones_kept() {
    common::sqlite_only();
    let receiver = MockReceiver::start().await;
    receiver.script(vec![Reply::new(200, "ok"), Reply::new(503, "busy")]);
    let server = TestServer::start_allowing(LOOPBACK, |config| {
        config.delivery_retention = Duration::from_secs(2);
        config.retry_schedule.0 = vec![Duration::from_secs(3600)];
    })
    .await;
    put_secret(&server, "k", Method::POST).await;
    subscribe(&server, &slack_url(&receiver), &[], SEED_PAYLOAD).await;
    for id in ["old-1", "waiting-1"] {
        let mut event = evaluation("dev", json!(1));
        event["id"] = json!(id);
        send_event(&server, event).await;
        receiver.next().await;
    }
    let pool = server.db().await;
    let polled = &pool;
    let remaining = eventually(
        Duration::from_secs(15),
        Duration::from_millis(100),
        "the delivered delivery was not pruned within 15 s",
        || async move {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT event_id, status FROM deliveries ORDER BY event_id")
                    .fetch_all(polled)
                    .await
                    .unwrap();
            (rows.len() == 1).then_some(rows)
        },
    )
    .await;
    assert_eq!(
        remaining,
        vec![("waiting-1".to_string(), "retrying".to_string())]
    );
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the pruned delivery's attempts went with it");
    let (_, events) = call(&server, Method::GET, "/api/v1/event", None).await;
    let ids: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["waiting-1"],
        "events no delivery needs are pruned too"
    );
}

#[tokio::test]
async fn log_lines_carry_request_and_delivery_ids_as_json_without_secrets() {
    let receiver = MockReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(
        dir.path(),
        &[
            ("UNIFORM_LOG_FORMAT", "json"),
            ("UNIFORM_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"),
        ],
    );
    seed_binary(&server, &receiver).await;
    let secret = "log-secret-value-9f3a";
    let changed = server
        .api(Method::PUT, "/api/secrets/v1/secret")
        .json(
            &json!({"name": "slack-secret", "scope": "keptn-webhook-service",
                      "data": {"webhook-identifier": secret}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let response = server
        .api(Method::POST, "/api/v1/event")
        .header("x-request-id", "req-42")
        .json(&evaluation("dev", json!(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let generated = server
        .api(Method::GET, "/api/v1/event")
        .send()
        .await
        .unwrap();
    assert_eq!(
        generated.headers()["x-request-id"].len(),
        36,
        "a UUID when the client sends none"
    );
    let got = receiver.next().await;
    assert!(
        got.path.ends_with(secret),
        "the real request carries the secret"
    );
    let delivery_id = got.header("webhook-id").unwrap().to_string();
    // The attempt is logged after the receiver answered; wait until the log has it.
    let log = server.stop();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["request_id"] == "req-42" && l["span"]["path"] == "/api/v1/event"),
        "no line of the request: {log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["delivery_id"] == delivery_id.as_str()
                && l["fields"]["message"] == "delivery attempt"),
        "no line of the delivery attempt: {log}"
    );
    assert!(
        !log.contains(secret),
        "the secret value is never logged: {log}"
    );
}

#[tokio::test]
async fn a_slow_receiver_cannot_take_every_sending_slot() {
    let slow = MockReceiver::start().await;
    slow.reply(Reply {
        delay: Duration::from_secs(20),
        ..Reply::new(200, "ok")
    });
    let fast = MockReceiver::start().await;
    let server = TestServer::start_allowing(LOOPBACK, |config| {
        config.delivery_concurrency = 4;
        config.destination_concurrency = 2;
        config.webhook_timeout = Duration::from_secs(3);
        config.retry_schedule.0 = vec![Duration::from_secs(3600)];
    })
    .await;
    let slow_url = format!("http://127.0.0.1:{}/slow", slow.addr.port());
    let fast_url = format!("http://127.0.0.1:{}/fast", fast.addr.port());
    subscribe(&server, &slow_url, &["slow"], SEED_PAYLOAD).await;
    subscribe(&server, &fast_url, &["fast"], SEED_PAYLOAD).await;
    for n in 0..10 {
        send_event(&server, evaluation("slow", json!(n))).await;
    }
    // Two requests (the destination's limit) now hang at the slow receiver.
    slow.next().await;
    slow.next().await;
    send_event(&server, evaluation("fast", json!(1))).await;
    // With one shared pool the slow receiver would hold all four slots until its requests
    // time out (3 s); with a limit per destination the fast one is served at once.
    let got = tokio::time::timeout(Duration::from_secs(2), fast.next())
        .await
        .expect("the fast receiver waited for the slow one");
    assert!(got.body.contains("Evaluation in fast"), "{}", got.body);
}

#[tokio::test]
async fn metrics_can_be_served_without_a_token_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[("UNIFORM_METRICS_BIND", "127.0.0.1:0")]);
    let log = server.log();
    let url = log
        .split("serving /metrics without a token on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"))
        .to_string();
    let scraped = reqwest::get(&url).await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("uniform_queue_depth 0"));
    let api_there = reqwest::get(url.replace("/metrics", "/api/v1/event"))
        .await
        .unwrap();
    assert_eq!(api_there.status(), 404, "only /metrics is served there");
    let main = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(main.status(), 401, "the main address still wants a token");
}
