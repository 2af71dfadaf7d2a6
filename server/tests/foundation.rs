//! The foundation: the real server on port 0 with a real SQLite file — health, pages,
//! redirects, 404, compression, start-up errors and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestServer;

#[tokio::test]
async fn health_and_readiness_answer() {
    common::sqlite_only();
    let server = TestServer::start().await;
    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert!(server.data_path().join("uniform.db").is_file());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn root_redirects_to_the_overview() {
    let server = TestServer::start().await;
    let response = server.get("/").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"].to_str().unwrap(), "/uniform");
}

#[tokio::test]
async fn pages_are_server_rendered_with_their_headings() {
    let server = TestServer::start().await;
    let client = server.login().await;
    for (path, heading) in [
        ("/uniform", "<h1>Overview</h1>"),
        ("/uniform/integrations", "<h1>Integrations</h1>"),
        ("/uniform/events", "<h1>Events</h1>"),
        ("/uniform/secrets", "<h1>Secrets</h1>"),
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(heading), "{path} lacks {heading}: {html}");
        // The navigation marks the current page.
        assert!(
            html.contains(&format!(r#"<a href="{path}" aria-current="page">"#)),
            "{path} is not marked current: {html}"
        );
    }
}

#[tokio::test]
async fn unknown_path_is_a_404_page() {
    let server = TestServer::start().await;
    let client = server.login().await;
    let response = client
        .get(server.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Page not found</h1>"), "{html}");
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let server = TestServer::start().await;
    let response = server
        .login()
        .await
        .get(server.url("/uniform/integrations"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn shutdown_finishes_cleanly() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_data_dir_that_is_a_file_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let mut config = server::Config::with_data_dir(&file);
    config.admin_password = Some(common::PASSWORD.to_string());
    let error = server::startup::prepare(config)
        .await
        .err()
        .expect("start-up must fail");
    assert_eq!(
        error.to_string(),
        format!(
            "--data-dir: {} exists and is not a directory",
            file.display()
        )
    );
}

/// Runs the real binary and returns (exit code, stderr).
fn run_binary(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_uniform"))
        .args(args)
        .env_remove("UNIFORM_BIND")
        .env_remove("UNIFORM_DATA_DIR")
        .env_remove("UNIFORM_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn binary_reports_bad_configuration_in_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();

    let (code, stderr) = run_binary(&["--bind", "not-an-address"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "uniform: invalid value 'not-an-address' for '--bind <BIND>': invalid socket address syntax\n"
    );

    let (code, stderr) = run_binary(&[
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "uniform: --data-dir: {} exists and is not a directory\n",
            file.display()
        )
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("data");
    let (code, stderr) = run_binary(&["--bind", &addr, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!("uniform: --bind: cannot listen on {addr}: the address is already in use\n")
    );
}

#[test]
fn binary_prints_its_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_uniform"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("uniform {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn binary_stops_with_exit_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_uniform"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Blocks until the server logs that it listens (or exits, ending the stream).
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("listening on http://"));
    assert!(listening.is_some(), "server never reported listening");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::park_timeout(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
}
