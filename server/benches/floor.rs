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
//! delivery (user + system). Run: `cargo bench -p server --bench floor`. Needs `wrk` and
//! `nginx` (`apt-get install wrk nginx-light`). All traffic stays on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
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
use support::{clock_ticks, cpu_of, seed_event, start_nginx, tool, wrk_script, Proc, Wrk, TOKEN};

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

fn measure() {
    let wrk = tool("wrk", "/usr/bin/wrk");
    let nginx = tool("nginx", "/usr/sbin/nginx");
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(20_000);
    let work = tempfile::tempdir().unwrap();
    let (_nginx, nginx_port) = start_nginx(&nginx, work.path());

    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(SERVE, nginx_port.to_string())
        .stdout(Stdio::piped());
    let mut server = Proc::spawn("floor server", command);
    let stdout = server.child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let base = format!("http://127.0.0.1:{}", first.trim());
    let script = work.path().join("post.lua");
    std::fs::write(&script, wrk_script(&seed_event())).unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hz = clock_ticks();
    println!("floor: axum in, reqwest out to nginx, no database ({CONNECTIONS} connections, {events} events per run)");
    for run in 0..=RUNS {
        let limit = if run == 0 { 2_000 } else { events };
        let before = delivered_so_far(&runtime, &base);
        let (u0, s0) = cpu_of(server.pid());
        let start = Instant::now();
        let load = Wrk::start(&wrk, &script, &base, CONNECTIONS, limit);
        load.wait_limit();
        let answered = load.finish();
        assert_eq!(answered.other + answered.errors, 0, "wrk: {answered:?}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let target = before + answered.ok;
        while delivered_so_far(&runtime, &base) < target {
            server.check_running();
            assert!(
                Instant::now() < deadline,
                "deliveries stopped short of {target}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = start.elapsed();
        let (u1, s1) = cpu_of(server.pid());
        if run == 0 {
            continue; // warm-up
        }
        let n = answered.ok as f64;
        let us = |ticks: u64| ticks as f64 * 1e6 / hz as f64 / n;
        println!(
            "   run {run}: {} deliveries in {:.2} s = {:.0}/s; server CPU per delivery {:.0} µs (user {:.0} + system {:.0})",
            answered.ok,
            elapsed.as_secs_f64(),
            n / elapsed.as_secs_f64(),
            us(u1 - u0 + s1 - s0),
            us(u1 - u0),
            us(s1 - s0),
        );
    }
}
