//! `KafkaStreams`: the running application. One stream thread per instance: a consumer in the
//! group `application.id` whose assignment gives the tasks, one producer for outputs, repartition
//! and changelog records, a restore consumer for the changelogs; commits every
//! `commit.interval.ms`.
//!
//! at_least_once: the producer is flushed, then the offsets are committed.
//!
//! exactly_once_v2 (Kafka Streams' thread producer, KIP-447): the producer is transactional,
//! `transactional.id` = `<application.id>-<process id>-1` (a random process id per instance, as
//! Kafka Streams' `processId`); a transaction begins before the first record of a commit
//! interval is sent; the commit sends the processed offsets with the consumer's group metadata
//! (generation and member id: a member fenced by a rebalance cannot commit them) and commits
//! the transaction. Both consumers read committed records only, so a store restored from its
//! changelog holds committed updates only. When a transaction fails (a record not delivered, an
//! abortable or fencing error, a commit refused), it is aborted and every task is re-initialised:
//! stores restored from their changelogs, input positions back to the committed offsets; no store
//! keeps an update of the aborted transaction. A failing user function stops the thread as under
//! at_least_once, after aborting the transaction and dropping the tasks' stores.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use crate::admin::{Admin, NewTopic};
use crate::consumer::{CommitMode, Consumer, ConsumerEvent, ConsumerRecord};
use crate::error::{self, Error, Result};
use crate::config::OffsetReset;
use crate::producer::{Completion, Producer, TxnState};
use crate::record::TopicPartition;
use crate::sync::MutexExt;

use super::functions::{FailureKind, StreamRecord, UserFunctions};
use super::input::InputBuffers;
use super::store::{Checkpoint, StoreReader, Stores};
use super::task::{Context, Origin, Task};
use super::topology::{NodeId, NodeKind, Topology};
use super::{ProcessingGuarantee, StreamsConfig};

/// Kafka Streams' states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Created,
    Rebalancing,
    Running,
    PendingShutdown,
    NotRunning,
    PendingError,
    Error,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "CREATED",
            State::Rebalancing => "REBALANCING",
            State::Running => "RUNNING",
            State::PendingShutdown => "PENDING_SHUTDOWN",
            State::NotRunning => "NOT_RUNNING",
            State::PendingError => "PENDING_ERROR",
            State::Error => "ERROR",
        }
    }
}

/// Called with (new state, old state), as Kafka Streams' `StateListener.onChange`.
pub type StateListener = Arc<dyn Fn(State, State) + Send + Sync>;
/// Called once with the error that stopped the stream thread (the client then shuts down:
/// Kafka Streams' `SHUTDOWN_CLIENT`).
pub type UncaughtHandler = Arc<dyn Fn(&ProcessingError) + Send + Sync>;

/// What stopped processing: a user function that failed on a record (with the record's topic,
/// partition and offset), a record that could not be deserialized under `log_and_fail`, or a
/// Kafka error of the runtime (`kind` None, no record).
#[derive(Clone, Debug)]
pub struct ProcessingError {
    pub topic: Option<String>,
    pub partition: i32,
    pub offset: i64,
    pub kind: Option<FailureKind>,
    pub message: String,
}

impl ProcessingError {
    fn runtime(e: &Error) -> Self {
        ProcessingError { topic: None, partition: -1, offset: -1, kind: None, message: e.to_string() }
    }
}

impl fmt::Display for ProcessingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.topic {
            Some(t) => write!(f, "{} (record {t}-{}@{})", self.message, self.partition, self.offset),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Default, Debug)]
pub(crate) struct Metrics {
    pub processed: AtomicU64,
    pub late_dropped: AtomicU64,
    pub timestamp_dropped: AtomicU64,
    pub dropped: AtomicU64,
    pub deserialization_skipped: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub restored: AtomicU64,
    pub restore_micros: AtomicU64,
    pub commits: AtomicU64,
}

/// Counters of this instance since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamsMetrics {
    /// Source records processed.
    pub processed: u64,
    /// (record, window) pairs dropped because the window had closed (stream time past end +
    /// grace), as Kafka Streams' dropped-records sensor.
    pub late_dropped: u64,
    /// Records dropped because their extracted timestamp was negative (a timestamp extractor
    /// returned one, or `LogAndSkipOnInvalidTimestamp` met one).
    pub timestamp_dropped: u64,
    /// Records skipped for a null key or value (aggregations, joins, repartitions).
    pub dropped: u64,
    /// Records skipped by `log_and_continue`.
    pub deserialization_skipped: u64,
    pub dead_lettered: u64,
    /// Changelog records read to restore stores, and how long restoring took.
    pub restored: u64,
    pub restore_micros: u64,
    pub commits: u64,
}

struct Inner {
    topology: Arc<Topology>,
    functions: Arc<dyn UserFunctions>,
    config: StreamsConfig,
    runtime: Handle,
    state: Mutex<State>,
    listener: Mutex<Option<StateListener>>,
    handler: Mutex<Option<UncaughtHandler>>,
    stores: Arc<Stores>,
    metrics: Metrics,
    stop: AtomicBool,
    failure: Mutex<Option<ProcessingError>>,
}

impl Inner {
    fn set_state(&self, new: State) {
        let old = {
            let mut st = self.state.locked();
            let old = *st;
            if old == new {
                return;
            }
            // Once shutting down or failing, only the end states follow.
            let allowed = match old {
                State::PendingShutdown => new == State::NotRunning,
                State::PendingError => new == State::Error,
                State::NotRunning | State::Error => false,
                _ => true,
            };
            if !allowed {
                return;
            }
            *st = new;
            old
        };
        tracing::info!(from = old.as_str(), to = new.as_str(), "streams state");
        let listener = self.listener.locked().clone();
        if let Some(l) = listener {
            l(new, old);
        }
    }
}

/// A streams application instance (Kafka Streams' `KafkaStreams`).
pub struct KafkaStreams {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl KafkaStreams {
    /// `runtime`: the tokio runtime the clients run on (the binding's).
    /// Opens the instance's state directory under `state.dir` (see [`super::store`]).
    pub fn new(topology: Topology, functions: Arc<dyn UserFunctions>, config: StreamsConfig, runtime: Handle) -> Result<KafkaStreams> {
        let stores = Arc::new(Stores::open(&config.state_dir, &config.application_id, config.cache_max_bytes)?);
        Ok(KafkaStreams {
            inner: Arc::new(Inner {
                topology: Arc::new(topology),
                functions,
                config,
                runtime,
                state: Mutex::new(State::Created),
                listener: Mutex::new(None),
                handler: Mutex::new(None),
                stores,
                metrics: Metrics::default(),
                stop: AtomicBool::new(false),
                failure: Mutex::new(None),
            }),
            thread: Mutex::new(None),
        })
    }

    pub fn state(&self) -> State {
        *self.inner.state.locked()
    }

    pub fn set_state_listener(&self, listener: StateListener) -> Result<()> {
        self.require_created("set_state_listener")?;
        *self.inner.listener.locked() = Some(listener);
        Ok(())
    }

    pub fn set_uncaught_exception_handler(&self, handler: UncaughtHandler) -> Result<()> {
        self.require_created("set_uncaught_exception_handler")?;
        *self.inner.handler.locked() = Some(handler);
        Ok(())
    }

    fn require_created(&self, what: &str) -> Result<()> {
        if self.state() != State::Created {
            return Err(Error::invalid(format!("{what} can only be called in state CREATED, the state is {}", self.state().as_str())));
        }
        Ok(())
    }

    /// Starts the stream thread; returns at once (state REBALANCING, then RUNNING once tasks are
    /// assigned and restored).
    pub fn start(&self) -> Result<()> {
        self.require_created("start")?;
        self.inner.set_state(State::Rebalancing);
        let inner = self.inner.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{}-StreamThread-1", self.inner.config.application_id))
            .spawn(move || stream_thread(inner))
            .map_err(|e| Error::new(error::ErrorKind::Fatal, format!("cannot start the stream thread: {e}")))?;
        *self.thread.locked() = Some(thread);
        Ok(())
    }

    /// Stops processing, commits what was processed and closes the clients; true when that
    /// finished within `timeout` (Kafka Streams' `close(Duration)`).
    pub fn close(&self, timeout: Duration) -> bool {
        if self.state() == State::Created {
            self.inner.set_state(State::PendingShutdown);
            self.inner.set_state(State::NotRunning);
            return true;
        }
        self.inner.stop.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + timeout;
        loop {
            let finished = self.thread.locked().as_ref().is_none_or(|t| t.is_finished());
            if finished {
                if let Some(t) = self.thread.locked().take() {
                    let _ = t.join();
                }
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The error that stopped the stream thread, if one did.
    pub fn failure(&self) -> Option<ProcessingError> {
        self.inner.failure.locked().clone()
    }

    pub fn metrics(&self) -> StreamsMetrics {
        let m = &self.inner.metrics;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StreamsMetrics {
            processed: g(&m.processed),
            late_dropped: g(&m.late_dropped),
            timestamp_dropped: g(&m.timestamp_dropped),
            dropped: g(&m.dropped),
            deserialization_skipped: g(&m.deserialization_skipped),
            dead_lettered: g(&m.dead_lettered),
            restored: g(&m.restored),
            restore_micros: g(&m.restore_micros),
            commits: g(&m.commits),
        }
    }

    /// Interactive queries: the store `name` over this instance's tasks.
    pub fn store(&self, name: &str) -> Result<StoreReader> {
        let def = self.inner.topology.store(name).ok_or_else(|| Error::invalid(format!("the topology has no store named '{name}'")))?;
        Ok(StoreReader { stores: self.inner.stores.clone(), name: name.to_string(), windowed: def.windows.is_some(), session: def.session.is_some() })
    }

    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }
}

impl Drop for KafkaStreams {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
    }
}

/// The first failed delivery of the producer, as the production exception handler's default
/// (fail).
type DeliveryError = Arc<Mutex<Option<Error>>>;

/// How many times in a row a failed transaction is aborted and the tasks re-initialised before
/// the error stops the thread (a commit that succeeds resets the count).
const MAX_RECOVERIES: u32 = 5;
/// Bound of the transactional calls (InitProducerId, AddOffsetsToTxn/TxnOffsetCommit, EndTxn).
const TXN_TIMEOUT: Duration = Duration::from_secs(60);

struct Thread {
    inner: Arc<Inner>,
    consumer: Consumer,
    producer: Producer,
    /// exactly_once_v2: the producer's `transactional.id`.
    transactional_id: Option<String>,
    /// Failed transactions recovered from since the last successful commit.
    recoveries: u32,
    /// Set when a failed transaction re-initialised the tasks: the rest of the records polled
    /// are read again from the committed offsets.
    reinitialized: bool,
    /// Records polled, not processed yet, per input partition (taken in timestamp order).
    input: InputBuffers,
    restore: Consumer,
    entries: HashMap<String, NodeId>,
    tasks: BTreeMap<(usize, i32), Task>,
    /// Next offsets of fully processed records, not committed yet.
    processed: BTreeMap<TopicPartition, i64>,
    delivery_error: DeliveryError,
    last_commit: Instant,
    /// The checkpoint as last written (entries of tasks not owned now are kept: a task that
    /// comes back restores from there).
    checkpoint: Checkpoint,
    /// Per changelog partition of the owned tasks: the offset after the last record written
    /// (delivered) or restored, and the topic's id: the next checkpoint.
    changelog_next: Arc<Mutex<HashMap<TopicPartition, i64>>>,
    topic_ids: HashMap<TopicPartition, [u8; 16]>,
}

fn stream_thread(inner: Arc<Inner>) {
    let _guard = inner.runtime.enter();
    let outcome = match Thread::open(inner.clone()) {
        Ok(mut t) => {
            let r = t.run();
            let closing = t.close(r.is_ok());
            r.and(closing.map_err(|e| ProcessingError::runtime(&e)))
        }
        Err(e) => Err(ProcessingError::runtime(&e)),
    };
    match outcome {
        Ok(()) => {
            inner.set_state(State::PendingShutdown);
            inner.set_state(State::NotRunning);
        }
        Err(e) => {
            tracing::error!(error = %e, "the stream thread stopped");
            *inner.failure.locked() = Some(e.clone());
            inner.set_state(State::PendingError);
            let handler = inner.handler.locked().clone();
            if let Some(h) = handler {
                h(&e);
            }
            inner.set_state(State::Error);
        }
    }
}

impl Thread {
    fn open(inner: Arc<Inner>) -> Result<Thread> {
        let cfg = &inner.config;
        let admin = Admin::new(cfg.admin.clone())?;
        let created = inner.runtime.block_on(create_internal_topics(&admin, &inner.topology, cfg));
        inner.runtime.block_on(admin.close());
        created?;
        let consumer = Consumer::new(cfg.consumer.clone())?;
        let transactional_id = (cfg.processing_guarantee == ProcessingGuarantee::ExactlyOnceV2)
            .then(|| format!("{}-{}-1", cfg.application_id, uuid::Builder::from_random_bytes(rand::random()).into_uuid()));
        let producer = new_producer(&inner, transactional_id.as_deref())?;
        let restore = Consumer::new(cfg.restore_consumer.clone())?;
        let entries: HashMap<String, NodeId> = inner.topology.entries(&cfg.application_id).into_iter().map(|(t, n, _)| (t, n)).collect();
        let topics: Vec<String> = entries.keys().cloned().collect();
        consumer.subscribe(&topics)?;
        let input = InputBuffers::new(cfg.max_task_idle, cfg.buffered_records_per_partition);
        let checkpoint = inner.stores.dir().map(|d| Checkpoint::read(&d)).unwrap_or_default();
        Ok(Thread {
            inner,
            consumer,
            producer,
            transactional_id,
            recoveries: 0,
            reinitialized: false,
            input,
            restore,
            entries,
            tasks: BTreeMap::new(),
            processed: BTreeMap::new(),
            delivery_error: Arc::new(Mutex::new(None)),
            last_commit: Instant::now(),
            checkpoint,
            changelog_next: Arc::new(Mutex::new(HashMap::new())),
            topic_ids: HashMap::new(),
        })
    }

    fn run(&mut self) -> std::result::Result<(), ProcessingError> {
        let rt = self.inner.runtime.clone();
        let max = self.inner.config.max_poll_records;
        while !self.inner.stop.load(Ordering::SeqCst) {
            let (events, records) = rt.block_on(self.consumer.poll_batch_events(max, Duration::from_millis(100))).map_err(|e| ProcessingError::runtime(&e))?;
            self.reinitialized = false;
            for ev in events {
                self.on_event(ev).map_err(|e| ProcessingError::runtime(&e))?;
            }
            // An event that re-initialised the tasks (a failed commit on a revoke, partitions
            // lost) moved the inputs back to the committed offsets: this poll's records were
            // fetched before that and come again; processing them now would run the fresh tasks'
            // stream time ahead of the records read again (those would be dropped as late).
            if !self.reinitialized {
                let records = self.extract_timestamps(records)?;
                self.input.push(records);
            }
            self.process_ready()?;
            self.pause_full_partitions().map_err(|e| ProcessingError::runtime(&e))?;
            let failed = self.delivery_error.locked().take();
            if let Some(e) = failed {
                let e = e.context("producing the application's records");
                self.recover_or_fail(Err(e)).map_err(|e| ProcessingError::runtime(&e))?;
            }
            if self.last_commit.elapsed() >= self.inner.config.commit_interval {
                let committed = self.commit();
                self.recover_or_fail(committed).map_err(|e| ProcessingError::runtime(&e))?;
            }
        }
        Ok(())
    }

    /// Gives polled records their event time, partition by partition in offset order, with the
    /// timestamp extractor of the source they enter at (Kafka Streams does it as records reach
    /// the head of their partition's queue; before the queues is the same, since a partition's
    /// records are taken in order). Records whose time comes out negative are dropped and
    /// counted; a record the extractor cannot deserialize goes through the deserialization
    /// handler; an extractor that fails, or an invalid timestamp under
    /// `FailOnInvalidTimestamp`, stops the thread naming the record.
    fn extract_timestamps(&mut self, mut records: Vec<ConsumerRecord>) -> std::result::Result<Vec<ConsumerRecord>, ProcessingError> {
        use super::TimestampExtractor as X;
        let default = self.inner.config.default_timestamp_extractor;
        let topology = self.inner.topology.clone();
        // Only the records of sources extracting from their record's timestamp as it is, the
        // usual case, skip the work below.
        let all_plain = records.iter().all(|r| r.timestamp >= 0)
            && self.entries.values().all(|n| matches!(topology.timestamp_extractor(*n, default), X::FailOnInvalidTimestamp | X::LogAndSkipOnInvalidTimestamp | X::UsePartitionTimeOnInvalidTimestamp));
        if all_plain {
            if let Some(last) = records.last() {
                // Partition time still moves: UsePartitionTimeOnInvalidTimestamp may need it.
                let mut tp = last.topic_partition();
                let mut max = self.input.partition_time(&tp);
                for r in records.iter().rev() {
                    if r.partition != tp.partition || *r.topic != *tp.topic {
                        self.input.set_partition_time(&tp, max);
                        tp = r.topic_partition();
                        max = self.input.partition_time(&tp);
                    }
                    max = max.max(r.timestamp);
                }
                self.input.set_partition_time(&tp, max);
            }
            return Ok(records);
        }
        let mut kept: Vec<ConsumerRecord> = Vec::with_capacity(records.len());
        let mut dead_letters = Vec::new();
        let mut start = 0;
        while start < records.len() {
            let tp = records[start].topic_partition();
            let end = start + records[start..].iter().take_while(|r| r.partition == tp.partition && *r.topic == *tp.topic).count();
            let Some(&entry) = self.entries.get(tp.topic.as_str()) else {
                start = end;
                continue;
            };
            let extractor = topology.timestamp_extractor(entry, default);
            let mut partition_time = self.input.partition_time(&tp);
            let error = |r: &ConsumerRecord, kind: Option<FailureKind>, message: String| ProcessingError {
                topic: Some(r.topic.to_string()),
                partition: r.partition,
                offset: r.offset,
                kind,
                message,
            };
            // Per record: its time, `None` when negative (dropped), `Err` when it was skipped
            // by the deserialization handler.
            let mut times: Vec<std::result::Result<Option<i64>, ()>> = Vec::with_capacity(end - start);
            match extractor {
                X::User => {
                    let mut at = start;
                    while at < end {
                        let input: Vec<StreamRecord> =
                            records[at..end].iter().map(|r| StreamRecord { key: r.key.clone(), value: r.value.clone(), timestamp: r.timestamp }).collect();
                        let out = self.inner.functions.extract_timestamps(entry, &input, partition_time);
                        let given = out.timestamps.len().min(out.failure.as_ref().map_or(input.len(), |f| f.index));
                        for &t in &out.timestamps[..given] {
                            times.push(Ok((t >= 0).then_some(t)));
                            partition_time = partition_time.max(t);
                        }
                        at += given;
                        match out.failure {
                            None if given == input.len() => break,
                            None => {
                                return Err(error(&records[at], Some(FailureKind::User), format!("the timestamp extractor gave {given} timestamps for {} records", input.len())))
                            }
                            Some(f) => {
                                let r = &records[at];
                                if f.kind == FailureKind::Deserialization {
                                    let origin = Origin { topic: r.topic.clone(), partition: r.partition, offset: r.offset };
                                    dead_letters.extend(super::task::dead_letter_record(&self.inner.config, &self.inner.metrics, &origin, &input[given], &f.message));
                                    if self.inner.config.deserialization_handler == super::DeserializationHandler::LogAndContinue {
                                        tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, error = %f.message, "skipping a record that cannot be deserialized (log_and_continue)");
                                        self.inner.metrics.deserialization_skipped.fetch_add(1, Ordering::Relaxed);
                                        times.push(Err(()));
                                        at += 1;
                                        continue;
                                    }
                                }
                                return Err(error(r, Some(f.kind), format!("timestamp extractor: {}", f.message)));
                            }
                        }
                    }
                }
                _ => {
                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
                    for r in &records[start..end] {
                        let t = match extractor {
                            X::WallclockTimestampExtractor => Some(now),
                            _ if r.timestamp >= 0 => Some(r.timestamp),
                            X::FailOnInvalidTimestamp => {
                                return Err(error(r, None, format!(
                                    "the record has an invalid (negative) timestamp {} and the timestamp extractor is FailOnInvalidTimestamp (a record written without a timestamp?): use another timestamp extractor to process it",
                                    r.timestamp
                                )))
                            }
                            X::UsePartitionTimeOnInvalidTimestamp if partition_time >= 0 => Some(partition_time),
                            X::UsePartitionTimeOnInvalidTimestamp => {
                                return Err(error(r, None, format!(
                                    "the record has an invalid (negative) timestamp {} and UsePartitionTimeOnInvalidTimestamp cannot replace it: the partition's time is not known yet",
                                    r.timestamp
                                )))
                            }
                            _ => None,
                        };
                        partition_time = partition_time.max(t.unwrap_or(-1));
                        times.push(Ok(t));
                    }
                }
            }
            self.input.set_partition_time(&tp, partition_time);
            for (r, t) in records[start..end].iter_mut().zip(times) {
                match t {
                    Err(()) => {}
                    Ok(Some(t)) => {
                        r.timestamp = t;
                        kept.push(r.clone());
                    }
                    Ok(None) => {
                        tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, timestamp = r.timestamp, "skipping a record whose extracted timestamp is negative");
                        self.inner.metrics.timestamp_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            start = end;
        }
        if let Err(e) = self.send(dead_letters) {
            return self.recover_or_fail(Err(e)).map(|()| Vec::new()).map_err(|e| ProcessingError::runtime(&e));
        }
        Ok(kept)
    }

    fn task_of(&self, tp: &TopicPartition) -> Option<(usize, NodeId)> {
        let entry = *self.entries.get(&tp.topic)?;
        Some((self.inner.topology.entry_subtopology(entry), entry))
    }

    fn on_event(&mut self, ev: ConsumerEvent) -> Result<()> {
        match ev {
            ConsumerEvent::Assigned(_) => {
                // The assignment as it is now (eager protocols revoke everything first, then
                // assign the whole new set): tasks of partitions kept stay as they are, with
                // their stores and stream time; tasks of partitions gone are closed.
                self.inner.set_state(State::Rebalancing);
                let assigned = self.consumer.assignment();
                self.drop_tasks(&[]);
                self.input.retain(|tp| assigned.contains(tp));
                let mut new: BTreeSet<(usize, i32)> = BTreeSet::new();
                for tp in &assigned {
                    if let Some((st, _)) = self.task_of(tp) {
                        if !self.tasks.contains_key(&(st, tp.partition)) {
                            new.insert((st, tp.partition));
                        }
                    }
                }
                for (st, p) in new {
                    self.restore_task(st, p, true)?;
                    self.tasks.insert((st, p), Task::new(p));
                }
                self.inner.set_state(State::Running);
            }
            ConsumerEvent::Revoked(tps) => {
                // Commit what was processed; the tasks are closed at the next assignment if
                // their partitions do not come back. Records buffered for the revoked
                // partitions are not processed: whoever owns them next reads them from the
                // committed offsets (so do we, if they come back).
                self.inner.set_state(State::Rebalancing);
                let committed = self.commit();
                self.input.retain(|tp| !tps.contains(tp));
                self.recover_or_fail(committed)?;
            }
            ConsumerEvent::Lost(tps) if self.eos() => {
                // Another member may own them already: the open transaction (which has their
                // records too) cannot commit; abort it and start the tasks kept from what is
                // committed.
                self.inner.set_state(State::Rebalancing);
                self.drop_tasks(&tps);
                self.recover(Error::invalid(format!("partitions lost: {}", tps.iter().map(|tp| tp.to_string()).collect::<Vec<_>>().join(", "))))?;
            }
            ConsumerEvent::Lost(tps) => {
                self.inner.set_state(State::Rebalancing);
                for tp in &tps {
                    self.processed.remove(tp);
                }
                self.input.retain(|tp| !tps.contains(tp));
                self.drop_tasks(&tps);
            }
            ConsumerEvent::Record(_) | ConsumerEvent::PartitionEof(..) => {}
        }
        Ok(())
    }

    /// Closes the tasks none of whose partitions stay assigned.
    fn drop_tasks(&mut self, revoked: &[TopicPartition]) {
        let kept: BTreeSet<(usize, i32)> = self
            .consumer
            .assignment()
            .iter()
            .filter(|tp| !revoked.contains(tp))
            .filter_map(|tp| self.task_of(tp).map(|(st, _)| (st, tp.partition)))
            .collect();
        let gone: Vec<(usize, i32)> = self.tasks.keys().filter(|k| !kept.contains(k)).copied().collect();
        for (st, p) in gone {
            self.tasks.remove(&(st, p));
            self.forget_task_stores(st, p);
        }
    }

    /// The task's stores leave memory (their tables and checkpoint entries stay on disk).
    fn forget_task_stores(&mut self, subtopology: usize, partition: i32) {
        let app = &self.inner.config.application_id;
        for store in self.inner.topology.stores().iter().filter(|s| s.subtopology == subtopology) {
            self.inner.stores.drop_partition(&store.name, partition);
            let tp = TopicPartition::new(Topology::changelog_topic(app, &store.name), partition);
            self.changelog_next.locked().remove(&tp);
            self.topic_ids.remove(&tp);
        }
    }

    /// Brings the task's stores up to their changelogs' end: from the checkpointed offset onto
    /// the table kept on disk when the checkpoint fits the changelog (`use_checkpoint`, same topic
    /// id, offset within the log), else from the changelog's start onto an emptied table.
    fn restore_task(&mut self, subtopology: usize, partition: i32, use_checkpoint: bool) -> Result<()> {
        let rt = self.inner.runtime.clone();
        let app = self.inner.config.application_id.clone();
        let started = Instant::now();
        let mut checkpoint_changed = false;
        for store in self.inner.topology.stores().iter().filter(|s| s.subtopology == subtopology) {
            let tp = TopicPartition::new(Topology::changelog_topic(&app, &store.name), partition);
            // The end: the high watermark, or under read_committed the last stable offset
            // (records of open transactions are not restored; aborted ones are skipped).
            let (low, _) = rt.block_on(self.restore.watermarks(&tp, Duration::from_secs(30)))?;
            let high = rt.block_on(self.restore.end_offset(&tp, Duration::from_secs(30)))?;
            let topic_id = self.restore.cluster().metadata().topics.get(&tp.topic).map(|t| t.topic_id).unwrap_or([0; 16]);
            let from = match self.checkpoint.offsets.get(&tp) {
                Some(&(offset, id)) if use_checkpoint && id == topic_id && topic_id != [0; 16] && (low..=high).contains(&offset) => Some(offset),
                Some(&(offset, id)) => {
                    tracing::info!(store = %store.name, partition, offset, low, high, same_topic = id == topic_id, use_checkpoint,
                        "the checkpoint does not fit the changelog: restoring the store from the start");
                    None
                }
                None => None,
            };
            self.inner.stores.with(|s| s.load(&store.name, partition, store.internal, from.is_none()))?;
            let start = from.unwrap_or(low);
            let mut restored = 0u64;
            if high > start {
                self.restore.assign(std::slice::from_ref(&tp))?;
                self.restore.seek(&tp, start)?;
                let mut position = start;
                let deadline = Instant::now() + Duration::from_secs(300);
                while position < high {
                    if Instant::now() > deadline {
                        return Err(Error::timeout(format!("restoring store '{}' from {tp}: at offset {position} of {high} after 300 s", store.name)));
                    }
                    let batch = rt.block_on(self.restore.poll_batch(10_000, Duration::from_millis(200)))?;
                    if batch.is_empty() {
                        // Everything fetched was delivered: the fetch position is past the
                        // control records (transaction markers) and aborted records too.
                        position = position.max(self.restore.fetch_position(&tp)?.unwrap_or(position));
                    }
                    let applied = self.inner.stores.with(|s| -> Result<()> {
                        for r in batch {
                            position = r.offset + 1;
                            let Some(k) = r.key else { continue };
                            s.put(&store.name, partition, k, r.value)?;
                            restored += 1;
                        }
                        Ok(())
                    });
                    applied?;
                }
                self.restore.assign(&[])?;
            }
            self.inner.metrics.restored.fetch_add(restored, Ordering::Relaxed);
            tracing::info!(store = %store.name, partition, from = start, to = high, restored, checkpoint = from.is_some(), "store restored");
            self.changelog_next.locked().insert(tp.clone(), high);
            self.topic_ids.insert(tp.clone(), topic_id);
            // exactly_once_v2: no checkpoint while the task runs (after a crash the table may
            // hold updates of an aborted transaction: it is restored from the start).
            if self.eos() && self.checkpoint.offsets.remove(&tp).is_some() {
                checkpoint_changed = true;
            }
        }
        if checkpoint_changed {
            if let Some(dir) = self.inner.stores.dir() {
                self.checkpoint.write(&dir)?;
            }
        }
        self.inner.metrics.restore_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the stores to disk (durably), then the checkpoint of the owned tasks' changelog
    /// partitions (after a commit: the changelog holds what the stores hold).
    fn write_checkpoint(&mut self) -> Result<()> {
        let Some(dir) = self.inner.stores.dir() else { return Ok(()) };
        self.inner.stores.with(|s| s.flush(true, true))?;
        let next = self.changelog_next.locked().clone();
        for (tp, offset) in next {
            if let Some(id) = self.topic_ids.get(&tp) {
                self.checkpoint.offsets.insert(tp, (offset, *id));
            }
        }
        self.checkpoint.write(&dir)
    }

    /// Processes the buffered records every task is ready for, task by task, each in the order
    /// of [`InputBuffers::next_run`] (timestamp order across its partitions).
    fn process_ready(&mut self) -> std::result::Result<(), ProcessingError> {
        if self.input.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let assigned: BTreeSet<TopicPartition> = self.consumer.assignment().into_iter().collect();
        let ready: BTreeSet<(usize, i32)> = self.input.buffered().filter_map(|(tp, _)| self.task_of(tp).map(|(st, _)| (st, tp.partition))).collect();
        for (st, partition) in ready {
            let parts: Vec<TopicPartition> = self
                .entries
                .iter()
                .filter(|(_, node)| self.inner.topology.entry_subtopology(**node) == st)
                .map(|(topic, _)| TopicPartition::new(topic.as_str(), partition))
                .filter(|tp| assigned.contains(tp))
                .collect();
            while !self.reinitialized {
                let consumer = &self.consumer;
                let Some((_, run)) = self.input.next_run(&parts, |tp| consumer.fetched_lag(tp), now) else { break };
                self.process_partition(&run)?;
            }
            if self.reinitialized {
                break;
            }
        }
        Ok(())
    }

    /// Pauses the partitions holding `buffered.records.per.partition` records or more, resumes
    /// the others (the stream thread is the only one pausing its consumer's partitions).
    fn pause_full_partitions(&mut self) -> Result<()> {
        let paused: BTreeSet<TopicPartition> = self.consumer.paused().into_iter().collect();
        let full: BTreeSet<TopicPartition> = self.input.full().cloned().collect();
        let mut pause: Vec<TopicPartition> = full.difference(&paused).cloned().collect();
        if !pause.is_empty() {
            // Only what is still assigned (the assignment is copied only when there is
            // something to pause, not at every poll).
            let assigned: BTreeSet<TopicPartition> = self.consumer.assignment().into_iter().collect();
            pause.retain(|tp| assigned.contains(tp));
            self.consumer.pause(&pause)?;
        }
        let resume: Vec<TopicPartition> = paused.difference(&full).cloned().collect();
        if !resume.is_empty() {
            self.consumer.resume(&resume)?;
        }
        Ok(())
    }

    fn process_partition(&mut self, records: &[ConsumerRecord]) -> std::result::Result<(), ProcessingError> {
        let first = &records[0];
        let tp = first.topic_partition();
        let Some((st, entry)) = self.task_of(&tp) else {
            return Ok(());
        };
        let origins: Vec<Origin> = records.iter().map(|r| Origin { topic: r.topic.clone(), partition: r.partition, offset: r.offset }).collect();
        let input: Vec<StreamRecord> = records.iter().map(|r| StreamRecord { key: r.key.clone(), value: r.value.clone(), timestamp: r.timestamp }).collect();
        let index: Vec<u32> = (0..records.len() as u32).collect();
        let inner = self.inner.clone();
        let mut cx = Context {
            topology: &inner.topology,
            functions: &*inner.functions,
            config: &inner.config,
            stores: &inner.stores,
            metrics: &inner.metrics,
            origins: &origins,
            out: Vec::new(),
        };
        let Some(task) = self.tasks.get_mut(&(st, tp.partition)) else {
            // A partition whose task is not there (assigned before the event was seen): the
            // records are read again after the rebalance.
            return Ok(());
        };
        task.process_entry(&mut cx, entry, input, index)?;
        let out = std::mem::take(&mut cx.out);
        if let Err(e) = self.send(out) {
            // exactly_once_v2: the transaction was aborted and the tasks re-initialised; this
            // batch is read again.
            return self.recover_or_fail(Err(e)).map_err(|e| ProcessingError::runtime(&e));
        }
        self.inner.metrics.processed.fetch_add(records.len() as u64, Ordering::Relaxed);
        self.processed.insert(tp, records.last().expect("a run is not empty").offset + 1);
        Ok(())
    }

    fn send(&self, out: Vec<crate::record::ProducerRecord>) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        self.begin_transaction_if_needed()?;
        let slot = self.delivery_error.clone();
        let app = &self.inner.config.application_id;
        let records = out.into_iter().map(|r| {
            let slot = slot.clone();
            // A changelog record's offset moves the next checkpoint.
            let next = (r.topic.ends_with("-changelog") && r.topic.starts_with(app.as_str())).then(|| self.changelog_next.clone());
            let completion = Completion::Callback(Box::new(move |res: Result<crate::record::RecordMetadata>| match res {
                Err(e) => {
                    slot.locked().get_or_insert(e);
                }
                Ok(md) => {
                    if let Some(next) = next {
                        let tp = TopicPartition::new(md.topic, md.partition);
                        let mut next = next.locked();
                        let at = next.entry(tp).or_insert(0);
                        *at = (*at).max(md.offset + 1);
                    }
                }
            }));
            (r, completion)
        });
        let mut rejected: Option<Error> = None;
        self.inner.runtime.block_on(self.producer.send_each(records, true, |_, e| {
            rejected.get_or_insert(e);
        }))?;
        match rejected {
            Some(e) => Err(e.context("producing the application's records")),
            None => Ok(()),
        }
    }

    fn eos(&self) -> bool {
        self.transactional_id.is_some()
    }

    /// exactly_once_v2: a transaction begins before the first record of a commit interval.
    fn begin_transaction_if_needed(&self) -> Result<()> {
        if self.eos() && self.producer.transaction_state() == Some(TxnState::Ready) {
            self.producer.begin_transaction()?;
        }
        Ok(())
    }

    /// Flushes the producer, then commits the offsets of what was processed (at_least_once); or
    /// commits the transaction with those offsets in it (exactly_once_v2).
    fn commit(&mut self) -> Result<()> {
        self.last_commit = Instant::now();
        if self.eos() {
            return self.commit_transaction();
        }
        if self.processed.is_empty() {
            return Ok(());
        }
        let rt = self.inner.runtime.clone();
        rt.block_on(self.producer.flush(Duration::from_secs(120)))?;
        if let Some(e) = self.delivery_error.locked().take() {
            return Err(e.context("producing the application's records; offsets not committed"));
        }
        let offsets: Vec<(TopicPartition, i64)> = std::mem::take(&mut self.processed).into_iter().collect();
        rt.block_on(self.consumer.commit(Some(&offsets), CommitMode::Sync))?;
        self.inner.metrics.commits.fetch_add(1, Ordering::Relaxed);
        self.write_checkpoint()
    }

    /// The open transaction (if any) with the processed offsets: flush, AddOffsetsToTxn +
    /// TxnOffsetCommit with the group metadata, EndTxn(commit). The offsets count as committed
    /// only once EndTxn succeeded.
    fn commit_transaction(&mut self) -> Result<()> {
        let open = self.producer.transaction_state() != Some(TxnState::Ready);
        if self.processed.is_empty() && !open {
            return Ok(());
        }
        self.begin_transaction_if_needed()?;
        let rt = self.inner.runtime.clone();
        if !self.processed.is_empty() {
            let offsets: Vec<(TopicPartition, i64)> = self.processed.iter().map(|(tp, o)| (tp.clone(), *o)).collect();
            let group = self.consumer.group_metadata()?;
            rt.block_on(self.producer.send_offsets_to_transaction(&offsets, &group, TXN_TIMEOUT))?;
        }
        rt.block_on(self.producer.commit_transaction(TXN_TIMEOUT))?;
        if let Some(e) = self.delivery_error.locked().take() {
            return Err(e.context("producing the application's records"));
        }
        self.processed.clear();
        self.recoveries = 0;
        self.inner.metrics.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Under exactly_once_v2, a failed transaction is aborted and the tasks re-initialised
    /// (processing goes on); under at_least_once the error stops the thread.
    fn recover_or_fail(&mut self, result: Result<()>) -> Result<()> {
        match result {
            Err(e) if self.eos() && e.kind() != error::ErrorKind::Closed => self.recover(e),
            r => r,
        }
    }

    /// Aborts the open transaction (or, when the producer cannot abort, fenced or failed for
    /// good, replaces it: InitProducerId with the same transactional.id ends what the old one
    /// left open), then re-initialises every task.
    fn recover(&mut self, cause: Error) -> Result<()> {
        self.recoveries += 1;
        if self.recoveries > MAX_RECOVERIES {
            return Err(cause.context(format!("exactly_once_v2: the transaction failed {MAX_RECOVERIES} times in a row after aborting and re-initialising the tasks")));
        }
        tracing::warn!(error = %cause, "exactly_once_v2: aborting the transaction; the tasks restart from their changelogs and the committed offsets");
        let rt = self.inner.runtime.clone();
        let aborted = match self.producer.transaction_state() {
            Some(TxnState::Ready) => Ok(()),
            Some(TxnState::InTransaction) | Some(TxnState::AbortableError(_)) => rt.block_on(self.producer.abort_transaction(TXN_TIMEOUT)),
            Some(TxnState::Fatal(e)) => Err(e),
            other => Err(Error::invalid(format!("unexpected transaction state {other:?}"))),
        };
        if let Err(e) = aborted {
            tracing::warn!(error = %e, "exactly_once_v2: the producer cannot abort; replacing it");
            let _ = rt.block_on(self.producer.close(Duration::from_secs(5)));
            self.producer = new_producer(&self.inner, self.transactional_id.as_deref())?;
        }
        *self.delivery_error.locked() = None;
        self.reinitialize_tasks()
    }

    /// Every task's stores back to their changelogs' committed content, stream time forgotten,
    /// and its input partitions back to the committed offsets.
    fn reinitialize_tasks(&mut self) -> Result<()> {
        self.processed.clear();
        self.input.clear();
        self.reinitialized = true;
        // The committed offsets first: read_committed asks for stable offsets, which waits for
        // the markers of the last committed transaction, so the restore below sees its records.
        let inputs: Vec<TopicPartition> = self.consumer.assignment().into_iter().filter(|tp| self.task_of(tp).is_some()).collect();
        let committed = if inputs.is_empty() { Vec::new() } else { self.inner.runtime.block_on(self.consumer.committed(&inputs, TXN_TIMEOUT))? };
        let keys: Vec<(usize, i32)> = self.tasks.keys().copied().collect();
        for (st, p) in keys {
            self.restore_task(st, p, false)?;
            self.tasks.insert((st, p), Task::new(p));
        }
        for (tp, offset) in committed {
            if offset >= 0 {
                self.consumer.seek(&tp, offset)?;
                continue;
            }
            let tps = std::slice::from_ref(&tp);
            match self.inner.config.consumer.auto_offset_reset {
                OffsetReset::Earliest => self.consumer.seek_to_beginning(tps)?,
                OffsetReset::Latest => self.consumer.seek_to_end(tps)?,
                OffsetReset::None => return Err(Error::invalid(format!("{tp} has no committed offset to go back to and auto.offset.reset is none"))),
            }
        }
        Ok(())
    }

    /// Drops every task's stores (their content may hold updates of an aborted transaction).
    fn drop_all_stores(&mut self) {
        for (st, p) in std::mem::take(&mut self.tasks).into_keys() {
            self.forget_task_stores(st, p);
        }
    }

    /// On a clean stop: commit. After a failure: what was fully processed before it is
    /// committed (its outputs flushed first); nothing of the failed batch. Under
    /// exactly_once_v2 a failure aborts the transaction instead (everything since the last
    /// commit is processed again) and drops the stores.
    fn close(&mut self, clean: bool) -> Result<()> {
        let rt = self.inner.runtime.clone();
        let committed = if self.eos() {
            let r = if clean { self.commit() } else { Err(Error::invalid("the stream thread failed")) };
            if r.is_err() {
                if matches!(self.producer.transaction_state(), Some(TxnState::InTransaction) | Some(TxnState::AbortableError(_))) {
                    if let Err(e) = rt.block_on(self.producer.abort_transaction(TXN_TIMEOUT)) {
                        tracing::warn!(error = %e, "exactly_once_v2: aborting the transaction on close failed (it times out on the broker)");
                    }
                }
                self.drop_all_stores();
            }
            // After a clean commit the stores hold what the changelogs hold: checkpointed.
            if clean { r.and_then(|()| self.write_checkpoint()) } else { Ok(()) }
        } else if clean || self.delivery_error.locked().is_none() {
            self.commit().and_then(|()| self.write_checkpoint())
        } else {
            Ok(())
        };
        let _ = rt.block_on(self.consumer.close());
        let _ = rt.block_on(self.producer.close(Duration::from_secs(30)));
        let _ = rt.block_on(self.restore.close());
        committed
    }
}

/// The stream thread's producer: transactional (initialised, fencing older epochs of the same
/// id) under exactly_once_v2.
fn new_producer(inner: &Inner, transactional_id: Option<&str>) -> Result<Producer> {
    let mut cfg = inner.config.producer.clone();
    cfg.transactional_id = transactional_id.map(str::to_string);
    let producer = Producer::new(cfg)?;
    if transactional_id.is_some() {
        inner.runtime.block_on(producer.init_transactions(TXN_TIMEOUT))?;
    }
    Ok(producer)
}

/// Creates the repartition and changelog topics with their partition counts (Kafka Streams'
/// `InternalTopicManager`): a repartition topic gets the partition count of the external sources
/// it is co-partitioned with, else of its upstream sources; a changelog the count of its
/// sub-topology's sources. An existing internal topic with another count is an error.
async fn create_internal_topics(admin: &Admin, topology: &Topology, cfg: &StreamsConfig) -> Result<()> {
    let app = &cfg.application_id;
    let external: Vec<String> = topology
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Source { topics } => Some(topics.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let names: Vec<&str> = external.iter().map(String::as_str).collect();
    let described = admin.describe_topics(&names).await.map_err(|e| {
        if e.code() == error::UNKNOWN_TOPIC_OR_PARTITION {
            e.with_message(format!("a source topic of the topology does not exist (sources: {})", names.join(", ")))
        } else {
            e
        }
    })?;
    let count: HashMap<String, i32> = described.iter().map(|d| (d.name.clone(), d.partitions.len() as i32)).collect();
    for t in &external {
        if !count.contains_key(t) {
            return Err(Error::broker(error::UNKNOWN_TOPIC_OR_PARTITION, format!("source topic '{t}' does not exist")));
        }
    }
    topology.check_copartitioned(&count)?;
    // Partition count per sub-topology: external sources first, then repartition topics.
    let n = topology.subtopologies;
    let mut sub: Vec<i32> = vec![0; n];
    for (i, node) in topology.nodes.iter().enumerate() {
        if let NodeKind::Source { topics } = &node.kind {
            let st = topology.subtopology_of[i];
            for t in topics {
                sub[st] = sub[st].max(count[t]);
            }
        }
    }
    let mut repartitions: Vec<(String, usize, usize)> = Vec::new(); // (topic, upstream, downstream)
    for (i, node) in topology.nodes.iter().enumerate() {
        if let NodeKind::Repartition { name } = &node.kind {
            repartitions.push((Topology::repartition_topic(app, name), topology.subtopology_of[i], topology.entry_subtopology(i as NodeId)));
        }
    }
    for _ in 0..=repartitions.len() {
        for (_, up, down) in &repartitions {
            if *down < n && sub[*down] == 0 {
                sub[*down] = sub[*up];
            }
        }
    }
    let mut wanted: Vec<NewTopic> = Vec::new();
    for (topic, _, down) in &repartitions {
        let p = sub.get(*down).copied().unwrap_or(0).max(1);
        wanted.push(
            NewTopic::new(topic.clone(), p, cfg.replication_factor)
                .config("cleanup.policy", "delete")
                .config("retention.ms", "-1"),
        );
    }
    for store in topology.stores() {
        let p = sub[store.subtopology].max(1);
        let mut t = NewTopic::new(Topology::changelog_topic(app, &store.name), p, cfg.replication_factor);
        // Windowed stores keep their windows for size + grace, session stores their sessions
        // for gap + grace; their changelogs a day more (`windowstore.changelog.additional.retention.ms`).
        let retention = match (store.windows, store.session) {
            (Some(w), _) => Some(w.size_ms + w.grace_ms),
            (None, Some(s)) => Some(s.retention_ms()),
            (None, None) => None,
        };
        t = match retention {
            None => t.config("cleanup.policy", "compact"),
            Some(r) => t.config("cleanup.policy", "compact,delete").config("retention.ms", r.saturating_add(86_400_000).to_string()),
        };
        wanted.push(t);
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let results = admin.create_topics(&wanted, false).await?;
    let mut existing: Vec<&str> = Vec::new();
    for r in &results {
        match &r.error {
            None => {}
            Some(e) if e.code() == error::TOPIC_ALREADY_EXISTS => existing.push(&r.name),
            Some(e) => return Err(e.clone().context(format!("creating internal topic '{}'", r.name))),
        }
    }
    if !existing.is_empty() {
        // Another instance may have created them a moment ago: the broker that answers can
        // still miss them in its metadata for a while (UNKNOWN_TOPIC_OR_PARTITION).
        let deadline = Instant::now() + Duration::from_secs(30);
        let described = loop {
            match admin.describe_topics(&existing).await {
                Err(e) if e.code() == error::UNKNOWN_TOPIC_OR_PARTITION && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                r => break r?,
            }
        };
        for d in described {
            let want = wanted.iter().find(|t| t.name == d.name).map_or(0, |t| t.num_partitions);
            if d.partitions.len() as i32 != want {
                return Err(Error::invalid(format!(
                    "internal topic '{}' exists with {} partitions, the topology needs {want}",
                    d.name,
                    d.partitions.len()
                )));
            }
        }
    }
    Ok(())
}
