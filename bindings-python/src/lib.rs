//! `polykafka._native`: the private native module under the pure-Python package `polykafka`.
//!
//! One module per concept: [`runtime`] (the process-wide, fork-aware tokio runtime),
//! [`errors`] (core errors as `KafkaError`/`KafkaException`), [`client_errors`] (`error_cb`), [`config`], [`logs`] (tracing to
//! Python logging), [`reports`] (delivery reports waiting for `poll`), [`message`],
//! [`producer`] and [`admin`].

mod admin;
mod client_errors;
mod config;
mod consumer;
mod errors;
mod logs;
mod message;
mod producer;
mod reports;
mod runtime;
mod schema;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<message::Message>()?;
    m.add_class::<producer::Producer>()?;
    m.add_class::<admin::AdminClient>()?;
    m.add_class::<consumer::Consumer>()?;
    m.add_class::<consumer::GroupMetadata>()?;
    m.add("TIMESTAMP_NOT_AVAILABLE", message::TIMESTAMP_NOT_AVAILABLE)?;
    m.add("TIMESTAMP_CREATE_TIME", message::TIMESTAMP_CREATE_TIME)?;
    m.add("TIMESTAMP_LOG_APPEND_TIME", message::TIMESTAMP_LOG_APPEND_TIME)?;
    schema::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
