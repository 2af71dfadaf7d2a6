//! Turning a [`Config`] into a ready-to-serve [`AppState`]: data directory, database,
//! migrations and the location of the site's assets. Everything here runs before the
//! listener accepts a connection, and every failure names the option at fault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::db;
use crate::error::StartupError;
use crate::state::AppState;

/// Checks the data directory, opens and migrates the database and resolves the site root.
pub async fn prepare(config: Config) -> Result<AppState, StartupError> {
    ensure_data_dir(&config.data_dir)?;
    let db = db::open(&config.database_url()).await?;
    crate::auth::bootstrap(&db, &config).await?;
    let leptos_options = LeptosOptions::builder()
        .output_name("uniform")
        .site_root(site_root().display().to_string())
        .site_pkg_dir("pkg")
        .build();
    Ok(AppState {
        db,
        leptos_options,
        config: Arc::new(config),
        login_limiter: Arc::default(),
    })
}

/// Creates the data directory when missing and proves it is a writable directory.
fn ensure_data_dir(dir: &Path) -> Result<(), StartupError> {
    let shown = dir.display();
    if dir.exists() && !dir.is_dir() {
        return Err(StartupError::new(
            "--data-dir",
            format!("{shown} exists and is not a directory"),
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| StartupError::new("--data-dir", format!("cannot create {shown}: {e}")))?;
    let probe = dir.join(".uniform-write-test");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| StartupError::new("--data-dir", format!("{shown} is not writable: {e}")))
}

/// Where the compiled site (wasm, js, css, favicon) is: `LEPTOS_SITE_ROOT` when set, else
/// `site/` beside the binary's directory (`target/site` for `target/release/uniform`), else
/// `target/site` under the working directory.
fn site_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEPTOS_SITE_ROOT") {
        return PathBuf::from(root);
    }
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(|p| p.join("site")));
    match beside_binary {
        Some(dir) if dir.join("pkg").is_dir() => dir,
        _ => PathBuf::from("target/site"),
    }
}
