//! The core's [`Error`] as confluent-kafka's `KafkaError` and `KafkaException`.
//!
//! `KafkaError` and `KafkaException` are pure-Python classes (`polykafka._errors`) so they can be
//! subclassed, pickled and compared like confluent-kafka's. The numbers are librdkafka's: negative
//! codes are local errors, positive codes the broker's.

use polykafka::{Error, ErrorKind};
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyDict;

// librdkafka's local error codes used here (see polykafka/_codes.py for all of them).
pub const BAD_MSG: i32 = -199;
pub const DESTROY: i32 = -197;
pub const FAIL: i32 = -196;
pub const TRANSPORT: i32 = -195;
pub const MSG_TIMED_OUT: i32 = -192;
pub const ALL_BROKERS_DOWN: i32 = -187;
pub const INVALID_ARG: i32 = -186;
pub const TIMED_OUT: i32 = -185;
pub const QUEUE_FULL: i32 = -184;
pub const SSL: i32 = -181;
pub const STATE: i32 = -172;
pub const AUTHENTICATION: i32 = -169;
pub const PURGE_QUEUE: i32 = -152;
pub const PURGE_INFLIGHT: i32 = -151;
pub const FATAL: i32 = -150;
pub const NOT_CONFIGURED: i32 = -145;
pub const UNKNOWN_PARTITION: i32 = -190;
// Broker codes with librdkafka's names.
pub const MSG_SIZE_TOO_LARGE: i32 = 10;

/// Where an error is reported: a failed delivery reports a timeout as `_MSG_TIMED_OUT`, a
/// call as `_TIMED_OUT`, as librdkafka does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Call,
    Delivery,
}

/// The confluent-kafka code of a core error. The one place where error kinds are mapped.
pub fn code_of(e: &Error, context: Context) -> i32 {
    let broker = e.code() as i32;
    let or = |local: i32| if broker != 0 { broker } else { local };
    match e.kind() {
        ErrorKind::Config => or(INVALID_ARG),
        ErrorKind::Connection => TRANSPORT,
        ErrorKind::Tls => SSL,
        ErrorKind::Timeout => match context {
            Context::Delivery => MSG_TIMED_OUT,
            Context::Call => TIMED_OUT,
        },
        ErrorKind::Authentication => or(AUTHENTICATION),
        ErrorKind::Authorization => or(AUTHENTICATION),
        // A record failed by an aborted transaction has no broker code; librdkafka purges it.
        ErrorKind::Broker if broker == 0 && e.txn_requires_abort() => PURGE_QUEUE,
        // A record for a partition the topic does not have, refused by the producer itself (not the
        // broker's answer, which is retriable): librdkafka's _UNKNOWN_PARTITION.
        ErrorKind::Broker if broker == polykafka::error::UNKNOWN_TOPIC_OR_PARTITION as i32 && !e.retriable() && e.message().starts_with("partition ") => {
            UNKNOWN_PARTITION
        }
        ErrorKind::Broker => or(FAIL),
        ErrorKind::Protocol => BAD_MSG,
        // A record failed because its producer was closed or purged: librdkafka's purge code.
        ErrorKind::Closed => match context {
            Context::Delivery if e.purged_in_flight() => PURGE_INFLIGHT,
            Context::Delivery => PURGE_QUEUE,
            Context::Call => DESTROY,
        },
        // A transaction call in the wrong state: librdkafka's _STATE.
        ErrorKind::InvalidArgument if e.message().starts_with("invalid transaction state") => STATE,
        ErrorKind::InvalidArgument => INVALID_ARG,
        ErrorKind::Serialization => BAD_MSG,
        ErrorKind::QueueFull => QUEUE_FULL,
        ErrorKind::MessageTooLarge => MSG_SIZE_TOO_LARGE,
        ErrorKind::Fatal => or(FATAL),
    }
}

struct Classes {
    kafka_error: Py<PyAny>,
    kafka_exception: Py<PyAny>,
}

static CLASSES: GILOnceCell<Classes> = GILOnceCell::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let m = py.import("polykafka._errors")?;
        Ok(Classes { kafka_error: m.getattr("KafkaError")?.unbind(), kafka_exception: m.getattr("KafkaException")?.unbind() })
    })
}

/// A `KafkaError` with the given fields.
pub fn new_kafka_error(py: Python<'_>, code: i32, reason: &str, fatal: bool, retriable: bool, txn_requires_abort: bool) -> PyResult<PyObject> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("fatal", fatal)?;
    kwargs.set_item("retriable", retriable)?;
    kwargs.set_item("txn_requires_abort", txn_requires_abort)?;
    Ok(classes(py)?.kafka_error.bind(py).call((code, reason), Some(&kwargs))?.unbind())
}

/// The core error as a `KafkaError`.
pub fn kafka_error(py: Python<'_>, e: &Error, context: Context) -> PyResult<PyObject> {
    new_kafka_error(py, code_of(e, context), e.message(), e.fatal(), e.retriable(), e.txn_requires_abort())
}

/// A `KafkaException` carrying `error` (a `KafkaError`).
pub fn exception_from(py: Python<'_>, error: PyObject) -> PyErr {
    match classes(py).and_then(|c| c.kafka_exception.bind(py).call1((error,))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// The Python exception for a failed call: `BufferError` for a full queue (as confluent-kafka),
/// `KafkaException` for everything else.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    if e.kind() == ErrorKind::QueueFull {
        return PyBufferError::new_err(e.message().to_string());
    }
    match kafka_error(py, e, Context::Call) {
        Ok(err) => exception_from(py, err),
        Err(e) => e,
    }
}

/// [`to_pyerr`] where no GIL token is at hand.
pub fn to_pyerr_gil(e: &Error) -> PyErr {
    Python::with_gil(|py| to_pyerr(py, e))
}

/// A `KafkaException` with code `_STATE`.
pub fn state_error(reason: &str) -> PyErr {
    Python::with_gil(|py| match new_kafka_error(py, STATE, reason, false, false, false) {
        Ok(err) => exception_from(py, err),
        Err(e) => e,
    })
}

/// Extension for results of the core.
pub trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for polykafka::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, &e))
    }
}

/// The exception for a panic inside the engine: a `KafkaException` with code `_FATAL`
/// (`fatal()` true: the client that panicked should be replaced), which is what confluent-kafka
/// programs catch - never PyO3's `PanicException`, a `BaseException` that `except Exception`
/// lets through. The interpreter and the other clients live on.
pub fn panic_error(py: Python<'_>, what: &str) -> PyErr {
    match new_kafka_error(py, FATAL, &format!("polykafka engine panicked (a bug, please report it): {what}"), true, false, false) {
        Ok(err) => exception_from(py, err),
        Err(e) => e,
    }
}

/// Runs `f`, turning a panic into [`panic_error`].
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(panic_error(py, &crate::runtime::panic_text(&*payload))),
    }
}
