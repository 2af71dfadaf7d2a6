//! Hardening of access and the HTTP edge (issue 12): `next` after login stays on this site,
//! the login limit holds under a burst, a changed password ends sessions and idle sessions
//! are pruned, `/metrics` speaks the format it announces, every `/api/` error is JSON,
//! `--help` names every environment variable, slow headers and large server-function bodies
//! are cut off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{call, create_subscription, eventually, MockReceiver, TestServer, LOOPBACK, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEFAULT_NEXT: &str = "/uniform";
const TOO_MANY: &str = "Too many failed login attempts. Please wait a minute and try again.";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Logs in as `admin` with `password` and `next`; returns the answer.
async fn login(server: &TestServer, password: &str, next: &str) -> reqwest::Response {
    client()
        .post(server.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// Logs in as `admin` with `password`; returns the `Cookie` header value of the session.
async fn session_cookie(server: &TestServer, password: &str) -> String {
    let response = login(server, password, "/").await;
    assert_eq!(response.status(), 303, "login failed");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// GET `/uniform/secrets` with `cookie`: its status.
async fn secrets_page(server: &TestServer, cookie: &str) -> u16 {
    client()
        .get(server.url("/uniform/secrets"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn session_count(pool: &sqlx::SqlitePool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(pool)
        .await
        .unwrap()
}

// ---- next after login --------------------------------------------------------------------

#[tokio::test]
async fn login_never_redirects_off_site() {
    let server = TestServer::start().await;
    for hostile in [
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        "\t//evil.example/",
        "/.//evil.example/",
        "https://evil.example/",
        "https:evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
    ] {
        let response = login(&server, PASSWORD, hostile).await;
        assert_eq!(response.status(), 303, "{hostile:?}");
        assert_eq!(response.headers()["location"], DEFAULT_NEXT, "{hostile:?}");
    }
    // The wrong password keeps only a safe `next` too.
    let failed = login(&server, "wrong", "/\t/evil.example/").await;
    assert_eq!(
        failed.headers()["location"],
        "/login?error=invalid&next=/uniform&username=admin"
    );

    let legit = login(&server, PASSWORD, "/uniform/secrets?x=1").await;
    assert_eq!(legit.headers()["location"], "/uniform/secrets?x=1");
}

#[tokio::test]
async fn the_login_page_round_trip_of_an_encoded_tab_stays_on_site() {
    let server = TestServer::start().await;
    // The page puts the decoded `next` into its form; the browser posts it back.
    let html = server
        .get("/login?next=/%09/evil.example/")
        .await
        .text()
        .await
        .unwrap();
    let value = html
        .split(r#"name="next" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no next field: {html}"))
        .to_string();
    assert_eq!(value, "/\t/evil.example/");
    let response = login(&server, PASSWORD, &value).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], DEFAULT_NEXT);
}

// ---- the login limit ---------------------------------------------------------------------

#[tokio::test]
async fn forty_simultaneous_wrong_logins_check_only_five() {
    let server = TestServer::start().await;
    let client = client();
    let attempts = (0..40).map(|_| {
        client
            .post(server.url("/login"))
            .form(&[("username", "admin"), ("password", "wrong")])
            .send()
    });
    let answers = futures_join_all(attempts).await;
    let mut checked = 0;
    let mut refused = 0;
    for answer in answers {
        let answer = answer.unwrap();
        match answer.status().as_u16() {
            303 => {
                assert_eq!(
                    answer.headers()["location"],
                    "/login?error=invalid&next=/uniform&username=admin"
                );
                checked += 1;
            }
            429 => {
                assert!(answer.text().await.unwrap().contains(TOO_MANY));
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((checked, refused), (5, 35));
    // The right password is refused too while the limit holds.
    assert_eq!(login(&server, PASSWORD, "/").await.status(), 429);
}

/// Runs every future at once; their results in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

// ---- sessions ----------------------------------------------------------------------------

#[tokio::test]
async fn a_changed_admin_password_ends_its_sessions() {
    common::sqlite_only();
    let server = TestServer::start().await;
    let cookie = session_cookie(&server, PASSWORD).await;
    assert_eq!(secrets_page(&server, &cookie).await, 200);

    // A restart with the same password keeps the session.
    let dir = server.stop_keep_dir().await;
    let config = TestServer::config(&dir);
    let server = TestServer::start_with(config, dir).await;
    assert_eq!(secrets_page(&server, &cookie).await, 200);

    // A restart with a new password ends it.
    let new_password = "a brand new admin password";
    let dir = server.stop_keep_dir().await;
    let mut config = TestServer::config(&dir);
    config.admin_password = Some(new_password.to_string());
    let server = TestServer::start_with(config, dir).await;
    assert_eq!(secrets_page(&server, &cookie).await, 303);
    assert_eq!(session_count(&server.db().await).await, 0);
    assert_eq!(
        login(&server, PASSWORD, "/").await.headers()["location"],
        "/login?error=invalid&next=/&username=admin"
    );
    let fresh = session_cookie(&server, new_password).await;
    assert_eq!(secrets_page(&server, &fresh).await, 200);
}

#[tokio::test]
async fn idle_sessions_are_pruned_in_the_background() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir);
    // Pruned every second (a tenth of the idle timeout, at least 1 s).
    config.session_idle_timeout = Duration::from_secs(10);
    let server = TestServer::start_with(config, dir).await;
    let idle = session_cookie(&server, PASSWORD).await;
    let live = session_cookie(&server, PASSWORD).await;
    let pool = server.db().await;
    assert_eq!(session_count(&pool).await, 2);
    // One of them was last used an hour ago; nobody presents it again.
    let idle_hash = {
        use sha2::Digest as _;
        sha2::Sha256::digest(idle.trim_start_matches("uniform_session=").as_bytes()).to_vec()
    };
    let aged =
        sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 3600 WHERE id_hash = ?")
            .bind(&idle_hash)
            .execute(&pool)
            .await
            .unwrap();
    assert_eq!(aged.rows_affected(), 1);
    let pool = &pool;
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "the idle session was not pruned within 10 s",
        || async move { (session_count(pool).await == 1).then_some(()) },
    )
    .await;
    assert_eq!(secrets_page(&server, &live).await, 200);
}

// ---- /metrics ----------------------------------------------------------------------------

#[tokio::test]
async fn metrics_pass_promtool_and_match_their_content_type() {
    let receiver = MockReceiver::start().await;
    let server = TestServer::start_allowing(LOOPBACK, |_| {}).await;

    let event_type = "sh.keptn.event.dev-eu_1-delivery.finished";
    let (status, created) = create_subscription(
        &server,
        json!({
            "event": event_type,
            "filter": {"projects": [], "stages": [], "services": []},
            "webhook": {"method": "POST", "url": format!("http://127.0.0.1:{}/hook", receiver.addr.port()),
                        "headers": [], "payload": "{\"text\": \"done\"}",
                        "proxy": null, "sendStarted": false, "sendFinished": false}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/v1/event",
        Some(
            json!({"type": event_type, "specversion": "1.0", "source": "test",
                    "shkeptncontext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb",
                    "data": {"project": "sockshop", "stage": "dev-eu", "service": "carts"}}),
        ),
    )
    .await;
    assert!(status == 200 || status == 202, "{status} {body}");
    receiver.next().await;

    // Once the attempt is counted, every family has samples.
    let served = &server;
    let text = eventually(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "the delivery was not counted within 10 s",
        || async move {
            let response = served.api(Method::GET, "/metrics").send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(
                response.headers()["content-type"],
                "text/plain; version=0.0.4; charset=utf-8"
            );
            let text = response.text().await.unwrap();
            text.contains("uniform_deliveries_total{").then_some(text)
        },
    )
    .await;
    assert!(
        text.contains(&format!(
            "uniform_events_received_total{{type=\"{event_type}\"}} 1\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("# TYPE uniform_events_received_total counter\n"),
        "{text}"
    );
    assert!(!text.contains("# EOF"), "{text}");
    promtool_accepts(&text);

    // Prometheus asks for OpenMetrics first, and gets it.
    let response = server
        .api(Method::GET, "/metrics")
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let openmetrics = response.text().await.unwrap();
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    assert!(
        openmetrics.contains("# TYPE uniform_events_received counter\n"),
        "{openmetrics}"
    );
}

#[tokio::test]
async fn a_fresh_servers_metrics_pass_promtool() {
    let server = TestServer::start().await;
    let (status, text) = server.metrics().await;
    assert_eq!(status, 200);
    promtool_accepts(&text);
}

/// `promtool check metrics` (Debian's `prometheus` package, installed by `.ci/setup`) exits 0
/// on `text` without a finding.
fn promtool_accepts(text: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is missing: run .ci/setup (apt-get install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool: {}\n{}{}\non:\n{text}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---- /api/ errors ------------------------------------------------------------------------

#[tokio::test]
async fn every_api_error_is_json() {
    let server = TestServer::start().await;
    let response = server
        .api(Method::PATCH, "/api/v1/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET,HEAD,POST");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": 405, "message": "method PATCH is not allowed on /api/v1/tokens"})
    );

    let response = server
        .client
        .post(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": 405, "message": "method POST is not allowed on /api/openapi.json"})
    );

    let (status, body) = call(&server, Method::GET, "/api/v1/no-such-thing", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"code": 404, "message": "no API endpoint at /api/v1/no-such-thing"})
    );

    // A path parameter that is not UTF-8.
    let (status, body) = call(&server, Method::DELETE, "/api/v1/tokens/%FF", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("UTF-8"),
        "{body}"
    );

    let response = server
        .api(Method::POST, "/api/v1/tokens")
        .header("content-type", "text/plain")
        .body(r#"{"name": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": 415, "message": "the body must be JSON (Content-Type: application/json)"})
    );

    // One byte over 1 MiB, on a route with no limit of its own.
    let name = "x".repeat(1024 * 1024 + 1 - r#"{"name":""}"#.len());
    let response = server
        .api(Method::POST, "/api/v1/tokens")
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"{name}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": 413, "message": "the request body is too large (at most 1 MiB)"})
    );
    // Nothing was created by any of it.
    let (_, listed) = call(&server, Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1, "{listed}");
}

// ---- --help ------------------------------------------------------------------------------

#[test]
fn help_names_the_environment_variable_of_every_option() {
    for flag in ["--help", "-h"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_uniform"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(output.status.success());
        let help = String::from_utf8(output.stdout).unwrap();
        // Each option's paragraph: its flag line up to the next empty line or option.
        let lines: Vec<&str> = help.lines().collect();
        let mut options = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if !(trimmed.starts_with("--") || trimmed.starts_with("-h, --"))
                || line.len() == trimmed.len()
            {
                continue;
            }
            let name = trimmed
                .trim_start_matches("-h, ")
                .split_whitespace()
                .next()
                .unwrap();
            let paragraph: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| !l.is_empty() && !l.trim_start().starts_with('-'))
                .copied()
                .collect();
            options.push((name.to_string(), paragraph.join("\n")));
        }
        let log_format = options.iter().find(|(name, _)| name == "--log-format");
        assert!(
            log_format.is_some_and(|(_, text)| text.contains("[env: UNIFORM_LOG_FORMAT=]")),
            "{flag}: {log_format:?}\n{help}"
        );
        let mut documented = 0;
        for (name, paragraph) in &options {
            if name == "--help" || name == "--version" {
                continue;
            }
            documented += 1;
            assert!(
                paragraph.contains("[env: UNIFORM_"),
                "{flag}: {name} names no variable:\n{paragraph}"
            );
        }
        assert!(documented >= 20, "{flag}: {documented} options in:\n{help}");
    }
}

// ---- resource bounds ---------------------------------------------------------------------

#[tokio::test]
async fn a_client_sending_headers_slowly_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir);
    config.header_read_timeout = Duration::from_secs(1);
    let server = TestServer::start_with(config, dir).await;
    assert_eq!(server.get("/healthz").await.status(), 200);

    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    // One header line every 200 ms, for ever (until the server hangs up).
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut answer)).await;
    trickle.abort();
    assert!(closed.is_ok(), "the connection is still open after 5 s");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed after {elapsed:?}"
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // A connection that sends nothing at all is closed too.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "an idle connection is still open after 5 s");

    // Ordinary requests still work, and the server still stops.
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn server_function_bodies_are_limited() {
    let server = TestServer::start().await;
    let cookie = session_cookie(&server, PASSWORD).await;
    let big = format!("name={}", "x".repeat(4 * 1024 * 1024));
    let response = client()
        .post(server.url("/rpc/tokens/create"))
        .header("cookie", &cookie)
        .header("origin", server.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.text().await.unwrap(),
        "The request is too large (at most 4 MiB)."
    );

    // The same without a declared length (chunked): cut off at the limit.
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /rpc/tokens/create HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nname=\r\n",
        addr = server.addr
    );
    // The server may answer and hang up before all 5 MiB are written.
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        for _ in 0..(5 * 16) {
            writer.write_all(chunk.as_bytes()).await?;
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let mut answer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut answer))
        .await
        .expect("no answer within 10 s")
        .unwrap();
    sender.abort();
    let status_line = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");

    // A normal call still works, and nothing was created above.
    let (_, listed) = call(&server, Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1, "{listed}");
}
