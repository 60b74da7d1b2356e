//! The boundary: every entry point runs its body through [`guard`], which catches panics and
//! turns results into `pk_error*`; helpers read C arguments without trusting them.

use std::any::Any;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pk::{Error, ErrorKind, Result};

use crate::error::{pk_error, raw};

fn panic_message(p: Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `body`, returning NULL on success and a new error (owned by the caller) on failure or
/// panic.
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> *mut pk_error {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) => raw(&e),
        Err(p) => raw(&Error::new(
            ErrorKind::Fatal,
            format!("internal error in polykafka (caught panic): {}", panic_message(p)),
        )),
    }
}

/// Runs `body` for a function that cannot report errors (a free function): panics are
/// swallowed.
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Borrows the handle behind `ptr`, or fails naming what was NULL.
pub(crate) fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: the caller passes NULL or a live handle from this library.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// Writes an out-parameter, or fails if the pointer is NULL.
pub(crate) fn out<T>(ptr: *mut T, what: &str, value: T) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("the out-parameter {what} is NULL")));
    }
    // SAFETY: non-NULL, and the caller's contract says it points to writable storage.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Fails if an out-parameter is NULL (checked before doing the work).
pub(crate) fn check_out<T>(ptr: *mut T, what: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("the out-parameter {what} is NULL")));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 string argument.
pub(crate) fn c_str<'a>(ptr: *const c_char, what: impl std::fmt::Display + Copy) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// A (pointer, length) string: length 0 means NUL-terminated.
pub(crate) fn str_len<'a>(ptr: *const c_char, len: usize, what: impl std::fmt::Display + Copy) -> Result<&'a str> {
    if len == 0 {
        return c_str(ptr, what);
    }
    std::str::from_utf8(bytes(ptr as *const u8, len, what)?)
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// A byte buffer argument; NULL is allowed only with length 0.
pub(crate) fn bytes<'a>(ptr: *const u8, len: usize, what: impl std::fmt::Display + Copy) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL but its length is {len}")));
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr` for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// An array argument; NULL is allowed only with length 0.
pub(crate) fn slice<'a, T>(ptr: *const T, len: usize, what: impl std::fmt::Display + Copy) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL but its length is {len}")));
    }
    // SAFETY: the caller guarantees `len` elements at `ptr` for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A timeout in milliseconds; negative means "wait without limit" (capped at a year).
pub(crate) fn timeout(ms: i32) -> std::time::Duration {
    if ms < 0 {
        std::time::Duration::from_secs(365 * 24 * 3600)
    } else {
        std::time::Duration::from_millis(ms as u64)
    }
}
