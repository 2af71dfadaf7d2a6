//! Access control against the real server: API tokens, login, sessions, CSRF, security
//! headers, bootstrap files, and no plaintext credential in the database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{TestServer, PASSWORD, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

/// Every route in the OpenAPI document (which utoipa builds from the same `routes!` calls
/// that build the router, so a new route cannot be left out), plus unknown API paths.
async fn all_api_routes(server: &TestServer) -> Vec<(Method, String)> {
    let doc: Value = server.get("/api/openapi.json").await.json().await.unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "some-id" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            if let Ok(method) = method.to_uppercase().parse::<Method>() {
                routes.push((method, concrete.clone()));
            }
        }
    }
    assert!(
        routes.len() >= 3,
        "the OpenAPI document lists too few routes: {routes:?}"
    );
    routes.push((Method::GET, "/api/no/such/endpoint".to_string()));
    routes.push((Method::POST, "/api/v1/no-such".to_string()));
    routes
}

#[tokio::test]
async fn every_api_route_answers_401_without_a_valid_token() {
    let server = TestServer::start().await;
    for (method, path) in all_api_routes(&server).await {
        for token in [None, Some("wrong-token"), Some("")] {
            let mut request = server.client.request(method.clone(), server.url(&path));
            if let Some(token) = token {
                request = request.header("x-token", token);
            }
            let response = request.json(&json!({"name": "x"})).send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], 401, "{method} {path}");
            let expected = if token.is_some_and(|t| !t.is_empty()) {
                "invalid API token"
            } else {
                "missing API token: send it in the x-token header or as Authorization: Bearer <token>"
            };
            assert_eq!(body["message"], expected, "{method} {path}");
        }
        let response = server
            .client
            .request(method.clone(), server.url(&path))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "{method} {path} with a wrong bearer"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_public() {
    let server = TestServer::start().await;
    let response = server.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/tokens"]["post"].is_object(), "{doc}");
}

#[tokio::test]
async fn tokens_work_in_both_headers() {
    let server = TestServer::start().await;
    let by_x_token = server
        .api(Method::GET, "/api/v1/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(by_x_token.status(), 200);
    let by_bearer = server
        .client
        .get(server.url("/api/v1/tokens"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(by_bearer.status(), 200);
    let body: Value = by_bearer.json().await.unwrap();
    assert_eq!(body["tokens"][0]["name"], "bootstrap");
    assert!(body["tokens"][0]["lastUsedAt"].is_string(), "{body}");
    assert!(body["tokens"][0].get("token").is_none(), "{body}");
}

#[tokio::test]
async fn a_created_token_works_and_a_revoked_one_stops_at_once() {
    common::sqlite_only();
    let server = TestServer::start().await;
    let response = server
        .api(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "ci-pipeline"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "ci-pipeline");
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(token.len() >= 43, "token too short: {token}");
    assert!(created["createdAt"].is_string());

    let with_new = server
        .client
        .get(server.url("/api/v1/tokens"))
        .header("x-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_new.status(), 200);
    let listed: Value = with_new.json().await.unwrap();
    let names: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bootstrap", "ci-pipeline"]);

    let revoked = server
        .api(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(revoked.json::<Value>().await.unwrap(), json!({}));

    let after = server
        .client
        .get(server.url("/api/v1/tokens"))
        .header("x-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);

    let again = server
        .api(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"code": 404, "message": format!("no API token with id {id}")})
    );

    // Neither the new token nor the test token is in the database file in plaintext.
    let raw = server.raw_database();
    assert!(
        !contains(&raw, token.as_bytes()),
        "plaintext token in the database"
    );
    assert!(
        !contains(&raw, TOKEN.as_bytes()),
        "plaintext token in the database"
    );
    assert!(
        !contains(&raw, PASSWORD.as_bytes()),
        "plaintext password in the database"
    );
}

#[tokio::test]
async fn token_creation_rejects_bad_input_with_json_errors() {
    let server = TestServer::start().await;
    for (body, message) in [
        (json!({}), "name: Must not be empty"),
        (json!({"name": "  "}), "name: Must not be empty"),
        (
            json!({"name": "x".repeat(101)}),
            "name: Name must not have more than 100 characters",
        ),
    ] {
        let response = server
            .api(Method::POST, "/api/v1/tokens")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"code": 400, "message": message})
        );
    }
    let malformed = server
        .api(Method::POST, "/api/v1/tokens")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON body"),
        "{body}"
    );
    let listed: Value = server
        .api(Method::GET, "/api/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["tokens"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn pages_redirect_to_login_and_back() {
    let server = TestServer::start().await;
    let response = server.get("/uniform/secrets").await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=/uniform/secrets"
    );

    let login_page = server.get("/login?next=/uniform/secrets").await;
    assert_eq!(login_page.status(), 200);
    let html = login_page.text().await.unwrap();
    assert!(
        html.contains(r#"<label for="login-username">Username</label>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<label for="login-password">Password</label>"#),
        "{html}"
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    for (username, password) in [("admin", "wrong"), ("nobody", PASSWORD)] {
        let failed = client
            .post(server.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/uniform/secrets"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), 303);
        assert_eq!(
            failed.headers()["location"].to_str().unwrap(),
            format!("/login?error=invalid&next=/uniform/secrets&username={username}")
        );
        assert!(!failed.headers().contains_key("set-cookie"));
    }
    let shown = client
        .get(server.url("/login?error=invalid&next=/uniform/secrets"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("Invalid username or password."), "{shown}");

    let ok = client
        .post(server.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/uniform/secrets"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/uniform/secrets");
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("uniform_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );

    let page = client
        .get(server.url("/uniform/secrets"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");

    let logout = client
        .post(server.url("/logout"))
        .header("origin", server.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    assert_eq!(logout.headers()["location"], "/login");

    // The old cookie value no longer opens a session, even if a client kept it.
    let session = cookie.split(';').next().unwrap().to_string();
    let replay = server
        .client
        .get(server.url("/uniform/secrets"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
}

#[tokio::test]
async fn secure_cookie_when_the_public_url_is_https() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&data_dir);
    config.public_url = Some("https://uniform.example.com".parse().unwrap());
    let server = TestServer::start_with(config, data_dir).await;
    let response = server
        .client
        .post(server.url("/login"))
        .form(&[("username", "admin"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn an_idle_session_expires() {
    common::sqlite_only();
    let server = TestServer::start().await;
    let client = server.login().await;
    assert_eq!(
        client
            .get(server.url("/uniform/secrets"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Pretend the last request was 13 hours ago (the idle limit is 12 h).
    let db = server.db().await;
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 13 * 3600")
        .execute(&db)
        .await
        .unwrap();
    let response = client
        .get(server.url("/uniform/secrets"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0, "the expired session is deleted");
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        let response = server
            .client
            .post(server.url("/login"))
            .form(&[("username", "admin"), ("password", "nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
    }
    // Even the right password is refused while the limit holds.
    let response = server
        .client
        .post(server.url("/login"))
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Too many failed login attempts. Please wait a minute and try again."),
        "{html}"
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let server = TestServer::start().await;
    let client = server.login().await;
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ] {
        for path in ["/logout", "/rpc/tokens/create"] {
            let response = client
                .post(server.url(path))
                .header(header, value)
                .form(&[("name", "evil")])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{path} with {header}: {value}");
        }
    }
    // The session survived and nothing was created.
    assert_eq!(
        client
            .get(server.url("/uniform/tokens"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let listed: Value = server
        .api(Method::GET, "/api/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn server_functions_need_a_session() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/rpc/tokens/list"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["cache-control"], "no-store");

    let client = server.login().await;
    let response = client
        .post(server.url("/rpc/tokens/create"))
        .header("origin", server.url(""))
        .form(&[("name", "from-the-ui")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "from-the-ui");
    assert_eq!(
        response_headers_ok(&server, "/rpc/tokens/list", &client).await,
        "no-store"
    );
}

async fn response_headers_ok(server: &TestServer, path: &str, client: &reqwest::Client) -> String {
    let response = client
        .post(server.url(path))
        .header("origin", server.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let server = TestServer::start().await;
    for path in [
        "/login",
        "/healthz",
        "/api/v1/tokens",
        "/uniform/secrets",
        "/nope",
    ] {
        let response = server.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.starts_with("default-src 'self'; script-src 'self' 'nonce-"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    // The page's inline hydration script carries the nonce the header allows.
    let response = server.get("/login").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_string();
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<script type="module" nonce="{nonce}">"#)),
        "nonce {nonce} not on the script: {html}"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn first_start_writes_the_token_and_password_to_private_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_uniform"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("UNIFORM_API_TOKEN")
        .env_remove("UNIFORM_ADMIN_PASSWORD")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    let token_file = dir.path().join("api-token");
    let password_file = dir.path().join("admin-password");
    assert!(
        log.contains(&format!(
            "generated the first API token; it is in this file path={}",
            token_file.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "generated the admin password; it is in this file path={}",
            password_file.display()
        )),
        "{log}"
    );
    for file in [&token_file, &password_file] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    let password = std::fs::read_to_string(&password_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.len() >= 43, "token: {token}");
    assert!(password.len() >= 16);
    assert!(!log.contains(&token), "the log shows the token");
    assert!(!log.contains(&password), "the log shows the password");
    let mut raw = std::fs::read(dir.path().join("uniform.db")).unwrap();
    raw.extend(std::fs::read(dir.path().join("uniform.db-wal")).unwrap_or_default());
    assert!(!contains(&raw, token.as_bytes()));
    assert!(!contains(&raw, password.as_bytes()));
}

#[tokio::test]
async fn the_bootstrap_files_hold_working_credentials() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = server::Config::with_data_dir(data_dir.path());
    let server = TestServer::start_with(config, data_dir).await;
    // The first request waits for start-up (and thus the files) to finish.
    assert_eq!(server.get("/readyz").await.status(), 200);
    let token = std::fs::read_to_string(server.data_path().join("api-token")).unwrap();
    let password = std::fs::read_to_string(server.data_path().join("admin-password")).unwrap();
    let api = server
        .client
        .get(server.url("/api/v1/tokens"))
        .header("x-token", token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let login = server
        .client
        .post(server.url("/login"))
        .form(&[("username", "admin"), ("password", password.trim())])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert!(login.headers().contains_key("set-cookie"));
}
