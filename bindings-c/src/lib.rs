//! The C ABI of polykafka. The header `include/polykafka.h` is generated from this crate by
//! cbindgen (see `build.rs`); its top comment states the conventions (errors, ownership,
//! threads). One module per handle type.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod admin;
mod cancel;
mod config;
mod consumer;
mod dlq;
mod error;
mod ffi;
mod groups;
mod logs;
mod producer;
mod runtime;
mod schema;
mod stats;
mod streams;

pub use admin::*;
pub use cancel::*;
pub use config::*;
pub use consumer::*;
pub use dlq::*;
pub use error::*;
pub use groups::*;
pub use logs::*;
pub use producer::*;
pub use schema::*;
pub use stats::*;
pub use streams::*;

/// The engine's version: the workspace's version (Cargo.toml), the same number every polykafka
/// package of a release carries. A static NUL-terminated string; never free it.
#[no_mangle]
pub extern "C" fn pk_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// For tests only, not for applications: makes the engine panic inside the usual guard, to show
/// that a panic becomes an error of kind PK_ERROR_KIND_FATAL (name "_FATAL") and the process
/// lives on. Always returns an error the caller owns.
#[no_mangle]
pub extern "C" fn pk_panic_for_tests() -> *mut pk_error {
    ffi::guard(|| pk::__panic_for_tests("c"))
}
