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
    /// When the delivery failed (RFC 3339).
    pub time: String,
    /// The task of the event (`evaluation` of `sh.keptn.event.evaluation.finished`).
    pub task: String,
    /// Why it failed (secret values masked).
    pub message: String,
    pub shkeptncontext: String,
}
