//! Core errors cross into JS as a napi error whose message is a marker followed by a JSON
//! object; `lib/errors.js` (one mapping table) turns it into the kafkajs class.

use polykafka::Error;

/// Prefix of every native error message; the façade recognises it.
pub const MARKER: &str = "polykafka-error:";

fn code_retriable(code: i16) -> bool {
    kafka_retriable(code)
}

/// Whether Kafka calls the code retriable (the Java client's `RetriableException`s), whatever
/// the core decided after its own retries.
fn kafka_retriable(code: i16) -> bool {
    // Built from the core's own view of a fresh error for the code.
    Error::from_code(code, "").map(|e| e.retriable()).unwrap_or(false)
}

/// The JSON description of a core error, as the façade reads it.
pub fn describe(e: &Error) -> serde_json::Value {
    serde_json::json!({
        "kind": e.kind().as_str(),
        "code": e.code(),
        "name": e.name(),
        "retriable": e.retriable(),
        "codeRetriable": e.code() != 0 && code_retriable(e.code()),
        "fatal": e.fatal(),
        "txnRequiresAbort": e.txn_requires_abort(),
        "message": e.message(),
    })
}

pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::from_reason(format!("{MARKER}{}", describe(&e)))
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for polykafka::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}
