//! Prometheus metrics (`GET /metrics`, behind an API token): counters the ingress and the
//! sender move as they work, plus queue depth and the age of the oldest pending delivery,
//! read from the database at scrape time so they are never stale.
//!
//! Two expositions of the same registry: OpenMetrics (what Prometheus asks for first) and the
//! classic Prometheus text format 0.0.4 (everything else, e.g. `curl | promtool check
//! metrics`). Label values are escaped here (prometheus-client writes them verbatim), and the
//! number of event types is capped so a sender cannot grow the exposition without bound.

use crate::db::Store;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

type Labels = Vec<(&'static str, LabelValue)>;

/// Distinct `type` label values of `uniform_events_received_total`; further types count
/// under [`OTHER_TYPE`].
pub const MAX_EVENT_TYPES: usize = 200;
/// The `type` label of events beyond the first [`MAX_EVENT_TYPES`] types.
pub const OTHER_TYPE: &str = "other";

/// The content type of the OpenMetrics exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of the Prometheus text exposition.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which exposition format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (`# EOF`, counter families named without `_total`).
    OpenMetrics,
    /// Prometheus text format 0.0.4.
    Text,
}

impl Format {
    /// OpenMetrics when the `Accept` header asks for it (with a non-zero `q`), else text.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let wants_openmetrics = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut params = range.split(';').map(str::trim);
                let media = params.next().unwrap_or_default();
                let refused = params.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if wants_openmetrics {
            Self::OpenMetrics
        } else {
            Self::Text
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Self::Text => TEXT_CONTENT_TYPE,
        }
    }
}

/// A label value, escaped as both exposition formats require (`\`, `"`, line feed).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct LabelValue(String);

impl EncodeLabelValue for LabelValue {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

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
    /// The event types that have their own label value.
    event_types: Mutex<HashSet<String>>,
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
            event_types: Mutex::new(HashSet::new()),
        }
    }

    /// An event of type `event_type` was accepted. The first [`MAX_EVENT_TYPES`] types are
    /// counted by name, later ones as [`OTHER_TYPE`].
    pub fn event_received(&self, event_type: &str) {
        let label = {
            let mut known = self.event_types.lock().unwrap_or_else(|e| e.into_inner());
            if known.contains(event_type) {
                event_type
            } else if known.len() < MAX_EVENT_TYPES {
                known.insert(event_type.to_string());
                event_type
            } else {
                OTHER_TYPE
            }
        };
        self.events_received
            .get_or_create(&vec![("type", LabelValue(label.to_string()))])
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
                ("outcome", LabelValue(outcome.to_string())),
                ("subscription", LabelValue(subscription.to_string())),
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

    /// The exposition in `format`, with the queue gauges read from `db` now.
    pub async fn render(&self, db: &Store, format: Format) -> Result<String, sqlx::Error> {
        let (depth, oldest) = crate::db::events::queue(db).await?;
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
        Ok(self.encode(format))
    }

    /// The exposition of the registry as it is.
    fn encode(&self, format: Format) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        match format {
            Format::OpenMetrics => text,
            Format::Text => openmetrics_to_text(&text),
        }
    }
}

/// Rewrites prometheus-client's OpenMetrics exposition as Prometheus text 0.0.4: counter
/// families take their samples' `_total` name in `# HELP`/`# TYPE`, and the OpenMetrics-only
/// `# UNIT` and `# EOF` lines go. Samples (and their escaped label values) are the same in
/// both formats.
fn openmetrics_to_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => text.push_str(&line),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|line| {
                line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
            })
            .collect()
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.event_received("sh.keptn.event.a\nuniform_forged_total 1\n.finished");
        metrics.event_received("sh.keptn.event.\"quoted\"\\.finished");
        metrics.attempt(
            "sub\"}\nuniform_forged_total 2\n",
            "failed",
            0.1,
            false,
            false,
        );
        for format in [Format::Text, Format::OpenMetrics] {
            let text = metrics.encode(format);
            assert!(
                !text.lines().any(|line| line.starts_with("uniform_forged")),
                "{text}"
            );
            let events = samples(&text, "uniform_events_received_total");
            assert!(
                events.contains(&r#"uniform_events_received_total{type="sh.keptn.event.a\nuniform_forged_total 1\n.finished"} 1"#),
                "{events:?}"
            );
            assert!(
                events.contains(&r#"uniform_events_received_total{type="sh.keptn.event.\"quoted\"\\.finished"} 1"#),
                "{events:?}"
            );
            assert_eq!(
                samples(&text, "uniform_deliveries_total"),
                [
                    r#"uniform_deliveries_total{outcome="failed",subscription="sub\"}\nuniform_forged_total 2\n"} 1"#
                ]
            );
        }
    }

    #[test]
    fn event_types_are_capped() {
        let metrics = Metrics::new();
        for n in 0..MAX_EVENT_TYPES + 50 {
            metrics.event_received(&format!("sh.keptn.event.t{n}.finished"));
        }
        // Known types keep counting under their own name, new ones under "other".
        metrics.event_received("sh.keptn.event.t0.finished");
        metrics.event_received("sh.keptn.event.t999.finished");
        let text = metrics.encode(Format::Text);
        let events = samples(&text, "uniform_events_received_total");
        assert_eq!(events.len(), MAX_EVENT_TYPES + 1, "{events:?}");
        assert!(
            events
                .contains(&r#"uniform_events_received_total{type="sh.keptn.event.t0.finished"} 2"#),
            "{events:?}"
        );
        assert!(
            events.contains(&r#"uniform_events_received_total{type="other"} 51"#),
            "{events:?}"
        );
        assert!(!text.contains("t200."), "{text}");
    }

    #[test]
    fn the_text_format_names_counters_by_their_samples_and_has_no_eof() {
        let metrics = Metrics::new();
        metrics.event_received("sh.keptn.event.x.finished");
        metrics.attempt("a-subscription", "delivered", 0.1, false, false);
        let text = metrics.encode(Format::Text);
        for name in [
            "uniform_events_received_total",
            "uniform_deliveries_total",
            "uniform_rate_limited_total",
            "uniform_refused_targets_total",
        ] {
            assert!(
                text.contains(&format!("\n# TYPE {name} counter\n")),
                "{name}: {text}"
            );
            assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
        }
        assert!(
            text.contains("# TYPE uniform_queue_depth gauge\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE uniform_delivery_attempt_duration_seconds histogram\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
        let openmetrics = metrics.encode(Format::OpenMetrics);
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        assert!(openmetrics.contains("# TYPE uniform_events_received counter\n"));
    }

    #[test]
    fn prometheus_asking_for_openmetrics_gets_it() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0, text/plain")),
            Format::Text
        );
    }
}
