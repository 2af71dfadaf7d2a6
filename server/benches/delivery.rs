//! Delivery benchmark: the real server (started in-process with `server::run` on a pre-bound
//! 127.0.0.1:0 listener, real SQLite file in a temporary data dir) sending webhooks to a
//! local HTTP receiver (axum on 127.0.0.1:0, answers 200 `ok`, records `webhook-id` headers
//! and arrival times). The seed subscription (secret `slack-secret`, Slack-style URL) is
//! created through the REST API; its payload is `{"t": {{.data.sentAtNanos}}}`, so the
//! receiver learns when each event was posted.
//!
//! It prints, beside the targets:
//! 1. durable end-to-end throughput: `BENCH_EVENTS` (default 20,000) events posted with 32
//!    in flight, all received and their attempts recorded (`deliveries.status =
//!    'delivered'`), as events/s over the whole run; plus per-phase timings (ingest alone,
//!    drain after ingest);
//! 2. `POST /api/v1/event` latency p50/p99 at an offered load of 1,000 events/s for 5 s
//!    (open loop: sends scheduled at fixed intervals; latency counted from the scheduled
//!    time, so a late sender counts against the server);
//! 3. event → received latency p50/p99 at 500 events/s for 5 s (send time stamped in
//!    `data.sentAtNanos`, the receiver computes now − t);
//! 4. a diagnostic: ingest alone (events matching no subscription, 32 in flight);
//! 5. peak RSS (VmHWM of /proc/self/status). The server runs in this process, so this
//!    includes the load generator and the receiver: an upper bound for the server.
//!
//! Run: `cargo bench -p server --bench delivery` (bench profile = release). Everything shares
//! the machine's cores: load generator, receiver and server compete for the same CPUs.
//! `BENCH_EVENTS=2000` shortens phase 1 for a quick look.
//!
//! `BENCH_DATABASE_URL=postgres://…` (an empty database) runs the server on PostgreSQL
//! instead, and `BENCH_REPLICAS=2` starts that many servers on it in this process, the load
//! spread over them round-robin (each replica is a whole server: its own pool, sender and
//! caches; they share nothing but the database).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const TOKEN: &str = "bench-token-0123456789abcdef";
const PASSWORD: &str = "bench password, not a secret";
const REGISTRATION: &str = "/api/controlPlane/v1/uniform/registration";
const EVENT_TYPE: &str = "sh.keptn.event.evaluation.finished";
const IN_FLIGHT: usize = 32;

/// What the receiver has seen.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    ids: Mutex<HashSet<String>>,
    /// Event → received latencies (ns) since the last reset.
    latencies: Mutex<Vec<u64>>,
}

fn now_nanos() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

async fn receive(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: Bytes) -> &'static str {
    let arrived = now_nanos();
    seen.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        seen.ids.lock().unwrap().insert(id.to_string());
    }
    if let Ok(payload) = serde_json::from_slice::<Value>(&body) {
        let sent = match &payload["t"] {
            Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        if let Some(sent) = sent {
            seen.latencies
                .lock()
                .unwrap()
                .push(arrived.saturating_sub(sent));
        }
    }
    "ok"
}

async fn start_receiver(seen: Arc<Seen>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(receive).with_state(seen);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

struct Bench {
    /// One base URL per server (replica); API calls and events go round-robin.
    bases: Vec<String>,
    next: std::sync::atomic::AtomicUsize,
    client: reqwest::Client,
    db: BenchDb,
}

/// Where the benchmark counts recorded deliveries.
enum BenchDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Bench {
    /// The next server, round-robin.
    fn base(&self) -> &str {
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.bases[turn % self.bases.len()]
    }

    fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base()))
            .header("x-token", TOKEN)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.api(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts one event; returns whether it was accepted (200).
    async fn post(&self, event_type: &str) -> bool {
        let event = json!({"type": event_type, "specversion": "1.0", "source": "bench",
            "data": {"project": "p", "stage": "dev", "service": "s",
                     "evaluation": {"result": "pass", "score": 100},
                     "sentAtNanos": now_nanos()}});
        match self
            .api(reqwest::Method::POST, "/api/v1/event")
            .json(&event)
            .send()
            .await
        {
            Ok(response) => {
                let ok = response.status() == 200;
                let _ = response.bytes().await;
                ok
            }
            Err(_) => false,
        }
    }

    async fn delivered(&self) -> i64 {
        const COUNT: &str = "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'";
        match &self.db {
            BenchDb::Sqlite(pool) => sqlx::query_scalar(COUNT).fetch_one(pool).await.unwrap(),
            BenchDb::Postgres(pool) => sqlx::query_scalar(COUNT).fetch_one(pool).await.unwrap(),
        }
    }

    /// Waits until `target` deliveries are delivered (at most `limit`); returns the count.
    async fn wait_delivered(&self, target: i64, limit: Duration) -> i64 {
        let deadline = Instant::now() + limit;
        loop {
            let count = self.delivered().await;
            if count >= target || Instant::now() >= deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Posts `count` events of `event_type` with `IN_FLIGHT` in flight; returns the failures.
    async fn post_many(self: &Arc<Self>, count: usize, event_type: &'static str) -> usize {
        let next = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..IN_FLIGHT {
            let (bench, next, failed) = (self.clone(), next.clone(), failed.clone());
            workers.spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    if !bench.post(event_type).await {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        while workers.join_next().await.is_some() {}
        failed.load(Ordering::Relaxed)
    }

    /// Posts at `rate`/s for `duration`, open loop; returns (latencies from the scheduled
    /// time, failures, wall time of the sending).
    async fn open_loop(
        self: &Arc<Self>,
        rate: u32,
        duration: Duration,
    ) -> (Vec<Duration>, usize, Duration) {
        let total = (f64::from(rate) * duration.as_secs_f64()) as u32;
        let interval = Duration::from_secs(1) / rate;
        let start = tokio::time::Instant::now() + Duration::from_millis(10);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..total {
            let scheduled = start + interval * i;
            tokio::time::sleep_until(scheduled).await;
            let bench = self.clone();
            tasks.spawn(async move {
                let ok = bench.post(EVENT_TYPE).await;
                (scheduled.elapsed(), ok)
            });
        }
        let mut latencies = Vec::with_capacity(total as usize);
        let mut failed = 0;
        while let Some(result) = tasks.join_next().await {
            let (latency, ok) = result.unwrap();
            if ok {
                latencies.push(latency);
            } else {
                failed += 1;
            }
        }
        (latencies, failed, start.elapsed())
    }
}

/// The `p`-quantile (0..=1) of sorted `values`.
fn quantile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets"
    } else {
        "MISSES"
    }
}

fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let only_throughput = std::env::var_os("BENCH_ONLY_THROUGHPUT").is_some();

    // The receiver, then the server.
    let seen = Arc::new(Seen::default());
    let receiver = start_receiver(seen.clone()).await;
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    let replicas: usize = std::env::var("BENCH_REPLICAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let data_dirs: Vec<_> = (0..replicas)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let mut bases = Vec::new();
    let mut stops = Vec::new();
    let mut server_tasks = Vec::new();
    for data_dir in &data_dirs {
        let mut config = server::Config::with_data_dir(data_dir.path());
        config.api_token = Some(TOKEN.to_string());
        config.admin_password = Some(PASSWORD.to_string());
        config.webhook_allow_cidrs = vec!["127.0.0.1/32".parse().unwrap()];
        if let Some(url) = &database_url {
            config.database_url = Some(url.clone());
            config.master_key = Some("YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=".to_string());
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop_tx);
        server_tasks.push(tokio::spawn(server::run(config, listener, async move {
            let _ = stop_rx.await;
        })));
    }

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    // Wait for the listeners to answer (migrations run before they serve).
    for base in &bases {
        for _ in 0..200 {
            if client.get(format!("{base}/")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let db = match &database_url {
        Some(url) => BenchDb::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap(),
        ),
        None => BenchDb::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&format!(
                    "sqlite://{}",
                    data_dirs[0].path().join("uniform.db").display()
                ))
                .await
                .unwrap(),
        ),
    };
    println!(
        "database: {}, replicas: {replicas}",
        if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let bench = Arc::new(Bench {
        bases,
        next: Default::default(),
        client,
        db,
    });

    // The seed: secret, subscription of the webhook service.
    let (status, body) = bench
        .call(
            reqwest::Method::POST,
            "/api/secrets/v1/secret",
            Some(
                json!({"name": "slack-secret", "scope": "keptn-webhook-service",
                        "data": {"webhook-identifier": "XXXXXXXXXXXXXXXXXXXXXXXX"}}),
            ),
        )
        .await;
    assert!(status == 200 || status == 201, "secret: {status} {body}");
    let (_, list) = bench
        .call(
            reqwest::Method::GET,
            &format!("{REGISTRATION}?name=webhook-service"),
            None,
        )
        .await;
    let integration = list[0]["id"].as_str().unwrap().to_string();
    let url = format!(
        "http://127.0.0.1:{}/services/T00000000/B00000000/{{{{.secret.slack-secret.webhook-identifier}}}}",
        receiver.port()
    );
    let (status, body) = bench
        .call(
            reqwest::Method::POST,
            &format!("{REGISTRATION}/{integration}/subscription"),
            Some(json!({"event": EVENT_TYPE,
                "filter": {"projects": [], "stages": ["dev", "staging"], "services": []},
                "webhook": {"method": "POST", "url": url, "headers": [],
                            "payload": "{\"t\": {{.data.sentAtNanos}}}",
                            "proxy": null, "sendStarted": false, "sendFinished": false}})),
        )
        .await;
    assert_eq!(status, 201, "subscription: {body}");

    // Warm-up: a few deliveries, so connections and compiled templates exist.
    let warm = 200;
    assert_eq!(bench.post_many(warm, EVENT_TYPE).await, 0);
    let mut expected = i64::try_from(warm).unwrap();
    assert_eq!(
        bench
            .wait_delivered(expected, Duration::from_secs(30))
            .await,
        expected,
        "warm-up deliveries"
    );

    // 1. Durable end-to-end throughput.
    seen.ids.lock().unwrap().clear();
    let before = seen.requests.load(Ordering::Relaxed);
    let start = Instant::now();
    let failed = bench.post_many(events, EVENT_TYPE).await;
    let ingest = start.elapsed();
    let delivered_at_ingest = bench.delivered().await - expected;
    expected += i64::try_from(events - failed).unwrap();
    let mut received_all = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if received_all.is_none() && seen.ids.lock().unwrap().len() >= events - failed {
            received_all = Some(start.elapsed());
        }
        if bench.delivered().await >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = start.elapsed();
    let delivered = bench.delivered().await - (expected - i64::try_from(events - failed).unwrap());
    let distinct = seen.ids.lock().unwrap().len();
    let requests = seen.requests.load(Ordering::Relaxed) - before;
    let throughput = delivered as f64 / total.as_secs_f64();
    let drain = total.saturating_sub(ingest);
    let drain_rate = (delivered - delivered_at_ingest) as f64 / drain.as_secs_f64().max(1e-9);

    println!("\n== 1. durable end-to-end throughput ({events} events, {IN_FLIGHT} in flight)");
    println!(
        "   posted (accepted)          {} ({failed} failed)",
        events - failed
    );
    println!(
        "   ingest (all POSTs answered) {:.2} s = {:.0} events/s; {delivered_at_ingest} delivered by then",
        ingest.as_secs_f64(),
        (events - failed) as f64 / ingest.as_secs_f64()
    );
    if let Some(received) = received_all {
        println!(
            "   all received by receiver   {:.2} s ({distinct} distinct webhook-ids, {requests} requests)",
            received.as_secs_f64()
        );
    }
    println!(
        "   all recorded delivered     {:.2} s ({delivered} delivered); drain after ingest {:.2} s at {drain_rate:.0}/s",
        total.as_secs_f64(),
        drain.as_secs_f64()
    );
    println!(
        "   => {throughput:.0} deliveries/s end to end   (target >= 5,000: {})",
        verdict(throughput >= 5000.0)
    );

    if !only_throughput {
        // 2. Accept latency at 1,000 events/s.
        let (mut accept, failed, took) = bench.open_loop(1000, Duration::from_secs(5)).await;
        accept.sort();
        let (a50, a99) = (quantile(&accept, 0.50), quantile(&accept, 0.99));
        expected += i64::try_from(accept.len()).unwrap();
        println!("\n== 2. POST /api/v1/event latency at 1,000 events/s offered (open loop, 5 s)");
        println!(
            "   {} answered, {failed} failed, sending took {:.2} s; max {:.2} ms",
            accept.len(),
            took.as_secs_f64(),
            ms(*accept.last().unwrap())
        );
        println!(
            "   => p50 {:.2} ms, p99 {:.2} ms   (target p99 <= 10 ms: {})",
            ms(a50),
            ms(a99),
            verdict(a99 <= Duration::from_millis(10))
        );
        let settled = bench
            .wait_delivered(expected, Duration::from_secs(120))
            .await;
        expected = settled;

        // 3. Event → received latency at 500 events/s.
        seen.latencies.lock().unwrap().clear();
        let (sent, failed, _) = bench.open_loop(500, Duration::from_secs(5)).await;
        expected += i64::try_from(sent.len()).unwrap();
        let settled = bench
            .wait_delivered(expected, Duration::from_secs(120))
            .await;
        let mut e2e = std::mem::take(&mut *seen.latencies.lock().unwrap());
        e2e.sort_unstable();
        let (e50, e99) = (
            Duration::from_nanos(quantile(&e2e, 0.50)),
            Duration::from_nanos(quantile(&e2e, 0.99)),
        );
        println!("\n== 3. event -> received latency at 500 events/s (open loop, 5 s)");
        println!(
            "   {} sent, {failed} failed, {} received; max {:.2} ms",
            sent.len(),
            e2e.len(),
            ms(Duration::from_nanos(*e2e.last().unwrap()))
        );
        println!(
            "   => p50 {:.2} ms (target <= 5 ms: {}), p99 {:.2} ms (target <= 25 ms: {})",
            ms(e50),
            verdict(e50 <= Duration::from_millis(5)),
            ms(e99),
            verdict(e99 <= Duration::from_millis(25))
        );
        let _ = settled;

        // 4. Diagnostic: ingest alone (no subscription matches, so no deliveries).
        let n = events.min(10_000);
        let start = Instant::now();
        let failed = bench.post_many(n, "sh.keptn.event.bench.unmatched").await;
        let took = start.elapsed();
        println!("\n== 4. diagnostic: ingest alone ({n} unmatched events, {IN_FLIGHT} in flight)");
        println!(
            "   {:.2} s = {:.0} events/s ({failed} failed)",
            took.as_secs_f64(),
            (n - failed) as f64 / took.as_secs_f64()
        );
    }

    // 5. Peak RSS of this process (server + load generator + receiver).
    let hwm = proc_status("VmHWM:").unwrap_or(0);
    let rss = proc_status("VmRSS:").unwrap_or(0);
    println!("\n== 5. memory (server in-process: includes load generator and receiver)");
    println!(
        "   => peak RSS (VmHWM) {:.1} MB, RSS now {:.1} MB   (target <= 150 MB: {})",
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0,
        verdict(hwm <= 150 * 1024)
    );

    for stop in stops {
        let _ = stop.send(());
    }
    for task in server_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
    }
}
