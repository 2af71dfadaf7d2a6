//! Everything that speaks SQL: opening the pool, the embedded migrations, and one module of
//! queries per table. No rules live here; the callers (`auth`, `domain`) decide.

pub mod events;
pub mod group;
pub mod integrations;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::StartupError;

/// Writers of this process take turns here before `BEGIN IMMEDIATE`: SQLite has one writer
/// at a time, and a writer that finds the lock taken sleeps in SQLite's busy handler (1, 2,
/// 5, 10 … 100 ms steps), which made the latency tails. Waiting on this async mutex instead
/// wakes the next writer the moment the previous one commits.
static WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A write transaction holding this process's writer turn until commit or drop.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl WriteTx {
    /// Commits, then gives the turn to the next writer.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::Transaction<'static, sqlx::Sqlite>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Starts a write transaction: waits for this process's writer turn, then `BEGIN
/// IMMEDIATE` takes SQLite's write lock up front, so a transaction that reads before it
/// writes never fails with "database is locked" when it upgrades (another process, such as
/// `rotate-key`, is still waited for by the busy timeout).
pub async fn write_tx(db: &SqlitePool) -> sqlx::Result<WriteTx> {
    let turn = WRITER.lock().await;
    let tx = db.begin_with("BEGIN IMMEDIATE").await?;
    Ok(WriteTx { tx, _turn: turn })
}

/// Runs one write statement in its own writer turn (see [`write_tx`]).
pub async fn write<T>(
    statement: impl std::future::Future<Output = sqlx::Result<T>>,
) -> sqlx::Result<T> {
    let _turn = WRITER.lock().await;
    statement.await
}

/// Copies the WAL back into the database file every second (PASSIVE: never waits for, nor
/// blocks, readers and writers), so no request pays for a checkpoint inside its commit, as
/// SQLite's automatic checkpoint makes the committing writer do.
pub async fn checkpoints(db: SqlitePool, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&db)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
    // A last full copy at a clean stop keeps the WAL file small between runs.
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&db)
        .await;
}

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens (creating when missing) the database at `url` with WAL, foreign keys and a busy
/// timeout, then applies every pending migration.
pub async fn open(url: &str) -> Result<SqlitePool, StartupError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StartupError::new("--database-url", format!("invalid URL {url:?}: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Checkpoints run in the background (see `checkpoints`), not inside a commit.
        .pragma("wal_autocheckpoint", "0");
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
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
