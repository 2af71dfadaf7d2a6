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
