//! Prometheus metrics (`GET /metrics`, text format, behind an API token): counters the
//! ingress and the sender move as they work, plus queue depth and the age of the oldest
//! pending delivery, read from the database at scrape time so they are never stale.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sqlx::SqlitePool;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(&'static str, String)>;

/// Every metric of the process; cheap to share (`Arc`), updated without locks.
pub struct Metrics {
    registry: Registry,
    events_received: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
    attempt_duration: Histogram,
    rate_limited: Counter,
    refused: Counter,
    queue_depth: Gauge,
    oldest_pending: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let events_received = Family::<Labels, Counter>::default();
        registry.register(
            "uniform_events_received",
            "Events accepted, by CloudEvent type",
            events_received.clone(),
        );
        let deliveries = Family::<Labels, Counter>::default();
        registry.register(
            "uniform_deliveries",
            "Delivery attempts settled, by outcome (delivered, retrying, failed) and subscription",
            deliveries.clone(),
        );
        // 1 ms … ~16 s.
        let attempt_duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "uniform_delivery_attempt_duration_seconds",
            "How long one delivery attempt took (render, send, answer)",
            attempt_duration.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "uniform_rate_limited",
            "429 answers received from receivers",
            rate_limited.clone(),
        );
        let refused = Counter::default();
        registry.register(
            "uniform_refused_targets",
            "Requests the SSRF guard refused",
            refused.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "uniform_queue_depth",
            "Deliveries pending or waiting for a retry",
            queue_depth.clone(),
        );
        let oldest_pending = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "uniform_oldest_pending_seconds",
            "Age of the oldest delivery pending or waiting for a retry (0 when none)",
            oldest_pending.clone(),
        );
        Self {
            registry,
            events_received,
            deliveries,
            attempt_duration,
            rate_limited,
            refused,
            queue_depth,
            oldest_pending,
        }
    }

    /// An event of type `event_type` was accepted.
    pub fn event_received(&self, event_type: &str) {
        self.events_received
            .get_or_create(&vec![("type", event_type.to_string())])
            .inc();
    }

    /// An attempt settled its delivery as `outcome` after `seconds`.
    pub fn attempt(
        &self,
        subscription: &str,
        outcome: &str,
        seconds: f64,
        rate_limited: bool,
        refused: bool,
    ) {
        self.deliveries
            .get_or_create(&vec![
                ("outcome", outcome.to_string()),
                ("subscription", subscription.to_string()),
            ])
            .inc();
        self.attempt_duration.observe(seconds);
        if rate_limited {
            self.rate_limited.inc();
        }
        if refused {
            self.refused.inc();
        }
    }

    /// The text exposition, with the queue gauges read from `db` now.
    pub async fn render(&self, db: &SqlitePool) -> Result<String, sqlx::Error> {
        let (depth, oldest): (i64, Option<String>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM deliveries
             WHERE status IN ('pending', 'retrying')",
        )
        .fetch_one(db)
        .await?;
        self.queue_depth.set(depth);
        let age = oldest
            .and_then(|at| crate::util::parse_rfc3339(&at))
            .map(|at| {
                (time::OffsetDateTime::now_utc() - at)
                    .as_seconds_f64()
                    .max(0.0)
            })
            .unwrap_or(0.0);
        self.oldest_pending.set(age);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        Ok(text)
    }
}
