//! The floor under the delivery benchmark: what the fixed stack costs per delivery on this
//! machine when none of Uniform's own work is done. Measured exactly as `delivery` measures
//! Uniform (the same wrk posting the same seed event with 50 connections, the same nginx
//! answering `200 ok`, CPU time of the server process from `/proc/<pid>/stat`), against a
//! server that is nothing but the stack: this benchmark's own binary started again as a
//! child process (`FLOOR_SERVE`), with axum on tokio (multi-threaded, mimalloc, as
//! `uniform`), which for each `POST /api/v1/event` checks the `x-token` header, parses the
//! body as JSON, answers 200, and POSTs a `{"text": …}` made from two fields of the event
//! to nginx with reqwest (one client, connections kept alive, as `uniform`), counting the
//! answered webhooks.
//!
//! No database, no template, no secret, no attempt record, no retry: a delivery here is lost
//! if the process stops, so this is a lower bound, not something to build. The distance
//! between this floor and `delivery`'s figures is what Uniform's durability and work cost.
//!
//! Printed per run (three runs of `BENCH_EVENTS` events, default 20,000, after a warm-up):
//! deliveries/s (from starting wrk until nginx answered every webhook) and server CPU per
//! delivery (user + system). Then the same wrk against the release `uniform` binary with no
//! subscription: Uniform's own ingest alone (every answered event stored durably, nothing
//! delivered), its events/s and CPU per event. Run: `cargo bench -p server --bench floor`
//! (`BENCH_UNIFORM=<binary>` measures another build's ingest). Needs `wrk` and `nginx`
//! (`apt-get install wrk nginx-light`). All traffic stays on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;

mod support;
use support::{
    clock_ticks, cpu_of, env_number, seed_event, start_nginx, tool, wrk_script, Proc, Server, Wrk,
    TOKEN,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The child's environment variable: the nginx port to deliver to.
const SERVE: &str = "FLOOR_SERVE";
const CONNECTIONS: usize = 50;
const RUNS: usize = 3;

fn main() {
    match std::env::var(SERVE) {
        Ok(port) => serve(port.parse().expect("FLOOR_SERVE is a port")),
        Err(_) => measure(),
    }
}

// ---------------------------------------------------------------------------------------
// The floor server (the child)

struct Floor {
    client: reqwest::Client,
    url: String,
    delivered: AtomicU64,
}

async fn event(State(floor): State<Arc<Floor>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if headers.get("x-token").map(|v| v.as_bytes()) != Some(TOKEN.as_bytes()) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let text = serde_json::json!({"text": format!(
        "Evaluation in {} finished with result {}.",
        event["data"]["stage"], event["data"]["evaluation"]["result"]
    )})
    .to_string();
    tokio::spawn(async move {
        let sent = floor
            .client
            .post(&floor.url)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await;
        if let Ok(response) = sent {
            if response.bytes().await.is_ok() {
                floor.delivered.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    StatusCode::OK
}

async fn delivered(State(floor): State<Arc<Floor>>) -> String {
    floor.delivered.load(Ordering::Relaxed).to_string()
}

/// Serves on a free port of 127.0.0.1 (printed as the first line of stdout) until killed.
fn serve(nginx_port: u16) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let floor = Arc::new(Floor {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            url: format!("http://127.0.0.1:{nginx_port}/services/T00000000/B00000000/x"),
            delivered: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .route("/api/v1/event", post(event))
            .route("/delivered", get(delivered))
            .with_state(floor);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        axum::serve(listener, app).await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------
// The measurement

/// How many webhooks the floor server has had answered so far.
fn delivered_so_far(runtime: &tokio::runtime::Runtime, base: &str) -> u64 {
    runtime.block_on(async {
        let body = reqwest::get(format!("{base}/delivered"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.trim().parse().unwrap()
    })
}

/// A warm-up of 2,000 events, then `RUNS` runs of `events`: wrk posts the seed event to
/// `base` until that many are answered 200, `settle(answered)` waits for what must follow
/// (the webhooks), and the run is printed with the CPU time of `pid` over it, per `one`.
fn runs(
    wrk: &Path,
    script: &Path,
    base: &str,
    events: usize,
    pid: u32,
    (what, one): (&str, &str),
    mut settle: impl FnMut(u64),
) {
    let hz = clock_ticks() as f64;
    for run in 0..=RUNS {
        let limit = if run == 0 { 2_000 } else { events };
        let (u0, s0) = cpu_of(pid);
        let start = Instant::now();
        let load = Wrk::start(wrk, script, base, CONNECTIONS, limit);
        load.wait_limit();
        let answered = load.finish();
        assert_eq!(answered.other + answered.errors, 0, "wrk: {answered:?}");
        settle(answered.ok);
        let elapsed = start.elapsed();
        let (u1, s1) = cpu_of(pid);
        if run == 0 {
            continue;
        }
        let n = answered.ok as f64;
        let us = |ticks: u64| ticks as f64 * 1e6 / hz / n;
        println!(
            "   run {run}: {} {what} in {:.2} s = {:.0}/s; server CPU per {one} {:.0} µs (user {:.0} + system {:.0})",
            answered.ok,
            elapsed.as_secs_f64(),
            n / elapsed.as_secs_f64(),
            us(u1 - u0 + s1 - s0),
            us(u1 - u0),
            us(s1 - s0),
        );
    }
}

fn measure() {
    let wrk = tool("wrk", "/usr/bin/wrk");
    let nginx = tool("nginx", "/usr/sbin/nginx");
    let events = env_number("BENCH_EVENTS", 20_000).max(1);
    let work = tempfile::tempdir().unwrap();
    let (_nginx, nginx_port) = start_nginx(&nginx, work.path());
    let script = work.path().join("post.lua");
    std::fs::write(&script, wrk_script(&seed_event())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(SERVE, nginx_port.to_string())
        .stdout(Stdio::piped());
    let mut floor = Proc::spawn("floor server", command);
    let stdout = floor.child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let base = format!("http://127.0.0.1:{}", first.trim());
    println!(
        "floor: axum in, reqwest out to nginx, no database ({CONNECTIONS} connections, {events} events per run)"
    );
    let pid = floor.pid();
    let mut delivered = 0;
    runs(
        &wrk,
        &script,
        &base,
        events,
        pid,
        ("deliveries", "delivery"),
        |answered| {
            // Every answered event is one webhook to nginx: wait until it was answered.
            delivered += answered;
            let deadline = Instant::now() + Duration::from_secs(60);
            while delivered_so_far(&runtime, &base) < delivered {
                floor.check_running();
                assert!(
                    Instant::now() < deadline,
                    "deliveries stopped short of {delivered}"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        },
    );
    drop(floor);

    // Uniform's own ingest: each answered event is stored durably; with no subscription
    // nothing is delivered, so nothing follows the answers.
    let data = tempfile::tempdir().unwrap();
    let mut uniform = Server::spawn(data.path(), None);
    runtime.block_on(uniform.wait_ready(&reqwest::Client::new()));
    println!("uniform, ingest alone (no subscription: every event stored, none delivered)");
    runs(
        &wrk,
        &script,
        &uniform.base,
        events,
        uniform.pid(),
        ("events", "event"),
        |_| {
            uniform.proc.check_running();
        },
    );
}
