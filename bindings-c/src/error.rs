//! `pk_error`: an error as an object, with the code, name and flags of the core's error.

use std::ffi::{c_char, CString};

use pk::{Error, ErrorKind};

/// What class of problem an error is; mirrors the core's error kinds one to one.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pk_error_kind {
    /// An unknown configuration key, or a value not valid for its key.
    PK_ERROR_KIND_CONFIG = 1,
    /// A broker could not be reached, or the connection broke.
    PK_ERROR_KIND_CONNECTION = 2,
    /// TLS failed (untrusted certificate, hostname mismatch).
    PK_ERROR_KIND_TLS = 3,
    /// An operation did not complete in time.
    PK_ERROR_KIND_TIMEOUT = 4,
    /// SASL authentication was refused.
    PK_ERROR_KIND_AUTHENTICATION = 5,
    /// The broker refused the operation for lack of permission.
    PK_ERROR_KIND_AUTHORIZATION = 6,
    /// The broker answered with a Kafka error code (see pk_error_code()).
    PK_ERROR_KIND_BROKER = 7,
    /// A malformed or unexpected message on the wire.
    PK_ERROR_KIND_PROTOCOL = 8,
    /// The handle was closed.
    PK_ERROR_KIND_CLOSED = 9,
    /// An argument is not valid: a NULL handle or pointer, a bad length, invalid UTF-8.
    PK_ERROR_KIND_INVALID_ARGUMENT = 10,
    /// A record could not be encoded or decoded.
    PK_ERROR_KIND_SERIALIZATION = 11,
    /// The producer's buffer is full and did not drain within max.block.ms.
    PK_ERROR_KIND_QUEUE_FULL = 12,
    /// A record is larger than max.request.size or the broker's limit.
    PK_ERROR_KIND_MESSAGE_TOO_LARGE = 13,
    /// The client is in a state it cannot leave, or an internal failure was caught.
    PK_ERROR_KIND_FATAL = 14,
    /// The schema registry answered with an error (see pk_error_registry_status() and
    /// pk_error_registry_code()). An unreachable registry is PK_ERROR_KIND_CONNECTION.
    PK_ERROR_KIND_SCHEMA_REGISTRY = 15,
}

impl From<ErrorKind> for pk_error_kind {
    fn from(k: ErrorKind) -> Self {
        use pk_error_kind::*;
        match k {
            ErrorKind::Config => PK_ERROR_KIND_CONFIG,
            ErrorKind::Connection => PK_ERROR_KIND_CONNECTION,
            ErrorKind::Tls => PK_ERROR_KIND_TLS,
            ErrorKind::Timeout => PK_ERROR_KIND_TIMEOUT,
            ErrorKind::Authentication => PK_ERROR_KIND_AUTHENTICATION,
            ErrorKind::Authorization => PK_ERROR_KIND_AUTHORIZATION,
            ErrorKind::Broker => PK_ERROR_KIND_BROKER,
            ErrorKind::Protocol => PK_ERROR_KIND_PROTOCOL,
            ErrorKind::Closed => PK_ERROR_KIND_CLOSED,
            ErrorKind::InvalidArgument => PK_ERROR_KIND_INVALID_ARGUMENT,
            ErrorKind::Serialization => PK_ERROR_KIND_SERIALIZATION,
            ErrorKind::QueueFull => PK_ERROR_KIND_QUEUE_FULL,
            ErrorKind::MessageTooLarge => PK_ERROR_KIND_MESSAGE_TOO_LARGE,
            ErrorKind::Fatal => PK_ERROR_KIND_FATAL,
        }
    }
}

/// An error. Created by the library, owned by the caller, freed with pk_error_free().
pub struct pk_error {
    kind: pk_error_kind,
    code: i16,
    retriable: bool,
    fatal: bool,
    txn_requires_abort: bool,
    name: CString,
    message: CString,
    registry_status: u16,
    registry_code: i32,
}

fn c_string(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|b| *b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

impl pk_error {
    pub(crate) fn from_core(e: &Error) -> pk_error {
        pk_error {
            kind: e.kind().into(),
            code: e.code(),
            retriable: e.retriable(),
            fatal: e.fatal(),
            txn_requires_abort: e.txn_requires_abort(),
            name: c_string(e.name()),
            message: c_string(e.to_string()),
            registry_status: 0,
            registry_code: -1,
        }
    }

    /// A schema registry or serde error: registry answers keep their HTTP status and error
    /// code (kind PK_ERROR_KIND_SCHEMA_REGISTRY, name "_SCHEMA_REGISTRY"); an unreachable
    /// registry is a retriable connection error; bad values are serialization errors.
    pub(crate) fn from_schema(e: &pk::schema::SchemaError) -> pk_error {
        use pk::schema::SchemaErrorKind;
        let core: Error = e.clone().into();
        let mut out = pk_error::from_core(&core);
        if e.kind() == SchemaErrorKind::Registry {
            out.kind = pk_error_kind::PK_ERROR_KIND_SCHEMA_REGISTRY;
            out.name = c_string("_SCHEMA_REGISTRY".to_string());
        }
        out.registry_status = e.http_status();
        out.registry_code = e.error_code();
        out
    }

    pub(crate) fn into_raw(self) -> *mut pk_error {
        Box::into_raw(Box::new(self))
    }
}

/// Converts a core error into a new `pk_error*` the caller owns.
pub(crate) fn raw(e: &Error) -> *mut pk_error {
    pk_error::from_core(e).into_raw()
}

fn borrow<'a>(e: *const pk_error) -> Option<&'a pk_error> {
    // SAFETY: the caller passes NULL or a pointer returned by this library and not yet freed.
    unsafe { e.as_ref() }
}

/// The class of the error. `error` is borrowed; a NULL error gives PK_ERROR_KIND_INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn pk_error_get_kind(error: *const pk_error) -> pk_error_kind {
    borrow(error).map(|e| e.kind).unwrap_or(pk_error_kind::PK_ERROR_KIND_INVALID_ARGUMENT)
}

/// The kind's name in lower case ("config", "invalid_argument", "schema_registry", ...), static;
/// a value that is not a pk_error_kind gives "fatal".
#[no_mangle]
pub extern "C" fn pk_error_kind_name(kind: i32) -> *const c_char {
    use pk_error_kind::*;
    let name: &'static str = match kind {
        k if k == PK_ERROR_KIND_CONFIG as i32 => "config\0",
        k if k == PK_ERROR_KIND_CONNECTION as i32 => "connection\0",
        k if k == PK_ERROR_KIND_TLS as i32 => "tls\0",
        k if k == PK_ERROR_KIND_TIMEOUT as i32 => "timeout\0",
        k if k == PK_ERROR_KIND_AUTHENTICATION as i32 => "authentication\0",
        k if k == PK_ERROR_KIND_AUTHORIZATION as i32 => "authorization\0",
        k if k == PK_ERROR_KIND_BROKER as i32 => "broker\0",
        k if k == PK_ERROR_KIND_PROTOCOL as i32 => "protocol\0",
        k if k == PK_ERROR_KIND_CLOSED as i32 => "closed\0",
        k if k == PK_ERROR_KIND_INVALID_ARGUMENT as i32 => "invalid_argument\0",
        k if k == PK_ERROR_KIND_SERIALIZATION as i32 => "serialization\0",
        k if k == PK_ERROR_KIND_QUEUE_FULL as i32 => "queue_full\0",
        k if k == PK_ERROR_KIND_MESSAGE_TOO_LARGE as i32 => "message_too_large\0",
        k if k == PK_ERROR_KIND_SCHEMA_REGISTRY as i32 => "schema_registry\0",
        _ => "fatal\0",
    };
    name.as_ptr().cast()
}

/// The Kafka error code (3 for UNKNOWN_TOPIC_OR_PARTITION...), 0 when the error did not come
/// from a broker. `error` is borrowed; NULL gives 0.
#[no_mangle]
pub extern "C" fn pk_error_code(error: *const pk_error) -> i16 {
    borrow(error).map(|e| e.code).unwrap_or(0)
}

/// The Kafka name of the code ("UNKNOWN_TOPIC_OR_PARTITION"), or for client-side errors the
/// kind's name with a leading underscore ("_TIMEOUT"). Borrowed from `error`: valid until
/// pk_error_free(error). NULL gives "".
#[no_mangle]
pub extern "C" fn pk_error_name(error: *const pk_error) -> *const c_char {
    borrow(error).map(|e| e.name.as_ptr()).unwrap_or(c"".as_ptr())
}

/// A message naming the cause ("UNKNOWN_TOPIC_OR_PARTITION (broker): topic 'x' ..."). Borrowed
/// from `error`: valid until pk_error_free(error). NULL gives "".
#[no_mangle]
pub extern "C" fn pk_error_message(error: *const pk_error) -> *const c_char {
    borrow(error).map(|e| e.message.as_ptr()).unwrap_or(c"".as_ptr())
}

/// Whether retrying the same operation may succeed. `error` is borrowed.
#[no_mangle]
pub extern "C" fn pk_error_retriable(error: *const pk_error) -> bool {
    borrow(error).map(|e| e.retriable).unwrap_or(false)
}

/// Whether the client that returned it can no longer be used (a fenced producer...).
/// `error` is borrowed.
#[no_mangle]
pub extern "C" fn pk_error_fatal(error: *const pk_error) -> bool {
    borrow(error).map(|e| e.fatal).unwrap_or(false)
}

/// Whether the current transaction must be aborted. `error` is borrowed.
#[no_mangle]
pub extern "C" fn pk_error_txn_requires_abort(error: *const pk_error) -> bool {
    borrow(error).map(|e| e.txn_requires_abort).unwrap_or(false)
}

/// The HTTP status of a schema registry error (404, 409, 422...), 0 for every other error.
/// `error` is borrowed.
#[no_mangle]
pub extern "C" fn pk_error_registry_status(error: *const pk_error) -> u16 {
    borrow(error).map(|e| e.registry_status).unwrap_or(0)
}

/// The schema registry's error code (40401 subject not found, 40403 schema not found, 409
/// incompatible, 42201 invalid schema...), -1 when the error has none. `error` is borrowed.
#[no_mangle]
pub extern "C" fn pk_error_registry_code(error: *const pk_error) -> i32 {
    borrow(error).map(|e| e.registry_code).unwrap_or(-1)
}

/// Frees an error. `error` is consumed; NULL is allowed and does nothing.
#[no_mangle]
pub extern "C" fn pk_error_free(error: *mut pk_error) {
    crate::ffi::guard_void(|| {
        if !error.is_null() {
            // SAFETY: a pointer from into_raw, freed once (the caller's contract).
            drop(unsafe { Box::from_raw(error) });
        }
    })
}
