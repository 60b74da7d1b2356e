//! `polykafka.streams`' native half: the core's topology builder and `KafkaStreams`, and the
//! core's `UserFunctions` implemented by a Python runner object (`polykafka.streams._runner`),
//! called once per batch and fused chain with the GIL taken once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use polykafka::streams::{
    AggregateKind, BufferConfig, ChainOutput, CombineOutput, FailureKind, JoinKind, JoinWindows, KafkaStreams, NodeId, ProcessingError, SessionWindows, State,
    StreamRecord, StreamsConfig, TimeWindows, TimestampExtractor, TimestampOutput, TopologyBuilder, UserFailure, UserFunctions,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::errors::{self, IntoPy};
use crate::runtime;

fn taken() -> PyErr {
    errors::state_error("this topology was already built")
}

/// The core's `TopologyBuilder`; node ids are ints.
#[pyclass(module = "polykafka._native")]
pub struct TopologyBuilderNative {
    builder: Mutex<Option<TopologyBuilder>>,
}

impl TopologyBuilderNative {
    fn with<T>(&self, py: Python<'_>, f: impl FnOnce(&mut TopologyBuilder) -> polykafka::Result<T>) -> PyResult<T> {
        let mut g = self.builder.lock().map_err(|_| taken())?;
        let b = g.as_mut().ok_or_else(taken)?;
        f(b).py_err(py)
    }
}

#[pymethods]
impl TopologyBuilderNative {
    #[new]
    fn new() -> Self {
        TopologyBuilderNative { builder: Mutex::new(Some(TopologyBuilder::new())) }
    }
    /// The aggregation's store: `materialized`, else Kafka Streams' default name from the
    /// core's counter (see `TopologyBuilder`).
    #[pyo3(signature = (materialized=None, reduce=false))]
    fn aggregate_store_name(&self, py: Python<'_>, materialized: Option<&str>, reduce: bool) -> PyResult<String> {
        self.with(py, |b| Ok(b.aggregate_store_name(materialized, reduce)))
    }
    /// (kind, name) of the stores and repartition topics so far (see the core's `internal_names`).
    fn internal_names(&self, py: Python<'_>) -> PyResult<Vec<(&'static str, String)>> {
        self.with(py, |b| Ok(b.internal_names()))
    }
    /// Re-encoding with other serdes: a node Kafka Streams does not have (takes no name index).
    fn serde(&self, py: Python<'_>, parent: NodeId) -> PyResult<NodeId> {
        self.with(py, |b| b.serde(parent))
    }
    fn source(&self, py: Python<'_>, topics: Vec<String>) -> PyResult<NodeId> {
        let t: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.with(py, |b| b.source(&t))
    }
    /// The source's timestamp extractor: a built-in's Kafka Streams name, or "user" (the
    /// runner's `extract_timestamps`).
    fn timestamp_extractor(&self, py: Python<'_>, source: NodeId, kind: &str) -> PyResult<()> {
        let x = match kind {
            "user" => TimestampExtractor::User,
            name => TimestampExtractor::from_name(name).ok_or_else(|| PyValueError::new_err(format!("unknown timestamp extractor '{name}'")))?,
        };
        self.with(py, |b| b.timestamp_extractor(source, x))
    }
    fn user(&self, py: Python<'_>, parent: NodeId) -> PyResult<NodeId> {
        self.with(py, |b| b.user(parent))
    }
    fn split(&self, py: Python<'_>, parent: NodeId, ports: u32) -> PyResult<NodeId> {
        self.with(py, |b| b.split(parent, ports))
    }
    fn branch(&self, py: Python<'_>, split: NodeId, port: u32) -> PyResult<NodeId> {
        self.with(py, |b| b.branch(split, port))
    }
    fn merge(&self, py: Python<'_>, a: NodeId, b: NodeId) -> PyResult<NodeId> {
        self.with(py, |x| x.merge(a, b))
    }
    fn sink(&self, py: Python<'_>, parent: NodeId, topic: &str) -> PyResult<NodeId> {
        self.with(py, |b| b.sink(parent, topic))
    }
    /// `KStream.repartition()` (name default Kafka Streams' generated one).
    #[pyo3(signature = (parent, name=None))]
    fn repartition_stream(&self, py: Python<'_>, parent: NodeId, name: Option<&str>) -> PyResult<NodeId> {
        self.with(py, |b| b.repartition_stream(parent, name))
    }
    /// A user node that may change keys (map, flat_map, select_key).
    fn mark_key_changing(&self, py: Python<'_>, node: NodeId) -> PyResult<()> {
        self.with(py, |b| b.mark_key_changing(node))
    }
    /// The node an aggregation reads: `node`, or a repartition of it named `name` when keys
    /// changed upstream (see the core's `TopologyBuilder::grouped`).
    fn grouped(&self, py: Python<'_>, node: NodeId, name: &str) -> PyResult<NodeId> {
        self.with(py, |b| b.grouped(node, name))
    }
    /// `to()` with a topic per record: the node's combining function returns the topic name.
    fn sink_per_record(&self, py: Python<'_>, parent: NodeId) -> PyResult<NodeId> {
        self.with(py, |b| b.sink_per_record(parent))
    }
    fn repartition(&self, py: Python<'_>, parent: NodeId, name: &str) -> PyResult<NodeId> {
        self.with(py, |b| b.repartition(parent, name))
    }
    /// `kind`: "count" or "combine"; `windows`: (size_ms, advance_ms, grace_ms) or None.
    #[pyo3(signature = (parent, store, kind, windows=None))]
    fn aggregate(&self, py: Python<'_>, parent: NodeId, store: &str, kind: &str, windows: Option<(i64, i64, i64)>) -> PyResult<NodeId> {
        let kind = match kind {
            "count" => AggregateKind::Count,
            "combine" => AggregateKind::Combine,
            other => return Err(PyValueError::new_err(format!("unknown aggregation kind '{other}'"))),
        };
        let windows = match windows {
            None => None,
            Some((size, advance, grace)) => Some(TimeWindows::of_size_and_grace(size, grace).and_then(|w| w.advance_by(advance)).py_err(py)?),
        };
        self.with(py, |b| b.aggregate(parent, store, kind, windows))
    }
    /// `windowed_by(SessionWindows...)` then count ("count") or reduce/aggregate ("combine").
    fn session_aggregate(&self, py: Python<'_>, parent: NodeId, store: &str, kind: &str, gap_ms: i64, grace_ms: i64) -> PyResult<NodeId> {
        let kind = match kind {
            "count" => AggregateKind::Count,
            "combine" => AggregateKind::Combine,
            other => return Err(PyValueError::new_err(format!("unknown aggregation kind '{other}'"))),
        };
        let windows = SessionWindows::of_inactivity_gap_and_grace(gap_ms, grace_ms).py_err(py)?;
        self.with(py, |b| b.session_aggregate(parent, store, kind, windows))
    }
    fn to_stream(&self, py: Python<'_>, table: NodeId) -> PyResult<NodeId> {
        self.with(py, |b| b.to_stream(table))
    }
    /// `builder.table(topic)`: (source, table, store).
    #[pyo3(signature = (topic, materialized=None))]
    fn table(&self, py: Python<'_>, topic: &str, materialized: Option<&str>) -> PyResult<(NodeId, NodeId, String)> {
        self.with(py, |b| b.table(topic, materialized))
    }
    /// KTable filter / filter_not / map_values (the runner's op on the node says which).
    fn table_user(&self, py: Python<'_>, table: NodeId, filter: bool) -> PyResult<NodeId> {
        self.with(py, |b| b.table_user(table, filter))
    }
    fn join_table(&self, py: Python<'_>, stream: NodeId, table: NodeId, left: bool) -> PyResult<NodeId> {
        self.with(py, |b| b.join_table(stream, table, left))
    }
    /// Stream-stream join; `kind`: "inner", "left" or "outer"; `name`: the stores' base name
    /// (None: Kafka Streams' default names).
    /// Returns (this side node, other side node, joined stream node).
    #[allow(clippy::too_many_arguments)]
    fn stream_join(
        &self,
        py: Python<'_>,
        this: NodeId,
        other: NodeId,
        before_ms: i64,
        after_ms: i64,
        grace_ms: i64,
        kind: &str,
        name: Option<&str>,
    ) -> PyResult<(NodeId, NodeId, NodeId)> {
        let kind = match kind {
            "inner" => JoinKind::Inner,
            "left" => JoinKind::Left,
            "outer" => JoinKind::Outer,
            other => return Err(PyValueError::new_err(format!("unknown join kind '{other}'"))),
        };
        let windows = JoinWindows::new(before_ms, after_ms, grace_ms).py_err(py)?;
        let n = self.with(py, |b| b.stream_join(this, other, windows, kind, name))?;
        Ok((n.this, n.other, n.joined))
    }
    /// `suppress(until_window_closes(...))` of a windowed table, named `name` (its buffer store
    /// `<name>-store`; None: Kafka Streams' default). Returns (node, store name).
    #[pyo3(signature = (table, name=None, max_records=None, max_bytes=None))]
    fn suppress(&self, py: Python<'_>, table: NodeId, name: Option<&str>, max_records: Option<u64>, max_bytes: Option<u64>) -> PyResult<(NodeId, String)> {
        self.with(py, |b| b.suppress(table, name, BufferConfig { max_records, max_bytes }))
    }
}

/// The Python runner: `run_chain(chain, records)` and `combine(node, records, operands)`, each
/// returning `(results, failure)` with failure `None` or `(index, kind, message)`.
struct PyFunctions {
    runner: Py<PyAny>,
}

fn records_list<'py>(py: Python<'py>, input: &[StreamRecord]) -> PyResult<Bound<'py, PyList>> {
    let items: Vec<Bound<'py, PyTuple>> = input
        .iter()
        .map(|r| {
            let k: PyObject = match &r.key {
                Some(k) => PyBytes::new(py, k).into_any().unbind(),
                None => py.None(),
            };
            let v: PyObject = match &r.value {
                Some(v) => PyBytes::new(py, v).into_any().unbind(),
                None => py.None(),
            };
            PyTuple::new(py, [k, v, r.timestamp.into_pyobject(py).expect("int").into_any().unbind()])
        })
        .collect::<PyResult<_>>()?;
    PyList::new(py, items)
}

fn opt_bytes(o: &Bound<'_, PyAny>) -> PyResult<Option<Bytes>> {
    if o.is_none() {
        return Ok(None);
    }
    let b: &[u8] = o.extract()?;
    Ok(Some(Bytes::copy_from_slice(b)))
}

fn failure(f: &Bound<'_, PyAny>) -> PyResult<Option<UserFailure>> {
    if f.is_none() {
        return Ok(None);
    }
    let (index, kind, message): (usize, String, String) = f.extract()?;
    let kind = if kind == "deserialization" { FailureKind::Deserialization } else { FailureKind::User };
    Ok(Some(UserFailure { index, kind, message }))
}

fn runner_failed(py: Python<'_>, e: PyErr) -> UserFailure {
    UserFailure { index: 0, kind: FailureKind::User, message: format!("the Python streams runner failed: {}", e.value(py)) }
}

impl UserFunctions for PyFunctions {
    fn run_chain(&self, chain: &[NodeId], input: &[StreamRecord]) -> ChainOutput {
        Python::with_gil(|py| {
            let call = || -> PyResult<ChainOutput> {
                let recs = records_list(py, input)?;
                let res = self.runner.bind(py).call_method1("run_chain", (chain.to_vec(), recs))?;
                let (outs, fail): (Bound<'_, PyList>, Bound<'_, PyAny>) = res.extract()?;
                let mut out = ChainOutput { records: Vec::with_capacity(outs.len()), failure: failure(&fail)? };
                for item in outs.iter() {
                    let t = item.downcast::<PyTuple>()?;
                    let i: usize = t.get_item(0)?.extract()?;
                    let port: u32 = t.get_item(1)?.extract()?;
                    let key = opt_bytes(&t.get_item(2)?)?;
                    let value = opt_bytes(&t.get_item(3)?)?;
                    let timestamp: i64 = t.get_item(4)?.extract()?;
                    out.records.push((i, port, StreamRecord { key, value, timestamp }));
                }
                Ok(out)
            };
            call().unwrap_or_else(|e| ChainOutput { records: Vec::new(), failure: Some(runner_failed(py, e)) })
        })
    }

    fn combine(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        self.call_combining("combine", node, input, operands)
    }

    fn merge(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        self.call_combining("merge", node, input, operands)
    }

    fn extract_timestamps(&self, source: NodeId, input: &[StreamRecord], partition_time: i64) -> TimestampOutput {
        Python::with_gil(|py| {
            let call = || -> PyResult<TimestampOutput> {
                let recs = records_list(py, input)?;
                let res = self.runner.bind(py).call_method1("extract_timestamps", (source, recs, partition_time))?;
                let (times, fail): (Vec<i64>, Bound<'_, PyAny>) = res.extract()?;
                Ok(TimestampOutput { timestamps: times, failure: failure(&fail)? })
            };
            call().unwrap_or_else(|e| TimestampOutput { timestamps: Vec::new(), failure: Some(runner_failed(py, e)) })
        })
    }
}

impl PyFunctions {
    /// The runner's `combine` or `merge` (a session merger): one value per record.
    fn call_combining(&self, method: &str, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        Python::with_gil(|py| {
            let call = || -> PyResult<CombineOutput> {
                let recs = records_list(py, input)?;
                let ops: Vec<PyObject> = operands
                    .iter()
                    .map(|o| match o {
                        Some(b) => PyBytes::new(py, b).into_any().unbind(),
                        None => py.None(),
                    })
                    .collect();
                let res = self.runner.bind(py).call_method1(method, (node, recs, ops))?;
                let (vals, fail): (Bound<'_, PyList>, Bound<'_, PyAny>) = res.extract()?;
                let mut out = CombineOutput { values: Vec::with_capacity(vals.len()), failure: failure(&fail)? };
                for v in vals.iter() {
                    out.values.push(opt_bytes(&v)?);
                }
                Ok(out)
            };
            call().unwrap_or_else(|e| CombineOutput { values: Vec::new(), failure: Some(runner_failed(py, e)) })
        })
    }
}

fn failure_dict<'py>(py: Python<'py>, e: &ProcessingError) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("topic", e.topic.clone())?;
    d.set_item("partition", e.partition)?;
    d.set_item("offset", e.offset)?;
    d.set_item(
        "kind",
        match e.kind {
            Some(FailureKind::User) => "user",
            Some(FailureKind::Deserialization) => "deserialization",
            None => "kafka",
        },
    )?;
    d.set_item("message", e.message.clone())?;
    Ok(d)
}

/// The core's `KafkaStreams`.
#[pyclass(module = "polykafka._native")]
pub struct KafkaStreamsNative {
    streams: Arc<KafkaStreams>,
    owner: u32,
}

#[pymethods]
impl KafkaStreamsNative {
    #[new]
    fn new(py: Python<'_>, builder: &TopologyBuilderNative, runner: PyObject, config: Vec<(String, String)>) -> PyResult<Self> {
        let config = StreamsConfig::from_properties(config).py_err(py)?;
        let b = builder.builder.lock().map_err(|_| taken())?.take().ok_or_else(taken)?;
        let topology = b.build().py_err(py)?;
        let handle = runtime::handle()?;
        let functions: Arc<dyn UserFunctions> = Arc::new(PyFunctions { runner });
        let streams = KafkaStreams::new(topology, functions, config, handle).py_err(py)?;
        Ok(KafkaStreamsNative { streams: Arc::new(streams), owner: runtime::pid() })
    }

    fn describe(&self) -> String {
        self.streams.topology().describe()
    }

    fn start(&self, py: Python<'_>) -> PyResult<()> {
        runtime::check_pid(self.owner)?;
        self.streams.start().py_err(py)
    }

    /// True when everything stopped within the timeout.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let t = match timeout {
            None => Duration::from_secs(3600 * 24 * 365),
            Some(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
            Some(s) => return Err(PyValueError::new_err(format!("timeout must be a non-negative number of seconds, got {s}"))),
        };
        let streams = self.streams.clone();
        Ok(py.allow_threads(move || streams.close(t)))
    }

    fn state(&self) -> &'static str {
        self.streams.state().as_str()
    }

    fn set_state_listener(&self, py: Python<'_>, listener: PyObject) -> PyResult<()> {
        let l = Arc::new(move |new: State, old: State| {
            Python::with_gil(|py| {
                if let Err(e) = listener.call1(py, (new.as_str(), old.as_str())) {
                    e.write_unraisable(py, None);
                }
            })
        });
        self.streams.set_state_listener(l).py_err(py)
    }

    /// `handler(failure: dict)`: called on the stream thread when it stops on an error.
    fn set_uncaught_exception_handler(&self, py: Python<'_>, handler: PyObject) -> PyResult<()> {
        let h = Arc::new(move |e: &ProcessingError| {
            Python::with_gil(|py| {
                let r = failure_dict(py, e).and_then(|d| handler.call1(py, (d,)));
                if let Err(e) = r {
                    e.write_unraisable(py, None);
                }
            })
        });
        self.streams.set_uncaught_exception_handler(h).py_err(py)
    }

    fn failure<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.streams.failure().map(|e| failure_dict(py, &e)).transpose()
    }

    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.streams.metrics();
        let d = PyDict::new(py);
        d.set_item("processed", m.processed)?;
        d.set_item("late_dropped", m.late_dropped)?;
        d.set_item("timestamp_dropped", m.timestamp_dropped)?;
        d.set_item("dropped", m.dropped)?;
        d.set_item("deserialization_skipped", m.deserialization_skipped)?;
        d.set_item("dead_lettered", m.dead_lettered)?;
        d.set_item("restored", m.restored)?;
        d.set_item("restore_seconds", m.restore_micros as f64 / 1e6)?;
        d.set_item("commits", m.commits)?;
        Ok(d)
    }

    fn store_windowed(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        Ok(self.streams.store(name).py_err(py)?.is_windowed())
    }

    fn store_get<'py>(&self, py: Python<'py>, name: &str, key: &[u8]) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let v = self.streams.store(name).and_then(|s| s.get(key)).py_err(py)?;
        Ok(v.map(|b| PyBytes::new(py, &b)))
    }

    #[pyo3(signature = (name, start=None, end=None))]
    fn store_range<'py>(&self, py: Python<'py>, name: &str, start: Option<Vec<u8>>, end: Option<Vec<u8>>) -> PyResult<Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        let v = self.streams.store(name).and_then(|s| s.range(start.as_deref(), end.as_deref())).py_err(py)?;
        Ok(v.into_iter().map(|(k, v)| (PyBytes::new(py, &k), PyBytes::new(py, &v))).collect())
    }

    fn store_all<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        let v = self.streams.store(name).and_then(|s| s.all()).py_err(py)?;
        Ok(v.into_iter().map(|(k, v)| (PyBytes::new(py, &k), PyBytes::new(py, &v))).collect())
    }

    fn store_session(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        Ok(self.streams.store(name).py_err(py)?.is_session())
    }

    /// A session store's sessions of `key` ending at `earliest_end` or later and starting at
    /// `latest_start` or earlier: (start, end, value).
    fn store_find_sessions<'py>(&self, py: Python<'py>, name: &str, key: &[u8], earliest_end: i64, latest_start: i64) -> PyResult<Vec<(i64, i64, Bound<'py, PyBytes>)>> {
        let v = self.streams.store(name).and_then(|s| s.find_sessions(key, earliest_end, latest_start)).py_err(py)?;
        Ok(v.into_iter().map(|(s, e, v)| (s, e, PyBytes::new(py, &v))).collect())
    }

    fn store_fetch<'py>(&self, py: Python<'py>, name: &str, key: &[u8], start: i64, end: i64) -> PyResult<Vec<(i64, Bound<'py, PyBytes>)>> {
        let v = self.streams.store(name).and_then(|s| s.fetch(key, start, end)).py_err(py)?;
        Ok(v.into_iter().map(|(s, v)| (s, PyBytes::new(py, &v))).collect())
    }
}

/// The core's check of session windows: its message when `(gap_ms, grace_ms)` is refused.
#[pyfunction]
fn session_windows_error(gap_ms: i64, grace_ms: i64) -> Option<String> {
    SessionWindows::of_inactivity_gap_and_grace(gap_ms, grace_ms).err().map(|e| e.message().to_string())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(session_windows_error, m)?)?;
    m.add_class::<TopologyBuilderNative>()?;
    m.add_class::<KafkaStreamsNative>()?;
    Ok(())
}
