//! The Slack lane across replicas (PostgreSQL): three real binaries on one database send
//! one lane's deliveries paced (a burst of 3, then one per interval) and in event order,
//! also while the replica holding the lane is killed; a 429's `Retry-After` holds back
//! every replica. Skipped (with a line saying so) without `UNIFORM_TEST_DATABASE_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{BinaryServer, MockReceiver, Reply, REGISTRATION};
use reqwest::Method;
use serde_json::json;

/// Pacing interval of the test (the default is 1 s; shorter keeps the test short).
const INTERVAL: Duration = Duration::from_millis(200);

fn admin_url() -> Option<String> {
    let url = common::postgres_admin_url();
    if url.is_none() {
        println!("skipped: needs PostgreSQL (UNIFORM_TEST_DATABASE_URL)");
    }
    url
}

/// Starts `n` replicas on one fresh database; the receiver's host is a Slack host.
fn replicas(admin: &str, n: usize) -> (Vec<BinaryServer>, Vec<tempfile::TempDir>, String) {
    let database = common::fresh_postgres_database(admin);
    let interval = format!("{}ms", INTERVAL.as_millis());
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..n {
        let dir = tempfile::tempdir().unwrap();
        servers.push(BinaryServer::start(
            dir.path(),
            &[
                ("UNIFORM_DATABASE_URL", database.as_str()),
                ("UNIFORM_MASTER_KEY", common::PG_MASTER_KEY),
                ("UNIFORM_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"),
                ("UNIFORM_SLACK_HOSTS", "127.0.0.1"),
                ("UNIFORM_SLACK_INTERVAL", interval.as_str()),
                ("UNIFORM_DELIVERY_LEASE", "2s"),
            ],
        ));
        dirs.push(dir);
    }
    (servers, dirs, database)
}

/// Creates the lane's subscription through `server`: every evaluation.finished event is
/// sent to `/lane` with its score (the event's number) in the body.
async fn subscribe(server: &BinaryServer, receiver: &MockReceiver) {
    let list = server
        .get_json(&format!("{REGISTRATION}?name=webhook-service"))
        .await;
    let id = list[0]["id"].as_str().unwrap();
    let created = server
        .api(Method::POST, &format!("{REGISTRATION}/{id}/subscription"))
        .json(&json!({"event": "sh.keptn.event.evaluation.finished",
            "webhook": {"method": "POST",
                        "url": format!("http://127.0.0.1:{}/lane", receiver.addr.port()),
                        "payload": "{\"n\": {{.data.evaluation.score}}}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

/// Posts event number `n` to `server`.
async fn post(server: &BinaryServer, n: usize) {
    let event = json!({"type": "sh.keptn.event.evaluation.finished", "specversion": "1.0",
        "source": "lighthouse-service", "id": format!("lane-{n}"),
        "shkeptncontext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb",
        "data": {"project": "sockshop", "stage": "dev", "service": "carts",
                 "evaluation": {"result": "pass", "score": n}}});
    let response = server
        .api(Method::POST, "/api/v1/event")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The replica (index) holding the lane, found by its id in `lane_holders`.
async fn holder_of(servers: &[Option<BinaryServer>], database: &str) -> usize {
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    let holder: String = common::eventually(
        Duration::from_secs(10),
        Duration::from_millis(20),
        "no replica took the lane",
        || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar("SELECT holder FROM lane_holders")
                    .fetch_optional(&pool)
                    .await
                    .unwrap()
            }
        },
    )
    .await;
    pool.close().await;
    servers
        .iter()
        .position(|server| {
            server
                .as_ref()
                .is_some_and(|s| s.log().contains(&format!("replica={holder}")))
        })
        .expect("the holder is one of the replicas")
}

/// Checks arrivals (time, number) against the pace: in any window of k intervals at most
/// 3 + k arrive (5 % slack for timer jitter).
fn assert_paced(arrivals: &[(Instant, usize)]) {
    for i in 0..arrivals.len() {
        for j in i + 1..arrivals.len() {
            let span = arrivals[j].0 - arrivals[i].0;
            let windows = (span.as_secs_f64() / INTERVAL.as_secs_f64() - 0.05).ceil() as usize;
            assert!(
                j - i < 3 + windows,
                "{} arrivals within {span:?} (at most {} allowed): {:?}",
                j - i + 1,
                3 + windows,
                &arrivals[i..=j].iter().map(|(_, n)| n).collect::<Vec<_>>()
            );
        }
    }
}

#[tokio::test]
async fn the_lane_is_paced_and_ordered_across_replicas_while_its_holder_dies() {
    let Some(admin) = admin_url() else { return };
    let receiver = MockReceiver::start().await;
    let (servers, _dirs, database) = replicas(&admin, 3);
    let mut servers: Vec<Option<BinaryServer>> = servers.into_iter().map(Some).collect();
    subscribe(servers[1].as_ref().unwrap(), &receiver).await;
    // 60 events, in order, spread over the replicas.
    for n in 0..60 {
        post(servers[n % 3].as_ref().unwrap(), n).await;
    }
    let mut arrivals: Vec<(Instant, usize)> = Vec::new();
    let number = |body: &str| -> usize {
        serde_json::from_str::<serde_json::Value>(body).unwrap()["n"]
            .as_u64()
            .unwrap() as usize
    };
    while arrivals.len() < 20 {
        let got = receiver.next().await;
        arrivals.push((got.at, number(&got.body)));
    }
    let holder = holder_of(&servers, &database).await;
    servers[holder].take().unwrap().kill_hard();
    let killed_at = Instant::now();
    let mut seen: std::collections::BTreeSet<usize> = arrivals.iter().map(|(_, n)| *n).collect();
    while seen.len() < 60 {
        let got = receiver.next().await;
        let n = number(&got.body);
        seen.insert(n);
        arrivals.push((got.at, n));
    }
    let taken_over = arrivals
        .iter()
        .find(|(at, _)| *at > killed_at)
        .map(|(at, _)| *at - killed_at);
    println!(
        "60 deliveries, {} requests; first after the kill {taken_over:?} later",
        arrivals.len()
    );
    // In event order; at most one request sent twice (the one in flight at the kill), right
    // after the kill.
    let numbers: Vec<usize> = arrivals.iter().map(|(_, n)| *n).collect();
    let mut resent = 0;
    for pair in numbers.windows(2) {
        if pair[1] == pair[0] + 1 {
            continue;
        }
        assert!(
            pair[1] <= pair[0] && resent == 0,
            "out of order: {numbers:?}"
        );
        resent += 1;
    }
    assert!(arrivals.len() <= 61, "{numbers:?}");
    assert_paced(&arrivals);
    assert!(taken_over.unwrap() < Duration::from_secs(2) + Duration::from_secs(2));
}

#[tokio::test]
async fn a_retry_after_holds_back_every_replica() {
    let Some(admin) = admin_url() else { return };
    let receiver = MockReceiver::start().await;
    let mut limited = Reply::new(429, "rate_limited");
    limited.headers = vec![("retry-after".to_string(), "2".to_string())];
    receiver.script(vec![limited]);
    let (servers, _dirs, _database) = replicas(&admin, 2);
    subscribe(&servers[0], &receiver).await;
    post(&servers[0], 0).await;
    let first = receiver.next().await;
    // Posted through the other replica, after the 429: held back until the Retry-After
    // has passed, whichever replica sends it.
    post(&servers[1], 1).await;
    // The retry of the first and the second event, in either order: both after the wait.
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let next = receiver.next().await;
        let waited = next.at - first.at;
        assert!(
            waited >= Duration::from_millis(1950),
            "a request left {waited:?} after the 429 (Retry-After: 2)"
        );
        bodies.push(next.body);
    }
    bodies.sort();
    assert_eq!(bodies, ["{\"n\": 0}", "{\"n\": 1}"]);
}
