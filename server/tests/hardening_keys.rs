//! Files and keys (issue 12): the data directory and database files are private, a start
//! refused for a wrong master key leaves the database byte for byte as it was, failed key
//! rotations never lose the key that opens the secrets, a running server keeps
//! `rotate-key` and a second server away from its data directory, and an environment-key
//! rotation prints the new key before it commits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use common::{call, open_db, BinaryServer, TestServer, PASSWORD, TOKEN};
use reqwest::Method;
use serde_json::json;
use server::crypto::{read_key_file, secret_aad, Keyring, MasterKey};

const DB_FILES: [&str; 3] = ["uniform.db", "uniform.db-wal", "uniform.db-shm"];

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn key_b64(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// What a change to the data directory would show: the names in it, and the SHA-256 of
/// the bytes and the modification time of each database file that exists.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    names: Vec<String>,
    files: BTreeMap<&'static str, (String, SystemTime)>,
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut files = BTreeMap::new();
    for name in DB_FILES {
        let path = dir.join(name);
        if let Ok(meta) = std::fs::metadata(&path) {
            use sha2::Digest as _;
            let hash = hex::encode(sha2::Sha256::digest(std::fs::read(&path).unwrap()));
            files.insert(name, (hash, meta.modified().unwrap()));
        }
    }
    Fingerprint { names, files }
}

/// Runs the binary on `dir` with `args`, the test token and password, no master key
/// unless `env` sets one, and the default log level; stdout goes to `stdout`.
fn run_uniform(dir: &Path, args: &[&str], env: &[(&str, &str)], stdout: Stdio) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uniform"));
    command
        .args(args)
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("UNIFORM_API_TOKEN", TOKEN)
        .env("UNIFORM_ADMIN_PASSWORD", PASSWORD)
        .env_remove("UNIFORM_MASTER_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // It is serving when it should have refused: stop it, then fail.
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            let output = rx.recv().unwrap().unwrap();
            panic!(
                "uniform did not exit within 30 s; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Stores secret `name` with `data` through the API of a running binary.
async fn add_secret(server: &BinaryServer, name: &str, data: serde_json::Value) {
    let response = server
        .api(Method::POST, "/api/secrets/v1/secret")
        .json(&json!({"name": name, "data": data}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// Every stored value as (secret, key, key id it is sealed under).
async fn sealed_rows(dir: &Path) -> Vec<(String, String, Vec<u8>)> {
    let db = open_db(dir).await;
    let rows = server::db::secrets::all_sealed(&db).await.unwrap();
    db.close().await;
    rows
}

/// Opens every stored value with the keys on disk (`master.key` and, when present,
/// `master.key.old`), as start-up would: (secret, key, plaintext), or the first failure.
async fn open_with_keys_on_disk(dir: &Path) -> Result<Vec<(String, String, String)>, String> {
    let current = read_key_file(&dir.join("master.key")).map_err(|e| e.to_string())?;
    let old_path = dir.join("master.key.old");
    let previous: Vec<MasterKey> = if old_path.exists() {
        vec![read_key_file(&old_path).map_err(|e| e.to_string())?]
    } else {
        Vec::new()
    };
    let keyring = Keyring::with_previous(current, previous);
    let mut values = Vec::new();
    for (name, key, blob) in sealed_rows(dir).await {
        let value = keyring
            .open(&secret_aad(&name, &key), &blob)
            .map_err(|e| format!("{name}.{key}: {e}"))?;
        values.push((name, key, value.expose().to_string()));
    }
    Ok(values)
}

fn expected_values() -> Vec<(String, String, String)> {
    [
        ("alpha", "k1", "value-1"),
        ("alpha", "k2", "value-2"),
        ("beta", "k", "value-3"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect()
}

async fn add_expected_secrets(server: &TestServer) {
    for (name, data) in [
        ("alpha", json!({"k1": "value-1", "k2": "value-2"})),
        ("beta", json!({"k": "value-3"})),
    ] {
        let (status, body) = call(
            server,
            Method::POST,
            "/api/secrets/v1/secret",
            Some(json!({"name": name, "data": data})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
}

// ---------------------------------------------------------------------------------------
// Private files

#[tokio::test]
async fn the_data_dir_and_database_files_are_created_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("new").join("data");
    let mut config = server::Config::with_data_dir(&data);
    config.api_token = Some(TOKEN.to_string());
    config.admin_password = Some(PASSWORD.to_string());
    let server = TestServer::start_with(config, root).await;
    add_expected_secrets(&server).await;
    assert_eq!(mode_of(&data), 0o700, "the data directory");
    for name in DB_FILES {
        assert_eq!(mode_of(&data.join(name)), 0o600, "{name}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn existing_database_files_others_can_read_are_made_private_at_start() {
    common::sqlite_only();
    let server = TestServer::start().await;
    add_expected_secrets(&server).await;
    let dir = server.stop_keep_dir().await;
    for name in DB_FILES {
        let path = dir.path().join(name);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let server = TestServer::start_with(TestServer::config(&dir), dir).await;
    let (status, _) = call(
        &server,
        Method::POST,
        "/api/secrets/v1/secret",
        Some(json!({"name": "gamma", "data": {"k": "v"}})),
    )
    .await;
    assert_eq!(status, 201);
    for name in DB_FILES {
        assert_eq!(mode_of(&server.data_path().join(name)), 0o600, "{name}");
    }
    server.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// A refused start changes nothing

/// Starts the binary with a wrong key on `dir` and checks the refusal: exit code 2, one
/// line on stderr naming the key problem, and not a byte or a file changed.
fn assert_wrong_key_refused_untouched(dir: &Path) {
    let before = fingerprint(dir);
    assert!(before.files.contains_key("uniform.db"), "{before:?}");
    let output = run_uniform(
        dir,
        &[],
        &[("UNIFORM_MASTER_KEY", &key_b64(9))],
        Stdio::null(),
    );
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("uniform: master key: the database holds secrets sealed under key "),
        "{stderr}"
    );
    assert_eq!(
        fingerprint(dir),
        before,
        "the refused start changed the data directory"
    );
}

#[tokio::test]
async fn a_start_refused_for_a_wrong_key_leaves_the_database_untouched() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[]);
    add_secret(&server, "s", json!({"k": "the-value"})).await;
    server.stop();
    assert_wrong_key_refused_untouched(dir.path());

    // The right key (the key file) still starts it, with the secret.
    let server = BinaryServer::start(dir.path(), &[]);
    let response = server
        .api(Method::GET, "/api/secrets/v1/secret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["Secrets"][0]["name"], "s");
}

#[tokio::test]
async fn a_start_refused_after_a_crash_leaves_the_database_untouched() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[]);
    add_secret(&server, "s", json!({"k": "the-value"})).await;
    // A crash: the WAL still holds transactions, the -shm its index.
    server.kill_hard();
    let wal = std::fs::metadata(dir.path().join("uniform.db-wal")).unwrap();
    assert!(wal.len() > 0, "the WAL should hold the last transactions");
    assert_wrong_key_refused_untouched(dir.path());

    // The key check saw what only the WAL held: the right key starts, with the secret.
    let server = BinaryServer::start(dir.path(), &[]);
    let body = server.get_json("/api/secrets/v1/secret").await;
    assert_eq!(body["Secrets"][0]["name"], "s");
}

// ---------------------------------------------------------------------------------------
// Key rotation

/// Makes every later commit that re-seals a value fail, as a full disk would at commit:
/// an update of a stored value inserts a row breaking a deferred foreign key.
async fn break_commits_of_reseals(dir: &Path) {
    let db = open_db(dir).await;
    for statement in [
        "CREATE TABLE fault_parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE fault_child (parent INTEGER REFERENCES fault_parent (id) DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TRIGGER fault AFTER UPDATE ON secret_values BEGIN INSERT INTO fault_child VALUES (42); END",
    ] {
        sqlx::query(statement).execute(&db).await.unwrap();
    }
    db.close().await;
}

async fn repair_commits(dir: &Path) {
    let db = open_db(dir).await;
    sqlx::query("DROP TRIGGER fault")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
}

#[tokio::test]
async fn failed_rotations_never_lose_the_key_that_opens_the_secrets() {
    common::sqlite_only();
    let server = TestServer::start().await;
    add_expected_secrets(&server).await;
    let dir = server.stop_keep_dir().await;
    let config = TestServer::config(&dir);
    let original = read_key_file(&dir.path().join("master.key")).unwrap();
    break_commits_of_reseals(dir.path()).await;

    let mut messages = Vec::new();
    for run in 1..=2 {
        let error = server::rotate::rotate_key(&config)
            .await
            .err()
            .unwrap_or_else(|| panic!("rotation {run} must fail"));
        messages.push(error.to_string());
        assert_eq!(
            open_with_keys_on_disk(dir.path()).await,
            Ok(expected_values()),
            "after failed rotation {run}"
        );
    }
    for message in messages {
        assert!(
            message.starts_with("--database-url: cannot commit the re-sealed values: "),
            "{message}"
        );
        assert!(
            message.contains("FOREIGN KEY constraint failed"),
            "{message}"
        );
        assert!(
            message.ends_with("run rotate-key again to finish"),
            "{message}"
        );
    }
    // The key that sealed the values is still on disk, next to the new one.
    assert_eq!(
        read_key_file(&dir.path().join("master.key.old")).unwrap(),
        original
    );

    // Once commits work again, the next run finishes the rotation.
    repair_commits(dir.path()).await;
    let rotation = server::rotate::rotate_key(&config).await.unwrap();
    assert!(rotation.finished_interrupted);
    assert_eq!(rotation.resealed, 3);
    assert!(!dir.path().join("master.key.old").exists());
    let current = read_key_file(&dir.path().join("master.key")).unwrap();
    assert_eq!(current, rotation.key);
    assert_ne!(current, original);
    for (_, _, blob) in sealed_rows(dir.path()).await {
        assert_eq!(server::crypto::key_id_of(&blob).unwrap(), current.key_id());
    }
    assert_eq!(
        open_with_keys_on_disk(dir.path()).await,
        Ok(expected_values())
    );

    // And the run after that is a fresh rotation to a new key.
    let rotation = server::rotate::rotate_key(&config).await.unwrap();
    assert!(!rotation.finished_interrupted);
    assert_ne!(rotation.key, current);
    assert_eq!(
        open_with_keys_on_disk(dir.path()).await,
        Ok(expected_values())
    );
}

#[tokio::test]
async fn rotate_key_is_refused_while_a_server_runs() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[]);
    add_secret(&server, "s", json!({"k": "the-value"})).await;
    let key_before = std::fs::read(dir.path().join("master.key")).unwrap();
    let sealed_before = sealed_rows(dir.path()).await;

    let output = run_uniform(dir.path(), &["rotate-key"], &[], Stdio::piped());
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "uniform: --data-dir: {} is in use by a running uniform (it holds {}); stop the server before rotating the key\n",
            dir.path().display(),
            dir.path().join("uniform.lock").display()
        )
    );
    assert!(output.stdout.is_empty());
    assert_eq!(
        std::fs::read(dir.path().join("master.key")).unwrap(),
        key_before
    );
    assert!(!dir.path().join("master.key.old").exists());
    assert_eq!(sealed_rows(dir.path()).await, sealed_before);

    // In-process too (the lock is per open file, not per process).
    let mut config = server::Config::with_data_dir(dir.path());
    config.api_token = Some(TOKEN.to_string());
    let error = server::rotate::rotate_key(&config).await.err().unwrap();
    assert!(error
        .to_string()
        .contains("stop the server before rotating the key"));

    // Once the server has stopped, the rotation runs.
    server.stop();
    let output = run_uniform(dir.path(), &["rotate-key"], &[], Stdio::piped());
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_ne!(
        std::fs::read(dir.path().join("master.key")).unwrap(),
        key_before
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = BinaryServer::start(dir.path(), &[]);
    let output = run_uniform(dir.path(), &[], &[], Stdio::null());
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "uniform: --data-dir: {} is in use by another running uniform (it holds {}); stop it first or use another data directory\n",
            dir.path().display(),
            dir.path().join("uniform.lock").display()
        )
    );
    // The first one is unaffected.
    let response = reqwest::get(first.url("/readyz")).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rotation_with_an_environment_key_prints_the_new_key_before_committing() {
    common::sqlite_only();
    let dir = tempfile::tempdir().unwrap();
    let old_key = key_b64(7);
    let server = BinaryServer::start(dir.path(), &[("UNIFORM_MASTER_KEY", &old_key)]);
    add_secret(&server, "s", json!({"k": "the-value"})).await;
    server.stop();
    let old_id = MasterKey::from_base64(&old_key).unwrap().key_id();
    let env = [("UNIFORM_MASTER_KEY", old_key.as_str())];

    // Stdout that cannot take the key: the rotation is abandoned, nothing changes.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = run_uniform(dir.path(), &["rotate-key"], &env, Stdio::from(full));
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("uniform: cannot write the new key to stdout, so nothing was changed (keep the current UNIFORM_MASTER_KEY): "),
        "{stderr}"
    );
    for (_, _, blob) in sealed_rows(dir.path()).await {
        assert_eq!(server::crypto::key_id_of(&blob).unwrap(), old_id);
    }
    assert!(!dir.path().join("master.key").exists());

    // Stdout that works: exactly the new key on it, and the values sealed under it.
    let output = run_uniform(dir.path(), &["rotate-key"], &env, Stdio::piped());
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(stdout.ends_with('\n'));
    let new_key = MasterKey::from_base64(stdout.trim_end()).unwrap();
    assert_ne!(new_key.key_id(), old_id);
    let keyring = Keyring::new(new_key);
    let rows = sealed_rows(dir.path()).await;
    assert_eq!(rows.len(), 1);
    for (name, key, blob) in rows {
        let value = keyring.open(&secret_aad(&name, &key), &blob).unwrap();
        assert_eq!(value.expose(), "the-value");
    }
}
