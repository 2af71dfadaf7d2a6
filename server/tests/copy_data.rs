//! `uniform copy-data`: an install made on SQLite (the seed walkthrough: a secret, a Slack
//! subscription using it, an event delivered) is copied by the real binary into an empty
//! PostgreSQL database and served from there by the real binary: the same secret opens
//! with the same key, the seed message arrives, the old session and history are there.
//! Refusals: a non-empty target, an unreachable one (without echoing its password), a data
//! directory a server is using; a failure half-way writes nothing.
//!
//! Needs PostgreSQL: `UNIFORM_TEST_DATABASE_URL` (`make test` sets it); without it each
//! test says so and passes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{call, create_subscription, send_event, BinaryServer, MockReceiver, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const SEED_PAYLOAD: &str = "{\n  \"text\": \"Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}.\"\n}";
const WEBHOOK_ID: &str = "XXXXXXXXXXXXXXXXXXXXXXXX";
const SLACK_PATH: &str = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

/// The PostgreSQL server of the test run (read directly: these tests mark themselves
/// SQLite-only so their first server makes a SQLite install).
fn postgres() -> Option<String> {
    let url = std::env::var("UNIFORM_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("copy-data tests need PostgreSQL: set UNIFORM_TEST_DATABASE_URL (make test does); skipped");
    }
    url
}

/// Runs `uniform copy-data <args>` on `data_dir`: (exit code, stdout, stderr).
async fn copy_data(data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_uniform"));
    command
        .arg("copy-data")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("UNIFORM_DATABASE_URL")
        .env_remove("UNIFORM_MASTER_KEY")
        .env_remove("UNIFORM_DATA_DIR");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// One row count of the PostgreSQL database at `url`.
async fn count(url: &str, table: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

fn evaluation(id: &str, stage: &str, score: Value) -> Value {
    json!({"id": id, "type": "sh.keptn.event.evaluation.finished", "specversion": "1.0",
           "source": "lighthouse-service",
           "shkeptncontext": "3c9ffbbb-6e1d-4789-9fee-6e63b4bcc1fb", "triggeredid": "t-1",
           "data": {"project": "sockshop", "stage": stage, "service": "carts", "result": "pass",
                    "evaluation": {"result": "pass", "score": score}}})
}

/// The seed walkthrough on a SQLite install: the secret `slack-webhook` (key `url-path`),
/// the subscription for evaluation.finished in dev and staging whose URL uses it, one
/// event delivered. Returns the stopped install's data directory and a client still
/// holding a session cookie of it.
async fn seeded_sqlite_install(receiver: &MockReceiver) -> (tempfile::TempDir, reqwest::Client) {
    common::sqlite_only();
    let server = TestServer::start_allowing(common::LOOPBACK, |_| {}).await;
    assert!(server.postgres_url.is_none());
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/secrets/v1/secret",
        Some(
            json!({"name": "slack-webhook", "scope": "keptn-webhook-service",
                    "data": {"url-path": WEBHOOK_ID}}),
        ),
    )
    .await;
    assert!(status == 200 || status == 201, "{body}");
    let url = format!(
        "http://127.0.0.1:{}/services/T00000000/B00000000/{{{{.secret.slack-webhook.url-path}}}}",
        receiver.addr.port()
    );
    let (status, created) = create_subscription(
        &server,
        json!({"event": "sh.keptn.event.evaluation.finished",
               "filter": {"projects": [], "stages": ["dev", "staging"], "services": []},
               "webhook": {"method": "POST", "url": url, "headers": [], "payload": SEED_PAYLOAD,
                           "proxy": null, "sendStarted": true, "sendFinished": true}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = send_event(&server, evaluation("event-dev", "dev", json!(100))).await;
    assert_eq!(status, 200);
    let request = receiver.next().await;
    assert_eq!(request.path, SLACK_PATH);
    let session = server.login().await;
    assert_eq!(
        session
            .get(server.url("/uniform/secrets"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The delivery is recorded as delivered before the server stops.
    let db = server.db().await;
    common::eventually(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        "the delivery was not recorded within 10 s",
        || {
            let db = db.clone();
            async move {
                let status: Option<String> = sqlx::query_scalar(
                    "SELECT status FROM deliveries WHERE event_id = 'event-dev'",
                )
                .fetch_optional(&db)
                .await
                .unwrap();
                (status.as_deref() == Some("delivered")).then_some(())
            }
        },
    )
    .await;
    db.close().await;
    (server.stop_keep_dir().await, session)
}

#[tokio::test]
async fn a_seeded_sqlite_install_copied_to_postgres_delivers_the_seed_message_with_the_same_secret()
{
    let Some(admin) = postgres() else { return };
    let receiver = MockReceiver::start().await;
    let (dir, session) = seeded_sqlite_install(&receiver).await;
    let integrations: i64 = {
        let db = common::open_db(dir.path()).await;
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM integrations")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        n
    };
    let target = common::fresh_postgres_database(&admin);

    let (code, stdout, stderr) = copy_data(dir.path(), &["--to", &target, "--with-history"]).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let key_file = dir.path().join("master.key");
    let key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        lines[..11],
        [
            "users: 1".to_string(),
            "sessions: 1".to_string(),
            "api_tokens: 1".to_string(),
            "secrets: 1".to_string(),
            "secret_values: 1".to_string(),
            format!("integrations: {integrations}"),
            "subscriptions: 1".to_string(),
            "error_event_reads: 0".to_string(),
            "events: 1".to_string(),
            "deliveries: 1".to_string(),
            "delivery_attempts: 1".to_string(),
        ],
        "{stdout}"
    );
    assert_eq!(lines.len(), 12, "{stdout}");
    assert!(
        lines[11].contains("UNIFORM_MASTER_KEY")
            && lines[11].contains(&key_file.display().to_string()),
        "{stdout}"
    );
    assert!(!stdout.contains(&key) && !stderr.contains(&key));

    // A replica on PostgreSQL, with a data directory of its own and the install's key.
    let replica_dir = tempfile::tempdir().unwrap();
    let replica = BinaryServer::start(
        replica_dir.path(),
        &[
            ("UNIFORM_DATABASE_URL", &target),
            ("UNIFORM_MASTER_KEY", &key),
            ("UNIFORM_WEBHOOK_ALLOW_CIDRS", common::LOOPBACK),
        ],
    );
    // The copied event is known: the same id again is a duplicate, nothing is sent.
    let response = replica
        .api(Method::POST, "/api/v1/event")
        .json(&evaluation("event-dev", "dev", json!(100)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(count(&target, "deliveries").await, 1);

    // The seed event: the copied subscription renders the copied secret, opened with the
    // same key.
    let response = replica
        .api(Method::POST, "/api/v1/event")
        .json(&evaluation("event-staging", "staging", json!(87.5)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request = receiver.next().await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, SLACK_PATH);
    assert_eq!(
        request.body,
        "{\n  \"text\": \"Evaluation in staging finished with result pass and score 87.5.\"\n}"
    );
    // New rows continue after the copied identities.
    let pool = sqlx::PgPool::connect(&target).await.unwrap();
    let rowids: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM events ORDER BY rowid")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rowids.len(), 2);
    assert!(rowids[0] < rowids[1]);
    pool.close().await;

    // The session made on SQLite opens pages on the replica (cookies go by host, not port).
    let page = session
        .get(replica.url("/uniform/secrets"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Only the copied token and user: the replica added none.
    assert_eq!(count(&target, "api_tokens").await, 1);
    assert_eq!(count(&target, "users").await, 1);
    replica.stop();

    // A second copy into the now non-empty database is refused with one line.
    let (code, stdout, stderr) = copy_data(dir.path(), &["--to", &target]).await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(count(&target, "events").await, 2);
}

#[tokio::test]
async fn an_unreachable_target_is_refused_without_its_password() {
    common::sqlite_only();
    let Some(_) = postgres() else { return };
    let server = TestServer::start().await;
    let dir = server.stop_keep_dir().await;
    let (code, stdout, stderr) = copy_data(
        dir.path(),
        &["--to", "postgres://u:pw@127.0.0.1:1/x", "--with-history"],
    )
    .await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("uniform: --to: "), "{stderr}");
    assert!(!stderr.contains("pw"), "{stderr}");

    // Not a PostgreSQL URL at all.
    let (code, _, stderr) = copy_data(dir.path(), &["--to", "sqlite://elsewhere.db"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn a_failure_half_way_writes_nothing_and_a_plain_copy_leaves_the_history_out() {
    let Some(admin) = postgres() else { return };
    let receiver = MockReceiver::start().await;
    let (dir, _) = seeded_sqlite_install(&receiver).await;
    let target = common::fresh_postgres_database(&admin);
    // The target migrated, with a trigger that fails the insert of any subscription (after
    // users, tokens and secrets were written in the same transaction).
    let store = server::db::open(&target).await.unwrap();
    let pool = store.postgres_pool().unwrap().clone();
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON subscriptions FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (code, stdout, stderr) = copy_data(dir.path(), &["--to", &target]).await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("refused by the test"), "{stderr}");
    for table in [
        "users",
        "api_tokens",
        "secrets",
        "secret_values",
        "integrations",
    ] {
        assert_eq!(count(&target, table).await, 0, "{table}");
    }

    // Without the trigger the same copy succeeds, leaving the history out.
    sqlx::raw_sql("DROP TRIGGER refuse ON subscriptions")
        .execute(&pool)
        .await
        .unwrap();
    store.close().await;
    let (code, stdout, stderr) = copy_data(dir.path(), &["--to", &target]).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("subscriptions: 1\n"), "{stdout}");
    assert!(
        stdout.contains("events, deliveries, delivery_attempts: not copied"),
        "{stdout}"
    );
    assert!(!stdout.contains("events: "), "{stdout}");
    assert_eq!(count(&target, "events").await, 0);
    assert_eq!(count(&target, "subscriptions").await, 1);
}

#[tokio::test]
async fn a_data_directory_in_use_is_refused() {
    common::sqlite_only();
    let Some(admin) = postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The real binary holds the data directory's lock (on SQLite: the test is SQLite-only).
    let running = BinaryServer::start(dir.path(), &[]);
    let target = common::fresh_postgres_database(&admin);
    let (code, stdout, stderr) = copy_data(dir.path(), &["--to", &target]).await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    running.stop();
    // Refused before the target was even migrated.
    let pool = sqlx::PgPool::connect(&target).await.unwrap();
    let users: Option<String> = sqlx::query_scalar("SELECT to_regclass('users')::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, None);
    pool.close().await;
}
