//! Event ingress, independent of HTTP: validate a Keptn CloudEvent, store it, and in the
//! same transaction queue one delivery per matching webhook subscription (a transactional
//! outbox); then wake the sender. Matching follows Keptn's distributor.

use crate::db::Store;
use app::model::{EventType, Integration, Subscription};
use serde_json::{Map, Value};

use crate::db;
use crate::db::events::EventRow;
use crate::db::group::{BatchWrite, GroupWriter};
use crate::error::DomainError;
use crate::util;

/// What ingesting an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The event's keptn context (generated when it had none).
    pub keptn_context: String,
    /// The event's id.
    pub id: String,
    /// False when an event with this id had been accepted before (nothing new was stored).
    pub created: bool,
    /// How many deliveries were queued.
    pub deliveries: usize,
    /// The event's CloudEvent type.
    pub event_type: EventType,
}

fn string_field(
    event: &Map<String, Value>,
    field: &str,
    required: bool,
) -> Result<Option<String>, DomainError> {
    match event.get(field) {
        None | Some(Value::Null) if required => {
            Err(DomainError::invalid(field, format!("{field} is required")))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if required && s.is_empty() => Err(DomainError::invalid(
            field,
            format!("{field} must not be empty"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DomainError::invalid(
            field,
            format!("{field} must be a string"),
        )),
    }
}

/// Keptn's event-type grammar ([`EventType`]): `sh.keptn.event.` then dot-separated,
/// non-empty segments of ASCII letters, digits, `-` and `_` (an event's type has no `>`, a
/// subscription's "any"). Nothing else reaches storage, logs or `/metrics`.
pub fn parse_type(event_type: &str) -> Result<EventType, DomainError> {
    EventType::parse(event_type)
        .filter(|parsed| parsed.suffix() != EventType::ANY)
        .ok_or_else(|| {
            DomainError::invalid(
                "type",
                "type must be sh.keptn.event. followed by dot-separated segments of letters, digits, '-' and '_'",
            )
        })
}

/// Checks the envelope, fills in `id`, `time` and `shkeptncontext` when absent.
pub fn normalize(event: Value) -> Result<EventRow, DomainError> {
    let Value::Object(mut map) = event else {
        return Err(DomainError::invalid(
            "event",
            "the event must be a JSON object",
        ));
    };
    let event_type = string_field(&map, "type", true)?.unwrap_or_default();
    string_field(&map, "specversion", true)?;
    let source = string_field(&map, "source", true)?.unwrap_or_default();
    match map.get("data") {
        Some(Value::Object(_)) => {}
        None | Some(Value::Null) => return Err(DomainError::invalid("data", "data is required")),
        Some(_) => return Err(DomainError::invalid("data", "data must be an object")),
    }
    for optional in [
        "triggeredid",
        "contenttype",
        "shkeptnspecversion",
        "gitcommitid",
    ] {
        string_field(&map, optional, false)?;
    }
    let event_type = parse_type(&event_type)?;
    // Ids made here are time-ordered (UUIDv7): new rows append to the id and context
    // indexes instead of landing on a random page of each.
    let id = string_field(&map, "id", false)?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let time = string_field(&map, "time", false)?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(util::now_rfc3339);
    let context = string_field(&map, "shkeptncontext", false)?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let triggeredid = string_field(&map, "triggeredid", false)?;
    map.insert("id".into(), Value::String(id.clone()));
    map.insert("time".into(), Value::String(time.clone()));
    map.insert("shkeptncontext".into(), Value::String(context.clone()));
    let data_string = |key: &str| {
        map.get("data")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (project, stage, service) = (
        data_string("project"),
        data_string("stage"),
        data_string("service"),
    );
    Ok(EventRow {
        id,
        r#type: event_type,
        source,
        shkeptncontext: context,
        triggeredid,
        time,
        project,
        stage,
        service,
        body: Value::Object(map).to_string(),
    })
}

/// Whether `subscription` wants `event` (type, with a trailing `>` matching any suffix,
/// and every non-empty filter list containing the event's value). A subscription whose
/// stored filter could not be read matches nothing.
pub fn matches(subscription: &Subscription, event: &EventRow) -> bool {
    mismatches(subscription, event).is_empty()
}

/// One way a subscription does not want an event (see [`mismatches`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch<'a> {
    /// The subscription's stored filter cannot be read: it matches nothing.
    UnreadableFilter,
    /// The event is of another task (`deployment` where the subscription wants `evaluation`).
    Task { event: &'a str, wanted: &'a str },
    /// Same task, another suffix (`started` where the subscription wants `finished`).
    Suffix { event: &'a str, wanted: &'a str },
    /// The event's project, stage or service is not in the filter's non-empty list.
    NotIn {
        field: &'static str,
        event: Option<&'a str>,
        wanted: &'a [String],
    },
}

impl Mismatch<'_> {
    /// The field that differs: `filter`, `task`, `suffix`, `project`, `stage` or `service`.
    pub fn field(&self) -> &'static str {
        match self {
            Mismatch::UnreadableFilter => "filter",
            Mismatch::Task { .. } => "task",
            Mismatch::Suffix { .. } => "suffix",
            Mismatch::NotIn { field, .. } => field,
        }
    }

    /// In words, as the Events page and `/api/v1/event/{id}/matches` say it:
    /// "stage `production` not in [dev, staging]".
    pub fn message(&self) -> String {
        match self {
            Mismatch::UnreadableFilter => {
                "the stored filter cannot be read: the subscription matches nothing until its filter is set again".to_string()
            }
            Mismatch::Task { event, wanted } => format!("task `{event}` ≠ `{wanted}`"),
            Mismatch::Suffix { event, wanted } => format!("suffix `{event}` ≠ `{wanted}`"),
            Mismatch::NotIn {
                field,
                event: Some(value),
                wanted,
            } => format!("{field} `{value}` not in [{}]", wanted.join(", ")),
            Mismatch::NotIn {
                field,
                event: None,
                wanted,
            } => format!("the event has no {field}; the filter wants [{}]", wanted.join(", ")),
        }
    }
}

/// Every way `subscription` does not want `event`, in the order type, project, stage,
/// service; empty when it matches. Matching is Keptn's distributor's: the type exactly, or
/// with a trailing `>` any type that continues the prefix; an empty filter list takes any
/// value.
pub fn mismatches<'a>(subscription: &'a Subscription, event: &'a EventRow) -> Vec<Mismatch<'a>> {
    let filter = &subscription.filter;
    let unreadable = crate::domain::integrations::UNREADABLE_FILTER;
    if [&filter.projects, &filter.stages, &filter.services]
        .iter()
        .any(|list| list.iter().any(|value| value == unreadable))
    {
        return vec![Mismatch::UnreadableFilter];
    }
    let mut found = Vec::new();
    if !event.r#type.wanted_by(&subscription.event) {
        let (task, suffix) = (event.r#type.task(), event.r#type.suffix());
        let (wanted_task, wanted_suffix) = EventType::split(&subscription.event);
        found.push(if task == wanted_task {
            Mismatch::Suffix {
                event: suffix,
                wanted: wanted_suffix,
            }
        } else {
            Mismatch::Task {
                event: task,
                wanted: wanted_task,
            }
        });
    }
    for (field, wanted, value) in [
        ("project", &filter.projects, &event.project),
        ("stage", &filter.stages, &event.stage),
        ("service", &filter.services, &event.service),
    ] {
        if !wanted.is_empty() && !value.as_ref().is_some_and(|v| wanted.contains(v)) {
            found.push(Mismatch::NotIn {
                field,
                event: value.as_deref(),
                wanted,
            });
        }
    }
    found
}

/// Most events written in one transaction.
const INGEST_BATCH: usize = 256;

/// Ingress with group commit ([`db::group`]): each request's checked event is stored —
/// with the deliveries it causes, in the same transaction (the outbox) — together with
/// whatever else queued up meanwhile; the request is answered after the commit. The queue
/// is bounded: a request that finds it full is refused ([`Busy`]) and nothing is stored.
pub struct Ingestor {
    writer: GroupWriter<EventWrites>,
}

/// The ingest queue is full: the event was not accepted (the client should retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl Ingestor {
    /// Starts the writer task for `db` (needs a tokio runtime) with room for `capacity`
    /// waiting events; it ends with the last handle.
    pub fn start(db: Store, capacity: usize) -> Self {
        Self {
            writer: GroupWriter::start(EventWrites { db }, INGEST_BATCH, capacity),
        }
    }

    /// Checks `event`, stores it and queues its deliveries; returns once that committed,
    /// waiting for room in the queue (for events Uniform emits itself).
    /// An event whose id was accepted before changes nothing (`created: false`).
    pub async fn ingest(&self, event: Value) -> Result<Ingested, DomainError> {
        let event = normalize(event)?;
        self.writer
            .write(event)
            .await
            .map_err(DomainError::Internal)
    }

    /// Like [`Ingestor::ingest`], but `Err(Busy)` at once when the queue is full (for
    /// clients, who are told to retry).
    pub async fn try_ingest(&self, event: Value) -> Result<Result<Ingested, DomainError>, Busy> {
        let event = match normalize(event) {
            Ok(event) => event,
            Err(error) => return Ok(Err(error)),
        };
        match self.writer.try_write(event).await {
            Ok(written) => Ok(written.map_err(DomainError::Internal)),
            Err(crate::db::group::Full) => Err(Busy),
        }
    }
}

/// Events written by group commit: the batch, then a log line per new event and one wake-up
/// of the sender.
struct EventWrites {
    db: Store,
}

impl BatchWrite for EventWrites {
    type Item = EventRow;
    type Answer = Ingested;

    async fn write(&self, events: Vec<EventRow>) -> Result<Vec<Ingested>, String> {
        let subscriptions = crate::domain::integrations::all_cached(&self.db)
            .await
            .map_err(|e| e.to_string())?;
        let ingested = write_events(&self.db, &subscriptions, &events)
            .await
            .map_err(|e| e.to_string())?;
        for one in ingested.iter().filter(|one| one.created) {
            tracing::debug!(event = %one.id, r#type = %one.event_type,
                deliveries = one.deliveries, "event accepted");
        }
        if ingested.iter().any(|one| one.deliveries > 0) {
            self.db.wake().notify_one();
        }
        Ok(ingested)
    }
}

/// Stores `events` and their deliveries in one transaction (the transactional outbox).
async fn write_events(
    db: &Store,
    subscriptions: &[Integration],
    events: &[EventRow],
) -> sqlx::Result<Vec<Ingested>> {
    let now = util::now_rfc3339();
    let now_millis = util::now_millis();
    // The first event of each id in the batch is a candidate; a repeat is a duplicate.
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    let candidates: Vec<&EventRow> = events
        .iter()
        .filter(|event| ids.insert(event.id.as_str()))
        .collect();
    // The deliveries of every candidate, as if each were new (an event stored before
    // gets none: the store leaves them out).
    let mut deliveries = Vec::new();
    let mut caused = std::collections::HashMap::with_capacity(candidates.len());
    for event in &candidates {
        let before = deliveries.len();
        for integration in subscriptions {
            for subscription in &integration.subscriptions {
                if subscription.webhook.is_some() && matches(subscription, event) {
                    // Time-ordered ids: new deliveries append to the id index.
                    deliveries.push((
                        uuid::Uuid::now_v7().to_string(),
                        subscription.id.clone(),
                        integration.id.clone(),
                        event.id.clone(),
                    ));
                }
            }
        }
        caused.insert(event.id.as_str(), deliveries.len() - before);
    }
    let stored: std::collections::HashSet<String> = match db.script().await? {
        // SQLite's writer connection: the whole transaction in one call.
        Some(mut script) => db::events::insert_with_deliveries(
            &mut script,
            &candidates,
            &mut deliveries,
            &now,
            now_millis,
        )
        .await?
        .into_iter()
        .collect(),
        None => {
            let mut tx = db.write_tx().await?;
            let stored: std::collections::HashSet<String> =
                db::events::insert_many(&mut tx, &candidates, &now)
                    .await?
                    .into_iter()
                    .collect();
            deliveries.retain(|delivery| stored.contains(&delivery.3));
            db::events::insert_deliveries(&mut tx, &deliveries, &now, now_millis).await?;
            if !deliveries.is_empty() {
                // Every replica's sender hears of them when they commit.
                Store::notify_due(&mut tx).await?;
            }
            tx.commit().await?;
            stored
        }
    };
    let mut results = Vec::with_capacity(events.len());
    let mut done = std::collections::HashSet::with_capacity(stored.len());
    for event in events {
        if stored.contains(&event.id) && done.insert(event.id.as_str()) {
            results.push(Ingested {
                keptn_context: event.shkeptncontext.clone(),
                id: event.id.clone(),
                created: true,
                deliveries: caused.get(event.id.as_str()).copied().unwrap_or(0),
                event_type: event.r#type.clone(),
            });
            continue;
        }
        // Accepted before (or earlier in this batch): the context it was stored with.
        let keptn_context = db::events::context_of(db, &event.id)
            .await?
            .unwrap_or_else(|| event.shkeptncontext.clone());
        results.push(Ingested {
            keptn_context,
            id: event.id.clone(),
            created: false,
            deliveries: 0,
            event_type: event.r#type.clone(),
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::SubscriptionFilter;
    use serde_json::json;

    fn event(event_type: &str, stage: &str) -> EventRow {
        normalize(
            json!({"type": event_type, "specversion": "1.0", "source": "test",
                         "data": {"project": "p", "stage": stage, "service": "s"}}),
        )
        .unwrap()
    }

    fn subscription(event: &str, stages: &[&str]) -> Subscription {
        Subscription {
            event: event.to_string(),
            filter: SubscriptionFilter {
                stages: stages.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn matching_follows_keptns_distributor() {
        let seed = subscription("sh.keptn.event.evaluation.finished", &["dev", "staging"]);
        assert!(matches(
            &seed,
            &event("sh.keptn.event.evaluation.finished", "dev")
        ));
        assert!(matches(
            &seed,
            &event("sh.keptn.event.evaluation.finished", "staging")
        ));
        assert!(!matches(
            &seed,
            &event("sh.keptn.event.evaluation.finished", "production")
        ));
        assert!(!matches(
            &seed,
            &event("sh.keptn.event.evaluation.started", "dev")
        ));
        let unreadable = subscription(
            "sh.keptn.event.evaluation.finished",
            &[crate::domain::integrations::UNREADABLE_FILTER],
        );
        assert!(!matches(
            &unreadable,
            &event("sh.keptn.event.evaluation.finished", "dev")
        ));
        let any = subscription("sh.keptn.event.evaluation.>", &[]);
        assert!(matches(
            &any,
            &event("sh.keptn.event.evaluation.started", "x")
        ));
        assert!(!matches(
            &any,
            &event("sh.keptn.event.deployment.started", "x")
        ));
    }

    #[test]
    fn a_mismatch_says_which_value_differs() {
        let seed = subscription("sh.keptn.event.evaluation.finished", &["dev", "staging"]);
        let messages = |sub: &Subscription, event: &EventRow| {
            mismatches(sub, event)
                .iter()
                .map(|m| (m.field(), m.message()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            messages(
                &seed,
                &event("sh.keptn.event.evaluation.started", "production")
            ),
            vec![
                ("suffix", "suffix `started` ≠ `finished`".to_string()),
                (
                    "stage",
                    "stage `production` not in [dev, staging]".to_string()
                ),
            ]
        );
        assert_eq!(
            messages(&seed, &event("sh.keptn.event.deployment.finished", "dev")),
            vec![("task", "task `deployment` ≠ `evaluation`".to_string())]
        );
        let services = Subscription {
            filter: SubscriptionFilter {
                services: vec!["orders".to_string()],
                projects: vec!["shop".to_string()],
                ..Default::default()
            },
            ..subscription("sh.keptn.event.evaluation.>", &[])
        };
        let mut carts = event("sh.keptn.event.evaluation.finished", "dev");
        carts.service = Some("carts".to_string());
        carts.project = None;
        assert_eq!(
            messages(&services, &carts),
            vec![
                (
                    "project",
                    "the event has no project; the filter wants [shop]".to_string()
                ),
                ("service", "service `carts` not in [orders]".to_string()),
            ]
        );
        let unreadable = subscription(
            "sh.keptn.event.evaluation.finished",
            &[crate::domain::integrations::UNREADABLE_FILTER],
        );
        assert_eq!(
            messages(
                &unreadable,
                &event("sh.keptn.event.evaluation.finished", "dev")
            )[0]
            .0,
            "filter"
        );
        assert!(mismatches(&seed, &event("sh.keptn.event.evaluation.finished", "dev")).is_empty());
    }

    #[test]
    fn the_envelope_is_checked_and_completed() {
        let row = event("sh.keptn.event.evaluation.finished", "dev");
        assert!(uuid::Uuid::parse_str(&row.id).is_ok());
        assert!(uuid::Uuid::parse_str(&row.shkeptncontext).is_ok());
        let body: Value = serde_json::from_str(&row.body).unwrap();
        assert_eq!(body["id"], row.id.as_str());
        for (value, message) in [
            (json!([]), "the event must be a JSON object"),
            (
                json!({"specversion": "1.0", "source": "s", "data": {}}),
                "type is required",
            ),
            (
                json!({"type": 1, "specversion": "1.0", "source": "s", "data": {}}),
                "type must be a string",
            ),
            (
                json!({"type": "t", "source": "s", "data": {}}),
                "specversion is required",
            ),
            (
                json!({"type": "t", "specversion": "1.0", "data": {}}),
                "source is required",
            ),
            (
                json!({"type": "t", "specversion": "1.0", "source": "s"}),
                "data is required",
            ),
            (
                json!({"type": "t", "specversion": "1.0", "source": "s", "data": "x"}),
                "data must be an object",
            ),
            (
                json!({"type": "t", "specversion": "1.0", "source": "s", "data": {}, "triggeredid": 5}),
                "triggeredid must be a string",
            ),
        ] {
            assert_eq!(normalize(value).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn types_follow_keptns_grammar() {
        for good in [
            "sh.keptn.event.evaluation.finished",
            "sh.keptn.event.dev.delivery-direct.triggered",
            "sh.keptn.event.a_b.started",
            "sh.keptn.event.x",
        ] {
            assert!(parse_type(good).is_ok(), "{good}");
        }
        for bad in [
            "sh.keptn.event.a\nuniform_forged_total 1\n.finished",
            "sh.keptn.event.",
            "sh.keptn.event",
            "sh.keptn.event.a..finished",
            "sh.keptn.event.a.finished.",
            "sh.keptn.event.a b.finished",
            "sh.keptn.event.a\".finished",
            "sh.keptn.event.ä.finished",
            "t",
            "SH.keptn.event.a.finished",
        ] {
            let error = parse_type(bad).unwrap_err();
            assert!(
                matches!(&error, DomainError::Invalid { field, .. } if field == "type"),
                "{bad}: {error:?}"
            );
        }
        let forged = json!({"type": "sh.keptn.event.a\nuniform_forged_total 1\n.finished",
                            "specversion": "1.0", "source": "s", "data": {}});
        assert!(normalize(forged).is_err());
    }
}
