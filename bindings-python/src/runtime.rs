//! The binding's one tokio runtime: created on first use, shared by every client of the
//! process, and fork-aware.
//!
//! After `os.fork()` the child has the parent's memory but none of its threads, so the parent's
//! runtime is a shell that would never run a task. The runtime is therefore keyed by the process
//! id: a child that creates a client gets a fresh runtime, and the parent's is leaked (dropping
//! it would wait for worker threads that do not exist in the child). A client made before the
//! fork and used in the child gets a clear error instead of a hang (see [`check_pid`]).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::runtime::{Builder, Handle, Runtime};

use crate::errors;

/// Worker threads of the runtime: these machines have two cores, and the Python thread that
/// waits on the runtime is a third.
const WORKER_THREADS: usize = 2;

/// How long a blocking call waits before it looks for Ctrl-C.
pub const SIGNAL_SLICE: Duration = Duration::from_millis(100);

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// This process's id, cached: `getpid()` is a system call, and every client call checks it.
/// A `pthread_atfork` child handler refreshes it after a fork.
static PID: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    PID.store(std::process::id(), Ordering::Relaxed);
}

/// The id of this process (cheap).
pub fn pid() -> u32 {
    ATFORK.call_once(|| {
        PID.store(std::process::id(), Ordering::Relaxed);
        // SAFETY: registers a handler that only stores the child's pid in an atomic.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    PID.load(Ordering::Relaxed)
}

/// The runtime of this process, created on first use (again in a forked child).
pub fn handle() -> PyResult<Handle> {
    let pid = pid();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, rt)) = *slot {
        if owner == pid {
            return Ok(rt.handle().clone());
        }
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("polykafka")
        .enable_all()
        .build()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the polykafka runtime: {e}")))?;
    // Leaked on purpose: a runtime lives as long as its process (or until a fork replaces it).
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt.handle().clone())
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
            .map_err(|p| errors::panic_error(py, &*p))?;
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
        if let std::task::Poll::Ready(v) = polled.map_err(|p| errors::panic_error(py, &*p))? {
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
