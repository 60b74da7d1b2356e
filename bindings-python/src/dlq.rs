//! `_native.DeadLetterQueue`: the core's retry and dead-letter path for one `Consumer`, under the
//! pure-Python `polykafka.dlq.RetryingHandler`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use polykafka::consumer::{ConsumerRecord, TimestampType};
use polykafka::dlq::{self, Failure, Outcome, RetryPolicy};
use polykafka::{Header, TopicPartition};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use tokio::runtime::Handle;

use crate::config;
use crate::consumer::Consumer;
use crate::errors::IntoPy;
use crate::message::{Headers, Message, Payload};
use crate::runtime;

#[pyclass(module = "polykafka", name = "DeadLetterQueue", frozen)]
pub struct DeadLetterQueue {
    queue: Arc<dlq::DeadLetterQueue>,
    consumer: polykafka::Consumer,
    handle: Handle,
}

/// Bytes of a key, value or header value: the record's own, or `bytes`/`str` an application set.
fn bytes_of(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<Bytes>> {
    let _ = py;
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(Some(Bytes::copy_from_slice(b.as_bytes())));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Some(Bytes::from(s.extract::<String>()?)));
    }
    Err(PyTypeError::new_err(format!(
        "the message's {what} is a {} object, not bytes: dead-letter the record as it was read (before deserializing)",
        obj.get_type().name()?
    )))
}

fn payload_bytes(py: Python<'_>, p: &Payload, what: &str) -> PyResult<Option<Bytes>> {
    match p {
        Payload::None => Ok(None),
        Payload::Bytes(b) => Ok(Some(b.clone())),
        Payload::Decoded(raw, _) => Ok(raw.clone()),
        Payload::Object(o) | Payload::Held(o) => bytes_of(py, o.bind(py), what),
    }
}

fn headers_of(py: Python<'_>, h: &Headers) -> PyResult<Vec<Header>> {
    let obj = match h {
        Headers::None => return Ok(Vec::new()),
        Headers::Core(hs) => return Ok(hs.clone()),
        Headers::Object(o) => o.bind(py),
    };
    let items = match obj.downcast::<PyDict>() {
        Ok(d) => d.items().into_any(),
        Err(_) => obj.clone(),
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (k, v): (String, Bound<'_, PyAny>) = item?.extract()?;
        out.push(Header { key: k, value: bytes_of(py, &v, "header value")? });
    }
    Ok(out)
}

/// The record a `Message` of a consumer carries.
fn record_of(py: Python<'_>, m: &Message) -> PyResult<ConsumerRecord> {
    let (Some(topic), Some(partition), Some(offset)) = (&m.topic, m.partition, m.offset) else {
        return Err(PyValueError::new_err("the message has no topic, partition and offset: only consumed messages can be retried or dead-lettered"));
    };
    Ok(ConsumerRecord {
        topic: topic.as_str().into(),
        partition,
        offset,
        key: payload_bytes(py, &m.key, "key")?,
        value: payload_bytes(py, &m.value, "value")?,
        headers: headers_of(py, &m.headers)?,
        timestamp: if m.timestamp.0 == crate::message::TIMESTAMP_NOT_AVAILABLE { -1 } else { m.timestamp.1 },
        timestamp_type: if m.timestamp.0 == crate::message::TIMESTAMP_LOG_APPEND_TIME { TimestampType::LogAppendTime } else { TimestampType::CreateTime },
        leader_epoch: m.leader_epoch,
    })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl DeadLetterQueue {
    fn block<F: std::future::Future + Send>(&self, py: Python<'_>, fut: F) -> PyResult<F::Output>
    where
        F::Output: Send,
    {
        Ok(runtime::wait(py, &self.handle, fut, None)?.expect("no timeout"))
    }
}

#[pymethods]
impl DeadLetterQueue {
    #[new]
    #[pyo3(signature = (consumer, max_retries=3, backoff_ms=100, backoff_multiplier=2.0, max_backoff_ms=30000, dlq_topic=None, retry_topic=None, producer_config=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        consumer: PyRef<'_, Consumer>,
        max_retries: u32,
        backoff_ms: u64,
        backoff_multiplier: f64,
        max_backoff_ms: u64,
        dlq_topic: Option<String>,
        retry_topic: Option<String>,
        producer_config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let policy = RetryPolicy {
            max_retries,
            initial_backoff: Duration::from_millis(backoff_ms),
            multiplier: backoff_multiplier,
            max_backoff: Duration::from_millis(max_backoff_ms),
            dlq_topic,
            retry_topic,
        };
        let core_consumer = consumer.core().clone();
        let props = match producer_config {
            Some(c) => config::translate(py, Some(c), None, "producer")?.properties,
            None => Default::default(),
        };
        let cfg = dlq::producer_config_for(core_consumer.config(), props).py_err(py)?;
        let handle = runtime::handle()?;
        let queue = {
            let _guard = handle.enter();
            let producer = polykafka::producer::Producer::new(cfg).py_err(py)?;
            dlq::DeadLetterQueue::new(policy, producer).py_err(py)?
        };
        Ok(DeadLetterQueue { queue: Arc::new(queue), consumer: core_consumer, handle })
    }

    /// The handler failed for `message`. Returns `("retry", seconds)` (its partition paused and
    /// moved back to it), `("retry_topic", None)` or `("dead_letter", None)` (written,
    /// acknowledged, offset committed). GIL released while it waits.
    fn failed(&self, py: Python<'_>, message: PyRef<'_, Message>, error: String, error_type: String) -> PyResult<(&'static str, Option<f64>)> {
        let record = record_of(py, &message)?;
        drop(message);
        let (q, c, failure) = (self.queue.clone(), self.consumer.clone(), Failure::new(error, error_type));
        let out = self.block(py, async move { q.failed(&c, &record, &failure).await })?.py_err(py)?;
        Ok(match out {
            Outcome::Retry { after, .. } => ("retry", Some(secs(after))),
            Outcome::Republished(_) => ("retry_topic", None),
            Outcome::DeadLettered(_) => ("dead_letter", None),
        })
    }

    /// `message` cannot be deserialized: to the dead-letter topic now, bytes untouched.
    fn undecodable(&self, py: Python<'_>, message: PyRef<'_, Message>, error: String, error_type: String) -> PyResult<()> {
        let record = record_of(py, &message)?;
        drop(message);
        let (q, c, failure) = (self.queue.clone(), self.consumer.clone(), Failure::new(error, error_type));
        self.block(py, async move { q.undecodable(&c, &record, &failure).await })?.py_err(py)?;
        Ok(())
    }

    /// The handler returned: the failure count is forgotten; with
    /// `enable.auto.offset.store=false` the message's offset is stored.
    fn succeeded(&self, message: PyRef<'_, Message>) {
        if let (Some(t), Some(p), Some(o)) = (&message.topic, message.partition, message.offset) {
            self.queue.succeeded(&self.consumer, &TopicPartition::new(t.as_str(), p), o);
        }
    }

    /// A retry-topic copy not due yet: seconds until it is (its partition paused), else None.
    fn not_yet_due(&self, py: Python<'_>, message: PyRef<'_, Message>) -> PyResult<Option<f64>> {
        let record = record_of(py, &message)?;
        Ok(self.queue.not_yet_due(&self.consumer, &record).py_err(py)?.map(secs))
    }

    /// Resumes the partitions whose wait is over; seconds until the next is due, or None.
    fn resume_due(&self) -> Option<f64> {
        self.queue.resume_due(&self.consumer).map(secs)
    }

    /// Whether the partition waits for a retry (paused again at the record if a rebalance gave
    /// it back meanwhile): its messages are skipped.
    fn is_waiting(&self, topic: &str, partition: i32) -> bool {
        self.queue.is_waiting(&self.consumer, &TopicPartition::new(topic, partition))
    }

    /// Tests only: waits `ms` between a copy's acknowledgement and its offset commit.
    fn _delay_commits_for_tests(&self, ms: u64) {
        self.queue.delay_commits_for_tests(Duration::from_millis(ms));
    }

    /// Flushes and closes the producer of the copies.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let producer = self.queue.producer().clone();
        self.block(py, async move { producer.close(Duration::from_secs(30)).await })?.py_err(py)
    }
}
