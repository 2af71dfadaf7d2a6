//! Queries on `integrations` and `subscriptions`. Metadata, filters and webhooks are stored
//! as JSON text (they are read and written whole).

use super::Store;

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

/// Integrations matching the optional filters: built-in first, then by name.
pub async fn list(
    db: &Store,
    id: Option<&str>,
    name: Option<&str>,
) -> sqlx::Result<Vec<IntegrationRow>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, name, metadata, builtin FROM integrations
         WHERE ($1 IS NULL OR id = $1) AND ($2 IS NULL OR name = $2)
         ORDER BY builtin DESC, name, id",
    )
    .bind(id)
    .bind(name)
    .fetch_all(c)
    .await)
}

/// Adds an integration, or replaces its name and metadata when `id` exists; true when new.
pub async fn upsert(
    db: &Store,
    id: &str,
    name: &str,
    metadata: &str,
    builtin: bool,
    now: &str,
) -> sqlx::Result<bool> {
    let existed: Option<String> = on!(db, |c| sqlx::query_scalar(
        "SELECT id FROM integrations WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    on!(db, |c| {
        sqlx::query(
        "INSERT INTO integrations (id, name, metadata, builtin, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, metadata = excluded.metadata",
    )
    .bind(id)
    .bind(name)
    .bind(metadata)
    .bind(builtin)
    .bind(now)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    db.changed().await?;
    Ok(existed.is_none())
}

/// The built-in integration's id, when it was created before.
pub async fn builtin_id(db: &Store) -> sqlx::Result<Option<String>> {
    on!(db, |c| sqlx::query_scalar(
        "SELECT id FROM integrations WHERE builtin LIMIT 1"
    )
    .fetch_optional(c)
    .await)
}

/// Replaces the metadata of `id`; false when there is no such integration.
pub async fn set_metadata(db: &Store, id: &str, metadata: &str) -> sqlx::Result<bool> {
    let result = on!(db, |c| sqlx::query(
        "UPDATE integrations SET metadata = $1 WHERE id = $2"
    )
    .bind(metadata)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    db.changed().await?;
    Ok(result > 0)
}

/// Deletes integration `id` (and its subscriptions); false when there was none.
pub async fn delete(db: &Store, id: &str) -> sqlx::Result<bool> {
    let result = on!(db, |c| sqlx::query(
        "DELETE FROM integrations WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    db.changed().await?;
    Ok(result > 0)
}

/// Subscriptions of `integration_id` (all when `None`), oldest first.
pub async fn subscriptions(
    db: &Store,
    integration_id: Option<&str>,
) -> sqlx::Result<Vec<SubscriptionRow>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, integration_id, event, filter, webhook FROM subscriptions
         WHERE ($1 IS NULL OR integration_id = $1)
         ORDER BY created_at, id",
    )
    .bind(integration_id)
    .fetch_all(c)
    .await)
}

/// Adds a subscription.
pub async fn insert_subscription(db: &Store, row: &SubscriptionRow, now: &str) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "INSERT INTO subscriptions (id, integration_id, event, filter, webhook, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&row.id)
    .bind(&row.integration_id)
    .bind(&row.event)
    .bind(&row.filter)
    .bind(&row.webhook)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    db.changed().await?;
    Ok(())
}

/// Replaces subscription `row.id` of `row.integration_id`; false when there is none.
pub async fn update_subscription(db: &Store, row: &SubscriptionRow) -> sqlx::Result<bool> {
    let result = on!(db, |c| {
        sqlx::query(
        "UPDATE subscriptions SET event = $1, filter = $2, webhook = $3 WHERE id = $4 AND integration_id = $5",
    )
    .bind(&row.event)
    .bind(&row.filter)
    .bind(&row.webhook)
    .bind(&row.id)
    .bind(&row.integration_id)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    db.changed().await?;
    Ok(result > 0)
}

/// Deletes subscription `id` of `integration_id`; false when there was none.
pub async fn delete_subscription(db: &Store, integration_id: &str, id: &str) -> sqlx::Result<bool> {
    let result = on!(db, |c| sqlx::query(
        "DELETE FROM subscriptions WHERE id = $1 AND integration_id = $2"
    )
    .bind(id)
    .bind(integration_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    db.changed().await?;
    Ok(result > 0)
}
