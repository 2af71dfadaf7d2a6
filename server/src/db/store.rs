//! The store: one value per database, built in `startup` and held in `AppState`, holding
//! everything that used to be process-global — the pool (SQLite or PostgreSQL), SQLite's
//! writer turn, the configuration version and the cache derived from it, and the wake-up
//! signal. Two servers in one process share nothing. Also the glue that lets one query
//! module speak both engines: [`Target`] (a pool or a transaction of either engine) and
//! the `on!` macro (in `db/mod.rs`) that expands a query once per engine.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{
    Connection as _, PgConnection, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction,
};
use tokio::sync::{Notify, OwnedMappedMutexGuard, OwnedMutexGuard};

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One process, one file (the embedded default).
    Sqlite,
    /// Any number of replicas on one database.
    Postgres,
}

/// The engine's pool. On SQLite, writes to a file go through one connection of their own
/// (see [`WriterSlot`]); `writer` is how to open it, `None` for an in-memory database
/// (each connection would be a database of its own: writes use the pool).
#[derive(Debug, Clone)]
enum Pool {
    Sqlite {
        pool: SqlitePool,
        writer: Option<Box<SqliteConnectOptions>>,
    },
    Postgres(PgPool),
}

/// SQLite's writer connection, behind the writer turn: the turn and the connection are
/// one lock. A connection of its own rather than a pool of one: a pool pings a connection
/// on its SQLite thread every time it is taken and every time it is given back (two more
/// thread hand-offs per write, each a cross-CPU wake-up), and a connection of its own keeps
/// its page cache warm, because no other connection's commit invalidates it. Opened at the
/// first write; `None` until then, and always for in-memory databases and PostgreSQL.
pub type WriterSlot = Option<WriterConn>;

/// The open writer connection.
pub struct WriterConn {
    conn: SqliteConnection,
    /// A transaction was begun and neither committed nor rolled back (its `WriteTx` was
    /// dropped, or `COMMIT` failed): the next turn rolls it back first.
    open: bool,
}

/// The notification channel that wakes every replica's sender (new deliveries are due).
pub const WAKE_CHANNEL: &str = "uniform_wake";

/// The notification channel that tells every replica integrations or subscriptions changed.
pub const CONFIG_CHANNEL: &str = "uniform_config";

/// A value derived from the configuration, with the version it was read at.
type Derived = (u64, Arc<dyn Any + Send + Sync>);

/// One database and what this process keeps about it; cheap to clone.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

struct Inner {
    pool: Pool,
    /// SQLite has one writer at a time: writers of this process take turns here before
    /// `BEGIN IMMEDIATE` rather than sleeping in SQLite's busy handler (1 to 100 ms steps),
    /// so the next writer starts the moment the previous one commits. The turn holds the
    /// writer connection. Unused on PostgreSQL.
    writer: Arc<tokio::sync::Mutex<WriterSlot>>,
    /// SQLite: counts writes to integrations and subscriptions (this process is their only
    /// writer). PostgreSQL keeps the count in `instance.config_version`, shared by replicas.
    version: AtomicU64,
    /// PostgreSQL: set when another replica may have changed integrations or subscriptions
    /// since the cache was last checked against the database (a notification came, or the
    /// listener was not connected); cleared by [`Store::recent_version`].
    unchecked: std::sync::atomic::AtomicBool,
    /// PostgreSQL: the configuration version last read from the database.
    seen: AtomicU64,
    /// Data derived from the configuration (integrations, subscriptions, secrets), one slot
    /// per type, each with the version it was read at.
    derived: Mutex<HashMap<TypeId, Derived>>,
    /// Wakes this process's sender (new deliveries are due).
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    fn new(pool: Pool) -> Self {
        Self(Arc::new(Inner {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(None)),
            version: AtomicU64::new(0),
            unchecked: std::sync::atomic::AtomicBool::new(true),
            seen: AtomicU64::new(0),
            derived: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
        }))
    }

    /// A store on an open (migrated) SQLite pool; its writes get a connection of their own
    /// (same options; an in-memory database, private to each connection, keeps the pool).
    pub fn sqlite(pool: SqlitePool) -> Self {
        let options = pool.connect_options();
        let writer = (options.get_filename() != std::path::Path::new(":memory:")).then(|| {
            // The writer's pages stay cached between commits (nothing else writes): a
            // larger cache keeps the hot part of the tables and indexes in memory.
            // A claim returns up to the sender's concurrency in rows: all of them in one
            // go from the connection's thread (the default channel holds 50).
            Box::new(
                (*options)
                    .clone()
                    .pragma("cache_size", "-16384")
                    .row_buffer_size(1024),
            )
        });
        Self::new(Pool::Sqlite { pool, writer })
    }

    /// A store on an open (migrated) PostgreSQL pool.
    pub fn postgres(pool: PgPool) -> Self {
        Self::new(Pool::Postgres(pool))
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        match self.0.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite pool, when this store is on SQLite.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.0.pool {
            Pool::Sqlite { pool, .. } => Some(pool),
            Pool::Postgres(_) => None,
        }
    }

    /// Takes this process's writer turn for writes outside a transaction (one statement,
    /// autocommit): on SQLite the writer connection (see [`Store::write_tx`]); on
    /// PostgreSQL just the pool. Run the statements with `on!(&mut turn, …)`.
    pub async fn write_turn(&self) -> sqlx::Result<WriteTurn<'_>> {
        match &self.0.pool {
            Pool::Sqlite {
                writer: Some(options),
                ..
            } => Ok(WriteTurn::Conn(self.turn(options).await?)),
            Pool::Sqlite { pool, writer: None } => Ok(WriteTurn::Pool(
                self.0.writer.clone().lock_owned().await,
                pool,
            )),
            Pool::Postgres(pool) => Ok(WriteTurn::Postgres(pool)),
        }
    }

    /// SQLite's writer connection for one turn, for statements that carry their own
    /// `BEGIN IMMEDIATE` … `COMMIT` (see [`Script`]); `None` on PostgreSQL and for an
    /// in-memory database, where the caller uses [`Store::write_tx`].
    pub async fn script(&self) -> sqlx::Result<Option<Script>> {
        match &self.0.pool {
            Pool::Sqlite {
                writer: Some(options),
                ..
            } => Ok(Some(Script(self.turn(options).await?))),
            _ => Ok(None),
        }
    }

    /// The writer turn on SQLite with its connection (opened with `options` at the first
    /// turn), no transaction left open by a previous turn.
    async fn turn(&self, options: &SqliteConnectOptions) -> sqlx::Result<WriterGuard> {
        let mut slot = self.0.writer.clone().lock_owned().await;
        if slot.is_none() {
            *slot = Some(WriterConn {
                conn: SqliteConnection::connect_with(options).await?,
                open: false,
            });
        }
        let mut writer =
            OwnedMutexGuard::try_map(slot, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?;
        if writer.open {
            sqlx::query("ROLLBACK").execute(&mut writer.conn).await?;
            writer.open = false;
        }
        Ok(writer)
    }

    /// The PostgreSQL pool, when this store is on PostgreSQL.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.0.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite { .. } => None,
        }
    }

    /// The signal that wakes this process's sender.
    pub fn wake(&self) -> &Arc<Notify> {
        &self.0.wake
    }

    /// Closes the pool (waits for its connections to be returned) and the writer connection.
    pub async fn close(&self) {
        match &self.0.pool {
            Pool::Sqlite { pool, .. } => {
                let writer = self.0.writer.lock().await.take();
                if let Some(writer) = writer {
                    let _ = writer.conn.close().await;
                }
                pool.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// A read transaction (one snapshot for several queries).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match &self.0.pool {
            Pool::Sqlite { pool, .. } => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a write transaction. On SQLite it waits for this process's writer turn, then
    /// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction that reads before
    /// it writes never fails with "database is locked" when it upgrades (another process,
    /// such as `rotate-key`, is still waited for by the busy timeout). On PostgreSQL it is
    /// a plain transaction: the engine has many writers.
    pub async fn write_tx(&self) -> sqlx::Result<WriteTx> {
        match &self.0.pool {
            Pool::Sqlite {
                writer: Some(options),
                ..
            } => {
                let mut writer = self.turn(options).await?;
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut writer.conn)
                    .await?;
                writer.open = true;
                Ok(WriteTx {
                    tx: Tx::SqliteWriter(writer),
                    _turn: None,
                })
            }
            Pool::Sqlite { pool, writer: None } => {
                let turn = self.0.writer.clone().lock_owned().await;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx: Tx::Sqlite(tx),
                    _turn: Some(turn),
                })
            }
            Pool::Postgres(pool) => Ok(WriteTx {
                tx: Tx::Postgres(pool.begin().await?),
                _turn: None,
            }),
        }
    }

    /// The current configuration version (integrations, subscriptions, secrets, tokens); read it before
    /// loading what is to be cached, so a write landing meanwhile leaves the copy stale.
    /// On PostgreSQL it is read from the database every time: a subscription written
    /// through another replica counts for the very next event here.
    pub async fn version(&self) -> sqlx::Result<u64> {
        match &self.0.pool {
            Pool::Sqlite { .. } => Ok(self.0.version.load(Ordering::SeqCst)),
            Pool::Postgres(pool) => {
                let version: i64 =
                    sqlx::query_scalar("SELECT config_version FROM instance WHERE id = 1")
                        .fetch_one(pool)
                        .await?;
                let version = u64::try_from(version).unwrap_or_default();
                self.0.seen.store(version, Ordering::SeqCst);
                Ok(version)
            }
        }
    }

    /// The configuration version for the sender's reads: on PostgreSQL the cached version as
    /// long as no notification said another replica changed something (and the listener
    /// stayed connected), else read from the database like [`Store::version`]. A change
    /// through another replica reaches the sender a notification's delay later; the ingest
    /// path, which decides which deliveries exist, always uses [`Store::version`].
    pub async fn recent_version(&self) -> sqlx::Result<u64> {
        if self.backend() == Backend::Postgres && !self.0.unchecked.swap(false, Ordering::SeqCst) {
            return Ok(self.0.seen.load(Ordering::SeqCst));
        }
        self.version().await
    }

    /// Marks every cached copy of integrations and subscriptions stale, in this process
    /// and (PostgreSQL) in every replica. Call it after the write committed.
    pub async fn changed(&self) -> sqlx::Result<()> {
        self.0.version.fetch_add(1, Ordering::SeqCst);
        if let Pool::Postgres(pool) = &self.0.pool {
            self.0.unchecked.store(true, Ordering::SeqCst);
            sqlx::query("UPDATE instance SET config_version = config_version + 1 WHERE id = 1")
                .execute(pool)
                .await?;
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(CONFIG_CHANNEL)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// The derived value cached at `version`, when it is of type `T`.
    pub fn derived<T: Any + Send + Sync>(&self, version: u64) -> Option<Arc<T>> {
        let slots = self.0.derived.lock().unwrap_or_else(|e| e.into_inner());
        match slots.get(&TypeId::of::<T>()) {
            Some((at, value)) if *at == version => value.clone().downcast::<T>().ok(),
            _ => None,
        }
    }

    /// Caches `value`, derived from what was read at `version`.
    pub fn set_derived<T: Any + Send + Sync>(&self, version: u64, value: Arc<T>) {
        self.0
            .derived
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(TypeId::of::<T>(), (version, value));
    }

    /// Tells every replica's sender that deliveries are due: in `tx`, so the hint leaves
    /// when the deliveries are committed (PostgreSQL); nothing on SQLite, whose only sender
    /// is woken in-process.
    pub async fn notify_due(tx: &mut Tx) -> sqlx::Result<()> {
        if let Tx::Postgres(tx) = tx {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(WAKE_CHANNEL)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Listens for [`WAKE_CHANNEL`] (PostgreSQL) and wakes this process's sender for each
    /// hint, reconnecting after errors, until `shutdown`. The sender's slow poll is the
    /// backstop for hints lost while the listener reconnects. Returns at once on SQLite.
    pub async fn listen(&self, shutdown: impl std::future::Future<Output = ()>) {
        let Pool::Postgres(pool) = &self.0.pool else {
            return;
        };
        tokio::pin!(shutdown);
        loop {
            let listener = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen_all([WAKE_CHANNEL, CONFIG_CHANNEL]).await?;
                // Anything sent or changed while this replica was not listening counts now.
                self.0.unchecked.store(true, Ordering::SeqCst);
                self.0.wake.notify_one();
                loop {
                    let hint = listener.recv().await?;
                    if hint.channel() == CONFIG_CHANNEL {
                        self.0.unchecked.store(true, Ordering::SeqCst);
                    } else {
                        self.0.wake.notify_one();
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            };
            tokio::select! {
                () = &mut shutdown => return,
                result = listener => {
                    // Changes may be missed until it is back: check against the database.
                    self.0.unchecked.store(true, Ordering::SeqCst);
                    if let Err(error) = result {
                        tracing::warn!(%error, "lost the database notification listener; reconnecting");
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Runs `job` only when no other replica runs it at the same time (a PostgreSQL
    /// advisory lock named by `key`, held for the job's duration); on SQLite there is one
    /// process, so it just runs. `None` when another replica holds the lock.
    pub async fn exclusively<T, F>(&self, key: i64, job: F) -> sqlx::Result<Option<T>>
    where
        F: std::future::Future<Output = T>,
    {
        self.with_advisory_lock(key, false, job).await
    }

    /// Runs `job` while holding the PostgreSQL advisory lock `key`, waiting for it when
    /// another replica holds it (replicas starting together take turns at their start-up
    /// writes); on SQLite it just runs.
    pub async fn serialized<T, F>(&self, key: i64, job: F) -> sqlx::Result<T>
    where
        F: std::future::Future<Output = T>,
    {
        // A waiting lock is always taken: `None` cannot come back.
        self.with_advisory_lock(key, true, job)
            .await?
            .ok_or_else(|| sqlx::Error::Protocol("the advisory lock was not taken".into()))
    }

    /// Runs `job` under the session advisory lock `key` on one pooled connection: waits for
    /// it when `wait`, else gives up (`None`) when another session holds it.
    async fn with_advisory_lock<T, F>(
        &self,
        key: i64,
        wait: bool,
        job: F,
    ) -> sqlx::Result<Option<T>>
    where
        F: std::future::Future<Output = T>,
    {
        let Pool::Postgres(pool) = &self.0.pool else {
            return Ok(Some(job.await));
        };
        let mut conn = pool.acquire().await?;
        let take = if wait {
            "SELECT pg_advisory_lock($1) IS NOT NULL"
        } else {
            "SELECT pg_try_advisory_lock($1)"
        };
        let got: bool = sqlx::query_scalar(take)
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        if !got {
            return Ok(None);
        }
        let out = job.await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
        Ok(Some(out))
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> sqlx::Result<()> {
        on!(self, |c| sqlx::query("SELECT 1")
            .execute(c)
            .await
            .map(|_| ()))
    }
}

/// A transaction on either engine.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    /// A write transaction on SQLite's writer connection (begun by [`Store::write_tx`]);
    /// dropped without commit, it is rolled back at the next turn.
    SqliteWriter(WriterGuard),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::SqliteWriter(mut writer) => {
                sqlx::query("COMMIT").execute(&mut writer.conn).await?;
                writer.open = false;
                Ok(())
            }
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// One turn of SQLite's writer connection for a transaction written as one call of several
/// statements (`BEGIN IMMEDIATE; …; COMMIT`): one hand-off to the connection's thread
/// instead of one per statement, on the hot paths (ingest, attempt records). A script that
/// fails half-way leaves its transaction open: [`Script::begin`] marks it so, and the next
/// turn rolls it back before anything else; [`Script::committed`] clears the mark.
pub struct Script(WriterGuard);

impl Script {
    /// The connection, for a call that begins the transaction (it is open from now on).
    pub fn begin(&mut self) -> &mut SqliteConnection {
        self.0.open = true;
        &mut self.0.conn
    }

    /// The connection, inside the transaction.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.0.conn
    }

    /// The call that ended with `COMMIT` succeeded.
    pub fn committed(&mut self) {
        self.0.open = false;
    }
}

/// The writer turn holding SQLite's writer connection.
pub type WriterGuard = OwnedMappedMutexGuard<WriterSlot, WriterConn>;

/// This process's writer turn for statements outside a transaction ([`Store::write_turn`]).
pub enum WriteTurn<'a> {
    /// The writer connection (a file).
    Conn(WriterGuard),
    /// The turn, and the pool of an in-memory database (which has no writer connection).
    Pool(OwnedMutexGuard<WriterSlot>, &'a SqlitePool),
    Postgres(&'a PgPool),
}

impl<'a> From<&'a mut WriteTurn<'_>> for Target<'a> {
    fn from(turn: &'a mut WriteTurn<'_>) -> Self {
        match turn {
            WriteTurn::Conn(writer) => Target::SqliteConn(&mut writer.conn),
            WriteTurn::Pool(_, pool) => Target::SqlitePool(pool),
            WriteTurn::Postgres(pool) => Target::PgPool(pool),
        }
    }
}

/// A write transaction holding this process's writer turn (SQLite) until commit or drop.
pub struct WriteTx {
    tx: Tx,
    _turn: Option<OwnedMutexGuard<WriterSlot>>,
}

impl WriteTx {
    /// Commits, then gives the turn to the next writer.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

/// Where one query runs: a pool or an open transaction, of either engine.
pub enum Target<'a> {
    SqlitePool(&'a SqlitePool),
    SqliteConn(&'a mut SqliteConnection),
    PgPool(&'a PgPool),
    PgConn(&'a mut PgConnection),
}

impl<'a> From<&'a Store> for Target<'a> {
    fn from(store: &'a Store) -> Self {
        match &store.0.pool {
            Pool::Sqlite { pool, .. } => Target::SqlitePool(pool),
            Pool::Postgres(pool) => Target::PgPool(pool),
        }
    }
}

impl<'a> From<&'a mut Tx> for Target<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        match tx {
            Tx::Sqlite(tx) => Target::SqliteConn(tx),
            Tx::SqliteWriter(writer) => Target::SqliteConn(&mut writer.conn),
            Tx::Postgres(tx) => Target::PgConn(tx),
        }
    }
}

impl<'a> From<&'a mut WriteTx> for Target<'a> {
    fn from(tx: &'a mut WriteTx) -> Self {
        Target::from(&mut tx.tx)
    }
}

impl<'a> From<&'a SqlitePool> for Target<'a> {
    fn from(pool: &'a SqlitePool) -> Self {
        Target::SqlitePool(pool)
    }
}

impl<'a> From<&'a mut SqliteConnection> for Target<'a> {
    fn from(conn: &'a mut SqliteConnection) -> Self {
        Target::SqliteConn(conn)
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_in_messages() {
        assert_eq!(
            redact("postgres://u:hunter2@127.0.0.1:5432/db"),
            "postgres://u:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact("postgres://u@127.0.0.1/db"),
            "postgres://u@127.0.0.1/db"
        );
        assert_eq!(redact("postgres://u:pw@[bad"), "(unparsable URL)");
    }
}
