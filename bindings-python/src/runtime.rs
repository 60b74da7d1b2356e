//! Waiting on the process's runtime from Python: the runtime itself, fork-aware, is
//! `polykafka-host`'s; what is Python's is here - the GIL released while waiting, Ctrl-C looked
//! for every [`SIGNAL_SLICE`], engine panics as exceptions, and the `os.fork()` check.

use std::future::Future;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::runtime::Handle;

use crate::errors;

pub use polykafka_host::runtime::pid;

/// How long a blocking call waits before it looks for Ctrl-C.
pub const SIGNAL_SLICE: Duration = Duration::from_millis(100);

/// The runtime of this process (`polykafka-host`'s: created on first use, again in a forked
/// child).
pub fn handle() -> PyResult<Handle> {
    polykafka_host::runtime::runtime().map(|rt| rt.handle().clone()).map_err(|e| errors::to_pyerr_gil(&e))
}

/// Fails when a client is used in another process than the one that created it.
pub fn check_pid(owner: u32) -> PyResult<()> {
    if owner != pid() {
        return Err(errors::state_error(
            "this client was created before os.fork(): create a new client in the child process",
        ));
    }
    Ok(())
}

/// Runs `fut` to completion on the runtime from a Python thread: the GIL is released while it
/// waits, and every [`SIGNAL_SLICE`] the wait looks for signals so Ctrl-C interrupts it.
/// `None` when `timeout` passed first.
pub fn wait<F>(py: Python<'_>, handle: &Handle, fut: F, timeout: Option<Duration>) -> PyResult<Option<F::Output>>
where
    F: Future + Send,
    F::Output: Send,
{
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut fut = std::pin::pin!(fut);
    loop {
        let slice = match deadline {
            None => SIGNAL_SLICE,
            Some(d) => d.saturating_duration_since(Instant::now()).min(SIGNAL_SLICE),
        };
        let fut_ref = fut.as_mut();
        // A panic of the engine while the future runs here becomes a KafkaException.
        let out = py
            .allow_threads(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handle.block_on(async move { tokio::time::timeout(slice, fut_ref).await.ok() })
                }))
            })
            .map_err(|p| errors::panic_error(py, &panic_text(&*p)))?;
        if let Some(v) = out {
            return Ok(Some(v));
        }
        py.check_signals()?;
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Ok(None);
            }
        }
    }
}

/// Polls `fut` once on the calling thread, inside the runtime's context: most sends complete
/// without ever waiting (the topic's metadata is known and there is room in the buffer), so
/// they need neither a GIL release nor a thread switch. Otherwise waits like [`wait`].
pub fn run<F>(py: Python<'_>, handle: &Handle, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    {
        let _guard = handle.enter();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        if let std::task::Poll::Ready(v) = polled.map_err(|p| errors::panic_error(py, &panic_text(&*p)))? {
            return Ok(v);
        }
    }
    Ok(wait(py, handle, fut, None)?.expect("no timeout"))
}

/// A Python timeout in seconds (`None` or negative: forever) as a duration.
pub fn timeout_from(seconds: Option<f64>) -> Option<Duration> {
    match seconds {
        Some(s) if s >= 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
        _ => None,
    }
}

/// The text of a panic's payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// A future that turns a panic while polling `F` into `Err(panic text)`: what runs on the
/// runtime for an asynchronous call (asyncio, admin futures) still completes it.
pub struct Caught<F>(std::pin::Pin<Box<F>>);

impl<F: Future> Future for Caught<F> {
    type Output = Result<F::Output, String>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(p) => std::task::Poll::Ready(Err(panic_text(&*p))),
        }
    }
}

pub fn caught<F: Future>(fut: F) -> Caught<F> {
    Caught(Box::pin(fut))
}

/// A core call whose panic becomes the core's fatal error (a `KafkaException` with `_FATAL`).
pub async fn guarded<T, F: Future<Output = polykafka::Result<T>>>(fut: F) -> polykafka::Result<T> {
    match caught(fut).await {
        Ok(r) => r,
        Err(text) => Err(polykafka::Error::new(
            polykafka::ErrorKind::Fatal,
            format!("polykafka engine panicked (a bug, please report it): {text}"),
        )),
    }
}
