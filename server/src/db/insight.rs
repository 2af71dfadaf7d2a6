//! Read-only queries behind the Events page and the Overview: received events with how many
//! deliveries each caused, and the deliveries of the events of a time window with how they
//! stand now. Nothing here writes.

use super::Store;

/// An event as the Events page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventListRow {
    pub rowid: i64,
    pub id: String,
    #[sqlx(try_from = "String")]
    pub r#type: app::model::EventType,
    pub source: String,
    pub shkeptncontext: String,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    pub time: String,
    pub received_at: String,
    pub deliveries: i64,
}

/// Which events [`list_events`] returns; `None` fields do not filter.
#[derive(Debug, Default)]
pub struct EventFilter<'a> {
    pub r#type: Option<&'a str>,
    pub project: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub service: Option<&'a str>,
    /// Received at or after (RFC 3339 in the stored format).
    pub from: Option<&'a str>,
    /// Received before (RFC 3339 in the stored format).
    pub to: Option<&'a str>,
    /// Only rows older than this rowid (the page key).
    pub before: Option<i64>,
}

/// The columns of [`EventListRow`] from `events e`.
macro_rules! event_list_select {
    () => {
        "SELECT e.rowid AS rowid, e.id, e.type, e.source, e.shkeptncontext, e.project, e.stage,
                e.service, e.time, e.received_at,
                (SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id) AS deliveries
         FROM events e"
    };
}

/// The filter's conditions on `events e`, parameters $1–$7 in [`EventFilter`]'s order.
macro_rules! event_filter_where {
    () => {
        " WHERE ($1 IS NULL OR e.type = $1)
            AND ($2 IS NULL OR e.project = $2) AND ($3 IS NULL OR e.stage = $3)
            AND ($4 IS NULL OR e.service = $4) AND ($5 IS NULL OR e.received_at >= $5)
            AND ($6 IS NULL OR e.received_at < $6) AND ($7 IS NULL OR e.rowid < $7)"
    };
}

/// Event `id` as the Events page lists it (a primary-key lookup).
pub async fn event(db: &Store, id: &str) -> sqlx::Result<Option<EventListRow>> {
    on!(db, |c| sqlx::query_as(concat!(
        event_list_select!(),
        " WHERE e.id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Events newest first, filtered, at most `limit`, and how many match the filter in all
/// (ignoring `before`), read from one snapshot.
pub async fn list_events(
    db: &Store,
    filter: &EventFilter<'_>,
    limit: i64,
) -> sqlx::Result<(Vec<EventListRow>, i64)> {
    let mut tx = db.begin().await?;
    let rows = on!(&mut tx, |c| sqlx::query_as(concat!(
        event_list_select!(),
        event_filter_where!(),
        " ORDER BY e.rowid DESC LIMIT $8"
    ))
    .bind(filter.r#type)
    .bind(filter.project)
    .bind(filter.stage)
    .bind(filter.service)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.before)
    .bind(limit)
    .fetch_all(c)
    .await)?;
    let total = on!(&mut tx, |c| sqlx::query_scalar(concat!(
        "SELECT COUNT(*) FROM events e",
        event_filter_where!()
    ))
    .bind(filter.r#type)
    .bind(filter.project)
    .bind(filter.stage)
    .bind(filter.service)
    .bind(filter.from)
    .bind(filter.to)
    .bind(None::<i64>)
    .fetch_one(c)
    .await)?;
    tx.commit().await?;
    Ok((rows, total))
}

/// A delivery of an event of the window, as it stands now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowDelivery {
    pub id: String,
    pub subscription_id: String,
    pub status: String,
    pub duration_ms: Option<i64>,
    pub reason: Option<String>,
    /// When its event was received (RFC 3339): the delivery was created then.
    pub received_at: String,
    pub updated_at: String,
}

/// What the Overview reads in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Events received since the window's start.
    pub events: i64,
    /// Their deliveries.
    pub deliveries: Vec<WindowDelivery>,
    /// Deliveries waiting for their first attempt, and retrying (all of them).
    pub waiting: i64,
    pub retrying: i64,
    /// When the oldest waiting or retrying delivery was created.
    pub oldest_waiting: Option<String>,
    /// Failed deliveries nobody has looked at yet.
    pub unread_errors: i64,
}

/// The events received since `since` (RFC 3339 in the stored format) and their deliveries,
/// with the queue as it is now.
pub async fn window(db: &Store, since: &str) -> sqlx::Result<Window> {
    let mut tx = db.begin().await?;
    let events = on!(&mut tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE received_at >= $1"
    )
    .bind(since)
    .fetch_one(c)
    .await)?;
    let deliveries = on!(&mut tx, |c| sqlx::query_as(
        "SELECT d.id, d.subscription_id, d.status, d.duration_ms, d.reason, e.received_at,
                d.updated_at
         FROM events e JOIN deliveries d ON d.event_id = e.id
         WHERE e.received_at >= $1",
    )
    .bind(since)
    .fetch_all(c)
    .await)?;
    let queue: Vec<(String, i64, Option<String>)> = on!(&mut tx, |c| sqlx::query_as(
        "SELECT status, COUNT(*), MIN(created_at) FROM deliveries
         WHERE status IN ('pending', 'retrying') GROUP BY status",
    )
    .fetch_all(c)
    .await)?;
    let unread_errors = on!(&mut tx, |c| sqlx::query_scalar(
        super::events::UNREAD_ERRORS
    )
    .fetch_one(c)
    .await)?;
    tx.commit().await?;
    let mut window = Window {
        events,
        deliveries,
        unread_errors,
        ..Window::default()
    };
    for (status, count, oldest) in queue {
        match status.as_str() {
            "pending" => window.waiting = count,
            _ => window.retrying = count,
        }
        if let Some(oldest) = oldest {
            if window.oldest_waiting.as_ref().is_none_or(|o| oldest < *o) {
                window.oldest_waiting = Some(oldest);
            }
        }
    }
    Ok(window)
}
