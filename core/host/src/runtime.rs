//! The process's one tokio runtime: created on first use, [`WORKER_THREADS`] workers, shared by
//! every client of the process, and fork-aware.
//!
//! After `fork()` the child has the parent's memory but only the forking thread, so the
//! parent's runtime is a shell that would never run a task. The runtime is keyed by the process
//! id: a child that creates a client gets a fresh runtime, and the parent's is leaked (dropping
//! it would wait for worker threads that do not exist in the child). A client made before the
//! fork and used in the child gets a clear error from [`Owner::check`] instead of a hang.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, PoisonError};

use polykafka::{Error, ErrorKind, Result};
use tokio::runtime::{Builder, Runtime};

/// Worker threads: these machines have two cores, and the host thread that waits is a third.
pub const WORKER_THREADS: usize = 2;

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// This process's id, cached (`getpid()` is a system call and every client call checks it); a
/// `pthread_atfork` child handler refreshes it after a fork.
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

/// The runtime of this process, created on first use (and again in a forked child). It lives
/// as long as the process: worker threads may still run completions at exit.
pub fn runtime() -> Result<&'static Runtime> {
    let pid = pid();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, rt)) = *slot {
        if owner == pid {
            return Ok(rt);
        }
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("polykafka")
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorKind::Fatal, format!("cannot start the polykafka runtime: {e}")))?;
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// The process a client was created in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner(u32);

impl Owner {
    pub fn current() -> Owner {
        Owner(pid())
    }

    /// Fails when the client is used in another process than the one that created it (after a
    /// `fork()`): `what` names the client ("producer", "consumer", ...).
    pub fn check(self, what: &str) -> Result<()> {
        if self.0 != pid() {
            return Err(Error::invalid(format!(
                "this {what} was created before fork() in the parent process: create a new one in the child"
            )));
        }
        Ok(())
    }

    /// Whether this is the current process.
    pub fn is_current(self) -> bool {
        self.0 == pid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runtime_per_process() {
        let a = runtime().unwrap() as *const Runtime;
        let b = runtime().unwrap() as *const Runtime;
        assert_eq!(a, b);
        assert!(Owner::current().check("producer").is_ok());
        assert!(Owner(pid() + 1).check("producer").unwrap_err().message().contains("fork()"));
    }

    #[test]
    fn a_forked_child_gets_a_runtime_of_its_own() {
        let parent = runtime().unwrap() as *const Runtime as usize;
        let owner = Owner::current();
        // SAFETY: the child only calls async-signal-unsafe code that this crate controls and
        // exits with _exit; the parent waits for it.
        let child = unsafe { libc::fork() };
        if child == 0 {
            let ok = !owner.is_current()
                && owner.check("consumer").is_err()
                && runtime().map(|rt| rt as *const Runtime as usize != parent && rt.block_on(async { 7 }) == 7).unwrap_or(false);
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status}");
    }
}
