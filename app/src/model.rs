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
