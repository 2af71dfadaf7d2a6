//! Delivery benchmark with the server as its own process: the release `uniform` binary
//! (`CARGO_BIN_EXE_uniform`, built in the bench profile) runs as a child process on a fresh
//! data dir, logging at `warn` (`RUST_LOG=warn`: logging is not what is measured; the hot
//! path's `info` lines and spans are off). The load generator and the webhook receivers are
//! other processes, so the server's CPU time can be read from `/proc/<pid>/stat` and nothing
//! shares its runtime:
//!
//! - **wrk** (`/usr/bin/wrk`, Debian `wrk`) posts the seed event (an evaluation.finished of
//!   `sockshop/dev/carts`) to `POST /api/v1/event` with the `x-token` header, one thread and
//!   50 connections, from a generated Lua script that counts the answers and stops at
//!   `BENCH_EVENTS`;
//! - **nginx** (`/usr/sbin/nginx`, Debian `nginx-light`) answers every webhook `200 ok`
//!   (one worker, no master, no access log, keep-alive without a request limit, config and
//!   logs in a temporary directory, listening on a free port of 127.0.0.1).
//!
//! The seed is created through the REST API as in the README's example: the secret
//! `slack-secret` (scope `keptn-webhook-service`), and on the built-in `webhook-service`
//! integration a subscription to `sh.keptn.event.evaluation.finished` (stages dev, staging)
//! whose webhook is the Slack-style URL `http://127.0.0.1:<nginx>/services/T00000000/
//! B00000000/{{.secret.slack-secret.webhook-identifier}}` with the seed's `{"text": …}`
//! payload. A second subscription, to `sh.keptn.event.deployment.finished`, sends
//! `{"t": {{.data.sentAtNanos}}}` to a small receiver inside this benchmark process (axum on
//! 127.0.0.1:0) for the latency phase. A delivery counts only when it was received **and**
//! its attempt is recorded: the benchmark polls `deliveries.status = 'delivered'` in the
//! server's database (a read-only connection to `<data dir>/uniform.db`, or PostgreSQL).
//! After a warm-up (200 + 100 events through `reqwest`, all delivered), the phases are:
//!
//! 1. **Throughput** (`BENCH_EVENTS`, default 20,000): wrk posts the events, nginx receives
//!    the webhooks. Printed: events accepted (200 answers counted by wrk; deliveries stored),
//!    the time from starting wrk until every delivery is recorded `delivered`, the
//!    **durable end-to-end deliveries/s** over that time (target ≥ 6,000/s), the ingest rate
//!    (accepted events / time until wrk had its answers) with how many were delivered by
//!    then, and the drain rate after ingest (deliveries recorded after wrk stopped / time
//!    from then until the last).
//! 2. **Server CPU per delivery**: utime + stime of the server process(es) from
//!    `/proc/<pid>/stat` before and after phase 1 (clock ticks of `getconf CLK_TCK`, 100 if
//!    that fails), as µs per delivery, split user/system (target ≤ 150 µs). Beside it, from
//!    `/proc/stat`, the whole machine's busy CPU in the same window, split into server, wrk,
//!    nginx, this benchmark process (the DB polling) and everything else (e.g. a compiler
//!    running meanwhile): what the load generator and receiver cost.
//! 3. **Peak RSS** (VmHWM of `/proc/<pid>/status`) of the server after phase 1 (target
//!    ≤ 100 MB).
//! 4. **Latency at 1,000 events/s offered** (open loop for 5 s: sends scheduled at fixed
//!    instants, every latency counted from its scheduled instant, so a late sender counts
//!    against the server). The generator is `reqwest` in this process, the events are
//!    deployment.finished with `data.sentAtNanos` = the scheduled instant, delivered to the
//!    receiver in this process. Printed: `POST /api/v1/event` p50/p99 (target p99 ≤ 5 ms)
//!    and event → received p50/p99 (receiver's clock − scheduled instant; targets p50 ≤ 2 ms,
//!    p99 ≤ 5 ms). The sends are paced by a thread of their own that sleeps until each
//!    instant (not by tokio's timer, whose 1 ms steps made them 0.5 ms late on average).
//!    Printed for diagnosis beside them: how late the sends started (the generator's own
//!    lag, counted in both figures), and the server's CPU and context switches (all its
//!    threads, `/proc/<pid>/task/*/status`) per event in this phase.
//! 5. **Restart with 100,000 pending deliveries**: the server is stopped (SIGTERM, waited
//!    for), then one SQL statement per table puts 100,000 copies of a real event of phase 1
//!    and of its delivery into its database (fresh ids, the event body's id replaced,
//!    status `pending`, due now, no lease, no attempts; on SQLite a WAL checkpoint follows,
//!    as a running server would have made, on PostgreSQL an `ANALYZE`, as autovacuum would
//!    have). The binary is started again on the same data dir: printed are the time from
//!    spawn to the first `/readyz` 200 (polled every 2 ms; target ≤ 1 s), the time from
//!    spawn until all 100,000 are recorded `delivered` and that **drain rate** (target ≥ the
//!    throughput target, 6,000/s), the restarted server's CPU per delivery over that time
//!    (for information), and its peak RSS at the end (target ≤ 100 MB).
//!
//! Every figure is printed with its target and `meets`/`MISSES`, then once more in a table.
//!
//! Run: `cargo bench -p server --bench delivery`. Everything shares the machine's cores
//! (server, wrk, nginx, this process), so the figures depend on what else runs.
//! - `BENCH_EVENTS=2000`: a quick look; `BENCH_ONLY_THROUGHPUT=1`: phases 1–3 only;
//!   `BENCH_SKIP_RESTART=1`: no phase 5; `BENCH_LATENCY_RATE=N`: phase 4 at N events/s.
//! - `BENCH_UNIFORM=/path/to/uniform`: another build of the binary (an older commit, to
//!   compare side by side); default the one cargo built with this benchmark.
//! - `BENCH_DATABASE_URL=postgres://…/<empty database>`: the server(s) run on PostgreSQL
//!   (`UNIFORM_DATABASE_URL`, `UNIFORM_MASTER_KEY` set to a fixed bench key), and
//!   `BENCH_REPLICAS=N` starts N server processes on it, each on its own data dir and port.
//!   Phase 1 then runs one wrk per replica (the 50 connections and the events split between
//!   them); phase 4 spreads its sends round-robin; CPU and the restart figures are summed or
//!   taken over all of them (ready = the slowest replica, RSS = the largest).
//!   `.ci/pg start /tmp/pg` prints the URL of a throwaway PostgreSQL; create the database
//!   with `/usr/lib/postgresql/15/bin/psql "$URL" -c 'CREATE DATABASE bench'`.
//!
//! Needs `wrk` and `nginx` (`apt-get install wrk nginx-light`); it stops with that message
//! when either is missing. All traffic stays on 127.0.0.1.
//!
//! `floor.rs` measures the floor under these figures (the stack alone, and Uniform's ingest
//! alone) with the same wrk and nginx; the code both use is in `support/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use serde_json::{json, Value};

mod support;
use support::{
    clock_ticks, cpu_of, env_number, seed_event, start_nginx, tool, uniform_binary, wrk_script,
    Server, Wrk, WrkResult, THROUGHPUT_EVENT, TOKEN,
};

const REGISTRATION: &str = "/api/controlPlane/v1/uniform/registration";
/// Latency phase: delivered to the receiver in this process.
const LATENCY_EVENT: &str = "sh.keptn.event.deployment.finished";
/// The seed's Slack message.
const SEED_PAYLOAD: &str = "{\n  \"text\": \"Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.\"\n}";
const LATENCY_PAYLOAD: &str = "{\"t\": {{.data.sentAtNanos}}}";
const CONNECTIONS: usize = 50;
const LATENCY_RATE: u32 = 1000;
const LATENCY_SECONDS: u64 = 5;
const RESTART_PENDING: i64 = 100_000;

// Targets (issue 14).
const TARGET_THROUGHPUT: f64 = 6000.0;
const TARGET_CPU_US: f64 = 150.0;
const TARGET_ACCEPT_P99_MS: f64 = 5.0;
const TARGET_E2E_P50_MS: f64 = 2.0;
const TARGET_E2E_P99_MS: f64 = 5.0;
const TARGET_READY_MS: f64 = 1000.0;
const TARGET_RSS_MB: f64 = 100.0;

// ---------------------------------------------------------------------------------------
// Figures and verdicts

struct Figure {
    name: String,
    value: String,
    target: String,
    ok: bool,
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
}

impl Report {
    /// Prints `name: value (target …: meets|MISSES)` and keeps it for the closing table.
    fn add(&mut self, name: &str, value: String, target: &str, ok: bool) {
        println!("   => {name}: {value}   (target {target}: {})", verdict(ok));
        self.figures.push(Figure {
            name: name.to_string(),
            value,
            target: target.to_string(),
            ok,
        });
    }

    fn print(&self) {
        println!("\n== summary");
        let width = self.figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
        let value_width = self
            .figures
            .iter()
            .map(|f| f.value.len())
            .max()
            .unwrap_or(0);
        for f in &self.figures {
            println!(
                "   {:width$}  {:value_width$}  target {:12}  {}",
                f.name,
                f.value,
                f.target,
                verdict(f.ok)
            );
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets"
    } else {
        "MISSES"
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p`-quantile (0..=1) of sorted `values`.
fn quantile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
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

// ---------------------------------------------------------------------------------------
// /proc

/// (utime, stime) ticks summed over every process whose command name is `name` (e.g. the
/// PostgreSQL server's processes).
fn cpu_of_named(name: &str) -> (u64, u64) {
    let mut sum = (0, 0);
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return sum;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let comm = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(comm, _)| comm);
        if comm == Some(name) {
            let (u, s) = cpu_of(pid);
            sum = (sum.0 + u, sum.1 + s);
        }
    }
    sum
}

/// (busy, all) ticks of the whole machine, from the `cpu` line of `/proc/stat`.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    if v.len() < 8 {
        return (0, 0);
    }
    let all: u64 = v.iter().sum();
    (all - v[3] - v[4], all)
}

/// Context switches (voluntary + involuntary) of all threads of a process, from
/// `/proc/<pid>/task/*/status` (threads that ended meanwhile are not counted).
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut sum = 0;
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches:")
                || line.starts_with("nonvoluntary_ctxt_switches:")
            {
                sum += line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    sum
}

// ---------------------------------------------------------------------------------------
// The database, read by the benchmark

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    total: i64,
    delivered: i64,
    failed: i64,
}

impl Counts {
    fn settled(&self) -> bool {
        self.delivered + self.failed == self.total
    }
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// All deliveries, those still waiting and those failed; the rest are delivered. Each count
/// is read from an index (the waiting and failed ones from `(status, …)`), so polling every
/// 20 ms does not scan the whole table each time: a full scan per poll (over 120,000 rows in
/// phase 5) took a large share of the machine and held the WAL open against checkpoints.
const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM deliveries), \
    (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying')), \
    (SELECT COUNT(*) FROM deliveries WHERE status = 'failed')";

impl Db {
    /// A read-only connection to the server's SQLite file.
    async fn sqlite_read_only(path: &Path) -> Self {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true);
        Db::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap(),
        )
    }

    async fn postgres(url: &str) -> Self {
        Db::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap(),
        )
    }

    async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    async fn counts(&self) -> Counts {
        let (total, waiting, failed): (i64, i64, i64) = match self {
            Db::Sqlite(pool) => sqlx::query_as(COUNTS).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_as(COUNTS).fetch_one(pool).await.unwrap(),
        };
        let delivered = total - waiting - failed;
        Counts {
            total,
            delivered,
            failed,
        }
    }

    /// Polls every `every` until at least `total` deliveries exist and all are settled
    /// (delivered or failed), at most `limit`; the last counts.
    async fn wait_settled(&self, total: i64, every: Duration, limit: Duration) -> Counts {
        let deadline = Instant::now() + limit;
        loop {
            let counts = self.counts().await;
            if (counts.total >= total && counts.settled()) || Instant::now() >= deadline {
                if !counts.settled() || counts.total < total {
                    println!("   note: gave up waiting after {limit:?}: {counts:?}");
                }
                return counts;
            }
            tokio::time::sleep(every).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The latency receiver (in this process)

#[derive(Default)]
struct Seen {
    /// Event → received latencies (ns).
    latencies: Mutex<Vec<u64>>,
}

async fn receive(State(seen): State<Arc<Seen>>, body: Bytes) -> &'static str {
    let arrived = now_nanos();
    if let Ok(payload) = serde_json::from_slice::<Value>(&body) {
        let t = &payload["t"];
        if let Some(sent) = t.as_u64().or_else(|| t.as_f64().map(|f| f as u64)) {
            seen.latencies
                .lock()
                .unwrap()
                .push(arrived.saturating_sub(sent));
        }
    }
    "ok"
}

async fn start_receiver(seen: Arc<Seen>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(receive).with_state(seen);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

// ---------------------------------------------------------------------------------------
// Events

fn latency_event(sent_at_nanos: u64) -> Value {
    json!({"type": LATENCY_EVENT, "specversion": "1.0", "source": "bench",
           "data": {"project": "sockshop", "stage": "dev", "service": "carts",
                    "sentAtNanos": sent_at_nanos}})
}

struct Api {
    bases: Vec<String>,
    next: std::sync::atomic::AtomicUsize,
    client: reqwest::Client,
}

impl Api {
    fn base(&self) -> &str {
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.bases[turn % self.bases.len()]
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.bases[0]))
            .header("x-token", TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts one event (round-robin over the servers); `Err(why)` unless answered 200.
    async fn post(&self, event: &Value) -> Result<(), String> {
        let response = self
            .client
            .post(format!("{}/api/v1/event", self.base()))
            .header("x-token", TOKEN)
            .json(event)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "client timeout".to_string()
                } else if e.is_connect() {
                    "connect error".to_string()
                } else {
                    "request error".to_string()
                }
            })?;
        let status = response.status();
        let _ = response.bytes().await;
        if status == 200 {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }

    /// Posts `count` events made by `make`, 16 in flight; the failures.
    async fn post_many(self: &Arc<Self>, count: usize, make: fn() -> Value) -> usize {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (api, next, failed) = (self.clone(), next.clone(), failed.clone());
            workers.spawn(async move {
                use std::sync::atomic::Ordering::Relaxed;
                while next.fetch_add(1, Relaxed) < count {
                    if api.post(&make()).await.is_err() {
                        failed.fetch_add(1, Relaxed);
                    }
                }
            });
        }
        while workers.join_next().await.is_some() {}
        failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Open loop: `rate`/s for `duration`, each send at its scheduled instant with
    /// `sentAtNanos` = that instant; (latencies from the scheduled instant of the answered
    /// ones, failures by reason, time the sending took).
    async fn open_loop(
        self: &Arc<Self>,
        rate: u32,
        duration: Duration,
    ) -> (Vec<Duration>, BTreeMap<String, usize>, Duration) {
        let total = (f64::from(rate) * duration.as_secs_f64()) as u32;
        let interval = Duration::from_secs(1) / rate;
        let start = Instant::now() + Duration::from_millis(10);
        let start_wall = now_nanos() + 10_000_000;
        // The pacer is a thread of its own that sleeps until each instant (nanosleep: tens
        // of µs late), then spawns the send on the runtime. tokio's timer has 1 ms steps:
        // paced by it, sends started up to 1 ms late, 0.5 ms on average, and that lag is the
        // generator's, not the server's.
        let runtime = tokio::runtime::Handle::current();
        let api = self.clone();
        let pacer = tokio::task::spawn_blocking(move || {
            let mut tasks = Vec::with_capacity(total as usize);
            for i in 0..total {
                let offset = interval * i;
                let scheduled = start + offset;
                let event = latency_event(start_wall + u64::try_from(offset.as_nanos()).unwrap());
                std::thread::sleep(scheduled.saturating_duration_since(Instant::now()));
                let api = api.clone();
                tasks.push(runtime.spawn(async move {
                    let late = scheduled.elapsed();
                    let result = api.post(&event).await;
                    (scheduled.elapsed(), late, result)
                }));
            }
            tasks
        });
        let tasks = pacer.await.unwrap();
        let mut latencies = Vec::with_capacity(total as usize);
        let mut lateness = Vec::with_capacity(total as usize);
        let mut failed = BTreeMap::new();
        for task in tasks {
            let (latency, late, result) = task.await.unwrap();
            lateness.push(late);
            match result {
                Ok(()) => latencies.push(latency),
                Err(why) => *failed.entry(why).or_insert(0) += 1,
            }
        }
        lateness.sort();
        if !lateness.is_empty() {
            // The generator's own lag (the pacer thread's wake-up and the spawn): part of
            // every figure.
            println!(
                "   sends started late by p50 {:.2} ms, p99 {:.2} ms (generator's lag, counted)",
                ms(quantile(&lateness, 0.50)),
                ms(quantile(&lateness, 0.99))
            );
        }
        (latencies, failed, start.elapsed())
    }
}

// ---------------------------------------------------------------------------------------
// The restart phase's pending deliveries

/// The columns of `table` that an INSERT may name (PostgreSQL's identity `rowid` not).
async fn columns(db: &Db, table: &str) -> Vec<String> {
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             AND is_identity = 'NO' AND is_generated = 'NEVER' ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap(),
    }
}

/// `"a", "b", …`.
fn quoted(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Puts `count` pending deliveries (each with its own event) into the stopped server's
/// database: copies of one delivered delivery of the throughput subscription and of its
/// event, one INSERT … SELECT per table. Columns not named here are copied as they are.
async fn insert_pending(db: &Db, count: i64) -> Duration {
    let start = Instant::now();
    let (delivery_id, event_id): (String, String) = {
        const PICK: &str = "SELECT d.id, d.event_id FROM deliveries d JOIN events e \
            ON e.id = d.event_id WHERE e.type = 'sh.keptn.event.evaluation.finished' \
            AND d.status = 'delivered' LIMIT 1";
        match db {
            Db::Sqlite(pool) => sqlx::query_as(PICK).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_as(PICK).fetch_one(pool).await.unwrap(),
        }
    };
    assert!(
        !delivery_id.contains('\'') && !event_id.contains('\''),
        "unexpected ids"
    );
    let now_ms = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let postgres = matches!(db, Db::Postgres(_));
    // UUID-shaped ids: 00000000-0000-4000-8000-<i> for events, …-9000-… for deliveries.
    let id = |variant: &str| {
        if postgres {
            format!("'00000000-0000-4000-{variant}-' || lpad(n.i::text, 12, '0')")
        } else {
            format!("printf('00000000-0000-4000-{variant}-%012d', n.i)")
        }
    };
    let (event_new, delivery_new) = (id("8000"), id("9000"));
    let numbers = if postgres {
        format!("generate_series(1, {count}) AS n(i)")
    } else {
        "n".to_string()
    };
    let with = if postgres {
        String::new()
    } else {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
        )
    };

    let event_columns = columns(db, "events").await;
    let select: Vec<String> = event_columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => event_new.clone(),
            "body" => format!("replace(src.body, '{event_id}', {event_new})"),
            other => format!("src.\"{other}\""),
        })
        .collect();
    let events = format!(
        "{with}INSERT INTO events ({}) SELECT {} FROM {numbers}, \
         (SELECT * FROM events WHERE id = '{event_id}') AS src",
        quoted(&event_columns),
        select.join(", ")
    );

    let delivery_columns = columns(db, "deliveries").await;
    let select: Vec<String> = delivery_columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => delivery_new.clone(),
            "event_id" => event_new.clone(),
            "status" => "'pending'".to_string(),
            "attempt_count" | "unrecorded" => "0".to_string(),
            "next_attempt_at" => now_ms.to_string(),
            "last_status_code" | "reason" | "duration_ms" | "lease_until" | "claim_token" => {
                "NULL".to_string()
            }
            other => format!("src.\"{other}\""),
        })
        .collect();
    let deliveries = format!(
        "{with}INSERT INTO deliveries ({}) SELECT {} FROM {numbers}, \
         (SELECT * FROM deliveries WHERE id = '{delivery_id}') AS src",
        quoted(&delivery_columns),
        select.join(", ")
    );

    match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await.unwrap();
            for statement in [events, deliveries] {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .unwrap();
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            for statement in [events, deliveries] {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
            sqlx::query("ANALYZE events").execute(pool).await.unwrap();
            sqlx::query("ANALYZE deliveries")
                .execute(pool)
                .await
                .unwrap();
        }
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------

/// Ticks → µs.
fn ticks_us(ticks: u64, hz: u64) -> f64 {
    ticks as f64 * 1e6 / hz as f64
}

fn sum_cpu(servers: &[Server]) -> (u64, u64) {
    servers
        .iter()
        .map(|s| cpu_of(s.pid()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[tokio::main]
async fn main() {
    let events = env_number("BENCH_EVENTS", 20_000).max(1);
    let only_throughput = std::env::var_os("BENCH_ONLY_THROUGHPUT").is_some_and(|v| v != "0");
    let skip_restart = std::env::var_os("BENCH_SKIP_RESTART").is_some_and(|v| v != "0");
    let latency_rate = u32::try_from(env_number("BENCH_LATENCY_RATE", LATENCY_RATE as usize))
        .unwrap_or(LATENCY_RATE)
        .max(1);
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    let replicas = env_number("BENCH_REPLICAS", 1).clamp(1, CONNECTIONS);
    let wrk = tool("wrk", "/usr/bin/wrk");
    let nginx = tool("nginx", "/usr/sbin/nginx");
    let hz = clock_ticks();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = Report::default();

    let work = tempfile::tempdir().unwrap();
    let (nginx_proc, nginx_port) = start_nginx(&nginx, work.path());
    let seen = Arc::new(Seen::default());
    let receiver = start_receiver(seen.clone()).await;

    let data_dirs: Vec<_> = (0..replicas)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let mut servers: Vec<Server> = data_dirs
        .iter()
        .map(|dir| Server::spawn(dir.path(), database_url.as_deref()))
        .collect();
    for server in &mut servers {
        server.wait_ready(&client).await;
    }
    let open_db = |dir: &Path| {
        let path = dir.join("uniform.db");
        let url = database_url.clone();
        async move {
            match url {
                Some(url) => Db::postgres(&url).await,
                None => Db::sqlite_read_only(&path).await,
            }
        }
    };
    let mut db = open_db(data_dirs[0].path()).await;
    println!(
        "database: {}; {replicas} server process(es) ({}, RUST_LOG=warn); wrk {}, nginx {}; \
         {cores} cores, CLK_TCK {hz}",
        if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        uniform_binary(),
        wrk.display(),
        nginx.display()
    );
    let api = Arc::new(Api {
        bases: servers.iter().map(|s| s.base.clone()).collect(),
        next: Default::default(),
        client: client.clone(),
    });

    // The seed: the secret and the two subscriptions of the webhook service.
    let (status, body) = api
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
    let (_, list) = api
        .call(
            reqwest::Method::GET,
            &format!("{REGISTRATION}?name=webhook-service"),
            None,
        )
        .await;
    let integration = list[0]["id"].as_str().unwrap().to_string();
    let path = "/services/T00000000/B00000000/{{.secret.slack-secret.webhook-identifier}}";
    for (event, port, payload) in [
        (THROUGHPUT_EVENT, nginx_port, SEED_PAYLOAD),
        (LATENCY_EVENT, receiver.port(), LATENCY_PAYLOAD),
    ] {
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                &format!("{REGISTRATION}/{integration}/subscription"),
                Some(json!({"event": event,
                    "filter": {"projects": [], "stages": ["dev", "staging"], "services": []},
                    "webhook": {"method": "POST", "url": format!("http://127.0.0.1:{port}{path}"),
                                "headers": [], "payload": payload, "proxy": null,
                                "sendStarted": false, "sendFinished": false}})),
            )
            .await;
        assert_eq!(status, 201, "subscription: {body}");
    }

    // Warm-up: connections, caches and compiled templates exist before measuring.
    assert_eq!(api.post_many(200, seed_event).await, 0, "warm-up events");
    assert_eq!(
        api.post_many(100, || latency_event(now_nanos())).await,
        0,
        "warm-up events"
    );
    let before = db
        .wait_settled(300, Duration::from_millis(20), Duration::from_secs(60))
        .await;
    assert_eq!(before.delivered, 300, "warm-up deliveries: {before:?}");

    // ---- 1. Throughput.
    let script = work.path().join("post.lua");
    std::fs::write(&script, wrk_script(&seed_event())).unwrap();
    println!(
        "\n== 1. durable end-to-end throughput: {events} seed events by wrk ({CONNECTIONS} \
         connections), webhooks to nginx"
    );
    let cpu_before = sum_cpu(&servers);
    let nginx_before = cpu_of(nginx_proc.pid());
    let self_before = cpu_of(std::process::id());
    let postgres_before = cpu_of_named("postgres");
    let machine_before = machine_ticks();
    let start = Instant::now();
    let wrks: Vec<Wrk> = servers
        .iter()
        .enumerate()
        .map(|(i, server)| {
            let share = |total: usize| total / replicas + usize::from(i < total % replicas);
            Wrk::start(
                &wrk,
                &script,
                &server.base,
                share(CONNECTIONS),
                share(events).max(1),
            )
        })
        .collect();
    let (wrks, ingest_end) = tokio::task::spawn_blocking(move || {
        let end = wrks.iter().map(Wrk::wait_limit).max().unwrap();
        (wrks, end)
    })
    .await
    .unwrap();
    let ingest = ingest_end - start;
    let at_ingest = db.counts().await;
    let results: Vec<WrkResult> =
        tokio::task::spawn_blocking(move || wrks.into_iter().map(Wrk::finish).collect::<Vec<_>>())
            .await
            .unwrap();
    let accepted: u64 = results.iter().map(|r| r.ok).sum();
    let refused: u64 = results.iter().map(|r| r.other).sum();
    let wrk_errors: u64 = results.iter().map(|r| r.errors).sum();
    let wrk_cpu = results
        .iter()
        .fold((0, 0), |a, r| (a.0 + r.cpu.0, a.1 + r.cpu.1));
    let after = db
        .wait_settled(
            before.total + i64::try_from(accepted).unwrap(),
            Duration::from_millis(20),
            Duration::from_secs(600),
        )
        .await;
    let total_time = start.elapsed();
    let cpu_after = sum_cpu(&servers);
    let nginx_after = cpu_of(nginx_proc.pid());
    let self_after = cpu_of(std::process::id());
    let postgres_after = cpu_of_named("postgres");
    let machine_after = machine_ticks();
    let throughput_rss = servers.iter().map(Server::peak_rss_mb).fold(0.0, f64::max);

    let stored = after.total - before.total;
    let delivered = after.delivered - before.delivered;
    let failed = after.failed - before.failed;
    let delivered_by_ingest = at_ingest.delivered - before.delivered;
    let drain_time = total_time.saturating_sub(ingest);
    let throughput = delivered as f64 / total_time.as_secs_f64();
    println!(
        "   events accepted (200)      {accepted} ({refused} other answers, {wrk_errors} wrk \
         socket errors); {stored} deliveries stored"
    );
    println!(
        "   ingest (wrk had its answers) {:.2} s = {:.0} events/s; {delivered_by_ingest} \
         delivered by then; wrk's own latency p50 {:.2} ms, p99 {:.2} ms (closed loop)",
        ingest.as_secs_f64(),
        accepted as f64 / ingest.as_secs_f64(),
        results.iter().map(|r| r.p50_us).max().unwrap_or(0) as f64 / 1000.0,
        results.iter().map(|r| r.p99_us).max().unwrap_or(0) as f64 / 1000.0,
    );
    println!(
        "   all recorded delivered     {:.2} s after wrk started ({delivered} delivered, \
         {failed} failed)",
        total_time.as_secs_f64()
    );
    println!(
        "   drain after ingest         {:.2} s at {:.0} deliveries/s",
        drain_time.as_secs_f64(),
        (delivered - delivered_by_ingest) as f64 / drain_time.as_secs_f64().max(1e-9)
    );
    report.add(
        "durable end-to-end deliveries/s",
        format!("{throughput:.0}/s"),
        ">= 6,000/s",
        throughput >= TARGET_THROUGHPUT && failed == 0,
    );

    // ---- 2. CPU.
    let user = cpu_after.0 - cpu_before.0;
    let system = cpu_after.1 - cpu_before.1;
    let per = |ticks: u64| ticks_us(ticks, hz) / delivered.max(1) as f64;
    println!("\n== 2. server CPU in phase 1 (/proc/<pid>/stat, {hz} ticks/s)");
    println!(
        "   server {:.2} CPU-s = user {:.2} + system {:.2}; per delivery: user {:.0} µs + \
         system {:.0} µs",
        ticks_us(user + system, hz) / 1e6,
        ticks_us(user, hz) / 1e6,
        ticks_us(system, hz) / 1e6,
        per(user),
        per(system)
    );
    let (busy, all) = (
        machine_after.0 - machine_before.0,
        machine_after.1 - machine_before.1,
    );
    let part = |(u, s): (u64, u64)| ticks_us(u + s, hz) / 1e6;
    let server_s = part((user, system));
    let wrk_s = part(wrk_cpu);
    let nginx_s = part((
        nginx_after.0 - nginx_before.0,
        nginx_after.1 - nginx_before.1,
    ));
    let self_s = part((self_after.0 - self_before.0, self_after.1 - self_before.1));
    let busy_s = ticks_us(busy, hz) / 1e6;
    // PostgreSQL's processes (backends that lived through the window), when it runs here.
    let postgres_s = if database_url.is_some() {
        part((
            postgres_after.0.saturating_sub(postgres_before.0),
            postgres_after.1.saturating_sub(postgres_before.1),
        ))
    } else {
        0.0
    };
    let postgres_part = if database_url.is_some() {
        format!(", PostgreSQL {postgres_s:.2}")
    } else {
        String::new()
    };
    println!(
        "   machine (/proc/stat): {busy_s:.2} CPU-s busy of {:.2} ({:.0} %) in {:.2} s: \
         server {server_s:.2}, wrk {wrk_s:.2}, nginx {nginx_s:.2}{postgres_part}, this process \
         {self_s:.2}, everything else {:.2}",
        ticks_us(all, hz) / 1e6,
        100.0 * busy as f64 / all.max(1) as f64,
        total_time.as_secs_f64(),
        (busy_s - server_s - wrk_s - nginx_s - postgres_s - self_s).max(0.0)
    );
    let cpu_per = per(user + system);
    report.add(
        "server CPU per delivery",
        format!("{cpu_per:.0} µs"),
        "<= 150 µs",
        cpu_per <= TARGET_CPU_US,
    );

    // ---- 3. Memory.
    println!("\n== 3. server peak RSS after phase 1 (VmHWM)");
    report.add(
        "peak RSS, throughput run",
        format!("{throughput_rss:.1} MB"),
        "<= 100 MB",
        throughput_rss <= TARGET_RSS_MB,
    );

    if only_throughput {
        println!("\n(BENCH_ONLY_THROUGHPUT: latency and restart phases skipped)");
    } else {
        // ---- 4. Latency at 1,000 events/s.
        seen.latencies.lock().unwrap().clear();
        let latency_cpu_before = sum_cpu(&servers);
        let switches_before: u64 = servers.iter().map(|s| context_switches(s.pid())).sum();
        let (mut accept, failed, took) = api
            .open_loop(latency_rate, Duration::from_secs(LATENCY_SECONDS))
            .await;
        let settled = db
            .wait_settled(
                after.total + i64::try_from(accept.len()).unwrap(),
                Duration::from_millis(20),
                Duration::from_secs(120),
            )
            .await;
        let switches = servers
            .iter()
            .map(|s| context_switches(s.pid()))
            .sum::<u64>()
            .saturating_sub(switches_before);
        let latency_cpu = sum_cpu(&servers);
        let latency_cpu = ticks_us(
            latency_cpu.0 + latency_cpu.1 - latency_cpu_before.0 - latency_cpu_before.1,
            hz,
        );
        // The receiver answers before its latency is pushed: a moment for the last ones.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut e2e = std::mem::take(&mut *seen.latencies.lock().unwrap());
        accept.sort();
        e2e.sort_unstable();
        println!(
            "\n== 4. latency at {latency_rate} events/s offered (open loop, {LATENCY_SECONDS} s, \
             from each send's scheduled instant)"
        );
        println!(
            "   {} answered 200, {} failed {failed:?}, sending took {:.2} s; {} received, \
             {} recorded delivered",
            accept.len(),
            failed.values().sum::<usize>(),
            took.as_secs_f64(),
            e2e.len(),
            settled.delivered - after.delivered
        );
        println!(
            "   server CPU {:.2} CPU-s ({:.0} % of one core; {:.0} µs and {:.1} context switches \
             per event)",
            latency_cpu / 1e6,
            100.0 * latency_cpu / 1e6 / took.as_secs_f64(),
            latency_cpu / accept.len().max(1) as f64,
            switches as f64 / accept.len().max(1) as f64
        );
        if accept.is_empty() || e2e.is_empty() {
            println!("   no latencies measured");
        } else {
            let (a50, a99) = (quantile(&accept, 0.50), quantile(&accept, 0.99));
            println!(
                "   POST /api/v1/event: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                ms(a50),
                ms(a99),
                ms(*accept.last().unwrap())
            );
            report.add(
                "POST /api/v1/event p99 at 1,000/s",
                format!("{:.2} ms", ms(a99)),
                "<= 5 ms",
                ms(a99) <= TARGET_ACCEPT_P99_MS && failed.is_empty(),
            );
            let (e50, e99) = (
                Duration::from_nanos(quantile(&e2e, 0.50)),
                Duration::from_nanos(quantile(&e2e, 0.99)),
            );
            println!(
                "   event -> received: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                ms(e50),
                ms(e99),
                ms(Duration::from_nanos(*e2e.last().unwrap()))
            );
            report.add(
                "event -> received p50 at 1,000/s",
                format!("{:.2} ms", ms(e50)),
                "<= 2 ms",
                ms(e50) <= TARGET_E2E_P50_MS,
            );
            report.add(
                "event -> received p99 at 1,000/s",
                format!("{:.2} ms", ms(e99)),
                "<= 5 ms",
                ms(e99) <= TARGET_E2E_P99_MS,
            );
        }

        // ---- 5. Restart with 100,000 pending deliveries.
        if skip_restart {
            println!("\n(BENCH_SKIP_RESTART: restart phase skipped)");
            report.print();
            return;
        }
        println!("\n== 5. restart with {RESTART_PENDING} pending deliveries");
        let hwm_before_stop = servers.iter().map(Server::peak_rss_mb).fold(0.0, f64::max);
        db.close().await;
        let mut stop_time = Duration::ZERO;
        for server in &mut servers {
            stop_time = stop_time.max(server.proc.terminate(Duration::from_secs(30)));
        }
        let writer = match &database_url {
            Some(url) => Db::postgres(url).await,
            None => Db::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        sqlx::sqlite::SqliteConnectOptions::new()
                            .filename(data_dirs[0].path().join("uniform.db")),
                    )
                    .await
                    .unwrap(),
            ),
        };
        let base = writer.counts().await;
        let insert_time = insert_pending(&writer, RESTART_PENDING).await;
        let pending = writer.counts().await;
        writer.close().await;
        println!(
            "   stopped (SIGTERM → exit) in {:.2} s; peak RSS before the stop {hwm_before_stop:.1} \
             MB; {} pending inserted in {:.2} s",
            stop_time.as_secs_f64(),
            pending.total - base.total,
            insert_time.as_secs_f64()
        );
        servers = data_dirs
            .iter()
            .map(|dir| Server::spawn(dir.path(), database_url.as_deref()))
            .collect();
        let spawned = servers.iter().map(|s| s.spawned).min().unwrap();
        let mut ready = Duration::ZERO;
        for server in &mut servers {
            ready = ready.max(server.wait_ready(&client).await);
        }
        db = open_db(data_dirs[0].path()).await;
        let drained = db
            .wait_settled(
                pending.total,
                Duration::from_millis(20),
                Duration::from_secs(600),
            )
            .await;
        let drain = spawned.elapsed();
        // The restarted processes' whole CPU time: start-up, claims, sends, records.
        let (drain_user, drain_system) = sum_cpu(&servers);
        let restart_rss = servers.iter().map(Server::peak_rss_mb).fold(0.0, f64::max);
        let drained_count = drained.delivered - base.delivered;
        let drain_rate = drained_count as f64 / drain.as_secs_f64();
        println!(
            "   spawn → /readyz 200 {:.0} ms; all recorded delivered {:.2} s after spawn \
             ({drained_count} delivered, {} failed; {:.2} s after ready)",
            ms(ready),
            drain.as_secs_f64(),
            drained.failed - base.failed,
            drain.saturating_sub(ready).as_secs_f64()
        );
        println!(
            "   server CPU from spawn to the last delivery: {:.2} CPU-s = {:.0} µs per \
             delivery (user {:.0} + system {:.0})",
            ticks_us(drain_user + drain_system, hz) / 1e6,
            ticks_us(drain_user + drain_system, hz) / drained_count.max(1) as f64,
            ticks_us(drain_user, hz) / drained_count.max(1) as f64,
            ticks_us(drain_system, hz) / drained_count.max(1) as f64,
        );
        report.add(
            "restart: spawn -> ready",
            format!("{:.0} ms", ms(ready)),
            "<= 1 s",
            ms(ready) <= TARGET_READY_MS,
        );
        report.add(
            "restart: drain of 100,000 (from spawn)",
            format!("{drain_rate:.0}/s"),
            ">= 6,000/s",
            drain_rate >= TARGET_THROUGHPUT && drained_count == RESTART_PENDING,
        );
        report.add(
            "peak RSS, restart run",
            format!("{restart_rss:.1} MB"),
            "<= 100 MB",
            restart_rss <= TARGET_RSS_MB,
        );
    }
    db.close().await;
    for server in &mut servers {
        server.proc.terminate(Duration::from_secs(30));
    }

    report.print();
    drop(nginx_proc);
}
