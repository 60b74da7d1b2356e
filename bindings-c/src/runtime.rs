//! The one process-wide tokio runtime: created at first use, 2 worker threads, fork-aware.
//!
//! After `fork()` only the forking thread exists in the child, so the parent's runtime is
//! unusable there. The runtime remembers the pid that created it; in another process a fresh
//! runtime is built (the parent's is leaked: its threads do not exist here, and dropping it
//! would wait for them), and handles created in the parent report an error instead of hanging.

use std::future::Future;
use std::sync::Mutex;

use pk::{Error, Result};
use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The runtime of this process, created on first use. It lives as long as the process
/// (intentionally never dropped: worker threads may still be running callbacks at exit).
pub(crate) fn runtime() -> Result<&'static Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, rt)) = *slot {
        if owner == pid {
            return Ok(rt);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("polykafka-worker")
        .enable_all()
        .build()
        .map_err(|e| Error::new(pk::ErrorKind::Fatal, format!("cannot start the runtime: {e}")))?;
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// Fails when the calling thread is one of the runtime's (a delivery callback): blocking
/// there would stall the client.
pub(crate) fn check_may_block(what: &str) -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::invalid(format!(
            "{what} blocks and cannot be called from a delivery callback (a library thread)"
        )));
    }
    Ok(())
}

/// Runs `fut` to completion on the runtime, blocking the calling (foreign) thread; a
/// cancellation token in scope on this thread (see `cancel`) ends the wait early, dropping `fut`.
pub(crate) fn block_on<F: Future>(what: &str, fut: F) -> Result<F::Output> {
    check_may_block(what)?;
    crate::cancel::run_in_scope(runtime()?, what, fut)
}

/// As [`block_on`], but always to completion: for futures that must not be dropped half-way (a
/// poll that took records, a free that closes).
pub(crate) fn block_on_whole<F: Future>(what: &str, fut: F) -> Result<F::Output> {
    check_may_block(what)?;
    Ok(runtime()?.block_on(fut))
}

/// Remembers the process a handle was created in.
#[derive(Clone, Copy)]
pub(crate) struct Owner(u32);

impl Owner {
    pub fn current() -> Owner {
        Owner(std::process::id())
    }

    pub fn check(self, what: &str) -> Result<()> {
        if self.0 != std::process::id() {
            return Err(Error::invalid(format!(
                "this {what} was created before fork() in the parent process; create a new one in the child"
            )));
        }
        Ok(())
    }
}
