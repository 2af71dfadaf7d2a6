//! Queries on `events`, `deliveries` and `delivery_attempts`.

use app::model::EventType;

use super::{Store, Tx};

/// An event as stored (serialized: the batch insert's row, same names as the columns).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct EventRow {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub r#type: EventType,
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
pub async fn insert(tx: &mut Tx, event: &EventRow, received_at: &str) -> sqlx::Result<bool> {
    let result = on!(&mut *tx, |c| {
        sqlx::query(
        "INSERT INTO events (id, type, source, shkeptncontext, triggeredid, time, project, stage, service, body, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(event.r#type.as_str())
    .bind(&event.source)
    .bind(&event.shkeptncontext)
    .bind(&event.triggeredid)
    .bind(&event.time)
    .bind(&event.project)
    .bind(&event.stage)
    .bind(&event.service)
    .bind(&event.body)
    .bind(received_at)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(result > 0)
}

/// SQLite: inserts the events of JSON array `$1` (received at `$2`) unless their id
/// exists, in order, returning the ids stored. The batch statements read their array with
/// `jsonb_each`: each element comes as binary JSON, so `->>` takes a field from it
/// directly (`json_each` gives the element as text, which every `->>` parsed again:
/// ten fields, ten parses of an event's body, ~10 % of the server's CPU under load).
macro_rules! sqlite_insert_events {
    () => {
        "INSERT INTO events (id, type, source, shkeptncontext, triggeredid, time, project, stage,
             service, body, received_at)
         SELECT value ->> 'id', value ->> 'type', value ->> 'source',
                value ->> 'shkeptncontext', value ->> 'triggeredid', value ->> 'time',
                value ->> 'project', value ->> 'stage', value ->> 'service', value ->> 'body', $2
         FROM jsonb_each($1) WHERE true ORDER BY key
         ON CONFLICT (id) DO NOTHING RETURNING id"
    };
}

/// Events as the JSON array the batch inserts read (serialized straight from the rows).
fn events_json(events: &[&EventRow]) -> String {
    serde_json::to_string(events).unwrap_or_else(|_| "[]".to_string())
}

/// Stores `events` (ids distinct) unless their id exists, in one statement (the rows
/// travel as one JSON array, kept in order so rowids follow it); returns the ids stored.
pub async fn insert_many(
    tx: &mut Tx,
    events: &[&EventRow],
    received_at: &str,
) -> sqlx::Result<Vec<String>> {
    let batch = events_json(events);
    on!(
        &mut *tx,
        sqlite | c | {
            sqlx::query_scalar(sqlite_insert_events!())
                .bind(&batch)
                .bind(received_at)
                .fetch_all(c)
                .await
        },
        postgres
            | c
            | {
                sqlx::query_scalar(
            "INSERT INTO events (id, type, source, shkeptncontext, triggeredid, time, project, stage,
                 service, body, received_at)
             SELECT r.id, r.type, r.source, r.shkeptncontext, r.triggeredid, r.time, r.project,
                    r.stage, r.service, r.body, $2
             FROM json_array_elements($1::json) WITH ORDINALITY AS a(value, n),
                  json_to_record(a.value) AS r(id TEXT, type TEXT, source TEXT,
                      shkeptncontext TEXT, triggeredid TEXT, time TEXT, project TEXT, stage TEXT,
                      service TEXT, body TEXT)
             ORDER BY a.n
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(&batch)
        .bind(received_at)
        .fetch_all(c)
        .await
            }
    )
}

/// A delivery to queue: (id, subscription, integration, event).
pub type NewDelivery = (String, String, String, String);

/// SQLite: queues the deliveries of JSON array `$1` (id, subscription, integration,
/// event), due at `$2` (unix ms), created at `$3`, in order.
macro_rules! sqlite_insert_deliveries {
    () => {
        "INSERT INTO deliveries (id, subscription_id, integration_id, event_id, status,
             next_attempt_at, created_at, updated_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'pending', $2, $3, $3
         FROM jsonb_each($1) ORDER BY key"
    };
}

/// Stores `events` (ids distinct) and the `deliveries` of those stored (an event whose id
/// exists already is not stored, nor are its deliveries) in one transaction on SQLite's
/// writer connection, sent as two calls: `BEGIN` with the events, then the deliveries with
/// `COMMIT`. Returns the ids stored.
pub async fn insert_with_deliveries(
    script: &mut super::Script,
    events: &[&EventRow],
    deliveries: &mut Vec<NewDelivery>,
    received_at: &str,
    now_millis: i64,
) -> sqlx::Result<Vec<String>> {
    let stored: Vec<String> =
        sqlx::query_scalar(concat!("BEGIN IMMEDIATE; ", sqlite_insert_events!()))
            .bind(events_json(events))
            .bind(received_at)
            .fetch_all(script.begin())
            .await?;
    if stored.len() < events.len() {
        let new: std::collections::HashSet<&str> = stored.iter().map(String::as_str).collect();
        deliveries.retain(|delivery| new.contains(delivery.3.as_str()));
    }
    if deliveries.is_empty() {
        sqlx::query("COMMIT").execute(script.conn()).await?;
    } else {
        sqlx::query(concat!(sqlite_insert_deliveries!(), "; COMMIT"))
            .bind(serde_json::to_string(deliveries).unwrap_or_else(|_| "[]".to_string()))
            .bind(now_millis)
            .bind(received_at)
            .execute(script.conn())
            .await?;
    }
    script.committed();
    Ok(stored)
}

/// Queues `deliveries`, due at once, in one statement, in order.
pub async fn insert_deliveries(
    tx: &mut Tx,
    deliveries: &[NewDelivery],
    now: &str,
    now_millis: i64,
) -> sqlx::Result<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let batch = serde_json::to_string(deliveries).unwrap_or_else(|_| "[]".to_string());
    on!(
        &mut *tx,
        sqlite | c | {
            sqlx::query(sqlite_insert_deliveries!())
                .bind(&batch)
                .bind(now_millis)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        },
        postgres
            | c
            | {
                sqlx::query(
            "INSERT INTO deliveries (id, subscription_id, integration_id, event_id, status,
                 next_attempt_at, created_at, updated_at)
             SELECT a.value ->> 0, a.value ->> 1, a.value ->> 2, a.value ->> 3, 'pending', $2, $3, $3
             FROM json_array_elements($1::json) WITH ORDINALITY AS a(value, n)
             ORDER BY a.n",
        )
        .bind(&batch)
        .bind(now_millis)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
            }
    )?;
    Ok(())
}

/// The keptn context of event `id`.
pub async fn context_of(db: &Store, id: &str) -> sqlx::Result<Option<String>> {
    on!(db, |c| sqlx::query_scalar(
        "SELECT shkeptncontext FROM events WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Event `id`.
pub async fn get(db: &Store, id: &str) -> sqlx::Result<Option<EventRow>> {
    on!(db, |c| sqlx::query_as(
        "SELECT id, type, source, shkeptncontext, triggeredid, time, project, stage, service, body
         FROM events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// A page of events, newest first: (rowid, body) rows after `before` (a rowid), and the
/// total (both read from one snapshot).
pub async fn page(
    db: &Store,
    context: Option<&str>,
    event_type: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<(Vec<(i64, String)>, i64)> {
    let mut tx = db.begin().await?;
    let rows = on!(&mut tx, |c| sqlx::query_as(
        "SELECT rowid, body FROM events
         WHERE ($1 IS NULL OR shkeptncontext = $1) AND ($2 IS NULL OR type = $2)
           AND ($3 IS NULL OR rowid < $3)
         ORDER BY rowid DESC LIMIT $4",
    )
    .bind(context)
    .bind(event_type)
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await)?;
    let total = on!(&mut tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE ($1 IS NULL OR shkeptncontext = $1) AND ($2 IS NULL OR type = $2)",
    )
    .bind(context)
    .bind(event_type)
    .fetch_one(c)
    .await
    })?;
    tx.commit().await?;
    Ok((rows, total))
}

/// Queues a delivery of `event_id` to `subscription_id`, due at once.
pub async fn insert_delivery(
    tx: &mut Tx,
    id: &str,
    subscription_id: &str,
    integration_id: &str,
    event_id: &str,
    now: &str,
    now_millis: i64,
) -> sqlx::Result<()> {
    on!(&mut *tx, |c| {
        sqlx::query(
        "INSERT INTO deliveries (id, subscription_id, integration_id, event_id, status, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)",
    )
    .bind(id)
    .bind(subscription_id)
    .bind(integration_id)
    .bind(event_id)
    .bind(now_millis)
    .bind(now)
    .bind(now)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A delivery claimed by this sender, with everything its attempt reads (the claim reads
/// it in the same statement): the claim's token fences every later write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    pub subscription_id: String,
    pub integration_id: String,
    pub event_id: String,
    /// Attempts recorded before this claim.
    pub attempt_count: i64,
    /// Fresh at every claim; renewals and the attempt record must name it.
    pub token: String,
    /// Claims since the last recorded attempt, this one included.
    pub unrecorded: i64,
    /// The event's type and body (JSON text); `None` when the event is gone.
    pub event: Option<(String, String)>,
}

/// How many more deliveries each destination (subscription) may be given by one claim:
/// `busy` names those with deliveries in flight, every other one may get `default`. A claim
/// never takes more of a destination than its room, so nothing claimed has to be given back.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    pub busy: std::collections::HashMap<String, i64>,
    pub default: i64,
}

/// A claimed row as the claim returns it: the order keys, then the [`Claim`]'s fields.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    next_attempt_at: i64,
    rowid: i64,
    id: String,
    subscription_id: String,
    integration_id: String,
    event_id: String,
    attempt_count: i64,
    claim_token: String,
    unrecorded: i64,
    event_type: Option<String>,
    body: Option<String>,
}

/// Leases up to `limit` due deliveries, earliest first, until `lease_until` (unix ms),
/// skipping the subscriptions in `skip` (destinations already at their concurrency limit)
/// and taking at most a destination's room ([`Rooms`]) of the first `limit` due;
/// each claim gets a fresh token. Only deliveries whose lease ran out (their holder is gone)
/// or that are not leased are claimed, each kind from its own index (so deliveries in
/// flight are never stepped over). The claimed rows come back with their event, so an
/// attempt reads nothing more (one statement for the whole batch).
pub async fn claim_due(
    db: &Store,
    now_millis: i64,
    lease_until: i64,
    limit: i64,
    skip: &[String],
    rooms: &Rooms,
) -> sqlx::Result<Vec<Claim>> {
    let room_map = serde_json::to_string(&rooms.busy).unwrap_or_else(|_| "{}".to_string());
    let default_room = rooms.default;
    let mut claimed: Vec<ClaimedRow> = {
        let mut turn = db.write_turn().await?;
        on!(
            &mut turn,
            sqlite
                | c
                | {
                    let skip = serde_json::to_string(skip).unwrap_or_else(|_| "[]".to_string());
                    // `LIMIT $3 + 0`, not `LIMIT $3`: SQLite reads a bare bound LIMIT as a
                    // constant of the plan, so every new limit (the free permits) would
                    // re-prepare the statement (5 % of the server's CPU under load).
                    sqlx::query_as(
                    "UPDATE deliveries SET lease_until = $2, claim_token = lower(hex(randomblob(16))),
                         unrecorded = unrecorded + 1
                     WHERE id IN (
                         SELECT id FROM (
                         SELECT id, due, r, ROW_NUMBER() OVER (
                                 PARTITION BY subscription_id ORDER BY due, r) AS n,
                             COALESCE((SELECT value FROM json_each($5) WHERE key = subscription_id),
                                 $6) AS room
                         FROM (
                             SELECT * FROM (
                                 SELECT id, subscription_id, next_attempt_at AS due, rowid AS r
                                 FROM deliveries INDEXED BY deliveries_due_order
                                 WHERE status IN ('pending', 'retrying') AND lease_until IS NULL
                                   AND next_attempt_at <= $1
                                   AND subscription_id NOT IN (SELECT value FROM json_each($4))
                                 ORDER BY next_attempt_at, rowid LIMIT $3 + 0)
                             UNION ALL
                             SELECT * FROM (
                                 SELECT id, subscription_id, next_attempt_at, rowid
                                 FROM deliveries INDEXED BY deliveries_leased
                                 WHERE status IN ('pending', 'retrying')
                                   AND lease_until IS NOT NULL AND lease_until < $1
                                   AND next_attempt_at <= $1
                                   AND subscription_id NOT IN (SELECT value FROM json_each($4))
                                 ORDER BY lease_until LIMIT $3 + 0)))
                         WHERE n <= room ORDER BY due, r LIMIT $3 + 0)
                     RETURNING next_attempt_at, rowid, id, subscription_id, integration_id, event_id,
                         attempt_count, claim_token, unrecorded,
                         (SELECT type FROM events e WHERE e.id = deliveries.event_id) AS event_type,
                         (SELECT body FROM events e WHERE e.id = deliveries.event_id) AS body",
                )
                .bind(now_millis)
                .bind(lease_until)
                .bind(limit)
                .bind(skip)
                .bind(&room_map)
                .bind(default_room)
                .fetch_all(c)
                .await
                },
            postgres
                | c
                | {
                    // Replicas claim at the same time: rows another replica is claiming are
                    // skipped, not waited for.
                    sqlx::query_as(
                    "WITH fresh AS (
                         SELECT id, subscription_id, next_attempt_at, rowid FROM deliveries
                         WHERE status IN ('pending', 'retrying') AND lease_until IS NULL
                           AND next_attempt_at <= $1 AND subscription_id <> ALL($4)
                         ORDER BY next_attempt_at, rowid LIMIT $3
                         FOR UPDATE SKIP LOCKED),
                     stale AS (
                         SELECT id, subscription_id, next_attempt_at, rowid FROM deliveries
                         WHERE status IN ('pending', 'retrying')
                           AND lease_until IS NOT NULL AND lease_until < $1
                           AND next_attempt_at <= $1 AND subscription_id <> ALL($4)
                         ORDER BY lease_until LIMIT $3
                         FOR UPDATE SKIP LOCKED),
                     ranked AS (
                         SELECT id, next_attempt_at, rowid,
                             ROW_NUMBER() OVER (PARTITION BY subscription_id
                                 ORDER BY next_attempt_at, rowid) AS n,
                             COALESCE(($5::json ->> subscription_id)::BIGINT, $6) AS room
                         FROM (SELECT * FROM fresh UNION ALL SELECT * FROM stale) u),
                     due AS (
                         SELECT id FROM ranked WHERE n <= room
                         ORDER BY next_attempt_at, rowid LIMIT $3)
                     UPDATE deliveries d SET lease_until = $2,
                         claim_token = replace(gen_random_uuid()::text, '-', ''),
                         unrecorded = d.unrecorded + 1
                     FROM due
                     WHERE d.id = due.id
                     RETURNING d.next_attempt_at, d.rowid, d.id, d.subscription_id, d.integration_id,
                         d.event_id, d.attempt_count::BIGINT AS attempt_count, d.claim_token,
                         d.unrecorded::BIGINT AS unrecorded,
                         (SELECT type FROM events e WHERE e.id = d.event_id) AS event_type,
                         (SELECT body FROM events e WHERE e.id = d.event_id) AS body",
                )
                .bind(now_millis)
                .bind(lease_until)
                .bind(limit)
                .bind(skip)
                .bind(&room_map)
                .bind(default_room)
                .fetch_all(c)
                .await
                }
        )
    }?;
    // RETURNING does not keep the subquery's order.
    claimed.sort_by_key(|row| (row.next_attempt_at, row.rowid));
    Ok(claimed
        .into_iter()
        .map(|row| Claim {
            id: row.id,
            subscription_id: row.subscription_id,
            integration_id: row.integration_id,
            event_id: row.event_id,
            attempt_count: row.attempt_count,
            token: row.claim_token,
            unrecorded: row.unrecorded,
            event: row.event_type.zip(row.body),
        })
        .collect())
}

/// Gives up `claims` (claimed but not started), so they are due again; they do not count
/// as unrecorded.
pub async fn release(db: &Store, claims: &[Claim]) -> sqlx::Result<()> {
    let tokens: Vec<String> = claims.iter().map(|c| c.token.clone()).collect();
    {
        let mut turn = db.write_turn().await?;
        on!(
            &mut turn,
            sqlite | c | {
                let tokens = serde_json::to_string(&tokens).unwrap_or_else(|_| "[]".to_string());
                sqlx::query(
                    "UPDATE deliveries SET lease_until = NULL, claim_token = NULL,
                     unrecorded = CASE WHEN unrecorded > 0 THEN unrecorded - 1 ELSE 0 END
                 WHERE claim_token IN (SELECT value FROM json_each($1))",
                )
                .bind(tokens)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            },
            postgres | c | {
                sqlx::query(
                    "UPDATE deliveries SET lease_until = NULL, claim_token = NULL,
                     unrecorded = CASE WHEN unrecorded > 0 THEN unrecorded - 1 ELSE 0 END
                 WHERE claim_token = ANY($1)",
                )
                .bind(&tokens)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            }
        )
    }?;
    Ok(())
}

/// Extends the lease of `claim` until `lease_until` (unix ms); false when the claim is no
/// longer this sender's (the lease ran out and the delivery was claimed again, or it was
/// settled): the holder must then stop.
pub async fn renew(db: &Store, claim: &Claim, lease_until: i64) -> sqlx::Result<bool> {
    let result = {
        let mut turn = db.write_turn().await?;
        on!(&mut turn, |c| sqlx::query(
            "UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND claim_token = $3"
        )
        .bind(lease_until)
        .bind(&claim.id)
        .bind(&claim.token)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    }?;
    Ok(result > 0)
}

/// Settles `claim` failed with `reason` without recording an attempt (used when attempts
/// cannot be recorded); false when the claim is no longer this sender's.
pub async fn settle_failed(
    db: &Store,
    claim: &Claim,
    reason: &str,
    now: &str,
) -> sqlx::Result<bool> {
    let result = {
        let mut turn = db.write_turn().await?;
        on!(&mut turn, |c| sqlx::query(
            "UPDATE deliveries SET status = 'failed', reason = $1, next_attempt_at = NULL,
                     lease_until = NULL, claim_token = NULL, updated_at = $2
                 WHERE id = $3 AND claim_token = $4",
        )
        .bind(reason)
        .bind(now)
        .bind(&claim.id)
        .bind(&claim.token)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    }?;
    Ok(result > 0)
}

/// Clears every lease (at start-up: leases of a previous process are void).
pub async fn release_leases(db: &Store) -> sqlx::Result<u64> {
    let result = on!(db, |c| sqlx::query(
        "UPDATE deliveries SET lease_until = NULL, claim_token = NULL
         WHERE lease_until IS NOT NULL AND status IN ('pending', 'retrying')",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(result)
}

/// How many deliveries wait (pending or retrying) and when the oldest of them was created.
pub async fn queue(db: &Store) -> sqlx::Result<(i64, Option<String>)> {
    on!(db, |c| sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM deliveries
         WHERE status IN ('pending', 'retrying')",
    )
    .fetch_one(c)
    .await)
}

/// One attempt to record, with the delivery's new state.
#[derive(Debug, Clone, serde::Serialize)]
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

/// SQLite: settles the deliveries of the attempt records in JSON array `$1` whose claim
/// token is current, returning their ids.
macro_rules! sqlite_settle_attempts {
    () => {
        "UPDATE deliveries SET status = r.status, attempt_count = r.number,
                 last_status_code = r.status_code, reason = r.reason, duration_ms = r.duration_ms,
                 next_attempt_at = r.next_attempt_at, lease_until = NULL, claim_token = NULL,
                 unrecorded = 0, updated_at = r.updated_at
             FROM (SELECT value ->> 'delivery_id' AS delivery_id,
                          value ->> 'claim_token' AS claim_token, value ->> 'status' AS status,
                          value ->> 'number' AS number, value ->> 'status_code' AS status_code,
                          value ->> 'reason' AS reason, value ->> 'duration_ms' AS duration_ms,
                          value ->> 'next_attempt_at' AS next_attempt_at,
                          value ->> 'updated_at' AS updated_at
                   FROM jsonb_each($1)) AS r
             WHERE deliveries.id = r.delivery_id AND deliveries.claim_token = r.claim_token
             RETURNING deliveries.id"
    };
}

/// Records attempts and their deliveries' new state, all in one transaction (group
/// commit: one turn of the writer for many attempts). An attempt whose claim is no longer
/// the delivery's current one is not recorded (false in its place): its sender lost the
/// delivery to another claim. The whole batch is two statements (the rows travel as one
/// JSON array), unless a delivery appears twice in it: then row by row, in order.
pub async fn record_attempts(db: &Store, rows: &[AttemptRow]) -> sqlx::Result<Vec<bool>> {
    let mut ids = std::collections::HashSet::with_capacity(rows.len());
    if !rows.iter().all(|row| ids.insert(row.delivery_id.as_str())) {
        return record_attempts_one_by_one(db, rows).await;
    }
    // Serialized straight from the rows (their fields are the names the SQL reads).
    let batch = serde_json::to_string(rows).unwrap_or_else(|_| "[]".to_string());
    if let Some(mut script) = db.script().await? {
        // SQLite: the whole transaction in one call. The attempts go in first, each only
        // while its claim is current; the deliveries' update then checks the same tokens
        // (still as they were: the insert changes no delivery) and says which it settled.
        let settled: Vec<String> = sqlx::query_scalar(concat!(
            "BEGIN IMMEDIATE;
             INSERT INTO delivery_attempts
                 (delivery_id, number, started_at, duration_ms, request, response, error)
             SELECT r.value ->> 'delivery_id', r.value ->> 'number', r.value ->> 'started_at',
                    r.value ->> 'duration_ms', r.value ->> 'request', r.value ->> 'response',
                    r.value ->> 'error'
             FROM jsonb_each($1) r
             WHERE r.value ->> 'claim_token' =
                 (SELECT claim_token FROM deliveries WHERE id = r.value ->> 'delivery_id')
             ORDER BY r.key; ",
            sqlite_settle_attempts!(),
            "; COMMIT"
        ))
        .bind(&batch)
        .fetch_all(script.begin())
        .await?;
        script.committed();
        let settled: std::collections::HashSet<String> = settled.into_iter().collect();
        return Ok(rows
            .iter()
            .map(|row| settled.contains(&row.delivery_id))
            .collect());
    }
    let mut tx = db.write_tx().await?;
    // PostgreSQL: every plan of the update below is made under these settings (it runs
    // only here), so it looks each row up by its key. Planned while `deliveries` was small
    // (a new database), PostgreSQL caches a hash join over a sequential scan, which every
    // later batch then repeats over the whole, growing table until the next ANALYZE (9 ms
    // per batch after 20,000 deliveries in the benchmark, the statement PostgreSQL spent most
    // time in).
    on!(
        &mut *tx,
        sqlite | _c | Ok::<(), sqlx::Error>(()),
        postgres | c | {
            sqlx::raw_sql("SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off")
                .execute(c)
                .await
                .map(|_| ())
        }
    )?;
    let settled: Vec<String> = on!(
        &mut *tx,
        sqlite | c | {
            sqlx::query_scalar(sqlite_settle_attempts!())
                .bind(&batch)
                .fetch_all(c)
                .await
        },
        postgres | c | {
            sqlx::query_scalar(
                "UPDATE deliveries d SET status = r.status, attempt_count = r.number,
                 last_status_code = r.status_code, reason = r.reason, duration_ms = r.duration_ms,
                 next_attempt_at = r.next_attempt_at, lease_until = NULL, claim_token = NULL,
                 unrecorded = 0, updated_at = r.updated_at
             FROM json_to_recordset($1::json) AS r(delivery_id TEXT, claim_token TEXT,
                 status TEXT, number BIGINT, status_code BIGINT, reason TEXT, duration_ms BIGINT,
                 next_attempt_at BIGINT, updated_at TEXT)
             WHERE d.id = r.delivery_id AND d.claim_token = r.claim_token
             RETURNING d.id",
            )
            .bind(&batch)
            .fetch_all(c)
            .await
        }
    )?;
    if !settled.is_empty() {
        let settled_json = serde_json::to_string(&settled).unwrap_or_else(|_| "[]".to_string());
        on!(
            &mut *tx,
            sqlite | c | {
                sqlx::query(
                    "INSERT INTO delivery_attempts
                     (delivery_id, number, started_at, duration_ms, request, response, error)
                 SELECT value ->> 'delivery_id', value ->> 'number', value ->> 'started_at',
                        value ->> 'duration_ms', value ->> 'request', value ->> 'response',
                        value ->> 'error'
                 FROM jsonb_each($1)
                 WHERE value ->> 'delivery_id' IN (SELECT value FROM json_each($2))
                 ORDER BY key",
                )
                .bind(&batch)
                .bind(&settled_json)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            },
            postgres | c | {
                sqlx::query(
                    "INSERT INTO delivery_attempts
                     (delivery_id, number, started_at, duration_ms, request, response, error)
                 SELECT r.delivery_id, r.number, r.started_at, r.duration_ms, r.request,
                        r.response, r.error
                 FROM json_to_recordset($1::json) AS r(delivery_id TEXT, number BIGINT,
                     started_at TEXT, duration_ms BIGINT, request TEXT, response TEXT, error TEXT)
                 WHERE r.delivery_id = ANY($2)",
                )
                .bind(&batch)
                .bind(&settled)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            }
        )?;
    }
    tx.commit().await?;
    let settled: std::collections::HashSet<String> = settled.into_iter().collect();
    Ok(rows
        .iter()
        .map(|row| settled.contains(&row.delivery_id))
        .collect())
}

/// [`record_attempts`] one row at a time (a batch naming one delivery twice: only the
/// attempt under the current claim is recorded).
async fn record_attempts_one_by_one(db: &Store, rows: &[AttemptRow]) -> sqlx::Result<Vec<bool>> {
    let mut tx = db.write_tx().await?;
    let mut recorded = Vec::with_capacity(rows.len());
    for row in rows {
        let settled = on!(&mut *tx, |c| {
            sqlx::query(
            "UPDATE deliveries SET status = $1, attempt_count = $2, last_status_code = $3, reason = $4,
                 duration_ms = $5, next_attempt_at = $6, lease_until = NULL, claim_token = NULL,
                 unrecorded = 0, updated_at = $7
             WHERE id = $8 AND claim_token = $9",
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
        .execute(c)
        .await.map(|r| r.rows_affected())
        })? > 0;
        if settled {
            on!(&mut *tx, |c| {
                sqlx::query(
                "INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, request, response, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&row.delivery_id)
            .bind(row.number)
            .bind(&row.started_at)
            .bind(row.duration_ms)
            .bind(&row.request)
            .bind(&row.response)
            .bind(&row.error)
            .execute(c)
            .await.map(|r| r.rows_affected())
            })?;
        }
        recorded.push(settled);
    }
    tx.commit().await?;
    Ok(recorded)
}

/// Attempt records written by group commit ([`super::group`]); each answer says whether
/// the attempt was recorded (false: its claim was no longer current).
pub struct AttemptRecords(pub Store);

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
    pub delivery_id: String,
    pub subscription_id: String,
    pub integration_id: String,
    pub reason: Option<String>,
    pub updated_at: String,
    pub shkeptncontext: String,
    #[sqlx(try_from = "String")]
    pub event_type: EventType,
    pub event_id: String,
    pub triggeredid: Option<String>,
}

/// Failed deliveries, newest first, optionally of one integration, and their total (both
/// read from one snapshot).
pub async fn failures(
    db: &Store,
    integration_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<(Vec<FailureRow>, i64)> {
    let mut tx = db.begin().await?;
    let rows = on!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT d.id AS delivery_id, d.subscription_id, d.integration_id, d.reason, d.updated_at, e.shkeptncontext, e.type AS event_type,
                e.id AS event_id, e.triggeredid
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status = 'failed' AND ($1 IS NULL OR d.integration_id = $1)
         ORDER BY d.updated_at DESC, d.id LIMIT $2",
    )
    .bind(integration_id)
    .bind(limit)
    .fetch_all(c)
    .await
    })?;
    let total = on!(&mut tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'failed' AND ($1 IS NULL OR integration_id = $1)",
    )
    .bind(integration_id)
    .fetch_one(c)
    .await
    })?;
    tx.commit().await?;
    Ok((rows, total))
}

/// Distinct event types, projects, stages and services seen, each sorted.
pub async fn seen(db: &Store) -> sqlx::Result<[Vec<String>; 4]> {
    const QUERIES: [&str; 4] = [
        "SELECT DISTINCT type FROM events ORDER BY 1 LIMIT 200",
        "SELECT DISTINCT project FROM events WHERE project IS NOT NULL ORDER BY 1 LIMIT 200",
        "SELECT DISTINCT stage FROM events WHERE stage IS NOT NULL ORDER BY 1 LIMIT 200",
        "SELECT DISTINCT service FROM events WHERE service IS NOT NULL ORDER BY 1 LIMIT 200",
    ];
    let mut out: [Vec<String>; 4] = Default::default();
    for (slot, query) in out.iter_mut().zip(QUERIES) {
        *slot = on!(db, |c| sqlx::query_scalar(query).fetch_all(c).await)?;
    }
    Ok(out)
}

/// Marks the error events of `integration_id` as read up to `until`.
pub async fn mark_errors_read(db: &Store, integration_id: &str, until: &str) -> sqlx::Result<()> {
    on!(db, |c| sqlx::query(
        "INSERT INTO error_event_reads (integration_id, seen_until) VALUES ($1, $2)
         ON CONFLICT (integration_id) DO UPDATE SET seen_until = excluded.seen_until",
    )
    .bind(integration_id)
    .bind(until)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Failed deliveries not viewed yet, over all integrations.
pub async fn unread_errors(db: &Store) -> sqlx::Result<i64> {
    on!(db, |c| sqlx::query_scalar(UNREAD_ERRORS).fetch_one(c).await)
}

/// Counts the failed deliveries nobody has looked at yet.
pub const UNREAD_ERRORS: &str = "SELECT COUNT(*) FROM deliveries d
     LEFT JOIN error_event_reads r ON r.integration_id = d.integration_id
     WHERE d.status = 'failed' AND (r.seen_until IS NULL OR d.updated_at > r.seen_until)";

/// A delivery as listed by the API.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryListRow {
    pub rowid: i64,
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    #[sqlx(try_from = "String")]
    pub event_type: EventType,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: app::model::DeliveryStatus,
    pub attempt_count: i64,
    pub last_status_code: Option<i64>,
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub created_at: String,
}

/// The columns of [`DeliveryListRow`], from `deliveries d` joined with their events `e`.
macro_rules! delivery_list_select {
    () => {
        "SELECT d.rowid AS rowid, d.id, d.subscription_id, d.event_id, e.type AS event_type,
                e.project, e.stage, e.service, d.status, d.attempt_count, d.last_status_code,
                d.reason, d.duration_ms, d.next_attempt_at, d.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id"
    };
}

/// The deliveries event `event_id` caused, newest first (at most `limit`).
pub async fn deliveries_of_event(
    db: &Store,
    event_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryListRow>> {
    on!(db, |c| sqlx::query_as(concat!(
        delivery_list_select!(),
        " WHERE d.event_id = $1 ORDER BY d.rowid DESC LIMIT $2"
    ))
    .bind(event_id)
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// The delivery `id`, if there is one (by the primary key, not a scan of the log).
pub async fn delivery(db: &Store, id: &str) -> sqlx::Result<Option<DeliveryListRow>> {
    on!(db, |c| sqlx::query_as(concat!(
        delivery_list_select!(),
        " WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Which deliveries [`list_deliveries`] returns; `None` fields do not filter.
#[derive(Default)]
pub struct DeliveryFilter<'a> {
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
    db: &Store,
    filter: &DeliveryFilter<'_>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryListRow>> {
    on!(db, |c| sqlx::query_as(concat!(
        delivery_list_select!(),
        " WHERE ($1 IS NULL OR d.subscription_id = $1)
           AND ($2 IS NULL OR d.status = $2) AND ($3 IS NULL OR d.rowid < $3)
           AND ($4 IS NULL OR d.created_at >= $4) AND ($5 IS NULL OR d.created_at < $5)
         ORDER BY d.rowid DESC LIMIT $6",
    ))
    .bind(filter.subscription_id)
    .bind(filter.status)
    .bind(filter.before)
    .bind(filter.from)
    .bind(filter.to)
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// How many deliveries of `subscription_id` have status `status`.
pub async fn count_deliveries(
    db: &Store,
    subscription_id: &str,
    status: &str,
) -> sqlx::Result<i64> {
    on!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE subscription_id = $1 AND status = $2"
    )
    .bind(subscription_id)
    .bind(status)
    .fetch_one(c)
    .await)
}

/// Makes every failed delivery of `subscription_id` due now (same ids, new attempts);
/// returns how many.
pub async fn redeliver_failed(
    db: &Store,
    subscription_id: &str,
    now_millis: i64,
    now: &str,
) -> sqlx::Result<u64> {
    let result = on!(db, |c| sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL,
             claim_token = NULL, unrecorded = 0, updated_at = $2
         WHERE subscription_id = $3 AND status = 'failed'",
    )
    .bind(now_millis)
    .bind(now)
    .bind(subscription_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(result)
}

/// The attempts of delivery `id`, oldest first:
/// (number, started_at, duration_ms, request JSON, response JSON, error).
pub async fn attempts(
    db: &Store,
    id: &str,
) -> sqlx::Result<Vec<(i64, String, i64, String, Option<String>, Option<String>)>> {
    on!(db, |c| sqlx::query_as(
        "SELECT number, started_at, duration_ms, request, response, error
         FROM delivery_attempts WHERE delivery_id = $1 ORDER BY number",
    )
    .bind(id)
    .fetch_all(c)
    .await)
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
    db: &Store,
    id: &str,
    now_millis: i64,
    now: &str,
) -> sqlx::Result<Redelivered> {
    let result = {
        let mut turn = db.write_turn().await?;
        on!(&mut turn, |c| {
            sqlx::query(
                "UPDATE deliveries SET status = CASE WHEN status = 'retrying' THEN 'retrying' ELSE 'pending' END,
                     next_attempt_at = $1, lease_until = NULL, claim_token = NULL, unrecorded = 0,
                     updated_at = $2
                 WHERE id = $3 AND (lease_until IS NULL OR lease_until < $1)",
            )
            .bind(now_millis)
            .bind(now)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })
    }?;
    if result > 0 {
        return Ok(Redelivered::Due);
    }
    let exists: Option<i64> = on!(db, |c| sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM deliveries WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(match exists {
        Some(_) => Redelivered::InFlight,
        None => Redelivered::Unknown,
    })
}

/// Deletes up to `batch` finished deliveries (with their attempts) last changed before
/// `cutoff` (RFC 3339), then up to `batch` events older than `cutoff` that no delivery refers
/// to; returns (deliveries, events) deleted. Small batches keep each write lock short.
pub async fn prune(db: &Store, cutoff: &str, batch: i64) -> sqlx::Result<(u64, u64)> {
    let mut tx = db.write_tx().await?;
    on!(&mut *tx, |c| sqlx::query(
        "DELETE FROM delivery_attempts WHERE delivery_id IN (
             SELECT id FROM deliveries WHERE status IN ('delivered', 'failed') AND updated_at < $1
             LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let deliveries = on!(&mut *tx, |c| {
        sqlx::query(
        "DELETE FROM deliveries WHERE rowid IN (
             SELECT rowid FROM deliveries WHERE status IN ('delivered', 'failed') AND updated_at < $1
             LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    let events = on!(&mut *tx, |c| sqlx::query(
        "DELETE FROM events WHERE rowid IN (
             SELECT e.rowid FROM events e WHERE e.received_at < $1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
             LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok((deliveries, events))
}
