//! Turning a [`Config`] into a ready-to-serve [`AppState`]: data directory (and its lock),
//! master key check, database, migrations and the location of the site's assets.
//! Everything here runs before the listener accepts a connection, and every failure names
//! the option at fault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::crypto::{self, CryptoError, KeySource, Keyring};
use crate::db;
use crate::dispatcher::Dispatcher;
use crate::error::StartupError;
use crate::state::AppState;

/// Checks the data directory and the master key, opens and migrates the database and
/// resolves the site root. (The binary takes the data directory's lock first, see
/// [`DataDirLock`].)
pub async fn prepare(config: Config) -> Result<AppState, StartupError> {
    ensure_data_dir(&config.data_dir)?;
    // The key check reads the database without writing to it, before anything opens it
    // for writing: a wrong key leaves the database exactly as it was.
    let url = config.database_url();
    let (keyring, db) = if db::is_postgres(&url) {
        require_master_key(&config)?;
        let db = db::open(&url).await?;
        let sealed = db::secrets::all_sealed(&db)
            .await
            .map_err(|e| StartupError::new("--database-url", e.to_string()))?;
        (keyring_for(&config, sealed)?, db)
    } else {
        let keyring = load_keyring(&config).await?;
        (keyring, db::open(&url).await?)
    };
    // Replicas starting together on an empty database take turns: the first creates the
    // bootstrap token, admin user and built-in integration, the others find them.
    db.serialized(BOOTSTRAP_LOCK, async {
        crate::auth::bootstrap(&db, &config).await?;
        crate::domain::integrations::ensure_builtin(&db)
            .await
            .map_err(|e| StartupError::new("--database-url", e.to_string()))
    })
    .await
    .map_err(|e| StartupError::new("--database-url", e.to_string()))??;
    let leptos_options = LeptosOptions::builder()
        .output_name("uniform")
        .site_root(site_root().display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let keyring = Arc::new(keyring);
    let ingestor = Arc::new(crate::domain::events::Ingestor::start(
        db.clone(),
        config.ingest_queue,
    ));
    let emit: crate::dispatcher::Emit = {
        let ingestor = ingestor.clone();
        Arc::new(move |event| {
            let ingestor = ingestor.clone();
            Box::pin(async move {
                ingestor
                    .ingest(event)
                    .await
                    .map(|ingested| ingested.created.then(|| ingested.event_type.into()))
                    .map_err(|error| error.to_string())
            })
        })
    };
    let dispatcher = Dispatcher::new(&config, db.clone(), keyring.clone(), emit)
        .map_err(|e| StartupError::other(format!("cannot build the HTTP client: {e}")))?;
    Ok(AppState::new(crate::state::Shared {
        db,
        leptos_options: Arc::new(leptos_options),
        config: Arc::new(config),
        keyring,
        ingestor,
        dispatcher: Arc::new(dispatcher),
    }))
}

/// The master key from `UNIFORM_MASTER_KEY` or `<data-dir>/master.key` (created at first
/// start), plus `master.key.old` when an interrupted rotation left one; refuses when the
/// database holds a value sealed under a key that is not available.
///
/// The database is read without writing anything (see [`db::read_sealed_untouched`]), and a
/// missing key file is not created when the database already holds sealed values.
pub async fn load_keyring(config: &Config) -> Result<Keyring, StartupError> {
    let url = config.database_url();
    if db::is_postgres(&url) {
        require_master_key(config)?;
        let db = db::open(&url).await?;
        let sealed = db::secrets::all_sealed(&db)
            .await
            .map_err(|e| StartupError::new("--database-url", e.to_string()));
        db.close().await;
        return keyring_for(config, sealed?);
    }
    let sealed = db::read_sealed_untouched(&url, &config.data_dir).await?;
    keyring_for(config, sealed)
}

/// Replicas share the database, so they must share the key: a key file made on one host
/// would seal values the others cannot open.
fn require_master_key(config: &Config) -> Result<(), StartupError> {
    if config.master_key.is_none() {
        return Err(StartupError::new(
            "UNIFORM_MASTER_KEY",
            "is required with a PostgreSQL database (--database-url): every replica must use the same master key, and a key file on one host cannot be shared",
        ));
    }
    Ok(())
}

/// The keyring of `config` (see [`load_keyring`]), checked against `sealed`, every stored
/// (secret name, key, sealed value).
fn keyring_for(
    config: &Config,
    sealed: Vec<(String, String, Vec<u8>)>,
) -> Result<Keyring, StartupError> {
    let key_path = config.data_dir.join(crypto::KEY_FILE_NAME);
    if let (None, Some((_, _, blob))) = (&config.master_key, sealed.first()) {
        if !key_path.exists() {
            let id = crypto::key_id_of(blob)
                .map(|id| id.to_string())
                .unwrap_or_else(|_| "unknown".to_string());
            return Err(StartupError::other(format!(
                "master key: the database holds secrets sealed under key {id}, but {} does not exist and UNIFORM_MASTER_KEY is not set; restore the key that sealed them",
                key_path.display()
            )));
        }
    }
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

/// The PostgreSQL advisory lock replicas take turns on for their start-up writes
/// ("uniform bootstrap").
const BOOTSTRAP_LOCK: i64 = 0x756e_6966_626f_6f74;

/// Where a rotation keeps the previous key until its re-seal has committed.
pub const OLD_KEY_FILE: &str = "master.key.old";

/// Creates the data directory (mode 0700, as are missing parents) when missing and proves
/// it is a writable directory. An existing directory keeps its mode.
pub fn ensure_data_dir(dir: &Path) -> Result<(), StartupError> {
    let shown = dir.display();
    if dir.exists() && !dir.is_dir() {
        return Err(StartupError::new(
            "--data-dir",
            format!("{shown} exists and is not a directory"),
        ));
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| StartupError::new("--data-dir", format!("cannot create {shown}: {e}")))?;
    let probe = dir.join(".uniform-write-test");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| StartupError::new("--data-dir", format!("{shown} is not writable: {e}")))
}

/// Name of the lock file in the data directory.
pub const LOCK_FILE: &str = "uniform.lock";

/// Who wants the data directory, for the refusal message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHolder {
    /// A server (`uniform` / `uniform serve`).
    Server,
    /// `uniform rotate-key`.
    RotateKey,
}

/// The exclusive lock on `<data-dir>/uniform.lock` (an advisory `flock`), held by the
/// `uniform` server process for its whole life and by `rotate-key` while it runs, so that
/// neither a second server nor a rotation can work on a data directory a server is using.
/// The operating system releases it when the process ends, however it ends; the file
/// itself stays.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    /// Creates `data_dir` when missing (see [`ensure_data_dir`]) and takes its lock
    /// without waiting; refuses, naming the lock file, when another process holds it.
    pub fn acquire(data_dir: &Path, holder: LockHolder) -> Result<Self, StartupError> {
        ensure_data_dir(data_dir)?;
        let path = data_dir.join(LOCK_FILE);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|e| {
            StartupError::new("--data-dir", format!("cannot open {}: {e}", path.display()))
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                let dir = data_dir.display();
                let message = match holder {
                    LockHolder::Server => format!(
                        "{dir} is in use by another running uniform (it holds {}); stop it first or use another data directory",
                        path.display()
                    ),
                    LockHolder::RotateKey => format!(
                        "{dir} is in use by a running uniform (it holds {}); stop the server before rotating the key",
                        path.display()
                    ),
                };
                Err(StartupError::new("--data-dir", message))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(StartupError::new(
                "--data-dir",
                format!("cannot lock {}: {e}", path.display()),
            )),
        }
    }
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
