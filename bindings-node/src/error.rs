//! Core errors cross into JS as a napi error whose message is a marker followed by a JSON
//! object; `lib/errors.js` (one mapping table) turns it into the kafkajs class.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use napi::bindgen_prelude::ToNapiValue;
use napi::{Env, JsObject};
use polykafka::Error;

/// Prefix of every native error message; the façade recognises it.
pub const MARKER: &str = "polykafka-error:";

fn code_retriable(code: i16) -> bool {
    kafka_retriable(code)
}

/// Whether Kafka calls the code retriable (the Java client's `RetriableException`s), whatever
/// the core decided after its own retries.
fn kafka_retriable(code: i16) -> bool {
    // Built from the core's own view of a fresh error for the code.
    Error::from_code(code, "").map(|e| e.retriable()).unwrap_or(false)
}

/// The JSON description of a core error, as the façade reads it.
pub fn describe(e: &Error) -> serde_json::Value {
    serde_json::json!({
        "kind": e.kind().as_str(),
        "code": e.code(),
        "name": e.name(),
        "retriable": e.retriable(),
        "codeRetriable": e.code() != 0 && code_retriable(e.code()),
        "fatal": e.fatal(),
        "txnRequiresAbort": e.txn_requires_abort(),
        "message": e.message(),
    })
}

pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::from_reason(format!("{MARKER}{}", describe(&e)))
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for polykafka::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

/// Marks what a panic became: napi's `catch_unwind` (every synchronous entry point) throws the
/// panic's message as a `GenericFailure` without [`MARKER`]; [`spawn`] does the same for the
/// futures of asynchronous ones. The façade (`lib/native.js`) turns such errors into
/// `KafkaJSNonRetriableError`s.
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> napi::Error {
    let message = match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => s.to_string(),
            Err(_) => "panic from Rust code".to_string(),
        },
    };
    napi::Error::new(napi::Status::GenericFailure, message)
}

/// A future whose panic (while polled) becomes an error: the promise rejects instead of never
/// settling, and the runtime's worker lives on.
struct CatchPanic<F>(Pin<Box<F>>);

impl<T, F: Future<Output = napi::Result<T>>> Future for CatchPanic<F> {
    type Output = napi::Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || fut.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(panic_error(payload))),
        }
    }
}

/// `env.spawn_future` with panics caught: every asynchronous entry point goes through it.
pub fn spawn<T, F>(env: &Env, fut: F) -> napi::Result<JsObject>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    env.spawn_future(CatchPanic(Box::pin(fut)))
}
