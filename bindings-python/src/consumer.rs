//! `Consumer`: confluent-kafka's consumer over the core's.
//!
//! `poll`/`consume` are one native call each: the core hands over rebalance events or a batch
//! of records ([`polykafka::Consumer::poll_batch_events`]); events run the application's
//! `on_assign`/`on_revoke`/`on_lost` on the caller's thread, then the rebalance is acknowledged
//! (so a commit made in `on_revoke` lands before the partitions move); records become
//! `Message`s in one pass. Commit results (for `on_commit`) wait in a queue served by
//! `poll`/`consume`/`close`. The asyncio consumer drives the same calls through `_*_to`
//! methods whose outcome completes an asyncio future (see `reports::Done`).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polykafka::consumer::TimestampType;
use polykafka::{CommitMode, ConsumerConfig, ConsumerEvent, ConsumerRecord, Error, ErrorKind, StartOffset, TopicPartition};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyTuple};
use tokio::runtime::Handle;

use crate::client_errors::ErrorSink;
use crate::errors::{self, Context, IntoPy};
use crate::message::{Headers, Message, Payload};
use crate::reports::{Conv, ReportQueue};
use crate::{config, logs, runtime};

pub const OFFSET_BEGINNING: i64 = StartOffset::LOGICAL_BEGINNING;
pub const OFFSET_END: i64 = StartOffset::LOGICAL_END;
pub const OFFSET_INVALID: i64 = StartOffset::LOGICAL_INVALID;
const PARTITION_EOF: i32 = -191;
const NO_OFFSET: i32 = -168;
const AUTO_OFFSET_RESET: i32 = -140;
/// "Forever" for the core's timeouts.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

static TP_CLASS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// A `polykafka.TopicPartition`.
pub fn new_tp(py: Python<'_>, topic: &str, partition: i32, offset: i64) -> PyResult<PyObject> {
    let cls = TP_CLASS.get_or_try_init(py, || Ok::<_, PyErr>(py.import("polykafka._model")?.getattr("TopicPartition")?.unbind()))?;
    Ok(cls.bind(py).call1((topic, partition, offset))?.unbind())
}

pub fn tp_list(py: Python<'_>, tps: &[(TopicPartition, i64)]) -> PyResult<PyObject> {
    let items = tps.iter().map(|(tp, o)| new_tp(py, &tp.topic, tp.partition, *o)).collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, items)?.into_any().unbind())
}

/// `(TopicPartition, offset)` from a list of Python `TopicPartition`s.
pub fn tps_from(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(TopicPartition, i64)>> {
    let mut out = Vec::new();
    let iter = obj.try_iter().map_err(|_| PyTypeError::new_err("expected a list of TopicPartition"))?;
    for tp in iter {
        out.push(tp_from(&tp?)?);
    }
    Ok(out)
}

pub fn tp_from(tp: &Bound<'_, PyAny>) -> PyResult<(TopicPartition, i64)> {
    let topic: String = tp.getattr("topic").map_err(|_| PyTypeError::new_err("expected a TopicPartition"))?.extract()?;
    let partition: i32 = tp.getattr("partition")?.extract()?;
    let offset: i64 = tp.getattr("offset")?.extract()?;
    Ok((TopicPartition::new(topic, partition), offset))
}

/// A fetched record as a `Message`.
fn message_of(r: ConsumerRecord) -> Message {
    let ts_type = match r.timestamp_type {
        _ if r.timestamp < 0 => crate::message::TIMESTAMP_NOT_AVAILABLE,
        TimestampType::CreateTime => crate::message::TIMESTAMP_CREATE_TIME,
        TimestampType::LogAppendTime => crate::message::TIMESTAMP_LOG_APPEND_TIME,
    };
    Message {
        topic: Some(r.topic.to_string()),
        partition: Some(r.partition),
        offset: Some(r.offset),
        key: r.key.map(Payload::Bytes).unwrap_or(Payload::None),
        value: r.value.map(Payload::Bytes).unwrap_or(Payload::None),
        headers: if r.headers.is_empty() { Headers::None } else { Headers::Core(r.headers) },
        error: None,
        timestamp: (ts_type, r.timestamp),
        latency: None,
        leader_epoch: r.leader_epoch,
    }
}

fn messages_of(py: Python<'_>, records: Vec<ConsumerRecord>) -> PyResult<Bound<'_, PyList>> {
    let mut items = Vec::with_capacity(records.len());
    for r in records {
        items.push(Bound::new(py, message_of(r))?);
    }
    PyList::new(py, items)
}

/// A message carrying an error (confluent-kafka's way of reporting consumer errors).
fn error_message(py: Python<'_>, e: &Error) -> PyResult<Py<Message>> {
    let text = e.message();
    let code = if e.kind() == ErrorKind::Broker && e.code() == 1 && text.contains("auto.offset.reset") {
        AUTO_OFFSET_RESET
    } else {
        errors::code_of(e, Context::Call)
    };
    let err = errors::new_kafka_error(py, code, text, e.fatal(), e.retriable(), e.txn_requires_abort())?;
    Py::new(py, Message::with_error(None, None, None, err))
}

/// confluent-kafka's _PARTITION_EOF message for a partition at its end.
fn eof_message(py: Python<'_>, tp: &TopicPartition, end: i64) -> PyResult<Py<Message>> {
    let err = errors::new_kafka_error(py, PARTITION_EOF, "Broker: No more messages", false, false, false)?;
    Py::new(py, Message::with_error(Some(tp.topic.to_string()), Some(tp.partition), Some(end), err))
}

/// Where each partition given to assign() starts (librdkafka's logical offsets; anything else
/// negative starts where it would anyway).
fn starts(list: &[(TopicPartition, i64)]) -> Vec<(TopicPartition, StartOffset)> {
    list.iter().map(|(tp, o)| (tp.clone(), StartOffset::from_logical(*o).unwrap_or(StartOffset::Default))).collect()
}

fn event_of(py: Python<'_>, ev: &ConsumerEvent) -> PyResult<Option<(&'static str, PyObject)>> {
    let (kind, tps) = match ev {
        ConsumerEvent::Assigned(t) => ("assign", t),
        ConsumerEvent::Revoked(t) => ("revoke", t),
        ConsumerEvent::Lost(t) => ("lost", t),
        ConsumerEvent::Record(_) | ConsumerEvent::PartitionEof(..) => return Ok(None),
    };
    let list: Vec<(TopicPartition, i64)> = tps.iter().map(|tp| (tp.clone(), OFFSET_INVALID)).collect();
    Ok(Some((kind, tp_list(py, &list)?)))
}

/// A commit's outcome waiting for `on_commit`.
type CommitResult = (Option<Error>, Vec<(TopicPartition, i64)>);

#[derive(Default)]
struct Callbacks {
    on_assign: Option<PyObject>,
    on_revoke: Option<PyObject>,
    on_lost: Option<PyObject>,
}

/// The group metadata of a consumer, for `Producer.send_offsets_to_transaction`.
#[pyclass(module = "polykafka", name = "ConsumerGroupMetadata", frozen, get_all)]
pub struct GroupMetadata {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[pymethods]
impl GroupMetadata {
    fn __repr__(&self) -> String {
        format!("ConsumerGroupMetadata(group_id={:?}, generation_id={}, member_id={:?})", self.group_id, self.generation_id, self.member_id)
    }
}

/// confluent-kafka's `Consumer`.
#[pyclass(module = "polykafka", name = "Consumer", subclass, frozen)]
pub struct Consumer {
    consumer: polykafka::Consumer,
    handle: Handle,
    pid: u32,
    logger: PyObject,
    /// `error_cb` (when set), served with the logs, and whether every broker is down (see
    /// `client_errors.rs`).
    errors: Arc<ErrorSink>,
    on_commit: Option<PyObject>,
    stats_cb: Option<PyObject>,
    callbacks: Mutex<Callbacks>,
    subscribed: AtomicBool,
    closed: AtomicBool,
    /// Completions of asyncio calls.
    done: Arc<ReportQueue>,
    commits: Arc<Mutex<Vec<CommitResult>>>,
}

impl Consumer {
    /// The core consumer (for the dead-letter queue of `dlq.rs`).
    pub fn core(&self) -> &polykafka::Consumer {
        &self.consumer
    }

    fn check(&self) -> PyResult<()> {
        runtime::check_pid(self.pid)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err("Consumer closed"));
        }
        Ok(())
    }

    /// Hands the engine's log records to the logger, a statistics snapshot when due to
    /// `stats_cb` and this consumer's errors to `error_cb`.
    fn drain_logs(&self, py: Python<'_>) -> PyResult<()> {
        logs::drain(py, self.logger.bind(py))?;
        crate::stats::serve(py, self.stats_cb.as_ref(), || self.consumer.stats_due())?;
        self.errors.serve(py)?;
        Ok(())
    }

    /// Runs `on_commit` for the commits that finished.
    fn serve_commits(&self, py: Python<'_>) -> PyResult<()> {
        let results = std::mem::take(&mut *self.commits.lock().unwrap_or_else(|p| p.into_inner()));
        let Some(cb) = &self.on_commit else { return Ok(()) };
        for (err, offsets) in results {
            let err = match err {
                Some(e) => errors::kafka_error(py, &e, Context::Call)?,
                None => py.None(),
            };
            cb.bind(py).call1((err, tp_list(py, &offsets)?))?;
        }
        Ok(())
    }

    /// Runs a core call to completion (GIL released, Ctrl-C honoured).
    fn block<F: Future + Send>(&self, py: Python<'_>, fut: F) -> PyResult<F::Output>
    where
        F::Output: Send,
    {
        Ok(runtime::wait(py, &self.handle, fut, None)?.expect("no timeout"))
    }

    /// The commit of `offsets` (`None`: the offsets stored in the core by `store_offsets`) as
    /// a future giving the partitions committed; its outcome is also queued for `on_commit`.
    fn commit_op(&self, offsets: Option<Vec<(TopicPartition, i64)>>) -> impl Future<Output = polykafka::Result<Vec<(TopicPartition, i64)>>> + Send + 'static {
        let (consumer, commits, report) = (self.consumer.clone(), self.commits.clone(), self.on_commit.is_some());
        runtime::guarded(async move {
            let res = consumer.commit(offsets.as_deref(), CommitMode::Sync).await;
            if report {
                let list = res.as_ref().map(|l| l.clone()).unwrap_or_default();
                commits.lock().unwrap_or_else(|p| p.into_inner()).push((res.as_ref().err().cloned(), list));
            }
            res
        })
    }

    /// What `commit(message=, offsets=)` commits: `None` for the offsets stored in the core
    /// (`enable.auto.offset.store=false`).
    fn commit_list(&self, message: Option<&Bound<'_, PyAny>>, offsets: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<(TopicPartition, i64)>>> {
        Ok(Some(match (message.filter(|m| !m.is_none()), offsets.filter(|o| !o.is_none())) {
            (None, None) if !self.consumer.config().auto_offset_store => return Ok(None),
            (None, None) => self.consumer.delivered_positions(),
            _ => self.given_offsets(message, offsets)?,
        }))
    }

    /// The offsets `message=` or `offsets=` name.
    fn given_offsets(&self, message: Option<&Bound<'_, PyAny>>, offsets: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(TopicPartition, i64)>> {
        match (message.filter(|m| !m.is_none()), offsets.filter(|o| !o.is_none())) {
            (Some(_), Some(_)) => Err(PyValueError::new_err("Commit takes only one of message and offsets")),
            (Some(m), None) => {
                let m = m.downcast::<Message>().map_err(|_| PyTypeError::new_err("expected a Message"))?.borrow();
                let (Some(topic), Some(partition), Some(offset)) = (m.topic.clone(), m.partition, m.offset) else {
                    return Err(PyValueError::new_err("the message has no topic, partition or offset"));
                };
                Ok(vec![(TopicPartition::new(topic, partition), offset + 1)])
            }
            (None, Some(o)) => tps_from(o),
            (None, None) => Ok(Vec::new()),
        }
    }

    /// Applies the offset of a partition given to assign() (inside `on_assign`) or seek().
    fn apply_offset(&self, tp: &TopicPartition, offset: i64) -> polykafka::Result<()> {
        match StartOffset::from_logical(offset)? {
            StartOffset::Default => Ok(()),
            to => self.consumer.seek_to(tp, to),
        }
    }

    /// Runs the rebalance callbacks of `events` on this thread, then acknowledges them.
    fn dispatch(slf: &Bound<'_, Self>, events: Vec<ConsumerEvent>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let mut first_err = None;
        for ev in &events {
            let Some((kind, list)) = event_of(py, ev)? else { continue };
            let cb = {
                let cbs = this.callbacks.lock().unwrap_or_else(|p| p.into_inner());
                match kind {
                    "assign" => cbs.on_assign.as_ref().map(|c| c.clone_ref(py)),
                    "revoke" => cbs.on_revoke.as_ref().map(|c| c.clone_ref(py)),
                    _ => cbs.on_lost.as_ref().or(cbs.on_revoke.as_ref()).map(|c| c.clone_ref(py)),
                }
            };
            if let Some(cb) = cb {
                if let Err(e) = cb.bind(py).call1((slf, list)) {
                    first_err.get_or_insert(e);
                }
            }
        }
        this.consumer.ack_rebalance();
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The poll loop of `poll` and `consume`: up to `max` messages, waiting up to `timeout`
    /// for the first; rebalance events run their callbacks in between.
    fn poll_messages<'py>(slf: &Bound<'py, Self>, max: usize, timeout: Option<f64>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let this = slf.get();
        this.check()?;
        let deadline = runtime::timeout_from(timeout).map(|t| Instant::now() + t);
        loop {
            this.serve_commits(py)?;
            this.drain_logs(py)?;
            let left = deadline.map_or(FOREVER, |d| d.saturating_duration_since(Instant::now()));
            // error_cb and stats_cb are served between waits, as the logs: wait in slices when
            // there is one.
            let slice = if this.errors.has_callback() || this.stats_cb.is_some() { left.min(runtime::SIGNAL_SLICE) } else { left };
            // Records already fetched come out at the first poll of the future: no GIL
            // release, no thread switch (runtime::run).
            let out = runtime::run(py, &this.handle, this.consumer.poll_batch_events(max, slice))?;
            match out {
                Err(e) if e.kind() == ErrorKind::Closed => return Err(PyRuntimeError::new_err("Consumer closed")),
                Err(e) => return PyList::new(py, [error_message(py, &e)?]),
                Ok((events, _)) if !events.is_empty() => {
                    // enable.partition.eof: the core says when a partition reached its end.
                    let eofs: Vec<Py<Message>> = events.iter().filter_map(|ev| match ev {
                        ConsumerEvent::PartitionEof(tp, end) => Some(eof_message(py, tp, *end)),
                        _ => None,
                    }).collect::<PyResult<_>>()?;
                    Self::dispatch(slf, events)?;
                    if !eofs.is_empty() {
                        return PyList::new(py, eofs);
                    }
                    continue;
                }
                Ok((_, records)) if !records.is_empty() => return messages_of(py, records),
                Ok(_) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                this.serve_commits(py)?;
                this.drain_logs(py)?;
                return Ok(PyList::empty(py));
            }
        }
    }

    fn spawn_to<F>(&self, future: PyObject, fut: F)
    where
        F: Future<Output = Conv> + Send + 'static,
    {
        let done = self.done.clone();
        self.handle.spawn(async move {
            let conv = match runtime::caught(fut).await {
                Ok(conv) => conv,
                Err(text) => Box::new(move |py: Python<'_>| Err(errors::panic_error(py, &text))) as Conv,
            };
            done.push_done((future, conv));
        });
    }

    fn committed_op(&self, tps: Vec<TopicPartition>, timeout: Option<f64>) -> impl Future<Output = Conv> + Send + 'static {
        let consumer = self.consumer.clone();
        let t = runtime::timeout_from(timeout).unwrap_or(consumer.config().default_api_timeout);
        async move {
            let res = consumer.committed(&tps, t).await;
            Box::new(move |py: Python<'_>| match res {
                Ok(list) => {
                    let list: Vec<_> = list.into_iter().map(|(tp, o)| (tp, if o < 0 { OFFSET_INVALID } else { o })).collect();
                    tp_list(py, &list)
                }
                Err(e) => Err(errors::to_pyerr(py, &e)),
            }) as Conv
        }
    }

    fn watermarks_op(&self, tp: TopicPartition, timeout: Option<f64>) -> impl Future<Output = Conv> + Send + 'static {
        let consumer = self.consumer.clone();
        let sink = self.errors.clone();
        let t = runtime::timeout_from(timeout).unwrap_or(consumer.config().default_api_timeout);
        async move {
            let res = consumer.watermarks(&tp, t).await;
            Box::new(move |py: Python<'_>| match res {
                Ok((low, high)) => Ok((low, high).into_pyobject(py)?.into_any().unbind()),
                Err(e) => Err(unknown_partition_or(py, &e, sink.all_brokers_down(), "Failed to get watermark offsets")),
            }) as Conv
        }
    }

    fn offsets_for_times_op(&self, query: Vec<(TopicPartition, i64)>, timeout: Option<f64>) -> impl Future<Output = Conv> + Send + 'static {
        let consumer = self.consumer.clone();
        let sink = self.errors.clone();
        let t = runtime::timeout_from(timeout).unwrap_or(consumer.config().default_api_timeout);
        async move {
            let res = consumer.offsets_for_times(&query, t).await;
            Box::new(move |py: Python<'_>| match res {
                Ok(list) => {
                    let list: Vec<_> = list.into_iter().map(|(tp, o)| (tp, o.unwrap_or(OFFSET_END))).collect();
                    tp_list(py, &list)
                }
                Err(e) => Err(unknown_partition_or(py, &e, sink.all_brokers_down(), "Failed to get offsets")),
            }) as Conv
        }
    }

    fn commit_conv(res: polykafka::Result<Vec<(TopicPartition, i64)>>) -> Conv {
        Box::new(move |py: Python<'_>| match res {
            Ok(list) => tp_list(py, &list),
            Err(e) => Err(errors::to_pyerr(py, &e)),
        })
    }

    fn no_offset_error(py: Python<'_>) -> PyErr {
        match errors::new_kafka_error(py, NO_OFFSET, "Local: No offset stored", false, false, false) {
            Ok(e) => errors::exception_from(py, e),
            Err(e) => e,
        }
    }

    fn close_op(&self) -> impl Future<Output = Conv> + Send + 'static {
        let consumer = self.consumer.clone();
        async move {
            // The core commits the stored offsets first (auto-commit), then leaves the group.
            let res = consumer.close().await;
            Box::new(move |py: Python<'_>| match res {
                // A failed final commit is logged; close itself succeeded.
                Ok(()) | Err(_) => Ok(py.None()),
            }) as Conv
        }
    }

    /// on_revoke for the whole assignment when a subscribed consumer closes (as librdkafka).
    fn revoke_on_close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        if !this.subscribed.load(Ordering::Acquire) {
            return Ok(());
        }
        let assigned = this.consumer.assignment();
        let cb = this.callbacks.lock().unwrap_or_else(|p| p.into_inner()).on_revoke.as_ref().map(|c| c.clone_ref(py));
        if let (Some(cb), false) = (cb, assigned.is_empty()) {
            let list: Vec<_> = assigned.into_iter().map(|tp| (tp, OFFSET_INVALID)).collect();
            cb.bind(py).call1((slf, tp_list(py, &list)?))?;
        }
        Ok(())
    }
}

#[pymethods]
impl Consumer {
    /// The statistics snapshot now (librdkafka's JSON), for `polykafka.opentelemetry`'s
    /// observable instruments.
    fn _stats(&self) -> String {
        self.consumer.stats().to_string()
    }

    #[new]
    #[pyo3(signature = (config=None, /, **kwargs))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyAny>>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let conf = config::translate(py, config, kwargs, "consumer")?;
        if conf.properties.get("group.id").is_none_or(|g| g.is_empty()) {
            return Err(PyValueError::new_err("Failed to create consumer: group.id must be set"));
        }
        let mut cfg = ConsumerConfig::from_properties(conf.properties).py_err(py)?;
        let errors = conf.error_cb.clone().unwrap_or_else(|| ErrorSink::new(None));
        errors.attach(&mut cfg.client);
        let handle = runtime::handle()?;
        let consumer = {
            let _guard = handle.enter();
            polykafka::Consumer::new(cfg).py_err(py)?
        };
        let this = Consumer {
            consumer,
            handle,
            pid: runtime::pid(),
            logger: conf.logger,
            errors,
            on_commit: conf.on_commit,
            stats_cb: conf.stats_cb,
            callbacks: Mutex::new(Callbacks::default()),
            subscribed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            done: Arc::new(ReportQueue::new()),
            commits: Arc::new(Mutex::new(Vec::new())),
        };
        Ok(this)
    }

    /// Subscribes to `topics` (a name starting with `^` is a regular expression). The
    /// callbacks `(consumer, [TopicPartition])` run inside `poll`/`consume`.
    #[pyo3(signature = (topics, on_assign=None, on_revoke=None, on_lost=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topics: &Bound<'_, PyAny>,
        on_assign: Option<PyObject>,
        on_revoke: Option<PyObject>,
        on_lost: Option<PyObject>,
    ) -> PyResult<()> {
        self.check()?;
        let topics: Vec<String> = topics.downcast::<PyList>().map_err(|_| PyTypeError::new_err("expected list of topic unicode strings"))?.extract()?;
        if topics.is_empty() {
            // librdkafka refuses an empty subscription.
            let err = errors::new_kafka_error(py, errors::INVALID_ARG, "Failed to set subscription: Local: Invalid argument or configuration", false, false, false)?;
            return Err(errors::exception_from(py, err));
        }
        for cb in [&on_assign, &on_revoke, &on_lost].into_iter().flatten() {
            if !cb.bind(py).is_callable() {
                return Err(PyTypeError::new_err("on_assign, on_revoke and on_lost expect a callable"));
            }
        }
        *self.callbacks.lock().unwrap_or_else(|p| p.into_inner()) = Callbacks { on_assign, on_revoke, on_lost };
        // librdkafka: a name starting with `^` is a regular expression (the `^` included).
        let (patterns, names): (Vec<String>, Vec<String>) = topics.into_iter().partition(|t| t.starts_with('^'));
        self.consumer.subscribe_topics_and_patterns(&names, &patterns).py_err(py)?;
        self.subscribed.store(true, Ordering::Release);
        Ok(())
    }

    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        self.check()?;
        self.subscribed.store(false, Ordering::Release);
        self.block(py, self.consumer.unsubscribe())?.py_err(py)
    }

    /// Assigns `partitions` (their offsets, when set, are where reading starts). Inside
    /// `on_assign` of a subscribed consumer, only the offsets are applied.
    fn assign(&self, py: Python<'_>, partitions: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check()?;
        let list = tps_from(partitions)?;
        if !self.subscribed.load(Ordering::Acquire) {
            return self.consumer.assign_at(&starts(&list)).py_err(py);
        }
        for (tp, o) in &list {
            let _ = self.apply_offset(tp, *o);
        }
        Ok(())
    }

    fn unassign(&self, py: Python<'_>) -> PyResult<()> {
        self.check()?;
        if !self.subscribed.load(Ordering::Acquire) {
            self.consumer.assign(&[]).py_err(py)?;
        }
        Ok(())
    }

    fn incremental_assign(&self, py: Python<'_>, partitions: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check()?;
        let list = tps_from(partitions)?;
        if !self.subscribed.load(Ordering::Acquire) {
            let mut all: Vec<(TopicPartition, i64)> = self.consumer.assignment().into_iter().map(|tp| (tp, OFFSET_INVALID)).collect();
            all.retain(|(tp, _)| !list.iter().any(|(t, _)| t == tp));
            all.extend(list.iter().cloned());
            return self.consumer.assign_at(&starts(&all)).py_err(py);
        }
        for (tp, o) in &list {
            let _ = self.apply_offset(tp, *o);
        }
        Ok(())
    }

    fn incremental_unassign(&self, py: Python<'_>, partitions: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check()?;
        let gone: BTreeSet<TopicPartition> = tps_from(partitions)?.into_iter().map(|(tp, _)| tp).collect();
        if !self.subscribed.load(Ordering::Acquire) {
            let assigned = self.consumer.assignment();
            if let Some(tp) = gone.iter().find(|tp| !assigned.contains(tp)) {
                // As librdkafka: nothing is unassigned then.
                let reason = format!("{} [{}] can't be unassigned since it is not in the current assignment", tp.topic, tp.partition);
                let err = errors::new_kafka_error(py, errors::INVALID_ARG, &reason, false, false, false)?;
                return Err(errors::exception_from(py, err));
            }
            let keep: Vec<_> = self.consumer.assignment().into_iter().filter(|tp| !gone.contains(tp)).collect();
            self.consumer.assign(&keep).py_err(py)?;
        }
        Ok(())
    }

    /// The next message (or an error as a message with `.error()`), None after `timeout`
    /// seconds (None or negative: wait forever).
    #[pyo3(signature = (timeout=None))]
    fn poll(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<PyObject> {
        let list = Self::poll_messages(slf, 1, timeout)?;
        Ok(match list.len() {
            0 => slf.py().None(),
            _ => list.get_item(0)?.unbind(),
        })
    }

    /// Up to `num_messages` messages from one native call, waiting up to `timeout` seconds for
    /// the first (-1: forever).
    #[pyo3(signature = (num_messages=1, timeout=None))]
    fn consume<'py>(slf: &Bound<'py, Self>, num_messages: i64, timeout: Option<f64>) -> PyResult<Bound<'py, PyList>> {
        if !(0..=1_000_000).contains(&num_messages) {
            return Err(PyValueError::new_err("num_messages must be between 0 and 1000000 (1M)"));
        }
        if num_messages == 0 {
            return Ok(PyList::empty(slf.py()));
        }
        Self::poll_messages(slf, num_messages as usize, timeout)
    }

    /// Commits `message`'s offset + 1, or `offsets` (the next offsets to read), or the
    /// positions reached. `asynchronous=False` waits and returns the committed partitions.
    #[pyo3(signature = (message=None, offsets=None, asynchronous=true))]
    fn commit(&self, py: Python<'_>, message: Option<&Bound<'_, PyAny>>, offsets: Option<&Bound<'_, PyAny>>, asynchronous: bool) -> PyResult<PyObject> {
        self.check()?;
        let list = self.commit_list(message, offsets)?;
        if list.as_ref().is_some_and(|l| l.is_empty()) {
            if asynchronous {
                return Ok(py.None());
            }
            return Err(Self::no_offset_error(py));
        }
        if asynchronous {
            let fut = self.commit_op(list);
            self.handle.spawn(async move {
                if let Err(e) = fut.await {
                    tracing::warn!(error = %e, "asynchronous commit failed");
                }
            });
            return Ok(py.None());
        }
        let committed = self.block(py, self.commit_op(list))?.py_err(py)?;
        if committed.is_empty() {
            return Err(Self::no_offset_error(py));
        }
        tp_list(py, &committed)
    }

    /// Stores offsets for the next auto-commit (`enable.auto.offset.store=false`): `message`'s
    /// offset + 1, or `offsets` as given.
    #[pyo3(signature = (message=None, offsets=None))]
    fn store_offsets(&self, py: Python<'_>, message: Option<&Bound<'_, PyAny>>, offsets: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.check()?;
        if message.is_none_or(|m| m.is_none()) && offsets.is_none_or(|o| o.is_none()) {
            return Err(PyValueError::new_err("expected either message or offsets"));
        }
        let list = self.given_offsets(message, offsets)?;
        // The core stores the offsets of assigned partitions and names the others; librdkafka
        // fails (`_INVALID_ARG`) only when none could be stored.
        match self.consumer.store_offsets(&list) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::InvalidArgument => {
                let assigned = self.consumer.assignment();
                let auto_store = self.consumer.config().auto_offset_store;
                if !auto_store && list.iter().any(|(tp, o)| *o >= 0 && assigned.contains(tp)) {
                    return Ok(());
                }
                let reason = format!("StoreOffsets failed: Local: Invalid argument or configuration ({})", e.message());
                let err = errors::new_kafka_error(py, errors::INVALID_ARG, &reason, false, false, false)?;
                Err(errors::exception_from(py, err))
            }
            Err(e) => Err(e).py_err(py),
        }
    }

    /// The committed offsets of `partitions` (OFFSET_INVALID where nothing is committed).
    #[pyo3(signature = (partitions, timeout=None))]
    fn committed(&self, py: Python<'_>, partitions: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<PyObject> {
        self.check()?;
        let tps = tps_from(partitions)?.into_iter().map(|(tp, _)| tp).collect();
        let conv = self.block(py, self.committed_op(tps, timeout))?;
        conv(py)
    }

    /// The next offset to read on each of `partitions` (OFFSET_INVALID when not known).
    fn position(&self, py: Python<'_>, partitions: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        self.check()?;
        let list: Vec<_> = tps_from(partitions)?
            .into_iter()
            .map(|(tp, _)| {
                let o = self.consumer.position(&tp).ok().flatten().unwrap_or(OFFSET_INVALID);
                (tp, o)
            })
            .collect();
        tp_list(py, &list)
    }

    /// Moves the position of an assigned partition to `partition.offset` (or OFFSET_BEGINNING,
    /// OFFSET_END).
    fn seek(&self, py: Python<'_>, partition: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check()?;
        let (tp, offset) = tp_from(partition)?;
        // As librdkafka: a partition the client does not know (not in its metadata) is
        // `_UNKNOWN_PARTITION`, one it knows but has not assigned `_STATE`.
        if !self.consumer.assignment().contains(&tp) {
            let known = self.consumer.partition_known(&tp);
            let (code, what) = if known { (errors::STATE, "Erroneous state") } else { (errors::UNKNOWN_PARTITION, "Unknown partition") };
            let reason = format!("Failed to seek to offset {offset}: Local: {what}");
            let err = errors::new_kafka_error(py, code, &reason, false, false, false)?;
            return Err(errors::exception_from(py, err));
        }
        if offset < OFFSET_BEGINNING {
            let reason = format!("Failed to seek to offset {offset}: Local: Erroneous state");
            let err = errors::new_kafka_error(py, errors::STATE, &reason, false, false, false)?;
            return Err(errors::exception_from(py, err));
        }
        self.apply_offset(&tp, offset).py_err(py)
    }

    fn pause(&self, partitions: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check()?;
        for (tp, _) in tps_from(partitions)? {
            // As librdkafka, a partition that is not assigned is no error.
            let _ = self.consumer.pause(std::slice::from_ref(&tp));
        }
        Ok(())
    }

    fn resume(&self, partitions: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check()?;
        for (tp, _) in tps_from(partitions)? {
            let _ = self.consumer.resume(std::slice::from_ref(&tp));
        }
        Ok(())
    }

    fn assignment(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.check()?;
        let list: Vec<_> = self.consumer.assignment().into_iter().map(|tp| (tp, OFFSET_INVALID)).collect();
        tp_list(py, &list)
    }

    /// `(low, high)` watermarks of `partition`; `cached=True` answers from the last fetch
    /// without a request (OFFSET_INVALID when unknown).
    #[pyo3(signature = (partition, timeout=None, cached=false))]
    fn get_watermark_offsets(&self, py: Python<'_>, partition: &Bound<'_, PyAny>, timeout: Option<f64>, cached: bool) -> PyResult<PyObject> {
        self.check()?;
        let (tp, _) = tp_from(partition)?;
        if cached {
            let (low, high) = self.consumer.cached_watermarks(&tp).unwrap_or((OFFSET_INVALID, OFFSET_INVALID));
            let f = |v: i64| if v < 0 { OFFSET_INVALID } else { v };
            return Ok((f(low), f(high)).into_pyobject(py)?.into_any().unbind());
        }
        let conv = self.block(py, self.watermarks_op(tp, timeout))?;
        conv(py)
    }

    /// For each partition, the first offset with a timestamp at or after `partition.offset`
    /// (milliseconds); -1 (OFFSET_END) when there is none.
    #[pyo3(signature = (partitions, timeout=None))]
    fn offsets_for_times(&self, py: Python<'_>, partitions: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<PyObject> {
        self.check()?;
        let query = tps_from(partitions)?;
        let conv = self.block(py, self.offsets_for_times_op(query, timeout))?;
        conv(py)
    }

    fn consumer_group_metadata(&self, py: Python<'_>) -> PyResult<GroupMetadata> {
        self.check()?;
        let md = self.consumer.group_metadata().py_err(py)?;
        Ok(GroupMetadata { group_id: md.group_id, generation_id: md.generation_id, member_id: md.member_id, group_instance_id: md.group_instance_id })
    }

    /// The member id given by the group coordinator; None before joining.
    fn memberid(&self) -> PyResult<Option<String>> {
        self.check()?;
        Ok(self.consumer.group_metadata().ok().map(|m| m.member_id).filter(|m| !m.is_empty()))
    }

    /// Commits (auto-commit), leaves the group and stops. Later calls raise RuntimeError.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        if runtime::pid() != this.pid || this.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let revoke = Self::revoke_on_close(slf);
        this.closed.store(true, Ordering::Release);
        let conv = this.block(py, this.close_op())?;
        conv(py)?;
        this.serve_commits(py)?;
        this.drain_logs(py)?;
        revoke
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        Self::close(slf)?;
        Ok(false)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// `for msg in consumer`: the next message (errors included), waiting as long as it takes;
    /// ends when the consumer is closed.
    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<PyObject>> {
        loop {
            if slf.get().closed.load(Ordering::Acquire) {
                return Ok(None);
            }
            match Self::poll_messages(slf, 1, Some(1.0)) {
                Ok(list) if list.len() > 0 => return Ok(Some(list.get_item(0)?.unbind())),
                Ok(_) => continue,
                Err(e) if slf.get().closed.load(Ordering::Acquire) => {
                    let _ = e;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    // -- used by polykafka.aio ------------------------------------------------------------
    fn _set_wake_fd(&self, fd: i32) {
        self.done.set_wake_fd(fd);
    }

    fn _rearm(&self) {
        self.done.rearm();
    }

    fn _take_done(&self, py: Python<'_>) -> Vec<(PyObject, PyObject, PyObject)> {
        crate::reports::take_done_py(py, &self.done)
    }

    fn _serve_commits(&self, py: Python<'_>) -> PyResult<()> {
        self.serve_commits(py)?;
        self.drain_logs(py)
    }

    fn _ack_rebalance(&self) {
        self.consumer.ack_rebalance();
    }

    fn _is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Starts a poll on the runtime; `future` gets `([(kind, [TopicPartition])], [Message])`
    /// (rebalance events, or messages; an error is a message).
    fn _poll_to(&self, future: PyObject, max: usize, timeout: Option<f64>) -> PyResult<()> {
        self.check()?;
        let consumer = self.consumer.clone();
        let t = runtime::timeout_from(timeout).unwrap_or(FOREVER);
        self.spawn_to(future, async move {
            let res = consumer.poll_batch_events(max, t).await;
            Box::new(move |py: Python<'_>| {
                let (events, msgs) = match res {
                    Ok((events, records)) => {
                        let evs = events.iter().filter_map(|e| event_of(py, e).transpose()).collect::<PyResult<Vec<_>>>()?;
                        (PyList::new(py, evs)?, messages_of(py, records)?)
                    }
                    Err(e) if e.kind() == ErrorKind::Closed => return Err(PyRuntimeError::new_err("Consumer closed")),
                    Err(e) => (PyList::empty(py), PyList::new(py, [error_message(py, &e)?])?),
                };
                Ok((events, msgs).into_pyobject(py)?.into_any().unbind())
            }) as Conv
        });
        Ok(())
    }

    /// `commit(asynchronous=False)` on the runtime: `future` gets the committed partitions.
    #[pyo3(signature = (future, message=None, offsets=None))]
    fn _commit_to(&self, py: Python<'_>, future: PyObject, message: Option<&Bound<'_, PyAny>>, offsets: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.check()?;
        let list = self.commit_list(message, offsets)?;
        if list.as_ref().is_some_and(|l| l.is_empty()) {
            return Err(Self::no_offset_error(py));
        }
        let fut = self.commit_op(list);
        self.spawn_to(future, async move { Self::commit_conv(fut.await) });
        Ok(())
    }

    #[pyo3(signature = (future, partitions, timeout=None))]
    fn _committed_to(&self, future: PyObject, partitions: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<()> {
        self.check()?;
        let tps = tps_from(partitions)?.into_iter().map(|(tp, _)| tp).collect();
        self.spawn_to(future, self.committed_op(tps, timeout));
        Ok(())
    }

    #[pyo3(signature = (future, partition, timeout=None))]
    fn _watermarks_to(&self, future: PyObject, partition: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<()> {
        self.check()?;
        let (tp, _) = tp_from(partition)?;
        self.spawn_to(future, self.watermarks_op(tp, timeout));
        Ok(())
    }

    #[pyo3(signature = (future, partitions, timeout=None))]
    fn _offsets_for_times_to(&self, future: PyObject, partitions: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<()> {
        self.check()?;
        let query = tps_from(partitions)?;
        self.spawn_to(future, self.offsets_for_times_op(query, timeout));
        Ok(())
    }

    fn _unsubscribe_to(&self, future: PyObject) -> PyResult<()> {
        self.check()?;
        self.subscribed.store(false, Ordering::Release);
        let consumer = self.consumer.clone();
        self.spawn_to(future, async move { crate::producer::unit_conv(consumer.unsubscribe().await) });
        Ok(())
    }

    /// `close` without the on_revoke call (the asyncio consumer awaits it itself).
    fn _close_to(&self, future: PyObject) -> PyResult<()> {
        runtime::check_pid(self.pid)?;
        if self.closed.swap(true, Ordering::AcqRel) {
            let done = self.done.clone();
            done.push_done((future, Box::new(|py: Python<'_>| Ok(py.None()))));
            return Ok(());
        }
        self.spawn_to(future, self.close_op());
        Ok(())
    }
}

/// The error of an offsets query (watermarks, `offsets_for_times`) as librdkafka gives it:
/// `_UNKNOWN_PARTITION` for a topic the broker does not have (its UNKNOWN_TOPIC_OR_PARTITION),
/// `_ALL_BROKERS_DOWN` when it failed (or timed out) while no broker could be reached (the
/// client's last Connection event said so), the error as it is otherwise.
fn unknown_partition_or(py: Python<'_>, e: &Error, all_down: bool, what: &str) -> PyErr {
    let local = if e.code() == polykafka::error::UNKNOWN_TOPIC_OR_PARTITION {
        Some((errors::UNKNOWN_PARTITION, "Unknown partition"))
    } else if matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout) && all_down {
        Some((errors::ALL_BROKERS_DOWN, "All broker connections are down"))
    } else {
        None
    };
    let Some((code, name)) = local else { return errors::to_pyerr(py, e) };
    let reason = format!("{what}: Local: {name} ({})", e.message());
    match errors::new_kafka_error(py, code, &reason, false, false, false) {
        Ok(err) => errors::exception_from(py, err),
        Err(e) => e,
    }
}
