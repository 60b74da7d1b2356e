//! `Producer`: confluent-kafka's producer over the core's.
//!
//! `produce` queues a record and returns; its outcome is a [`Report`] the core's completion
//! pushes to the producer's [`ReportQueue`], and delivery callbacks run only inside
//! `poll`/`flush`, on the caller's thread. A record without a callback gets no report at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use polykafka::producer::{Completion, ConsumerGroupMetadata, TxnState};
use polykafka::{Header, ProducerConfig, ProducerRecord, TopicPartition};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};
use tokio::runtime::Handle;

use crate::client_errors::ErrorSink;
use crate::errors::{self, Context, IntoPy};
use crate::message::{Headers, Message, Payload, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME};
use crate::reports::{Report, ReportQueue};
use crate::{config, logs, runtime};

/// Values at least this long are handed to the core without a copy (the record batch copies
/// them once); shorter ones are cheaper to copy than to keep a Python reference for.
const ZERO_COPY_MIN: usize = 4096;

/// Bytes of a `str`/`bytes`/`bytearray` key or value; `None` for None.
pub fn payload(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Bytes>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(b) = obj.downcast::<PyBytes>() {
        let slice = b.as_bytes();
        if slice.len() >= ZERO_COPY_MIN {
            return Ok(Some(Bytes::from_owner(PyBackedBytes::from(b.clone()))));
        }
        return Ok(Some(Bytes::copy_from_slice(slice)));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Some(Bytes::copy_from_slice(s.to_cow()?.as_bytes())));
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(Some(Bytes::from(b.to_vec())));
    }
    Err(PyTypeError::new_err(format!("{what} must be str, bytes or None, not {}", obj.get_type().name()?)))
}

/// A payload as a delivery report gives it back: the application's own `bytes` object (a
/// reference: no copy, no allocation), else the bytes queued.
fn reported(obj: Option<&Bound<'_, PyAny>>, queued_bytes: &Option<Bytes>) -> Payload {
    match obj {
        Some(o) if o.is_exact_instance_of::<PyBytes>() => Payload::Held(o.clone().unbind()),
        _ => queued(queued_bytes),
    }
}

fn queued(bytes: &Option<Bytes>) -> Payload {
    bytes.clone().map(Payload::Bytes).unwrap_or(Payload::None)
}

/// Milliseconds since the epoch, as the core stamps records.
fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Headers from a dict or a list of `(str, str|bytes|None)` tuples.
pub fn headers(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Header>> {
    let Some(obj) = obj else { return Ok(Vec::new()) };
    if obj.is_none() {
        return Ok(Vec::new());
    }
    let one = |k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>| -> PyResult<Header> {
        let key: String = k.extract().map_err(|_| PyTypeError::new_err("header keys must be str"))?;
        Ok(Header { key, value: payload(Some(v), "a header value")? })
    };
    if let Ok(d) = obj.downcast::<PyDict>() {
        return d.iter().map(|(k, v)| one(&k, &v)).collect();
    }
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(|_| PyTypeError::new_err("headers must be a dict or a list of (key, value) tuples"))? {
        let item = item?;
        let pair = item
            .downcast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err("headers must be a dict or a list of (key, value) tuples"))?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err("a header must be a (key, value) tuple"));
        }
        out.push(one(&pair.get_item(0)?, &pair.get_item(1)?)?);
    }
    Ok(out)
}

/// Builds the `Message` of a report and the error argument of its callback.
pub fn report_to_python(py: Python<'_>, r: Report) -> PyResult<(PyObject, PyObject, Py<Message>)> {
    let (key, value) = (r.key, r.value);
    let (partition, offset, timestamp, error) = match &r.result {
        Ok(md) => (md.partition, md.offset, (if md.timestamp >= 0 { TIMESTAMP_CREATE_TIME } else { 0 }, md.timestamp), None),
        Err(e) => (r.partition, -1001, (0, 0), Some(errors::kafka_error(py, e, Context::Delivery)?)),
    };
    let _ = TIMESTAMP_LOG_APPEND_TIME;
    let err_arg = error.as_ref().map(|e| e.clone_ref(py)).unwrap_or_else(|| py.None());
    let msg = Message {
        topic: Some(match r.result {
            Ok(md) => md.topic,
            Err(_) => r.topic.to_string(),
        }),
        partition: Some(partition),
        offset: Some(offset),
        key,
        value,
        // As confluent-kafka: a delivery report carries no headers.
        headers: Headers::None,
        error,
        timestamp,
        latency: Some(r.latency),
        leader_epoch: None,
    };
    Ok((r.callback, err_arg, Py::new(py, msg)?))
}

/// Everything a producer handle shares with the asyncio producer.
pub struct Core {
    pub producer: polykafka::producer::Producer,
    pub handle: Handle,
    pub pid: u32,
    pub reports: Arc<ReportQueue>,
    pub logger: PyObject,
    /// `error_cb` from the conf, served with the logs (see `client_errors.rs`).
    pub error_cb: Option<Arc<ErrorSink>>,
    pub on_delivery: Option<PyObject>,
    pub stats_cb: Option<PyObject>,
    /// `delivery.report.only.error`: delivery callbacks for failed records only.
    pub only_error: bool,
    pub closed: AtomicBool,
    /// The last topic produced to (see [`Core::topic`]).
    last_topic: Mutex<Option<LastTopic>>,
}

/// A topic's `str` object, its name, and the name shared by the reports of its records.
struct LastTopic {
    object: Py<PyString>,
    name: String,
    shared: Arc<str>,
}

impl Core {
    pub fn new(py: Python<'_>, conf: Option<&Bound<'_, PyAny>>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Core> {
        let conf = config::translate(py, conf, kwargs, "producer")?;
        let mut cfg = ProducerConfig::from_properties(conf.properties).py_err(py)?;
        if let Some(sink) = &conf.error_cb {
            sink.attach(&mut cfg.client);
        }
        let handle = runtime::handle()?;
        let producer = {
            let _guard = handle.enter();
            polykafka::producer::Producer::new(cfg).py_err(py)?
        };
        Ok(Core {
            producer,
            handle,
            pid: runtime::pid(),
            reports: Arc::new(ReportQueue::new()),
            logger: conf.logger,
            error_cb: conf.error_cb,
            on_delivery: conf.on_delivery,
            stats_cb: conf.stats_cb,
            only_error: conf.only_error,
            closed: AtomicBool::new(false),
            last_topic: Mutex::new(None),
        })
    }

    pub fn check(&self) -> PyResult<()> {
        runtime::check_pid(self.pid)?;
        if self.closed.load(Ordering::Acquire) {
            // As confluent-kafka.
            return Err(pyo3::exceptions::PyRuntimeError::new_err("Producer has been closed"));
        }
        Ok(())
    }

    /// `topic`'s name, and the same as one allocation shared by its records' reports. A producer
    /// mostly produces to one topic: when `topic` is the last one's `str` object (or an equal
    /// one) nothing is read from it. (The stable ABI this module is built for before Python 3.10
    /// has no access to a `str`'s UTF-8 without a temporary `bytes` object: one per call before.)
    pub fn topic(&self, topic: &Bound<'_, PyString>) -> PyResult<(String, Arc<str>)> {
        let mut last = self.last_topic.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = &*last {
            if topic.is(&l.object) {
                return Ok((l.name.clone(), l.shared.clone()));
            }
        }
        let name = topic.to_cow()?;
        if let Some(l) = &mut *last {
            if l.name == name {
                l.object = topic.clone().unbind();
                return Ok((l.name.clone(), l.shared.clone()));
            }
        }
        let shared: Arc<str> = Arc::from(&*name);
        let l = last.insert(LastTopic { object: topic.clone().unbind(), name: name.into_owned(), shared });
        Ok((l.name.clone(), l.shared.clone()))
    }

    /// The completion of one record: a report when someone waits for it, nothing otherwise.
    /// `only_error` (a delivery callback with `delivery.report.only.error`): a report for a
    /// failed record only. `key`/`value` are the objects the application passed (a report gives
    /// a `bytes` one back as it is); `start`: when the record was produced (its latency's start).
    #[allow(clippy::too_many_arguments)]
    pub fn completion(
        &self,
        callback: Option<PyObject>,
        record: &ProducerRecord,
        topic: &Arc<str>,
        key: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
        start: SystemTime,
        only_error: bool,
    ) -> Completion {
        let Some(callback) = callback else { return Completion::Ignore };
        let reports = self.reports.clone();
        let (topic, partition) = (topic.clone(), record.partition.unwrap_or(-1));
        let latency = move || start.elapsed().map(|d| d.as_secs_f64()).unwrap_or(0.0);
        if only_error {
            // Reports are rare here: the bytes queued, no reference to a Python object that a
            // delivered record would drop on the producer's thread.
            let (key, value) = (queued(&record.key), queued(&record.value));
            return Completion::Callback(Box::new(move |result| {
                if result.is_err() {
                    reports.push(Report { callback, topic, partition, key, value, result, latency: latency() })
                }
            }));
        }
        let (key, value) = (reported(key, &record.key), reported(value, &record.value));
        Completion::Callback(Box::new(move |result| reports.push(Report { callback, topic, partition, key, value, result, latency: latency() })))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        topic: String,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: i32,
        timestamp: i64,
        hdrs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<ProducerRecord> {
        Ok(ProducerRecord {
            topic,
            partition: (partition >= 0).then_some(partition),
            key: payload(key, "key")?,
            value: payload(value, "value")?,
            headers: headers(hdrs)?,
            timestamp: (timestamp > 0).then_some(timestamp),
        })
    }

    /// Queues a record without waiting for anything, as librdkafka's `produce()`: a record
    /// whose topic's metadata is not known yet waits inside the engine and reports through its
    /// callback; a full queue (`buffer.memory` or `queue.buffering.max.messages`) is
    /// `BufferError`. `key`/`value`: the objects the record's payloads came from.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &self,
        py: Python<'_>,
        mut record: ProducerRecord,
        topic: Arc<str>,
        key: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
        callback: Option<PyObject>,
        only_error: bool,
    ) -> PyResult<()> {
        // One clock read per record: its timestamp (which the core would read the clock for) and
        // its latency's start.
        let now = SystemTime::now();
        if record.timestamp.is_none() {
            record.timestamp = Some(millis(now));
        }
        let completion = self.completion(callback, &record, &topic, key, value, now, only_error);
        let mut failed = None;
        errors::guard(py, || self.producer.enqueue_each([(record, completion)], |_, e| failed = Some(e)).py_err(py))?;
        match failed {
            None => Ok(()),
            Some(e) => Err(e).py_err(py),
        }
    }

    /// Hands the engine's log records to the logger, a statistics snapshot when due to
    /// `stats_cb` and this producer's errors to `error_cb`; the number of errors served.
    pub fn drain_logs(&self, py: Python<'_>) -> PyResult<usize> {
        logs::drain(py, self.logger.bind(py))?;
        crate::stats::serve(py, self.stats_cb.as_ref(), || self.producer.stats_due())?;
        match &self.error_cb {
            Some(sink) => sink.serve(py),
            None => Ok(0),
        }
    }

    /// Runs the callbacks of the reports waiting; the number served.
    pub fn serve(&self, py: Python<'_>) -> PyResult<usize> {
        let mut pending = self.reports.take();
        let mut served = 0;
        while let Some(r) = pending.pop_front() {
            let (cb, err, msg) = report_to_python(py, r)?;
            served += 1;
            if let Err(e) = cb.bind(py).call1((err, msg)) {
                self.reports.put_back(pending);
                return Err(e);
            }
        }
        Ok(served)
    }

    pub fn len(&self) -> usize {
        self.producer.in_flight_count() + self.reports.len()
    }

    /// Serves delivery reports and `error_cb` errors, waiting up to `timeout` for the first;
    /// an error served counts as served (librdkafka's poll returns for any event).
    pub fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let served = self.drain_logs(py)? + self.serve(py)?;
        if served > 0 {
            return Ok(served);
        }
        let deadline = runtime::timeout_from(timeout).map(|t| Instant::now() + t);
        loop {
            let slice = match deadline {
                None => runtime::SIGNAL_SLICE,
                Some(d) => d.saturating_duration_since(Instant::now()).min(runtime::SIGNAL_SLICE),
            };
            let reports = &self.reports;
            if py.allow_threads(|| reports.wait(slice)) {
                let errors = self.drain_logs(py)?;
                return Ok(errors + self.serve(py)?);
            }
            py.check_signals()?;
            let errors = self.drain_logs(py)?;
            if errors > 0 {
                return Ok(errors);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(0);
            }
        }
    }

    pub fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let deadline = runtime::timeout_from(timeout).map(|t| Instant::now() + t);
        loop {
            self.drain_logs(py)?;
            self.serve(py)?;
            let left = self.len();
            if left == 0 {
                return Ok(0);
            }
            let slice = match deadline {
                None => runtime::SIGNAL_SLICE,
                Some(d) => {
                    let rest = d.saturating_duration_since(Instant::now());
                    if rest.is_zero() {
                        return Ok(left);
                    }
                    rest.min(runtime::SIGNAL_SLICE)
                }
            };
            let (producer, handle) = (&self.producer, &self.handle);
            py.allow_threads(|| handle.block_on(async { producer.flush(slice).await.ok() }));
            py.check_signals()?;
        }
    }

    pub fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        if runtime::pid() != self.pid || self.closed.swap(true, Ordering::AcqRel) {
            return Ok(true);
        }
        let timeout = runtime::timeout_from(timeout).unwrap_or(Duration::from_secs(30));
        let res = runtime::wait(py, &self.handle, self.producer.close(timeout), None)?.expect("no timeout");
        self.serve(py)?;
        self.drain_logs(py)?;
        Ok(res.is_ok())
    }
}

/// A delivery callback given to a call: refused at once when it cannot be called (confluent-kafka
/// queues the record and its flush then raises SystemError).
fn delivery_callback(py: Python<'_>, cb: Option<PyObject>) -> PyResult<Option<PyObject>> {
    match cb {
        Some(c) if !c.bind(py).is_callable() => {
            Err(PyTypeError::new_err(format!("on_delivery must be callable, not {}", c.bind(py).get_type().name()?)))
        }
        cb => Ok(cb),
    }
}

fn seconds(timeout: Option<f64>, default: Duration) -> Duration {
    runtime::timeout_from(timeout).unwrap_or(default)
}

/// The keys `produce_batch` reads from a message's dict.
struct BatchKeys<'py> {
    value: Bound<'py, PyString>,
    key: Bound<'py, PyString>,
    partition: Bound<'py, PyString>,
    timestamp: Bound<'py, PyString>,
    headers: Bound<'py, PyString>,
    callback: Bound<'py, PyString>,
}

#[derive(Default)]
struct BatchFields<'py> {
    value: Option<Bound<'py, PyAny>>,
    key: Option<Bound<'py, PyAny>>,
    partition: Option<Bound<'py, PyAny>>,
    timestamp: Option<Bound<'py, PyAny>>,
    headers: Option<Bound<'py, PyAny>>,
    callback: Option<Bound<'py, PyAny>>,
}

impl<'py> BatchKeys<'py> {
    fn new(py: Python<'py>) -> Self {
        BatchKeys {
            value: pyo3::intern!(py, "value").clone(),
            key: pyo3::intern!(py, "key").clone(),
            partition: pyo3::intern!(py, "partition").clone(),
            timestamp: pyo3::intern!(py, "timestamp").clone(),
            headers: pyo3::intern!(py, "headers").clone(),
            callback: pyo3::intern!(py, "callback").clone(),
        }
    }

    /// The fields of a message. A dict of one or two entries (`{"value": v}`, the common case)
    /// is read by walking its entries, with the keys compared by identity (string literals are
    /// interned) and by value otherwise: cheaper than six lookups. A larger dict is looked up.
    fn fields(&self, m: &Bound<'py, PyDict>) -> PyResult<BatchFields<'py>> {
        let mut f = BatchFields::default();
        if m.len() > 2 {
            f.value = m.get_item(&self.value)?;
            f.key = m.get_item(&self.key)?;
            f.partition = m.get_item(&self.partition)?;
            f.timestamp = m.get_item(&self.timestamp)?;
            f.headers = m.get_item(&self.headers)?;
            f.callback = m.get_item(&self.callback)?;
            return Ok(f);
        }
        for (k, v) in m.iter() {
            let slot = if k.is(&self.value) {
                &mut f.value
            } else if k.is(&self.key) {
                &mut f.key
            } else {
                let Some(name) = k.downcast::<PyString>().ok().and_then(|n| n.to_cow().ok()) else { continue };
                match name.as_ref() {
                    "value" => &mut f.value,
                    "key" => &mut f.key,
                    "partition" => &mut f.partition,
                    "timestamp" => &mut f.timestamp,
                    "headers" => &mut f.headers,
                    "callback" => &mut f.callback,
                    _ => continue,
                }
            };
            *slot = Some(v);
        }
        Ok(f)
    }
}

/// confluent-kafka's `Producer`.
#[pyclass(module = "polykafka", name = "Producer", subclass, frozen)]
pub struct Producer {
    core: Core,
}

#[pymethods]
impl Producer {
    #[new]
    #[pyo3(signature = (config=None, /, **kwargs))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyAny>>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Ok(Producer { core: Core::new(py, config, kwargs)? })
    }

    /// Queues a record. Raises `BufferError` when the buffer (`queue.buffering.max.kbytes`) is
    /// full: call `poll()` and try again.
    #[pyo3(signature = (topic, value=None, key=None, partition=-1, callback=None, on_delivery=None, timestamp=0, headers=None))]
    #[allow(clippy::too_many_arguments)]
    fn produce(
        &self,
        py: Python<'_>,
        topic: &Bound<'_, PyString>,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: i32,
        callback: Option<PyObject>,
        on_delivery: Option<PyObject>,
        timestamp: i64,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.core.check()?;
        let (name, shared) = self.core.topic(topic)?;
        let record = Core::record(name, value, key, partition, timestamp, headers)?;
        let cb = delivery_callback(py, callback.or(on_delivery))?.or_else(|| self.core.on_delivery.as_ref().map(|c| c.clone_ref(py)));
        self.core.send(py, record, shared, key, value, cb, self.core.only_error)
    }

    /// Queues many records in one call. `messages` is a list of dicts with the keys of
    /// `produce` (`value`, `key`, `partition`, `timestamp`, `headers`, `callback`). Returns how
    /// many were queued; a record that could not be queued gets its error under `_error` in
    /// its dict, as confluent-kafka's `produce_batch`. A message that is not a dict, or whose
    /// value, key or headers have the wrong type, raises before anything is queued.
    #[pyo3(signature = (topic, messages, partition=-1, callback=None, on_delivery=None))]
    fn produce_batch<'py>(
        &self,
        py: Python<'py>,
        topic: &Bound<'py, PyString>,
        messages: &Bound<'py, PyList>,
        partition: i32,
        callback: Option<PyObject>,
        on_delivery: Option<PyObject>,
    ) -> PyResult<usize> {
        self.core.check()?;
        let default_cb = delivery_callback(py, callback.or(on_delivery))?.or_else(|| self.core.on_delivery.as_ref().map(|c| c.clone_ref(py)));
        // Every record is converted first (a message of the wrong type queues nothing), then the
        // core queues them all in one call; the errors go into the messages' dicts afterwards.
        // Per call, not per record: the clock read (the latency's start; the core stamps the
        // timestamps once per CLOCK_EVERY records) and the topic's shared name for the reports.
        let start = SystemTime::now();
        let (topic, shared_topic) = self.core.topic(topic)?;
        let keys = BatchKeys::new(py);
        let mut records = Vec::with_capacity(messages.len());
        let mut dicts = Vec::with_capacity(messages.len());
        for item in messages.iter() {
            let m = item.downcast::<PyDict>().map_err(|_| PyTypeError::new_err("produce_batch: each message must be a dict"))?;
            let f = keys.fields(m)?;
            let part: i32 = match &f.partition {
                Some(p) if !p.is_none() => p.extract()?,
                _ => partition,
            };
            let ts: i64 = match &f.timestamp {
                Some(t) if !t.is_none() => t.extract()?,
                _ => 0,
            };
            let record = Core::record(topic.clone(), f.value.as_ref(), f.key.as_ref(), part, ts, f.headers.as_ref())?;
            let cb = match delivery_callback(py, f.callback.filter(|c| !c.is_none()).map(Bound::unbind))? {
                Some(c) => Some(c),
                None => default_cb.as_ref().map(|c| c.clone_ref(py)),
            };
            let completion =
                self.core.completion(cb, &record, &shared_topic, f.key.as_ref(), f.value.as_ref(), start, self.core.only_error);
            records.push((record, completion));
            dicts.push(m.clone());
        }
        let mut rejected = Vec::new();
        let queued = errors::guard(py, || self.core.producer.enqueue_each(records, |i, e| rejected.push((i, e))).py_err(py))?;
        for (i, e) in rejected {
            dicts[i].set_item("_error", errors::kafka_error(py, &e, Context::Call)?)?;
        }
        Ok(queued)
    }

    /// Serves delivery callbacks: waits up to `timeout` seconds (None: forever) for the first
    /// one. Returns how many were served.
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        self.core.check()?;
        self.core.poll(py, timeout)
    }

    /// Sends everything queued and serves callbacks until nothing is left or `timeout` seconds
    /// passed. Returns how many records are still waiting.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        self.core.check()?;
        self.core.flush(py, timeout)
    }

    /// As confluent-kafka: `in_queue` fails the records not yet sent with `_PURGE_QUEUE`,
    /// `in_flight` the records of requests already sent with `_PURGE_INFLIGHT` (when the
    /// request ends; the broker may have written them). Their callbacks run in the next
    /// `poll`/`flush`. The engine purges without waiting for any thread, so `blocking` changes
    /// nothing: both values return once the records are marked.
    #[pyo3(signature = (in_queue=true, in_flight=true, blocking=true))]
    fn purge(&self, in_queue: bool, in_flight: bool, blocking: bool) -> PyResult<()> {
        let _ = blocking;
        self.core.check()?;
        self.core.producer.purge(in_queue, in_flight);
        Ok(())
    }

    #[pyo3(signature = (timeout=None))]
    fn init_transactions(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.core.check()?;
        self.txn_check("init")?;
        let t = seconds(timeout, Duration::from_secs(60));
        runtime::wait(py, &self.core.handle, self.core.producer.init_transactions(t), None)?.expect("no timeout").py_err(py)
    }

    fn begin_transaction(&self, py: Python<'_>) -> PyResult<()> {
        self.core.check()?;
        self.txn_check("begin")?;
        self.core.producer.begin_transaction().py_err(py)
    }

    #[pyo3(signature = (timeout=None))]
    fn commit_transaction(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.core.check()?;
        self.txn_check("commit")?;
        let t = seconds(timeout, Duration::from_secs(60));
        let res = runtime::wait(py, &self.core.handle, self.core.producer.commit_transaction(t), None)?.expect("no timeout");
        self.core.serve(py)?;
        res.py_err(py)
    }

    #[pyo3(signature = (timeout=None))]
    fn abort_transaction(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.core.check()?;
        self.txn_check("abort")?;
        let t = seconds(timeout, Duration::from_secs(60));
        let res = runtime::wait(py, &self.core.handle, self.core.producer.abort_transaction(t), None)?.expect("no timeout");
        self.core.serve(py)?;
        res.py_err(py)
    }

    /// `positions`: TopicPartitions with the offsets to commit (the next offset to read);
    /// `group_metadata`: `Consumer.consumer_group_metadata()` (or a group id string).
    #[pyo3(signature = (positions, group_metadata, timeout=None))]
    fn send_offsets_to_transaction(
        &self,
        py: Python<'_>,
        positions: &Bound<'_, PyAny>,
        group_metadata: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        self.core.check()?;
        let offsets = offsets_from(positions)?;
        let group = group_metadata_from(group_metadata)?;
        self.txn_check("send_offsets")?;
        let t = seconds(timeout, Duration::from_secs(60));
        runtime::wait(py, &self.core.handle, self.core.producer.send_offsets_to_transaction(&offsets, &group, t), None)?
            .expect("no timeout")
            .py_err(py)
    }

    /// Delivers what is queued (up to `timeout` seconds, default 30), then fails the rest.
    /// Later calls raise `KafkaException` (`_STATE`). True when everything was delivered.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.core.close(py, timeout)
    }

    fn __len__(&self) -> usize {
        self.core.len()
    }

    fn __bool__(&self) -> bool {
        true
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.core.flush(py, None).ok();
        self.core.close(py, None)?;
        Ok(false)
    }

    // Used by polykafka.aio.
    fn _set_wake_fd(&self, fd: i32) {
        self.core.reports.set_wake_fd(fd);
    }

    fn _rearm(&self) {
        self.core.reports.rearm();
    }

    /// Takes the waiting reports as `(callback, error, message)` tuples, without calling them.
    fn _take_reports(&self, py: Python<'_>) -> PyResult<Vec<(PyObject, PyObject, Py<Message>)>> {
        self.core.reports.take().into_iter().map(|r| report_to_python(py, r)).collect()
    }

    /// `produce` whose report goes to `future` (taken back by `_take_reports`).
    #[pyo3(signature = (future, topic, value=None, key=None, partition=-1, timestamp=0, headers=None))]
    #[allow(clippy::too_many_arguments)]
    fn _produce_to(
        &self,
        py: Python<'_>,
        future: PyObject,
        topic: &Bound<'_, PyString>,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: i32,
        timestamp: i64,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.core.check()?;
        let (name, shared) = self.core.topic(topic)?;
        let record = Core::record(name, value, key, partition, timestamp, headers)?;
        self.core.send(py, record, shared, key, value, Some(future), false)
    }

    /// Takes the finished calls as `(future, result, exception or None)`.
    fn _take_done(&self, py: Python<'_>) -> Vec<(PyObject, PyObject, PyObject)> {
        crate::reports::take_done_py(py, &self.core.reports)
    }

    /// Starts a flush (`close` when `close` is true) on the runtime; `future` comes back from
    /// `_take_done` when it finished.
    #[pyo3(signature = (future, timeout=None, close=false))]
    fn _flush_to(&self, future: PyObject, timeout: Option<f64>, close: bool) -> PyResult<()> {
        runtime::check_pid(self.core.pid)?;
        let t = seconds(timeout, Duration::from_secs(if close { 30 } else { 3600 }));
        if close {
            self.core.closed.store(true, Ordering::Release);
        }
        let (producer, reports) = (self.core.producer.clone(), self.core.reports.clone());
        self.core.handle.spawn(async move {
            let res = runtime::guarded(async { if close { producer.close(t).await } else { producer.flush(t).await } }).await;
            reports.push_done((future, unit_conv(res)));
        });
        Ok(())
    }

    fn _drain_logs(&self, py: Python<'_>) -> PyResult<()> {
        self.core.drain_logs(py).map(|_| ())
    }

    /// The statistics snapshot now (librdkafka's JSON), for `polykafka.opentelemetry`'s
    /// observable instruments.
    fn _stats(&self) -> String {
        self.core.producer.stats().to_string()
    }

    /// A transaction call (`init`, `commit`, `abort` or `send_offsets`) on the runtime; `future`
    /// comes back from `_take_done` when it finished.
    #[pyo3(signature = (future, op, timeout=None, positions=None, group_metadata=None))]
    fn _txn_to(
        &self,
        future: PyObject,
        op: &str,
        timeout: Option<f64>,
        positions: Option<&Bound<'_, PyAny>>,
        group_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.core.check()?;
        self.txn_check(op)?;
        let t = seconds(timeout, Duration::from_secs(60));
        let (producer, reports) = (self.core.producer.clone(), self.core.reports.clone());
        let offsets_group = match op {
            "send_offsets" => {
                let positions = positions.ok_or_else(|| PyTypeError::new_err("positions are required"))?;
                let group = group_metadata.ok_or_else(|| PyTypeError::new_err("group_metadata is required"))?;
                Some((offsets_from(positions)?, group_metadata_from(group)?))
            }
            "init" | "commit" | "abort" => None,
            other => return Err(PyTypeError::new_err(format!("unknown transaction call {other}"))),
        };
        let op = op.to_string();
        self.core.handle.spawn(async move {
            let res = runtime::guarded(async {
                match (op.as_str(), offsets_group) {
                    ("init", _) => producer.init_transactions(t).await,
                    ("commit", _) => producer.commit_transaction(t).await,
                    ("abort", _) => producer.abort_transaction(t).await,
                    (_, Some((offsets, group))) => producer.send_offsets_to_transaction(&offsets, &group, t).await,
                    _ => Ok(()),
                }
            })
            .await;
            reports.push_done((future, unit_conv(res)));
        });
        Ok(())
    }
}

impl Producer {
    /// librdkafka's errors for a transaction call the producer cannot make: `_NOT_CONFIGURED`
    /// without `transactional.id`, `_STATE` for `init_transactions` once it succeeded (the
    /// core's other state errors are `_STATE` already, see `errors::code_of`).
    fn txn_check(&self, op: &str) -> PyResult<()> {
        let state = self.core.producer.transaction_state();
        let Some(state) = state else {
            return Err(Python::with_gil(|py| {
                match errors::new_kafka_error(py, errors::NOT_CONFIGURED, "The Transactional API requires transactional.id to be configured", false, false, false) {
                    Ok(err) => errors::exception_from(py, err),
                    Err(e) => e,
                }
            }));
        };
        if op == "init" && !matches!(state, TxnState::Uninitialized) {
            let name = match state {
                TxnState::Ready => "ready",
                TxnState::InTransaction => "in_transaction",
                TxnState::AbortableError(_) => "abortable_error",
                TxnState::Fatal(_) => "fatal_error",
                TxnState::Uninitialized => "uninitialized",
            };
            return Err(errors::state_error(&format!("invalid transaction state ({name}): init_transactions() already succeeded")));
        }
        Ok(())
    }
}

/// `(TopicPartition, offset)` pairs from a list of `TopicPartition`s; negative offsets (a
/// partition with no position yet) are left out, as librdkafka does.
fn offsets_from(positions: &Bound<'_, PyAny>) -> PyResult<Vec<(TopicPartition, i64)>> {
    let mut offsets = Vec::new();
    if !positions.is_instance_of::<PyList>() {
        return Err(PyTypeError::new_err("requires list of TopicPartition"));
    }
    for tp in positions.try_iter()? {
        let tp = tp?;
        let topic: String = tp.getattr("topic").map_err(|_| PyTypeError::new_err("expected a TopicPartition"))?.extract()?;
        let partition: i32 = tp.getattr("partition")?.extract()?;
        let offset: i64 = tp.getattr("offset")?.extract()?;
        if offset >= 0 {
            offsets.push((TopicPartition::new(topic, partition), offset));
        }
    }
    Ok(offsets)
}

/// A `ConsumerGroupMetadata` from the consumer's object or a group id string.
fn group_metadata_from(obj: &Bound<'_, PyAny>) -> PyResult<ConsumerGroupMetadata> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(ConsumerGroupMetadata::for_group(s));
    }
    let group_id: String = obj.getattr("group_id")?.extract()?;
    let generation_id: i32 = obj.getattr("generation_id").and_then(|v| v.extract()).unwrap_or(-1);
    let member_id: String = obj.getattr("member_id").and_then(|v| v.extract()).unwrap_or_default();
    let group_instance_id: Option<String> = obj.getattr("group_instance_id").and_then(|v| v.extract()).unwrap_or(None);
    Ok(ConsumerGroupMetadata { group_id, generation_id, member_id, group_instance_id })
}

/// The conversion of a call without a result.
pub fn unit_conv(res: polykafka::Result<()>) -> crate::reports::Conv {
    Box::new(move |py| match res {
        Ok(()) => Ok(py.None()),
        Err(e) => Err(errors::to_pyerr(py, &e)),
    })
}
