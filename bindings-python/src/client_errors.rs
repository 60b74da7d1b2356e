//! `error_cb`: a client's errors that belong to no call, as librdkafka reports them - a broker
//! that cannot be reached (`_TRANSPORT`), every broker down (`_ALL_BROKERS_DOWN`), SASL refused
//! (`_AUTHENTICATION`), TLS failed (`_SSL`).
//!
//! The core reports each connection attempt on `tracing` (target `polykafka::cluster`): a
//! warning "connection failed" with the fields `addr` and `error` (the core's `Error`, shown as
//! `NAME (kind): message`), a debug record "connected" with `addr`. It has no per-client event
//! for them, so the log layer (`logs.rs`) hands these records to [`note`], which keeps them in a
//! lock-free queue (on the runtime's threads: no lock, no Python). Each client with an
//! `error_cb` owns an [`ErrorSink`]; when a client serves its callbacks (`poll`, `flush`,
//! consumer `poll`), [`ErrorSink::serve`] moves the queued records into every live sink, then
//! calls the client's `error_cb` for the records about its own brokers (its bootstrap servers
//! and the brokers of its metadata), on the caller's thread. Two clients of the same cluster
//! both hear of a broker that is down, as each of them would find it down.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crossbeam_queue::ArrayQueue;
use polykafka::cluster::Cluster;
use pyo3::prelude::*;

use crate::errors;

/// The `tracing` target of the core's connection records.
pub const TARGET: &str = "polykafka::cluster";

/// Records kept for sinks, at most (the oldest go first), in the queue and in each sink.
const CAPACITY: usize = 1024;

#[derive(Clone, Debug)]
enum ConnEvent {
    Failed { addr: String, kind: String, message: String },
    Connected { addr: String },
}

static QUEUE: OnceLock<ArrayQueue<ConnEvent>> = OnceLock::new();
/// Live sinks: records are only kept while someone listens.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);
/// Every sink, weakly; only touched by Python threads holding the GIL (so a fork, which holds
/// the GIL, never finds it locked).
static SINKS: Mutex<Vec<Weak<ErrorSink>>> = Mutex::new(Vec::new());

fn queue() -> &'static ArrayQueue<ConnEvent> {
    QUEUE.get_or_init(|| ArrayQueue::new(CAPACITY))
}

/// Whether a record of `TARGET` is wanted now (the log layer asks before reading its fields).
pub fn listening() -> bool {
    LISTENERS.load(Ordering::Relaxed) > 0
}

/// A record of the core's cluster module: `message` and its fields `addr` and `error`.
/// Called by the log layer on whatever thread logged it.
pub fn note(message: &str, addr: Option<String>, error: Option<String>) {
    let Some(addr) = addr else { return };
    let event = match message {
        "connection failed" => {
            let text = error.unwrap_or_default();
            let (kind, message) = split_error(&text);
            ConnEvent::Failed { addr, kind, message }
        }
        "connected" => ConnEvent::Connected { addr },
        _ => return,
    };
    queue().force_push(event);
}

/// `NAME (kind): message` (the core's `Display` of an `Error`) as `(kind, message)`.
fn split_error(text: &str) -> (String, String) {
    if let Some(open) = text.find(" (") {
        if let Some(close) = text[open..].find("): ") {
            let kind = &text[open + 2..open + close];
            if !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return (kind.to_string(), text[open + close + 3..].to_string());
            }
        }
    }
    (String::new(), text.to_string())
}

/// librdkafka's code for a connection that failed with an error of `kind`.
fn code_of(kind: &str) -> i32 {
    match kind {
        "authentication" | "authorization" => errors::AUTHENTICATION,
        "tls" => errors::SSL,
        _ => errors::TRANSPORT,
    }
}

struct State {
    inbox: VecDeque<ConnEvent>,
    /// Errors for the callback: `(code, reason)`.
    pending: VecDeque<(i32, String)>,
    /// Addresses whose last attempt failed.
    down: HashSet<String>,
    /// `_ALL_BROKERS_DOWN` was reported and no broker connected since.
    all_down_reported: bool,
}

/// One client's `error_cb` and what it has not been told yet.
pub struct ErrorSink {
    callback: PyObject,
    state: Mutex<State>,
}

impl ErrorSink {
    /// A sink for `callback`, registered: records from now on are kept for it.
    pub fn register(callback: PyObject) -> Arc<ErrorSink> {
        let sink = Arc::new(ErrorSink {
            callback,
            state: Mutex::new(State { inbox: VecDeque::new(), pending: VecDeque::new(), down: HashSet::new(), all_down_reported: false }),
        });
        let mut sinks = SINKS.lock().unwrap_or_else(|p| p.into_inner());
        sinks.retain(|s| s.strong_count() > 0);
        sinks.push(Arc::downgrade(&sink));
        LISTENERS.fetch_add(1, Ordering::Relaxed);
        sink
    }

    /// Moves the queued records into every live sink.
    fn distribute() {
        let q = queue();
        if q.is_empty() {
            return;
        }
        let sinks: Vec<Arc<ErrorSink>> =
            SINKS.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect();
        while let Some(event) = q.pop() {
            for sink in &sinks {
                let mut state = sink.state.lock().unwrap_or_else(|p| p.into_inner());
                if state.inbox.len() >= CAPACITY {
                    state.inbox.pop_front();
                }
                state.inbox.push_back(event.clone());
            }
        }
    }

    /// Calls the callback with a `KafkaError` for each record about `cluster`'s brokers, and
    /// `_ALL_BROKERS_DOWN` when none of them is up. Returns how many errors were served; an
    /// exception raised by the callback propagates (the errors after it wait for the next call).
    pub fn serve(&self, py: Python<'_>, cluster: &Cluster) -> PyResult<usize> {
        ErrorSink::distribute();
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.inbox.is_empty() && state.pending.is_empty() {
                return Ok(0);
            }
            let meta = cluster.metadata();
            let mut brokers: Vec<String> = meta.brokers.values().map(|b| format!("{}:{}", b.host, b.port)).collect();
            let bootstrap = &cluster.config().bootstrap_servers;
            let owns = |addr: &str| bootstrap.iter().any(|b| b == addr) || brokers.iter().any(|b| b == addr);
            let inbox = std::mem::take(&mut state.inbox);
            for event in inbox {
                match event {
                    ConnEvent::Connected { addr } if owns(&addr) => {
                        state.down.remove(&addr);
                        state.all_down_reported = false;
                    }
                    ConnEvent::Failed { addr, kind, message } if owns(&addr) => {
                        let reason = if message.contains(&addr) { message } else { format!("{addr}: {message}") };
                        state.pending.push_back((code_of(&kind), reason));
                        state.down.insert(addr);
                    }
                    _ => {}
                }
            }
            // Every broker this client knows (its bootstrap servers until it has metadata).
            if brokers.is_empty() {
                brokers = bootstrap.clone();
            }
            let down = brokers.iter().filter(|b| state.down.contains(*b)).count();
            if !state.all_down_reported && !brokers.is_empty() && down == brokers.len() {
                state.all_down_reported = true;
                state.pending.push_back((errors::ALL_BROKERS_DOWN, format!("{down}/{} brokers are down", brokers.len())));
            }
        }
        let mut served = 0;
        loop {
            let next = self.state.lock().unwrap_or_else(|p| p.into_inner()).pending.pop_front();
            let Some((code, reason)) = next else { return Ok(served) };
            let err = errors::new_kafka_error(py, code, &reason, false, false, false)?;
            served += 1;
            self.callback.bind(py).call1((err,))?;
        }
    }
}

impl Drop for ErrorSink {
    fn drop(&mut self) {
        LISTENERS.fetch_sub(1, Ordering::Relaxed);
    }
}
