//! Native part of the Node.js binding. The public surface is the JavaScript façade in
//! `lib/` (kafkajs's API); these classes are its private helpers.
//!
//! Runtime: napi's tokio runtime (one per process, created on first use, worker threads = cores).
//! Its threads are not libuv handles, and every threadsafe function is unref'd, so nothing keeps
//! the Node process alive once the façade's promises have settled.

mod admin;
mod consumer;
mod dlq;
mod error;
mod events;
mod logging;
mod producer;
mod schema;
mod streams;

use napi::Env;

pub use admin::NativeAdmin;
pub use consumer::NativeConsumer;
pub use producer::NativeProducer;
pub use schema::NativeSchemaRegistry;
pub use streams::{NativeKafkaStreams, NativeTopologyBuilder};

/// Test only: panics inside the engine (`polykafka::__panic_for_tests`) from a synchronous
/// entry point; the caller gets an error, the process lives on.
#[doc(hidden)]
#[napi_derive::napi(catch_unwind)]
pub fn test_panic_sync() -> napi::Result<()> {
    polykafka::__panic_for_tests("node")
}

/// Test only: the same inside the future of an asynchronous entry point; the promise rejects.
#[doc(hidden)]
#[napi_derive::napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn test_panic_async(env: Env) -> napi::Result<napi::JsObject> {
    error::spawn(&env, async {
        tokio::task::yield_now().await;
        polykafka::__panic_for_tests("node");
        #[allow(unreachable_code)]
        Ok(())
    })
}

/// Test only: `count` WARN records from the engine's side, emitted on the JS thread (so none is
/// drained meanwhile): more than the capture queue holds shows how drops are reported.
#[doc(hidden)]
#[napi_derive::napi(catch_unwind)]
pub fn test_emit_logs(count: u32) {
    for n in 0..count {
        tracing::warn!(target: "polykafka::test", n, "test record");
    }
}

/// The engine's version: the workspace version of Cargo.toml, the one every package carries
/// (`require('polykafka').version()`).
#[napi_derive::napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The OpenTelemetry instruments (JSON: name, kind, unit, description, buckets): the core's
/// table, for lib/otel.js.
#[napi_derive::napi(catch_unwind)]
pub fn otel_instruments() -> String {
    polykafka::stats::otel::instruments().to_string()
}

/// The observable instruments' points (JSON) over statistics snapshots (JSON texts), for
/// lib/otel.js's collection callback.
#[napi_derive::napi(catch_unwind)]
pub fn otel_points(snapshots: Vec<String>) -> String {
    polykafka::stats::otel::points_json(&snapshots)
}
