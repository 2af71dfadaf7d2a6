//! Secrets through the real server: Keptn's secret API (shapes, status codes, messages),
//! sealing at rest (no plaintext in the database file, its WAL or the log), key checks at
//! start-up and key rotation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{call as send, BinaryServer, TestServer, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

const BASE: &str = "/api/secrets/v1";

async fn post(server: &TestServer, body: Value) -> (u16, Value) {
    send(server, Method::POST, &format!("{BASE}/secret"), Some(body)).await
}

async fn list(server: &TestServer, query: &str) -> Value {
    let (status, body) = send(server, Method::GET, &format!("{BASE}/secret{query}"), None).await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn create_list_update_delete_as_keptns_api() {
    let server = TestServer::start().await;
    assert_eq!(list(&server, "").await, json!({"Secrets": []}));

    let (status, body) = post(
        &server,
        json!({"name": "slack-secret", "scope": "keptn-webhook-service",
               "data": {"webhook-identifier": "XXXXXXXX", "a.token_2": "secretvalue!@#$%^&*("}}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        body,
        json!({"name": "slack-secret", "scope": "keptn-webhook-service",
               "keys": ["a.token_2", "webhook-identifier"]})
    );

    let (status, body) = post(&server, json!({"name": "other", "data": {"k": "v"}})).await;
    assert_eq!(status, 201);
    assert_eq!(body["scope"], "keptn-default");
    let (status, body) = post(
        &server,
        json!({"name": "third", "scope": "", "data": {"k": "v"}}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["scope"], "keptn-default");

    assert_eq!(
        list(&server, "").await,
        json!({"Secrets": [
            {"name": "other", "scope": "keptn-default", "keys": ["k"]},
            {"name": "slack-secret", "scope": "keptn-webhook-service", "keys": ["a.token_2", "webhook-identifier"]},
            {"name": "third", "scope": "keptn-default", "keys": ["k"]},
        ]})
    );
    assert_eq!(
        list(&server, "?name=slack-secret").await["Secrets"][0]["name"],
        "slack-secret"
    );
    assert_eq!(
        list(&server, "?scope=keptn-default").await["Secrets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(list(&server, "?name=nope").await, json!({"Secrets": []}));

    let (status, body) = send(
        &server,
        Method::PUT,
        &format!("{BASE}/secret"),
        Some(json!({"name": "slack-secret", "scope": "keptn-webhook-service", "data": {"new-key": "v2"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"name": "slack-secret", "scope": "keptn-webhook-service", "keys": ["new-key"]})
    );

    let (status, body) = send(
        &server,
        Method::DELETE,
        &format!("{BASE}/secret?name=other&scope=keptn-default"),
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(list(&server, "?name=other").await, json!({"Secrets": []}));

    let (status, body) = send(&server, Method::GET, &format!("{BASE}/scope"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"scopes": ["dynatrace-service", "keptn-default", "keptn-prometheus-service", "keptn-webhook-service"]})
    );
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_message_and_changes_nothing() {
    let server = TestServer::start().await;
    let (status, _) = post(&server, json!({"name": "existing", "data": {"k": "v"}})).await;
    assert_eq!(status, 201);
    let before = list(&server, "").await;
    let long = "a".repeat(254);
    let cases = [
        (json!({"data": {"k": "v"}}), 400, "name: Must not be empty".to_string()),
        (json!({"name": "", "data": {"k": "v"}}), 400, "name: Must not be empty".to_string()),
        (json!({"name": "Slack_Secret", "data": {"k": "v"}}), 400,
         "name: Name must consist of lower case alphanumeric characters and '-' and must start and end with an alphanumeric character".to_string()),
        (json!({"name": "-x", "data": {"k": "v"}}), 400,
         "name: Name must consist of lower case alphanumeric characters and '-' and must start and end with an alphanumeric character".to_string()),
        (json!({"name": long.clone(), "data": {"k": "v"}}), 400,
         "name: Name must not have more than 253 characters".to_string()),
        (json!({"name": "s", "data": {long.clone(): "v"}}), 400,
         format!("data[\"{long}\"]: Key must not have more than 253 characters")),
        (json!({"name": "s", "data": {"a b": "v"}}), 400,
         "data[\"a b\"]: Key must consist of alphanumeric characters, '-', '_' or '.'".to_string()),
        (json!({"name": "s"}), 400, "data: At least one key-value pair is required".to_string()),
        (json!({"name": "s", "data": {}}), 400, "data: At least one key-value pair is required".to_string()),
        (json!({"name": "s", "data": {"k": ""}}), 400, "data.k: Must not be empty".to_string()),
        (json!({"name": "s", "data": {"k": "x".repeat(64 * 1024 + 1)}}), 400,
         "data.k: Value must not be larger than 64 KiB".to_string()),
        (json!({"name": "s", "scope": "nope", "data": {"k": "v"}}), 400,
         "scope: Unknown scope \"nope\"; it must be one of dynatrace-service, keptn-default, keptn-prometheus-service, keptn-webhook-service".to_string()),
        (json!({"name": "existing", "data": {"k": "v"}}), 409, "secret already exists".to_string()),
    ];
    for (body, status, message) in cases {
        let (got_status, got) = post(&server, body.clone()).await;
        assert_eq!(got_status, status, "{body}");
        assert_eq!(got, json!({"code": status, "message": message}), "{body}");
    }
    // Exactly 64 KiB is fine.
    let (status, _) = post(
        &server,
        json!({"name": "big", "data": {"k": "x".repeat(64 * 1024)}}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        &server,
        Method::DELETE,
        &format!("{BASE}/secret?name=big&scope=keptn-default"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    let malformed = server
        .api(Method::POST, &format!("{BASE}/secret"))
        .header("content-type", "application/json")
        .body(r#"{"name": "s", "data": "#)
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

    let put = |body: Value| send(&server, Method::PUT, "/api/secrets/v1/secret", Some(body));
    assert_eq!(
        put(json!({"name": "missing", "data": {"k": "v"}})).await,
        (404, json!({"code": 404, "message": "secret not found"}))
    );
    assert_eq!(
        put(json!({"name": "existing", "data": {"k": ""}})).await,
        (
            400,
            json!({"code": 400, "message": "data.k: Must not be empty"})
        )
    );
    assert_eq!(
        put(json!({"name": "existing", "scope": "bad", "data": {"k": "v"}}))
            .await
            .0,
        400
    );

    for (query, message) in [
        ("?scope=keptn-default", "name: query parameter is required"),
        ("?name=existing", "scope: query parameter is required"),
    ] {
        assert_eq!(
            send(
                &server,
                Method::DELETE,
                &format!("{BASE}/secret{query}"),
                None
            )
            .await,
            (400, json!({"code": 400, "message": message}))
        );
    }
    assert_eq!(
        send(
            &server,
            Method::DELETE,
            &format!("{BASE}/secret?name=existing&scope=keptn-webhook-service"),
            None
        )
        .await,
        (
            404,
            json!({"code": 404, "message": "secret existing not found in scope keptn-webhook-service"})
        )
    );
    assert_eq!(
        list(&server, "").await,
        before,
        "a rejected request changed something"
    );
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn raw_database(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["uniform.db", "uniform.db-wal"] {
        bytes.extend(std::fs::read(dir.join(name)).unwrap_or_default());
    }
    bytes
}

#[tokio::test]
async fn no_plaintext_value_in_the_database_its_wal_or_the_log() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let first = "first-plaintext-Vf3kq9";
    let second = "second-plaintext-Zp81xw";
    for (method, value) in [(Method::POST, first), (Method::PUT, second)] {
        let response = client
            .request(method, server.url("/api/secrets/v1/secret"))
            .header("x-token", TOKEN)
            .json(
                &json!({"name": "slack-secret", "scope": "keptn-webhook-service",
                          "data": {"webhook-identifier": value}}),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let body = response.text().await.unwrap();
        assert!(!body.contains(value), "the answer echoes the value: {body}");
    }
    // While running (WAL in use) and after stopping (checkpointed), no plaintext.
    let running = raw_database(dir.path());
    let log = server.stop();
    let stopped = raw_database(dir.path());
    for value in [first, second] {
        assert!(
            !contains(&running, value),
            "plaintext {value} in the database"
        );
        assert!(
            !contains(&stopped, value),
            "plaintext {value} in the database"
        );
        assert!(!log.contains(value), "plaintext {value} in the log:\n{log}");
    }
    assert!(log.contains("secret created"), "the log is captured: {log}");
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_place_does_not_open() {
    common::sqlite_only();
    let server = TestServer::start().await;
    post(&server, json!({"name": "a", "data": {"k": "value-a"}})).await;
    post(&server, json!({"name": "b", "data": {"k": "value-b"}})).await;
    let db = server.db().await;
    sqlx::query(
        "UPDATE secret_values SET sealed = (SELECT sealed FROM secret_values WHERE secret_name = 'a')
         WHERE secret_name = 'b'",
    )
    .execute(&db)
    .await
    .unwrap();
    let state = server::startup::prepare(TestServer::config(&server.data_dir))
        .await
        .unwrap();
    let a = server::domain::secrets::open_value(&state.db, &state.keyring, "a", "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.expose(), "value-a");
    let b = server::domain::secrets::open_value(&state.db, &state.keyring, "b", "k").await;
    assert!(b.is_err(), "a copied ciphertext opened");
}

/// Every row of the tables a start-up could touch, for "nothing changed" checks.
async fn snapshot(dir: &std::path::Path) -> Vec<String> {
    let db = common::open_db(dir).await;
    let mut rows = Vec::new();
    for query in [
        "SELECT name || '|' || scope || '|' || updated_at FROM secrets ORDER BY name",
        "SELECT secret_name || '|' || key || '|' || hex(sealed) FROM secret_values ORDER BY 1",
        "SELECT id || '|' || hex(token_hash) || '|' || coalesce(last_used_at, '') FROM api_tokens ORDER BY 1",
        "SELECT username || '|' || password_hash FROM users ORDER BY 1",
        "SELECT hex(id_hash) FROM sessions ORDER BY 1",
    ] {
        rows.extend(sqlx::query_scalar::<_, String>(query).fetch_all(&db).await.unwrap());
    }
    db.close().await;
    rows
}

fn key_b64(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

#[tokio::test]
async fn a_wrong_key_refuses_to_start_and_changes_nothing() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir);
    config.master_key = Some(key_b64(1));
    let server = TestServer::start_with(config.clone(), dir).await;
    assert_eq!(
        post(&server, json!({"name": "s", "data": {"k": "v"}}))
            .await
            .0,
        201
    );
    let dir = server.data_dir.path().to_path_buf();
    let keep = server.stop_keep_dir().await;
    let before = snapshot(&dir).await;

    config.master_key = Some(key_b64(2));
    let error = server::startup::prepare(config)
        .await
        .err()
        .expect("must refuse");
    let message = error.to_string();
    assert!(
        message.starts_with("master key: the database holds secrets sealed under key "),
        "{message}"
    );
    assert_eq!(snapshot(&dir).await, before);

    // The binary says the same in one line and exits with 2.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_uniform"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("UNIFORM_MASTER_KEY", key_b64(2))
        .env("UNIFORM_ADMIN_PASSWORD", common::PASSWORD)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("uniform: master key: the database holds secrets sealed under key"),
        "{stderr}"
    );
    assert_eq!(snapshot(&dir).await, before);
    drop(keep);
}

#[test]
fn a_malformed_or_exposed_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_uniform"));
        command
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "off")
            .env_remove("UNIFORM_MASTER_KEY");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, stderr) = run(&[("UNIFORM_MASTER_KEY", "not base64!")]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with("uniform: UNIFORM_MASTER_KEY: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, stderr) = run(&[("UNIFORM_MASTER_KEY", &key_b64(3)[..40])]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("uniform: UNIFORM_MASTER_KEY: "),
        "{stderr}"
    );

    // A key file others can read.
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, key_b64(4)).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("must be readable only by its owner"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn the_key_file_is_created_private_at_first_start() {
    common::sqlite_only();
    use std::os::unix::fs::PermissionsExt as _;
    let server = TestServer::start().await;
    assert_eq!(server.get("/readyz").await.status(), 200);
    let meta = std::fs::metadata(server.data_path().join("master.key")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

async fn open_all(dir: &tempfile::TempDir) -> Vec<(String, String, String)> {
    let state = server::startup::prepare(TestServer::config(dir))
        .await
        .unwrap();
    let mut values = Vec::new();
    for (name, key, _) in server::db::secrets::all_sealed(&state.db).await.unwrap() {
        let value = server::domain::secrets::open_value(&state.db, &state.keyring, &name, &key)
            .await
            .unwrap()
            .unwrap();
        values.push((name, key, value.expose().to_string()));
    }
    state.db.close().await;
    values
}

#[tokio::test]
async fn rotation_keeps_every_secret_readable_under_the_new_key() {
    common::sqlite_only();
    let server = TestServer::start().await;
    for (name, value) in [("alpha", "value-1"), ("beta", "value-2")] {
        let (status, _) = post(
            &server,
            json!({"name": name, "data": {"k1": value, "k2": format!("{value}b")}}),
        )
        .await;
        assert_eq!(status, 201);
    }
    let dir = server.stop_keep_dir().await;
    let old_key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    let before = open_all(&dir).await;
    assert_eq!(before.len(), 4);

    let rotation = server::rotate::rotate_key(&TestServer::config(&dir))
        .await
        .unwrap();
    assert_eq!(rotation.resealed, 4);
    let new_key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    assert!(!dir.path().join("master.key.old").exists());

    // Every stored value is sealed under the new key id; none under the old one.
    let new_id = rotation.key.key_id();
    let db = common::open_db(dir.path()).await;
    for (_, _, blob) in server::db::secrets::all_sealed(&db).await.unwrap() {
        assert_eq!(server::crypto::key_id_of(&blob).unwrap(), new_id);
    }
    db.close().await;
    assert_eq!(open_all(&dir).await, before);

    // The server starts again with the rotated key.
    let restarted = TestServer::start_with(TestServer::config(&dir), dir).await;
    assert_eq!(
        list(&restarted, "").await["Secrets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn rotation_with_an_environment_key_hands_out_the_new_key() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir);
    config.master_key = Some(key_b64(7));
    let server = TestServer::start_with(config.clone(), dir).await;
    post(&server, json!({"name": "s", "data": {"k": "the-value"}})).await;
    let dir = server.stop_keep_dir().await;

    let rotation = server::rotate::rotate_key(&config).await.unwrap();
    assert!(rotation.written_to.is_none());
    assert!(!dir.path().join("master.key").exists());

    assert!(
        server::startup::prepare(config.clone()).await.is_err(),
        "the old key must no longer open"
    );
    config.master_key = Some(rotation.key.to_base64());
    let state = server::startup::prepare(config).await.unwrap();
    let value = server::domain::secrets::open_value(&state.db, &state.keyring, "s", "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value.expose(), "the-value");
}

/// One table of good and bad secret names and keys, fed both to the rules the secret form
/// applies as the user types (`app::validation`) and to the REST API: the page and the
/// server agree on every entry, message included.
#[tokio::test]
async fn the_form_and_the_api_judge_names_and_keys_by_one_table() {
    use app::validation::{secret_key_error, secret_name_error};
    let server = TestServer::start().await;
    let pattern = "Name must consist of lower case alphanumeric characters and '-' and must start and end with an alphanumeric character";
    let key_pattern = "Key must consist of alphanumeric characters, '-', '_' or '.'";
    let long = "a".repeat(254);
    let names: Vec<(String, Option<&str>)> = vec![
        ("slack-secret".into(), None),
        ("a".into(), None),
        ("0-9".into(), None),
        ("a".repeat(253), None),
        (String::new(), Some("Must not be empty")),
        ("Slack".into(), Some(pattern)),
        ("-a".into(), Some(pattern)),
        ("a-".into(), Some(pattern)),
        ("a_b".into(), Some(pattern)),
        ("a.b".into(), Some(pattern)),
        ("ä".into(), Some(pattern)),
        (
            long.clone(),
            Some("Name must not have more than 253 characters"),
        ),
    ];
    for (name, expected) in &names {
        assert_eq!(
            secret_name_error(name).as_deref(),
            *expected,
            "form, name {name:?}"
        );
        let body = json!({"name": name, "data": {"k": "v"}});
        api_judges(&server, body, name, &expected.map(|m| format!("name: {m}"))).await;
    }
    let keys: Vec<(String, Option<&str>)> = vec![
        ("webhook-identifier".into(), None),
        ("A.b_C-9".into(), None),
        ("a".repeat(253), None),
        ("a b".into(), Some(key_pattern)),
        ("a/b".into(), Some(key_pattern)),
        ("{{x}}".into(), Some(key_pattern)),
        (long, Some("Key must not have more than 253 characters")),
    ];
    for (key, expected) in &keys {
        let form = secret_key_error(key, std::iter::empty());
        assert_eq!(form.as_deref(), *expected, "form, key {key:?}");
        let body = json!({"name": "s", "data": {key: "v"}});
        api_judges(
            &server,
            body,
            "s",
            &expected.map(|m| format!("data[\"{key}\"]: {m}")),
        )
        .await;
    }
    // Nothing refused was stored.
    assert_eq!(list(&server, "").await, json!({"Secrets": []}));
}

/// Posts `body` (a secret named `name`) and expects the API's verdict: created (then deleted
/// again) when `refusal` is `None`, else 400 with exactly that message.
async fn api_judges(server: &TestServer, body: Value, name: &str, refusal: &Option<String>) {
    let (status, answer) = post(server, body).await;
    match refusal {
        None => {
            assert_eq!(status, 201, "API, {name:?}: {answer}");
            let path = format!("{BASE}/secret?name={name}&scope=keptn-default");
            let (status, _) = send(server, Method::DELETE, &path, None).await;
            assert_eq!(status, 200);
        }
        Some(message) => assert_eq!(
            (status, answer["message"].as_str()),
            (400, Some(message.as_str())),
            "API, {name:?}"
        ),
    }
}
