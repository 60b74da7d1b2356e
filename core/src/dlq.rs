//! Retries and the dead-letter topic: a consumer's failed records are retried in place with
//! exponential backoff (the partition paused while it waits, so the member stays in the group
//! and the other partitions keep flowing), optionally through a retry topic instead, and after
//! the last attempt written to a dead-letter topic (`<topic>-dlq` by default) with the headers
//! of the common kafkajs pattern: `retry-count`, `original-topic`, `original-partition`,
//! `original-offset`, `error`, `error-type`.
//!
//! The order that makes a kill at any point lose nothing: the copy is written and acknowledged
//! first, then the failed record's offset + 1 is committed (with a transactional producer, both
//! in one transaction). A kill between the two delivers the record again after the restart: it
//! may be in the dead-letter topic twice, never zero times.
//!
//! One implementation for every binding: a binding calls [`DeadLetterQueue::failed`] when its
//! handler throws, [`DeadLetterQueue::undecodable`] when a record cannot be deserialized,
//! [`DeadLetterQueue::succeeded`] after the handler returns, and [`DeadLetterQueue::resume_due`]
//! before each poll. [`replay`] writes a dead-letter topic back to the original topics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::time::Instant;

use crate::config::IsolationLevel;
use crate::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use crate::consumer::{CommitMode, Consumer, ConsumerRecord};
use crate::config::{ConsumerConfig, ProducerConfig};
use crate::error::{Error, Result};
use crate::producer::Producer;
use crate::record::{Header, ProducerRecord, RecordMetadata, TopicPartition};

/// Header: how many times the record was retried before this copy was written.
pub const RETRY_COUNT: &str = "retry-count";
/// Header: the topic the record was first read from.
pub const ORIGINAL_TOPIC: &str = "original-topic";
pub const ORIGINAL_PARTITION: &str = "original-partition";
pub const ORIGINAL_OFFSET: &str = "original-offset";
/// Header: the handler's error message.
pub const ERROR: &str = "error";
/// Header: the error's type (the exception class in Python, the error's name in Node).
pub const ERROR_TYPE: &str = "error-type";
/// Header of a retry-topic copy: when (Unix milliseconds) it may be processed again.
pub const RETRY_NOT_BEFORE: &str = "retry-not-before";

/// Every header this module adds; a replay or a new copy drops them from the record first.
pub const HEADERS: [&str; 7] = [RETRY_COUNT, ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET, ERROR, ERROR_TYPE, RETRY_NOT_BEFORE];

/// How failed records are retried and where they go after the last attempt.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts after the first one; 0 sends a failed record to the dead-letter topic at once.
    pub max_retries: u32,
    /// The wait before the first retry.
    pub initial_backoff: Duration,
    /// Each further wait is the previous one times this (at least 1).
    pub multiplier: f64,
    /// No wait is longer than this.
    pub max_backoff: Duration,
    /// The dead-letter topic; `None`: the record's original topic + `-dlq`.
    pub dlq_topic: Option<String>,
    /// Non-blocking retries: a failed record is re-published here (with `retry-not-before`) and
    /// its offset committed, instead of being retried in place. The consumer must subscribe to
    /// this topic too.
    pub retry_topic: Option<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(30),
            dlq_topic: None,
            retry_topic: None,
        }
    }
}

impl RetryPolicy {
    /// Refuses a multiplier below 1 or not finite, a maximum below the initial wait and empty
    /// topic names.
    pub fn validate(&self) -> Result<()> {
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(Error::invalid(format!("retry backoff multiplier must be a number >= 1, not {}", self.multiplier)));
        }
        if self.max_backoff < self.initial_backoff {
            return Err(Error::invalid(format!(
                "retry max backoff ({} ms) is below the initial backoff ({} ms)",
                self.max_backoff.as_millis(),
                self.initial_backoff.as_millis()
            )));
        }
        for (what, name) in [("dead-letter", &self.dlq_topic), ("retry", &self.retry_topic)] {
            if name.as_deref() == Some("") {
                return Err(Error::invalid(format!("the {what} topic name is empty")));
            }
        }
        Ok(())
    }

    /// The wait before retry number `retry` (1 for the first).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = self.multiplier.powi(retry.saturating_sub(1).min(1000) as i32);
        let ms = (self.initial_backoff.as_millis() as f64 * factor).min(self.max_backoff.as_millis() as f64);
        Duration::from_millis(ms as u64)
    }

    /// The dead-letter topic of records first read from `original_topic`.
    pub fn dlq_topic_for(&self, original_topic: &str) -> String {
        self.dlq_topic.clone().unwrap_or_else(|| format!("{original_topic}-dlq"))
    }
}

/// Why a record failed, as the copy's `error` and `error-type` headers say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub error_type: String,
}

impl Failure {
    pub fn new(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        Failure { message: message.into(), error_type: error_type.into() }
    }
}

/// What [`DeadLetterQueue::failed`] did with a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The partition is paused and its position moved back to the record: it is delivered again
    /// once [`DeadLetterQueue::resume_due`] resumes it, `after` from now. `retry` counts from 1.
    Retry { retry: u32, after: Duration },
    /// Written to the retry topic (acknowledged) and its offset committed.
    Republished(RecordMetadata),
    /// Written to the dead-letter topic (acknowledged) and its offset committed.
    DeadLettered(RecordMetadata),
}

/// The retry and dead-letter path of one consumer. Shareable across tasks.
pub struct DeadLetterQueue {
    policy: RetryPolicy,
    producer: Producer,
    /// Per partition: the offset of the record failing now and how many times it failed.
    failures: Mutex<HashMap<TopicPartition, (i64, u32)>>,
    /// Paused partitions: when their retry is due, and the offset of the record to retry.
    waiting: Mutex<HashMap<TopicPartition, (Instant, i64)>>,
    /// A transactional producer: `init_transactions` ran.
    txn_ready: tokio::sync::Mutex<bool>,
    /// Tests only: a wait between a copy's acknowledgement and the offset commit, the window a
    /// kill test aims at.
    commit_delay_ms: AtomicU64,
}

fn header_text(record_headers: &[Header], key: &str) -> Option<String> {
    record_headers
        .iter()
        .rev()
        .find(|h| h.key == key)
        .and_then(|h| h.value.as_ref())
        .and_then(|v| std::str::from_utf8(v).ok().map(str::to_string))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The record's headers without the ones this module adds.
pub fn user_headers(headers: &[Header]) -> Vec<Header> {
    headers.iter().filter(|h| !HEADERS.contains(&h.key.as_str())).cloned().collect()
}

/// Where the record was first read: its `original-*` headers when it is a retry-topic copy,
/// else its own place.
fn origin(record: &ConsumerRecord) -> (String, i32, i64) {
    let topic = header_text(&record.headers, ORIGINAL_TOPIC);
    let partition = header_text(&record.headers, ORIGINAL_PARTITION).and_then(|p| p.parse().ok());
    let offset = header_text(&record.headers, ORIGINAL_OFFSET).and_then(|o| o.parse().ok());
    match (topic, partition, offset) {
        (Some(t), Some(p), Some(o)) => (t, p, o),
        _ => (record.topic.to_string(), record.partition, record.offset),
    }
}

/// The copy of `record` for `topic`: key, value and timestamp untouched, its own headers (minus
/// ours), then `retry-count`, `original-*`, `error` and `error-type`.
pub fn copy_of(record: &ConsumerRecord, topic: &str, retries: u32, failure: &Failure) -> ProducerRecord {
    let (orig_topic, orig_partition, orig_offset) = origin(record);
    let mut headers = user_headers(&record.headers);
    for (k, v) in [
        (RETRY_COUNT, retries.to_string()),
        (ORIGINAL_TOPIC, orig_topic),
        (ORIGINAL_PARTITION, orig_partition.to_string()),
        (ORIGINAL_OFFSET, orig_offset.to_string()),
        (ERROR, failure.message.clone()),
        (ERROR_TYPE, failure.error_type.clone()),
    ] {
        headers.push(Header::new(k, Bytes::from(v)));
    }
    ProducerRecord {
        topic: topic.to_string(),
        partition: None,
        key: record.key.clone(),
        value: record.value.clone(),
        headers,
        timestamp: (record.timestamp >= 0).then_some(record.timestamp),
    }
}

impl DeadLetterQueue {
    /// Writes copies through `producer` (made from the consumer's connection settings by the
    /// binding; with a `transactional.id`, each copy and its offset commit are one transaction).
    pub fn new(policy: RetryPolicy, producer: Producer) -> Result<DeadLetterQueue> {
        policy.validate()?;
        Ok(DeadLetterQueue {
            policy,
            producer,
            failures: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
            txn_ready: tokio::sync::Mutex::new(false),
            commit_delay_ms: AtomicU64::new(0),
        })
    }

    /// Tests only (the bindings' kill tests): waits this long between a copy's acknowledgement
    /// and the commit of its offset.
    #[doc(hidden)]
    pub fn delay_commits_for_tests(&self, delay: Duration) {
        self.commit_delay_ms.store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The handler returned for this record: its failure count is forgotten and, with
    /// `enable.auto.offset.store=false`, its offset + 1 is stored for the next commit (the
    /// at-least-once recipe of librdkafka's users, done for them).
    pub fn succeeded(&self, consumer: &Consumer, tp: &TopicPartition, offset: i64) {
        self.forget(tp, offset);
        Self::store_past(consumer, &[(tp.clone(), offset + 1)]);
    }

    /// The record's failure count, forgotten.
    fn forget(&self, tp: &TopicPartition, offset: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.get(tp).is_some_and(|(o, _)| *o == offset) {
            failures.remove(tp);
        }
    }

    /// How many times the record failed so far, this one included (retry-topic copies carry the
    /// earlier count in `retry-count`).
    fn count_failure(&self, record: &ConsumerRecord) -> u32 {
        let tp = record.topic_partition();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = failures.entry(tp).or_insert((record.offset, 0));
        if entry.0 != record.offset {
            *entry = (record.offset, 0);
        }
        entry.1 += 1;
        let earlier = header_text(&record.headers, RETRY_COUNT).and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
        entry.1 + earlier
    }

    /// The handler failed for `record`: retries it (in place, or through the retry topic) while
    /// attempts remain, else writes it to the dead-letter topic and commits past it.
    pub async fn failed(&self, consumer: &Consumer, record: &ConsumerRecord, failure: &Failure) -> Result<Outcome> {
        // The retry this failure asks for, counting from 1.
        let retry = self.count_failure(record);
        if retry > self.policy.max_retries {
            return self.dead_letter(consumer, record, failure, retry - 1).await.map(Outcome::DeadLettered);
        }
        let after = self.policy.backoff(retry);
        if let Some(retry_topic) = &self.policy.retry_topic {
            let mut copy = copy_of(record, retry_topic, retry, failure);
            copy.headers.push(Header::new(RETRY_NOT_BEFORE, Bytes::from((now_ms() + after.as_millis() as i64).to_string())));
            let meta = self.write_then_commit(consumer, record, copy).await?;
            self.forget(&record.topic_partition(), record.offset);
            return Ok(Outcome::Republished(meta));
        }
        self.hold(consumer, record, after)?;
        Ok(Outcome::Retry { retry, after })
    }

    /// A record that cannot be deserialized: to the dead-letter topic now, bytes untouched.
    pub async fn undecodable(&self, consumer: &Consumer, record: &ConsumerRecord, failure: &Failure) -> Result<RecordMetadata> {
        self.dead_letter(consumer, record, failure, 0).await
    }

    /// A retry-topic copy that is not due yet: pauses its partition and moves back to it, and
    /// says how long until it is due; `None` when it can be processed now.
    pub fn not_yet_due(&self, consumer: &Consumer, record: &ConsumerRecord) -> Result<Option<Duration>> {
        let Some(due) = header_text(&record.headers, RETRY_NOT_BEFORE).and_then(|d| d.parse::<i64>().ok()) else {
            return Ok(None);
        };
        let left = due - now_ms();
        if left <= 0 {
            return Ok(None);
        }
        let after = Duration::from_millis(left as u64);
        self.hold(consumer, record, after)?;
        Ok(Some(after))
    }

    /// Pauses the record's partition and seeks back to it, to be resumed `after` from now.
    fn hold(&self, consumer: &Consumer, record: &ConsumerRecord, after: Duration) -> Result<()> {
        let tp = record.topic_partition();
        consumer.pause(std::slice::from_ref(&tp))?;
        consumer.seek(&tp, record.offset)?;
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(tp, (Instant::now() + after, record.offset));
        Ok(())
    }

    /// Resumes the partitions whose wait is over (one revoked meanwhile is forgotten) and says
    /// how long until the next one is due (`None`: none is waiting).
    pub fn resume_due(&self, consumer: &Consumer) -> Option<Duration> {
        let now = Instant::now();
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let due: Vec<TopicPartition> = waiting.iter().filter(|(_, (at, _))| *at <= now).map(|(tp, _)| tp.clone()).collect();
        for tp in due {
            waiting.remove(&tp);
            // The partition may have been revoked while it waited: nothing to resume then.
            let _ = consumer.resume(std::slice::from_ref(&tp));
        }
        waiting.values().map(|(at, _)| *at).min().map(|at| at.saturating_duration_since(now))
    }

    /// Whether `tp` is paused for a retry: the records of it left in a batch already polled are
    /// skipped (they come again after the retried one).
    ///
    /// A rebalance that takes the partition away and gives it back meanwhile assigns it afresh,
    /// not paused, so its records come again: then it is paused again at the record to retry
    /// (skipping them without that would move the position past it).
    pub fn is_waiting(&self, consumer: &Consumer, tp: &TopicPartition) -> bool {
        let Some((_, offset)) = self.waiting.lock().unwrap_or_else(|p| p.into_inner()).get(tp).copied() else {
            return false;
        };
        if !consumer.paused().contains(tp) {
            // Not assigned (any more): nothing is delivered from it, nothing to hold.
            let _ = consumer.pause(std::slice::from_ref(tp)).and_then(|_| consumer.seek(tp, offset));
        }
        true
    }

    /// The partitions paused for a retry now.
    pub fn waiting(&self) -> Vec<TopicPartition> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }

    /// Writes `record` to its dead-letter topic and, once acknowledged, commits past it.
    pub async fn dead_letter(&self, consumer: &Consumer, record: &ConsumerRecord, failure: &Failure, retries: u32) -> Result<RecordMetadata> {
        let (orig_topic, _, _) = origin(record);
        let copy = copy_of(record, &self.policy.dlq_topic_for(&orig_topic), retries, failure);
        let meta = self.write_then_commit(consumer, record, copy).await?;
        self.forget(&record.topic_partition(), record.offset);
        Ok(meta)
    }

    /// With `enable.auto.offset.store=false` the offset committed is stored too, so a later
    /// commit of the stored offsets does not move the group back before the record.
    fn store_past(consumer: &Consumer, next: &[(TopicPartition, i64)]) {
        if !consumer.config().auto_offset_store {
            // The partition may have been revoked meanwhile: its commit is done, nothing to store.
            let _ = consumer.store_offsets(next);
        }
    }

    /// Writes `copy`, waits for its acknowledgement, then commits `record.offset + 1`; with a
    /// transactional producer, the copy and the offset in one transaction.
    async fn write_then_commit(&self, consumer: &Consumer, record: &ConsumerRecord, copy: ProducerRecord) -> Result<RecordMetadata> {
        let next = [(record.topic_partition(), record.offset + 1)];
        let timeout = self.producer.config().delivery_timeout;
        if self.producer.config().transactional_id.is_none() {
            let meta = self.producer.send(copy).await?.await?;
            let delay = self.commit_delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            consumer.commit(Some(&next), CommitMode::Sync).await?;
            Self::store_past(consumer, &next);
            return Ok(meta);
        }
        let mut ready = self.txn_ready.lock().await;
        if !*ready {
            self.producer.init_transactions(timeout).await?;
            *ready = true;
        }
        self.producer.begin_transaction()?;
        let written = async {
            let delivery = self.producer.send(copy).await?;
            self.producer.send_offsets_to_transaction(&next, &consumer.group_metadata()?, timeout).await?;
            self.producer.commit_transaction(timeout).await?;
            delivery.await
        }
        .await;
        match &written {
            Ok(_) => Self::store_past(consumer, &next),
            Err(_) => {
                let _ = self.producer.abort_transaction(timeout).await;
            }
        }
        written
    }
}

/// The configuration of the producer writing a consumer's copies: `properties` as they are when
/// they name `bootstrap.servers`; else the consumer's connection settings (brokers, security,
/// client id) with these producer properties (`acks`, `transactional.id`, ...).
pub fn producer_config_for<K: Into<String>, V: Into<String>>(
    consumer: &ConsumerConfig,
    properties: impl IntoIterator<Item = (K, V)>,
) -> Result<ProducerConfig> {
    let mut props: Vec<(String, String)> = properties.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    if props.iter().any(|(k, _)| k == "bootstrap.servers") {
        return ProducerConfig::from_properties(props);
    }
    props.push(("bootstrap.servers".into(), consumer.client.bootstrap_servers.join(",")));
    let mut config = ProducerConfig::from_properties(props)?;
    config.client = consumer.client.clone();
    Ok(config)
}

/// What [`replay`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records written, per destination topic.
    pub written: BTreeMap<String, usize>,
}

impl ReplayReport {
    pub fn total(&self) -> usize {
        self.written.values().sum()
    }
}

/// Reads `dlq_topic` from its first record to its end as of the call, and writes each record
/// back to `to` or, when `to` is `None`, to the topic its `original-topic` header names: key,
/// value and timestamp untouched, its headers minus the dead-letter ones. Waits for every
/// acknowledgement. A topic that does not exist is an `UNKNOWN_TOPIC_OR_PARTITION` error. A record without `original-topic` (and no `to`) fails the replay before
/// anything is written.
pub async fn replay(producer: &Producer, dlq_topic: &str, to: Option<&str>) -> Result<ReplayReport> {
    let cluster = producer.cluster();
    // Without auto-creation: replaying a topic that does not exist is an error, not an empty topic.
    let meta = cluster.refresh_metadata(Some(&[dlq_topic.to_string()]), false).await?;
    let partitions = match meta.topics.get(dlq_topic) {
        Some(t) if t.error_code != 0 => return Err(Error::broker(t.error_code, format!("replay: topic '{dlq_topic}'"))),
        Some(t) => t.partitions.clone(),
        None => return Err(Error::broker(crate::error::UNKNOWN_TOPIC_OR_PARTITION, format!("replay: topic '{dlq_topic}'"))),
    };
    let mut specs = Vec::new();
    for p in &partitions {
        let tp = TopicPartition::new(dlq_topic, p.partition);
        specs.push((tp.clone(), OffsetSpec::Earliest));
        specs.push((tp, OffsetSpec::Latest));
    }
    let listed = list_offsets(cluster, &specs, IsolationLevel::ReadCommitted).await?;
    let mut copies = Vec::new();
    for pair in listed.chunks(2) {
        let (tp, start) = (&pair[0].0, pair[0].1.as_ref().map_err(Clone::clone)?.offset);
        let end = pair[1].1.as_ref().map_err(Clone::clone)?.offset;
        if start >= end {
            continue;
        }
        for r in read_all(cluster, tp, start, end, IsolationLevel::ReadCommitted).await? {
            let topic = match to {
                Some(t) => t.to_string(),
                None => header_text(&r.headers, ORIGINAL_TOPIC)
                    .ok_or_else(|| Error::invalid(format!("replay: the record at {tp}@{} has no {ORIGINAL_TOPIC} header; name a destination topic", r.offset)))?,
            };
            copies.push(ProducerRecord {
                topic,
                partition: None,
                key: r.key,
                value: r.value,
                headers: user_headers(&r.headers),
                timestamp: Some(r.timestamp).filter(|t| *t >= 0),
            });
        }
    }
    let mut report = ReplayReport::default();
    let destinations: Vec<String> = copies.iter().map(|c| c.topic.clone()).collect();
    for (result, topic) in producer.send_batch(copies).await?.await.into_iter().zip(destinations) {
        result?;
        *report.written.entry(topic).or_default() += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_the_multiplier_up_to_the_maximum() {
        let p = RetryPolicy { initial_backoff: Duration::from_millis(100), multiplier: 2.0, max_backoff: Duration::from_millis(500), ..Default::default() };
        let waits: Vec<u128> = (1..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(p.dlq_topic_for("orders"), "orders-dlq");
    }

    #[test]
    fn a_bad_policy_is_refused_naming_the_setting() {
        let bad = RetryPolicy { multiplier: 0.5, ..Default::default() };
        assert!(bad.validate().unwrap_err().message().contains("multiplier"));
        let bad = RetryPolicy { max_backoff: Duration::from_millis(1), ..Default::default() };
        assert!(bad.validate().unwrap_err().message().contains("max backoff"));
        let bad = RetryPolicy { dlq_topic: Some(String::new()), ..Default::default() };
        assert!(bad.validate().unwrap_err().message().contains("dead-letter"));
    }

    #[test]
    fn a_copy_keeps_the_record_and_replaces_earlier_dead_letter_headers() {
        let record = ConsumerRecord {
            topic: "orders".into(),
            partition: 2,
            offset: 7,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"\x00\xffraw")),
            headers: vec![Header::new("trace", "t1"), Header::new(ERROR, "old")],
            timestamp: 1234,
            timestamp_type: crate::consumer::TimestampType::CreateTime,
            leader_epoch: None,
        };
        let copy = copy_of(&record, "orders-dlq", 3, &Failure::new("boom", "ValueError"));
        assert_eq!((copy.key, copy.value, copy.timestamp), (record.key.clone(), record.value.clone(), Some(1234)));
        let headers: Vec<(String, String)> =
            copy.headers.iter().map(|h| (h.key.clone(), String::from_utf8(h.value.clone().unwrap().to_vec()).unwrap())).collect();
        let want = [("trace", "t1"), ("retry-count", "3"), ("original-topic", "orders"), ("original-partition", "2"), ("original-offset", "7"), ("error", "boom"), ("error-type", "ValueError")];
        assert_eq!(headers, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }
}
