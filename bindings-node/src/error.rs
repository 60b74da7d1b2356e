//! Core errors cross into JS as a napi error whose message is a marker followed by a JSON
//! object; `lib/errors.js` (one mapping table) turns it into the kafkajs class.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
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

/// Whether a Node environment (the main thread's or a worker's) is still there: set false by its
/// cleanup hook, which Node runs when the thread ends (a worker's `terminate()` included).
type Alive = Arc<RwLock<bool>>;

/// The environments that have made a promise, by their raw pointer (removed at cleanup, so a
/// new worker given the same address gets a fresh entry).
static ENVS: Mutex<Vec<(usize, Alive)>> = Mutex::new(Vec::new());

fn alive(env: &Env) -> napi::Result<Alive> {
    let key = env.raw() as usize;
    let mut envs = ENVS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, a)) = envs.iter().find(|(k, _)| *k == key) {
        return Ok(a.clone());
    }
    let a: Alive = Arc::new(RwLock::new(true));
    let mut hook_env = *env;
    hook_env.add_env_cleanup_hook((key, a.clone()), |(key, a)| {
        // Waits for a resolution in progress; none starts after this.
        *a.write().unwrap_or_else(|e| e.into_inner()) = false;
        ENVS.lock().unwrap_or_else(|e| e.into_inner()).retain(|(k, _)| *k != key);
    })?;
    envs.push((key, a.clone()));
    Ok(a)
}

type Resolver<T> = Box<dyn FnOnce(Env) -> napi::Result<T> + Send>;

/// A promise settled by `fut`, run on the engine's runtime, with panics caught: every
/// asynchronous entry point goes through it. Not `env.spawn_future`: napi-rs settles that
/// promise through a raw threadsafe function, which Node frees when the environment ends, so
/// a call finishing after its worker was terminated aborted the whole process (uv_mutex_lock
/// on the freed function: SIGABRT, seen in test/workers.test.js about one run in five). Here the
/// promise is settled only while its environment lives, under the lock its cleanup hook takes;
/// afterwards the result is dropped (nobody can see it).
pub fn spawn<T, F>(env: &Env, fut: F) -> napi::Result<JsObject>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    let alive = alive(env)?;
    let (deferred, promise) = env.create_deferred::<T, Resolver<T>>()?;
    napi::bindgen_prelude::spawn(async move {
        let result = CatchPanic(Box::pin(fut)).await;
        let live = alive.read().unwrap_or_else(|e| e.into_inner());
        if !*live {
            return;
        }
        match result {
            Ok(v) => deferred.resolve(Box::new(move |_| Ok(v))),
            Err(e) => deferred.reject(e),
        }
    });
    Ok(promise)
}
