//! "Why didn't I get a message?": the received events with what they caused, each webhook
//! subscription of an event's task with why it did or did not fire ([`matches`]), and the
//! Overview's figures for the last 24 hours ([`stats`]). Shared by the REST API and the UI.

use std::collections::HashMap;

use app::model::{
    EventDetail, EventList, EventMatches, EventQuery, EventSummary, EventType, Integration,
    LastError, MatchReason, Stats, StatsBucket, SubscriptionMatch, SubscriptionStats,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::db;
use crate::db::events::{DeliveryListRow, EventRow};
use crate::db::insight::{EventFilter, EventListRow, Window, WindowDelivery};
use crate::db::Store;
use crate::domain::deliveries::{delivery, instant, next_page_key, page_request};
use crate::domain::events::mismatches;
use crate::domain::integrations::all_cached;
use crate::error::DomainError;
use crate::util;

/// Most deliveries an event's detail lists.
const EVENT_DELIVERIES: i64 = 100;
/// The Overview's chart: 96 slots of 15 minutes.
pub const BUCKETS: usize = 96;
/// Length of one slot of the chart.
pub const BUCKET: Duration = Duration::minutes(15);

/// A page of received events, newest first, as `query` asks.
pub async fn list_events(db: &Store, query: &EventQuery) -> Result<EventList, DomainError> {
    let (page_size, before) = page_request(query.page_size, query.next_page_key.as_deref())?;
    let from = instant(query.from.as_deref(), "from")?;
    let to = instant(query.to.as_deref(), "to")?;
    fn set(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let filter = EventFilter {
        r#type: set(&query.r#type),
        project: set(&query.project),
        stage: set(&query.stage),
        service: set(&query.service),
        from: from.as_deref(),
        to: to.as_deref(),
        before,
    };
    let (rows, total_count) = db::insight::list_events(db, &filter, page_size).await?;
    let next_page_key = next_page_key(page_size, rows.iter().map(|r| r.rowid));
    Ok(EventList {
        events: rows.into_iter().map(summary).collect(),
        next_page_key,
        total_count,
    })
}

/// Event `id` with its stored JSON, its deliveries and the match explanation.
pub async fn detail(db: &Store, id: &str) -> Result<EventDetail, DomainError> {
    let event = db::insight::event(db, id)
        .await?
        .map(summary)
        .ok_or_else(|| not_found(id))?;
    let row = db::events::get(db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let deliveries = db::events::deliveries_of_event(db, id, EVENT_DELIVERIES).await?;
    let matches = explain(&row, &all_cached(db).await?, &deliveries);
    let body = serde_json::from_str::<Value>(&row.body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or(row.body);
    Ok(EventDetail {
        event,
        body,
        deliveries: deliveries.into_iter().map(delivery).collect(),
        matches,
    })
}

/// Every webhook subscription of event `id`'s task (and any other that wants the event),
/// each with whether it wants the event as it is configured now, why not, and the
/// deliveries the event caused for it.
pub async fn matches(db: &Store, id: &str) -> Result<EventMatches, DomainError> {
    let event = db::events::get(db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let deliveries = db::events::deliveries_of_event(db, id, EVENT_DELIVERIES).await?;
    Ok(explain(&event, &all_cached(db).await?, &deliveries))
}

/// The match explanation of `event` against `integrations`' webhook subscriptions.
fn explain(
    event: &EventRow,
    integrations: &[Integration],
    deliveries: &[DeliveryListRow],
) -> EventMatches {
    let mut delivered: HashMap<&str, Vec<String>> = HashMap::new();
    for row in deliveries {
        delivered
            .entry(row.subscription_id.as_str())
            .or_default()
            .push(row.id.clone());
    }
    let task = event.r#type.task();
    let mut subscriptions = Vec::new();
    for integration in integrations {
        for subscription in &integration.subscriptions {
            if subscription.webhook.is_none() {
                continue;
            }
            let reasons: Vec<MatchReason> = mismatches(subscription, event)
                .iter()
                .map(|mismatch| MatchReason {
                    field: mismatch.field().to_string(),
                    value: mismatch_value(mismatch),
                    expected: mismatch_expected(mismatch),
                    message: mismatch.message(),
                })
                .collect();
            let matched = reasons.is_empty();
            if !matched && EventType::split(&subscription.event).0 != task {
                continue;
            }
            subscriptions.push(SubscriptionMatch {
                integration_id: integration.id.clone(),
                integration_name: integration.name.clone(),
                subscription_id: subscription.id.clone(),
                event: subscription.event.clone(),
                filter: subscription.filter.clone(),
                matched,
                reasons,
                delivery_ids: delivered
                    .remove(subscription.id.as_str())
                    .unwrap_or_default(),
            });
        }
    }
    EventMatches {
        event_id: event.id.clone(),
        event_type: event.r#type.clone(),
        task: task.to_string(),
        subscriptions,
    }
}

fn mismatch_value(mismatch: &crate::domain::events::Mismatch<'_>) -> Option<String> {
    use crate::domain::events::Mismatch;
    match mismatch {
        Mismatch::UnreadableFilter => None,
        Mismatch::Task { event, .. } | Mismatch::Suffix { event, .. } => Some(event.to_string()),
        Mismatch::NotIn { event, .. } => event.map(str::to_string),
    }
}

fn mismatch_expected(mismatch: &crate::domain::events::Mismatch<'_>) -> Vec<String> {
    use crate::domain::events::Mismatch;
    match mismatch {
        Mismatch::UnreadableFilter => Vec::new(),
        Mismatch::Task { wanted, .. } | Mismatch::Suffix { wanted, .. } => {
            vec![wanted.to_string()]
        }
        Mismatch::NotIn { wanted, .. } => wanted.to_vec(),
    }
}

fn not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("event {id} not found"))
}

fn summary(row: EventListRow) -> EventSummary {
    EventSummary {
        id: row.id,
        r#type: row.r#type,
        source: row.source,
        shkeptncontext: row.shkeptncontext,
        project: row.project,
        stage: row.stage,
        service: row.service,
        time: row.time,
        received_at: row.received_at,
        deliveries: row.deliveries,
    }
}

/// The Overview's figures at `now`: the window is the 96 quarter-hour slots up to and
/// including the current one.
pub async fn stats(db: &Store, now: OffsetDateTime) -> Result<Stats, DomainError> {
    let first = slot_start(now) - BUCKET * (BUCKETS as i32 - 1);
    let since = util::rfc3339(first);
    let window = db::insight::window(db, &since).await?;
    let integrations = all_cached(db).await?;
    let order: Vec<(String, &app::model::Subscription)> = integrations
        .iter()
        .flat_map(|integration| {
            integration
                .subscriptions
                .iter()
                .filter(|subscription| subscription.webhook.is_some())
                .map(|subscription| (integration.id.clone(), subscription))
        })
        .collect();
    Ok(figures(now, first, &window, &order))
}

/// The start of the quarter hour `at` falls in.
fn slot_start(at: OffsetDateTime) -> OffsetDateTime {
    let seconds = at.unix_timestamp();
    let slot = BUCKET.whole_seconds();
    OffsetDateTime::from_unix_timestamp(seconds - seconds.rem_euclid(slot)).unwrap_or(at)
}

/// Counts of one set of deliveries by how they stand.
#[derive(Default)]
struct Tally {
    deliveries: i64,
    delivered: i64,
    failed: i64,
    retrying: i64,
}

impl Tally {
    fn add(&mut self, status: &str) {
        self.deliveries += 1;
        match status {
            "delivered" => self.delivered += 1,
            "failed" => self.failed += 1,
            _ => self.retrying += 1,
        }
    }

    fn success_rate(&self) -> Option<f64> {
        let settled = self.delivered + self.failed;
        (settled > 0).then(|| self.delivered as f64 / settled as f64)
    }
}

/// The figures of `window` (pure: the tests feed it rows).
fn figures(
    now: OffsetDateTime,
    first: OffsetDateTime,
    window: &Window,
    subscriptions: &[(String, &app::model::Subscription)],
) -> Stats {
    let mut total = Tally::default();
    let mut buckets: Vec<StatsBucket> = (0..BUCKETS)
        .map(|slot| StatsBucket {
            start: util::rfc3339(first + BUCKET * slot as i32),
            delivered: 0,
            retrying: 0,
            failed: 0,
        })
        .collect();
    let mut per_subscription: HashMap<&str, Vec<&WindowDelivery>> = HashMap::new();
    for row in &window.deliveries {
        total.add(&row.status);
        if let Some(bucket) = util::parse_rfc3339(&row.received_at)
            .map(|at| ((at - first).whole_seconds() / BUCKET.whole_seconds()) as usize)
            .and_then(|slot| buckets.get_mut(slot))
        {
            match row.status.as_str() {
                "delivered" => bucket.delivered += 1,
                "failed" => bucket.failed += 1,
                _ => bucket.retrying += 1,
            }
        }
        per_subscription
            .entry(row.subscription_id.as_str())
            .or_default()
            .push(row);
    }
    let subscriptions = subscriptions
        .iter()
        .map(|(integration_id, subscription)| {
            let rows = per_subscription
                .get(subscription.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            subscription_figures(integration_id, subscription, rows)
        })
        .collect();
    Stats {
        generated_at: util::rfc3339(now),
        since: util::rfc3339(first),
        events: window.events,
        deliveries: total.deliveries,
        delivered: total.delivered,
        failed: total.failed,
        success_rate: total.success_rate(),
        waiting: window.waiting,
        retrying: window.retrying,
        oldest_pending_seconds: window
            .oldest_waiting
            .as_deref()
            .and_then(util::parse_rfc3339)
            .map(|oldest| (now - oldest).whole_seconds().max(0)),
        unread_errors: window.unread_errors,
        buckets,
        subscriptions,
    }
}

fn subscription_figures(
    integration_id: &str,
    subscription: &app::model::Subscription,
    rows: &[&WindowDelivery],
) -> SubscriptionStats {
    let mut tally = Tally::default();
    let mut durations = Vec::new();
    let mut last_error: Option<&WindowDelivery> = None;
    for row in rows {
        tally.add(&row.status);
        match (row.status.as_str(), row.duration_ms) {
            ("delivered", Some(ms)) => durations.push(ms),
            ("delivered", None) => {}
            _ if row.reason.is_some()
                && last_error.is_none_or(|last| row.updated_at > last.updated_at) =>
            {
                last_error = Some(row);
            }
            _ => {}
        }
    }
    durations.sort_unstable();
    SubscriptionStats {
        integration_id: integration_id.to_string(),
        subscription_id: subscription.id.clone(),
        event: subscription.event.clone(),
        filter: subscription.filter.clone(),
        deliveries: tally.deliveries,
        delivered: tally.delivered,
        failed: tally.failed,
        retrying: tally.retrying,
        success_rate: tally.success_rate(),
        p50_duration_ms: percentile(&durations, 50),
        p95_duration_ms: percentile(&durations, 95),
        last_error: last_error.map(|row| LastError {
            at: row.updated_at.clone(),
            message: row.reason.clone().unwrap_or_default(),
            delivery_id: row.id.clone(),
        }),
    }
}

/// The `p`th percentile of sorted `values` (nearest rank), `None` when there are none.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{Subscription, Webhook};

    fn at(text: &str) -> OffsetDateTime {
        util::parse_rfc3339(text).unwrap()
    }

    fn row(
        id: &str,
        subscription: &str,
        status: &str,
        ms: Option<i64>,
        received: &str,
    ) -> WindowDelivery {
        WindowDelivery {
            id: id.to_string(),
            subscription_id: subscription.to_string(),
            status: status.to_string(),
            duration_ms: ms,
            reason: (status != "delivered").then(|| format!("reason of {id}")),
            received_at: received.to_string(),
            updated_at: received.to_string(),
        }
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 95), Some(7));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50), Some(50));
        assert_eq!(percentile(&hundred, 95), Some(95));
        assert_eq!(percentile(&[10, 20, 30], 50), Some(20));
    }

    #[test]
    fn figures_fill_slots_tiles_and_subscription_rows() {
        let now = at("2026-12-01T10:07:00Z");
        let first = slot_start(now) - BUCKET * (BUCKETS as i32 - 1);
        assert_eq!(util::rfc3339(first), "2026-11-30T10:15:00.000Z");
        let window = Window {
            events: 5,
            deliveries: vec![
                row("a", "s1", "delivered", Some(10), "2026-12-01T10:01:00.000Z"),
                row("b", "s1", "delivered", Some(30), "2026-12-01T10:02:00.000Z"),
                row("c", "s1", "failed", Some(5), "2026-12-01T09:59:00.000Z"),
                row("d", "s1", "retrying", None, "2026-12-01T10:03:00.000Z"),
                row(
                    "e",
                    "gone",
                    "delivered",
                    Some(1),
                    "2026-11-30T10:15:00.000Z",
                ),
            ],
            waiting: 2,
            retrying: 1,
            oldest_waiting: Some("2026-12-01T10:05:00.000Z".to_string()),
            unread_errors: 1,
        };
        let s1 = Subscription {
            id: "s1".to_string(),
            event: "sh.keptn.event.evaluation.finished".to_string(),
            webhook: Some(Webhook::default()),
            ..Subscription::default()
        };
        let idle = Subscription {
            id: "s2".to_string(),
            ..s1.clone()
        };
        let stats = figures(
            now,
            first,
            &window,
            &[("i".to_string(), &s1), ("i".to_string(), &idle)],
        );
        assert_eq!((stats.events, stats.deliveries), (5, 5));
        assert_eq!((stats.delivered, stats.failed), (3, 1));
        assert_eq!(stats.success_rate, Some(0.75));
        assert_eq!((stats.waiting, stats.retrying), (2, 1));
        assert_eq!(stats.oldest_pending_seconds, Some(120));
        assert_eq!(stats.buckets.len(), 96);
        let last = &stats.buckets[95];
        assert_eq!(last.start, "2026-12-01T10:00:00.000Z");
        assert_eq!((last.delivered, last.retrying, last.failed), (2, 1, 0));
        assert_eq!(stats.buckets[94].failed, 1);
        assert_eq!(stats.buckets[0].delivered, 1);
        let row = &stats.subscriptions[0];
        assert_eq!(
            (row.deliveries, row.delivered, row.failed, row.retrying),
            (4, 2, 1, 1)
        );
        assert_eq!(row.success_rate, Some(2.0 / 3.0));
        assert_eq!(
            (row.p50_duration_ms, row.p95_duration_ms),
            (Some(10), Some(30))
        );
        let error = row.last_error.as_ref().unwrap();
        assert_eq!(
            (error.delivery_id.as_str(), error.message.as_str()),
            ("d", "reason of d")
        );
        let idle = &stats.subscriptions[1];
        assert_eq!(
            (idle.deliveries, idle.success_rate, idle.p50_duration_ms),
            (0, None, None)
        );
        assert!(idle.last_error.is_none());
    }
}
