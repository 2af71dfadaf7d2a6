//! Hardening of outbound requests (issue 12): the webhook proxy passes the SSRF guard at save
//! and where it is dialled, a receiver's answer is read only as far as it is kept, and
//! webhooks that could never be sent (bad header name, URL without host) are refused at save
//! or fail for good instead of retrying. Every listener is on 127.0.0.1 or 127.0.0.2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    call, create_subscription, eventually, send_event as post_event, subscription_count,
    MockReceiver, TestServer,
};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const EVENT: &str = "sh.keptn.event.evaluation.finished";

/// A server whose guard allows only `cidr`.
async fn start_allowing(cidr: &str) -> TestServer {
    TestServer::start_allowing(cidr, |_| {}).await
}

fn webhook(url: &str, proxy: Option<&str>) -> Value {
    json!({"method": "POST", "url": url, "headers": [], "payload": "{\"text\": \"hi\"}",
           "proxy": proxy, "sendStarted": false, "sendFinished": false})
}

/// Creates a webhook-service subscription to `event` with `webhook`: (status, answer).
async fn subscribe_to(server: &TestServer, event: &str, webhook: Value) -> (u16, Value) {
    create_subscription(
        server,
        json!({"event": event, "filter": {"projects": [], "stages": [], "services": []},
               "webhook": webhook}),
    )
    .await
}

fn event(id: &str) -> Value {
    json!({"type": EVENT, "specversion": "1.0", "source": "lighthouse-service", "id": id,
           "shkeptncontext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb", "triggeredid": "t-1",
           "data": {"project": "sockshop", "stage": "dev", "service": "carts", "result": "pass"}})
}

async fn send_event(server: &TestServer, id: &str) {
    let (status, body) = post_event(server, event(id)).await;
    assert!(status == 200 || status == 202, "{status} {body}");
}

async fn test_send(server: &TestServer, webhook: Value) -> Value {
    let (status, sent) = call(
        server,
        Method::POST,
        "/api/v1/test-send",
        Some(json!({"subscription": {"event": EVENT, "webhook": webhook}, "event": event("t")})),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    sent
}

/// The one delivery of `event_id` once its first attempt is recorded (at most 10 s):
/// (status, reason, attempt count, response of the first attempt).
async fn first_attempt(server: &TestServer, event_id: &str) -> (String, String, i64, Value) {
    let pool = &server.db().await;
    eventually(
        Duration::from_secs(10),
        Duration::from_millis(20),
        "no attempt was recorded within 10 s",
        || async move {
            let row: Option<(String, Option<String>, i64, Option<String>)> = sqlx::query_as(
                "SELECT d.status, d.reason, d.attempt_count, a.response FROM deliveries d
                 JOIN delivery_attempts a ON a.delivery_id = d.id AND a.number = 1
                 WHERE d.event_id = ? AND d.status != 'pending'",
            )
            .bind(event_id)
            .fetch_optional(pool)
            .await
            .unwrap();
            row.map(|(status, reason, count, response)| {
                let response = response
                    .map(|r| serde_json::from_str(&r).unwrap())
                    .unwrap_or(Value::Null);
                (status, reason.unwrap_or_default(), count, response)
            })
        },
    )
    .await
}

/// A listening port that only tells whether anything connected to it: connections wait in
/// the kernel's accept queue, so a dial that happened before [`Sink::dialled`] is seen.
struct Sink {
    listener: std::net::TcpListener,
}

impl Sink {
    fn bind(ip: &str) -> Self {
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        Self { listener }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// Whether some connection reached this port.
    fn dialled(&self) -> bool {
        match self.listener.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Reads one request (head and a `Content-Length` body); returns the head.
async fn read_request(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed before a whole request");
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut have = data.len() - head_end;
    while have < length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed inside the request body");
        have += n;
    }
    head
}

/// What the streaming receiver managed to write before the connection ended.
#[derive(Debug)]
struct Streamed {
    written: usize,
    cut_off: bool,
}

/// A receiver on 127.0.0.1 that answers its first request 200 with a 64 MiB body, written
/// in 16 KiB pieces with a small send buffer; reports how much it could write before the
/// client hung up (or that it wrote everything).
async fn streaming_receiver() -> (u16, tokio::sync::oneshot::Receiver<Streamed>) {
    const TOTAL: usize = 64 * 1024 * 1024;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_request(&mut stream).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {TOTAL}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let piece = vec![b'a'; 16 * 1024];
        let mut written = 0;
        let mut cut_off = false;
        while written < TOTAL {
            match stream.write_all(&piece).await {
                Ok(()) => written += piece.len(),
                Err(_) => {
                    cut_off = true;
                    break;
                }
            }
        }
        let _ = tx.send(Streamed { written, cut_off });
    });
    (port, rx)
}

async fn streamed(rx: tokio::sync::oneshot::Receiver<Streamed>) -> Streamed {
    tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("the receiver kept writing for 10 s")
        .unwrap()
}

const REFUSED_PROXY: &str = "refused proxy 127.0.0.1: 127.0.0.1 is a loopback address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)";

#[tokio::test]
async fn a_proxy_address_the_guard_refuses_is_refused_at_save() {
    let server = start_allowing("127.0.0.2/32").await;
    let proxy = Sink::bind("127.0.0.1");
    let target = Sink::bind("127.0.0.2");
    let url = format!("http://127.0.0.2:{}/hook", target.port());
    let before = subscription_count(&server).await;
    for (proxy_url, message) in [
        (
            format!("http://127.0.0.1:{}", proxy.port()),
            format!("webhook.proxy: {REFUSED_PROXY}"),
        ),
        (
            format!("http://user:secret@127.0.0.1:{}", proxy.port()),
            format!("webhook.proxy: {REFUSED_PROXY}"),
        ),
        (
            "http://[::1]:3128".to_string(),
            "webhook.proxy: refused proxy [::1]: ::1 is a loopback address (allow it with UNIFORM_WEBHOOK_ALLOW_CIDRS)".to_string(),
        ),
        (
            "http://".to_string(),
            "webhook.proxy: invalid proxy URL: empty host".to_string(),
        ),
    ] {
        let (status, body) =
            subscribe_to(&server, EVENT, webhook(&url, Some(proxy_url.as_str()))).await;
        assert_eq!(
            (status, body),
            (400, json!({"code": 400, "message": message})),
            "{proxy_url}"
        );
    }
    assert_eq!(subscription_count(&server).await, before, "nothing saved");
    // An allowed proxy address is saved.
    let (status, body) = subscribe_to(
        &server,
        EVENT,
        webhook(&url, Some(&format!("http://127.0.0.2:{}", target.port()))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(!proxy.dialled(), "the refused proxy was dialled");
}

#[tokio::test]
async fn a_test_send_through_a_refused_proxy_address_reaches_nothing() {
    let server = start_allowing("127.0.0.2/32").await;
    let proxy = Sink::bind("127.0.0.1");
    let target = Sink::bind("127.0.0.2");
    let sent = test_send(
        &server,
        webhook(
            &format!("http://127.0.0.2:{}/hook", target.port()),
            Some(&format!("http://127.0.0.1:{}", proxy.port())),
        ),
    )
    .await;
    assert_eq!(sent["response"], Value::Null, "{sent}");
    assert_eq!(sent["error"], json!(REFUSED_PROXY), "{sent}");
    assert!(!proxy.dialled(), "the refused proxy received the request");
    assert!(!target.dialled(), "the target was reached past the proxy");
}

#[tokio::test]
async fn a_named_proxy_is_resolved_through_the_guard_and_its_refusal_fails_the_delivery() {
    common::sqlite_only();
    let server = start_allowing("127.0.0.2/32").await;
    let proxy = Sink::bind("127.0.0.1");
    let target = Sink::bind("127.0.0.2");
    let (status, body) = subscribe_to(
        &server,
        EVENT,
        webhook(
            &format!("http://127.0.0.2:{}/hook", target.port()),
            Some(&format!("http://localhost:{}", proxy.port())),
        ),
    )
    .await;
    assert_eq!(
        status, 201,
        "a named proxy is resolved when dialled: {body}"
    );
    send_event(&server, "e-proxy").await;
    let (status, reason, attempts, response) = first_attempt(&server, "e-proxy").await;
    assert_eq!((status.as_str(), attempts), ("failed", 1), "{reason}");
    assert_eq!(response, Value::Null);
    assert!(
        reason.starts_with("refused proxy localhost: ")
            && reason.contains(" is a loopback address"),
        "{reason}"
    );
    let (_, metrics) = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "uniform_refused_targets_total 1"),
        "{metrics}"
    );
    assert!(!proxy.dialled(), "the refused proxy received the request");
    assert!(!target.dialled(), "the target was reached past the proxy");
}

#[tokio::test]
async fn an_allowed_proxy_carries_the_request() {
    let server = start_allowing("127.0.0.0/8").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let target = Sink::bind("127.0.0.2");
    let proxied = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let head = read_request(&mut stream).await;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nvia proxy")
            .await
            .unwrap();
        head
    });
    let url = format!("http://127.0.0.2:{}/hook", target.port());
    let sent = test_send(
        &server,
        webhook(&url, Some(&format!("http://127.0.0.1:{proxy_port}"))),
    )
    .await;
    assert_eq!(
        sent["response"],
        json!({"status": 200, "body": "via proxy"}),
        "{sent}"
    );
    let head = tokio::time::timeout(Duration::from_secs(10), proxied)
        .await
        .unwrap()
        .unwrap();
    assert!(
        head.starts_with(&format!("POST {url} HTTP/1.1\r\n")),
        "{head}"
    );
    assert!(
        !target.dialled(),
        "the proxy, not Uniform, talks to the target"
    );
}

#[tokio::test]
async fn a_huge_answer_is_read_only_as_far_as_it_is_kept() {
    common::sqlite_only();
    let server = start_allowing("127.0.0.1/32").await;
    let (port, report) = streaming_receiver().await;
    let (status, body) = subscribe_to(
        &server,
        EVENT,
        webhook(&format!("http://127.0.0.1:{port}/hook"), None),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    send_event(&server, "e-huge").await;
    let streamed = streamed(report).await;
    assert!(
        streamed.cut_off && streamed.written < 2 * 1024 * 1024,
        "the receiver wrote {streamed:?} of 64 MiB"
    );
    let (status, _, _, response) = first_attempt(&server, "e-huge").await;
    assert_eq!(status, "delivered");
    assert_eq!(response["status"], 200);
    assert_eq!(
        response["body"].as_str().unwrap(),
        "a".repeat(64 * 1024),
        "the kept body is the first 64 KiB"
    );
}

#[tokio::test]
async fn a_test_send_reads_only_the_start_of_a_huge_answer() {
    let server = start_allowing("127.0.0.1/32").await;
    let (port, report) = streaming_receiver().await;
    let sent = test_send(
        &server,
        webhook(&format!("http://127.0.0.1:{port}/hook"), None),
    )
    .await;
    assert_eq!(sent["response"]["status"], 200, "{sent}");
    assert_eq!(sent["response"]["body"].as_str().unwrap(), "a".repeat(4096));
    let streamed = streamed(report).await;
    assert!(
        streamed.cut_off && streamed.written < 2 * 1024 * 1024,
        "the receiver wrote {streamed:?} of 64 MiB"
    );
}

#[tokio::test]
async fn a_header_http_does_not_allow_is_refused_at_save() {
    let server = TestServer::start().await;
    let before = subscription_count(&server).await;
    let with_headers = |headers: Value| {
        let mut webhook = webhook("https://hooks.example/x", None);
        webhook["headers"] = headers;
        webhook
    };
    for (headers, message) in [
        (
            json!([{"key": "Bad Header:", "value": "v"}]),
            "webhook.headers[0]: \"Bad Header:\" is not a valid HTTP header name (no spaces, colons or other separators)",
        ),
        (
            json!([{"key": "X-Ok", "value": "v"}, {"key": "X(1)", "value": "v"}]),
            "webhook.headers[1]: \"X(1)\" is not a valid HTTP header name (no spaces, colons or other separators)",
        ),
        (
            json!([{"key": "X-Ok", "value": "a\u{0}b"}]),
            "webhook.headers[0].value: header value must not contain control characters",
        ),
    ] {
        let (status, body) = subscribe_to(&server, EVENT, with_headers(headers.clone())).await;
        assert_eq!(
            (status, body),
            (400, json!({"code": 400, "message": message})),
            "{headers}"
        );
    }
    assert_eq!(subscription_count(&server).await, before, "nothing saved");
    let (status, body) = subscribe_to(
        &server,
        EVENT,
        with_headers(json!([{"key": "X-Custom_Header.1", "value": "tab\there"}])),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_stored_request_that_cannot_be_built_fails_for_good() {
    common::sqlite_only();
    let server = start_allowing("127.0.0.1/32").await;
    let receiver = MockReceiver::start().await;
    let mut hook = webhook(
        &format!("http://127.0.0.1:{}/hook", receiver.addr.port()),
        None,
    );
    hook["headers"] = json!([{"key": "X-Ok", "value": "v"}]);
    let (status, created) = subscribe_to(&server, EVENT, hook.clone()).await;
    assert_eq!(status, 201, "{created}");
    // Data from an older version, saved before header names were checked.
    hook["headers"] = json!([{"key": "Bad Header:", "value": "v"}]);
    sqlx::query("UPDATE subscriptions SET webhook = ? WHERE id = ?")
        .bind(hook.to_string())
        .bind(created["id"].as_str().unwrap())
        .execute(&server.db().await)
        .await
        .unwrap();
    // Any change through the API makes the server read the subscriptions again.
    let (status, _) = subscribe_to(
        &server,
        "sh.keptn.event.other.triggered",
        webhook("https://hooks.example/x", None),
    )
    .await;
    assert_eq!(status, 201);
    send_event(&server, "e-bad-header").await;
    let (status, reason, attempts, response) = first_attempt(&server, "e-bad-header").await;
    assert_eq!(
        (status.as_str(), reason.as_str(), attempts, response),
        (
            "failed",
            "header \"Bad Header:\": not a valid HTTP header name",
            1,
            Value::Null
        )
    );
}

#[tokio::test]
async fn a_url_without_a_host_is_refused_at_save() {
    let server = TestServer::start().await;
    let before = subscription_count(&server).await;
    for (url, message) in [
        (
            "http://",
            "webhook.url: URL must name a host after http(s)://",
        ),
        (
            "https://",
            "webhook.url: URL must name a host after http(s)://",
        ),
        (
            "https://:8080/x",
            "webhook.url: URL must name a host after http(s)://",
        ),
        (
            "http:///{{.data.project}}",
            "webhook.url: URL must name a host after http(s)://",
        ),
        (
            "http://hooks.example:99999/{{.data.project}}",
            "webhook.url: URL is not valid: invalid port number",
        ),
    ] {
        let (status, body) = subscribe_to(&server, EVENT, webhook(url, None)).await;
        assert_eq!(
            (status, body),
            (400, json!({"code": 400, "message": message})),
            "{url}"
        );
    }
    assert_eq!(subscription_count(&server).await, before, "nothing saved");
    // A host still to be filled in by a template cannot be judged yet.
    for url in [
        "http://{{.data.project}}.example/x",
        "https://hooks.example/{{.data.project}}",
        "http://hooks.example:{{.data.stage}}/x",
    ] {
        let (status, body) = subscribe_to(&server, EVENT, webhook(url, None)).await;
        assert_eq!(status, 201, "{url}: {body}");
    }
}
