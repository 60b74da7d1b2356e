//! `pk_consumer`: subscribe or assign, poll one record or a batch (`pk_message_batch`, one
//! allocation the caller frees once), commit, committed, position, seek, pause/resume,
//! watermarks and lag, group metadata for transactions (`pk_group_metadata`), close.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pk::consumer::{Consumer, ConsumerRecord, TimestampType};
use pk::producer::ConsumerGroupMetadata;
use pk::{CommitMode, ConsumerConfig, Error, Result, StartOffset, TopicPartition};

use crate::config::pk_config;
use crate::error::pk_error;
use crate::ffi::{c_str, check_out, guard, guard_void, handle, out, slice, str_len, timeout};
use crate::producer::pk_header;
use crate::runtime::{block_on, block_on_whole, runtime, Owner};

/// In pk_consumer_assign(): start from the group's committed offset, else `auto.offset.reset`.
pub const PK_OFFSET_DEFAULT: i64 = -1000;
/// In pk_consumer_assign() and pk_consumer_seek(): the end of the partition (the next record
/// written). The same value as kafka-go's LastOffset.
pub const PK_OFFSET_END: i64 = -1;
/// In pk_consumer_assign() and pk_consumer_seek(): the first record still in the partition.
/// The same value as kafka-go's FirstOffset.
pub const PK_OFFSET_BEGINNING: i64 = -2;

/// A partition and an offset. Used as input (assign, commit, seek, pause, resume: `topic` is
/// borrowed for the call only) and as output (pk_consumer_committed writes `offset` in place;
/// in library-owned results `topic` is NUL-terminated and owned by the result).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pk_topic_partition {
    /// The topic, UTF-8; `topic_len` 0 means NUL-terminated.
    pub topic: *const c_char,
    pub topic_len: usize,
    pub partition: i32,
    /// An offset (the next offset to read, for commits), or a PK_OFFSET_* constant where
    /// documented; ignored by pause and resume.
    pub offset: i64,
}

/// A record read by pk_consumer_poll() or pk_consumer_poll_batch(). Every pointer is owned by
/// the pk_message_batch it came in and valid until pk_message_batch_free() of that batch.
#[repr(C)]
pub struct pk_consumer_record {
    /// NUL-terminated; `topic_len` is its length without the NUL.
    pub topic: *const c_char,
    pub topic_len: usize,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// 0: the producer's create time, 1: the broker's log-append time.
    pub timestamp_type: i32,
    /// The key; NULL for a null key (an empty key is non-NULL with length 0).
    pub key: *const u8,
    pub key_len: usize,
    /// The value; NULL for a null value (a tombstone).
    pub value: *const u8,
    pub value_len: usize,
    /// `headers_len` headers in order (a key may repeat): keys NUL-terminated, values NULL for
    /// null values. NULL when there are none.
    pub headers: *const pk_header,
    pub headers_len: usize,
    /// The partition's high watermark at the latest fetch (the offset after the last record
    /// written); -1 when unknown.
    pub high_watermark: i64,
    /// The leader epoch of the record's batch, -1 when the broker did not set one.
    pub leader_epoch: i32,
}

/// Records from one poll call. `records[0..len]` are readable directly; everything they point
/// to (keys, values, headers, topics) belongs to the batch: one pk_message_batch_free() call
/// releases it all. Keys and values are not copied out of the fetched buffers.
#[repr(C)]
pub struct pk_message_batch {
    pub records: *const pk_consumer_record,
    pub len: usize,
    /// The library's bookkeeping; do not touch.
    pub private_data: *mut c_void,
}

struct BatchData {
    _records: Vec<ConsumerRecord>,
    _topics: Vec<CString>,
    _header_keys: Vec<CString>,
    _headers: Vec<pk_header>,
    views: Vec<pk_consumer_record>,
}

fn ptr_len(b: &Option<bytes::Bytes>) -> (*const u8, usize) {
    match b {
        // A non-NULL pointer even for an empty buffer: NULL means null.
        Some(b) if b.is_empty() => (std::ptr::NonNull::<u8>::dangling().as_ptr(), 0),
        Some(b) => (b.as_ptr(), b.len()),
        None => (std::ptr::null(), 0),
    }
}

fn make_batch(records: Vec<ConsumerRecord>, hwm: &HashMap<(Arc<str>, i32), i64>) -> *mut pk_message_batch {
    let mut topics: Vec<CString> = Vec::new();
    let mut topic_index: HashMap<Arc<str>, usize> = HashMap::new();
    let mut header_keys = Vec::new();
    let n_headers: usize = records.iter().map(|r| r.headers.len()).sum();
    let mut headers: Vec<pk_header> = Vec::with_capacity(n_headers);
    for r in &records {
        if !topic_index.contains_key(&r.topic) {
            topic_index.insert(r.topic.clone(), topics.len());
            topics.push(CString::new(r.topic.as_bytes()).unwrap_or_default());
        }
        for h in &r.headers {
            header_keys.push(CString::new(h.key.as_bytes()).unwrap_or_default());
        }
    }
    let mut hk = header_keys.iter();
    for r in &records {
        for h in &r.headers {
            let key = hk.next().unwrap();
            let (value, value_len) = ptr_len(&h.value);
            headers.push(pk_header { key: key.as_ptr(), key_len: key.as_bytes().len(), value, value_len });
        }
    }
    let mut views = Vec::with_capacity(records.len());
    let mut hpos = 0;
    for r in &records {
        let t = &topics[topic_index[&r.topic]];
        let (key, key_len) = ptr_len(&r.key);
        let (value, value_len) = ptr_len(&r.value);
        let hs = if r.headers.is_empty() { std::ptr::null() } else { headers[hpos..].as_ptr() };
        views.push(pk_consumer_record {
            topic: t.as_ptr(),
            topic_len: t.as_bytes().len(),
            partition: r.partition,
            offset: r.offset,
            timestamp_ms: r.timestamp,
            timestamp_type: if r.timestamp_type == TimestampType::LogAppendTime { 1 } else { 0 },
            key,
            key_len,
            value,
            value_len,
            headers: hs,
            headers_len: r.headers.len(),
            high_watermark: hwm.get(&(r.topic.clone(), r.partition)).copied().unwrap_or(-1),
            leader_epoch: r.leader_epoch.unwrap_or(-1),
        });
        hpos += r.headers.len();
    }
    let data = Box::new(BatchData { _records: records, _topics: topics, _header_keys: header_keys, _headers: headers, views });
    let batch = pk_message_batch { records: data.views.as_ptr(), len: data.views.len(), private_data: Box::into_raw(data).cast() };
    Box::into_raw(Box::new(batch))
}

/// Frees a batch and every record, key, value and header in it. `batch` is consumed; NULL is
/// allowed.
#[no_mangle]
pub extern "C" fn pk_message_batch_free(batch: *mut pk_message_batch) {
    guard_void(|| {
        if batch.is_null() {
            return;
        }
        // SAFETY: a pointer from a poll call, freed once.
        let b = unsafe { Box::from_raw(batch) };
        if !b.private_data.is_null() {
            // SAFETY: set by make_batch from Box<BatchData>.
            drop(unsafe { Box::from_raw(b.private_data.cast::<BatchData>()) });
        }
    })
}

/// A consumer. Created with pk_consumer_new(), freed with pk_consumer_free(). Thread-safe, but
/// records are handed out in order to one poller at a time.
pub struct pk_consumer {
    owner: Owner,
    pub(crate) consumer: Consumer,
    closed: AtomicBool,
}

pub(crate) fn live<'a>(c: *const pk_consumer) -> Result<&'a pk_consumer> {
    let c = handle(c, "consumer")?;
    c.owner.check("consumer")?;
    if c.closed.load(Ordering::Acquire) {
        return Err(Error::closed("the consumer is closed"));
    }
    Ok(c)
}

fn tp_of(p: &pk_topic_partition, what: &str) -> Result<TopicPartition> {
    let topic = str_len(p.topic, p.topic_len, what)?;
    if p.partition < 0 {
        return Err(Error::invalid(format!("{what}: partition {} is negative", p.partition)));
    }
    Ok(TopicPartition::new(topic, p.partition))
}

/// A topic-partition array argument; `what` is its parameter's name in the header, so that an
/// error names the argument the caller passed.
fn partitions(list: *const pk_topic_partition, len: usize, what: &str) -> Result<Vec<(TopicPartition, i64)>> {
    slice(list, len, what)?
        .iter()
        .enumerate()
        .map(|(i, p)| Ok((tp_of(p, &format!("{what}[{i}].topic"))?, p.offset)))
        .collect()
}

/// Creates a consumer from `config` (borrowed: copied): `bootstrap.servers`, and `group.id`
/// for subscriptions and commits, `auto.offset.reset`, `enable.auto.commit`,
/// `isolation.level`... An unknown key or bad value is a PK_ERROR_KIND_CONFIG error naming it.
/// No connection is made until there is something to do. The caller frees `*out_consumer` with
/// pk_consumer_free().
#[no_mangle]
pub extern "C" fn pk_consumer_new(config: *const pk_config, out_consumer: *mut *mut pk_consumer) -> *mut pk_error {
    guard(|| {
        let config = handle(config, "config")?;
        check_out(out_consumer, "out_consumer")?;
        let props = ConsumerConfig::from_properties(config.props.clone())?;
        let rt = runtime()?;
        let consumer = {
            let _entered = rt.enter();
            Consumer::new(props)?
        };
        let c = Box::new(pk_consumer { owner: Owner::current(), consumer, closed: AtomicBool::new(false) });
        out(out_consumer, "out_consumer", Box::into_raw(c))
    })
}

/// Makes sure one broker of the cluster can be reached (an open connection counts), with one
/// attempt per broker and no retry: a PK_ERROR_KIND_CONNECTION error when none answers. Polls
/// retry connections quietly; a caller that must report an unreachable cluster at once
/// (kafka-go's Reader returns its dial error) calls this first.
#[no_mangle]
pub extern "C" fn pk_consumer_connect_once(consumer: *mut pk_consumer) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        block_on("pk_consumer_connect_once", c.consumer.connect_once())?
    })
}

/// Subscribes to `topics_len` topics (NUL-terminated names, borrowed), replacing any
/// subscription; the group assigns partitions. Needs `group.id`.
#[no_mangle]
pub extern "C" fn pk_consumer_subscribe(consumer: *mut pk_consumer, topics: *const *const c_char, topics_len: usize) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let names = slice(topics, topics_len, "topics")?
            .iter()
            .enumerate()
            .map(|(i, t)| c_str(*t, &format!("topics[{i}]")).map(str::to_string))
            .collect::<Result<Vec<String>>>()?;
        c.consumer.subscribe(&names)
    })
}

/// Assigns partitions manually (no group membership), replacing any assignment. Each entry's
/// `offset` is where to start: an offset, PK_OFFSET_BEGINNING, PK_OFFSET_END, or
/// PK_OFFSET_DEFAULT (the committed offset of `group.id` when set, else `auto.offset.reset`).
/// `partitions` is borrowed.
#[no_mangle]
pub extern "C" fn pk_consumer_assign(consumer: *mut pk_consumer, partitions_: *const pk_topic_partition, partitions_len: usize) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let list = partitions(partitions_, partitions_len, "partitions")?;
        let starts = list.into_iter().map(|(tp, o)| Ok((tp, start(o)?))).collect::<Result<Vec<_>>>()?;
        c.consumer.assign_at(&starts)
    })
}

/// An offset or a PK_OFFSET_* constant (the core's logical offsets).
fn start(offset: i64) -> Result<StartOffset> {
    match offset {
        PK_OFFSET_DEFAULT | PK_OFFSET_END | PK_OFFSET_BEGINNING => StartOffset::from_logical(offset),
        o if o >= 0 => Ok(StartOffset::Offset(o)),
        o => Err(Error::invalid(format!("offset {o}: not an offset nor a PK_OFFSET_* constant"))),
    }
}

fn poll_records(c: &pk_consumer, max: usize, timeout_ms: i32) -> Result<Vec<(Vec<ConsumerRecord>, i64)>> {
    let batches = block_on_whole("pk_consumer_poll", c.consumer.poll_partition_batches(max, timeout(timeout_ms)))??;
    Ok(batches.into_iter().map(|b| (b.records, b.high_watermark)).collect())
}

fn batch_out(parts: Vec<(Vec<ConsumerRecord>, i64)>, out_batch: *mut *mut pk_message_batch) -> Result<()> {
    let mut hwm = HashMap::new();
    let mut records = Vec::new();
    for (recs, h) in parts {
        if let Some(r) = recs.first() {
            hwm.insert((r.topic.clone(), r.partition), h);
        }
        records.extend(recs);
    }
    out(out_batch, "out_batch", make_batch(records, &hwm))
}

/// Waits up to `timeout_ms` (negative: without limit) for the next record. `*out_batch`
/// receives a batch holding that one record (`len` 1), or with `len` 0 when the time passed;
/// the caller frees it with pk_message_batch_free(). Rebalances are handled inside (revoked
/// partitions are committed first when `enable.auto.commit` is on). Errors: PK_ERROR_KIND_CLOSED
/// after pk_consumer_close(); OFFSET_OUT_OF_RANGE when a partition has no committed offset and
/// `auto.offset.reset` is `none`.
#[no_mangle]
pub extern "C" fn pk_consumer_poll(consumer: *mut pk_consumer, timeout_ms: i32, out_batch: *mut *mut pk_message_batch) -> *mut pk_error {
    pk_consumer_poll_batch(consumer, 1, timeout_ms, out_batch)
}

/// Like pk_consumer_poll(), but up to `max_records` records (at least 1 unless the time
/// passed) in one batch, fairly across partitions, in offset order within each partition. The
/// caller frees `*out_batch` with pk_message_batch_free() (one call for every record).
#[no_mangle]
pub extern "C" fn pk_consumer_poll_batch(
    consumer: *mut pk_consumer,
    max_records: usize,
    timeout_ms: i32,
    out_batch: *mut *mut pk_message_batch,
) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        check_out(out_batch, "out_batch")?;
        if max_records == 0 {
            return Err(Error::invalid("max_records is 0"));
        }
        let parts = poll_records(c, max_records, timeout_ms)?;
        batch_out(parts, out_batch)
    })
}

/// Commits offsets synchronously (waits for the group coordinator). With `offsets_len` > 0,
/// commits those (`offset` = the next offset to read, i.e. last processed + 1; `offsets`
/// borrowed). With 0 (`offsets` may be NULL), commits the positions reached by the records
/// polled so far on every assigned partition. Needs `group.id`.
#[no_mangle]
pub extern "C" fn pk_consumer_commit(consumer: *mut pk_consumer, offsets: *const pk_topic_partition, offsets_len: usize) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let list = partitions(offsets, offsets_len, "offsets")?;
        if let Some((tp, o)) = list.iter().find(|(_, o)| *o < 0) {
            return Err(Error::invalid(format!("commit: offset {o} of {tp} is negative")));
        }
        let arg = (!list.is_empty()).then_some(&list[..]);
        block_on("pk_consumer_commit", c.consumer.commit(arg, CommitMode::Sync))?.map(drop)
    })
}

/// Stores offsets (`offset` = the next offset to read) for the engine's auto-commit: with
/// `enable.auto.commit=true` and `enable.auto.offset.store=false` they are committed every
/// `auto.commit.interval.ms`, before a partition is revoked and on pk_consumer_close(), as
/// librdkafka's rd_kafka_offsets_store(). A stored offset replaces the one stored before.
/// `offsets` is borrowed. A partition not assigned to this consumer is a
/// PK_ERROR_KIND_INVALID_ARGUMENT error naming it (the others are stored); a negative offset is
/// refused before anything is stored.
#[no_mangle]
pub extern "C" fn pk_consumer_store_offsets(consumer: *mut pk_consumer, offsets: *const pk_topic_partition, offsets_len: usize) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let list = partitions(offsets, offsets_len, "offsets")?;
        c.consumer.store_offsets(&list)
    })
}

/// Reads the group's committed offsets of `partitions_len` partitions, writing each one's
/// `offset` in place (-1 where nothing is committed). `partitions` is borrowed; only the
/// `offset` fields are written. Waits up to `timeout_ms`. Needs `group.id`.
#[no_mangle]
pub extern "C" fn pk_consumer_committed(
    consumer: *mut pk_consumer,
    partitions_: *mut pk_topic_partition,
    partitions_len: usize,
    timeout_ms: i32,
) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let list = partitions(partitions_, partitions_len, "partitions")?;
        let tps: Vec<TopicPartition> = list.into_iter().map(|(tp, _)| tp).collect();
        let found = block_on("pk_consumer_committed", c.consumer.committed(&tps, timeout(timeout_ms)))??;
        for (i, (_, off)) in found.into_iter().enumerate() {
            // SAFETY: `partitions_len` writable entries (the caller's contract); i < len.
            unsafe { (*partitions_.add(i)).offset = off };
        }
        Ok(())
    })
}

fn one_tp(topic: *const c_char, partition: i32) -> Result<TopicPartition> {
    tp_of(&pk_topic_partition { topic, topic_len: 0, partition, offset: 0 }, "topic")
}

/// The next offset to deliver from `topic` (NUL-terminated, borrowed) `partition` in
/// `*out_offset`, -1 while not known yet. The partition must be assigned.
#[no_mangle]
pub extern "C" fn pk_consumer_position(consumer: *mut pk_consumer, topic: *const c_char, partition: i32, out_offset: *mut i64) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let tp = one_tp(topic, partition)?;
        check_out(out_offset, "out_offset")?;
        out(out_offset, "out_offset", c.consumer.position(&tp)?.unwrap_or(-1))
    })
}

/// A statistics snapshot of the consumer in `*out_json`: JSON text in librdkafka's statistics
/// layout, with positions, committed offsets, watermarks and lag per assigned partition and the
/// group's state. The caller frees `*out_json` with pk_string_free().
#[no_mangle]
pub extern "C" fn pk_consumer_stats_json(consumer: *mut pk_consumer, out_json: *mut *mut c_char) -> *mut pk_error {
    crate::stats::json_out(out_json, || Ok(live(consumer)?.consumer.stats().to_string()))
}

/// The consumer's fetch and connection durations and sizes since the last call, as JSON in
/// `*out_json` (the layout of pk_producer_stats_windows_json(): `fetch_wait_us`, `fetch_read_us`,
/// `fetch_msgs`, `fetch_bytes` per partition of each Fetch response, `connect_us`; kafka-go's
/// Reader.Stats() summaries). The call starts new windows. The caller frees `*out_json` with
/// pk_string_free().
#[no_mangle]
pub extern "C" fn pk_consumer_stats_windows_json(consumer: *mut pk_consumer, out_json: *mut *mut c_char) -> *mut pk_error {
    crate::stats::json_out(out_json, || Ok(live(consumer)?.consumer.take_stats_windows().to_string()))
}

/// Makes the next record delivered from an assigned partition be at `offset` (or
/// PK_OFFSET_BEGINNING / PK_OFFSET_END). Records already fetched are dropped. `topic` is
/// NUL-terminated and borrowed.
#[no_mangle]
pub extern "C" fn pk_consumer_seek(consumer: *mut pk_consumer, topic: *const c_char, partition: i32, offset: i64) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let tp = one_tp(topic, partition)?;
        c.consumer.seek_to(&tp, start(offset)?)
    })
}

/// Stops fetching and delivering the given assigned partitions (`offset` ignored; borrowed);
/// they stay assigned. pk_consumer_resume() undoes it.
#[no_mangle]
pub extern "C" fn pk_consumer_pause(consumer: *mut pk_consumer, partitions_: *const pk_topic_partition, partitions_len: usize) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let tps: Vec<_> = partitions(partitions_, partitions_len, "partitions")?.into_iter().map(|(tp, _)| tp).collect();
        c.consumer.pause(&tps)
    })
}

/// Resumes partitions paused by pk_consumer_pause() (`offset` ignored; borrowed).
#[no_mangle]
pub extern "C" fn pk_consumer_resume(consumer: *mut pk_consumer, partitions_: *const pk_topic_partition, partitions_len: usize) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let tps: Vec<_> = partitions(partitions_, partitions_len, "partitions")?.into_iter().map(|(tp, _)| tp).collect();
        c.consumer.resume(&tps)
    })
}

/// Asks the partition's leader for its low watermark (first offset still stored) and high
/// watermark (the offset after the last record), waiting up to `timeout_ms`. `topic` is
/// NUL-terminated and borrowed; the partition need not be assigned.
#[no_mangle]
pub extern "C" fn pk_consumer_watermarks(
    consumer: *mut pk_consumer,
    topic: *const c_char,
    partition: i32,
    timeout_ms: i32,
    out_low: *mut i64,
    out_high: *mut i64,
) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let tp = one_tp(topic, partition)?;
        check_out(out_low, "out_low")?;
        check_out(out_high, "out_high")?;
        let (lo, hi) = block_on("pk_consumer_watermarks", c.consumer.watermarks(&tp, timeout(timeout_ms)))??;
        out(out_low, "out_low", lo)?;
        out(out_high, "out_high", hi)
    })
}

/// The lag of an assigned partition without a request: the high watermark of the latest fetch
/// minus the position (records not yet delivered), in `*out_lag`; -1 when either is not known
/// yet. `topic` is NUL-terminated and borrowed.
#[no_mangle]
pub extern "C" fn pk_consumer_lag(consumer: *mut pk_consumer, topic: *const c_char, partition: i32, out_lag: *mut i64) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        let tp = one_tp(topic, partition)?;
        check_out(out_lag, "out_lag")?;
        let pos = c.consumer.position(&tp)?;
        let hwm = c.consumer.cached_watermarks(&tp).map_or(-1, |(_, h)| h);
        let lag = match pos {
            Some(p) if hwm >= 0 => (hwm - p).max(0),
            _ => -1,
        };
        out(out_lag, "out_lag", lag)
    })
}

/// The consumer's group identity (group id, generation, member id) for
/// pk_producer_send_offsets_to_transaction(), which lets the coordinator refuse offsets from a
/// member that was fenced. Take it after the records were polled. The caller frees
/// `*out_metadata` with pk_group_metadata_free(). Needs `group.id`.
#[no_mangle]
pub extern "C" fn pk_consumer_group_metadata(consumer: *mut pk_consumer, out_metadata: *mut *mut pk_group_metadata) -> *mut pk_error {
    guard(|| {
        let c = live(consumer)?;
        check_out(out_metadata, "out_metadata")?;
        let meta = c.consumer.group_metadata()?;
        out(out_metadata, "out_metadata", pk_group_metadata::new(meta))
    })
}

/// Commits (with `enable.auto.commit`), leaves the group and stops fetching. Idempotent; may
/// run while another thread polls (that poll then fails with PK_ERROR_KIND_CLOSED). Later
/// calls fail with PK_ERROR_KIND_CLOSED. The handle must still be freed with
/// pk_consumer_free().
#[no_mangle]
pub extern "C" fn pk_consumer_close(consumer: *mut pk_consumer) -> *mut pk_error {
    guard(|| {
        let c = handle(consumer as *const pk_consumer, "consumer")?;
        c.owner.check("consumer")?;
        crate::runtime::check_may_block("pk_consumer_close")?;
        if c.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        block_on("pk_consumer_close", c.consumer.close())?
    })
}

/// Frees a consumer, closing it first if needed (a close error is dropped: call
/// pk_consumer_close() to see it). `consumer` is consumed; NULL is allowed. Must run after
/// every other call on the handle returned. Batches already polled stay valid.
#[no_mangle]
pub extern "C" fn pk_consumer_free(consumer: *mut pk_consumer) {
    guard_void(|| {
        if consumer.is_null() {
            return;
        }
        // SAFETY: a pointer from pk_consumer_new, freed once, after every other call returned.
        let c = unsafe { Box::from_raw(consumer) };
        if c.owner.check("consumer").is_err() {
            std::mem::forget(c);
            return;
        }
        if !c.closed.swap(true, Ordering::AcqRel) {
            let _ = block_on_whole("pk_consumer_free", c.consumer.close());
        }
    })
}

/// A consumer's group identity, for pk_producer_send_offsets_to_transaction(). Freed with
/// pk_group_metadata_free().
pub struct pk_group_metadata {
    pub(crate) meta: ConsumerGroupMetadata,
    group_id: CString,
    member_id: CString,
}

impl pk_group_metadata {
    fn new(meta: ConsumerGroupMetadata) -> *mut pk_group_metadata {
        let group_id = CString::new(meta.group_id.clone()).unwrap_or_default();
        let member_id = CString::new(meta.member_id.clone()).unwrap_or_default();
        Box::into_raw(Box::new(pk_group_metadata { meta, group_id, member_id }))
    }
}

/// Group metadata for a group id alone (NUL-terminated, borrowed), without a generation: the
/// coordinator then cannot fence a zombie member. Prefer pk_consumer_group_metadata(). The
/// caller frees `*out_metadata` with pk_group_metadata_free().
#[no_mangle]
pub extern "C" fn pk_group_metadata_new(group_id: *const c_char, out_metadata: *mut *mut pk_group_metadata) -> *mut pk_error {
    guard(|| {
        let g = c_str(group_id, "group_id")?;
        check_out(out_metadata, "out_metadata")?;
        out(out_metadata, "out_metadata", pk_group_metadata::new(ConsumerGroupMetadata::for_group(g)))
    })
}

/// The group id, borrowed from `metadata` (valid until it is freed); "" for NULL.
#[no_mangle]
pub extern "C" fn pk_group_metadata_group_id(metadata: *const pk_group_metadata) -> *const c_char {
    // SAFETY: NULL or a live handle.
    unsafe { metadata.as_ref() }.map_or(c"".as_ptr(), |m| m.group_id.as_ptr())
}

/// The member id, borrowed from `metadata` (valid until it is freed); "" before joining or
/// for NULL.
#[no_mangle]
pub extern "C" fn pk_group_metadata_member_id(metadata: *const pk_group_metadata) -> *const c_char {
    // SAFETY: NULL or a live handle.
    unsafe { metadata.as_ref() }.map_or(c"".as_ptr(), |m| m.member_id.as_ptr())
}

/// The generation, -1 before joining or for NULL.
#[no_mangle]
pub extern "C" fn pk_group_metadata_generation(metadata: *const pk_group_metadata) -> i32 {
    // SAFETY: NULL or a live handle.
    unsafe { metadata.as_ref() }.map_or(-1, |m| m.meta.generation_id)
}

/// Frees group metadata. `metadata` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_group_metadata_free(metadata: *mut pk_group_metadata) {
    guard_void(|| {
        if !metadata.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(metadata) });
        }
    })
}

pub(crate) fn offsets_arg(offsets: *const pk_topic_partition, len: usize) -> Result<Vec<(TopicPartition, i64)>> {
    let list = partitions(offsets, len, "offsets")?;
    if let Some((tp, o)) = list.iter().find(|(_, o)| *o < 0) {
        return Err(Error::invalid(format!("offset {o} of {tp} is negative")));
    }
    Ok(list)
}
