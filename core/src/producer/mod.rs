//! The producer: records go through the [`partitioner`], wait in the accumulator, and a sender
//! task delivers them in batches, idempotently by default.
//!
//! ```no_run
//! # async fn demo() -> polykafka::Result<()> {
//! use polykafka::{producer::Producer, ProducerConfig, ProducerRecord};
//! let producer = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", "127.0.0.1:9092")])?)?;
//! let delivery = producer.send(ProducerRecord::new("events").key("k").value("v")).await?;
//! let metadata = delivery.await?;
//! println!("written at {}-{}@{}", metadata.topic, metadata.partition, metadata.offset);
//! producer.close(std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

mod accumulator;
mod batch;
pub mod partitioner;
mod sender;
mod transaction;
mod waiting;

use crate::sync::MutexExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::{InitProducerIdRequest, ProducerId, TransactionalId};
use tokio::sync::oneshot;

pub use batch::{Completion, GroupCompletion};
pub use crate::consumer::ConsumerGroupMetadata;
pub use transaction::TxnState;

use crate::cluster::{Cluster, TopicMeta};
use crate::config::ProducerConfig;
use crate::error::{Error, Result};
use crate::record::{ProducerRecord, RecordMetadata, TopicPartition};
use accumulator::Accumulator;
use transaction::TransactionManager;
use partitioner::Partitioner;
use waiting::{Waiting, WaitingRoom};

pub(crate) struct Inner {
    pub config: ProducerConfig,
    pub cluster: Arc<Cluster>,
    pub accumulator: Accumulator,
    pub partitioner: Partitioner,
    /// (producer id, epoch); (-1, -1) until InitProducerId.
    pid: Mutex<(i64, i16)>,
    pub needs_metadata: AtomicBool,
    closed: AtomicBool,
    /// Set when `transactional.id` is.
    pub txn: Option<TransactionManager>,
    /// Records of [`Producer::enqueue_each`] waiting for their topic's metadata.
    pub waiting: WaitingRoom,
    /// The runtime the producer was made in: its tasks run there.
    runtime: tokio::runtime::Handle,
    /// Producers open on `cluster` (see [`Producer::sharing_connections`]): the last to close
    /// closes the connections.
    cluster_users: Arc<std::sync::atomic::AtomicUsize>,
}

impl Inner {
    pub fn producer_id(&self) -> (i64, i16) {
        *self.pid.locked()
    }

    fn set_producer_id(&self, pid: (i64, i16)) {
        *self.pid.locked() = pid;
        self.accumulator.reset_sequences();
    }

    /// A new epoch for this idempotent producer (KIP-360; InitProducerId v3+ with the current
    /// id and epoch), or a new producer id where the broker cannot bump. Sequences are reset by
    /// the caller, which holds the accumulator.
    pub async fn new_idempotent_epoch(&self) -> Result<(i64, i16)> {
        let resp = match self.cluster.send_any(&idempotent_init(self.producer_id())).await {
            Ok(resp) if resp.error_code == 0 => resp,
            _ => self.cluster.send_any(&idempotent_init((-1, -1))).await?,
        };
        Error::check(resp.error_code, "InitProducerId (epoch bump) for an idempotent producer")?;
        let pid = (resp.producer_id.0, resp.producer_epoch);
        *self.pid.locked() = pid;
        Ok(pid)
    }

    /// Gets a producer id once, for an idempotent producer without `transactional.id`.
    pub async fn ensure_producer_id(&self) -> Result<()> {
        if !self.config.enable_idempotence || self.config.transactional_id.is_some() || self.producer_id().0 >= 0 {
            return Ok(());
        }
        let resp = self.cluster.send_any(&idempotent_init((-1, -1))).await?;
        Error::check(resp.error_code, "InitProducerId for an idempotent producer")?;
        self.set_producer_id((resp.producer_id.0, resp.producer_epoch));
        tracing::debug!(producer_id = resp.producer_id.0, epoch = resp.producer_epoch, "idempotent producer id");
        Ok(())
    }
}

/// InitProducerId for an idempotent producer without `transactional.id`: `(-1, -1)` asks for a
/// new producer id, the current id and epoch for a new epoch (KIP-360).
fn idempotent_init(current: (i64, i16)) -> InitProducerIdRequest {
    InitProducerIdRequest::default()
        .with_transactional_id(None::<TransactionalId>)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(ProducerId(current.0))
        .with_producer_epoch(current.1)
}

/// A Kafka producer. Cheap to clone; every clone sends through the same buffers and sender.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

/// Resolves to where a record was written, or why it was not.
pub struct DeliveryFuture {
    rx: oneshot::Receiver<Result<RecordMetadata>>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(Error::closed("the producer stopped before the record completed"))))
    }
}

/// Resolves once every record of a batch call completed, with one result per record, in order.
pub struct BatchDelivery {
    rx: oneshot::Receiver<Vec<Result<RecordMetadata>>>,
}

impl Future for BatchDelivery {
    type Output = Vec<Result<RecordMetadata>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| r.unwrap_or_default())
    }
}

/// `send_batch` reads the clock once per this many records (timestamps are in milliseconds; a
/// record takes well under a microsecond to queue).
const CLOCK_EVERY: usize = 64;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Producer {
    /// Creates a producer. Must be called inside a tokio runtime: the sender task runs on it.
    /// Connections are made on first use.
    pub fn new(config: ProducerConfig) -> Result<Producer> {
        let cluster = Cluster::new(config.client.clone())?;
        Producer::with_cluster(config, cluster, Arc::new(std::sync::atomic::AtomicUsize::new(1)))
    }

    /// A producer with settings of its own (acks, compression, linger, ...) that sends through
    /// `other`'s connections and metadata: kafkajs's per-`send` acks and compression on one
    /// connection pool. The connection settings of `config` (bootstrap servers, client id,
    /// security) must be `other`'s. The connections close when the last producer sharing them
    /// closes.
    pub fn sharing_connections(config: ProducerConfig, other: &Producer) -> Result<Producer> {
        let (a, b) = (&config.client, &other.inner.config.client);
        if a.bootstrap_servers != b.bootstrap_servers || a.client_id != b.client_id || format!("{:?}", a.security) != format!("{:?}", b.security) {
            return Err(Error::config(
                "a producer sharing another's connections must have its bootstrap.servers, client.id and security settings",
            ));
        }
        other.check_open()?;
        let users = other.inner.cluster_users.clone();
        users.fetch_add(1, Ordering::AcqRel);
        Producer::with_cluster(config, other.inner.cluster.clone(), users.clone()).inspect_err(|_| {
            users.fetch_sub(1, Ordering::AcqRel);
        })
    }

    fn with_cluster(config: ProducerConfig, cluster: Arc<Cluster>, cluster_users: Arc<std::sync::atomic::AtomicUsize>) -> Result<Producer> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::invalid("Producer::new must be called inside a tokio runtime"))?;
        let inner = Arc::new(Inner {
            accumulator: Accumulator::new(&config).with_stats(cluster.stats().clone()),
            partitioner: Partitioner::new(config.partitioner, config.batch_size),
            cluster,
            pid: Mutex::new((-1, -1)),
            needs_metadata: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            txn: config
                .transactional_id
                .clone()
                .map(|id| TransactionManager::new(id, config.transaction_timeout)),
            waiting: WaitingRoom::default(),
            runtime: handle.clone(),
            cluster_users,
            config,
        });
        handle.spawn(sender::run(inner.clone()));
        Ok(Producer { inner })
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The cluster this client talks to (metadata cache and connections): for the engine's own
    /// tests, not for bindings, which use the client's methods.
    #[doc(hidden)]
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.inner.cluster
    }

    /// Queues one record; the returned future resolves when it is delivered or failed. Waits
    /// up to `max.block.ms` for metadata and buffer space.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture> {
        let (tx, rx) = oneshot::channel();
        self.send_with(record, Completion::Oneshot(tx), true).await?;
        Ok(DeliveryFuture { rx })
    }

    /// Queues one record whose outcome goes to `completion`. With `block` false a full buffer
    /// is an immediate `QueueFull` error (confluent-kafka's `BufferError`).
    pub async fn send_with(&self, record: ProducerRecord, completion: Completion, block: bool) -> Result<()> {
        self.check_open()?;
        let inner = &self.inner;
        let memory = inner.accumulator.check_size(record.key.as_deref(), record.value.as_deref(), &record.headers)?;
        let (topic, partition) = self.choose_partition(&record).await?;
        self.join_transaction(&topic, partition)?;
        inner.accumulator.reserve(memory, block).await?;
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        self.append(&record, &topic, partition, timestamp, memory, completion)
    }

    /// Queues many records with one completion for all: resolves to one result per record, in
    /// order. A record that cannot even be queued (too large, unknown topic) gets its error in
    /// its slot; the others go ahead.
    pub async fn send_batch(&self, records: Vec<ProducerRecord>) -> Result<BatchDelivery> {
        self.send_batch_iter(records).await
    }

    /// [`send_batch`](Producer::send_batch) of records made as the core takes them (the C ABI
    /// builds each from the caller's memory then, with no list of the call's records).
    pub async fn send_batch_iter<I>(&self, records: I) -> Result<BatchDelivery>
    where
        I: IntoIterator<Item = ProducerRecord>,
        I::IntoIter: ExactSizeIterator,
    {
        let records = records.into_iter();
        let (group, rx) = GroupCompletion::new(records.len());
        let completions = group.clone();
        let records = records.into_iter().enumerate().map(|(i, r)| (r, Completion::Group(completions.clone(), i)));
        self.send_each(records, true, |i, e| Completion::Group(group.clone(), i).complete(Err(e))).await?;
        Ok(BatchDelivery { rx })
    }

    /// Queues many records, each with its own completion, as [`send_with`] would one by one;
    /// returns how many were queued. A record that cannot be queued is handed to `rejected`
    /// (its index in `records` and the error) and its completion is dropped unused, as when
    /// `send_with` returns an error. Fails as a whole, queueing nothing, only when the producer
    /// is closed.
    ///
    /// A record whose topic's metadata is cached and whose memory is free is queued without
    /// awaiting anything (the metadata looked up once per run of records of one topic, the
    /// clock read once per [`CLOCK_EVERY`] records); the others take `send_with`'s path,
    /// waiting for metadata (and, with `block`, buffer space) up to `max.block.ms`. This is the
    /// path every binding's batch call takes: one call into the core per batch, not per record.
    ///
    /// [`send_with`]: Producer::send_with
    pub async fn send_each<I>(&self, records: I, block: bool, mut rejected: impl FnMut(usize, Error)) -> Result<usize>
    where
        I: IntoIterator<Item = (ProducerRecord, Completion)>,
    {
        self.check_open()?;
        let mut topic: Option<Arc<TopicMeta>> = None;
        // A topic whose metadata could not be had (brokers unreachable, authentication refused,
        // max.block.ms passed): the batch's other records of that topic fail with the same error
        // instead of each waiting (and authenticating) again, as kafkajs's sendBatch looks up
        // the metadata once per batch.
        let mut unresolved: Option<(String, Error)> = None;
        let mut now = 0;
        let mut queued = 0;
        for (i, (record, completion)) in records.into_iter().enumerate() {
            if i % CLOCK_EVERY == 0 {
                now = now_ms();
            }
            let result = match self.try_send_now(&record, &mut topic) {
                Ok(Some((partition, memory))) => {
                    let meta = topic.as_ref().expect("try_send_now found the topic");
                    let timestamp = record.timestamp.unwrap_or(now);
                    self.append(&record, &meta.shared_name, partition, timestamp, memory, completion)
                }
                Ok(None) if matches!(&unresolved, Some((t, _)) if *t == record.topic) => {
                    Err(unresolved.as_ref().expect("matched").1.clone())
                }
                Ok(None) => {
                    let lookup = match record.topic.is_empty() {
                        true => Ok(()),
                        false => self.topic_metadata(&record.topic, false).await.map(|_| ()),
                    };
                    let result = match lookup {
                        Ok(()) => self.send_with(record, completion, block).await,
                        Err(e) => {
                            unresolved = Some((record.topic.clone(), e.clone()));
                            Err(e)
                        }
                    };
                    now = now_ms();
                    result
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => queued += 1,
                Err(e) => rejected(i, e),
            }
        }
        Ok(queued)
    }

    /// Queues many records without ever waiting, each with its own completion (librdkafka's
    /// `produce()`, which never blocks): returns how many were queued. A record whose topic's
    /// metadata is not known yet waits inside the producer (see `waiting`) and completes
    /// through its completion, with an error if the topic does not appear within the lesser of
    /// `max.block.ms` and `delivery.timeout.ms`. A record that cannot be queued at all is handed
    /// to `rejected` with its index and the error, its completion unused: too large, a bad
    /// partition of a known topic, or a full queue (`QueueFull`: `buffer.memory` or
    /// `queue.buffering.max.messages` reached). Fails as a whole only when the producer is closed.
    ///
    pub fn enqueue_each<I>(&self, records: I, mut rejected: impl FnMut(usize, Error)) -> Result<usize>
    where
        I: IntoIterator<Item = (ProducerRecord, Completion)>,
    {
        self.check_open()?;
        let mut topic: Option<Arc<TopicMeta>> = None;
        // Read when a record needs it (one without a timestamp): a binding that stamps its
        // records itself (one clock read per `produce()` call for the timestamp and the report's
        // latency) does not pay for a second one here.
        let mut now = None;
        let mut queued = 0;
        for (i, (record, completion)) in records.into_iter().enumerate() {
            if i % CLOCK_EVERY == 0 {
                now = None;
            }
            let timestamp = match record.timestamp {
                Some(t) => t,
                None => *now.get_or_insert_with(now_ms),
            };
            match self.enqueue_one(record, completion, timestamp, &mut topic) {
                Ok(()) => queued += 1,
                Err(e) => rejected(i, e),
            }
        }
        Ok(queued)
    }

    /// `timestamp`: the record's own, or the time it is queued at.
    fn enqueue_one(&self, record: ProducerRecord, completion: Completion, timestamp: i64, topic: &mut Option<Arc<TopicMeta>>) -> Result<()> {
        let inner = &self.inner;
        if record.topic.is_empty() {
            return Err(Error::invalid("the record has no topic"));
        }
        if inner.accumulator.max_records != usize::MAX && self.in_flight_count() >= inner.accumulator.max_records {
            return Err(Error::new(
                crate::error::ErrorKind::QueueFull,
                format!(
                    "the producer's queue holds {} records, its limit (queue.buffering.max.messages)",
                    inner.accumulator.max_records
                ),
            )
            .with_retriable(true));
        }
        let memory = inner.accumulator.check_size(record.key.as_deref(), record.value.as_deref(), &record.headers)?;
        // A topic with records waiting for metadata: this one waits behind them.
        let waits = inner.waiting.any() && inner.waiting.has(&record.topic);
        if !waits {
            if topic.as_ref().is_none_or(|m| m.name != record.topic) {
                *topic = inner.cluster.cached_topic(&record.topic);
            }
            if let Some(meta) = topic.as_ref() {
                let partition = self.partition_for(&record, meta)?;
                self.join_transaction(&meta.shared_name, partition)?;
                if !inner.accumulator.try_reserve(memory) {
                    return Err(inner.accumulator.queue_full_now());
                }
                return self.append(&record, &meta.shared_name, partition, timestamp, memory, completion);
            }
        }
        if !inner.accumulator.try_reserve(memory) {
            return Err(inner.accumulator.queue_full_now());
        }
        let deadline = tokio::time::Instant::now() + waiting::max_wait(inner);
        let name = record.topic.clone();
        if inner.waiting.join(Waiting { record, completion, memory, timestamp, deadline }) {
            inner.runtime.spawn(waiting::resolve(inner.clone(), name));
        }
        Ok(())
    }

    /// `send_with`'s steps up to the append, without waiting: the record's partition and
    /// reserved memory, or `None` when it must wait (its topic's metadata is not cached, or the
    /// buffer is full). `topic` keeps the last record's topic metadata.
    fn try_send_now(&self, record: &ProducerRecord, topic: &mut Option<Arc<TopicMeta>>) -> Result<Option<(i32, usize)>> {
        let inner = &self.inner;
        if topic.as_ref().is_none_or(|m| m.name != record.topic) {
            *topic = if record.topic.is_empty() { None } else { inner.cluster.cached_topic(&record.topic) };
        }
        let Some(meta) = topic.as_ref() else {
            return Ok(None);
        };
        let memory = inner.accumulator.check_size(record.key.as_deref(), record.value.as_deref(), &record.headers)?;
        let partition = self.partition_for(record, meta)?;
        self.join_transaction(&meta.shared_name, partition)?;
        Ok(inner.accumulator.try_reserve(memory).then_some((partition, memory)))
    }

    /// In a transaction, notes the partition for AddPartitionsToTxn. A partition new to the
    /// transaction wakes the sender, so it is added while the application still queues records
    /// (as Java's producer wakes its sender for a new batch), not when its first batch is ready.
    fn join_transaction(&self, topic: &Arc<str>, partition: i32) -> Result<()> {
        if let Some(txn) = &self.inner.txn {
            if txn.on_send(topic, partition)? {
                self.inner.accumulator.wakeup.notify_one();
            }
        }
        Ok(())
    }

    /// Appends a record whose memory is reserved (released again if the append fails).
    fn append(&self, record: &ProducerRecord, topic: &Arc<str>, partition: i32, timestamp: i64, memory: usize, completion: Completion) -> Result<()> {
        self.append_reserved(record, topic, partition, timestamp, memory, completion).map_err(|(e, _)| e)
    }

    /// [`append`](Self::append), giving the completion back with the error.
    fn append_reserved(
        &self,
        record: &ProducerRecord,
        topic: &Arc<str>,
        partition: i32,
        timestamp: i64,
        memory: usize,
        completion: Completion,
    ) -> std::result::Result<(), (Error, Completion)> {
        let inner = &self.inner;
        let ready = {
            let mut state = inner.accumulator.state.locked();
            inner.accumulator.append(
                &mut state,
                topic,
                partition,
                timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
                memory,
                completion,
            )
        };
        let ready = match ready {
            Ok(r) => r,
            Err(failed) => {
                inner.accumulator.release(memory);
                return Err(failed);
            }
        };
        if record.partition.is_none() {
            inner.partitioner.on_append(topic, partition, memory);
        }
        if ready {
            inner.accumulator.wakeup.notify_one();
        }
        Ok(())
    }

    async fn choose_partition(&self, record: &ProducerRecord) -> Result<(Arc<str>, i32)> {
        if record.topic.is_empty() {
            return Err(Error::invalid("the record has no topic"));
        }
        let meta = self.topic_metadata(&record.topic, false).await?;
        Ok((meta.shared_name.clone(), self.partition_for(record, &meta)?))
    }

    /// The record's partition: the one it names (if the topic has it), else the partitioner's.
    fn partition_for(&self, record: &ProducerRecord, meta: &TopicMeta) -> Result<i32> {
        let n = meta.partitions.len() as i32;
        match record.partition {
            Some(p) if p >= 0 && p < n => Ok(p),
            Some(p) => Err(Error::broker(
                crate::error::UNKNOWN_TOPIC_OR_PARTITION,
                format!("partition {p} of topic '{}' does not exist (it has {n})", record.topic),
            )
            .with_retriable(false)),
            None => Ok(self.inner.partitioner.partition(&record.topic, record.key.as_deref(), n, &meta.available)),
        }
    }

    /// The number of partitions of `topic` (Java's `partitionsFor`), from the cached metadata
    /// or else waiting up to `max.block.ms` while the topic is being created or the brokers
    /// cannot be reached. With `fail_fast` (kafka-go's Writer) a cluster that cannot be reached
    /// and a topic that does not exist while `allow.auto.create.topics` is false fail at once.
    pub async fn partition_count(&self, topic: &str, fail_fast: bool) -> Result<usize> {
        if topic.is_empty() {
            return Err(Error::invalid("the topic name is empty"));
        }
        Ok(self.topic_metadata(topic, fail_fast).await?.partitions.len())
    }

    /// The partitions of `topic` with their leaders and replicas (Java's `partitionsFor`), as
    /// [`partition_count`](Self::partition_count) waits for them: for partitioners written in
    /// the host language that look at leaders.
    pub async fn partitions_for(&self, topic: &str, fail_fast: bool) -> Result<Vec<crate::cluster::PartitionMeta>> {
        if topic.is_empty() {
            return Err(Error::invalid("the topic name is empty"));
        }
        Ok(self.topic_metadata(topic, fail_fast).await?.partitions.clone())
    }

    /// The topic's metadata, waiting up to `max.block.ms` while the topic is being created or
    /// the brokers cannot be reached; then the last error, naming its cause. `fail_fast`: see
    /// [`partition_count`](Self::partition_count).
    async fn topic_metadata(&self, topic: &str, fail_fast: bool) -> Result<Arc<crate::cluster::TopicMeta>> {
        let inner = &self.inner;
        if let Some(meta) = inner.cluster.cached_topic(topic) {
            return Ok(meta);
        }
        let deadline = tokio::time::Instant::now() + inner.config.max_block;
        let mut backoff = inner.config.client.retry_backoff;
        let mut last: Option<Error> = None;
        loop {
            let attempt = tokio::time::timeout_at(deadline, inner.cluster.topic(topic)).await;
            let err = match attempt {
                Ok(Ok(meta)) => return Ok(meta),
                Ok(Err(e)) if !e.retriable() => return Err(e),
                Ok(Err(e)) if fail_fast && e.kind() == crate::error::ErrorKind::Connection => return Err(e.with_retriable(false)),
                Ok(Err(e))
                    if fail_fast
                        && e.code() == crate::error::UNKNOWN_TOPIC_OR_PARTITION
                        && !inner.config.client.allow_auto_create_topics =>
                {
                    return Err(e.with_retriable(false).with_message(format!(
                        "topic '{topic}' does not exist and allow.auto.create.topics is false"
                    )))
                }
                Ok(Err(e)) => e,
                Err(_) => last.take().unwrap_or_else(|| {
                    Error::timeout(format!("topic '{topic}' not present in metadata after max.block.ms ({:?})", inner.config.max_block))
                }),
            };
            if tokio::time::Instant::now() + backoff >= deadline {
                let unknown = err.code() == crate::error::UNKNOWN_TOPIC_OR_PARTITION;
                return Err(if unknown {
                    err.with_retriable(false).with_message(format!(
                        "topic '{topic}' does not exist{}",
                        if inner.config.client.allow_auto_create_topics { "" } else { " and allow.auto.create.topics is false" }
                    ))
                } else {
                    err.context(format!("no metadata for topic '{topic}' within max.block.ms ({:?})", inner.config.max_block))
                });
            }
            last = Some(err);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(inner.config.client.retry_backoff_max);
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::closed("the producer is closed"));
        }
        Ok(())
    }

    fn txn(&self) -> Result<&TransactionManager> {
        self.inner
            .txn
            .as_ref()
            .ok_or_else(|| Error::invalid("transactions need 'transactional.id' in the producer's configuration"))
    }

    /// The transaction state, `None` without `transactional.id`.
    pub fn transaction_state(&self) -> Option<TxnState> {
        self.inner.txn.as_ref().map(|t| t.state())
    }

    /// Registers the `transactional.id` with its coordinator and fences any older producer with
    /// the same id. Retried inside `timeout`.
    pub async fn init_transactions(&self, timeout: Duration) -> Result<()> {
        self.check_open()?;
        self.txn()?.check_can_init()?;
        let pid = self.txn()?.init_producer_id(&self.inner.cluster, (-1, -1), timeout).await?;
        self.inner.set_producer_id(pid);
        tracing::debug!(producer_id = pid.0, epoch = pid.1, "transactional producer initialised");
        Ok(())
    }

    pub fn begin_transaction(&self) -> Result<()> {
        self.check_open()?;
        self.txn()?.begin()
    }

    /// Adds the consumer's offsets (the next offsets to read) to the transaction: they are
    /// committed to the group if and only if the transaction commits.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(TopicPartition, i64)],
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        let txn = self.txn()?;
        txn.send_offsets(&self.inner.cluster, self.inner.producer_id(), offsets, group, timeout).await
    }

    /// Delivers every record of the transaction, then commits it. A record that failed makes
    /// this fail with an error marked `txn_requires_abort`.
    pub async fn commit_transaction(&self, timeout: Duration) -> Result<()> {
        let txn = self.txn()?;
        txn.check_end(true)?;
        let deadline = tokio::time::Instant::now() + timeout;
        self.flush(timeout).await?;
        txn.check_end(true)?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        txn.end(&self.inner.cluster, self.inner.producer_id(), true, left.max(Duration::from_millis(1))).await
    }

    /// Aborts the transaction: records not yet sent fail with an "aborted" error, records in
    /// flight complete, then the coordinator discards everything the transaction wrote.
    pub async fn abort_transaction(&self, timeout: Duration) -> Result<()> {
        let txn = self.txn()?;
        txn.check_end(false)?;
        let deadline = tokio::time::Instant::now() + timeout;
        sender::fail_queued(&self.inner, Error::new(crate::error::ErrorKind::Broker, "the transaction was aborted").with_txn_requires_abort(true));
        tokio::time::timeout_at(deadline, self.inner.accumulator.wait_drained())
            .await
            .map_err(|_| Error::timeout("abort_transaction: records in flight did not complete in time"))?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_millis(1));
        txn.end(&self.inner.cluster, self.inner.producer_id(), false, left).await?;
        if txn.take_needs_epoch_bump() {
            // A failed batch left a gap in the sequence numbers: bump the epoch (KIP-360) so
            // the next transaction starts clean.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_secs(1));
            let pid = txn.init_producer_id(&self.inner.cluster, self.inner.producer_id(), left).await?;
            self.inner.set_producer_id(pid);
        }
        Ok(())
    }

    /// Fails every record still waiting in the queues (not those in flight) with a `Closed`
    /// error; their completions run now. confluent-kafka's `Producer.purge()`.
    pub fn purge_queued(&self) {
        self.purge(true, false);
    }

    /// confluent-kafka's `Producer.purge(in_queue, in_flight)`: `in_queue` fails every record
    /// not yet sent (waiting for metadata or in a batch) with [`Error::purged`]`(false)` now;
    /// `in_flight` fails the records of every request already sent with
    /// [`Error::purged`]`(true)` when that request ends, whatever the broker answered (the
    /// request cannot be taken back; whether it was written is unknown, as in librdkafka).
    pub fn purge(&self, in_queue: bool, in_flight: bool) {
        if in_flight {
            self.inner.accumulator.purge_gen.fetch_add(1, Ordering::AcqRel);
        }
        if in_queue {
            for w in self.inner.waiting.take_all() {
                waiting::fail(&self.inner, w, Error::purged(false));
            }
            sender::fail_queued(&self.inner, Error::purged(false));
        }
    }

    /// Records queued (waiting for metadata or in a batch) or in flight, not yet completed.
    /// A statistics snapshot in librdkafka's layout ([`crate::stats`]).
    pub fn stats(&self) -> serde_json::Value {
        let (msg_cnt, msg_size) = self.inner.accumulator.queued();
        let part = crate::stats::ClientPart { msg_cnt: msg_cnt as u64, msg_size: msg_size as u64, ..Default::default() };
        self.inner.cluster.stats().snapshot("producer", &format!("{}#producer", self.inner.config.client.client_id), part)
    }

    /// A snapshot when one is due (every `statistics.interval.ms`), else `None`.
    pub fn stats_due(&self) -> Option<serde_json::Value> {
        self.inner.cluster.stats().take_due().then(|| self.stats())
    }

    /// Batch, request and connection durations and sizes since the last call (see
    /// [`crate::stats::Windows`]); the next call starts from here.
    pub fn take_stats_windows(&self) -> serde_json::Value {
        self.inner.cluster.stats().take_windows()
    }

    pub fn in_flight_count(&self) -> usize {
        self.inner.accumulator.outstanding.load(Ordering::Acquire) + self.inner.waiting.len()
    }

    /// Sends what is queued now, ignoring linger.ms, and returns at once: the batches that exist
    /// now are ready; records appended later linger as usual. The non-blocking half of
    /// [`flush`](Self::flush), for bindings whose API sends a full batch at once (kafka-go's
    /// Writer at `BatchSize`) without holding a thread until it is acknowledged.
    pub fn send_now(&self) {
        let acc = &self.inner.accumulator;
        acc.state.locked().send_now_upto = Some(std::time::Instant::now());
        acc.wakeup.notify_one();
    }

    /// Sends everything queued now (ignoring linger.ms) and waits until every record completed,
    /// at most `timeout`. On timeout returns a `Timeout` error saying how many are left.
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        let acc = &self.inner.accumulator;
        acc.state.locked().flushing += 1;
        acc.wakeup.notify_one();
        let res = tokio::time::timeout(timeout, async {
            self.inner.waiting.wait_empty().await;
            acc.wait_drained().await
        })
        .await;
        acc.state.locked().flushing -= 1;
        match res {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::timeout(format!(
                "flush timed out after {timeout:?} with {} record(s) not yet delivered",
                self.in_flight_count()
            ))),
        }
    }

    /// Delivers what is queued (waiting at most `timeout`), then fails whatever is left with a
    /// `Closed` error: nothing is dropped silently. Later sends fail.
    pub async fn close(&self, timeout: Duration) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let flushed = self.flush(timeout).await;
        self.inner.accumulator.state.locked().closing = true;
        self.inner.accumulator.wakeup.notify_one();
        if flushed.is_err() {
            let e = Error::closed("the producer was closed before the record was delivered");
            for w in self.inner.waiting.take_all() {
                waiting::fail(&self.inner, w, e.clone());
            }
            sender::fail_everything(&self.inner, e);
        }
        if self.inner.cluster_users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.cluster.close().await;
        }
        flushed
    }
}
