//! `uniform copy-data --to <postgres-url> [--with-history]`: copies the install of the
//! configured SQLite database into an empty PostgreSQL database, so replicas can start on
//! it with everything the single server had: users (and their sessions: logged-in users
//! stay logged in), API tokens, secrets, integrations, subscriptions and the error-event
//! read marks; with `--with-history` also the events, deliveries and delivery attempts.
//!
//! It holds the data directory's lock while it runs (no server may write the SQLite
//! database meanwhile), migrates the target, refuses a target that already holds any
//! product row, and writes everything in one PostgreSQL transaction: an error leaves the
//! target as it was. Secret values are copied sealed, as stored: the replicas must run
//! with the master key of this install (`UNIFORM_MASTER_KEY`). Identity columns
//! (`users.id`, `events.rowid`, `deliveries.rowid`) keep SQLite's values, so paging order
//! is kept, and their sequences continue after the largest copied value.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::Postgres;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, QueryBuilder, Row};

use crate::config::{Config, CopyArgs};
use crate::crypto::{self, KeyId};
use crate::db;
use crate::error::StartupError;
use crate::startup::{load_keyring, DataDirLock, LockHolder};

/// What a copy did.
#[derive(Debug)]
pub struct CopyReport {
    /// Rows copied, per table, in copy order.
    pub tables: Vec<(&'static str, u64)>,
    /// Whether the history tables were copied.
    pub with_history: bool,
    /// Without `--with-history`: deliveries still pending or retrying in the source, which
    /// the new database does not have.
    pub unsent_left_behind: u64,
    /// Where the master key of the install is: `None` when it came from
    /// `UNIFORM_MASTER_KEY`, else its key file.
    pub key_file: Option<PathBuf>,
    /// The id of the key every copied secret value is sealed under.
    pub key_id: KeyId,
}

impl CopyReport {
    /// The lines to print: one per table with its count, then what was left out and the
    /// master-key hint (the key itself is never printed).
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .tables
            .iter()
            .map(|(table, count)| format!("{table}: {count}"))
            .collect();
        if !self.with_history {
            let mut line = format!(
                "{}: not copied (add --with-history to copy them)",
                HISTORY.map(|t| t.name).join(", ")
            );
            if self.unsent_left_behind > 0 {
                line.push_str(&format!(
                    "; {} deliveries still pending or retrying will not be sent from the new database",
                    self.unsent_left_behind
                ));
            }
            lines.push(line);
        }
        lines.push(match &self.key_file {
            Some(path) => format!(
                "secret values are copied sealed under master key {}: start every replica with UNIFORM_MASTER_KEY set to the content of {}",
                self.key_id,
                path.display()
            ),
            None => format!(
                "secret values are copied sealed under master key {}: start every replica with the same UNIFORM_MASTER_KEY as this install",
                self.key_id
            ),
        });
        lines
    }
}

/// How a column's value is read from SQLite and bound for PostgreSQL.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    OptText,
    Int,
    OptInt,
    Blob,
    Bool,
}

/// One column: its name in both databases, the SQLite expression it is read from, its kind.
struct Column {
    name: &'static str,
    source: &'static str,
    kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        source: name,
        kind,
    }
}

/// One table and how to copy it.
struct Table {
    name: &'static str,
    columns: &'static [Column],
    /// The insert sets a GENERATED ALWAYS identity (`rowid`).
    overriding: bool,
}

/// The install: copied always, parents before children.
const INSTALL: [Table; 8] = [
    Table {
        name: "users",
        columns: &[
            col("id", Kind::Int),
            col("username", Kind::Text),
            col("password_hash", Kind::Text),
            col("created_at", Kind::Text),
        ],
        overriding: true,
    },
    Table {
        name: "sessions",
        columns: &[
            col("id_hash", Kind::Blob),
            col("user_id", Kind::Int),
            col("created_at", Kind::Text),
            col("last_seen_at", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "api_tokens",
        columns: &[
            col("id", Kind::Text),
            col("name", Kind::Text),
            col("token_hash", Kind::Blob),
            col("created_at", Kind::Text),
            col("last_used_at", Kind::OptText),
        ],
        overriding: false,
    },
    Table {
        name: "secrets",
        columns: &[
            col("name", Kind::Text),
            col("scope", Kind::Text),
            col("created_at", Kind::Text),
            col("updated_at", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "secret_values",
        columns: &[
            col("secret_name", Kind::Text),
            col("key", Kind::Text),
            col("sealed", Kind::Blob),
        ],
        overriding: false,
    },
    Table {
        name: "integrations",
        columns: &[
            col("id", Kind::Text),
            col("name", Kind::Text),
            col("metadata", Kind::Text),
            col("builtin", Kind::Bool),
            col("created_at", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "subscriptions",
        columns: &[
            col("id", Kind::Text),
            col("integration_id", Kind::Text),
            col("event", Kind::Text),
            col("filter", Kind::Text),
            col("webhook", Kind::OptText),
            col("created_at", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "error_event_reads",
        columns: &[
            col("integration_id", Kind::Text),
            col("seen_until", Kind::Text),
        ],
        overriding: false,
    },
];

/// The history: copied with `--with-history`.
const HISTORY: [Table; 3] = [
    Table {
        name: "events",
        columns: &[
            col("rowid", Kind::Int),
            col("id", Kind::Text),
            col("type", Kind::Text),
            col("source", Kind::Text),
            col("shkeptncontext", Kind::Text),
            col("triggeredid", Kind::OptText),
            col("time", Kind::Text),
            col("project", Kind::OptText),
            col("stage", Kind::OptText),
            col("service", Kind::OptText),
            col("body", Kind::Text),
            col("received_at", Kind::Text),
        ],
        overriding: true,
    },
    Table {
        name: "deliveries",
        columns: &[
            col("rowid", Kind::Int),
            col("id", Kind::Text),
            col("subscription_id", Kind::Text),
            col("integration_id", Kind::Text),
            col("event_id", Kind::Text),
            col("status", Kind::Text),
            col("attempt_count", Kind::Int),
            col("last_status_code", Kind::OptInt),
            col("reason", Kind::OptText),
            col("duration_ms", Kind::OptInt),
            col("next_attempt_at", Kind::OptInt),
            // No sender holds a lease in the new database.
            Column {
                name: "lease_until",
                source: "NULL",
                kind: Kind::OptInt,
            },
            Column {
                name: "claim_token",
                source: "NULL",
                kind: Kind::OptText,
            },
            col("unrecorded", Kind::Int),
            col("created_at", Kind::Text),
            col("updated_at", Kind::Text),
        ],
        overriding: true,
    },
    Table {
        name: "delivery_attempts",
        columns: &[
            col("delivery_id", Kind::Text),
            col("number", Kind::Int),
            col("started_at", Kind::Text),
            col("duration_ms", Kind::Int),
            col("request", Kind::Text),
            col("response", Kind::OptText),
            col("error", Kind::OptText),
        ],
        overriding: false,
    },
];

/// The identity columns whose sequences must continue after the copied values.
const IDENTITIES: [(&str, &str); 3] = [
    ("users", "id"),
    ("events", "rowid"),
    ("deliveries", "rowid"),
];

/// Rows per SQLite read and per PostgreSQL insert (at most 16 columns: far below
/// PostgreSQL's 65535 bound parameters).
const BATCH: i64 = 500;

/// Copies the install of `config` (a SQLite database) into the empty PostgreSQL database
/// `args.to`; every failure is one line naming the option at fault, and leaves the target
/// without any row of the copy.
pub async fn copy_data(config: &Config, args: &CopyArgs) -> Result<CopyReport, StartupError> {
    let source_url = config.database_url();
    if db::is_postgres(&source_url) {
        return Err(StartupError::new(
            "--database-url",
            "copy-data copies a SQLite install into PostgreSQL, and this install already uses PostgreSQL",
        ));
    }
    if !db::is_postgres(&args.to) {
        return Err(StartupError::new(
            "--to",
            format!(
                "{} is not a PostgreSQL URL (postgres://user:password@host:port/database)",
                db::store::redact(&args.to)
            ),
        ));
    }
    let path = SqliteConnectOptions::from_str(&source_url)
        .map_err(|e| {
            StartupError::new("--database-url", format!("invalid URL {source_url:?}: {e}"))
        })?
        .get_filename()
        .to_path_buf();
    if !path.is_file() {
        return Err(StartupError::new(
            "--data-dir",
            format!(
                "there is no database at {}: nothing to copy",
                path.display()
            ),
        ));
    }
    // No server may write the database while it is read.
    let _lock = DataDirLock::acquire(&config.data_dir, LockHolder::Server)?;
    let keyring = load_keyring(config).await?;
    let source = db::open_sqlite(&source_url).await?;
    let result = copy_from(config, args, &source, &keyring).await;
    source.close().await;
    result
}

async fn copy_from(
    config: &Config,
    args: &CopyArgs,
    source: &sqlx::SqlitePool,
    keyring: &crypto::Keyring,
) -> Result<CopyReport, StartupError> {
    let read_error =
        |e: sqlx::Error| StartupError::new("--database-url", format!("cannot read: {e}"));
    // The replicas get one key: every value must be sealed under the current one.
    let current = keyring.current_key_id();
    for (name, key, blob) in db::secrets::all_sealed(source).await.map_err(read_error)? {
        if crypto::key_id_of(&blob).ok() != Some(current) {
            return Err(StartupError::other(format!(
                "secret {name} key {key} is sealed under an older master key (an interrupted rotation): run `uniform rotate-key` to finish it, then copy again"
            )));
        }
    }

    // One connection first: its error says why (the pool would only report a timeout).
    let shown = db::store::redact(&args.to);
    let options = sqlx::postgres::PgConnectOptions::from_str(&args.to)
        .map_err(|e| StartupError::new("--to", format!("invalid URL {shown}: {e}")))?;
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sqlx::PgConnection::connect_with(&options),
    )
    .await
    .map_err(|_| {
        StartupError::new(
            "--to",
            format!("cannot connect to {shown}: no answer within 10 s"),
        )
    })?
    .map_err(|e| StartupError::new("--to", format!("cannot connect to {shown}: {e}")))?;
    let _ = probe.close().await;
    let target = db::open(&args.to).await.map_err(|mut e| {
        if e.option == Some("--database-url") {
            e.option = Some("--to");
        }
        e
    })?;
    let Some(pool) = target.postgres_pool().cloned() else {
        return Err(StartupError::new("--to", "is not a PostgreSQL database"));
    };
    let result = copy_into(args, source, &pool).await;
    target.close().await;
    let tables = result?;

    let unsent_left_behind = if args.with_history {
        0
    } else {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying')",
        )
        .fetch_one(source)
        .await
        .map_err(read_error)?;
        u64::try_from(count).unwrap_or_default()
    };
    Ok(CopyReport {
        tables,
        with_history: args.with_history,
        unsent_left_behind,
        key_file: config
            .master_key
            .is_none()
            .then(|| config.data_dir.join(crypto::KEY_FILE_NAME)),
        key_id: current,
    })
}

/// Everything in one PostgreSQL transaction: the emptiness check, the rows, the identity
/// sequences. Any error rolls it all back.
async fn copy_into(
    args: &CopyArgs,
    source: &sqlx::SqlitePool,
    target: &sqlx::PgPool,
) -> Result<Vec<(&'static str, u64)>, StartupError> {
    let write_error = |what: String, e: sqlx::Error| {
        StartupError::new(
            "--to",
            format!("{what}: {e}; nothing was written to the target"),
        )
    };
    let mut tx = target
        .begin()
        .await
        .map_err(|e| write_error("cannot start a transaction".to_string(), e))?;

    let mut found = Vec::new();
    for table in INSTALL.iter().chain(HISTORY.iter()) {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            table.name
        )))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| write_error(format!("cannot count {}", table.name), e))?;
        if rows > 0 {
            found.push(format!("{rows} in {}", table.name));
        }
    }
    if !found.is_empty() {
        return Err(StartupError::new(
            "--to",
            format!(
                "{} is not empty ({}): copy-data only fills a database without Uniform data (a server started on it adds the admin user, a token and the built-in integrations); use a new database",
                db::store::redact(&args.to),
                found.join(", ")
            ),
        ));
    }

    // One snapshot of the source (no server writes it: the data directory is locked).
    let mut read = source
        .begin()
        .await
        .map_err(|e| StartupError::new("--database-url", format!("cannot read: {e}")))?;
    let created_at: String = sqlx::query_scalar("SELECT created_at FROM instance WHERE id = 1")
        .fetch_one(&mut *read)
        .await
        .map_err(|e| StartupError::new("--database-url", format!("cannot read: {e}")))?;
    sqlx::query("UPDATE instance SET created_at = $1 WHERE id = 1")
        .bind(&created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error("cannot write instance".to_string(), e))?;

    let history: &[Table] = if args.with_history { &HISTORY } else { &[] };
    let mut counts = Vec::new();
    for table in INSTALL.iter().chain(history.iter()) {
        let count = copy_table(table, &mut read, &mut tx).await?;
        counts.push((table.name, count));
    }
    for (table, column) in IDENTITIES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error(format!("cannot set the sequence of {table}.{column}"), e))?;
    }
    tx.commit()
        .await
        .map_err(|e| write_error("cannot commit".to_string(), e))?;
    Ok(counts)
}

/// Copies `table` in batches, in SQLite's rowid order; the number of rows.
async fn copy_table(
    table: &Table,
    read: &mut sqlx::SqliteConnection,
    tx: &mut sqlx::PgConnection,
) -> Result<u64, StartupError> {
    let sources: Vec<&str> = table.columns.iter().map(|c| c.source).collect();
    let select = format!(
        "SELECT rowid AS copy_position, {} FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT {BATCH}",
        sources.join(", "),
        table.name
    );
    let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let insert = format!(
        "INSERT INTO {} ({}){} ",
        table.name,
        names.join(", "),
        if table.overriding {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        }
    );
    let read_error = |e: sqlx::Error| {
        StartupError::new("--database-url", format!("cannot read {}: {e}", table.name))
    };
    let mut after = 0_i64;
    let mut copied = 0_u64;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .bind(after)
            .fetch_all(&mut *read)
            .await
            .map_err(read_error)?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get(0).map_err(read_error)?;
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut row_values = Vec::with_capacity(table.columns.len());
            for (i, column) in table.columns.iter().enumerate() {
                row_values.push(Value::read(row, i + 1, column.kind).map_err(read_error)?);
            }
            values.push(row_values);
        }
        let mut builder = QueryBuilder::<Postgres>::new(insert.clone());
        builder.push_values(values, |mut out, row| {
            for value in row {
                match value {
                    Value::Text(v) => out.push_bind(v),
                    Value::Int(v) => out.push_bind(v),
                    Value::Blob(v) => out.push_bind(v),
                    Value::Bool(v) => out.push_bind(v),
                };
            }
        });
        builder.build().execute(&mut *tx).await.map_err(|e| {
            StartupError::new(
                "--to",
                format!(
                    "cannot write {}: {e}; nothing was written to the target",
                    table.name
                ),
            )
        })?;
        copied += rows.len() as u64;
    }
    Ok(copied)
}

/// One value on its way from SQLite to PostgreSQL.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Blob(Vec<u8>),
    Bool(bool),
}

impl Value {
    fn read(row: &sqlx::sqlite::SqliteRow, index: usize, kind: Kind) -> sqlx::Result<Self> {
        Ok(match kind {
            Kind::Text => Value::Text(Some(row.try_get::<String, _>(index)?)),
            Kind::OptText => Value::Text(row.try_get(index)?),
            Kind::Int => Value::Int(Some(row.try_get::<i64, _>(index)?)),
            Kind::OptInt => Value::Int(row.try_get(index)?),
            Kind::Blob => Value::Blob(row.try_get(index)?),
            Kind::Bool => Value::Bool(row.try_get(index)?),
        })
    }
}
