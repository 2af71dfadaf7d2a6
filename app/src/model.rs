//! Wire types shared by the browser and the server (server-function arguments and results).

use serde::{Deserialize, Serialize};

/// The logged-in user, as the server's session check attaches it to a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
}

/// An API token as listed: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A token just created: the only time its plaintext exists outside the caller's hands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub token: String,
    pub created_at: String,
}

/// The only scope whose secrets webhooks may use.
pub const WEBHOOK_SCOPE: &str = "keptn-webhook-service";

/// A secret as listed: its name, scope and key names — never values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    pub name: String,
    pub scope: String,
    /// Sorted.
    pub keys: Vec<String>,
}

/// One key-value row of the secret form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// The secret form as submitted. On update, a row with an empty value keeps the stored value
/// of that key, a key missing from `data` is removed, and a new key is added.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretForm {
    pub name: String,
    pub scope: String,
    pub data: Vec<KeyValue>,
}

/// The integration built into Uniform that calls webhooks.
pub const WEBHOOK_SERVICE: &str = "webhook-service";

/// An integration (Keptn's uniform registration) with its subscriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Integration {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub metadata: IntegrationMetadata,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

/// Where an integration runs and when it was last seen (Keptn's field names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntegrationMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrationversion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributorversion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastseen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetesmetadata: Option<KubernetesMetadata>,
}

/// Kubernetes placement of an integration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KubernetesMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub podname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploymentname: Option<String>,
}

/// "When this event happens (and the filter matches), do this."
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Subscription {
    /// Set by the server (UUID v4); ignored on input.
    #[serde(default)]
    pub id: String,
    /// `sh.keptn.event.<task>.<triggered|started|finished|>>`.
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub filter: SubscriptionFilter,
    /// The request to send; required for webhook-service, absent for other integrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

/// Which events match: an empty list matches any value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SubscriptionFilter {
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default)]
    pub stages: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
}

/// The webhook request of a subscription, stored exactly as written (templates included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Webhook {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(rename = "sendStarted", default = "yes")]
    pub send_started: bool,
    #[serde(rename = "sendFinished", default = "yes")]
    pub send_finished: bool,
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            method: "POST".to_string(),
            url: String::new(),
            headers: Vec::new(),
            payload: String::new(),
            proxy: None,
            send_started: true,
            send_finished: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// One HTTP header of a webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Header {
    pub key: String,
    pub value: String,
}

/// Values seen in received events, for the subscription form's suggestions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenValues {
    /// Task names (e.g. `evaluation`), besides the standard ones.
    pub tasks: Vec<String>,
    pub projects: Vec<String>,
    pub stages: Vec<String>,
    pub services: Vec<String>,
}

/// A delivery that ended failed, shown as an error event of its integration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// The failed delivery (its detail page shows every attempt).
    pub delivery_id: String,
    /// The subscription it was for.
    pub subscription_id: String,
    /// When the delivery failed (RFC 3339).
    pub time: String,
    /// The task of the event (`evaluation` of `sh.keptn.event.evaluation.finished`).
    pub task: String,
    /// Why it failed (secret values masked).
    pub message: String,
    pub shkeptncontext: String,
}

/// Where a delivery is in its life: `pending` (waiting for its first or next attempt),
/// `retrying` (an attempt failed, another is due), then `delivered` or `failed` for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Retrying,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    /// Every status, in the order of a delivery's life.
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
    ];

    /// The name stored in the database and shown in the API and on the pages.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Whether more attempts may follow (pending or retrying).
    pub const fn under_way(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Retrying)
    }
}

/// A status name that is none of [`DeliveryStatus`]'s.
#[derive(Debug, thiserror::Error)]
#[error("unknown delivery status {0:?}")]
pub struct UnknownDeliveryStatus(pub String);

impl TryFrom<String> for DeliveryStatus {
    type Error = UnknownDeliveryStatus;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name).ok_or(UnknownDeliveryStatus(name))
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Keptn event type, `sh.keptn.event.<task>.<suffix>`: the task (it may hold dots, as
/// sequence events' `<stage>.<sequence>` do) and the last segment, the suffix (`triggered`,
/// `started`, `finished`, or `>` in a subscription for any). Only Keptn's grammar parses:
/// the prefix, then dot-separated, non-empty segments of ASCII letters, digits, `-` and `_`
/// (and `>` as a subscription's last segment). In JSON and in the database it is the whole
/// string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType {
    /// The whole type; task and suffix are read from it (see [`EventType::split`]).
    text: String,
}

impl EventType {
    /// What every Keptn event type starts with.
    pub const PREFIX: &'static str = "sh.keptn.event.";
    /// The suffix a subscription uses for "any suffix" (shown as `*`).
    pub const ANY: &'static str = ">";

    /// The type of `task` with `suffix`, when both are well-formed.
    pub fn new(task: &str, suffix: &str) -> Option<Self> {
        Self::parse(&format!("{}{task}.{suffix}", Self::PREFIX))
    }

    /// `sh.keptn.event.<task>.<suffix>` split into task and suffix, the segments unchecked
    /// (the suffix is the last segment; without the prefix, the whole text is split).
    pub fn split(text: &str) -> (&str, &str) {
        let rest = text.strip_prefix(Self::PREFIX).unwrap_or(text);
        rest.rsplit_once('.').unwrap_or((rest, ""))
    }

    /// Whether `text` follows the type's grammar.
    fn is_valid(text: &str) -> bool {
        let Some(rest) = text.strip_prefix(Self::PREFIX) else {
            return false;
        };
        let (task, suffix) = Self::split(text);
        let word = |segment: &str| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        };
        // Empty only for a one-segment type (not after a trailing dot).
        let suffix_ok =
            (suffix.is_empty() && !rest.contains('.')) || suffix == Self::ANY || word(suffix);
        task.split('.').all(word) && suffix_ok
    }

    /// `text` read as an event type, if it is one (see the type's grammar).
    pub fn parse(text: &str) -> Option<Self> {
        Self::is_valid(text).then(|| Self {
            text: text.to_string(),
        })
    }

    /// The whole type, `sh.keptn.event.evaluation.finished`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The task: `evaluation` of `sh.keptn.event.evaluation.finished`.
    pub fn task(&self) -> &str {
        Self::split(&self.text).0
    }

    /// The last segment: `finished`, or `>` for any (empty for a one-segment type).
    pub fn suffix(&self) -> &str {
        Self::split(&self.text).1
    }

    /// Whether a subscription to `pattern` wants this type (Keptn's distributor): the same
    /// type, or with the suffix `>` any type whose task is the pattern's task or continues it
    /// (`sh.keptn.event.dev.>` wants `sh.keptn.event.dev.delivery.triggered`).
    pub fn wanted_by(&self, pattern: &str) -> bool {
        if !pattern.starts_with(Self::PREFIX) {
            return false;
        }
        let (task, suffix) = Self::split(pattern);
        let (own_task, own_suffix) = Self::split(&self.text);
        if suffix == Self::ANY {
            (own_task == task && !own_suffix.is_empty())
                || own_task
                    .strip_prefix(task)
                    .is_some_and(|rest| rest.starts_with('.'))
        } else {
            own_task == task && own_suffix == suffix
        }
    }

    /// Without Keptn's prefix, `>` as `*`: `evaluation.finished`, `test.*`.
    pub fn short(&self) -> String {
        let (task, suffix) = Self::split(&self.text);
        match suffix {
            "" => task.to_string(),
            Self::ANY => format!("{task}.*"),
            suffix => format!("{task}.{suffix}"),
        }
    }
}

/// A text that is not a Keptn event type.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a Keptn event type")]
pub struct NotAnEventType(pub String);

impl TryFrom<String> for EventType {
    type Error = NotAnEventType;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if Self::is_valid(&text) {
            Ok(Self { text })
        } else {
            Err(NotAnEventType(text))
        }
    }
}

impl From<EventType> for String {
    fn from(event_type: EventType) -> Self {
        event_type.text
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A delivery: one subscription's request for one event, with its outcome so far. `id` is
/// also the `webhook-id` header the receiver sees on every attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    /// The whole type, e.g. `sh.keptn.event.evaluation.finished`.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub event_type: EventType,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    pub status: DeliveryStatus,
    pub attempt_count: i64,
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed (Slack's error string, the connection error…), masked.
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
    /// RFC 3339; `None` once delivered or failed.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// Only in the detail answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<Attempt>>,
}

/// One attempt of a delivery, as recorded (every secret value already `***`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub number: i64,
    pub started_at: String,
    pub duration_ms: i64,
    /// What was sent; `None` when the attempt failed before a request existed.
    pub request: Option<SentRequest>,
    /// What came back; `None` when no answer arrived (refused, timeout, connection error).
    pub response: Option<ReceivedResponse>,
    pub error: Option<String>,
}

/// An HTTP request as sent (or as it would be sent), secret values as `***`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    pub body: Option<String>,
}

/// An HTTP answer as received (the body cut at 4 KiB in the API), secret values as `***`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceivedResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<Header>,
    pub body: String,
}

/// Which deliveries to list (all fields optional; newest first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryQuery {
    pub subscription_id: Option<String>,
    /// `pending`, `retrying`, `delivered` or `failed`.
    pub status: Option<String>,
    /// Created at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Created before this instant (RFC 3339).
    pub to: Option<String>,
    /// 1–100, default 20.
    pub page_size: Option<i64>,
    /// From the previous page's answer.
    pub next_page_key: Option<String>,
}

/// A page of deliveries, newest first; `next_page_key` is empty on the last page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub next_page_key: String,
}

/// A webhook rendered for an event without sending it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The request as it would be sent, secret values as `***`.
    pub request: SentRequest,
    /// Whether the body is valid JSON.
    pub valid_json: bool,
    /// The body's `text` field (what Slack shows), when it has one.
    pub slack_text: Option<String>,
}

/// Why a preview or test send could not render: the field (`webhook.url`,
/// `webhook.headers[<i>].value`, `webhook.payload` or `event`) and, for a template or JSON
/// error, its 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderProblem {
    pub field: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// What the preview pane shows: the rendered request, or the problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PreviewOutcome {
    Rendered(Preview),
    Problem(RenderProblem),
}

/// The answer to a test send (the request went once through the real sender, no retries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestSend {
    pub request: SentRequest,
    /// The receiver's status and body (cut at 4 KiB); `None` when no answer arrived.
    pub response: Option<TestResponse>,
    pub duration_ms: i64,
    /// Why no answer arrived or the target was refused, masked.
    pub error: Option<String>,
}

/// The status and body a test send got back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TestResponse {
    pub status: u16,
    pub body: String,
}

/// What the test send in the subscription form shows: the outcome, or why nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TestSendOutcome {
    Sent(TestSend),
    Problem(RenderProblem),
}

/// Which events the Events page lists (all optional; newest first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct EventQuery {
    /// The whole CloudEvent type (`sh.keptn.event.evaluation.finished`).
    pub r#type: Option<String>,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    /// Received at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Received before this instant (RFC 3339).
    pub to: Option<String>,
    /// 1–100, default 20.
    pub page_size: Option<i64>,
    /// From the previous page's answer.
    pub next_page_key: Option<String>,
}

/// A received event as the Events page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    pub id: String,
    /// The whole type, e.g. `sh.keptn.event.evaluation.finished`.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub r#type: EventType,
    pub source: String,
    pub shkeptncontext: String,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    /// The event's own `time`.
    pub time: String,
    /// When Uniform accepted it (RFC 3339).
    pub received_at: String,
    /// How many deliveries it caused.
    pub deliveries: i64,
}

/// A page of events, newest first; `next_page_key` is empty on the last page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    pub events: Vec<EventSummary>,
    pub next_page_key: String,
    /// How many events match the filters in all.
    pub total_count: i64,
}

/// One reason a subscription did not fire for an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MatchReason {
    /// What differs: `task`, `suffix`, `project`, `stage`, `service` or `filter` (a stored
    /// filter that cannot be read).
    pub field: String,
    /// The event's value (`None` when the event has none).
    pub value: Option<String>,
    /// What the subscription wants.
    pub expected: Vec<String>,
    /// In words: "stage `production` not in [dev, staging]".
    pub message: String,
}

/// Whether one subscription fired for an event, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionMatch {
    pub integration_id: String,
    pub integration_name: String,
    pub subscription_id: String,
    /// The subscription's event type (`sh.keptn.event.evaluation.finished`).
    pub event: String,
    pub filter: SubscriptionFilter,
    /// Whether the subscription, as it is now, wants the event.
    pub matched: bool,
    /// Why it does not (empty when it matched).
    pub reasons: Vec<MatchReason>,
    /// The deliveries the event caused for this subscription.
    pub delivery_ids: Vec<String>,
}

/// Every webhook subscription of an event's task (and any other that wants the event), each
/// with whether it matches the event and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventMatches {
    pub event_id: String,
    /// The whole type, e.g. `sh.keptn.event.evaluation.finished`.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub event_type: EventType,
    /// The event's task (`evaluation` of `sh.keptn.event.evaluation.finished`).
    pub task: String,
    pub subscriptions: Vec<SubscriptionMatch>,
}

/// An event with everything the Events page shows about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    pub event: EventSummary,
    /// The event as stored, pretty-printed JSON.
    pub body: String,
    /// Its deliveries, newest first.
    pub deliveries: Vec<Delivery>,
    pub matches: EventMatches,
}

/// The Overview's figures: the last 24 hours and the queue as it is now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// When the figures were read (RFC 3339).
    pub generated_at: String,
    /// The window's start: 24 hours before `generated_at`.
    pub since: String,
    /// Events received in the window.
    pub events: i64,
    /// Deliveries of those events, and how they stand now.
    pub deliveries: i64,
    pub delivered: i64,
    pub failed: i64,
    /// delivered / (delivered + failed) in the window; `None` before anything settled.
    pub success_rate: Option<f64>,
    /// Deliveries waiting for their first attempt, and waiting to be retried (all, not only
    /// the window's).
    pub waiting: i64,
    pub retrying: i64,
    /// Seconds the oldest waiting or retrying delivery has been waiting; `None` when none is.
    pub oldest_pending_seconds: Option<i64>,
    /// Error events (failed deliveries) nobody has looked at yet.
    pub unread_errors: i64,
    /// The window in 96 slots of 15 minutes, oldest first.
    pub buckets: Vec<StatsBucket>,
    /// Every webhook subscription, in the order of the Integrations page.
    pub subscriptions: Vec<SubscriptionStats>,
}

/// The deliveries of the events received in one 15-minute slot, by how they stand now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatsBucket {
    /// The slot's start (RFC 3339).
    pub start: String,
    pub delivered: i64,
    /// Waiting for their first attempt or retrying.
    pub retrying: i64,
    pub failed: i64,
}

/// One subscription's figures in the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStats {
    pub integration_id: String,
    pub subscription_id: String,
    pub event: String,
    pub filter: SubscriptionFilter,
    pub deliveries: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Waiting or retrying now (of the window's deliveries).
    pub retrying: i64,
    pub success_rate: Option<f64>,
    /// Duration of the last attempt of delivered deliveries, 50th and 95th percentile.
    pub p50_duration_ms: Option<i64>,
    pub p95_duration_ms: Option<i64>,
    /// The newest reason a delivery failed or is being retried, masked.
    pub last_error: Option<LastError>,
}

/// The newest error of a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    /// When the delivery last changed (RFC 3339).
    pub at: String,
    pub message: String,
    pub delivery_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_parse_by_keptns_grammar() {
        let finished = EventType::parse("sh.keptn.event.evaluation.finished").expect("a type");
        assert_eq!(finished.task(), "evaluation");
        assert_eq!(finished.suffix(), "finished");
        assert_eq!(finished.short(), "evaluation.finished");
        assert_eq!(finished.to_string(), "sh.keptn.event.evaluation.finished");
        let sequence = EventType::parse("sh.keptn.event.dev.delivery.triggered").expect("a type");
        assert_eq!(sequence.task(), "dev.delivery");
        assert_eq!(sequence.suffix(), "triggered");
        let any = EventType::new("get-sli", ">").expect("a type");
        assert_eq!(any.to_string(), "sh.keptn.event.get-sli.>");
        assert_eq!(any.short(), "get-sli.*");
        let single = EventType::parse("sh.keptn.event.custom").expect("a type");
        assert_eq!((single.task(), single.suffix()), ("custom", ""));
        assert_eq!(single.to_string(), "sh.keptn.event.custom");
        assert!(finished.wanted_by("sh.keptn.event.evaluation.finished"));
        assert!(finished.wanted_by("sh.keptn.event.evaluation.>"));
        assert!(!finished.wanted_by("sh.keptn.event.evaluation.started"));
        assert!(!finished.wanted_by("sh.keptn.event.evaluationx.>"));
        assert!(!finished.wanted_by("evaluation.finished"));
        assert!(sequence.wanted_by("sh.keptn.event.dev.>"));
        assert!(sequence.wanted_by("sh.keptn.event.dev.delivery.>"));
        assert!(!single.wanted_by("sh.keptn.event.custom.>"));
        assert_eq!(EventType::split("sh.keptn.event.test.>"), ("test", ">"));
        for bad in [
            "",
            "evaluation.finished",
            "sh.keptn.event.",
            "sh.keptn.event.a..b",
            "sh.keptn.event.a.finished.",
            "sh.keptn.event.a b.finished",
            "sh.keptn.event.>.finished",
            "sh.keptn.event.x.finished ",
        ] {
            assert_eq!(EventType::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_event_type_is_a_string_in_json() {
        let started = EventType::new("test", "started").expect("a type");
        let json = serde_json::to_string(&started).expect("json");
        assert_eq!(json, r#""sh.keptn.event.test.started""#);
        let back: EventType = serde_json::from_str(&json).expect("back");
        assert_eq!(back.short(), "test.started");
        let refused = serde_json::from_str::<EventType>(r#""test.started""#)
            .expect_err("refused")
            .to_string();
        assert!(refused.contains("is not a Keptn event type"), "{refused}");
    }
}
