//! `polykafka._native`: the private native module under the pure-Python package `polykafka`.
//!
//! One module per concept: [`runtime`] (the process-wide, fork-aware tokio runtime),
//! [`errors`] (core errors as `KafkaError`/`KafkaException`), [`client_errors`] (`error_cb`), [`config`], [`logs`] (tracing to
//! Python logging), [`reports`] (delivery reports waiting for `poll`), [`message`],
//! [`producer`], [`admin`] and [`dlq`] (the consumer's retry and dead-letter path).

mod admin;
mod client_errors;
mod config;
mod consumer;
mod dlq;
mod errors;
mod logs;
mod message;
mod producer;
mod reports;
mod runtime;
mod stats;
mod schema;
mod streams;

use pyo3::prelude::*;

/// `(key, role)` for every key the engine implements (role: "common", "producer" or
/// "consumer"): the core's table, which `_config.py` translates through.
#[pyfunction]
fn config_keys() -> Vec<(&'static str, &'static str)> {
    use polykafka::config::Role;
    polykafka::config::keys()
        .iter()
        .map(|(k, r)| (*k, match r {
            Role::Common => "common",
            Role::Producer => "producer",
            Role::Consumer => "consumer",
        }))
        .collect()
}

/// The engine's (Java) name of a librdkafka key, when they differ.
#[pyfunction]
fn from_librdkafka(key: &str) -> Option<&'static str> {
    polykafka::config::from_librdkafka(key)
}

/// Test-only: panics inside the engine (see `tests/test_panic.py`): in this call, or
/// (`in_runtime`) inside a future the call waits for, as a core call would.
#[pyfunction]
#[pyo3(signature = (in_runtime=false))]
fn _panic_for_tests(py: Python<'_>, in_runtime: bool) -> PyResult<()> {
    if in_runtime {
        let handle = runtime::handle()?;
        let fut = async {
            tokio::task::yield_now().await;
            polykafka::__panic_for_tests("python, in the runtime")
        };
        return runtime::wait(py, &handle, fut, None).map(|_| ());
    }
    errors::guard(py, || -> PyResult<()> { polykafka::__panic_for_tests("python") })
}

/// The OpenTelemetry instruments (JSON: name, kind, unit, description, buckets), the core's
/// table (`polykafka.opentelemetry`).
#[pyfunction]
fn otel_instruments() -> String {
    polykafka::stats::otel::instruments().to_string()
}

/// The observable instruments' points (JSON) over statistics snapshots (JSON texts).
#[pyfunction]
fn otel_points(snapshots: Vec<String>) -> String {
    polykafka::stats::otel::points_json(&snapshots)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<message::Message>()?;
    m.add_class::<producer::Producer>()?;
    m.add_class::<admin::AdminClient>()?;
    m.add_class::<consumer::Consumer>()?;
    m.add_class::<consumer::GroupMetadata>()?;
    m.add_class::<dlq::DeadLetterQueue>()?;
    m.add("TIMESTAMP_NOT_AVAILABLE", message::TIMESTAMP_NOT_AVAILABLE)?;
    m.add("TIMESTAMP_CREATE_TIME", message::TIMESTAMP_CREATE_TIME)?;
    m.add("TIMESTAMP_LOG_APPEND_TIME", message::TIMESTAMP_LOG_APPEND_TIME)?;
    m.add_function(wrap_pyfunction!(config_keys, m)?)?;
    m.add_function(wrap_pyfunction!(from_librdkafka, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(otel_instruments, m)?)?;
    m.add_function(wrap_pyfunction!(otel_points, m)?)?;
    schema::register(m)?;
    streams::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
