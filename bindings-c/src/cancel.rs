//! `pk_cancel`: a token that ends the blocking calls made in its scope, so that a caller with a
//! deadline or a cancellation of its own (a Go context) never waits for the engine's timeouts.
//!
//! A token is bound to the calling thread with pk_cancel_scope_enter() and unbound with
//! pk_cancel_scope_leave(); every call that waits on the network from that thread in between
//! (the functions that run on the worker pool: produce with metadata, flush, admin calls,
//! commits, transactions, pk_batch_wait...) returns a PK_ERROR_KIND_TIMEOUT error saying it was
//! cancelled as soon as pk_cancel_trigger() is called from any thread, or at once if it already
//! was. The scope is per thread, so no signature changes and no pointer of the caller is kept.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pk::{Error, Result};
use tokio::sync::Notify;

use crate::error::pk_error;
use crate::ffi::{guard, guard_void, handle, out};

#[derive(Default)]
pub(crate) struct CancelState {
    triggered: AtomicBool,
    notify: Notify,
}

impl CancelState {
    fn trigger(&self) {
        self.triggered.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::Acquire)
    }

    /// Completes once the token is triggered.
    async fn triggered(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read: a trigger in between is not missed.
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

/// A cancellation token. Created with pk_cancel_new(), freed with pk_cancel_free().
/// Thread-safe: pk_cancel_trigger() may be called from any thread at any time before the free.
pub struct pk_cancel {
    state: Arc<CancelState>,
}

thread_local! {
    static SCOPE: RefCell<Option<Arc<CancelState>>> = const { RefCell::new(None) };
}

/// Runs `fut` on `rt` until it completes or the token in scope on this thread (if any) is
/// triggered; then `fut` is dropped and a timeout error names `what`.
pub(crate) fn run_in_scope<F: std::future::Future>(rt: &tokio::runtime::Runtime, what: &str, fut: F) -> Result<F::Output> {
    let Some(state) = SCOPE.with(|s| s.borrow().clone()) else {
        return Ok(rt.block_on(fut));
    };
    // Not retriable: the caller asked for the end of the call, a retry would end the same way.
    let cancelled = || Error::timeout(format!("{what} was cancelled (pk_cancel_trigger)")).with_retriable(false);
    if state.is_triggered() {
        return Err(cancelled());
    }
    rt.block_on(async {
        tokio::select! {
            biased;
            _ = state.triggered() => Err(cancelled()),
            v = fut => Ok(v),
        }
    })
}

/// Creates a token, not triggered. The caller frees `*out_cancel` with pk_cancel_free().
#[no_mangle]
pub extern "C" fn pk_cancel_new(out_cancel: *mut *mut pk_cancel) -> *mut pk_error {
    guard(|| {
        let c = Box::new(pk_cancel { state: Arc::new(CancelState::default()) });
        let ptr = Box::into_raw(c);
        out(out_cancel, "out_cancel", ptr).inspect_err(|_| {
            // SAFETY: just created above, not given out.
            drop(unsafe { Box::from_raw(ptr) });
        })
    })
}

/// Triggers the token (borrowed): blocking calls in its scope, on any thread, return a
/// cancelled error now and later. Idempotent, never blocks; NULL is ignored.
#[no_mangle]
pub extern "C" fn pk_cancel_trigger(cancel: *const pk_cancel) {
    guard_void(|| {
        if let Ok(c) = handle(cancel, "cancel") {
            c.state.trigger();
        }
    })
}

/// Whether the token (borrowed) was triggered; false for NULL.
#[no_mangle]
pub extern "C" fn pk_cancel_is_triggered(cancel: *const pk_cancel) -> bool {
    handle(cancel, "cancel").map(|c| c.state.is_triggered()).unwrap_or(false)
}

/// Binds the token (borrowed; the binding keeps its own reference, so the token may be freed
/// before pk_cancel_scope_leave()) to the calling thread, replacing any token bound before:
/// blocking calls made from this thread until pk_cancel_scope_leave() end when it is triggered.
/// pk_consumer_poll and pk_consumer_poll_batch are not affected (a poll that ends early could
/// lose records it had taken): bound them with their timeout.
#[no_mangle]
pub extern "C" fn pk_cancel_scope_enter(cancel: *const pk_cancel) -> *mut pk_error {
    guard(|| {
        let c = handle(cancel, "cancel")?;
        SCOPE.with(|s| *s.borrow_mut() = Some(c.state.clone()));
        Ok(())
    })
}

/// Unbinds the token bound to the calling thread, if any.
#[no_mangle]
pub extern "C" fn pk_cancel_scope_leave() {
    guard_void(|| SCOPE.with(|s| *s.borrow_mut() = None))
}

/// Frees a token. `cancel` is consumed; NULL is allowed. A scope it is bound to stays valid
/// until left.
#[no_mangle]
pub extern "C" fn pk_cancel_free(cancel: *mut pk_cancel) {
    guard_void(|| {
        if !cancel.is_null() {
            // SAFETY: a pointer from pk_cancel_new, freed once.
            drop(unsafe { Box::from_raw(cancel) });
        }
    })
}
