//! Statistics snapshots as JSON text (librdkafka's statistics layout), and the string they come
//! in.

use std::ffi::{c_char, CString};

use crate::error::pk_error;
use crate::ffi::{c_str, check_out, guard, out, slice};

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

/// The OpenTelemetry instruments in `*out_json` (JSON: `[{name, kind, unit, description,
/// buckets?}]`, the core's table; README "OpenTelemetry"). The caller frees `*out_json` with
/// pk_string_free().
#[no_mangle]
pub extern "C" fn pk_otel_instruments(out_json: *mut *mut c_char) -> *mut pk_error {
    json_out(out_json, || Ok(pk::stats::otel::instruments().to_string()))
}

/// The points of the observable OpenTelemetry instruments over `count` statistics snapshots
/// (JSON texts from pk_producer_stats_json() / pk_consumer_stats_json()) in `*out_json` (JSON:
/// `[{name, attributes, value}]`). The caller frees `*out_json` with pk_string_free().
#[no_mangle]
pub extern "C" fn pk_otel_points(snapshots: *const *const c_char, count: usize, out_json: *mut *mut c_char) -> *mut pk_error {
    json_out(out_json, || {
        let texts = slice(snapshots, count, "snapshots")?.iter().map(|&t| c_str(t, "a snapshot")).collect::<pk::Result<Vec<_>>>()?;
        Ok(pk::stats::otel::points_json(&texts))
    })
}
