//! Instrumentation: events about a client's work, for bindings that expose them (kafkajs's
//! `network.request`, `network.request_timeout`, `network.request_queue_size` and
//! `consumer.heartbeat` events, for instance).
//!
//! A binding puts an [`Instrumentation`] in [`ClientConfig::instrumentation`] and says which
//! [`EventKind`]s it wants. The core never waits for the binding: an event goes into a bounded
//! buffer, the first event into an empty buffer calls the binding's waker once, and the binding
//! [`drain`](Instrumentation::drain)s everything buffered by then, in its own time (one call into
//! the host language per batch, not per request). When the buffer is full, events are dropped
//! and counted. A kind nobody wants costs one atomic load where it would be reported.
//!
//! [`ClientConfig::instrumentation`]: crate::ClientConfig::instrumentation

use crate::sync::MutexExt;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Events buffered at most, by default, before new ones are dropped.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The kinds of events, as bits of the mask given to [`Instrumentation::set_wanted`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EventKind {
    /// A request got its response (or was written, when none is expected).
    Request = 1,
    /// A request got no response within its timeout.
    RequestTimeout = 2,
    /// The number of requests waiting to be written on a connection changed.
    RequestQueueSize = 4,
    /// A group member's heartbeat succeeded (classic Heartbeat or KIP-848 ConsumerGroupHeartbeat).
    Heartbeat = 8,
    /// A connection to a broker was made or failed, or no broker could be reached.
    Connection = 16,
}

impl EventKind {
    pub fn bit(self) -> u8 {
        self as u8
    }
}

/// One request to one broker, as [`Event::Request`] and [`Event::RequestTimeout`] report it.
#[derive(Clone, Debug)]
pub struct RequestInfo {
    /// The broker's `host:port`.
    pub broker: Arc<str>,
    pub client_id: Arc<str>,
    pub correlation_id: i32,
    pub api_key: i16,
    pub api_version: i16,
    /// The response's size in bytes, without its 4-byte length prefix; 0 when none came.
    pub size: usize,
    /// When the request was made.
    pub created_at: SystemTime,
    /// When it was written, after waiting for a broker throttle or for its turn on the connection.
    pub sent_at: SystemTime,
    /// `sent_at - created_at`.
    pub pending_duration: Duration,
    /// From `sent_at` to the response (or to the timeout).
    pub duration: Duration,
}

impl RequestInfo {
    /// Kafka's name of the API (`Produce`, `Fetch`, `FindCoordinator`, ...).
    pub fn api_name(&self) -> String {
        crate::net::connection::api_name(self.api_key)
    }
}

#[derive(Clone, Debug)]
pub enum Event {
    Request(RequestInfo),
    RequestTimeout(RequestInfo),
    /// Requests waiting to be written on the connection to `broker`.
    RequestQueueSize { broker: Arc<str>, client_id: Arc<str>, queue_size: usize },
    Heartbeat { group_id: String, member_id: String, generation_id: i32 },
    /// A connection of this client to `broker` (`host:port`; the bootstrap list for
    /// `AllBrokersDown`) was made, or failed.
    Connection { broker: Arc<str>, client_id: Arc<str>, state: ConnectionState },
}

/// What happened to a connection (librdkafka reports these through `error_cb`).
#[derive(Clone, Debug)]
pub enum ConnectionState {
    Connected,
    /// This attempt failed with the error (a refused connection, TLS, authentication, ...).
    Failed(crate::Error),
    /// No broker of the client could be reached (each one failed), with the last error.
    AllBrokersDown(crate::Error),
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Request(_) => EventKind::Request,
            Event::RequestTimeout(_) => EventKind::RequestTimeout,
            Event::RequestQueueSize { .. } => EventKind::RequestQueueSize,
            Event::Heartbeat { .. } => EventKind::Heartbeat,
            Event::Connection { .. } => EventKind::Connection,
        }
    }
}

/// What [`Instrumentation::drain`] hands over: the events buffered, in order, and how many were
/// dropped since the last drain because the buffer was full.
#[derive(Debug, Default)]
pub struct Drained {
    pub events: Vec<Event>,
    pub dropped: u64,
}

/// The per-client event sink. Cheap to clone (shared); every connection of the client reports
/// into it.
#[derive(Clone)]
pub struct Instrumentation {
    inner: Arc<Inner>,
}

struct Inner {
    wanted: AtomicU8,
    capacity: usize,
    buffer: Mutex<Vec<Event>>,
    dropped: AtomicU64,
    scheduled: AtomicBool,
    waker: Box<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for Instrumentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumentation")
            .field("wanted", &self.inner.wanted.load(Ordering::Relaxed))
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl Instrumentation {
    /// A sink holding at most `capacity` undrained events. `waker` is called (on a core task,
    /// so it must not block) when an event arrives and no drain is due yet; it should arrange
    /// for [`drain`](Self::drain) to be called soon. No kind is wanted until
    /// [`set_wanted`](Self::set_wanted).
    pub fn new(capacity: usize, waker: impl Fn() + Send + Sync + 'static) -> Self {
        Instrumentation {
            inner: Arc::new(Inner {
                wanted: AtomicU8::new(0),
                capacity: capacity.max(1),
                buffer: Mutex::new(Vec::new()),
                dropped: AtomicU64::new(0),
                scheduled: AtomicBool::new(false),
                waker: Box::new(waker),
            }),
        }
    }

    /// The kinds wanted from now on: a mask of [`EventKind::bit`]s (0 turns everything off).
    pub fn set_wanted(&self, mask: u8) {
        self.inner.wanted.store(mask, Ordering::Relaxed);
    }

    pub fn wants(&self, kind: EventKind) -> bool {
        self.inner.wanted.load(Ordering::Relaxed) & kind.bit() != 0
    }

    /// Buffers `event` if its kind is wanted (dropping and counting it when the buffer is full),
    /// and wakes the binding if no drain is due yet.
    pub fn emit(&self, event: Event) {
        if !self.wants(event.kind()) {
            return;
        }
        {
            let mut buffer = self.inner.buffer.locked();
            if buffer.len() >= self.inner.capacity {
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            buffer.push(event);
        }
        if !self.inner.scheduled.swap(true, Ordering::AcqRel) {
            (self.inner.waker)();
        }
    }

    /// Takes every buffered event. An event emitted from now on wakes the binding again.
    pub fn drain(&self) -> Drained {
        self.inner.scheduled.store(false, Ordering::Release);
        let events = std::mem::take(&mut *self.inner.buffer.locked());
        Drained { events, dropped: self.inner.dropped.swap(0, Ordering::Relaxed) }
    }
}

/// Emits the event `make` builds, only when `sink` is set and wants `kind` (so nothing is built
/// for nobody).
pub(crate) fn report(sink: Option<&Instrumentation>, kind: EventKind, make: impl FnOnce() -> Event) {
    if let Some(sink) = sink {
        if sink.wants(kind) {
            sink.emit(make());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn heartbeat(n: i32) -> Event {
        Event::Heartbeat { group_id: "g".into(), member_id: "m".into(), generation_id: n }
    }

    #[test]
    fn unwanted_kinds_are_not_buffered() {
        let sink = Instrumentation::new(10, || {});
        sink.emit(heartbeat(1));
        assert!(sink.drain().events.is_empty());
        sink.set_wanted(EventKind::Heartbeat.bit());
        sink.emit(heartbeat(2));
        assert_eq!(sink.drain().events.len(), 1);
    }

    #[test]
    fn one_wake_per_batch_and_a_full_buffer_drops() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let sink = Instrumentation::new(3, move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        sink.set_wanted(EventKind::Heartbeat.bit());
        for n in 0..5 {
            sink.emit(heartbeat(n));
        }
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        let d = sink.drain();
        assert_eq!((d.events.len(), d.dropped), (3, 2));
        sink.emit(heartbeat(9));
        assert_eq!(wakes.load(Ordering::Relaxed), 2, "a drain re-arms the waker");
        assert_eq!(sink.drain().dropped, 0);
    }
}
