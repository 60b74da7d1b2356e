//! Core logs delivered to kafkajs's `logCreator`, in batches.
//!
//! The capture is `polykafka_host::logs` (shared by every binding): a process-wide subscriber
//! keeps records at or above the level in a bounded queue. When a record enters the empty queue
//! the host calls our wake function, which schedules one call of the (unref'd) threadsafe
//! function; that call drains everything queued by then into one JSON string. So a burst of
//! logs is one JS call, no log ever blocks a core thread on the JS thread, and records dropped
//! because the queue was full are reported as one WARN entry.

use std::sync::Mutex;

use napi::threadsafe_function::{ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsFunction, Result};
use napi_derive::napi;
use polykafka_host::logs::{self, Record, Value};
use tracing::Level;

type Sink = ThreadsafeFunction<(), ErrorStrategy::Fatal>;

/// One sink per Node environment (the main thread and each worker that logs), by its raw
/// pointer. The wake calls the first whose environment still lives: a terminated worker's sink
/// (aborted by Node at its teardown) is dropped, and the others keep receiving the logs.
static SINKS: Mutex<Vec<(usize, Sink)>> = Mutex::new(Vec::new());

/// kafkajs levels: NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5.
fn kafkajs_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 4,
        _ => 5,
    }
}

/// `polykafka::net::connection` -> `Connection`, as kafkajs names its namespaces.
fn namespace(target: &str) -> String {
    let last = target.rsplit("::").next().unwrap_or(target);
    let mut out = String::new();
    for part in last.split('_') {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn entry(r: Record) -> serde_json::Value {
    let extra: serde_json::Map<String, serde_json::Value> = r
        .fields
        .into_iter()
        .map(|(name, v)| {
            let v = match v {
                Value::Str(s) => s.into(),
                Value::I64(n) => n.into(),
                Value::U64(n) => n.into(),
                Value::Bool(b) => b.into(),
            };
            (name.to_string(), v)
        })
        .collect();
    serde_json::json!({
        "namespace": namespace(r.target),
        "level": kafkajs_level(&r.level),
        "timestamp": r.timestamp_ms,
        "message": r.message,
        "extra": extra,
    })
}

/// Everything queued, as the JSON array the façade reads; records dropped since the last drain
/// come first as one WARN entry.
fn drain_json() -> String {
    let mut batch = Vec::new();
    let dropped = logs::drain(|r| batch.push(entry(r)));
    if dropped > 0 {
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        batch.insert(
            0,
            serde_json::json!({
                "namespace": "Logs",
                "level": 2,
                "timestamp": ts,
                "message": format!("{dropped} engine log records were dropped: they came faster than the logCreator took them"),
                "extra": { "dropped": dropped },
            }),
        );
    }
    serde_json::Value::Array(batch).to_string()
}

/// Routes core logs at `level` (kafkajs numbering) or more severe to `sink`, which is called
/// with a JSON array of `{namespace, level, timestamp, message, extra}`. A new sink replaces
/// the old one of the same environment (thread). The sink does not keep the process alive.
#[napi(catch_unwind)]
pub fn set_log_sink(env: Env, sink: JsFunction, level: u32) -> Result<()> {
    let mut tsfn: Sink = sink.create_threadsafe_function(0, |ctx: ThreadSafeCallContext<()>| {
        Ok(vec![ctx.env.create_string(&drain_json())?])
    })?;
    tsfn.unref(&env)?;
    let key = env.raw() as usize;
    {
        let mut sinks = SINKS.lock().unwrap_or_else(|e| e.into_inner());
        sinks.retain(|(k, s)| *k != key && !s.aborted());
        sinks.push((key, tsfn));
    }
    logs::install();
    logs::set_wake(Some(Box::new(|| {
        let mut sinks = SINKS.lock().unwrap_or_else(|e| e.into_inner());
        sinks.retain(|(_, s)| !s.aborted());
        // A sink whose environment is closing refuses the call: the next one gets it.
        for (_, tsfn) in sinks.iter() {
            if tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking) == napi::Status::Ok {
                break;
            }
        }
    })));
    set_log_level(level);
    Ok(())
}

/// Changes the level of logs routed to the sink (0 turns them off).
#[napi(catch_unwind)]
pub fn set_log_level(level: u32) {
    logs::set_level(match level {
        0 => None,
        1 => Some(Level::ERROR),
        2 => Some(Level::WARN),
        3 | 4 => Some(Level::INFO),
        _ => Some(Level::DEBUG),
    });
}
