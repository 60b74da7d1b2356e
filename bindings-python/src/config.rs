//! A client's conf dict, translated by `polykafka._config.translate` (the one place where
//! librdkafka's names become the core's) into the core's properties and the callables.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::client_errors::ErrorSink;
use crate::logs;

pub struct Conf {
    pub properties: BTreeMap<String, String>,
    pub logger: PyObject,
    /// `error_cb`, registered for the client's connection errors.
    pub error_cb: Option<Arc<ErrorSink>>,
    pub on_delivery: Option<PyObject>,
    pub on_commit: Option<PyObject>,
    /// `stats_cb`, called with the statistics JSON every `statistics.interval.ms`.
    pub stats_cb: Option<PyObject>,
    /// `delivery.report.only.error` (producer; default false).
    pub only_error: bool,
}

pub fn translate(py: Python<'_>, conf: Option<&Bound<'_, PyAny>>, kwargs: Option<&Bound<'_, PyDict>>, role: &str) -> PyResult<Conf> {
    let out = py.import("polykafka._config")?.call_method1("translate", (conf, kwargs, role))?;
    let (properties, extras): (BTreeMap<String, String>, Bound<'_, PyDict>) = out.extract()?;
    let get = |k: &str| -> PyResult<Option<PyObject>> {
        Ok(extras.get_item(k)?.filter(|v| !v.is_none()).map(|v| v.unbind()))
    };
    let debug = get("debug")?.map(|d| d.bind(py).is_truthy()).transpose()?.unwrap_or(false);
    logs::install(debug);
    Ok(Conf {
        properties,
        logger: match get("logger")? {
            Some(l) => l,
            None => logs::default_logger(py)?,
        },
        error_cb: get("error_cb")?.map(|cb| ErrorSink::new(Some(cb))),
        on_delivery: get("on_delivery")?,
        on_commit: get("on_commit")?,
        stats_cb: get("stats_cb")?,
        only_error: match get("delivery.report.only.error")? {
            Some(v) => py.import("polykafka._config")?.call_method1("_flag", ("delivery.report.only.error", v))?.extract()?,
            None => false,
        },
    })
}
