//! Turning a [`Config`] into a ready-to-serve [`AppState`]: data directory, database,
//! migrations and the location of the site's assets. Everything here runs before the
//! listener accepts a connection, and every failure names the option at fault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leptos::config::LeptosOptions;

use sqlx::SqlitePool;

use crate::config::Config;
use crate::crypto::{self, CryptoError, KeySource, Keyring};
use crate::db;
use crate::dispatcher::Dispatcher;
use crate::error::StartupError;
use crate::state::AppState;

/// Checks the data directory, opens and migrates the database and resolves the site root.
pub async fn prepare(config: Config) -> Result<AppState, StartupError> {
    ensure_data_dir(&config.data_dir)?;
    let db = db::open(&config.database_url()).await?;
    // The key check comes before anything writes: a wrong key changes nothing.
    let keyring = load_keyring(&config, &db).await?;
    crate::auth::bootstrap(&db, &config).await?;
    crate::domain::integrations::ensure_builtin(&db)
        .await
        .map_err(|e| StartupError::new("--database-url", e.to_string()))?;
    let leptos_options = LeptosOptions::builder()
        .output_name("uniform")
        .site_root(site_root().display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let keyring = Arc::new(keyring);
    let wake: Arc<tokio::sync::Notify> = Arc::default();
    let dispatcher = Dispatcher::new(&config, db.clone(), keyring.clone(), wake.clone())
        .map_err(|e| StartupError::other(format!("cannot build the HTTP client: {e}")))?;
    Ok(AppState {
        db,
        leptos_options,
        config: Arc::new(config),
        keyring,
        wake,
        login_limiter: Arc::default(),
        dispatcher: Arc::new(dispatcher),
    })
}

/// The master key from `UNIFORM_MASTER_KEY` or `<data-dir>/master.key` (created at first
/// start), plus `master.key.old` when an interrupted rotation left one; refuses when the
/// database holds a value sealed under a key that is not available.
pub async fn load_keyring(config: &Config, db: &SqlitePool) -> Result<Keyring, StartupError> {
    let loaded = crypto::load_or_create_master_key(config.master_key.as_deref(), &config.data_dir)
        .map_err(|e| StartupError::other(e.to_string()))?;
    if let (KeySource::File(path), true) = (&loaded.source, loaded.created) {
        tracing::info!(path = %path.display(), "generated the master key; it is in this file (back it up: without it secrets cannot be opened)");
    }
    let mut keyring = Keyring::new(loaded.key);
    let old_path = config.data_dir.join(OLD_KEY_FILE);
    if matches!(loaded.source, KeySource::File(_)) && old_path.exists() {
        let old =
            crypto::read_key_file(&old_path).map_err(|e| StartupError::other(e.to_string()))?;
        tracing::warn!(path = %old_path.display(), "found the key of an interrupted rotation; using it to open older values");
        keyring.add_previous(old);
    }
    let sealed = crate::db::secrets::all_sealed(db)
        .await
        .map_err(|e| StartupError::new("--database-url", e.to_string()))?;
    for (name, key, blob) in sealed {
        match keyring.check_key(&blob) {
            Ok(_) => {}
            Err(CryptoError::UnknownKey(id)) => {
                return Err(StartupError::other(format!(
                    "master key: the database holds secrets sealed under key {id}, which is not available (current key: {}); start Uniform with the key that sealed them",
                    keyring.current_key_id()
                )))
            }
            Err(error) => {
                return Err(StartupError::other(format!(
                    "master key: the stored value of secret {name} key {key} is unreadable: {error}"
                )))
            }
        }
    }
    Ok(keyring)
}

/// Where a rotation keeps the previous key until its re-seal has committed.
pub const OLD_KEY_FILE: &str = "master.key.old";

/// Creates the data directory when missing and proves it is a writable directory.
pub fn ensure_data_dir(dir: &Path) -> Result<(), StartupError> {
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
