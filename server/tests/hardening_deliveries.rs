//! Deliveries under faults (issue 12): a delivery waiting in the Slack lane longer than its
//! lease is sent once, an attempt that cannot be recorded is not sent again and again, a
//! redeliver never sends in parallel, database errors are retried rather than final, an
//! unreadable stored filter matches nothing, and a full ingest queue answers 503.
//! Every receiver is a real HTTP server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    call, create_subscription, eventually, open_db as db, send_event as post_event, TestServer,
    LOOPBACK, REGISTRATION,
};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
struct Hit {
    webhook_id: String,
    body: String,
}

/// A webhook receiver on 127.0.0.1:0 that records every request, answers 200 after `delay`,
/// and (when gated) only once the test adds a permit.
struct Receiver {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    arrivals: tokio::sync::Mutex<mpsc::UnboundedReceiver<Hit>>,
    gate: Arc<Semaphore>,
}

impl Receiver {
    async fn start(delay: Duration, gated: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Semaphore::new(if gated {
            0
        } else {
            Semaphore::MAX_PERMITS
        }));
        let (tx, rx) = mpsc::unbounded_channel();
        let (seen, wait) = (hits.clone(), gate.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (seen, wait, tx) = (seen.clone(), wait.clone(), tx.clone());
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let hit = Hit {
                    webhook_id: parts
                        .headers
                        .get("webhook-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string(),
                    body: String::from_utf8_lossy(&bytes).to_string(),
                };
                seen.lock().unwrap().push(hit.clone());
                let _ = tx.send(hit);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                wait.acquire().await.unwrap().forget();
                "ok"
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            port,
            hits,
            arrivals: tokio::sync::Mutex::new(rx),
            gate,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next request, waiting at most `within`.
    async fn next(&self, within: Duration) -> Hit {
        tokio::time::timeout(within, self.arrivals.lock().await.recv())
            .await
            .expect("no request reached the receiver in time")
            .unwrap()
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

fn config(dir: &tempfile::TempDir, change: impl FnOnce(&mut server::Config)) -> server::Config {
    let mut config = TestServer::config_allowing(dir, LOOPBACK);
    change(&mut config);
    config
}

async fn start(change: impl FnOnce(&mut server::Config)) -> TestServer {
    TestServer::start_allowing(LOOPBACK, change).await
}

/// Subscribes the built-in webhook-service to evaluation.finished events of `stages`,
/// sending `{"n": <score>}` to `url`; returns the subscription id.
async fn subscribe(server: &TestServer, url: &str, stages: &[&str]) -> String {
    let (status, created) = create_subscription(
        server,
        json!({
            "event": "sh.keptn.event.evaluation.finished",
            "filter": {"projects": [], "stages": stages, "services": []},
            "webhook": {"method": "POST", "url": url, "headers": [],
                        "payload": "{\"n\": {{.data.evaluation.score}}}",
                        "proxy": null, "sendStarted": false, "sendFinished": false}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

fn evaluation(id: &str, stage: &str, n: i64) -> Value {
    json!({"type": "sh.keptn.event.evaluation.finished", "specversion": "1.0",
           "source": "lighthouse-service", "id": id, "shkeptncontext": "ctx-hardening",
           "data": {"project": "sockshop", "stage": stage, "service": "carts",
                    "evaluation": {"result": "pass", "score": n}}})
}

async fn send_event(server: &TestServer, event: Value) {
    let (status, body) = post_event(server, event).await;
    assert_eq!(status, 200, "{body}");
}

/// Waits (at most `within`) until `query` (one text column) returns exactly `expected`.
async fn until_rows(
    pool: &sqlx::SqlitePool,
    query: &'static str,
    expected: &[&str],
    within: Duration,
) {
    let result = tokio::time::timeout(within, async {
        loop {
            let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap();
            if rows == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if result.is_err() {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap();
        panic!("{query}: {rows:?} is not {expected:?} after {within:?}");
    }
}

/// (status, attempt_count, reason) of the one delivery of `event_id`.
async fn delivery_state(pool: &sqlx::SqlitePool, event_id: &str) -> (String, i64, Option<String>) {
    sqlx::query_as("SELECT status, attempt_count, reason FROM deliveries WHERE event_id = ?")
        .bind(event_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_delivery_waiting_in_the_slack_lane_longer_than_its_lease_is_sent_once() {
    common::sqlite_only();
    // One request of the lane at a time, 400 ms each: the tenth waits about 3.6 s for its
    // turn, far longer than the 1.5 s lease.
    let receiver = Receiver::start(Duration::from_millis(400), false).await;
    let server = start(|config| {
        config.slack_hosts = vec!["127.0.0.1".to_string()];
        config.slack_burst = 1;
        config.slack_interval = Duration::from_millis(10);
        config.delivery_lease = Duration::from_millis(1500);
    })
    .await;
    subscribe(&server, &receiver.url("/services/lane"), &[]).await;
    const EVENTS: i64 = 10;
    for n in 0..EVENTS {
        send_event(&server, evaluation(&format!("lane-{n}"), "dev", n)).await;
    }
    let pool = server.db().await;
    until_rows(
        &pool,
        "SELECT DISTINCT status FROM deliveries",
        &["delivered"],
        Duration::from_secs(30),
    )
    .await;
    // A stale holder would still be waiting in the lane: stopping lets every sender finish.
    server.stop().await.unwrap();
    let hits = receiver.hits();
    let ids: Vec<&str> = hits.iter().map(|h| h.webhook_id.as_str()).collect();
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        (hits.len(), distinct.len()),
        (EVENTS as usize, EVENTS as usize),
        "every delivery reaches the receiver exactly once: {ids:?}"
    );
    let order: Vec<i64> = hits
        .iter()
        .map(|h| {
            serde_json::from_str::<Value>(&h.body).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(order, (0..EVENTS).collect::<Vec<_>>(), "in event order");
}

#[tokio::test]
async fn an_attempt_that_cannot_be_recorded_is_not_sent_again_and_again() {
    common::sqlite_only();
    let receiver = Receiver::start(Duration::ZERO, false).await;
    let server = start(|config| config.delivery_lease = Duration::from_millis(500)).await;
    subscribe(&server, &receiver.url("/hook"), &[]).await;
    let pool = server.db().await;
    // Every attempt record now fails (a database that refuses the write).
    sqlx::query(
        "CREATE TRIGGER refuse_attempts BEFORE INSERT ON delivery_attempts
         BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    send_event(&server, evaluation("unrecordable", "dev", 1)).await;
    until_rows(
        &pool,
        "SELECT status FROM deliveries WHERE event_id = 'unrecordable'",
        &["failed"],
        Duration::from_secs(40),
    )
    .await;
    let (_, attempts, reason) = delivery_state(&pool, "unrecordable").await;
    assert_eq!(
        (attempts, reason.as_deref()),
        (
            0,
            Some(
                "not sent again: the attempt could not be recorded 3 times in a row \
                 (it may have arrived); see the server log"
            )
        )
    );
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "sent at most 3 times: {hits:?}");
    assert!(hits.iter().all(|h| h.webhook_id == hits[0].webhook_id));

    // Once the database is well again, a redeliver sends it and records the attempt.
    sqlx::query("DROP TRIGGER refuse_attempts")
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("/api/v1/deliveries/{}/redeliver", hits[0].webhook_id),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    until_rows(
        &pool,
        "SELECT status FROM deliveries WHERE event_id = 'unrecordable'",
        &["delivered"],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(delivery_state(&pool, "unrecordable").await.1, 1);
    assert_eq!(receiver.hits().len(), 4);
}

#[tokio::test]
async fn redeliver_of_a_delivery_in_flight_is_refused_and_nothing_is_sent_twice() {
    common::sqlite_only();
    let receiver = Receiver::start(Duration::ZERO, true).await;
    let server = start(|_| {}).await;
    subscribe(&server, &receiver.url("/hook"), &[]).await;
    send_event(&server, evaluation("in-flight", "dev", 1)).await;
    // The receiver holds the first request: the delivery is being sent.
    let first = receiver.next(Duration::from_secs(10)).await;
    let path = format!("/api/v1/deliveries/{}/redeliver", first.webhook_id);
    assert_eq!(
        call(&server, Method::POST, &path, None).await,
        (
            409,
            json!({"code": 409, "message": format!(
                "delivery {} is being sent right now; redeliver it once this attempt has finished",
                first.webhook_id)})
        )
    );
    receiver.gate.add_permits(10);
    let pool = server.db().await;
    until_rows(
        &pool,
        "SELECT status FROM deliveries WHERE event_id = 'in-flight'",
        &["delivered"],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(delivery_state(&pool, "in-flight").await.1, 1);
    assert_eq!(receiver.hits().len(), 1, "sent once");
    // Settled, it can be redelivered as before.
    assert_eq!(
        call(&server, Method::POST, &path, None).await,
        (202, json!({"id": first.webhook_id}))
    );
    let again = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(again.webhook_id, first.webhook_id);
}

#[tokio::test]
async fn a_database_error_while_loading_the_subscription_is_retried_not_final() {
    common::sqlite_only();
    let receiver = Receiver::start(Duration::ZERO, false).await;
    let dir = tempfile::tempdir().unwrap();
    let quick = |config: &mut server::Config| {
        config.retry_schedule = server::config::RetrySchedule(vec![Duration::from_millis(300); 20]);
    };
    let server = TestServer::start_with(config(&dir, quick), dir).await;
    let subscription = subscribe(&server, &receiver.url("/hook"), &[]).await;
    let dir = server.stop_keep_dir().await;
    {
        // A delivery waiting, and the subscriptions table unreadable (a database error).
        let pool = db(dir.path()).await;
        let integration: String =
            sqlx::query_scalar("SELECT integration_id FROM subscriptions WHERE id = ?")
                .bind(&subscription)
                .fetch_one(&pool)
                .await
                .unwrap();
        let event = evaluation("db-error", "dev", 7);
        sqlx::query(
            "INSERT INTO events (id, type, source, shkeptncontext, time, project, stage, service, body, received_at)
             VALUES ('db-error', 'sh.keptn.event.evaluation.finished', 'test', 'ctx-hardening',
                     '2026-11-30T10:00:00.000Z', 'sockshop', 'dev', 'carts', ?, '2026-11-30T10:00:00.000Z')",
        )
        .bind(event.to_string())
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO deliveries (id, subscription_id, integration_id, event_id, status, next_attempt_at, created_at, updated_at)
             VALUES ('d-db-error', ?, ?, 'db-error', 'pending', 0, '2026-11-30T10:00:00.000Z', '2026-11-30T10:00:00.000Z')",
        )
        .bind(&subscription)
        .bind(&integration)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("ALTER TABLE subscriptions RENAME TO subscriptions_away")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let server = TestServer::start_with(config(&dir, quick), dir).await;
    let pool = server.db().await;
    let waiting = &pool;
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(20),
        "no attempt within 10 s",
        || async move { (delivery_state(waiting, "db-error").await.1 != 0).then_some(()) },
    )
    .await;
    let (status, _, reason) = delivery_state(&pool, "db-error").await;
    let reason = reason.unwrap_or_default();
    assert_eq!(
        status, "retrying",
        "a database error is not final: {reason}"
    );
    assert!(
        reason.starts_with("cannot read the subscription: database: ")
            && reason.contains("subscriptions"),
        "{reason}"
    );
    assert!(receiver.hits().is_empty());
    // The database is well again: the next attempt sends it.
    sqlx::query("ALTER TABLE subscriptions_away RENAME TO subscriptions")
        .execute(&pool)
        .await
        .unwrap();
    let hit = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(
        (hit.webhook_id.as_str(), hit.body.as_str()),
        ("d-db-error", "{\"n\": 7}")
    );
    until_rows(
        &pool,
        "SELECT status FROM deliveries WHERE event_id = 'db-error'",
        &["delivered"],
        Duration::from_secs(10),
    )
    .await;
}

#[tokio::test]
async fn a_stored_filter_that_does_not_parse_matches_no_event() {
    common::sqlite_only();
    let receiver = Receiver::start(Duration::ZERO, false).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(config(&dir, |_| {}), dir).await;
    subscribe(&server, &receiver.url("/hook"), &["dev"]).await;
    let dir = server.stop_keep_dir().await;
    {
        let pool = db(dir.path()).await;
        sqlx::query("UPDATE subscriptions SET filter = '{\"stages\": \"dev\"'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let server = TestServer::start_with(config(&dir, |_| {}), dir).await;
    send_event(&server, evaluation("broken-filter", "production", 1)).await;
    let pool = server.db().await;
    let deliveries: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE event_id = 'broken-filter'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        deliveries, 0,
        "an unreadable filter must not match every event"
    );
    // The subscription shows why it matches nothing.
    let (_, list) = call(
        &server,
        Method::GET,
        &format!("{REGISTRATION}?name=webhook-service"),
        None,
    )
    .await;
    assert_eq!(
        list[0]["subscriptions"][0]["filter"]["projects"],
        json!(["(the stored filter cannot be read: set the filter again)"])
    );
    assert!(receiver.hits().is_empty());
}

#[tokio::test]
async fn a_full_ingest_queue_answers_503_with_retry_after_and_loses_nothing() {
    common::sqlite_only();
    let server = start(|config| config.ingest_queue = 1).await;
    // (answered once the server has started and created its database)
    assert_eq!(
        call(&server, Method::GET, "/api/v1/event", None).await.0,
        200
    );
    let pool = server.db().await;
    // Another process holds the write lock: the event writer is stuck on its first batch.
    let lock = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    const EVENTS: usize = 20;
    let (tx, mut answers) = mpsc::unbounded_channel();
    for n in 0..EVENTS {
        let request = server.api(Method::POST, "/api/v1/event").json(&evaluation(
            &format!("queued-{n}"),
            "dev",
            n as i64,
        ));
        let tx = tx.clone();
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let _ = tx.send((n, status, retry_after, body));
        });
    }
    // One event is with the writer, one waits in the queue: every other is refused at once.
    let mut refused = Vec::new();
    for _ in 0..EVENTS - 2 {
        let (n, status, retry_after, body) =
            tokio::time::timeout(Duration::from_secs(10), answers.recv())
                .await
                .expect("a full queue must answer at once")
                .unwrap();
        assert_eq!(
            (status, retry_after.as_deref(), body),
            (
                503,
                Some("1"),
                json!({"code": 503, "message":
                    "too many events are waiting to be stored; nothing was stored, send it again later"})
            )
        );
        refused.push(n);
    }
    lock.rollback().await.unwrap();
    let mut accepted = Vec::new();
    for _ in 0..2 {
        let (n, status, _, body) = tokio::time::timeout(Duration::from_secs(10), answers.recv())
            .await
            .unwrap()
            .unwrap();
        match status {
            200 => accepted.push(n),
            503 => refused.push(n),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(!accepted.is_empty(), "the events in the queue are stored");
    let (_, page) = call(
        &server,
        Method::GET,
        "/api/v1/event?keptnContext=ctx-hardening&pageSize=100",
        None,
    )
    .await;
    let mut stored: Vec<String> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    stored.sort();
    let mut expected: Vec<String> = accepted.iter().map(|n| format!("queued-{n}")).collect();
    expected.sort();
    assert_eq!(
        stored, expected,
        "every event answered 200 is stored, no refused one"
    );
}
