//! Everything that speaks SQL: opening the pool, the embedded migrations, and one module of
//! queries per table. No rules live here; the callers (`auth`, `domain`) decide.

/// Runs `body` on `target` (anything [`Target`] is made from: `&Store`, `&mut Tx`, `&mut
/// WriteTx`), expanded once per engine so each expansion is type-checked against its own
/// driver; `|c| …` names the executor. Queries use `$1`-style placeholders, which both
/// engines accept. For the few statements whose SQL (or bound types) differ between the
/// engines: `on!(target, sqlite |c| …, postgres |c| …)`.
macro_rules! on {
    ($target:expr, |$c:ident| $body:expr) => {
        on!($target, sqlite | $c | $body, postgres | $c | $body)
    };
    ($target:expr, sqlite |$c:ident| $lite:expr, postgres |$p:ident| $pg:expr) => {
        match $crate::db::Target::from($target) {
            $crate::db::Target::SqlitePool($c) => $lite,
            $crate::db::Target::SqliteConn($c) => $lite,
            $crate::db::Target::PgPool($p) => $pg,
            $crate::db::Target::PgConn($p) => $pg,
        }
    };
}

pub mod events;
pub mod group;
pub mod insight;
pub mod integrations;
pub mod lanes;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod users;

pub mod store;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::StartupError;

pub use store::{Backend, Script, Store, Target, Tx, WriteTx};

/// Copies the WAL back into the database file every second (PASSIVE: never waits for, nor
/// blocks, readers and writers), so no request pays for a checkpoint inside its commit, as
/// SQLite's automatic checkpoint makes the committing writer do. Nothing to do on
/// PostgreSQL.
pub async fn checkpoints(store: Store, shutdown: impl std::future::Future<Output = ()>) {
    let Some(db) = store.sqlite_pool().cloned() else {
        return;
    };
    crate::util::every(Duration::from_secs(1), shutdown, || async {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&db)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    })
    .await;
    // A last full copy at a clean stop keeps the WAL file small between runs.
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&db)
        .await;
}

/// The SQLite migrations in `migrations/sqlite/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The PostgreSQL migrations in `migrations/postgres/`, compiled into the binary (same
/// versions as their SQLite twins).
pub static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the database at `url`, PostgreSQL or SQLite by its scheme, and applies every
/// pending migration (on PostgreSQL one replica at a time: sqlx's migrator holds an
/// advisory lock while it runs, the others wait for it).
pub async fn open(url: &str) -> Result<Store, StartupError> {
    if is_postgres(url) {
        return open_postgres(url).await;
    }
    Ok(Store::sqlite(open_sqlite(url).await?))
}

/// Opens (creating when missing) the SQLite database at `url` with WAL, foreign keys and a
/// busy timeout, then applies every pending migration.
///
/// The database file is created mode 0600 before SQLite opens it (SQLite gives its `-wal`
/// and `-shm` files the mode of the database file), and an existing database, `-wal`,
/// `-shm` or `-journal` file that its group or others can access is narrowed to its owner:
/// they hold the delivery log and the password and token hashes.
pub async fn open_sqlite(url: &str) -> Result<SqlitePool, StartupError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StartupError::new("--database-url", format!("invalid URL {url:?}: {e}")))?;
    if let Some(path) = database_file(url, &options) {
        make_private(&path)?;
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Checkpoints run in the background (see `checkpoints`), not inside a commit.
        .pragma("wal_autocheckpoint", "0");
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        // A local file does not hang up: no ping (a round trip to the connection's
        // thread) before every use.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| StartupError::new("--database-url", format!("cannot open {url}: {e}")))?;
    MIGRATOR.run(&pool).await.map_err(|e| {
        StartupError::new(
            "--database-url",
            format!("database migration failed for {url}: {e}"),
        )
    })?;
    Ok(pool)
}

/// Connects to the PostgreSQL database at `url` and applies every pending migration. The
/// URL is never echoed in errors: it may hold a password.
async fn open_postgres(url: &str) -> Result<Store, StartupError> {
    let shown = store::redact(url);
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| StartupError::new("--database-url", format!("invalid URL {shown}: {e}")))?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|e| StartupError::new("--database-url", format!("cannot open {shown}: {e}")))?;
    PG_MIGRATOR.run(&pool).await.map_err(|e| {
        StartupError::new(
            "--database-url",
            format!("database migration failed for {shown}: {e}"),
        )
    })?;
    Ok(Store::postgres(pool))
}

/// The file behind `url`, or `None` for an in-memory database.
fn database_file(url: &str, options: &SqliteConnectOptions) -> Option<PathBuf> {
    let path = options.get_filename();
    let name = path.to_string_lossy();
    let in_memory = name == ":memory:"
        || name.starts_with("file:sqlx-in-memory-")
        || url.contains("mode=memory");
    (!in_memory).then(|| path.to_path_buf())
}

/// `<database>` followed by `suffix` (`-wal`, `-shm`, `-journal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates the database file mode 0600 when missing, and takes group and other access off
/// the database and its side files when they have any.
fn make_private(path: &Path) -> Result<(), StartupError> {
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        // A missing directory and the like: SQLite reports it in its own words.
        Err(_) => {}
    }
    #[cfg(unix)]
    for file in std::iter::once(path.to_path_buf())
        .chain(SIDE_FILES.iter().map(|suffix| sibling(path, suffix)))
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            continue;
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o7700)).map_err(
            |e| {
                StartupError::new(
                    "--database-url",
                    format!(
                        "{} is readable by others (mode {mode:04o}) and cannot be made private: {e}",
                        file.display()
                    ),
                )
            },
        )?;
        tracing::warn!(path = %file.display(), "made the database file readable only by its owner (it was {mode:04o})");
    }
    Ok(())
}

/// The files SQLite keeps next to a database.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Every stored secret value (secret name, key, sealed blob) of the database at `url`,
/// read without writing a byte to the database or its `-wal`/`-shm` files, so that a start
/// refused for a wrong master key leaves the database exactly as it was.
///
/// A missing database (or one without the table) holds none. When every committed
/// transaction is in the database file (no `-wal`, an empty one, no hot `-journal`), the
/// file is read as immutable (SQLite then neither locks it nor opens the `-wal`/`-shm`).
/// Otherwise (after a crash) the database and its `-wal`/`-journal` are copied into a
/// private scratch directory under `scratch_in`, read there, and the copy removed: even a
/// read-only SQLite connection would rewrite the `-shm` index.
pub async fn read_sealed_untouched(
    url: &str,
    scratch_in: &Path,
) -> Result<Vec<(String, String, Vec<u8>)>, StartupError> {
    let fail = |what: String| StartupError::new("--database-url", what);
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| fail(format!("invalid URL {url:?}: {e}")))?;
    let Some(path) = database_file(url, &options) else {
        return Ok(Vec::new());
    };
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let pending =
        |suffix: &str| std::fs::metadata(sibling(&path, suffix)).is_ok_and(|meta| meta.len() > 0);
    let shown = path.display();
    if !pending("-wal") && !pending("-journal") {
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .immutable(true);
        return read_sealed(options)
            .await
            .map_err(|e| fail(format!("cannot read {shown}: {e}")));
    }
    // A private (0700) directory, removed with everything in it when dropped.
    let scratch = tempfile::Builder::new()
        .prefix(".uniform-key-check-")
        .tempdir_in(scratch_in)
        .map_err(|e| fail(format!("cannot check the master key against {shown}: cannot create a scratch directory in {}: {e}", scratch_in.display())))?;
    let copy = scratch.path().join("copy.db");
    std::fs::copy(&path, &copy)
        .map_err(|e| fail(format!("cannot copy {shown} to check the master key: {e}")))?;
    for suffix in ["-wal", "-journal"] {
        if pending(suffix) {
            std::fs::copy(sibling(&path, suffix), sibling(&copy, suffix)).map_err(|e| {
                fail(format!(
                    "cannot copy {shown}{suffix} to check the master key: {e}"
                ))
            })?;
        }
    }
    let options = SqliteConnectOptions::new().filename(&copy);
    read_sealed(options)
        .await
        .map_err(|e| fail(format!("cannot read {shown}: {e}")))
}

/// Reads every sealed value over one connection opened with `options`, then closes it.
async fn read_sealed(
    options: SqliteConnectOptions,
) -> sqlx::Result<Vec<(String, String, Vec<u8>)>> {
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let has_table: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'secret_values')",
    )
    .fetch_one(&mut conn)
    .await?;
    let sealed = if has_table {
        secrets::all_sealed(&mut conn).await?
    } else {
        Vec::new()
    };
    conn.close().await?;
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes and modification time of the database, `-wal` and `-shm` files, and the
    /// names in the directory.
    type Snapshot = (Vec<String>, Vec<Option<(Vec<u8>, std::time::SystemTime)>>);

    fn snapshot(dir: &Path) -> Snapshot {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let files = ["u.db", "u.db-wal", "u.db-shm"]
            .iter()
            .map(|name| {
                let path = dir.join(name);
                std::fs::metadata(&path)
                    .ok()
                    .map(|meta| (std::fs::read(&path).unwrap(), meta.modified().unwrap()))
            })
            .collect();
        (names, files)
    }

    async fn store(pool: &SqlitePool, name: &str, blob: &[u8]) {
        let mut tx = Store::sqlite(pool.clone()).write_tx().await.unwrap();
        secrets::insert(&mut tx, name, "keptn-default", "2026-01-01T00:00:00Z")
            .await
            .unwrap();
        secrets::set_value(&mut tx, name, "k", blob).await.unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn reads_what_only_the_wal_holds_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("u.db").display());
        let pool = open_sqlite(&url).await.unwrap();
        store(&pool, "a", b"sealed-a").await;
        // No checkpoint has run: the row is only in the WAL, which the pool keeps open.
        assert!(
            std::fs::metadata(dir.path().join("u.db-wal"))
                .unwrap()
                .len()
                > 0
        );
        let before = snapshot(dir.path());
        let sealed = read_sealed_untouched(&url, dir.path()).await.unwrap();
        assert_eq!(
            sealed,
            vec![("a".to_string(), "k".to_string(), b"sealed-a".to_vec())]
        );
        assert_eq!(snapshot(dir.path()), before);

        // With the WAL copied into the database and emptied, the file is read in place.
        store(&pool, "b", b"sealed-b").await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("u.db-wal"))
                .unwrap()
                .len(),
            0
        );
        let before = snapshot(dir.path());
        let sealed = read_sealed_untouched(&url, dir.path()).await.unwrap();
        assert_eq!(sealed.len(), 2);
        assert_eq!(snapshot(dir.path()), before);
        pool.close().await;

        // Closed cleanly (no -wal, no -shm left): read in place, nothing created.
        let before = snapshot(dir.path());
        assert_eq!(before.1[1], None);
        assert_eq!(
            read_sealed_untouched(&url, dir.path()).await.unwrap().len(),
            2
        );
        assert_eq!(snapshot(dir.path()), before);
    }

    #[tokio::test]
    async fn a_missing_or_empty_database_holds_nothing_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("u.db").display());
        assert!(read_sealed_untouched(&url, dir.path())
            .await
            .unwrap()
            .is_empty());
        assert!(!dir.path().join("u.db").exists());
        std::fs::write(dir.path().join("u.db"), b"").unwrap();
        assert!(read_sealed_untouched(&url, dir.path())
            .await
            .unwrap()
            .is_empty());
        assert!(read_sealed_untouched("sqlite::memory:", dir.path())
            .await
            .unwrap()
            .is_empty());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_side_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.db");
        let url = format!("sqlite://{}", path.display());
        let pool = open_sqlite(&url).await.unwrap();
        store(&pool, "a", b"x").await;
        let mode = |suffix: &str| {
            std::fs::metadata(sibling(&path, suffix))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        for suffix in ["", "-wal", "-shm"] {
            assert_eq!(mode(suffix), 0o600, "u.db{suffix}");
        }
        pool.close().await;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        let pool = open_sqlite(&url).await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            assert_eq!(mode(suffix), 0o600, "u.db{suffix}");
        }
        pool.close().await;
    }
}
