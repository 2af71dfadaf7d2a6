//! Shared support for the integration tests: the real server started in-process on a
//! pre-bound port 0, a real SQLite file in a temporary data directory, and an HTTP client.
//!
//! With `UNIFORM_TEST_DATABASE_URL` set (a PostgreSQL server; `make test` starts one), every
//! server a test starts uses a fresh PostgreSQL database on it instead, and the test master
//! key ([`PG_MASTER_KEY`]), except in tests about the SQLite file itself, which call
//! [`sqlite_only`] first.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use server::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The API token every test server accepts.
pub const TOKEN: &str = "test-token-0123456789abcdef";
/// The `admin` password of every test server.
pub const PASSWORD: &str = "correct horse battery staple";
/// Keptn's registration API: the built-in webhook-service and its subscriptions live here.
pub const REGISTRATION: &str = "/api/controlPlane/v1/uniform/registration";
/// What a test allows webhooks to when its receiver listens on 127.0.0.1 (the SSRF guard
/// refuses loopback by default).
pub const LOOPBACK: &str = "127.0.0.1/32";

/// The master key of every PostgreSQL-backed test server (base64 of 32 bytes).
pub const PG_MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LWZvci1wb3N0Z3Jlcy0wMSE=";

thread_local! {
    static SQLITE_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling test as one about the SQLite file (its bytes, modes, key file): its
/// servers use SQLite even when `UNIFORM_TEST_DATABASE_URL` is set. Each `#[tokio::test]`
/// runs on its own thread, so the mark stays with the test.
pub fn sqlite_only() {
    SQLITE_ONLY.with(|flag| flag.set(true));
}

/// The PostgreSQL server the tests run against, unless the test is SQLite-only.
pub fn postgres_admin_url() -> Option<String> {
    if SQLITE_ONLY.with(|flag| flag.get()) {
        return None;
    }
    std::env::var("UNIFORM_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Runs `work` to completion on a runtime of its own, on its own thread: callers may be
/// inside a current-thread runtime (a `#[tokio::test]`), or in none.
fn on_own_runtime<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

/// Creates an empty database on the test PostgreSQL server; its URL.
pub fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = admin_url.to_string();
    let statement = format!("CREATE DATABASE {name}");
    on_own_runtime(async move {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The PostgreSQL database of the install in `data_dir`: made at its first start and
/// remembered in the data directory, so a restart on the same directory finds its data.
pub fn database_of(admin_url: &str, data_dir: &Path) -> String {
    let note = data_dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&note) {
        return url;
    }
    let url = fresh_postgres_database(admin_url);
    std::fs::create_dir_all(data_dir).unwrap();
    std::fs::write(&note, &url).unwrap();
    url
}

/// Points `config` at its data directory's PostgreSQL database with the test master key,
/// when the tests run against PostgreSQL.
pub fn use_test_database(config: &mut Config) {
    if let Some(admin) = postgres_admin_url() {
        config.database_url = Some(database_of(&admin, &config.data_dir));
        config.master_key = Some(PG_MASTER_KEY.to_string());
    }
}

/// Whether servers of the calling test run on PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_admin_url().is_some()
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
    /// The PostgreSQL database the server runs on (`None`: SQLite in the data directory).
    pub postgres_url: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), server::RunError>>>,
}

impl TestServer {
    /// Starts the server with every default on a fresh data directory.
    pub async fn start() -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let config = Self::config(&data_dir);
        Self::start_with(config, data_dir).await
    }

    /// The test configuration: known token and admin password, `data_dir` as data dir.
    pub fn config(data_dir: &tempfile::TempDir) -> Config {
        // (the master key comes from <data-dir>/master.key unless a test sets one)
        let mut config = Config::with_data_dir(data_dir.path());
        config.api_token = Some(TOKEN.to_string());
        config.admin_password = Some(PASSWORD.to_string());
        use_test_database(&mut config);
        config
    }

    /// The test configuration with the SSRF guard allowing webhooks only to `cidr`.
    pub fn config_allowing(data_dir: &tempfile::TempDir, cidr: &str) -> Config {
        let mut config = Self::config(data_dir);
        config.webhook_allow_cidrs = vec![cidr.parse().unwrap()];
        config
    }

    /// Starts the server on a fresh data directory with the guard allowing only `cidr`
    /// ([`LOOPBACK`] for a receiver on 127.0.0.1) and `change` applied to the configuration.
    pub async fn start_allowing(cidr: &str, change: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Self::config_allowing(&data_dir, cidr);
        change(&mut config);
        Self::start_with(config, data_dir).await
    }

    /// Starts the server with `config` (whose data dir lives in `data_dir`).
    pub async fn start_with(config: Config, data_dir: tempfile::TempDir) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let postgres_url = config
            .database_url
            .clone()
            .filter(|url| url.starts_with("postgres"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(config, listener, async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            addr,
            data_dir,
            client,
            postgres_url,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// A client with a cookie jar, logged in as `admin`.
    pub async fn login(&self) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let response = client
            .post(self.url("/login"))
            .form(&[("username", "admin"), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "login failed");
        assert!(
            response.headers().contains_key("set-cookie"),
            "no session cookie"
        );
        client
    }

    /// An API request to `path` with the test token in `x-token`.
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("x-token", TOKEN)
    }

    /// The bytes of the database file and its WAL, for searching for plaintext (on
    /// PostgreSQL: every table of the server's database, copied out in binary form, so
    /// text and bytea values appear as stored).
    pub fn raw_database(&self) -> Vec<u8> {
        if let Some(url) = &self.postgres_url {
            return raw_postgres(url);
        }
        let mut bytes = Vec::new();
        for name in ["uniform.db", "uniform.db-wal", "uniform.db-shm"] {
            if let Ok(mut content) = std::fs::read(self.data_path().join(name)) {
                bytes.append(&mut content);
            }
        }
        bytes
    }

    /// The data directory's path.
    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }

    /// A connection pool on the server's own SQLite database, to inspect or fault it.
    pub async fn db(&self) -> sqlx::SqlitePool {
        assert!(
            self.postgres_url.is_none(),
            "this test reads the SQLite file: call common::sqlite_only() first"
        );
        open_db(self.data_dir.path()).await
    }

    /// GET `/metrics` with the test token: (status, text).
    pub async fn metrics(&self) -> (u16, String) {
        let response = self
            .api(reqwest::Method::GET, "/metrics")
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    /// Stops the server and hands back its data directory, to restart or inspect it.
    pub async fn stop_keep_dir(mut self) -> tempfile::TempDir {
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        self.stop().await.unwrap();
        data_dir
    }

    /// Asks the server to stop and waits (at most 10 s) for `run` to return.
    pub async fn stop(mut self) -> Result<(), server::RunError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("server did not stop within 10 s")
            .unwrap()
    }
}

/// Every table of the PostgreSQL database at `url`, `COPY … (FORMAT binary)`.
pub fn raw_postgres(url: &str) -> Vec<u8> {
    let url = url.to_string();
    on_own_runtime(async move {
        use futures_util::StreamExt as _;
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(!tables.is_empty());
        let mut bytes = Vec::new();
        for table in tables {
            let mut stream = conn
                .copy_out_raw(&format!("COPY \"{table}\" TO STDOUT (FORMAT binary)"))
                .await
                .unwrap();
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.unwrap());
            }
        }
        bytes
    })
}

/// The real `uniform` binary running on port 0, its stderr (the log) captured.
pub struct BinaryServer {
    pub addr: SocketAddr,
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl BinaryServer {
    /// Starts the binary on `data_dir` with the test token and password and `extra_env`;
    /// returns once it logs the address it listens on.
    pub fn start(data_dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Self {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_uniform"));
        command
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "debug")
            .env("UNIFORM_API_TOKEN", TOKEN)
            .env("UNIFORM_ADMIN_PASSWORD", PASSWORD)
            .env_remove("UNIFORM_MASTER_KEY")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if let Some(admin) = postgres_admin_url() {
            command
                .env("UNIFORM_DATABASE_URL", database_of(&admin, data_dir))
                .env("UNIFORM_MASTER_KEY", PG_MASTER_KEY);
        }
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    // The address ends the text line, or a JSON string in JSON format.
                    let addr = rest.split(['"', ' ']).next().unwrap_or_default();
                    let _ = tx.send(addr.trim().parse().unwrap());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no listening line; log:\n{}", log.lock().unwrap()));
        Self {
            addr,
            child,
            log,
            reader: Some(reader),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// An API request to `path` with the test token in `x-token` (no client timeout).
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, self.url(path))
            .header("x-token", TOKEN)
    }

    /// GET `path` with the test token; the JSON answer.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.api(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the server with SIGTERM and returns everything it logged.
    pub fn stop(mut self) -> String {
        self.terminate()
    }

    /// Kills the server with SIGKILL (a crash: no shutdown work at all).
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    fn terminate(&mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let log = self.log.lock().unwrap().clone();
        log
    }
}

impl Drop for BinaryServer {
    /// A test that fails half-way must not leave the server running.
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.terminate();
        }
    }
}

/// A request the mock receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// When the receiver got it.
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP server on 127.0.0.1:0 standing in for Slack: records every request and
/// answers with the configured status and body (`{body}` is replaced by the request body).
pub struct MockReceiver {
    pub addr: SocketAddr,
    received: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Received>>,
    reply: std::sync::Arc<std::sync::Mutex<Reply>>,
    queue: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Reply>>>,
}

/// One scripted answer of the mock receiver.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering (a slow or hanging receiver).
    pub delay: Duration,
}

impl Reply {
    /// `status` with `body`, at once.
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_string(),
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
}

impl MockReceiver {
    /// Starts a receiver answering 200 `ok`, as Slack does.
    pub async fn start() -> Self {
        use axum::extract::Request;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let reply = std::sync::Arc::new(std::sync::Mutex::new(Reply::new(200, "ok")));
        let queue = std::sync::Arc::new(std::sync::Mutex::new(
            std::collections::VecDeque::<Reply>::new(),
        ));
        let answer = reply.clone();
        let scripted = queue.clone();
        let app = axum::Router::new().fallback(move |request: Request| {
            let tx = tx.clone();
            let answer = answer.clone();
            let scripted = scripted.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let body = String::from_utf8_lossy(&bytes).to_string();
                let next = scripted.lock().unwrap().pop_front();
                let reply = next.unwrap_or_else(|| answer.lock().unwrap().clone());
                let text = reply.body.replace("{body}", &body);
                let _ = tx.send(Received {
                    at: std::time::Instant::now(),
                    method: parts.method.to_string(),
                    path: parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default(),
                    headers: parts
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                        .collect(),
                    body,
                });
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let mut response = axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::from_u16(reply.status).unwrap(),
                    text,
                ));
                for (key, value) in reply.headers {
                    response.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(key.as_bytes()).unwrap(),
                        value.parse().unwrap(),
                    );
                }
                response
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            received: tokio::sync::Mutex::new(rx),
            reply,
            queue,
        }
    }

    /// Answers the next requests with `replies`, in order, then as configured.
    pub fn script(&self, replies: Vec<Reply>) {
        self.queue.lock().unwrap().extend(replies);
    }

    /// From now on, answer `status` with `body`.
    pub fn reply_with(&self, status: u16, body: &str) {
        *self.reply.lock().unwrap() = Reply::new(status, body);
    }

    /// From now on, answer with `reply` (unless scripted otherwise).
    pub fn reply(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// The next request, waiting at most 10 s.
    pub async fn next(&self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.lock().await.recv())
            .await
            .expect("no request reached the receiver within 10 s")
            .unwrap()
    }
}

/// An API request (test token) with an optional JSON body: (status, JSON answer or null).
pub async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = server.api(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// A connection pool on the SQLite database (`uniform.db`) in `data_dir`.
pub async fn open_db(data_dir: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data_dir.join("uniform.db").display()
    ))
    .await
    .unwrap()
}

/// The id of the built-in webhook-service integration.
pub async fn webhook_service_id(server: &TestServer) -> String {
    let (status, list) = call(
        server,
        reqwest::Method::GET,
        &format!("{REGISTRATION}?name=webhook-service"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list[0]["id"].as_str().unwrap().to_string()
}

/// Creates `subscription` (a Keptn subscription body) for the built-in webhook-service:
/// (status, answer).
pub async fn create_subscription(
    server: &TestServer,
    subscription: serde_json::Value,
) -> (u16, serde_json::Value) {
    let id = webhook_service_id(server).await;
    call(
        server,
        reqwest::Method::POST,
        &format!("{REGISTRATION}/{id}/subscription"),
        Some(subscription),
    )
    .await
}

/// How many subscriptions the built-in webhook-service has.
pub async fn subscription_count(server: &TestServer) -> usize {
    let id = webhook_service_id(server).await;
    let (status, list) = call(
        server,
        reqwest::Method::GET,
        &format!("{REGISTRATION}/{id}/subscription"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().len()
}

/// Posts `event` to the event API: (status, answer).
pub async fn send_event(server: &TestServer, event: serde_json::Value) -> (u16, serde_json::Value) {
    call(server, reqwest::Method::POST, "/api/v1/event", Some(event)).await
}

/// A connection pool on a test server's database, whichever engine it runs on.
pub enum TestDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Waits (at most 10 s, looking every 20 ms) until every delivery of `event_id` has settled
/// (delivered or failed): `query`, with `event_id` bound, returns at least one row and
/// `status` of each row is final. Returns those rows.
pub async fn settled<R>(
    server: &TestServer,
    query: &'static str,
    event_id: &str,
    status: fn(&R) -> &str,
) -> Vec<R>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let pool = &match &server.postgres_url {
        Some(url) => TestDb::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
        None => TestDb::Sqlite(server.db().await),
    };
    // The query's one `?` is PostgreSQL's `$1`.
    let pg_query = query.replace('?', "$1");
    let pg_query = &pg_query;
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(20),
        "deliveries did not settle within 10 s",
        || async move {
            let rows: Vec<R> = match pool {
                TestDb::Sqlite(pool) => sqlx::query_as(query)
                    .bind(event_id)
                    .fetch_all(pool)
                    .await
                    .unwrap(),
                TestDb::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(pg_query.to_string()))
                    .bind(event_id)
                    .fetch_all(pool)
                    .await
                    .unwrap(),
            };
            (!rows.is_empty()
                && rows
                    .iter()
                    .all(|row| status(row) == "delivered" || status(row) == "failed"))
            .then_some(rows)
        },
    )
    .await
}

/// Runs `check` every `every` until it gives a value, and returns that value; panics with
/// `failure` if none came within `within`.
pub async fn eventually<T, F, Fut>(
    within: Duration,
    every: Duration,
    failure: &str,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    tokio::time::timeout(within, async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(every).await;
        }
    })
    .await
    .expect(failure)
}
