//! `pk_dead_letter_queue`: the core's retry and dead-letter path (`polykafka::dlq`) for one
//! pk_consumer. The caller's poll loop drives it: pk_dead_letter_queue_resume_due() before each
//! poll, pk_dead_letter_queue_skip() for each record, then the handler, then
//! pk_dead_letter_queue_succeeded() or pk_dead_letter_queue_failed().

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use pk::consumer::{Consumer, ConsumerRecord, TimestampType};
use pk::dlq::{self, DeadLetterQueue, Failure, Outcome, RetryPolicy};
use pk::producer::Producer;
use pk::{Error, Header, Result, TopicPartition};

use crate::config::pk_config;
use crate::consumer::{pk_consumer, pk_consumer_record};
use crate::error::pk_error;
use crate::ffi::{c_str, check_out, guard, guard_void, handle, out, slice, str_len, timeout};
use crate::producer::optional;
use crate::runtime::{block_on, block_on_whole, runtime, Owner};

/// What pk_dead_letter_queue_failed() did with a record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_dead_letter_action {
    /// Its partition is paused and moved back to it: it is delivered again once
    /// pk_dead_letter_queue_resume_due() resumes the partition, `after_ms` from now.
    PK_DEAD_LETTER_RETRY = 1,
    /// Written to the retry topic (acknowledged) and its offset + 1 committed.
    PK_DEAD_LETTER_RETRY_TOPIC = 2,
    /// Written to the dead-letter topic (acknowledged) and its offset + 1 committed.
    PK_DEAD_LETTER_DEAD_LETTERED = 3,
}

/// The outcome of pk_dead_letter_queue_failed().
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pk_dead_letter_outcome {
    pub action: pk_dead_letter_action,
    /// PK_DEAD_LETTER_RETRY: the retry this is, counting from 1; else 0.
    pub retry: u32,
    /// PK_DEAD_LETTER_RETRY: milliseconds until the retry; else 0.
    pub after_ms: i64,
    /// The copy's partition and offset (retry or dead-letter topic); -1 for PK_DEAD_LETTER_RETRY.
    pub copy_partition: i32,
    pub copy_offset: i64,
}

/// A consumer's retry and dead-letter path. Created with pk_dead_letter_queue_new(), freed with
/// pk_dead_letter_queue_free(). Thread-safe.
pub struct pk_dead_letter_queue {
    owner: Owner,
    queue: DeadLetterQueue,
    consumer: Consumer,
    closed: AtomicBool,
}

/// The settings pk_dead_letter_queue_new() reads itself; every other key is the copies' producer's.
const MAX_RETRIES: &str = "dlq.max.retries";
const BACKOFF_MS: &str = "dlq.backoff.ms";
const BACKOFF_MULTIPLIER: &str = "dlq.backoff.multiplier";
const BACKOFF_MAX_MS: &str = "dlq.backoff.max.ms";
const TOPIC: &str = "dlq.topic";
const RETRY_TOPIC: &str = "dlq.retry.topic";

fn number<T: std::str::FromStr>(props: &mut BTreeMap<String, String>, key: &str) -> Result<Option<T>> {
    let Some(v) = props.remove(key) else { return Ok(None) };
    v.trim().parse().map(Some).map_err(|_| Error::config(format!("{key}: '{v}' is not a valid number")))
}

/// The policy from the `dlq.*` settings (removed from `props`); a bad one is a config error.
fn policy_of(props: &mut BTreeMap<String, String>) -> Result<RetryPolicy> {
    let d = RetryPolicy::default();
    let millis = |v: Option<u64>, d: Duration| v.map(Duration::from_millis).unwrap_or(d);
    let policy = RetryPolicy {
        max_retries: number(props, MAX_RETRIES)?.unwrap_or(d.max_retries),
        initial_backoff: millis(number(props, BACKOFF_MS)?, d.initial_backoff),
        multiplier: number(props, BACKOFF_MULTIPLIER)?.unwrap_or(d.multiplier),
        max_backoff: millis(number(props, BACKOFF_MAX_MS)?, d.max_backoff),
        dlq_topic: props.remove(TOPIC),
        retry_topic: props.remove(RETRY_TOPIC),
    };
    policy.validate().map_err(|e| Error::config(e.message()))?;
    Ok(policy)
}

/// Creates the retry and dead-letter path of `consumer` (borrowed; the queue keeps its own
/// reference to the engine's consumer, so it may be freed before or after it). `settings`
/// (borrowed, copied; NULL: the defaults) holds:
/// - `dlq.max.retries` (default 3): retries after the first attempt; 0 dead-letters at once;
/// - `dlq.backoff.ms` (100), `dlq.backoff.multiplier` (2), `dlq.backoff.max.ms` (30000): the
///   wait before each retry;
/// - `dlq.topic`: the dead-letter topic (default: the record's topic + `-dlq`);
/// - `dlq.retry.topic`: re-publish failed records there instead of retrying in place (the
///   consumer must subscribe to it too);
/// - any other key: a property of the producer that writes the copies (`acks`,
///   `transactional.id`, ...); without `bootstrap.servers` it connects as the consumer does.
///
/// A bad number, a multiplier below 1, a maximum below the initial wait, an empty topic name or
/// an unknown producer key is a PK_ERROR_KIND_CONFIG error naming it. The caller frees
/// `*out_queue` with pk_dead_letter_queue_free().
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_new(
    consumer: *mut pk_consumer,
    settings: *const pk_config,
    out_queue: *mut *mut pk_dead_letter_queue,
) -> *mut pk_error {
    guard(|| {
        let engine = crate::consumer::live(consumer)?.consumer.clone();
        check_out(out_queue, "out_queue")?;
        // SAFETY: NULL or a live handle.
        let mut props = unsafe { settings.as_ref() }.map(|c| c.props.clone()).unwrap_or_default();
        let policy = policy_of(&mut props)?;
        let config = dlq::producer_config_for(engine.config(), props)?;
        let rt = runtime()?;
        let producer = {
            let _entered = rt.enter();
            Producer::new(config)?
        };
        let queue = DeadLetterQueue::new(policy, producer)?;
        let q = pk_dead_letter_queue { owner: Owner::current(), queue, consumer: engine, closed: AtomicBool::new(false) };
        out(out_queue, "out_queue", Box::into_raw(Box::new(q)))
    })
}

fn live<'a>(q: *const pk_dead_letter_queue) -> Result<&'a pk_dead_letter_queue> {
    let q = handle(q, "queue")?;
    q.owner.check("dead letter queue")?;
    if q.closed.load(Ordering::Acquire) {
        return Err(Error::closed("the dead letter queue is closed"));
    }
    Ok(q)
}

/// The core's record from a record the caller holds (copied).
fn record_of(r: *const pk_consumer_record) -> Result<ConsumerRecord> {
    let r = handle(r, "record")?;
    let topic = str_len(r.topic, r.topic_len, "record.topic")?;
    if r.partition < 0 || r.offset < 0 {
        return Err(Error::invalid(format!("record: partition {} / offset {} is negative", r.partition, r.offset)));
    }
    let copy = |b: Option<&[u8]>| b.map(Bytes::copy_from_slice);
    let mut headers = Vec::with_capacity(r.headers_len);
    for (i, h) in slice(r.headers, r.headers_len, "record.headers")?.iter().enumerate() {
        let key = str_len(h.key, h.key_len, format_args!("record.headers[{i}].key"))?;
        let value = optional(h.value, h.value_len, format_args!("record.headers[{i}].value"))?;
        headers.push(Header { key: key.to_string(), value: copy(value) });
    }
    Ok(ConsumerRecord {
        topic: topic.into(),
        partition: r.partition,
        offset: r.offset,
        key: copy(optional(r.key, r.key_len, "record.key")?),
        value: copy(optional(r.value, r.value_len, "record.value")?),
        headers,
        timestamp: r.timestamp_ms,
        timestamp_type: if r.timestamp_type == 1 { TimestampType::LogAppendTime } else { TimestampType::CreateTime },
        leader_epoch: (r.leader_epoch >= 0).then_some(r.leader_epoch),
    })
}

/// The failure a handler reports: `error` (NUL-terminated, borrowed) and `error_type` (NULL:
/// "error").
fn failure_of(error: *const c_char, error_type: *const c_char) -> Result<Failure> {
    let message = c_str(error, "error")?;
    let kind = if error_type.is_null() { "error" } else { c_str(error_type, "error_type")? };
    Ok(Failure::new(message, kind))
}

/// The handler failed for `record` (borrowed; e.g. `&batch->records[i]`, or one the caller
/// filled in) with `error` (the copy's `error` header) and `error_type` (its `error-type`
/// header; NULL: "error"): while retries remain, its partition is paused and moved back to it
/// (or, with `dlq.retry.topic`, it is re-published there and its offset committed); after the
/// last one it is written to the dead-letter topic with its key, value, timestamp, headers and
/// `retry-count`, `original-topic`, `original-partition`, `original-offset`, `error`,
/// `error-type`, and only once that copy is acknowledged its offset + 1 is committed. Blocks
/// while a copy is written. `*out_outcome` (may be NULL) says what was done.
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_failed(
    queue: *mut pk_dead_letter_queue,
    record: *const pk_consumer_record,
    error: *const c_char,
    error_type: *const c_char,
    out_outcome: *mut pk_dead_letter_outcome,
) -> *mut pk_error {
    guard(|| {
        let q = live(queue)?;
        let record = record_of(record)?;
        let failure = failure_of(error, error_type)?;
        let outcome = block_on_whole("pk_dead_letter_queue_failed", q.queue.failed(&q.consumer, &record, &failure))??;
        let copy = |action, m: pk::RecordMetadata| pk_dead_letter_outcome { action, retry: 0, after_ms: 0, copy_partition: m.partition, copy_offset: m.offset };
        let o = match outcome {
            Outcome::Retry { retry, after } => pk_dead_letter_outcome {
                action: pk_dead_letter_action::PK_DEAD_LETTER_RETRY,
                retry,
                after_ms: after.as_millis() as i64,
                copy_partition: -1,
                copy_offset: -1,
            },
            Outcome::Republished(m) => copy(pk_dead_letter_action::PK_DEAD_LETTER_RETRY_TOPIC, m),
            Outcome::DeadLettered(m) => copy(pk_dead_letter_action::PK_DEAD_LETTER_DEAD_LETTERED, m),
        };
        if !out_outcome.is_null() {
            out(out_outcome, "out_outcome", o)?;
        }
        Ok(())
    })
}

/// `record` (borrowed) cannot be decoded: it is written to the dead-letter topic at once, bytes
/// untouched (`retry-count` 0), and its offset + 1 committed once the copy is acknowledged.
/// `error` and `error_type` as in pk_dead_letter_queue_failed().
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_undecodable(
    queue: *mut pk_dead_letter_queue,
    record: *const pk_consumer_record,
    error: *const c_char,
    error_type: *const c_char,
) -> *mut pk_error {
    guard(|| {
        let q = live(queue)?;
        let record = record_of(record)?;
        let failure = failure_of(error, error_type)?;
        block_on_whole("pk_dead_letter_queue_undecodable", q.queue.undecodable(&q.consumer, &record, &failure))??;
        Ok(())
    })
}

/// The handler returned for the record at `topic` (NUL-terminated, borrowed) `partition`
/// `offset`: its failure count is forgotten and, with `enable.auto.offset.store=false`,
/// offset + 1 is stored for the next auto-commit. Committing otherwise is the caller's
/// (pk_consumer_commit()).
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_succeeded(queue: *mut pk_dead_letter_queue, topic: *const c_char, partition: i32, offset: i64) -> *mut pk_error {
    guard(|| {
        let q = live(queue)?;
        let tp = tp_of(topic, partition)?;
        if offset < 0 {
            return Err(Error::invalid(format!("offset {offset} is negative")));
        }
        q.queue.succeeded(&q.consumer, &tp, offset);
        Ok(())
    })
}

fn tp_of(topic: *const c_char, partition: i32) -> Result<TopicPartition> {
    let topic = c_str(topic, "topic")?;
    if partition < 0 {
        return Err(Error::invalid(format!("partition {partition} is negative")));
    }
    Ok(TopicPartition::new(topic, partition))
}

/// Whether the handler must skip `record` (borrowed), in `*out_skip` (1: skip, 0: run it):
/// its partition waits for a retry (the record comes again after the retried one), or it is a
/// retry-topic copy not due yet (its partition is then paused and moved back to it). Call it
/// for every record before the handler.
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_skip(queue: *mut pk_dead_letter_queue, record: *const pk_consumer_record, out_skip: *mut i32) -> *mut pk_error {
    guard(|| {
        let q = live(queue)?;
        check_out(out_skip, "out_skip")?;
        let record = record_of(record)?;
        let skip = q.queue.is_waiting(&q.consumer, &record.topic_partition()) || q.queue.not_yet_due(&q.consumer, &record)?.is_some();
        out(out_skip, "out_skip", skip as i32)
    })
}

/// Resumes the partitions whose retry wait is over; `*out_next_ms` receives the milliseconds
/// until the next one is due (the longest the next poll should wait), -1 when none waits.
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_resume_due(queue: *mut pk_dead_letter_queue, out_next_ms: *mut i64) -> *mut pk_error {
    guard(|| {
        let q = live(queue)?;
        check_out(out_next_ms, "out_next_ms")?;
        let next = q.queue.resume_due(&q.consumer).map_or(-1, |d| d.as_millis() as i64);
        out(out_next_ms, "out_next_ms", next)
    })
}

/// Flushes and closes the producer of the copies, waiting up to `timeout_ms` (negative: without
/// limit); the consumer is not touched. Idempotent; later calls but this one fail with
/// PK_ERROR_KIND_CLOSED.
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_close(queue: *mut pk_dead_letter_queue, timeout_ms: i32) -> *mut pk_error {
    guard(|| {
        let q = handle(queue as *const pk_dead_letter_queue, "queue")?;
        q.owner.check("dead letter queue")?;
        if q.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        block_on("pk_dead_letter_queue_close", q.queue.producer().close(timeout(timeout_ms)))?
    })
}

/// Frees a queue, closing it first if needed (waiting for the copies in flight). `queue` is
/// consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_dead_letter_queue_free(queue: *mut pk_dead_letter_queue) {
    guard_void(|| {
        if queue.is_null() {
            return;
        }
        // SAFETY: a pointer from pk_dead_letter_queue_new, freed once, after every other call.
        let q = unsafe { Box::from_raw(queue) };
        if q.owner.check("dead letter queue").is_err() {
            std::mem::forget(q);
            return;
        }
        if !q.closed.swap(true, Ordering::AcqRel) {
            let _ = block_on_whole("pk_dead_letter_queue_free", q.queue.producer().close(Duration::from_secs(30)));
        }
    })
}
