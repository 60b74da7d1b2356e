//! `stats_cb`: the engine's statistics snapshot as librdkafka's JSON text, handed over from
//! poll()/flush() (and consume()) once every `statistics.interval.ms`, as confluent-kafka does.

use pyo3::prelude::*;

/// Calls `cb` with the snapshot when `due` has one.
pub fn serve<T: std::fmt::Display>(py: Python<'_>, cb: Option<&PyObject>, due: impl FnOnce() -> Option<T>) -> PyResult<()> {
    let Some(cb) = cb else { return Ok(()) };
    match due() {
        Some(snapshot) => cb.bind(py).call1((snapshot.to_string(),)).map(|_| ()),
        None => Ok(()),
    }
}
