//! The process-wide tokio runtime is `polykafka-host`'s (2 workers, fork-aware: a forked child
//! gets a fresh one, and handles created in the parent report an error instead of hanging).
//! What is the C ABI's is here: the refusal to block on a library thread, and the waits.

use std::future::Future;

use pk::{Error, Result};

pub(crate) use polykafka_host::runtime::{runtime, Owner};

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
