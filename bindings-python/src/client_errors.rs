//! `error_cb`: a client's errors that belong to no call, as librdkafka reports them - a broker
//! that cannot be reached (`_TRANSPORT`), every broker down (`_ALL_BROKERS_DOWN`), SASL refused
//! (`_AUTHENTICATION`), TLS failed (`_SSL`).
//!
//! Each client with an `error_cb` owns an [`ErrorSink`], whose [`Instrumentation`] goes into the
//! client's configuration wanting the core's `Connection` events: so the events are this
//! client's by construction, and typed (no log text is read). When the client serves its
//! callbacks (`poll`, `flush`, consumer `poll`), [`ErrorSink::serve`] drains the events and calls
//! `error_cb` on the caller's thread.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use polykafka::instrumentation::{ConnectionState, Event, EventKind, Instrumentation};
use polykafka::{ClientConfig, Error, ErrorKind};
use pyo3::prelude::*;

use crate::errors;

/// Events kept for the callback, at most, between two serves (the core counts the others).
const CAPACITY: usize = 1024;

/// One client's `error_cb` and its connection events.
pub struct ErrorSink {
    callback: Option<PyObject>,
    events: Instrumentation,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Errors for the callback: `(code, reason)`.
    pending: VecDeque<(i32, String)>,
    /// The last event was "all brokers down" (no connection made since).
    all_down: bool,
}

/// librdkafka's code for a connection that failed with `e`.
fn code_of(e: &Error) -> i32 {
    match e.kind() {
        ErrorKind::Authentication | ErrorKind::Authorization => errors::AUTHENTICATION,
        ErrorKind::Tls => errors::SSL,
        _ => errors::TRANSPORT,
    }
}

impl ErrorSink {
    /// A sink for `callback` (`None`: the client only wants to know whether every broker is
    /// down, see [`all_brokers_down`](Self::all_brokers_down)).
    pub fn new(callback: Option<PyObject>) -> Arc<ErrorSink> {
        let events = Instrumentation::new(CAPACITY, || {});
        events.set_wanted(EventKind::Connection.bit());
        Arc::new(ErrorSink { callback, events, state: Mutex::new(State::default()) })
    }

    pub fn has_callback(&self) -> bool {
        self.callback.is_some()
    }

    /// Takes the core's events: the errors wait for the callback, the "all down" state follows.
    fn update(&self) {
        let drained = self.events.drain();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for event in drained.events {
            let Event::Connection { broker, state, .. } = event else { continue };
            let (code, reason) = match state {
                ConnectionState::Connected => {
                    st.all_down = false;
                    continue;
                }
                ConnectionState::Failed(e) => {
                    let message = e.message();
                    let reason = if message.contains(&*broker) { message.to_string() } else { format!("{broker}: {message}") };
                    (code_of(&e), reason)
                }
                ConnectionState::AllBrokersDown(e) => {
                    st.all_down = true;
                    (errors::ALL_BROKERS_DOWN, format!("all broker connections are down ({broker}): {}", e.message()))
                }
            };
            if self.callback.is_some() {
                if st.pending.len() >= CAPACITY {
                    st.pending.pop_front();
                }
                st.pending.push_back((code, reason));
            }
        }
        if drained.dropped > 0 && self.callback.is_some() {
            tracing::warn!(dropped = drained.dropped, "error_cb: connection events dropped (more than {CAPACITY} between two polls)");
        }
    }

    /// Whether the client's last attempt to reach any broker found every one of them down.
    pub fn all_brokers_down(&self) -> bool {
        self.update();
        self.state.lock().unwrap_or_else(|p| p.into_inner()).all_down
    }

    /// Puts this sink into a client's configuration.
    pub fn attach(&self, client: &mut ClientConfig) {
        client.instrumentation = Some(self.events.clone());
    }

    /// Calls the callback with a `KafkaError` for each failed connection and each "all brokers
    /// down" of the client since the last call. Returns how many errors were served; an
    /// exception raised by the callback propagates (the errors after it are dropped, as
    /// librdkafka drops an event whose callback raised).
    pub fn serve(&self, py: Python<'_>) -> PyResult<usize> {
        self.update();
        let Some(callback) = &self.callback else { return Ok(0) };
        let mut served = 0;
        loop {
            let next = self.state.lock().unwrap_or_else(|p| p.into_inner()).pending.pop_front();
            let Some((code, reason)) = next else { return Ok(served) };
            let err = errors::new_kafka_error(py, code, &reason, false, false, false)?;
            served += 1;
            callback.bind(py).call1((err,))?;
        }
    }
}
