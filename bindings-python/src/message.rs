//! `Message`: a delivered (or failed) record, as confluent-kafka's `Message`.

use bytes::Bytes;
use polykafka::Header;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

pub const TIMESTAMP_NOT_AVAILABLE: i32 = 0;
pub const TIMESTAMP_CREATE_TIME: i32 = 1;
pub const TIMESTAMP_LOG_APPEND_TIME: i32 = 2;

/// A payload as the core gave it (bytes, made into Python `bytes` when asked), or an object an
/// application (a deserializer) set.
pub enum Payload {
    None,
    Bytes(Bytes),
    Object(PyObject),
    /// An object a deserializer set over the bytes read, kept for a dead-letter copy.
    Decoded(Option<Bytes>, PyObject),
    /// The `bytes` object the application produced, given back as it is by its delivery report
    /// (the payload itself, not an object set over it).
    Held(PyObject),
}

impl Payload {
    fn to_py(&self, py: Python<'_>) -> PyObject {
        match self {
            Payload::None => py.None(),
            Payload::Bytes(b) => PyBytes::new(py, b).into_any().unbind(),
            Payload::Object(o) | Payload::Decoded(_, o) | Payload::Held(o) => o.clone_ref(py),
        }
    }
    fn from_py(obj: Option<PyObject>) -> Payload {
        match obj {
            None => Payload::None,
            Some(o) => Payload::Object(o),
        }
    }
    /// `obj` set over this payload: the bytes read are kept when this is (or was) what was read.
    fn replaced_by(self, py: Python<'_>, obj: PyObject) -> Payload {
        match self {
            Payload::None => Payload::Decoded(None, obj),
            Payload::Bytes(b) => Payload::Decoded(Some(b), obj),
            Payload::Held(o) => Payload::Decoded(o.bind(py).downcast::<PyBytes>().ok().map(|b| Bytes::copy_from_slice(b.as_bytes())), obj),
            Payload::Decoded(raw, _) => Payload::Decoded(raw, obj),
            Payload::Object(_) => Payload::Object(obj),
        }
    }
    fn len(&self, py: Python<'_>) -> usize {
        match self {
            Payload::None => 0,
            Payload::Bytes(b) => b.len(),
            Payload::Object(o) | Payload::Decoded(_, o) | Payload::Held(o) => o.bind(py).len().unwrap_or(0),
        }
    }
}

pub enum Headers {
    None,
    Core(Vec<Header>),
    Object(PyObject),
}

#[pyclass(module = "polykafka", name = "Message", subclass)]
pub struct Message {
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub key: Payload,
    pub value: Payload,
    pub headers: Headers,
    pub error: Option<PyObject>,
    pub timestamp: (i32, i64),
    pub latency: Option<f64>,
    pub leader_epoch: Option<i32>,
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (topic=None, partition=None, offset=None, key=None, value=None, headers=None, error=None, timestamp=None, latency=None, leader_epoch=None, delivery_count=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        topic: Option<String>,
        partition: Option<i32>,
        offset: Option<i64>,
        key: Option<PyObject>,
        value: Option<PyObject>,
        headers: Option<PyObject>,
        error: Option<PyObject>,
        timestamp: Option<(i32, i64)>,
        latency: Option<f64>,
        leader_epoch: Option<i32>,
        delivery_count: Option<i32>,
    ) -> Self {
        let _ = delivery_count;
        Message {
            topic,
            partition,
            offset,
            key: Payload::from_py(key),
            value: Payload::from_py(value),
            headers: headers.map(Headers::Object).unwrap_or(Headers::None),
            error,
            timestamp: timestamp.unwrap_or((TIMESTAMP_NOT_AVAILABLE, 0)),
            latency,
            leader_epoch,
        }
    }

    fn topic(&self) -> Option<&str> {
        self.topic.as_deref()
    }
    fn partition(&self) -> Option<i32> {
        self.partition
    }
    fn offset(&self) -> Option<i64> {
        self.offset
    }
    fn key(&self, py: Python<'_>) -> PyObject {
        self.key.to_py(py)
    }
    fn value(&self, py: Python<'_>) -> PyObject {
        self.value.to_py(py)
    }
    fn deserialized_key(&self, py: Python<'_>) -> PyObject {
        self.key.to_py(py)
    }
    fn deserialized_value(&self, py: Python<'_>) -> PyObject {
        self.value.to_py(py)
    }
    /// A list of `(key, value)` tuples, or None when the record had no headers.
    fn headers(&self, py: Python<'_>) -> PyResult<PyObject> {
        match &self.headers {
            Headers::None => Ok(py.None()),
            Headers::Object(o) => Ok(o.clone_ref(py)),
            Headers::Core(hs) if hs.is_empty() => Ok(py.None()),
            Headers::Core(hs) => {
                let items = hs
                    .iter()
                    .map(|h| {
                        let v = match &h.value {
                            Some(v) => PyBytes::new(py, v).into_any(),
                            None => py.None().into_bound(py),
                        };
                        PyTuple::new(py, [PyString::new(py, &h.key).into_any(), v])
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, items)?.into_any().unbind())
            }
        }
    }
    fn error(&self, py: Python<'_>) -> Option<PyObject> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }
    /// `(timestamp type, milliseconds)`.
    fn timestamp(&self) -> (i32, i64) {
        self.timestamp
    }
    /// Seconds from produce() to the delivery report.
    fn latency(&self) -> Option<f64> {
        self.latency
    }
    fn leader_epoch(&self) -> Option<i32> {
        self.leader_epoch
    }
    fn delivery_count(&self) -> Option<i32> {
        None
    }
    fn set_headers(&mut self, headers: PyObject) {
        self.headers = Headers::Object(headers);
    }
    fn set_key(&mut self, py: Python<'_>, key: PyObject) {
        self.key = std::mem::replace(&mut self.key, Payload::None).replaced_by(py, key);
    }
    fn set_value(&mut self, py: Python<'_>, value: PyObject) {
        self.value = std::mem::replace(&mut self.value, Payload::None).replaced_by(py, value);
    }
    fn set_error(&mut self, error: Option<PyObject>) {
        self.error = error;
    }
    /// The length of the value.
    fn __len__(&self, py: Python<'_>) -> usize {
        self.value.len(py)
    }
    fn __repr__(&self) -> String {
        format!(
            "<polykafka.Message topic={:?} partition={:?} offset={:?} error={}>",
            self.topic.as_deref().unwrap_or(""),
            self.partition,
            self.offset,
            if self.error.is_some() { "yes" } else { "None" }
        )
    }
}

impl Message {
    /// A message that reports an error (confluent-kafka's consumer errors).
    pub fn with_error(topic: Option<String>, partition: Option<i32>, offset: Option<i64>, error: PyObject) -> Message {
        Message {
            topic,
            partition,
            offset,
            key: Payload::None,
            value: Payload::None,
            headers: Headers::None,
            error: Some(error),
            timestamp: (TIMESTAMP_NOT_AVAILABLE, 0),
            latency: None,
            leader_epoch: None,
        }
    }

}
