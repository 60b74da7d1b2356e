//! The one error type of the core.
//!
//! Every failure the client reports is an [`Error`]: a [`ErrorKind`] saying what class of problem
//! it is, the Kafka error code and its name when the broker returned one, the three flags every
//! binding exposes (`retriable`, `fatal`, `txn_requires_abort`) and a message naming the cause.

use std::fmt;

use kafka_protocol::error::ResponseError;

/// What class of problem an [`Error`] is. Bindings map these exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A configuration key that does not exist, or a value that is not valid for its key.
    Config,
    /// A broker could not be reached, or the connection broke.
    Connection,
    /// TLS failed: an untrusted or invalid certificate, a hostname mismatch.
    Tls,
    /// An operation did not complete within its timeout.
    Timeout,
    /// SASL authentication was refused.
    Authentication,
    /// The broker refused an operation for lack of permission.
    Authorization,
    /// The broker answered with a Kafka error code (see [`Error::code`]).
    Broker,
    /// A malformed or unexpected message on the wire.
    Protocol,
    /// The client (or the handle) was closed.
    Closed,
    /// An argument given to a call is not valid.
    InvalidArgument,
    /// A record could not be encoded or decoded.
    Serialization,
    /// The producer's buffer is full and did not drain within `max.block.ms`.
    QueueFull,
    /// A record is larger than `max.request.size` or the broker's limit.
    MessageTooLarge,
    /// The client is in a state it cannot leave (a fenced producer, for instance).
    Fatal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Connection => "connection",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Authentication => "authentication",
            ErrorKind::Authorization => "authorization",
            ErrorKind::Broker => "broker",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Closed => "closed",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Serialization => "serialization",
            ErrorKind::QueueFull => "queue_full",
            ErrorKind::MessageTooLarge => "message_too_large",
            ErrorKind::Fatal => "fatal",
        }
    }
}

/// A client error. Cheap to clone, so one failure can complete many waiting records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    code: i16,
    retriable: bool,
    fatal: bool,
    txn_requires_abort: bool,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A client-side error of `kind` with no Kafka code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            code: 0,
            retriable: matches!(kind, ErrorKind::Connection | ErrorKind::Timeout),
            fatal: kind == ErrorKind::Fatal,
            txn_requires_abort: false,
            message: message.into(),
        }
    }

    /// The error for a Kafka error code returned by a broker, `None` for 0 (no error).
    /// `context` says which request and resource it is about.
    pub fn from_code(code: i16, context: impl fmt::Display) -> Option<Self> {
        let err = ResponseError::try_from_code(code)?;
        let kind = kind_for_code(code);
        Some(Error {
            kind,
            code,
            retriable: err.is_retriable(),
            fatal: code == PRODUCER_FENCED,
            txn_requires_abort: false,
            message: context.to_string(),
        })
    }

    /// The error for a Kafka error code the caller knows is not 0; a 0 still gives an error
    /// (`UNKNOWN_SERVER_ERROR`, naming the context) rather than a panic.
    pub fn broker(code: i16, context: impl fmt::Display) -> Self {
        let context = context.to_string();
        Error::from_code(code, &context).unwrap_or_else(|| {
            Error::from_code(UNKNOWN_SERVER_ERROR, format!("{context} (an error without an error code)")).expect("-1 is an error code")
        })
    }

    /// `Ok(())` for code 0, the error otherwise.
    pub fn check(code: i16, context: impl fmt::Display) -> Result<()> {
        match Error::from_code(code, context) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Timeout, message)
    }
    pub fn closed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Closed, message)
    }
    pub fn connection(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Connection, message)
    }
    /// A record failed by the application's purge: still queued, or in flight (the broker's
    /// answer, if any, is ignored). A `Closed` error; see [`Error::purged_in_flight`].
    pub fn purged(in_flight: bool) -> Self {
        Error::closed(if in_flight { PURGED_IN_FLIGHT } else { PURGED_IN_QUEUE })
    }
    /// Whether this is [`Error::purged`]`(true)`: librdkafka's `_PURGE_INFLIGHT`.
    pub fn purged_in_flight(&self) -> bool {
        self.kind == ErrorKind::Closed && self.message == PURGED_IN_FLIGHT
    }
    /// Whether this is [`Error::purged`]`(false)`: librdkafka's `_PURGE_QUEUE`.
    pub fn purged_in_queue(&self) -> bool {
        self.kind == ErrorKind::Closed && self.message == PURGED_IN_QUEUE
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The Kafka error code, 0 when the error did not come from a broker.
    pub fn code(&self) -> i16 {
        self.code
    }
    /// The Kafka name of the code (`UNKNOWN_TOPIC_OR_PARTITION`), or the kind's name in capitals
    /// prefixed with `_` for client-side errors (`_TIMEOUT`).
    pub fn name(&self) -> String {
        if self.code != 0 {
            code_name(self.code)
        } else {
            format!("_{}", self.kind.as_str().to_ascii_uppercase())
        }
    }
    pub fn retriable(&self) -> bool {
        self.retriable
    }
    /// Logs a failure the engine handles on its own: at debug when it is retriable (the
    /// coordinator or a leader not there yet, a rebalance: the engine tries again), at warn
    /// otherwise. As librdkafka and the Java client, a warning is for what the user must act on.
    pub(crate) fn log_handled(&self, what: &str) {
        if self.retriable {
            tracing::debug!(error = %self, "{what}");
        } else {
            tracing::warn!(error = %self, "{what}");
        }
    }
    pub fn fatal(&self) -> bool {
        self.fatal
    }
    pub fn txn_requires_abort(&self) -> bool {
        self.txn_requires_abort
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn with_retriable(mut self, retriable: bool) -> Self {
        self.retriable = retriable;
        self
    }
    pub fn with_fatal(mut self, fatal: bool) -> Self {
        self.fatal = fatal;
        if fatal {
            self.retriable = false;
        }
        self
    }
    pub fn with_txn_requires_abort(mut self, abort: bool) -> Self {
        self.txn_requires_abort = abort;
        self
    }
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }
    /// The same error with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    /// Prefix the message with more context, saying each fact once: a context that already
    /// holds the whole message replaces it, and one the message already holds adds nothing.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        let context = context.to_string();
        if self.message.is_empty() || context.contains(self.message.as_str()) {
            self.message = context;
        } else if !self.message.contains(context.as_str()) {
            self.message = format!("{context}: {}", self.message);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.kind.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        match e.kind() {
            Io::TimedOut => Error::timeout(e.to_string()),
            Io::InvalidData if is_tls_error(&e) => Error::new(ErrorKind::Tls, e.to_string()),
            _ => Error::connection(e.to_string()),
        }
    }
}

fn is_tls_error(e: &std::io::Error) -> bool {
    e.get_ref().map(|inner| inner.is::<rustls::Error>()).unwrap_or(false)
}

const PURGED_IN_QUEUE: &str = "the record was purged from the queue";
const PURGED_IN_FLIGHT: &str = "the record was purged while in flight; whether the broker wrote it is unknown";

// Codes the core refers to by name.
pub const UNKNOWN_SERVER_ERROR: i16 = -1;
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
pub const CORRUPT_MESSAGE: i16 = 2;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const LEADER_NOT_AVAILABLE: i16 = 5;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub const REQUEST_TIMED_OUT: i16 = 7;
pub const MESSAGE_TOO_LARGE: i16 = 10;
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const NOT_COORDINATOR: i16 = 16;
pub const RECORD_LIST_TOO_LARGE: i16 = 18;
pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
pub const INVALID_CONFIG: i16 = 40;
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
pub const UNKNOWN_PRODUCER_ID: i16 = 59;
pub const PRODUCER_FENCED: i16 = 90;

fn kind_for_code(code: i16) -> ErrorKind {
    match code {
        TOPIC_AUTHORIZATION_FAILED
        | GROUP_AUTHORIZATION_FAILED
        | CLUSTER_AUTHORIZATION_FAILED
        | TRANSACTIONAL_ID_AUTHORIZATION_FAILED => ErrorKind::Authorization,
        SASL_AUTHENTICATION_FAILED | UNSUPPORTED_SASL_MECHANISM => ErrorKind::Authentication,
        MESSAGE_TOO_LARGE | RECORD_LIST_TOO_LARGE => ErrorKind::MessageTooLarge,
        INVALID_CONFIG => ErrorKind::Config,
        PRODUCER_FENCED => ErrorKind::Fatal,
        _ => ErrorKind::Broker,
    }
}

/// The Kafka name of an error code, as in the protocol guide (`NOT_LEADER_OR_FOLLOWER`).
pub fn code_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(ResponseError::Unknown(c)) => format!("UNKNOWN_CODE_{c}"),
        Some(e) => screaming_snake(&e.to_string()),
    }
}

fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_kafka_names() {
        assert_eq!(code_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(code_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(code_name(-1), "UNKNOWN_SERVER_ERROR");
        assert_eq!(code_name(90), "PRODUCER_FENCED");
        assert_eq!(code_name(0), "NONE");
        assert_eq!(code_name(9999), "UNKNOWN_CODE_9999");
    }

    #[test]
    fn every_code_up_to_the_newest_is_named() {
        for code in -1..=133i16 {
            if code == 0 {
                continue;
            }
            let name = code_name(code);
            assert!(!name.starts_with("UNKNOWN_CODE"), "code {code} has no name");
            assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()), "{name}");
        }
    }

    #[test]
    fn broker_errors_carry_flags() {
        let e = Error::from_code(6, "produce to t-0").unwrap();
        assert_eq!(e.kind(), ErrorKind::Broker);
        assert!(e.retriable());
        assert!(!e.fatal());
        assert_eq!(e.name(), "NOT_LEADER_OR_FOLLOWER");
        assert!(e.to_string().contains("produce to t-0"));
        let fenced = Error::from_code(PRODUCER_FENCED, "init").unwrap();
        assert!(fenced.fatal());
        assert_eq!(fenced.kind(), ErrorKind::Fatal);
        assert!(Error::check(0, "x").is_ok());
    }

    #[test]
    fn context_says_each_fact_once() {
        let e = Error::from_code(UNKNOWN_TOPIC_OR_PARTITION, "topic 'x'").unwrap();
        assert_eq!(e.clone().context("no metadata for topic 'x' within 1s").message(), "no metadata for topic 'x' within 1s");
        assert_eq!(e.clone().context("topic 'x'").message(), "topic 'x'");
        assert_eq!(e.context("Metadata").message(), "Metadata: topic 'x'");
        assert_eq!(Error::timeout("").context("flush").message(), "flush");
    }

    #[test]
    fn client_errors_are_named_by_kind() {
        let e = Error::timeout("flush");
        assert_eq!(e.name(), "_TIMEOUT");
        assert!(e.retriable());
        assert_eq!(e.code(), 0);
    }
}

/// The broker's rule for a topic name (Java's `Topic.validate`): 1 to 249 characters of
/// `[a-zA-Z0-9._-]`, not `.` or `..`. A name breaking it is the INVALID_TOPIC_EXCEPTION error
/// the broker would answer, given before any request: a consumer would otherwise retry its
/// metadata for ever. `what` names the call. An empty name stays an invalid argument.
pub fn check_topic_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what}: a topic name is empty")));
    }
    let why = if name == "." || name == ".." {
        Some("'.' and '..' are not allowed".to_string())
    } else if name.len() > 249 {
        Some(format!("{} characters, the limit is 249", name.len()))
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|c| format!("{c:?} is not one of [a-zA-Z0-9._-]"))
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::broker(INVALID_TOPIC_EXCEPTION, format!("{what}: topic '{name}' is not a valid name: {why}"))),
    }
}

#[cfg(test)]
mod topic_name_tests {
    use super::*;

    #[test]
    fn topic_names_follow_the_brokers_rule() {
        for ok in ["t", "__consumer_offsets", "a.b-c_D9", &"x".repeat(249)] {
            assert!(check_topic_name(ok, "test").is_ok(), "{ok}");
        }
        for bad in [".", "..", "bad topic!", "t/1", "caf\u{e9}", &"x".repeat(250)] {
            let e = check_topic_name(bad, "test").unwrap_err();
            assert_eq!((e.kind(), e.code()), (ErrorKind::Broker, INVALID_TOPIC_EXCEPTION), "{bad}: {e}");
        }
        assert_eq!(check_topic_name("", "test").unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}
