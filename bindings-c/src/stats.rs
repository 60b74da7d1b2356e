//! Statistics snapshots as JSON text (librdkafka's statistics layout), and the string they come
//! in.

use std::ffi::{c_char, CString};

use crate::error::pk_error;
use crate::ffi::{check_out, guard, out};

/// Writes `json` to `*out_json` as a new NUL-terminated string the caller frees with
/// pk_string_free().
pub(crate) fn json_out(out_json: *mut *mut c_char, json: impl FnOnce() -> pk::Result<String>) -> *mut pk_error {
    guard(|| {
        check_out(out_json, "out_json")?;
        // JSON text escapes control characters: no NUL inside.
        let text = CString::new(json()?).unwrap_or_default();
        out(out_json, "out_json", text.into_raw())
    })
}

/// Frees a string this library returned with "the caller frees it with pk_string_free()";
/// NULL is ignored.
#[no_mangle]
pub extern "C" fn pk_string_free(s: *mut c_char) {
    crate::ffi::guard_void(|| {
        if !s.is_null() {
            // SAFETY: a string from CString::into_raw in json_out, freed once by contract.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
