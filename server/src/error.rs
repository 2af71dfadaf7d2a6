//! Errors that stop the process from starting, each naming the option at fault.

use std::fmt;

/// A start-up failure: printed as one line on stderr, exit code 2.
#[derive(Debug, thiserror::Error)]
pub struct StartupError {
    /// The command-line option whose value is at fault, e.g. `--data-dir`.
    pub option: &'static str,
    /// What is wrong, for a human.
    pub message: String,
}

impl StartupError {
    /// An error about `option`.
    pub fn new(option: &'static str, message: impl Into<String>) -> Self {
        Self {
            option,
            message: message.into(),
        }
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.option, self.message)
    }
}
