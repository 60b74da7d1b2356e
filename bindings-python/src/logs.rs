//! The core's `tracing` records, delivered to Python's `logging`.
//!
//! Records are produced on the runtime's threads, where calling into Python would mean taking
//! the GIL for each one. Instead a global subscriber keeps warnings and errors (and debug records
//! once a client was configured with `debug`) in a bounded lock-free queue, and the clients hand
//! them to their logger (`logging.getLogger("polykafka")` or the conf's `logger`) in `poll`,
//! `flush` and `close`. The queue has no lock, so a fork in the middle of a push cannot leave it
//! locked in the child. The core's records of connections made and failed also go to
//! `client_errors` (for `error_cb`) while a client listens.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

use crossbeam_queue::ArrayQueue;
use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::client_errors;

const CAPACITY: usize = 4096;

struct Record {
    level: Level,
    target: &'static str,
    message: String,
}

static QUEUE: OnceLock<ArrayQueue<Record>> = OnceLock::new();
static DEBUG: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

fn queue() -> &'static ArrayQueue<Record> {
    QUEUE.get_or_init(|| ArrayQueue::new(CAPACITY))
}

/// Installs the subscriber once per process (unless the embedding program installed its own).
pub fn install(debug: bool) {
    if debug {
        DEBUG.store(true, Ordering::Relaxed);
    }
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(QueueLayer);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

struct QueueLayer;

impl QueueLayer {
    fn wanted(meta: &Metadata<'_>) -> bool {
        *meta.level() <= Level::WARN || (*meta.level() <= Level::DEBUG && DEBUG.load(Ordering::Relaxed))
    }

    /// A record of the core's connections (made or failed), wanted by a client's `error_cb`.
    fn connection_record(meta: &Metadata<'_>) -> bool {
        // The atomic first: without a listener this costs one load per record.
        client_errors::listening() && *meta.level() <= Level::DEBUG && meta.target() == client_errors::TARGET
    }
}

/// The fields of a connection record: its message, `addr` and `error`.
#[derive(Default)]
struct ConnectionFields {
    message: String,
    addr: Option<String>,
    error: Option<String>,
}

impl Visit for ConnectionFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = text,
            "addr" => self.addr = Some(text),
            "error" => self.error = Some(text),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}

struct MessageVisitor<'a>(&'a mut String);

impl Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for QueueLayer {
    fn register_callsite(&self, _meta: &'static Metadata<'static>) -> Interest {
        // `debug` may be switched on later: ask again each time.
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        QueueLayer::wanted(meta) || QueueLayer::connection_record(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if QueueLayer::connection_record(meta) {
            let mut fields = ConnectionFields::default();
            event.record(&mut fields);
            client_errors::note(&fields.message, fields.addr, fields.error);
        }
        if !QueueLayer::wanted(meta) {
            return;
        }
        let mut message = String::new();
        event.record(&mut MessageVisitor(&mut message));
        let record = Record { level: *meta.level(), target: meta.target(), message };
        if queue().push(record).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn python_level(level: Level) -> i32 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

/// Hands the queued records to `logger` (a `logging.Logger`-like object with `.log`).
pub fn drain(py: Python<'_>, logger: &Bound<'_, PyAny>) -> PyResult<()> {
    let q = queue();
    if q.is_empty() && DROPPED.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        logger.call_method1("log", (30, "%s", format!("{dropped} log record(s) dropped: the log queue was full")))?;
    }
    while let Some(r) = q.pop() {
        logger.call_method1("log", (python_level(r.level), "%s: %s", r.target, r.message))?;
    }
    let _ = py;
    Ok(())
}

/// `logging.getLogger("polykafka")`.
pub fn default_logger(py: Python<'_>) -> PyResult<PyObject> {
    Ok(py.import("logging")?.call_method1("getLogger", ("polykafka",))?.unbind())
}
