//! Queries on `integrations` and `subscriptions`. Metadata, filters and webhooks are stored
//! as JSON text (they are read and written whole).

use sqlx::SqlitePool;

/// An integration row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: String,
    pub name: String,
    pub metadata: String,
    pub builtin: bool,
}

/// A subscription row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    pub integration_id: String,
    pub event: String,
    pub filter: String,
    pub webhook: Option<String>,
}

/// Counts writes to integrations and subscriptions, so cached copies know they are stale.
static VERSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Marks every cached copy of integrations and subscriptions stale.
fn changed() {
    VERSION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// The current write count (read before loading what is to be cached).
pub fn version() -> u64 {
    VERSION.load(std::sync::atomic::Ordering::SeqCst)
}

/// Integrations matching the optional filters: built-in first, then by name.
pub async fn list(
    db: &SqlitePool,
    id: Option<&str>,
    name: Option<&str>,
) -> sqlx::Result<Vec<IntegrationRow>> {
    sqlx::query_as(
        "SELECT id, name, metadata, builtin FROM integrations
         WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR name = ?2)
         ORDER BY builtin DESC, name, id",
    )
    .bind(id)
    .bind(name)
    .fetch_all(db)
    .await
}

/// Adds an integration, or replaces its name and metadata when `id` exists; true when new.
pub async fn upsert(
    db: &SqlitePool,
    id: &str,
    name: &str,
    metadata: &str,
    builtin: bool,
    now: &str,
) -> sqlx::Result<bool> {
    let existed: Option<String> = sqlx::query_scalar("SELECT id FROM integrations WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    sqlx::query(
        "INSERT INTO integrations (id, name, metadata, builtin, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, metadata = excluded.metadata",
    )
    .bind(id)
    .bind(name)
    .bind(metadata)
    .bind(builtin)
    .bind(now)
    .execute(db)
    .await
    .inspect(|_| changed())?;
    Ok(existed.is_none())
}

/// The built-in integration's id, when it was created before.
pub async fn builtin_id(db: &SqlitePool) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT id FROM integrations WHERE builtin = 1 LIMIT 1")
        .fetch_optional(db)
        .await
}

/// Replaces the metadata of `id`; false when there is no such integration.
pub async fn set_metadata(db: &SqlitePool, id: &str, metadata: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("UPDATE integrations SET metadata = ? WHERE id = ?")
        .bind(metadata)
        .bind(id)
        .execute(db)
        .await
        .inspect(|_| changed())?;
    Ok(result.rows_affected() > 0)
}

/// Deletes integration `id` (and its subscriptions); false when there was none.
pub async fn delete(db: &SqlitePool, id: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM integrations WHERE id = ?")
        .bind(id)
        .execute(db)
        .await
        .inspect(|_| changed())?;
    Ok(result.rows_affected() > 0)
}

/// Subscriptions of `integration_id` (all when `None`), oldest first.
pub async fn subscriptions(
    db: &SqlitePool,
    integration_id: Option<&str>,
) -> sqlx::Result<Vec<SubscriptionRow>> {
    sqlx::query_as(
        "SELECT id, integration_id, event, filter, webhook FROM subscriptions
         WHERE (?1 IS NULL OR integration_id = ?1)
         ORDER BY created_at, id",
    )
    .bind(integration_id)
    .fetch_all(db)
    .await
}

/// Adds a subscription.
pub async fn insert_subscription(
    db: &SqlitePool,
    row: &SubscriptionRow,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO subscriptions (id, integration_id, event, filter, webhook, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(&row.integration_id)
    .bind(&row.event)
    .bind(&row.filter)
    .bind(&row.webhook)
    .bind(now)
    .execute(db)
    .await
    .inspect(|_| changed())?;
    Ok(())
}

/// Replaces subscription `row.id` of `row.integration_id`; false when there is none.
pub async fn update_subscription(db: &SqlitePool, row: &SubscriptionRow) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE subscriptions SET event = ?, filter = ?, webhook = ? WHERE id = ? AND integration_id = ?",
    )
    .bind(&row.event)
    .bind(&row.filter)
    .bind(&row.webhook)
    .bind(&row.id)
    .bind(&row.integration_id)
    .execute(db)
    .await
        .inspect(|_| changed())?;
    Ok(result.rows_affected() > 0)
}

/// Deletes subscription `id` of `integration_id`; false when there was none.
pub async fn delete_subscription(
    db: &SqlitePool,
    integration_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM subscriptions WHERE id = ? AND integration_id = ?")
        .bind(id)
        .bind(integration_id)
        .execute(db)
        .await
        .inspect(|_| changed())?;
    Ok(result.rows_affected() > 0)
}
