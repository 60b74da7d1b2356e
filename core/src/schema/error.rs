//! Errors of the schema registry client and the serdes.
//!
//! The registry's own errors keep its HTTP status, error code (40401 subject not found, 40403
//! schema not found, 409 incompatible, 42201 invalid schema, ...) and message, as
//! confluent-kafka's `SchemaRegistryError` does. Each converts into the core's [`crate::Error`]:
//! registry and transport errors as connection errors (retriable when the registry was
//! unreachable or answered 5xx), the rest as serialization or config errors.

use std::fmt;

use crate::error::{Error as CoreError, ErrorKind};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaErrorKind {
    /// The registry answered with an error status (see `http_status`, `error_code`).
    Registry,
    /// The registry could not be reached, or did not answer within the timeout.
    Unreachable,
    /// A value does not match its schema, bytes are not in the wire format, a schema does not
    /// parse: nothing was produced for this value.
    Serialization,
    /// A bad setting (unknown key, bad value).
    Config,
}

/// A schema registry or serde error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    kind: SchemaErrorKind,
    http_status: u16,
    error_code: i32,
    message: String,
    retriable: bool,
}

pub type SchemaResult<T> = std::result::Result<T, SchemaError>;

impl SchemaError {
    /// An error answered by the registry.
    pub fn registry(http_status: u16, error_code: i32, message: impl Into<String>) -> Self {
        SchemaError {
            kind: SchemaErrorKind::Registry,
            http_status,
            error_code,
            message: message.into(),
            retriable: http_status >= 500 || http_status == 429,
        }
    }
    /// The registry could not be reached (retriable).
    pub fn unreachable(message: impl Into<String>) -> Self {
        SchemaError { kind: SchemaErrorKind::Unreachable, http_status: 0, error_code: -1, message: message.into(), retriable: true }
    }
    pub fn serialization(message: impl Into<String>) -> Self {
        SchemaError { kind: SchemaErrorKind::Serialization, http_status: 0, error_code: -1, message: message.into(), retriable: false }
    }
    pub fn config(message: impl Into<String>) -> Self {
        SchemaError { kind: SchemaErrorKind::Config, http_status: 0, error_code: -1, message: message.into(), retriable: false }
    }
    pub fn kind(&self) -> SchemaErrorKind {
        self.kind
    }
    /// The HTTP status of a registry error, 0 otherwise.
    pub fn http_status(&self) -> u16 {
        self.http_status
    }
    /// The registry's error code (e.g. 40401), -1 when there is none (confluent-kafka's
    /// `SchemaRegistryError.UNKNOWN`).
    pub fn error_code(&self) -> i32 {
        self.error_code
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn retriable(&self) -> bool {
        self.retriable
    }
    /// The same error with `context` (what was being done) before its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SchemaErrorKind::Registry => write!(
                f,
                "schema registry error (HTTP status {}, error code {}): {}",
                self.http_status, self.error_code, self.message
            ),
            SchemaErrorKind::Unreachable => write!(f, "schema registry unreachable: {}", self.message),
            SchemaErrorKind::Serialization => write!(f, "{}", self.message),
            SchemaErrorKind::Config => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for SchemaError {}

impl From<SchemaError> for CoreError {
    fn from(e: SchemaError) -> CoreError {
        let kind = match e.kind {
            SchemaErrorKind::Registry | SchemaErrorKind::Unreachable => ErrorKind::Connection,
            SchemaErrorKind::Serialization => ErrorKind::Serialization,
            SchemaErrorKind::Config => ErrorKind::Config,
        };
        CoreError::new(kind, e.to_string()).with_retriable(e.retriable)
    }
}
