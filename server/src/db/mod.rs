//! Everything that speaks SQL: opening the pool, the embedded migrations, and one module of
//! queries per table. No rules live here; the callers (`auth`, `domain`) decide.

pub mod events;
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

/// Starts a write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so a
/// transaction that reads before it writes waits (busy timeout) for other writers instead
/// of failing with "database is locked" when it upgrades.
pub async fn write_tx(db: &SqlitePool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    db.begin_with("BEGIN IMMEDIATE").await
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
        .busy_timeout(Duration::from_secs(5));
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
