//! The engine's `tracing` records, captured for the host language's logging.
//!
//! Records are produced on the runtime's threads, where calling into Python, JavaScript or Go
//! per record would cost a lock of the host (the GIL, the JS thread) or a cgo call each. Instead
//! one process-wide subscriber keeps the records at or above [`set_level`] in a bounded
//! lock-free queue (a fork in the middle of a push cannot leave it locked in the child); the
//! binding drains it on its own thread ([`drain`]), woken by the function given to [`set_wake`]
//! when the queue stops being empty. When the queue is full, records are counted as dropped
//! and [`drain`] reports how many: memory stays bounded and nothing is lost silently.
//!
//! [`watch`] adds a (target, level) pair captured whatever the level, for records a binding
//! acts on (Python's `error_cb` reads the records of connections made and failed).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, Once, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_queue::ArrayQueue;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Records held at most; more are counted as dropped.
pub const CAPACITY: usize = 4096;

/// A field of a record other than its message.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    I64(i64),
    U64(u64),
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::I64(n) => write!(f, "{n}"),
            Value::U64(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One captured record.
#[derive(Clone, Debug)]
pub struct Record {
    pub level: Level,
    /// The engine's module (`polykafka::net::connection`).
    pub target: &'static str,
    pub message: String,
    pub fields: Vec<(&'static str, Value)>,
    /// Milliseconds since the epoch.
    pub timestamp_ms: u64,
}

impl Record {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The message followed by ` name=value` for each field.
    pub fn text(&self) -> String {
        let mut s = self.message.clone();
        for (n, v) in &self.fields {
            let _ = write!(s, " {n}={v}");
        }
        s
    }
}

/// 0: nothing; 1 error, 2 warn, 3 info, 4 debug, 5 trace.
static LEVEL: AtomicU8 = AtomicU8::new(2);
static QUEUE: OnceLock<ArrayQueue<Record>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Set when the wake function was called and the binding has not drained since: records
/// pushed meanwhile need no second wake-up.
static WOKEN: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();
static WATCHED: Mutex<Vec<(&'static str, Level)>> = Mutex::new(Vec::new());
static ANY_WATCHED: AtomicBool = AtomicBool::new(false);
type Wake = Box<dyn Fn() + Send + Sync>;
static WAKE: Mutex<Option<Wake>> = Mutex::new(None);

fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn queue() -> &'static ArrayQueue<Record> {
    QUEUE.get_or_init(|| ArrayQueue::new(CAPACITY))
}

/// Installs the capturing subscriber once per process (unless the program installed a global
/// subscriber of its own, which then gets the records instead).
pub fn install() {
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(QueueLayer));
    });
}

/// Captures records at `level` or more severe; `None` captures none (watched ones excepted).
pub fn set_level(level: Option<Level>) {
    LEVEL.store(level.as_ref().map_or(0, rank), Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

/// The level captured now.
pub fn level() -> Option<Level> {
    match LEVEL.load(Ordering::Relaxed) {
        0 => None,
        1 => Some(Level::ERROR),
        2 => Some(Level::WARN),
        3 => Some(Level::INFO),
        4 => Some(Level::DEBUG),
        _ => Some(Level::TRACE),
    }
}

/// Also captures the records of `target` at `level` or more severe, whatever [`set_level`] says.
pub fn watch(target: &'static str, level: Level) {
    let mut w = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
    if !w.contains(&(target, level)) {
        w.push((target, level));
    }
    ANY_WATCHED.store(true, Ordering::Release);
    tracing::callsite::rebuild_interest_cache();
}

/// Called (on an engine thread; it must not block) when a record arrives and the binding has
/// not been woken since its last [`drain`]. A new function replaces the previous one; `None`
/// removes it.
pub fn set_wake(wake: Option<Box<dyn Fn() + Send + Sync>>) {
    *WAKE.lock().unwrap_or_else(PoisonError::into_inner) = wake;
}

/// Hands every queued record to `f`, oldest first; returns how many records were dropped since
/// the last drain because the queue was full.
pub fn drain(mut f: impl FnMut(Record)) -> u64 {
    // Cleared before the queue is emptied: a record pushed after this wakes the binding again,
    // one pushed before is taken by this drain.
    WOKEN.store(false, Ordering::Release);
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    while let Some(r) = queue().pop() {
        f(r);
    }
    dropped
}

/// Records waiting in the queue.
pub fn pending() -> usize {
    queue().len()
}

fn wanted(meta: &Metadata<'_>) -> bool {
    if !meta.target().starts_with("polykafka") {
        return false;
    }
    if rank(meta.level()) <= LEVEL.load(Ordering::Relaxed) {
        return true;
    }
    ANY_WATCHED.load(Ordering::Acquire)
        && WATCHED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|(t, l)| meta.target() == *t && rank(meta.level()) <= rank(l))
}

struct QueueLayer;

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, Value)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields.push((field.name(), Value::Str(text)));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.push((field.name(), Value::Str(value.to_string())));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), Value::I64(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), Value::U64(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), Value::Bool(value)));
    }
}

impl<S: Subscriber> Layer<S> for QueueLayer {
    fn register_callsite(&self, _meta: &'static Metadata<'static>) -> Interest {
        // The level can change at run time: ask `enabled` each time.
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        wanted(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut f = Fields::default();
        event.record(&mut f);
        let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let record = Record { level: *meta.level(), target: meta.target(), message: f.message, fields: f.fields, timestamp_ms };
        if queue().push(record).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        if !WOKEN.swap(true, Ordering::AcqRel) {
            if let Some(wake) = WAKE.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    // One test: the subscriber and the queue are process-wide.
    #[test]
    fn capture_level_watch_wake_and_bound() {
        install();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        set_wake(Some(Box::new(move || {
            w.fetch_add(1, Ordering::Relaxed);
        })));
        set_level(Some(Level::WARN));
        tracing::warn!(target: "polykafka::test", addr = "127.0.0.1:1", attempt = 3u64, "cannot connect");
        tracing::info!(target: "polykafka::test", "not captured at WARN");
        tracing::warn!(target: "other_crate", "not the engine's");
        let mut got = Vec::new();
        assert_eq!(drain(|r| got.push(r)), 0);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].level, Level::WARN);
        assert_eq!(got[0].message, "cannot connect");
        assert_eq!(got[0].field("addr"), Some(&Value::Str("127.0.0.1:1".into())));
        assert_eq!(got[0].field("attempt"), Some(&Value::U64(3)));
        assert_eq!(got[0].text(), "cannot connect addr=127.0.0.1:1 attempt=3");
        assert!(woken.load(Ordering::Relaxed) >= 1);

        watch("polykafka::watched", Level::DEBUG);
        tracing::debug!(target: "polykafka::watched", "watched at debug");
        tracing::debug!(target: "polykafka::test", "not watched");
        let mut got = Vec::new();
        drain(|r| got.push(r.message));
        assert_eq!(got, vec!["watched at debug".to_string()]);

        set_level(None);
        tracing::error!(target: "polykafka::test", "level off");
        assert_eq!(pending(), 0);

        set_level(Some(Level::ERROR));
        for i in 0..CAPACITY + 10 {
            tracing::error!(target: "polykafka::test", i, "flood");
        }
        let mut n = 0;
        assert_eq!(drain(|_| n += 1), 10, "the records past the bound are counted");
        assert_eq!(n, CAPACITY);
        set_wake(None);
    }
}
