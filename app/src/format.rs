//! How values read on the pages, wherever they appear: times, event types, a subscription in
//! one line, an event's place, and what stands for a missing value.

use crate::model::{EventType, SubscriptionFilter};

/// Shown for a missing value.
pub const NONE: &str = "—";

/// An RFC 3339 instant as `2026-11-27 10:00:03` (UTC, seconds).
pub fn display_time(rfc3339: &str) -> String {
    let end = rfc3339
        .find(['.', 'Z', '+'])
        .or_else(|| rfc3339.get(19..).map(|_| 19))
        .unwrap_or(rfc3339.len());
    rfc3339.get(..end).unwrap_or(rfc3339).replacen('T', " ", 1)
}

/// An event type as the Bridge shows it: `>` (any suffix) as `*`.
pub fn display_event(event: &str) -> String {
    event.replace('>', "*")
}

/// A subscription in one line, by its task and filter: `evaluation.finished · stages dev,
/// staging` (Keptn's prefix left out, `>` as `*`, empty filter lists left out).
pub fn subscription_label(event: &str, filter: &SubscriptionFilter) -> String {
    let mut label = EventType::parse(event).map_or_else(|| display_event(event), |t| t.short());
    for (name, values) in [
        ("projects", &filter.projects),
        ("stages", &filter.stages),
        ("services", &filter.services),
    ] {
        if !values.is_empty() {
            label.push_str(&format!(" · {name} {}", values.join(", ")));
        }
    }
    label
}

/// `project / stage / service`, a missing part as `—`.
pub fn place(project: &Option<String>, stage: &Option<String>, service: &Option<String>) -> String {
    [project, stage, service]
        .map(|part| {
            part.as_deref()
                .filter(|value| !value.is_empty())
                .unwrap_or(NONE)
        })
        .join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_short() {
        assert_eq!(
            display_time("2026-11-27T10:00:03.123Z"),
            "2026-11-27 10:00:03"
        );
        assert_eq!(display_time("2026-11-27T10:00:03Z"), "2026-11-27 10:00:03");
        assert_eq!(display_time("garbage"), "garbage");
    }

    #[test]
    fn event_types_and_subscriptions_read_like_the_bridge() {
        assert_eq!(
            display_event("sh.keptn.event.test.>"),
            "sh.keptn.event.test.*"
        );
        let filter = SubscriptionFilter {
            stages: vec!["dev".to_string(), "staging".to_string()],
            ..Default::default()
        };
        assert_eq!(
            subscription_label("sh.keptn.event.evaluation.finished", &filter),
            "evaluation.finished · stages dev, staging"
        );
        assert_eq!(
            subscription_label("sh.keptn.event.test.>", &SubscriptionFilter::default()),
            "test.*"
        );
    }

    #[test]
    fn places_name_each_part() {
        let some = |value: &str| Some(value.to_string());
        assert_eq!(
            place(&some("sockshop"), &some("dev"), &some("carts")),
            "sockshop / dev / carts"
        );
        assert_eq!(place(&None, &some(""), &some("carts")), "— / — / carts");
    }
}
