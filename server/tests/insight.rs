//! "Why didn't I get a message?" through the real API: `GET /api/v1/event/{id}/matches` says
//! for every webhook subscription of the event's task whether it fired and why not, and
//! `GET /api/v1/stats` gives the Overview's figures, moving as deliveries settle. Receivers
//! are real HTTP servers on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    call, create_subscription, send_event, webhook_service_id, MockReceiver, TestServer, LOOPBACK,
};
use reqwest::Method;
use serde_json::{json, Value};

async fn subscribe(server: &TestServer, event: &str, filter: Value, url: &str) -> String {
    let (status, created) = create_subscription(
        server,
        json!({"event": event, "filter": filter,
               "webhook": {"method": "POST", "url": url, "headers": [],
                           "payload": "{\"text\": \"{{.data.stage}}\"}", "proxy": null,
                           "sendStarted": true, "sendFinished": true}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

fn event(id: &str, event_type: &str, stage: &str, service: &str) -> Value {
    json!({"id": id, "type": event_type, "specversion": "1.0", "source": "lighthouse-service",
           "data": {"project": "sockshop", "stage": stage, "service": service,
                    "evaluation": {"result": "pass", "score": 100}}})
}

/// The matches of event `id`, each as (subscription id, matched, reason messages, delivery count).
async fn matches(
    server: &TestServer,
    id: &str,
) -> (Value, Vec<(String, bool, Vec<String>, usize)>) {
    let (status, body) = call(
        server,
        Method::GET,
        &format!("/api/v1/event/{id}/matches"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["subscriptionId"].as_str().unwrap().to_string(),
                row["matched"].as_bool().unwrap(),
                row["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|reason| reason["message"].as_str().unwrap().to_string())
                    .collect(),
                row["deliveryIds"].as_array().unwrap().len(),
            )
        })
        .collect();
    (body, rows)
}

#[tokio::test]
async fn matches_say_why_each_subscription_of_the_task_did_or_did_not_fire() {
    let receiver = MockReceiver::start().await;
    receiver.reply_with(200, "ok");
    let server = TestServer::start_allowing(LOOPBACK, |_| {}).await;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    let stages = subscribe(
        &server,
        "sh.keptn.event.evaluation.finished",
        json!({"stages": ["dev", "staging"]}),
        &url,
    )
    .await;
    let services = subscribe(
        &server,
        "sh.keptn.event.evaluation.>",
        json!({"stages": ["dev"], "services": ["orders"]}),
        &url,
    )
    .await;
    let started = subscribe(
        &server,
        "sh.keptn.event.evaluation.started",
        json!({}),
        &url,
    )
    .await;
    // Another task: not part of an evaluation event's explanation.
    subscribe(
        &server,
        "sh.keptn.event.deployment.finished",
        json!({}),
        &url,
    )
    .await;

    let (status, _) = send_event(
        &server,
        event(
            "e-production",
            "sh.keptn.event.evaluation.finished",
            "production",
            "carts",
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (body, rows) = matches(&server, "e-production").await;
    assert_eq!(body["eventId"], "e-production");
    assert_eq!(body["eventType"], "sh.keptn.event.evaluation.finished");
    assert_eq!(body["task"], "evaluation");
    assert_eq!(
        rows,
        vec![
            (
                stages.clone(),
                false,
                vec!["stage `production` not in [dev, staging]".to_string()],
                0
            ),
            (
                services.clone(),
                false,
                vec![
                    "stage `production` not in [dev]".to_string(),
                    "service `carts` not in [orders]".to_string()
                ],
                0
            ),
            (
                started.clone(),
                false,
                vec!["suffix `finished` ≠ `started`".to_string()],
                0
            ),
        ]
    );
    // The structured reason beside the words.
    let integration = webhook_service_id(&server).await;
    let first = &body["subscriptions"][0];
    assert_eq!(first["integrationId"], integration.as_str());
    assert_eq!(first["integrationName"], "webhook-service");
    assert_eq!(first["event"], "sh.keptn.event.evaluation.finished");
    assert_eq!(
        first["reasons"][0],
        json!({"field": "stage", "value": "production", "expected": ["dev", "staging"],
               "message": "stage `production` not in [dev, staging]"})
    );

    // An event both filters take: they fired, each with its delivery.
    send_event(
        &server,
        event(
            "e-dev",
            "sh.keptn.event.evaluation.finished",
            "dev",
            "orders",
        ),
    )
    .await;
    let (_, rows) = matches(&server, "e-dev").await;
    assert_eq!(
        rows,
        vec![
            (stages, true, vec![], 1),
            (services, true, vec![], 1),
            (
                started,
                false,
                vec!["suffix `finished` ≠ `started`".to_string()],
                0
            ),
        ]
    );

    let (status, body) = call(&server, Method::GET, "/api/v1/event/nope/matches", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"code": 404, "message": "event nope not found"})
    );
    let (status, body) = call(&server, Method::GET, "/api/v1/event/x/matches", None).await;
    assert_eq!((status, &body["code"]), (404, &json!(404)));
    // Documented.
    let (_, openapi) = call(&server, Method::GET, "/api/openapi.json", None).await;
    assert!(openapi["paths"]["/api/v1/event/{id}/matches"]["get"].is_object());
    assert!(openapi["paths"]["/api/v1/stats"]["get"].is_object());
}

async fn stats(server: &TestServer) -> Value {
    let (status, body) = call(server, Method::GET, "/api/v1/stats", None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn bucket_sum(stats: &Value, field: &str) -> i64 {
    stats["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket[field].as_i64().unwrap())
        .sum()
}

#[tokio::test]
async fn stats_move_as_deliveries_settle() {
    let ok = MockReceiver::start().await;
    ok.reply_with(200, "ok");
    let broken = MockReceiver::start().await;
    broken.reply_with(400, "invalid_payload");
    let server = TestServer::start_allowing(LOOPBACK, |_| {}).await;
    let to = |receiver: &MockReceiver| format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    let dev = subscribe(
        &server,
        "sh.keptn.event.evaluation.finished",
        json!({"stages": ["dev"]}),
        &to(&ok),
    )
    .await;
    let staging = subscribe(
        &server,
        "sh.keptn.event.evaluation.finished",
        json!({"stages": ["staging"]}),
        &to(&broken),
    )
    .await;

    let empty = stats(&server).await;
    assert_eq!(empty["events"], 0);
    assert_eq!(empty["deliveries"], 0);
    assert_eq!(empty["successRate"], Value::Null);
    assert_eq!(empty["oldestPendingSeconds"], Value::Null);
    assert_eq!(empty["buckets"].as_array().unwrap().len(), 96);
    assert_eq!(empty["subscriptions"].as_array().unwrap().len(), 2);
    assert_eq!(empty["subscriptions"][0]["successRate"], Value::Null);

    for (id, stage) in [
        ("s-1", "dev"),
        ("s-2", "dev"),
        ("s-3", "staging"),
        ("s-4", "production"),
    ] {
        let (status, _) = send_event(
            &server,
            event(id, "sh.keptn.event.evaluation.finished", stage, "carts"),
        )
        .await;
        assert_eq!(status, 200);
    }
    ok.next().await;
    ok.next().await;
    broken.next().await;
    // The figures once all three deliveries settled.
    let settled = common::eventually(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        "the deliveries did not settle within 10 s",
        || async {
            let now = stats(&server).await;
            (now["delivered"] == 2 && now["failed"] == 1).then_some(now)
        },
    )
    .await;
    assert_eq!(settled["events"], 4);
    assert_eq!(settled["deliveries"], 3);
    assert_eq!(settled["successRate"].as_f64().unwrap(), 2.0 / 3.0);
    assert_eq!(settled["waiting"], 0);
    assert_eq!(settled["retrying"], 0);
    assert_eq!(settled["oldestPendingSeconds"], Value::Null);
    assert_eq!(settled["unreadErrors"], 1);
    assert_eq!(bucket_sum(&settled, "delivered"), 2);
    assert_eq!(bucket_sum(&settled, "failed"), 1);
    assert_eq!(bucket_sum(&settled, "retrying"), 0);

    let rows = settled["subscriptions"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|row| row["subscriptionId"] == id).unwrap();
    let dev_row = row(&dev);
    assert_eq!(dev_row["deliveries"], 2);
    assert_eq!(dev_row["delivered"], 2);
    assert_eq!(dev_row["successRate"].as_f64().unwrap(), 1.0);
    assert!(dev_row["p50DurationMs"].as_i64().is_some(), "{dev_row}");
    assert!(
        dev_row["p95DurationMs"].as_i64().unwrap() >= dev_row["p50DurationMs"].as_i64().unwrap()
    );
    assert_eq!(dev_row["lastError"], Value::Null);
    let staging_row = row(&staging);
    assert_eq!(staging_row["failed"], 1);
    assert_eq!(staging_row["successRate"].as_f64().unwrap(), 0.0);
    assert_eq!(staging_row["p50DurationMs"], Value::Null);
    assert_eq!(
        staging_row["lastError"]["message"],
        "HTTP 400: invalid_payload"
    );
    assert!(staging_row["lastError"]["deliveryId"].is_string());
}
