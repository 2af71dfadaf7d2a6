//! The error the UI can show: safe for users (no internals), carried by server functions.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words fit for the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: the user must log in again.
    #[error("Your session has ended. Please log in again.")]
    Unauthenticated,
    /// Input was rejected; `field` names the form field the message belongs next to.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (duplicate, in use).
    #[error("{0}")]
    Conflict(String),
    /// Something failed on the server; details are in the server log.
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl AppError {
    /// The message for `field`, when this error is about that field.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
