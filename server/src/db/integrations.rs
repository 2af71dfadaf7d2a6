//! Queries on `integrations` and `subscriptions`. Metadata, filters and webhooks are stored
//! as JSON text (they are read and written whole) and read back into the API's models,
//! cached in the store by configuration version (ingress and the sender read them for every
//! event and delivery).

use std::sync::Arc;

use app::model::{Integration, IntegrationMetadata, Subscription, SubscriptionFilter};

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

fn integration(row: IntegrationRow, subscriptions: Vec<Subscription>) -> Integration {
    let mut metadata: IntegrationMetadata = serde_json::from_str(&row.metadata).unwrap_or_default();
    if row.builtin {
        // The built-in integration runs in this very process: it is always seen now.
        metadata.lastseen = Some(crate::util::now_rfc3339());
    }
    Integration {
        id: row.id,
        name: row.name,
        metadata,
        subscriptions,
    }
}

/// The filter value a subscription shows when its stored filter cannot be read: such a
/// subscription matches no event (see `domain::events::matches`) until its filter is set
/// again; an unreadable filter never widens to "every event".
pub const UNREADABLE_FILTER: &str = "(the stored filter cannot be read: set the filter again)";

/// A stored subscription row as the API shows it; an unreadable filter matches nothing.
pub fn subscription(row: SubscriptionRow) -> Subscription {
    let filter = match serde_json::from_str(&row.filter) {
        Ok(filter) => filter,
        Err(error) => {
            tracing::error!(subscription = %row.id, %error,
                "the stored filter cannot be read; the subscription matches no event until its filter is set again");
            SubscriptionFilter {
                projects: vec![UNREADABLE_FILTER.to_string()],
                ..SubscriptionFilter::default()
            }
        }
    };
    let webhook = row
        .webhook
        .and_then(|text| match serde_json::from_str(&text) {
            Ok(webhook) => Some(webhook),
            Err(error) => {
                tracing::error!(subscription = %row.id, %error, "the stored webhook cannot be read");
                None
            }
        });
    Subscription {
        id: row.id,
        event: row.event,
        filter,
        webhook,
    }
}

/// Integrations matching the optional filters, with their subscriptions.
pub async fn models(
    db: &Store,
    id: Option<&str>,
    name: Option<&str>,
) -> sqlx::Result<Vec<Integration>> {
    let rows = list(db, id, name).await?;
    let mut subscriptions = subscriptions(db, None).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut subscriptions)
                .into_iter()
                .partition(|s| s.integration_id == row.id);
            subscriptions = rest;
            integration(row, mine.into_iter().map(subscription).collect())
        })
        .collect())
}

/// Every integration with its subscriptions, from memory while nothing changed (ingress and
/// the sender read this for every event and delivery). Cached in the store, keyed by its
/// configuration version (on PostgreSQL read from the database each time, so a change
/// made through another replica counts at once).
pub async fn all_cached(db: &Store) -> sqlx::Result<Arc<Vec<Integration>>> {
    // Read before loading: a write landing meanwhile leaves a copy marked stale.
    let version = db.version().await?;
    cached_at(db, version).await
}

/// Like [`all_cached`], for the sender: on PostgreSQL the database is asked for the version
/// only after a notification said something changed (see `Store::recent_version`), which
/// saves a round trip per delivery.
pub async fn all_recent(db: &Store) -> sqlx::Result<Arc<Vec<Integration>>> {
    let version = db.recent_version().await?;
    cached_at(db, version).await
}

async fn cached_at(db: &Store, version: u64) -> sqlx::Result<Arc<Vec<Integration>>> {
    if let Some(cached) = db.derived::<Vec<Integration>>(version) {
        return Ok(cached);
    }
    let fresh = Arc::new(models(db, None, None).await?);
    db.set_derived(version, fresh.clone());
    Ok(fresh)
}

/// Subscription `id` of `integration_id` from [`all_recent`] (the sender's read).
pub async fn cached_subscription(
    db: &Store,
    integration_id: &str,
    id: &str,
) -> sqlx::Result<Option<Subscription>> {
    Ok(all_recent(db)
        .await?
        .iter()
        .filter(|integration| integration.id == integration_id)
        .flat_map(|integration| integration.subscriptions.iter())
        .find(|subscription| subscription.id == id)
        .cloned())
}
