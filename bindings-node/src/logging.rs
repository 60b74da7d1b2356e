//! Core `tracing` events delivered to kafkajs's `logCreator`, in batches.
//!
//! A process-wide subscriber keeps events at or above the sink's level in a buffer. The first
//! event into an empty buffer schedules one call of the (unref'd) threadsafe function; that call
//! drains everything buffered by then into one JSON string. So a burst of logs is one JS call,
//! and no log ever blocks a core thread on the JS thread.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use napi::threadsafe_function::{ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsFunction, Result};
use napi_derive::napi;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// kafkajs levels: NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5.
static LEVEL: AtomicU8 = AtomicU8::new(0);
static SCHEDULED: AtomicBool = AtomicBool::new(false);
static BUFFER: Mutex<Vec<serde_json::Value>> = Mutex::new(Vec::new());
static SINK: Mutex<Option<ThreadsafeFunction<(), ErrorStrategy::Fatal>>> = Mutex::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();

fn kafkajs_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 4,
        _ => 5,
    }
}

struct Fields {
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        if field.name() == "message" {
            self.message = s;
        } else {
            self.extra.insert(field.name().to_string(), serde_json::Value::String(s));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.extra.insert(field.name().to_string(), value.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().to_string(), value.into());
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

struct JsLayer;

impl<S: Subscriber> Layer<S> for JsLayer {
    fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        // The level changes at run time: ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        meta.target().starts_with("polykafka") && kafkajs_level(meta.level()) <= LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields { message: String::new(), extra: serde_json::Map::new() };
        event.record(&mut fields);
        let ts = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let entry = serde_json::json!({
            "namespace": namespace(meta.target()),
            "level": kafkajs_level(meta.level()),
            "timestamp": ts,
            "message": fields.message,
            "extra": fields.extra,
        });
        BUFFER.lock().unwrap().push(entry);
        if !SCHEDULED.swap(true, Ordering::AcqRel) {
            if let Some(tsfn) = SINK.lock().unwrap().as_ref() {
                tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
            } else {
                SCHEDULED.store(false, Ordering::Release);
            }
        }
    }
}

/// Routes core logs at `level` (kafkajs numbering) or more severe to `sink`, which is called
/// with a JSON array of `{namespace, level, timestamp, message, extra}`. A new sink replaces
/// the old one. The sink does not keep the process alive.
#[napi]
pub fn set_log_sink(env: Env, sink: JsFunction, level: u32) -> Result<()> {
    let mut tsfn: ThreadsafeFunction<(), ErrorStrategy::Fatal> =
        sink.create_threadsafe_function(0, |ctx: ThreadSafeCallContext<()>| {
            SCHEDULED.store(false, Ordering::Release);
            let batch = std::mem::take(&mut *BUFFER.lock().unwrap());
            let json = serde_json::Value::Array(batch).to_string();
            Ok(vec![ctx.env.create_string(&json)?])
        })?;
    tsfn.unref(&env)?;
    *SINK.lock().unwrap() = Some(tsfn);
    set_log_level(level);
    INSTALLED.get_or_init(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(JsLayer));
        true
    });
    Ok(())
}

/// Changes the level of logs routed to the sink (0 turns them off).
#[napi]
pub fn set_log_level(level: u32) {
    LEVEL.store(level.min(5) as u8, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}
