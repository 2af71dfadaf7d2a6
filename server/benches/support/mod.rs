//! What the benchmarks share: a process's CPU time and memory from `/proc`, free ports,
//! child processes that log to a buffer, the external tools (nginx answering webhooks; wrk
//! posting the seed event with a Lua script that counts answers up to a limit) and the
//! `uniform` server process. Included by `delivery.rs` and `floor.rs` as `mod support;`;
//! each uses part of it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The API token both benchmarks post events with.
pub const TOKEN: &str = "bench-token-0123456789abcdef";

/// The admin password the servers start with.
pub const PASSWORD: &str = "bench password, not a secret";

/// base64 of the 32 bytes `bench-master-key-0123456789abcde` (PostgreSQL only).
pub const MASTER_KEY: &str = "YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=";

/// The seed event's type (the throughput subscription's event).
pub const THROUGHPUT_EVENT: &str = "sh.keptn.event.evaluation.finished";

/// The number in environment variable `name`, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Clock ticks per second of `/proc/*/stat` (`getconf CLK_TCK`; 100 if that fails).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// (state, utime, stime) of a process, from `/proc/<pid>/stat`.
pub fn proc_stat(pid: u32) -> Option<(char, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; it ends at the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let state = fields.first()?.chars().next()?;
    Some((
        state,
        fields.get(11)?.parse().ok()?,
        fields.get(12)?.parse().ok()?,
    ))
}

/// (utime, stime) ticks of a process; zeros once it is gone.
pub fn cpu_of(pid: u32) -> (u64, u64) {
    proc_stat(pid).map_or((0, 0), |(_, u, s)| (u, s))
}

pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A port of 127.0.0.1 nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The program `name` at `default`, or on `PATH`; stops the benchmark when missing.
pub fn tool(name: &str, default: &str) -> PathBuf {
    if Path::new(default).is_file() {
        return PathBuf::from(default);
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }) {
        return found;
    }
    eprintln!(
        "bench: `{name}` is missing (looked for {default} and on PATH); \
         install it with `apt-get install wrk nginx-light`"
    );
    std::process::exit(2);
}

/// A child process whose stderr is collected on a thread (so the pipe never fills); killed
/// when dropped if still running.
pub struct Proc {
    name: String,
    pub child: std::process::Child,
    log: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(name: &str, mut command: Command) -> Self {
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let sink = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = sink.lock().unwrap();
                    // Keep the last 64 KiB.
                    if log.len() > 64 * 1024 {
                        let cut = log.len() - 32 * 1024;
                        let cut = (cut..log.len())
                            .find(|&i| log.is_char_boundary(i))
                            .unwrap_or(0);
                        log.drain(..cut);
                    }
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Self {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Panics with the log when the process has exited.
    pub fn check_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}); its log:\n{}", self.name, self.log());
        }
    }

    /// SIGTERM, then waits (at most `limit`, then SIGKILL); the time it took to exit.
    pub fn terminate(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        signal(self.pid(), "TERM");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                if !status.success() {
                    println!("   note: {} exited with {status}", self.name);
                }
                return start.elapsed();
            }
            if start.elapsed() > limit {
                println!(
                    "   note: {} did not exit within {limit:?} of SIGTERM; killed",
                    self.name
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// nginx answering `200 ok` to everything, on a free port of 127.0.0.1.
pub fn start_nginx(nginx: &Path, dir: &Path) -> (Proc, u16) {
    let port = free_port();
    let d = dir.display();
    let config = format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 \"ok\"; }}
    }}
}}
"
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config).unwrap();
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null());
    let mut proc = Proc::spawn("nginx", command);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!(
                "nginx exited ({status}): {}{}",
                proc.log(),
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "nginx does not listen on {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
    (proc, port)
}

pub fn seed_event() -> Value {
    json!({"type": THROUGHPUT_EVENT, "specversion": "1.0", "source": "lighthouse-service",
           "data": {"project": "sockshop", "stage": "dev", "service": "carts", "result": "pass",
                    "evaluation": {"result": "pass", "score": 100}}})
}

/// The Lua script: POST the seed event; count answers; at `limit` (the script's argument)
/// print a marker line and stop the thread (the benchmark then sends SIGINT, which ends
/// wrk's main sleep); `done` prints one result line.
pub fn wrk_script(event: &Value) -> String {
    let body = event.to_string();
    assert!(!body.contains("]==]"));
    format!(
        r#"-- Written by a benchmark in server/benches/.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-token"] = "{TOKEN}"
wrk.body = [==[{body}]==]

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[1])
  ok = 0
  other = 0
  told = false
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
  if not told and ok + other >= limit then
    told = true
    io.write("bench-limit-reached\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local ok_sum, other_sum = 0, 0
  for _, t in ipairs(threads) do
    ok_sum = ok_sum + t:get("ok")
    other_sum = other_sum + t:get("other")
  end
  local e = summary.errors
  io.write(string.format("bench-result ok=%d other=%d connect=%d read=%d write=%d timeout=%d p50us=%d p99us=%d\n",
    ok_sum, other_sum, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
  io.flush()
end
"#
    )
}

/// What one wrk process reported.
#[derive(Debug, Default)]
pub struct WrkResult {
    pub ok: u64,
    pub other: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// (utime, stime) ticks, read from the exited process before it was reaped.
    pub cpu: (u64, u64),
}

/// One running wrk process.
pub struct Wrk {
    proc: Proc,
    lines: std::sync::mpsc::Receiver<(Instant, String)>,
}

impl Wrk {
    pub fn start(wrk: &Path, script: &Path, base: &str, connections: usize, limit: usize) -> Self {
        let mut command = Command::new(wrk);
        command
            .args([
                "-t1",
                &format!("-c{connections}"),
                "-d3600s",
                "--timeout",
                "30s",
            ])
            .arg("-s")
            .arg(script)
            .arg(format!("{base}/api/v1/event"))
            .arg("--")
            .arg(limit.to_string())
            .stdout(Stdio::piped());
        let mut proc = Proc::spawn("wrk", command);
        let stdout = proc.child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send((Instant::now(), line));
            }
        });
        Self { proc, lines }
    }

    /// Blocks until the marker line; its arrival.
    pub fn wait_limit(&self) -> Instant {
        loop {
            match self.lines.recv() {
                Ok((at, line)) if line.starts_with("bench-limit-reached") => return at,
                Ok(_) => {}
                Err(_) => panic!("wrk ended before its limit; log:\n{}", self.proc.log()),
            }
        }
    }

    /// SIGINT, then collects the result line and the process's CPU time.
    pub fn finish(mut self) -> WrkResult {
        let pid = self.proc.pid();
        signal(pid, "INT");
        let mut result = WrkResult::default();
        let mut found = false;
        // The lines end when wrk exits.
        while let Ok((_, line)) = self.lines.recv() {
            if let Some(rest) = line.strip_prefix("bench-result ") {
                found = true;
                for pair in rest.split_whitespace() {
                    let Some((key, value)) = pair.split_once('=') else {
                        continue;
                    };
                    let value: u64 = value.parse().unwrap_or(0);
                    match key {
                        "ok" => result.ok = value,
                        "other" => result.other = value,
                        "p50us" => result.p50_us = value,
                        "p99us" => result.p99_us = value,
                        _ => result.errors += value,
                    }
                }
            }
        }
        // An exited, unreaped process (state Z) still shows its CPU times.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match proc_stat(pid) {
                Some(('Z', u, s)) => {
                    result.cpu = (u, s);
                    break;
                }
                Some((_, u, s)) => result.cpu = (u, s),
                None => break,
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.proc.child.wait();
        assert!(found, "wrk printed no result; log:\n{}", self.proc.log());
        result
    }
}

/// The `uniform` binary under test: `BENCH_UNIFORM`, or the one built with this benchmark.
pub fn uniform_binary() -> String {
    std::env::var("BENCH_UNIFORM")
        .ok()
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_uniform").to_string())
}

/// A `kB` field of `/proc/<pid>/status` (e.g. `VmHWM:`).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One `uniform` server process.
pub struct Server {
    pub proc: Proc,
    pub base: String,
    pub spawned: Instant,
}

impl Server {
    /// Spawns the binary on `data_dir` and a free port (returns at once).
    pub fn spawn(data_dir: &Path, database_url: Option<&str>) -> Self {
        let port = free_port();
        let mut command = Command::new(uniform_binary());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("UNIFORM_") {
                command.env_remove(name);
            }
        }
        command
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .env("UNIFORM_API_TOKEN", TOKEN)
            .env("UNIFORM_ADMIN_PASSWORD", PASSWORD)
            .env("UNIFORM_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32")
            .stdout(Stdio::null());
        if let Some(url) = database_url {
            command
                .env("UNIFORM_DATABASE_URL", url)
                .env("UNIFORM_MASTER_KEY", MASTER_KEY);
        }
        let spawned = Instant::now();
        let proc = Proc::spawn("uniform", command);
        Self {
            proc,
            base: format!("http://127.0.0.1:{port}"),
            spawned,
        }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Polls `/readyz` every 2 ms; the time from spawn to its first 200.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> Duration {
        let url = format!("{}/readyz", self.base);
        loop {
            self.proc.check_running();
            if let Ok(response) = client
                .get(&url)
                .timeout(Duration::from_secs(60))
                .send()
                .await
            {
                if response.status() == 200 {
                    return self.spawned.elapsed();
                }
            }
            assert!(
                self.spawned.elapsed() < Duration::from_secs(120),
                "server not ready after 120 s; log:\n{}",
                self.proc.log()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn peak_rss_mb(&self) -> f64 {
        status_kb(self.pid(), "VmHWM:").unwrap_or(0) as f64 / 1024.0
    }
}
