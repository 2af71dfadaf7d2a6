//! Error types: [`StartupError`] (stops the process, names the option at fault) and
//! [`DomainError`] (an operation failed; mapped to the API or UI shape by the caller).

use std::fmt;

/// A start-up failure: printed as one line on stderr, exit code 2.
#[derive(Debug, thiserror::Error)]
pub struct StartupError {
    /// The command-line option or variable at fault, e.g. `--data-dir`, when there is one.
    pub option: Option<&'static str>,
    /// What is wrong, for a human.
    pub message: String,
}

impl StartupError {
    /// An error about `option`.
    pub fn new(option: &'static str, message: impl Into<String>) -> Self {
        Self {
            option: Some(option),
            message: message.into(),
        }
    }

    /// An error whose message names what is at fault itself.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            option: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.option {
            Some(option) => write!(f, "{option}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why an operation shared by the REST API and the UI failed. Each entry point maps it to
/// its own shape (`{"code","message"}` for the API, `AppError` for the UI).
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Input rejected; `field` names what is wrong.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A template in `field` does not parse (or references nothing); position 1-based.
    #[error("{message}")]
    Template {
        field: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// Conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// A failure of ours; logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// Input rejected because of `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

impl From<DomainError> for app::error::AppError {
    fn from(error: DomainError) -> Self {
        use app::error::AppError;
        match error {
            DomainError::Invalid { field, message } => AppError::Invalid { field, message },
            DomainError::Template {
                field,
                line,
                column,
                message,
            } => AppError::Invalid {
                field,
                message: format!("line {line}, column {column}: {message}"),
            },
            DomainError::NotFound(message) => AppError::NotFound(message),
            DomainError::Conflict(message) => AppError::Conflict(message),
            DomainError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                AppError::Internal
            }
        }
    }
}
