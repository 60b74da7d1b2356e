//! The consumer: [`Consumer`] (subscriptions or manual assignment, a prefetching fetcher,
//! group membership with rebalance events, offsets and commits), built on the low-level reads
//! of [`fetch`] and the committed offsets of [`offsets`].
//!
//! # How a binding drives it
//!
//! * Create the consumer inside the binding's runtime ([`Consumer::new`]); it starts two
//!   background tasks (the fetcher, and the group task when `group.id` is set and the consumer
//!   subscribes). Handles are cheap clones.
//! * Call a poll function in a loop. Each poll call marks the application alive for
//!   `max.poll.interval.ms`. Records come out in batches ([`Consumer::poll_batch`],
//!   [`Consumer::poll_partition_batches`] for kafkajs `eachBatch`) or one by one.
//! * Rebalance events ([`ConsumerEvent::Assigned`], [`ConsumerEvent::Revoked`],
//!   [`ConsumerEvent::Lost`]) come out of [`Consumer::poll_event`] and
//!   [`Consumer::poll_batch_events`] before any further records. A revocation is complete when the
//!   application calls a poll function again (or [`Consumer::ack_rebalance`]): until then the
//!   revoked partitions stay assigned (no new records from them are delivered), so a handler can
//!   `commit` their offsets under the current generation. The group waits for that at most the
//!   rebalance timeout. confluent-kafka's `on_assign`/`on_revoke`/`on_lost` and kafkajs's
//!   `GROUP_JOIN`/`REBALANCING` events are served from there.
//!   [`Consumer::poll`] and [`Consumer::poll_batch`] do not return events: they acknowledge them
//!   at once (auto-commit still commits revoked partitions before they move).
//! * Commits: with `enable.auto.commit`, the positions of records *delivered* by poll are
//!   committed every `auto.commit.interval.ms`, on revocation and on close. Otherwise call
//!   [`Consumer::commit`] with explicit offsets (the *next* offset to read) or `None` for the
//!   delivered positions.
//! * [`Consumer::close`] commits (auto-commit), leaves the group and stops the tasks; dropping
//!   every handle without `close` stops the tasks without leaving (the group notices after
//!   `session.timeout.ms`).
//!
//! # Memory
//!
//! Fetched records wait in per-partition queues until polled. A partition is fetched again only
//! once its queue is empty, and no fetch is sent while the queues hold `fetch.max.bytes` or more,
//! so buffered data stays below `fetch.max.bytes` plus one response per leader
//! (each at most `fetch.max.bytes`, or one batch larger than it): with one leader,
//! about 2 × `fetch.max.bytes`. A slow application stops the fetching, not the growth.

pub mod assignor;
pub mod fetch;
mod prefetch;
mod group;
mod group_metadata;
pub mod offsets;

pub use fetch::{fetch, list_offsets, list_offsets_within, read_all, FetchOptions, FetchedPartition, ListedOffset, OffsetSpec};
pub use crate::protocol::records::TimestampType;

use crate::sync::MutexExt;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::cluster::Cluster;
use crate::config::{ConsumerConfig, GroupProtocol, OffsetReset};
use crate::error::{self, Error, Result};
pub use group_metadata::ConsumerGroupMetadata;
use crate::record::{Header, TopicPartition};

/// A record read from Kafka. Keys, values and header values share the fetched buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// In order; a key may repeat.
    pub headers: Vec<Header>,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    /// The leader epoch of the batch, `None` when the broker did not set one.
    pub leader_epoch: Option<i32>,
}

impl ConsumerRecord {
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&*self.topic, self.partition)
    }
    fn size(&self) -> usize {
        64 + self.key.as_ref().map_or(0, |k| k.len())
            + self.value.as_ref().map_or(0, |v| v.len())
            + self.headers.iter().map(|h| h.key.len() + h.value.as_ref().map_or(0, |v| v.len())).sum::<usize>()
    }
}

/// The records of one partition from one poll (kafkajs `eachBatch`).
#[derive(Clone, Debug)]
pub struct PartitionBatch {
    pub partition: TopicPartition,
    /// The high watermark from the latest fetch of the partition.
    pub high_watermark: i64,
    /// The last stable offset (read_committed), -1 when unknown.
    pub last_stable_offset: i64,
    pub records: Vec<ConsumerRecord>,
}

/// What [`Consumer::poll_event`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    Record(ConsumerRecord),
    /// Partitions added to the assignment (eager protocols: the whole new assignment;
    /// cooperative: only the added ones, possibly none).
    Assigned(Vec<TopicPartition>),
    /// Partitions about to be taken away; their offsets can still be committed until the next
    /// poll call.
    Revoked(Vec<TopicPartition>),
    /// Partitions already owned by another member (this one was fenced or timed out): committing
    /// them fails.
    Lost(Vec<TopicPartition>),
    /// With `enable.partition.eof`: the partition's position reached its end (this offset, the
    /// high watermark) and every record before it was delivered. Said once per end reached;
    /// again after new records arrive or a seek.
    PartitionEof(TopicPartition, i64),
}

/// A rebalance event (the non-record [`ConsumerEvent`]s).
pub type RebalanceEvent = ConsumerEvent;

/// Where a partition's position goes ([`Consumer::seek_to`], [`Consumer::assign_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOffset {
    /// This offset.
    Offset(i64),
    /// The first record still in the partition (the log start offset).
    Beginning,
    /// The end: the next record written.
    End,
    /// Where it would start anyway: the group's committed offset, else `auto.offset.reset`
    /// (a partition already assigned keeps its position). Only for `assign_at`.
    Default,
}

impl StartOffset {
    /// librdkafka's logical offsets (confluent-kafka's `OFFSET_*`, the C ABI's `PK_OFFSET_*`,
    /// kafka-go's `FirstOffset`/`LastOffset`).
    pub const LOGICAL_BEGINNING: i64 = -2;
    pub const LOGICAL_END: i64 = -1;
    pub const LOGICAL_STORED: i64 = -1000;
    pub const LOGICAL_INVALID: i64 = -1001;

    /// An offset or a logical offset: -2 beginning, -1 end, -1000 (stored) and -1001 (invalid,
    /// librdkafka's "no offset given") the default. Other negative numbers are refused.
    pub fn from_logical(offset: i64) -> Result<StartOffset> {
        match offset {
            o if o >= 0 => Ok(StartOffset::Offset(o)),
            Self::LOGICAL_BEGINNING => Ok(StartOffset::Beginning),
            Self::LOGICAL_END => Ok(StartOffset::End),
            Self::LOGICAL_STORED | Self::LOGICAL_INVALID => Ok(StartOffset::Default),
            o => Err(Error::invalid(format!("offset {o}: neither an offset nor a logical offset (-2 beginning, -1 end, -1000 stored)"))),
        }
    }

    /// Moves `p` here (a fresh start: buffered records dropped).
    fn apply(self, p: &mut PartState) {
        if self == StartOffset::Default {
            return;
        }
        p.clear_buffer();
        p.no_offset = None;
        (p.fetch_position, p.reset) = match self {
            StartOffset::Offset(o) => (Some(o), None),
            StartOffset::Beginning => (None, Some(OffsetReset::Earliest)),
            _ => (None, Some(OffsetReset::Latest)),
        };
        p.position = p.fetch_position;
    }
}

/// How [`Consumer::commit`] waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// Wait for the coordinator's answer.
    Sync,
    /// Send and return; failures are logged.
    Async,
}

#[derive(Clone, Debug)]
pub(crate) enum Subscription {
    None,
    Topics(BTreeSet<String>),
    /// The compiled whole-name regex, and the pattern as given (sent to KIP-848 brokers).
    Pattern(regex::Regex, String),
    Manual,
}

/// The state of one assigned partition.
#[derive(Debug, Default)]
pub(crate) struct PartState {
    /// The next offset to fetch; `None` until resolved (committed offset or reset policy).
    pub fetch_position: Option<i64>,
    /// The next offset to deliver: the position the application has reached.
    pub position: Option<i64>,
    /// The leader epoch of the last record delivered.
    pub last_epoch: Option<i32>,
    /// With `enable.auto.offset.store=false`: the offset (and leader epoch) `store_offsets`
    /// stored, what auto-commit and `commit(None)` commit.
    pub stored: Option<(i64, i32)>,
    /// Reset to apply instead of the committed offset (seek_to_beginning/end, out of range).
    pub reset: Option<OffsetReset>,
    /// No committed offset and `auto.offset.reset=none`: poll fails naming the partition.
    pub no_offset: Option<Error>,
    pub paused: bool,
    /// Being revoked: kept until the application saw the revocation, but not fetched or delivered.
    pub revoking: bool,
    pub fetching: bool,
    pub resolving: bool,
    /// Bumped on seek: fetch responses started before are dropped.
    pub epoch: u64,
    pub records: VecDeque<ConsumerRecord>,
    pub bytes: usize,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// The end (high watermark) a PartitionEof was last handed out for.
    pub eof_reported: Option<i64>,
}

impl PartState {
    fn clear_buffer(&mut self) -> usize {
        self.records.clear();
        self.epoch += 1;
        self.eof_reported = None;
        std::mem::take(&mut self.bytes)
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct GroupInfo {
    pub member_id: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub coordinator: Option<i32>,
    /// The leader named by the last JoinGroup (classic protocol; empty with KIP-848).
    pub leader_id: String,
    /// How long the last completed join took (classic protocol).
    pub join_duration: Option<Duration>,
    /// Generations (member epochs) this member joined, and when it last joined one.
    pub rebalance_cnt: u64,
    pub rebalanced_at: Option<Instant>,
}

impl GroupInfo {
    pub(crate) fn set_generation(&mut self, generation: i32) {
        if generation >= 0 && generation != self.generation {
            self.rebalance_cnt += 1;
            self.rebalanced_at = Some(Instant::now());
        }
        self.generation = generation;
    }
}

/// This member's place in its group after its last join, what kafkajs reports on GROUP_JOIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMembership {
    pub group_id: String,
    /// Empty before the first join and after leaving.
    pub member_id: String,
    /// -1 before the first join (the member epoch with the KIP-848 protocol).
    pub generation_id: i32,
    /// The member the coordinator chose to compute the assignment of the last join (classic
    /// protocol). Empty with the KIP-848 protocol, where the broker assigns.
    pub leader_id: String,
    /// The assignor the group chose (`range`, `roundrobin`, `cooperative-sticky`).
    pub protocol: Option<String>,
    /// How long the last completed join took, JoinGroup through SyncGroup (classic protocol).
    pub join_duration: Option<Duration>,
}

impl GroupMembership {
    /// This member computed the assignment of the last join.
    pub fn is_leader(&self) -> bool {
        !self.member_id.is_empty() && self.member_id == self.leader_id
    }
}

pub(crate) struct State {
    pub subscription: Subscription,
    /// Bumped whenever the subscription changes (the group task rejoins).
    pub subscription_version: u64,
    pub assignment: BTreeMap<TopicPartition, PartState>,
    pub buffered_bytes: usize,
    pub events: VecDeque<(u64, ConsumerEvent)>,
    pub next_event_id: u64,
    /// The last event handed to the application, and the last one it finished (by polling again).
    pub handed_out: u64,
    pub acked: u64,
    pub errors: VecDeque<Error>,
    pub last_poll: Instant,
    pub group: GroupInfo,
    /// Round-robin start for fair delivery across partitions.
    pub rr: usize,
    /// Offsets last committed per partition (to skip auto-commits that change nothing).
    pub last_committed: HashMap<TopicPartition, i64>,
    /// `enable.auto.offset.store`: see [`State::to_commit`].
    pub auto_offset_store: bool,
}

impl State {
    pub(crate) fn push_event(&mut self, ev: ConsumerEvent) -> u64 {
        self.next_event_id += 1;
        self.events.push_back((self.next_event_id, ev));
        self.next_event_id
    }

    /// Adds partitions to the assignment (positions to be resolved).
    pub(crate) fn add_partitions(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            self.assignment.entry(tp.clone()).or_insert_with(|| PartState {
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
                ..Default::default()
            });
        }
    }

    pub(crate) fn remove_partitions(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            if let Some(mut p) = self.assignment.remove(tp) {
                self.buffered_bytes -= p.clear_buffer();
            }
        }
    }

    /// The delivered positions of the assigned partitions (those with one), with leader epochs.
    pub(crate) fn delivered(&self, only: Option<&[TopicPartition]>) -> Vec<(TopicPartition, i64, i32)> {
        self.assignment
            .iter()
            .filter(|(tp, _)| only.map_or(true, |o| o.contains(tp)))
            .filter_map(|(tp, p)| p.position.map(|o| (tp.clone(), o, p.last_epoch.unwrap_or(-1))))
            .collect()
    }

    /// The stored offsets of the assigned partitions, with leader epochs: what auto-commit and
    /// `commit(None)` commit. With `enable.auto.offset.store` (the default) a delivered record
    /// stores its position; without it, only `store_offsets` stores.
    pub(crate) fn to_commit(&self, only: Option<&[TopicPartition]>) -> Vec<(TopicPartition, i64, i32)> {
        if self.auto_offset_store {
            return self.delivered(only);
        }
        self.assignment
            .iter()
            .filter(|(tp, _)| only.map_or(true, |o| o.contains(tp)))
            .filter_map(|(tp, p)| p.stored.map(|(o, epoch)| (tp.clone(), o, epoch)))
            .collect()
    }
}

pub(crate) struct Shared {
    pub config: ConsumerConfig,
    pub cluster: Arc<Cluster>,
    pub state: Mutex<State>,
    /// Records, events or errors arrived: wakes pollers.
    pub data: Notify,
    pub wake_fetcher: Notify,
    pub wake_group: Notify,
    pub closed: AtomicBool,
    pub closing: AtomicBool,
    pub close_started: AtomicBool,
    /// Short-lived tasks of the fetcher (position lookups, fetches, metadata refreshes):
    /// `close` stops and awaits them, so none outlives the consumer.
    children: Mutex<tokio::task::JoinSet<()>>,
    /// Asynchronous commits in flight: `close` lets them finish (within the request timeout).
    commits: Mutex<tokio::task::JoinSet<()>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.locked()
    }
    pub(crate) fn group_id(&self) -> Option<&str> {
        self.config.group_id.as_deref().filter(|g| !g.is_empty())
    }
    pub(crate) fn rebalance_timeout(&self) -> Duration {
        self.config.rebalance_timeout.unwrap_or(self.config.max_poll_interval)
    }
    /// Starts a background task that `close` will stop and await.
    pub(crate) fn spawn_child(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        spawn_into(&self.children, fut);
    }
}

fn spawn_into(set: &Mutex<tokio::task::JoinSet<()>>, fut: impl std::future::Future<Output = ()> + Send + 'static) {
    let mut set = set.locked();
    while set.try_join_next().is_some() {}
    set.spawn(fut);
}

struct Handle {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Dropped without close: stop at once, without leaving the group.
        for t in self.tasks.locked().drain(..) {
            t.abort();
        }
        self.shared.children.locked().abort_all();
        self.shared.commits.locked().abort_all();
    }
}

/// A Kafka consumer. Cheap to clone; every clone is the same consumer.
#[derive(Clone)]
pub struct Consumer {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Consumer(group {:?})", self.handle.shared.config.group_id)
    }
}

impl Consumer {
    /// Creates the consumer and starts its background tasks. Must be called inside a tokio
    /// runtime. No connection is made until there is something to do.
    pub fn new(config: ConsumerConfig) -> Result<Consumer> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid("Consumer::new must be called inside a tokio runtime"));
        }
        let cluster = Cluster::new(config.client.clone())?;
        let auto_offset_store = config.auto_offset_store;
        let shared = Arc::new(Shared {
            config,
            cluster,
            state: Mutex::new(State {
                subscription: Subscription::None,
                subscription_version: 0,
                assignment: BTreeMap::new(),
                buffered_bytes: 0,
                events: VecDeque::new(),
                next_event_id: 0,
                handed_out: 0,
                acked: 0,
                errors: VecDeque::new(),
                last_poll: Instant::now(),
                group: GroupInfo { generation: -1, ..Default::default() },
                rr: 0,
                last_committed: HashMap::new(),
                auto_offset_store,
            }),
            data: Notify::new(),
            wake_fetcher: Notify::new(),
            wake_group: Notify::new(),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close_started: AtomicBool::new(false),
            children: Mutex::new(tokio::task::JoinSet::new()),
            commits: Mutex::new(tokio::task::JoinSet::new()),
        });
        let mut tasks = vec![tokio::spawn(prefetch::run(shared.clone()))];
        if shared.group_id().is_some() {
            tasks.push(tokio::spawn(group::run(shared.clone())));
        }
        Ok(Consumer { handle: Arc::new(Handle { shared, tasks: Mutex::new(tasks) }) })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.shared().config
    }

    /// A snapshot when one is due (every `statistics.interval.ms`), else `None`.
    pub fn stats_due(&self) -> Option<serde_json::Value> {
        self.shared().cluster.stats().take_due().then(|| self.stats())
    }

    /// Fetch and connection durations and sizes since the last call (see
    /// [`crate::stats::Windows`]); the next call starts from here.
    pub fn take_stats_windows(&self) -> serde_json::Value {
        self.shared().cluster.stats().take_windows()
    }

    /// A statistics snapshot in librdkafka's layout ([`crate::stats`]): the client's counters
    /// plus, per assigned partition, positions, committed offset, watermarks and lag, and the
    /// group's state.
    pub fn stats(&self) -> serde_json::Value {
        let shared = self.shared();
        let read_committed = shared.config.isolation_level == crate::config::IsolationLevel::ReadCommitted;
        let mut part = crate::stats::ClientPart::default();
        let st = shared.lock();
        for (tp, p) in &st.assignment {
            let fetch_state = if p.paused || p.revoking {
                "stopped"
            } else if p.fetch_position.is_none() {
                "offset-query"
            } else {
                "active"
            };
            let committed = st.last_committed.get(tp).copied().unwrap_or(-1);
            let stored = p.stored.map_or(-1, |(o, _)| o);
            let end = if read_committed { p.last_stable_offset } else { p.high_watermark };
            let lag = |o: i64| if o >= 0 && end >= 0 { (end - o).max(0) } else { -1 };
            part.msg_cnt += p.records.len() as u64;
            part.msg_size += p.bytes as u64;
            let fields = serde_json::json!({
                "fetch_state": fetch_state,
                "fetchq_cnt": p.records.len(),
                "fetchq_size": p.bytes,
                "next_offset": p.fetch_position.unwrap_or(-1),
                "app_offset": p.position.unwrap_or(-1),
                "stored_offset": stored,
                "committed_offset": committed,
                "lo_offset": p.log_start_offset,
                "hi_offset": p.high_watermark,
                "ls_offset": p.last_stable_offset,
                "consumer_lag": lag(committed),
                "consumer_lag_stored": lag(stored),
            });
            if let serde_json::Value::Object(m) = fields {
                part.partitions.push((tp.topic.as_str().into(), tp.partition, m));
            }
        }
        if shared.group_id().is_some() {
            let joined = !st.group.member_id.is_empty() && st.group.generation >= 0;
            part.cgrp = Some(serde_json::json!({
                "state": if joined { "up" } else { "init" },
                "join_state": if joined { "steady" } else { "init" },
                "rebalance_cnt": st.group.rebalance_cnt,
                "rebalance_age": st.group.rebalanced_at.map_or(0, |t| t.elapsed().as_millis() as u64),
                "assignment_size": st.assignment.len(),
            }));
        }
        drop(st);
        shared.cluster.stats().snapshot("consumer", &format!("{}#consumer", shared.config.client.client_id), part)
    }

    /// The cluster this client talks to (metadata cache and connections): for the engine's own
    /// tests, not for bindings, which use the client's methods.
    #[doc(hidden)]
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.shared().cluster
    }

    /// Makes sure one broker can be reached (an open connection counts): one attempt per known
    /// broker, then per bootstrap server, no retry; the last connection error when none answers.
    /// For APIs that report an unreachable cluster at once (kafka-go's dial error).
    pub async fn connect_once(&self) -> Result<()> {
        self.cluster().any_connection().await.map(|_| ())
    }

    fn check_open(&self) -> Result<()> {
        if self.shared().closed.load(Ordering::Acquire) {
            return Err(Error::closed("the consumer is closed"));
        }
        Ok(())
    }

    fn require_group(&self, what: &str) -> Result<()> {
        if self.shared().group_id().is_none() {
            return Err(Error::invalid(format!("{what} needs 'group.id' in the consumer's configuration")));
        }
        Ok(())
    }

    /// Subscribes to these topics (replacing any subscription). Needs `group.id`.
    pub fn subscribe(&self, topics: &[String]) -> Result<()> {
        self.check_open()?;
        self.require_group("subscribe")?;
        for t in topics {
            crate::error::check_topic_name(t, "subscribe")?;
        }
        self.shared().cluster.add_interest(topics.iter().map(String::as_str));
        let mut st = self.shared().lock();
        if matches!(st.subscription, Subscription::Manual) {
            let tps: Vec<_> = st.assignment.keys().cloned().collect();
            st.remove_partitions(&tps);
        }
        st.subscription = Subscription::Topics(topics.iter().cloned().collect());
        st.subscription_version += 1;
        drop(st);
        self.shared().wake_group.notify_one();
        Ok(())
    }

    /// Subscribes to every topic matching `pattern` (a regular expression matched against the
    /// whole name). Topics created later are picked up after a metadata refresh
    /// (`metadata.max.age.ms`).
    pub fn subscribe_pattern(&self, pattern: &str) -> Result<()> {
        self.check_open()?;
        self.require_group("subscribe")?;
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| Error::invalid(format!("subscribe: bad regular expression '{pattern}': {e}")))?;
        let mut st = self.shared().lock();
        if matches!(st.subscription, Subscription::Manual) {
            let tps: Vec<_> = st.assignment.keys().cloned().collect();
            st.remove_partitions(&tps);
        }
        st.subscription = Subscription::Pattern(re, pattern.to_string());
        st.subscription_version += 1;
        drop(st);
        self.shared().wake_group.notify_one();
        Ok(())
    }

    /// Subscribes to these topics and to every topic matching one of `patterns` (regular
    /// expressions matched against whole names), replacing any subscription: librdkafka's and
    /// kafkajs's mixed subscriptions. Without patterns it is [`subscribe`](Self::subscribe).
    pub fn subscribe_topics_and_patterns(&self, topics: &[String], patterns: &[String]) -> Result<()> {
        if patterns.is_empty() {
            return self.subscribe(topics);
        }
        if topics.iter().any(|t| t.is_empty()) {
            return Err(Error::invalid("subscribe: a topic name is empty"));
        }
        for p in patterns {
            regex::Regex::new(p).map_err(|e| Error::invalid(format!("subscribe: bad regular expression '{p}': {e}")))?;
        }
        let alternatives: Vec<String> =
            topics.iter().map(|t| regex::escape(t)).chain(patterns.iter().map(|p| format!("(?:{p})"))).collect();
        self.subscribe_pattern(&alternatives.join("|"))
    }

    /// Assigns partitions manually (no group membership; committed offsets of `group.id` are
    /// still used as starting points and commits work). Replaces any earlier assignment;
    /// partitions kept keep their positions.
    pub fn assign(&self, partitions: &[TopicPartition]) -> Result<()> {
        let starts: Vec<_> = partitions.iter().map(|tp| (tp.clone(), StartOffset::Default)).collect();
        self.assign_at(&starts)
    }

    /// [`assign`](Self::assign) with where each partition starts, set before the fetcher sees
    /// the partition (confluent-kafka's `assign([TopicPartition(t, p, offset)])`).
    pub fn assign_at(&self, starts: &[(TopicPartition, StartOffset)]) -> Result<()> {
        self.check_open()?;
        for (tp, _) in starts {
            crate::error::check_topic_name(&tp.topic, "assign")?;
        }
        let partitions: Vec<TopicPartition> = starts.iter().map(|(tp, _)| tp.clone()).collect();
        let mut st = self.shared().lock();
        if matches!(st.subscription, Subscription::Topics(_) | Subscription::Pattern(..)) {
            return Err(Error::invalid("assign: the consumer is subscribed; unsubscribe first"));
        }
        let gone: Vec<_> = st.assignment.keys().filter(|tp| !partitions.contains(tp)).cloned().collect();
        st.remove_partitions(&gone);
        st.add_partitions(&partitions);
        let mut freed = 0;
        for (tp, start) in starts {
            if let Some(p) = st.assignment.get_mut(tp) {
                let before = p.bytes;
                start.apply(p);
                freed += before - p.bytes;
            }
        }
        st.buffered_bytes -= freed;
        st.subscription = if partitions.is_empty() { Subscription::None } else { Subscription::Manual };
        drop(st);
        let partitions = &partitions;
        self.shared().cluster.add_interest(partitions.iter().map(|tp| tp.topic.as_str()));
        self.shared().wake_fetcher.notify_one();
        Ok(())
    }

    /// Drops the subscription or the manual assignment; a group member commits (auto-commit)
    /// and leaves the group.
    pub async fn unsubscribe(&self) -> Result<()> {
        self.check_open()?;
        let grouped = {
            let st = self.shared().lock();
            matches!(st.subscription, Subscription::Topics(_) | Subscription::Pattern(..))
        };
        if grouped && self.shared().config.enable_auto_commit {
            if let Err(e) = self.commit(None, CommitMode::Sync).await {
                tracing::warn!(error = %e, "auto-commit on unsubscribe failed");
            }
        }
        let mut st = self.shared().lock();
        let tps: Vec<_> = st.assignment.keys().cloned().collect();
        st.remove_partitions(&tps);
        st.subscription = Subscription::None;
        st.subscription_version += 1;
        drop(st);
        self.shared().wake_group.notify_one();
        Ok(())
    }

    /// The positions of the records delivered so far (the next offset to read), for the
    /// partitions that delivered any: what `commit(None, ..)` commits.
    pub fn delivered_positions(&self) -> Vec<(TopicPartition, i64)> {
        self.shared().lock().delivered(None).into_iter().map(|(tp, o, _)| (tp, o)).collect()
    }

    /// The partitions assigned now (revocations in progress included).
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.shared().lock().assignment.keys().cloned().collect()
    }

    /// The topics subscribed to (for a pattern: the pattern, in `Err`).
    pub fn subscription(&self) -> Vec<String> {
        match &self.shared().lock().subscription {
            Subscription::Topics(t) => t.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Marks the previous rebalance event handled (a poll call does it too).
    pub fn ack_rebalance(&self) {
        let mut st = self.shared().lock();
        st.acked = st.handed_out;
        drop(st);
        self.shared().wake_group.notify_one();
    }

    /// Common start of every poll: liveness, acknowledgement, errors.
    fn poll_start(&self, st: &mut State) -> Result<()> {
        self.check_open()?;
        st.last_poll = Instant::now();
        if st.acked != st.handed_out {
            st.acked = st.handed_out;
            self.shared().wake_group.notify_one();
        }
        if let Some(e) = st.errors.pop_front() {
            return Err(e);
        }
        if let Some(e) = st.assignment.values().find_map(|p| if p.paused { None } else { p.no_offset.clone() }) {
            return Err(e);
        }
        Ok(())
    }

    /// Takes up to `max` records, fairly across partitions. Updates delivered positions.
    fn take_records(&self, st: &mut State, max: usize) -> Vec<(TopicPartition, Vec<ConsumerRecord>)> {
        let mut out = Vec::new();
        let n = st.assignment.len();
        if n == 0 || max == 0 {
            return out;
        }
        let start = st.rr % n;
        st.rr = st.rr.wrapping_add(1);
        let keys: Vec<TopicPartition> = st.assignment.keys().cloned().collect();
        let mut left = max;
        let mut freed = 0usize;
        for i in 0..n {
            if left == 0 {
                break;
            }
            let tp = &keys[(start + i) % n];
            let p = st.assignment.get_mut(tp).unwrap();
            if p.paused || p.revoking || p.records.is_empty() {
                continue;
            }
            let k = left.min(p.records.len());
            let recs: Vec<ConsumerRecord> = p.records.drain(..k).collect();
            let bytes: usize = recs.iter().map(ConsumerRecord::size).sum();
            p.bytes -= bytes;
            freed += bytes;
            let last = recs.last().unwrap();
            p.position = Some(last.offset + 1);
            p.last_epoch = last.leader_epoch;
            left -= k;
            out.push((tp.clone(), recs));
        }
        st.buffered_bytes -= freed;
        if freed > 0 {
            self.shared().wake_fetcher.notify_one();
        }
        out
    }

    /// With `enable.partition.eof`: a partition whose delivered position reached its end (the
    /// high watermark; the last stable offset under read_committed) not yet said.
    fn take_eof(&self, st: &mut State) -> Option<ConsumerEvent> {
        let config = &self.shared().config;
        if !config.enable_partition_eof {
            return None;
        }
        let committed = config.isolation_level == crate::config::IsolationLevel::ReadCommitted;
        for (tp, p) in st.assignment.iter_mut() {
            let end = if committed { p.last_stable_offset } else { p.high_watermark };
            if p.paused || p.revoking || !p.records.is_empty() || end < 0 {
                continue;
            }
            if p.fetch_position == Some(end) && p.eof_reported != Some(end) {
                p.eof_reported = Some(end);
                return Some(ConsumerEvent::PartitionEof(tp.clone(), end));
            }
        }
        None
    }

    async fn poll_inner<T>(
        &self,
        timeout: Duration,
        mut attempt: impl FnMut(&Self, &mut State) -> Option<T>,
    ) -> Result<Option<T>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register for wakeups before looking, so nothing is missed.
            let notified = self.shared().data.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.shared().lock();
                self.poll_start(&mut st)?;
                if let Some(v) = attempt(self, &mut st) {
                    return Ok(Some(v));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(None);
            }
        }
    }

    /// Drops pending rebalance events (for the poll calls that do not return them).
    fn skip_events(&self, st: &mut State) {
        while let Some((id, _)) = st.events.pop_front() {
            st.handed_out = id;
            st.acked = id;
            self.shared().wake_group.notify_one();
        }
    }

    /// The next record, waiting up to `timeout`. Rebalance events are acknowledged silently.
    pub async fn poll(&self, timeout: Duration) -> Result<Option<ConsumerRecord>> {
        self.poll_inner(timeout, |c, st| {
            c.skip_events(st);
            c.take_records(st, 1).pop().and_then(|(_, mut r)| r.pop())
        })
        .await
    }

    /// Up to `max_records` records (at least one unless `timeout` passed), waiting up to
    /// `timeout` for the first. Rebalance events are acknowledged silently.
    pub async fn poll_batch(&self, max_records: usize, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        Ok(self
            .poll_inner(timeout, |c, st| {
                c.skip_events(st);
                let recs = c.take_records(st, max_records);
                (!recs.is_empty()).then(|| recs.into_iter().flat_map(|(_, r)| r).collect())
            })
            .await?
            .unwrap_or_default())
    }

    /// Rebalance events pending (all of them, and no records), else up to `max_records` records.
    pub async fn poll_batch_events(&self, max_records: usize, timeout: Duration) -> Result<(Vec<ConsumerEvent>, Vec<ConsumerRecord>)> {
        Ok(self
            .poll_inner(timeout, |c, st| {
                if !st.events.is_empty() {
                    let evs: Vec<(u64, ConsumerEvent)> = st.events.drain(..).collect();
                    st.handed_out = evs.last().unwrap().0;
                    return Some((evs.into_iter().map(|(_, e)| e).collect(), Vec::new()));
                }
                let recs = c.take_records(st, max_records);
                if recs.is_empty() {
                    return c.take_eof(st).map(|eof| (vec![eof], Vec::new()));
                }
                Some((Vec::new(), recs.into_iter().flat_map(|(_, r)| r).collect()))
            })
            .await?
            .unwrap_or_default())
    }

    /// The next event: a rebalance event when one is pending, else a record.
    pub async fn poll_event(&self, timeout: Duration) -> Result<Option<ConsumerEvent>> {
        self.poll_inner(timeout, |c, st| {
            if let Some((id, ev)) = st.events.pop_front() {
                st.handed_out = id;
                return Some(ev);
            }
            match c.take_records(st, 1).pop().and_then(|(_, mut r)| r.pop()) {
                Some(r) => Some(ConsumerEvent::Record(r)),
                None => c.take_eof(st),
            }
        })
        .await
    }

    /// Up to `max_records` records grouped by partition (kafkajs `eachBatch`). Rebalance events
    /// are acknowledged silently; use [`Consumer::poll_event`] between batches to see them.
    pub async fn poll_partition_batches(&self, max_records: usize, timeout: Duration) -> Result<Vec<PartitionBatch>> {
        Ok(self
            .poll_inner(timeout, |c, st| {
                c.skip_events(st);
                let recs = c.take_records(st, max_records);
                if recs.is_empty() {
                    return None;
                }
                Some(
                    recs.into_iter()
                        .map(|(tp, records)| {
                            let p = &st.assignment[&tp];
                            PartitionBatch { high_watermark: p.high_watermark, last_stable_offset: p.last_stable_offset, partition: tp, records }
                        })
                        .collect(),
                )
            })
            .await?
            .unwrap_or_default())
    }

    /// Stores offsets (each the *next* offset to read) for auto-commit and `commit(None)`:
    /// librdkafka's `rd_kafka_offsets_store`. Needs `enable.auto.offset.store=false` (with it a
    /// delivered record stores its own position) and assigned partitions; a partition not
    /// assigned (any more) fails the call naming it, after the others were stored.
    pub fn store_offsets(&self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        self.check_open()?;
        if self.shared().config.auto_offset_store {
            return Err(Error::invalid("store_offsets needs enable.auto.offset.store=false"));
        }
        let mut st = self.shared().lock();
        let mut missing = Vec::new();
        for (tp, offset) in offsets {
            if *offset < 0 {
                return Err(Error::invalid(format!("store_offsets: offset {offset} of {tp} is negative")));
            }
            match st.assignment.get_mut(tp) {
                // A partition being revoked still takes offsets until the application has
                // seen the revocation: they are committed as it ends.
                Some(p) => p.stored = Some((*offset, -1)),
                _ => missing.push(tp.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(Error::new(
                error::ErrorKind::InvalidArgument,
                format!("store_offsets: not assigned to this consumer: {}", missing.join(", ")),
            ));
        }
        Ok(())
    }

    /// Commits offsets (each the *next* offset to read). `None` commits the stored offsets of
    /// every assigned partition (see [`store_offsets`](Self::store_offsets)), or with
    /// `enable.auto.offset.store` the positions of the records delivered. Returns what it
    /// committed (with [`CommitMode::Async`], what it started to commit); an empty list when
    /// there was nothing to commit, and no request was sent.
    pub async fn commit(&self, offsets: Option<&[(TopicPartition, i64)]>, mode: CommitMode) -> Result<Vec<(TopicPartition, i64)>> {
        self.check_open()?;
        self.require_group("commit")?;
        let list: Vec<(TopicPartition, i64, i32)> = match offsets {
            Some(o) => o.iter().map(|(tp, off)| (tp.clone(), *off, -1)).collect(),
            None => self.shared().lock().to_commit(None),
        };
        let committed = list.iter().map(|(tp, off, _)| (tp.clone(), *off)).collect();
        if list.is_empty() {
            return Ok(committed);
        }
        match mode {
            CommitMode::Sync => offsets::commit(self.shared(), &list).await?,
            CommitMode::Async => {
                let shared = self.shared().clone();
                spawn_into(&self.shared().commits, async move {
                    if let Err(e) = offsets::commit(&shared, &list).await {
                        tracing::warn!(error = %e, "asynchronous commit failed");
                    }
                });
            }
        }
        Ok(committed)
    }

    /// Commits these offsets (each the next offset to read), each with its metadata string (kept
    /// by the group coordinator and returned by offset fetches), and waits for the answer.
    pub async fn commit_with_metadata(&self, offsets: &[(TopicPartition, i64, Option<String>)]) -> Result<()> {
        self.check_open()?;
        self.require_group("commit")?;
        if offsets.is_empty() {
            return Ok(());
        }
        let list: Vec<(TopicPartition, i64, i32)> = offsets.iter().map(|(tp, off, _)| (tp.clone(), *off, -1)).collect();
        let metadata: Vec<Option<String>> = offsets.iter().map(|(_, _, m)| m.clone()).collect();
        offsets::commit_with_metadata(self.shared(), &list, Some(&metadata)).await
    }

    /// The committed offsets of `partitions` for this group (-1 where nothing is committed).
    pub async fn committed(&self, partitions: &[TopicPartition], timeout: Duration) -> Result<Vec<(TopicPartition, i64)>> {
        self.check_open()?;
        self.require_group("committed")?;
        let group = self.shared().group_id().unwrap().to_string();
        let stable = self.shared().config.isolation_level == crate::config::IsolationLevel::ReadCommitted;
        let fut = offsets::fetch_committed(&self.shared().cluster, &group, Some(partitions), stable);
        let found = tokio::time::timeout(timeout, fut).await.map_err(|_| Error::timeout("committed: timed out"))??;
        Ok(partitions
            .iter()
            .map(|tp| {
                let off = found.iter().find(|c| &c.partition == tp).map_or(-1, |c| c.offset);
                (tp.clone(), off)
            })
            .collect())
    }

    /// Every assigned partition knows where it starts (its committed offset or the reset
    /// policy's answer), or knows that it cannot (`auto.offset.reset=none`).
    pub fn positions_known(&self) -> bool {
        let st = self.shared().lock();
        st.assignment.values().all(|p| p.position.is_some() || p.fetch_position.is_some() || p.no_offset.is_some())
    }

    /// Waits until [`positions_known`](Self::positions_known), at most `timeout`; returns
    /// whether they are. Woken by the fetcher when it resolves positions, not by polling.
    pub async fn wait_positions_known(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared().data.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.positions_known() {
                return true;
            }
            if self.shared().closed.load(Ordering::Acquire) || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.positions_known();
            }
        }
    }

    /// Whether `tp` exists in the metadata this client holds (no request is made).
    pub fn partition_known(&self, tp: &TopicPartition) -> bool {
        self.shared().cluster.metadata().topics.get(&*tp.topic).is_some_and(|t| tp.partition >= 0 && (tp.partition as usize) < t.partitions.len())
    }

    /// The next offset to deliver on `tp` (`None` while not yet known).
    pub fn position(&self, tp: &TopicPartition) -> Result<Option<i64>> {
        let st = self.shared().lock();
        let p = st.assignment.get(tp).ok_or_else(|| Error::invalid(format!("position: {tp} is not assigned")))?;
        Ok(p.position.or(p.fetch_position))
    }

    /// Where the next fetch of `tp` starts (`None` while not known): once every record fetched
    /// was delivered, this is past the control records and the records of aborted transactions
    /// that [`position`](Self::position) (the record after the last delivered) does not count.
    pub fn fetch_position(&self, tp: &TopicPartition) -> Result<Option<i64>> {
        let st = self.shared().lock();
        let p = st.assignment.get(tp).ok_or_else(|| Error::invalid(format!("fetch_position: {tp} is not assigned")))?;
        Ok(p.fetch_position)
    }

    /// The end offset of `tp` under this consumer's `isolation.level`, asked of the leader: the
    /// high watermark, or under read_committed the last stable offset (Java's `endOffsets`).
    pub async fn end_offset(&self, tp: &TopicPartition, timeout: Duration) -> Result<i64> {
        self.check_open()?;
        let specs = [(tp.clone(), OffsetSpec::Latest)];
        let res = list_offsets_within(&self.shared().cluster, &specs, self.shared().config.isolation_level, timeout).await?;
        Ok(res.into_iter().next().expect("one partition asked").1?.offset)
    }

    fn with_part<T>(&self, tp: &TopicPartition, what: &str, f: impl FnOnce(&mut PartState) -> T) -> Result<T> {
        self.check_open()?;
        let mut st = self.shared().lock();
        let p = st.assignment.get_mut(tp).ok_or_else(|| Error::invalid(format!("{what}: {tp} is not assigned")))?;
        let before = p.bytes;
        let out = f(p);
        let after = p.bytes;
        st.buffered_bytes -= before - after;
        drop(st);
        self.shared().wake_fetcher.notify_one();
        self.shared().data.notify_waiters();
        Ok(out)
    }

    /// Moves the position of an assigned partition: the next record delivered from `tp` is the
    /// one at `to`. [`StartOffset::Default`] is refused (it is for `assign_at`).
    pub fn seek_to(&self, tp: &TopicPartition, to: StartOffset) -> Result<()> {
        if let StartOffset::Offset(o) = to {
            return self.seek(tp, o);
        }
        if to == StartOffset::Default {
            return Err(Error::invalid(format!("seek: {tp}: the default position is only for assign")));
        }
        self.with_part(tp, "seek", |p| to.apply(p))
    }

    /// The next record delivered from `tp` will be at `offset`.
    pub fn seek(&self, tp: &TopicPartition, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(Error::invalid(format!("seek: offset {offset} of {tp} is negative")));
        }
        self.with_part(tp, "seek", |p| {
            p.clear_buffer();
            p.fetch_position = Some(offset);
            p.position = Some(offset);
            p.reset = None;
            p.no_offset = None;
        })
    }

    fn seek_reset(&self, tps: &[TopicPartition], reset: OffsetReset, what: &str) -> Result<()> {
        for tp in tps {
            self.with_part(tp, what, |p| {
                p.clear_buffer();
                p.fetch_position = None;
                p.position = None;
                p.reset = Some(reset);
                p.no_offset = None;
            })?;
        }
        Ok(())
    }

    pub fn seek_to_beginning(&self, tps: &[TopicPartition]) -> Result<()> {
        self.seek_reset(tps, OffsetReset::Earliest, "seek_to_beginning")
    }

    pub fn seek_to_end(&self, tps: &[TopicPartition]) -> Result<()> {
        self.seek_reset(tps, OffsetReset::Latest, "seek_to_end")
    }

    /// For each partition, the first offset whose timestamp is at or after the given one
    /// (`None` when there is none).
    pub async fn offsets_for_times(&self, query: &[(TopicPartition, i64)], timeout: Duration) -> Result<Vec<(TopicPartition, Option<i64>)>> {
        self.check_open()?;
        let specs: Vec<_> = query.iter().map(|(tp, ts)| (tp.clone(), OffsetSpec::Timestamp(*ts))).collect();
        let res = list_offsets_within(&self.shared().cluster, &specs, self.shared().config.isolation_level, timeout).await?;
        res.into_iter().map(|(tp, r)| r.map(|l| (tp, (l.offset >= 0).then_some(l.offset)))).collect()
    }

    /// The low and high watermarks of `tp` (log start offset and high watermark), asked of the
    /// leader.
    pub async fn watermarks(&self, tp: &TopicPartition, timeout: Duration) -> Result<(i64, i64)> {
        self.check_open()?;
        let specs = [(tp.clone(), OffsetSpec::Earliest), (tp.clone(), OffsetSpec::Latest)];
        let res = list_offsets_within(&self.shared().cluster, &specs, crate::config::IsolationLevel::ReadUncommitted, timeout).await?;
        let mut it = res.into_iter();
        let low = it.next().unwrap().1?.offset;
        let high = it.next().unwrap().1?.offset;
        Ok((low, high))
    }

    /// The watermarks from the latest fetch of `tp`, without a request: (log start, high
    /// watermark), -1 when not fetched yet.
    pub fn cached_watermarks(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        let st = self.shared().lock();
        st.assignment.get(tp).map(|p| (p.log_start_offset, p.high_watermark))
    }

    /// The lag of `tp` as the latest fetch response left it (KIP-695's fetched lag): records on
    /// the broker, up to the high watermark (the last stable offset under read_committed), not
    /// delivered yet; `None` until a fetch response for `tp` arrived. No request is made.
    pub fn fetched_lag(&self, tp: &TopicPartition) -> Option<i64> {
        let read_committed = self.shared().config.isolation_level == crate::config::IsolationLevel::ReadCommitted;
        let st = self.shared().lock();
        let p = st.assignment.get(tp)?;
        let end = if read_committed { p.last_stable_offset } else { p.high_watermark };
        if end < 0 {
            return None;
        }
        if !p.records.is_empty() {
            // Fetched, not delivered: lagging whatever the end says.
            return Some((end - p.position.or(p.fetch_position).unwrap_or(0)).max(1));
        }
        // With nothing buffered the fetch position is past control records and aborted
        // transactions, which the delivered position does not count.
        p.fetch_position.map(|at| (end - at).max(0))
    }

    /// Bytes of fetched records waiting to be polled (keys, values, headers and a fixed
    /// per-record overhead). See the memory note of this module for its bound.
    pub fn buffered_bytes(&self) -> usize {
        self.shared().lock().buffered_bytes
    }

    /// Stops fetching and delivering `tps` (still assigned; no rebalance).
    pub fn pause(&self, tps: &[TopicPartition]) -> Result<()> {
        for tp in tps {
            self.with_part(tp, "pause", |p| p.paused = true)?;
        }
        Ok(())
    }

    pub fn resume(&self, tps: &[TopicPartition]) -> Result<()> {
        for tp in tps {
            self.with_part(tp, "resume", |p| p.paused = false)?;
        }
        Ok(())
    }

    pub fn paused(&self) -> Vec<TopicPartition> {
        self.shared().lock().assignment.iter().filter(|(_, p)| p.paused).map(|(tp, _)| tp.clone()).collect()
    }

    /// The group generation and member id, for `Producer::send_offsets_to_transaction`
    /// (KIP-447: the coordinator fences offsets of a zombie member).
    pub fn group_metadata(&self) -> Result<ConsumerGroupMetadata> {
        self.require_group("group_metadata")?;
        let st = self.shared().lock();
        Ok(ConsumerGroupMetadata {
            group_id: self.shared().group_id().unwrap().to_string(),
            generation_id: st.group.generation,
            member_id: st.group.member_id.clone(),
            group_instance_id: self.shared().config.group_instance_id.clone(),
        })
    }

    /// The member's group membership as of its last join (see [`GroupMembership`]).
    pub fn group_membership(&self) -> Result<GroupMembership> {
        self.require_group("group_membership")?;
        let st = self.shared().lock();
        Ok(GroupMembership {
            group_id: self.shared().group_id().unwrap().to_string(),
            member_id: st.group.member_id.clone(),
            generation_id: st.group.generation,
            leader_id: st.group.leader_id.clone(),
            protocol: st.group.protocol.clone(),
            join_duration: st.group.join_duration,
        })
    }

    /// True once the group task has a generation (classic) or member epoch (KIP-848) and an
    /// assignment for it.
    pub fn group_generation(&self) -> i32 {
        self.shared().lock().group.generation
    }

    /// Commits (auto-commit), leaves the group, stops the background tasks. Later calls fail
    /// with a Closed error; closing twice is fine.
    pub async fn close(&self) -> Result<()> {
        if self.shared().close_started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let mut result = Ok(());
        // Asynchronous commits still in flight finish first (as in the Java client).
        let mut commits = std::mem::take(&mut *self.shared().commits.locked());
        let timeout = self.shared().config.client.request_timeout;
        if tokio::time::timeout(timeout, async { while commits.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!("asynchronous commits still running after the request timeout: stopped");
        }
        commits.shutdown().await;
        if self.shared().group_id().is_some() && self.shared().config.enable_auto_commit {
            let list = self.shared().lock().to_commit(None);
            if !list.is_empty() {
                if let Err(e) = offsets::commit(self.shared(), &list).await {
                    tracing::warn!(error = %e, "commit on close failed");
                    result = Err(e);
                }
            }
        }
        // The group task sees `closing`, leaves the group and ends.
        self.shared().closing.store(true, Ordering::Release);
        self.shared().wake_group.notify_one();
        let tasks: Vec<_> = self.handle.tasks.locked().drain(..).collect();
        let mut it = tasks.into_iter();
        let fetcher = it.next();
        for mut t in it {
            if tokio::time::timeout(self.shared().config.client.request_timeout, &mut t).await.is_err() {
                // Still busy after the request timeout: stop it rather than leave it running.
                t.abort();
                let _ = t.await;
            }
        }
        self.shared().closed.store(true, Ordering::Release);
        if let Some(f) = fetcher {
            f.abort();
            let _ = f.await;
        }
        let mut children = std::mem::take(&mut *self.shared().children.locked());
        children.shutdown().await;
        self.shared().data.notify_waiters();
        self.shared().cluster.close().await;
        result
    }
}

/// The error poll returns for a partition without a committed offset under
/// `auto.offset.reset=none` (Java's NoOffsetForPartitionException).
pub(crate) fn no_offset_error(tp: &TopicPartition, why: &str) -> Error {
    Error::broker(error::OFFSET_OUT_OF_RANGE, format!("{why} for partition {tp} and auto.offset.reset is none"))
        .with_retriable(false)
}

pub(crate) fn is_group_protocol_consumer(config: &ConsumerConfig) -> bool {
    config.group_protocol == GroupProtocol::Consumer
}
