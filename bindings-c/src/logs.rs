//! The engine's logs for C (and Go): `polykafka-host` captures them process-wide into a bounded
//! queue; the application sets the level, is woken when records arrive, and drains them on a
//! thread of its own.

use std::ffi::{c_char, c_void, CString};

use pk::Error;
use polykafka_host::logs;
use tracing::Level;

use crate::error::pk_error;
use crate::ffi::guard;

/// The level of a log record (and, as an int, the argument of pk_logs_set_level()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_log_level {
    /// Nothing is captured (pk_logs_set_level() only).
    PK_LOG_LEVEL_OFF = 0,
    PK_LOG_LEVEL_ERROR = 1,
    PK_LOG_LEVEL_WARN = 2,
    PK_LOG_LEVEL_INFO = 3,
    PK_LOG_LEVEL_DEBUG = 4,
    PK_LOG_LEVEL_TRACE = 5,
}

/// One log record, borrowed by the drain callback: its strings are valid during the call only.
#[repr(C)]
pub struct pk_log_record {
    pub level: pk_log_level,
    /// The engine's module ("polykafka::cluster").
    pub target: *const c_char,
    /// The message alone ("connection failed").
    pub message: *const c_char,
    /// The message followed by " name=value" for each field
    /// ("connection failed node=-1 addr=127.0.0.1:1 error=...").
    pub text: *const c_char,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// Called on a library thread when records arrive and the application has not been woken since
/// its last pk_logs_drain(); it must return at once (signal a thread that drains).
pub type pk_logs_wake_cb = Option<extern "C" fn(user_data: *mut c_void)>;

/// Called by pk_logs_drain() for each record, oldest first, on the draining thread.
pub type pk_log_cb = Option<extern "C" fn(record: *const pk_log_record, user_data: *mut c_void)>;

fn level_of(l: Level) -> pk_log_level {
    match l {
        Level::ERROR => pk_log_level::PK_LOG_LEVEL_ERROR,
        Level::WARN => pk_log_level::PK_LOG_LEVEL_WARN,
        Level::INFO => pk_log_level::PK_LOG_LEVEL_INFO,
        Level::DEBUG => pk_log_level::PK_LOG_LEVEL_DEBUG,
        Level::TRACE => pk_log_level::PK_LOG_LEVEL_TRACE,
    }
}

fn c_string(s: String) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// Captures the engine's records at `level` (a PK_LOG_LEVEL_* value) or more severe;
/// PK_LOG_LEVEL_OFF captures none. Until the first call of a pk_logs_* function nothing is
/// captured. A program that installed a global `tracing` subscriber of its own (Rust hosts)
/// keeps getting the records there instead.
#[no_mangle]
pub extern "C" fn pk_logs_set_level(level: i32) -> *mut pk_error {
    guard(|| {
        let level = match level {
            0 => None,
            1 => Some(Level::ERROR),
            2 => Some(Level::WARN),
            3 => Some(Level::INFO),
            4 => Some(Level::DEBUG),
            5 => Some(Level::TRACE),
            n => return Err(Error::invalid(format!("log level {n} is not one of PK_LOG_LEVEL_OFF..PK_LOG_LEVEL_TRACE (0..5)"))),
        };
        logs::install();
        logs::set_level(level);
        Ok(())
    })
}

struct UserData(*mut c_void);
// SAFETY: the pointer is only handed back to the application's callback, whose contract says it
// may be called on any thread.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Sets the function called (on a library thread, at most once between two drains) when
/// records arrive; NULL removes it. `user_data` is passed back as is.
#[no_mangle]
pub extern "C" fn pk_logs_set_wake(wake: pk_logs_wake_cb, user_data: *mut c_void) -> *mut pk_error {
    guard(|| {
        logs::install();
        match wake {
            Some(f) => {
                let user = UserData(user_data);
                logs::set_wake(Some(Box::new(move || {
                    let u = &user;
                    f(u.0)
                })));
            }
            None => logs::set_wake(None),
        }
        Ok(())
    })
}

/// Hands every queued record to `callback` (oldest first) and writes to `dropped` (may be
/// NULL) how many records were dropped since the last drain because the queue (4096 records)
/// was full.
#[no_mangle]
pub extern "C" fn pk_logs_drain(callback: pk_log_cb, user_data: *mut c_void, dropped: *mut u64) -> *mut pk_error {
    guard(|| {
        let Some(f) = callback else {
            return Err(Error::invalid("callback is NULL"));
        };
        logs::install();
        let n = logs::drain(|r| {
            let target = c_string(r.target.to_string());
            let text = c_string(r.text());
            let message = c_string(r.message);
            let rec = pk_log_record {
                level: level_of(r.level),
                target: target.as_ptr(),
                message: message.as_ptr(),
                text: text.as_ptr(),
                timestamp_ms: r.timestamp_ms as i64,
            };
            f(&rec, user_data);
        });
        if !dropped.is_null() {
            // SAFETY: non-NULL, writable by the caller's contract.
            unsafe { dropped.write(n) };
        }
        Ok::<(), Error>(())
    })
}
