//! Core instrumentation events (requests, request timeouts, queued requests, heartbeats)
//! delivered to a façade's kafkajs event emitter, in batches.
//!
//! Each native client owns one [`EventSink`]: the core's [`Instrumentation`] plus an unref'd
//! threadsafe function. The core wakes it once per batch; the JS call drains everything buffered
//! by then into one JSON string, so a burst of requests is one JS call. The façade turns kinds
//! on only while it has listeners for them (`setEvents`), so nothing is recorded, let alone sent
//! to JS, for nobody. A slow JS thread makes the core drop (and count) events, never wait.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use napi::threadsafe_function::{ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsFunction, JsUnknown, Result};
use polykafka::instrumentation::{Event, RequestInfo, DEFAULT_CAPACITY};
use polykafka::Instrumentation;
use serde_json::{json, Value};

type Tsfn = ThreadsafeFunction<(), ErrorStrategy::Fatal>;

pub(crate) struct EventSink {
    instrumentation: Instrumentation,
    tsfn: Arc<Mutex<Option<Tsfn>>>,
}

impl EventSink {
    /// A sink calling `callback(json, dropped)` with a JSON array of events (see [`to_json`]) and
    /// the number of events dropped since the last call.
    pub(crate) fn new(env: &Env, callback: JsFunction) -> Result<Self> {
        let slot: Arc<Mutex<Option<Tsfn>>> = Arc::new(Mutex::new(None));
        let wake = slot.clone();
        let instrumentation = Instrumentation::new(DEFAULT_CAPACITY, move || {
            if let Some(tsfn) = wake.lock().unwrap().as_ref() {
                tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        let source = instrumentation.clone();
        let mut tsfn: Tsfn = callback.create_threadsafe_function(0, move |ctx: ThreadSafeCallContext<()>| {
            let drained = source.drain();
            let json = Value::Array(drained.events.iter().map(to_json).collect()).to_string();
            let args: Vec<JsUnknown> = vec![
                ctx.env.create_string(&json)?.into_unknown(),
                ctx.env.create_double(drained.dropped as f64)?.into_unknown(),
            ];
            Ok(args)
        })?;
        tsfn.unref(env)?;
        *slot.lock().unwrap() = Some(tsfn);
        Ok(EventSink { instrumentation, tsfn: slot })
    }

    pub(crate) fn instrumentation(&self) -> Instrumentation {
        self.instrumentation.clone()
    }

    /// Stops delivery and releases the JS callback (it refers to the façade's emitter).
    fn close(&self) {
        self.instrumentation.set_wanted(0);
        self.tsfn.lock().unwrap().take();
    }
}

impl Drop for EventSink {
    fn drop(&mut self) {
        // The callback holds the instrumentation, which holds the callback: break the cycle.
        self.close();
    }
}

/// Optional: native objects made without a callback report nothing.
pub(crate) fn sink(env: &Env, callback: Option<JsFunction>) -> Result<Option<EventSink>> {
    callback.map(|f| EventSink::new(env, f)).transpose()
}

/// The kinds wanted: a mask of `EventKind` bits (request 1, request timeout 2, request queue
/// size 4, heartbeat 8).
pub(crate) fn set_wanted(sink: &Option<EventSink>, mask: u32) {
    if let Some(s) = sink {
        s.instrumentation.set_wanted((mask & 0xff) as u8);
    }
}

/// At a client's close: no more events.
pub(crate) fn close(sink: &Option<EventSink>) {
    if let Some(s) = sink {
        s.close();
    }
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// kafkajs's name of an API where it differs from Kafka's.
fn kafkajs_api_name(r: &RequestInfo) -> String {
    match r.api_key {
        10 => "GroupCoordinator".to_string(),
        _ => r.api_name(),
    }
}

/// One event as a positional array, its kind first; `lib/events.js` names the fields in
/// kafkajs's order.
fn to_json(e: &Event) -> Value {
    let request = |kind: &str, r: &RequestInfo| {
        json!([
            kind,
            &*r.broker,
            &*r.client_id,
            r.correlation_id,
            r.size,
            epoch_ms(r.created_at),
            epoch_ms(r.sent_at),
            r.pending_duration.as_millis() as u64,
            r.duration.as_millis() as u64,
            kafkajs_api_name(r),
            r.api_key,
            r.api_version,
        ])
    };
    match e {
        Event::Request(r) => request("request", r),
        Event::RequestTimeout(r) => request("request_timeout", r),
        Event::RequestQueueSize { broker, client_id, queue_size } => json!(["request_queue_size", &**broker, &**client_id, queue_size]),
        Event::Heartbeat { group_id, member_id, generation_id } => json!(["heartbeat", group_id, member_id, generation_id]),
        // kafkajs has no per-broker connection event; the façade never asks for these.
        Event::Connection { .. } => Value::Null,
    }
}
