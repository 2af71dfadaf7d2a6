//! Queries on `events`, `deliveries` and `delivery_attempts`.

use sqlx::{Sqlite, SqlitePool, Transaction};

/// An event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub r#type: String,
    pub source: String,
    pub shkeptncontext: String,
    pub triggeredid: Option<String>,
    pub time: String,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    pub body: String,
}

/// Stores `event` unless its id exists; true when stored.
pub async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    event: &EventRow,
    received_at: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO events (id, type, source, shkeptncontext, triggeredid, time, project, stage, service, body, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.r#type)
    .bind(&event.source)
    .bind(&event.shkeptncontext)
    .bind(&event.triggeredid)
    .bind(&event.time)
    .bind(&event.project)
    .bind(&event.stage)
    .bind(&event.service)
    .bind(&event.body)
    .bind(received_at)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The keptn context of event `id`.
pub async fn context_of(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT shkeptncontext FROM events WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Event `id`.
pub async fn get(db: &SqlitePool, id: &str) -> sqlx::Result<Option<EventRow>> {
    sqlx::query_as(
        "SELECT id, type, source, shkeptncontext, triggeredid, time, project, stage, service, body
         FROM events WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A page of events, newest first: (rowid, body) rows after `before` (a rowid), and the
/// total (both read from one snapshot).
pub async fn page(
    db: &SqlitePool,
    context: Option<&str>,
    event_type: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<(Vec<(i64, String)>, i64)> {
    let mut tx = db.begin().await?;
    let rows = sqlx::query_as(
        "SELECT rowid, body FROM events
         WHERE (?1 IS NULL OR shkeptncontext = ?1) AND (?2 IS NULL OR type = ?2)
           AND (?3 IS NULL OR rowid < ?3)
         ORDER BY rowid DESC LIMIT ?4",
    )
    .bind(context)
    .bind(event_type)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE (?1 IS NULL OR shkeptncontext = ?1) AND (?2 IS NULL OR type = ?2)",
    )
    .bind(context)
    .bind(event_type)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((rows, total))
}

/// Queues a delivery of `event_id` to `subscription_id`, due at once.
pub async fn insert_delivery(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    subscription_id: &str,
    integration_id: &str,
    event_id: &str,
    now: &str,
    now_millis: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (id, subscription_id, integration_id, event_id, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(id)
    .bind(subscription_id)
    .bind(integration_id)
    .bind(event_id)
    .bind(now_millis)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A delivery claimed by this sender: the claim's token fences every later write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    pub subscription_id: String,
    /// Fresh at every claim; renewals and the attempt record must name it.
    pub token: String,
    /// Claims since the last recorded attempt, this one included.
    pub unrecorded: i64,
}

/// Leases up to `limit` due deliveries, earliest first, until `lease_until` (unix ms),
/// skipping the subscriptions in `skip` (destinations already at their concurrency limit);
/// each claim gets a fresh token. Only deliveries whose lease ran out (their holder is gone)
/// or that are not leased are claimed.
pub async fn claim_due(
    db: &SqlitePool,
    now_millis: i64,
    lease_until: i64,
    limit: i64,
    skip: &[String],
) -> sqlx::Result<Vec<Claim>> {
    let skip = serde_json::to_string(skip).unwrap_or_else(|_| "[]".to_string());
    let mut claimed: Vec<(i64, i64, String, String, String, i64)> = super::write(
        sqlx::query_as(
            "UPDATE deliveries SET lease_until = ?2, claim_token = lower(hex(randomblob(16))),
                 unrecorded = unrecorded + 1
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ?1
               AND (lease_until IS NULL OR lease_until < ?1)
               AND subscription_id NOT IN (SELECT value FROM json_each(?4))
             ORDER BY next_attempt_at, rowid LIMIT ?3)
         RETURNING next_attempt_at, rowid, id, subscription_id, claim_token, unrecorded",
        )
        .bind(now_millis)
        .bind(lease_until)
        .bind(limit)
        .bind(skip)
        .fetch_all(db),
    )
    .await?;
    // RETURNING does not keep the subquery's order.
    claimed.sort_by_key(|(due, rowid, ..)| (*due, *rowid));
    Ok(claimed
        .into_iter()
        .map(|(_, _, id, subscription_id, token, unrecorded)| Claim {
            id,
            subscription_id,
            token,
            unrecorded,
        })
        .collect())
}

/// Gives up `claims` (claimed but not started), so they are due again; they do not count
/// as unrecorded.
pub async fn release(db: &SqlitePool, claims: &[Claim]) -> sqlx::Result<()> {
    let tokens: Vec<&str> = claims.iter().map(|c| c.token.as_str()).collect();
    let tokens = serde_json::to_string(&tokens).unwrap_or_else(|_| "[]".to_string());
    super::write(
        sqlx::query(
            "UPDATE deliveries SET lease_until = NULL, claim_token = NULL,
                 unrecorded = MAX(unrecorded - 1, 0)
             WHERE claim_token IN (SELECT value FROM json_each(?))",
        )
        .bind(tokens)
        .execute(db),
    )
    .await?;
    Ok(())
}

/// Extends the lease of `claim` until `lease_until` (unix ms); false when the claim is no
/// longer this sender's (the lease ran out and the delivery was claimed again, or it was
/// settled): the holder must then stop.
pub async fn renew(db: &SqlitePool, claim: &Claim, lease_until: i64) -> sqlx::Result<bool> {
    let result = super::write(
        sqlx::query("UPDATE deliveries SET lease_until = ? WHERE id = ? AND claim_token = ?")
            .bind(lease_until)
            .bind(&claim.id)
            .bind(&claim.token)
            .execute(db),
    )
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Settles `claim` failed with `reason` without recording an attempt (used when attempts
/// cannot be recorded); false when the claim is no longer this sender's.
pub async fn settle_failed(
    db: &SqlitePool,
    claim: &Claim,
    reason: &str,
    now: &str,
) -> sqlx::Result<bool> {
    let result = super::write(
        sqlx::query(
            "UPDATE deliveries SET status = 'failed', reason = ?, next_attempt_at = NULL,
                 lease_until = NULL, claim_token = NULL, updated_at = ?
             WHERE id = ? AND claim_token = ?",
        )
        .bind(reason)
        .bind(now)
        .bind(&claim.id)
        .bind(&claim.token)
        .execute(db),
    )
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Clears every lease (at start-up: leases of a previous process are void).
pub async fn release_leases(db: &SqlitePool) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "UPDATE deliveries SET lease_until = NULL, claim_token = NULL
         WHERE lease_until IS NOT NULL AND status IN ('pending', 'retrying')",
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// A delivery with what its attempt needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub subscription_id: String,
    pub integration_id: String,
    pub event_id: String,
    pub attempt_count: i64,
}

/// Delivery `id`.
pub async fn delivery(db: &SqlitePool, id: &str) -> sqlx::Result<Option<DeliveryRow>> {
    sqlx::query_as(
        "SELECT id, subscription_id, integration_id, event_id, attempt_count FROM deliveries WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// One attempt to record, with the delivery's new state.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub delivery_id: String,
    /// The claim the attempt was made under: recorded only while it is still the current one.
    pub claim_token: String,
    pub number: i64,
    pub started_at: String,
    pub duration_ms: i64,
    /// JSON, secrets masked.
    pub request: String,
    /// JSON, secrets masked.
    pub response: Option<String>,
    pub error: Option<String>,
    /// The delivery's status after this attempt.
    pub status: &'static str,
    pub status_code: Option<i64>,
    pub reason: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub updated_at: String,
}

/// Records attempts and their deliveries' new state, all in one transaction (group
/// commit: one turn of the writer for many attempts). An attempt whose claim is no longer
/// the delivery's current one is not recorded (false in its place): its sender lost the
/// delivery to another claim.
pub async fn record_attempts(db: &SqlitePool, rows: &[AttemptRow]) -> sqlx::Result<Vec<bool>> {
    let mut tx = super::write_tx(db).await?;
    let mut recorded = Vec::with_capacity(rows.len());
    for row in rows {
        let settled = sqlx::query(
            "UPDATE deliveries SET status = ?, attempt_count = ?, last_status_code = ?, reason = ?,
                 duration_ms = ?, next_attempt_at = ?, lease_until = NULL, claim_token = NULL,
                 unrecorded = 0, updated_at = ?
             WHERE id = ? AND claim_token = ?",
        )
        .bind(row.status)
        .bind(row.number)
        .bind(row.status_code)
        .bind(&row.reason)
        .bind(row.duration_ms)
        .bind(row.next_attempt_at)
        .bind(&row.updated_at)
        .bind(&row.delivery_id)
        .bind(&row.claim_token)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            > 0;
        if settled {
            sqlx::query(
                "INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, request, response, error)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&row.delivery_id)
            .bind(row.number)
            .bind(&row.started_at)
            .bind(row.duration_ms)
            .bind(&row.request)
            .bind(&row.response)
            .bind(&row.error)
            .execute(&mut **tx)
            .await?;
        }
        recorded.push(settled);
    }
    tx.commit().await?;
    Ok(recorded)
}

/// Attempt records written by group commit ([`super::group`]); each answer says whether
/// the attempt was recorded (false: its claim was no longer current).
pub struct AttemptRecords(pub SqlitePool);

impl super::group::BatchWrite for AttemptRecords {
    type Item = AttemptRow;
    type Answer = bool;

    async fn write(&self, items: Vec<AttemptRow>) -> Result<Vec<bool>, String> {
        record_attempts(&self.0, &items)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Most attempt records written in one transaction.
pub const ATTEMPT_BATCH: usize = 256;

/// Most attempt records waiting for the writer (senders wait for room beyond that).
pub const ATTEMPT_QUEUE: usize = 1024;

/// A delivery that ended failed, as an error event of its integration.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailureRow {
    pub integration_id: String,
    pub reason: Option<String>,
    pub updated_at: String,
    pub shkeptncontext: String,
    pub event_type: String,
    pub event_id: String,
    pub triggeredid: Option<String>,
}

/// Failed deliveries, newest first, optionally of one integration, and their total (both
/// read from one snapshot).
pub async fn failures(
    db: &SqlitePool,
    integration_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<(Vec<FailureRow>, i64)> {
    let mut tx = db.begin().await?;
    let rows = sqlx::query_as(
        "SELECT d.integration_id, d.reason, d.updated_at, e.shkeptncontext, e.type AS event_type,
                e.id AS event_id, e.triggeredid
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status = 'failed' AND (?1 IS NULL OR d.integration_id = ?1)
         ORDER BY d.updated_at DESC, d.id LIMIT ?2",
    )
    .bind(integration_id)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'failed' AND (?1 IS NULL OR integration_id = ?1)",
    )
    .bind(integration_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((rows, total))
}

/// Distinct event types, projects, stages and services seen, each sorted.
pub async fn seen(db: &SqlitePool) -> sqlx::Result<[Vec<String>; 4]> {
    const QUERIES: [&str; 4] = [
        "SELECT DISTINCT type FROM events ORDER BY 1 LIMIT 200",
        "SELECT DISTINCT project FROM events WHERE project IS NOT NULL ORDER BY 1 LIMIT 200",
        "SELECT DISTINCT stage FROM events WHERE stage IS NOT NULL ORDER BY 1 LIMIT 200",
        "SELECT DISTINCT service FROM events WHERE service IS NOT NULL ORDER BY 1 LIMIT 200",
    ];
    let mut out: [Vec<String>; 4] = Default::default();
    for (slot, query) in out.iter_mut().zip(QUERIES) {
        *slot = sqlx::query_scalar(query).fetch_all(db).await?;
    }
    Ok(out)
}

/// Marks the error events of `integration_id` as read up to `until`.
pub async fn mark_errors_read(
    db: &SqlitePool,
    integration_id: &str,
    until: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO error_event_reads (integration_id, seen_until) VALUES (?, ?)
         ON CONFLICT (integration_id) DO UPDATE SET seen_until = excluded.seen_until",
    )
    .bind(integration_id)
    .bind(until)
    .execute(db)
    .await?;
    Ok(())
}

/// Failed deliveries not viewed yet, over all integrations.
pub async fn unread_errors(db: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries d
         LEFT JOIN error_event_reads r ON r.integration_id = d.integration_id
         WHERE d.status = 'failed' AND (r.seen_until IS NULL OR d.updated_at > r.seen_until)",
    )
    .fetch_one(db)
    .await
}

/// A delivery as listed by the API.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryListRow {
    pub rowid: i64,
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    pub status: String,
    pub attempt_count: i64,
    pub last_status_code: Option<i64>,
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub created_at: String,
}

/// Which deliveries [`list_deliveries`] returns; `None` fields do not filter.
#[derive(Default)]
pub struct DeliveryFilter<'a> {
    pub id: Option<&'a str>,
    pub subscription_id: Option<&'a str>,
    pub status: Option<&'a str>,
    /// Created at or after (RFC 3339 in the stored format).
    pub from: Option<&'a str>,
    /// Created before (RFC 3339 in the stored format).
    pub to: Option<&'a str>,
    /// Only rows older than this rowid (the page key).
    pub before: Option<i64>,
}

/// Deliveries newest first, filtered, at most `limit`.
pub async fn list_deliveries(
    db: &SqlitePool,
    filter: &DeliveryFilter<'_>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryListRow>> {
    sqlx::query_as(
        "SELECT d.rowid AS rowid, d.id, d.subscription_id, d.event_id, e.type AS event_type,
                e.project, e.stage, e.service, d.status, d.attempt_count, d.last_status_code,
                d.reason, d.duration_ms, d.next_attempt_at, d.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE (?1 IS NULL OR d.id = ?1) AND (?2 IS NULL OR d.subscription_id = ?2)
           AND (?3 IS NULL OR d.status = ?3) AND (?4 IS NULL OR d.rowid < ?4)
           AND (?5 IS NULL OR d.created_at >= ?5) AND (?6 IS NULL OR d.created_at < ?6)
         ORDER BY d.rowid DESC LIMIT ?7",
    )
    .bind(filter.id)
    .bind(filter.subscription_id)
    .bind(filter.status)
    .bind(filter.before)
    .bind(filter.from)
    .bind(filter.to)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// How many deliveries of `subscription_id` have status `status`.
pub async fn count_deliveries(
    db: &SqlitePool,
    subscription_id: &str,
    status: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE subscription_id = ? AND status = ?")
        .bind(subscription_id)
        .bind(status)
        .fetch_one(db)
        .await
}

/// Makes every failed delivery of `subscription_id` due now (same ids, new attempts);
/// returns how many.
pub async fn redeliver_failed(
    db: &SqlitePool,
    subscription_id: &str,
    now_millis: i64,
    now: &str,
) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL,
             claim_token = NULL, unrecorded = 0, updated_at = ?
         WHERE subscription_id = ? AND status = 'failed'",
    )
    .bind(now_millis)
    .bind(now)
    .bind(subscription_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// The attempts of delivery `id`, oldest first:
/// (number, started_at, duration_ms, request JSON, response JSON, error).
pub async fn attempts(
    db: &SqlitePool,
    id: &str,
) -> sqlx::Result<Vec<(i64, String, i64, String, Option<String>, Option<String>)>> {
    sqlx::query_as(
        "SELECT number, started_at, duration_ms, request, response, error
         FROM delivery_attempts WHERE delivery_id = ? ORDER BY number",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// What [`redeliver`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivered {
    /// Due now (same id, a new attempt).
    Due,
    /// A sender holds it right now (its lease is current): nothing changed.
    InFlight,
    /// No such delivery.
    Unknown,
}

/// Makes delivery `id` due now again (same id, a new attempt), unless a sender holds it
/// right now (its lease has not run out): that one is left alone, never sent in parallel.
pub async fn redeliver(
    db: &SqlitePool,
    id: &str,
    now_millis: i64,
    now: &str,
) -> sqlx::Result<Redelivered> {
    let result = super::write(
        sqlx::query(
            "UPDATE deliveries SET status = CASE WHEN status = 'retrying' THEN 'retrying' ELSE 'pending' END,
                 next_attempt_at = ?1, lease_until = NULL, claim_token = NULL, unrecorded = 0,
                 updated_at = ?2
             WHERE id = ?3 AND (lease_until IS NULL OR lease_until < ?1)",
        )
        .bind(now_millis)
        .bind(now)
        .bind(id)
        .execute(db),
    )
    .await?;
    if result.rows_affected() > 0 {
        return Ok(Redelivered::Due);
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM deliveries WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(match exists {
        Some(_) => Redelivered::InFlight,
        None => Redelivered::Unknown,
    })
}

/// Deletes up to `batch` finished deliveries (with their attempts) last changed before
/// `cutoff` (RFC 3339), then up to `batch` events older than `cutoff` that no delivery refers
/// to; returns (deliveries, events) deleted. Small batches keep each write lock short.
pub async fn prune(db: &SqlitePool, cutoff: &str, batch: i64) -> sqlx::Result<(u64, u64)> {
    let mut tx = super::write_tx(db).await?;
    sqlx::query(
        "DELETE FROM delivery_attempts WHERE delivery_id IN (
             SELECT id FROM deliveries WHERE status IN ('delivered', 'failed') AND updated_at < ?1
             LIMIT ?2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(&mut **tx)
    .await?;
    let deliveries = sqlx::query(
        "DELETE FROM deliveries WHERE rowid IN (
             SELECT rowid FROM deliveries WHERE status IN ('delivered', 'failed') AND updated_at < ?1
             LIMIT ?2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let events = sqlx::query(
        "DELETE FROM events WHERE rowid IN (
             SELECT e.rowid FROM events e WHERE e.received_at < ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
             LIMIT ?2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok((deliveries, events))
}
