//! Errors of the core: what the caller asked for cannot be done.
//!
//! Each kind maps to one HTTP status in the API crate; the core never knows
//! about HTTP.

use thiserror::Error;

/// A value that fails validation at the boundary.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InvalidInput(String);

impl InvalidInput {
    /// An invalid-input error with a lowercase message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

/// Why a command was refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// The input is malformed or out of range.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The object exists but is in a state that does not allow the command.
    #[error("{0}")]
    Conflict(String),
}

impl CoreError {
    /// The kind, as logs and metrics name it: `invalid`, `not_found`, `conflict`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub(crate) fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict(what.into())
    }
}

/// Result of a core command.
pub type CoreResult<T> = Result<T, CoreError>;
