//! Streams for C (and Go): the core's topology builder and `KafkaStreams`, with the user functions
//! (predicates, mappers, aggregators, joiners) implemented by two C callbacks that the stream
//! thread calls once per batch, never once per record: `run_chain` for a fused chain of
//! stateless user nodes and `combine` for an aggregator, reducer or joiner node. The callbacks
//! write their results through an output handle (pk_chain_output, pk_combine_output), record by
//! record (pk_chain_output_push) or all at once from one packed buffer (pk_chain_output_push_packed,
//! what Go uses: one call per batch).
//!
//! Keys and values inside a topology are bytes; the caller's callbacks deserialize and serialize
//! them with the serdes they chose. Windowed keys are Kafka Streams' time-windowed format, encoded
//! and decoded by pk_windowed_key_encode() / pk_windowed_key_decode() (the core's `WindowedKey`);
//! session-windowed keys are Kafka Streams' session format, pk_session_key_encode() /
//! pk_session_key_decode() (the core's `SessionKey`). A session aggregate (reduce/aggregate) also
//! calls a third batch callback, the merger (pk_kafka_streams_set_merger); a source with
//! PK_TIMESTAMP_EXTRACTOR_USER a fourth, the timestamp extractor (pk_kafka_streams_set_timestamp_extractor).

use std::ffi::{c_char, c_void, CString};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pk::streams::{
    AggregateKind, BufferConfig, ChainOutput, CombineOutput, FailureKind, JoinKind, JoinWindows, KafkaStreams, NodeId, ProcessingError, SessionKey,
    SessionWindows, State, StreamRecord, StreamsConfig, TimeWindows, TimestampExtractor, TimestampOutput, TopologyBuilder, UserFailure, UserFunctions,
    WindowedKey,
};
use std::sync::OnceLock;
use pk::{Error, Result};

use crate::config::pk_config;
use crate::error::pk_error;
use crate::ffi::{bytes, c_str, check_out, guard, guard_void, handle, out, slice, timeout};
use crate::runtime::{check_may_block, runtime, Owner};

/// A topology being built. Created with pk_topology_builder_new(), freed with
/// pk_topology_builder_free(). Every adder takes the id of its parent node and writes the id of
/// the new node. pk_kafka_streams_new() takes the topology out of it: afterwards every call on
/// it fails (PK_ERROR_KIND_INVALID_ARGUMENT), and it must still be freed. Thread-safe (calls are
/// serialized).
pub struct pk_topology_builder {
    inner: Mutex<Option<TopologyBuilder>>,
}

/// What an aggregation node computes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_aggregate_kind {
    /// count(): a Long (8 bytes big-endian) per key; no callback.
    PK_AGGREGATE_COUNT = 0,
    /// reduce() / aggregate(): the combine callback gets each record with the current aggregate
    /// (absent the first time) and gives the new one.
    PK_AGGREGATE_COMBINE = 1,
}

/// Inner, left or outer stream-stream join.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_join_kind {
    PK_JOIN_INNER = 0,
    PK_JOIN_LEFT = 1,
    PK_JOIN_OUTER = 2,
}

/// Tumbling (advance_ms == size_ms) or hopping time windows, Kafka Streams' TimeWindows.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pk_time_windows {
    pub size_ms: i64,
    pub advance_ms: i64,
    pub grace_ms: i64,
}

/// The windows of a stream-stream join, Kafka Streams' JoinWindows: a record at t joins the
/// other side's records of its key from t - before_ms to t + after_ms.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pk_join_windows {
    pub before_ms: i64,
    pub after_ms: i64,
    pub grace_ms: i64,
}

fn time_windows(w: &pk_time_windows) -> Result<TimeWindows> {
    TimeWindows::new(w.size_ms, w.advance_ms, w.grace_ms)
}

/// Checks windows as the core does when they are used (size positive, advance in (0, size],
/// grace not negative): for a binding that wants the error where the windows are made.
#[no_mangle]
pub extern "C" fn pk_time_windows_check(windows: *const pk_time_windows) -> *mut pk_error {
    guard(|| time_windows(handle(windows, "windows")?).map(|_| ()))
}

/// Checks join windows as the core does (grace not negative, before + after not negative).
#[no_mangle]
pub extern "C" fn pk_join_windows_check(windows: *const pk_join_windows) -> *mut pk_error {
    guard(|| {
        let w = handle(windows, "windows")?;
        JoinWindows::new(w.before_ms, w.after_ms, w.grace_ms).map(|_| ())
    })
}

/// Session windows, Kafka Streams' SessionWindows: a key's records less than `gap_ms` apart form
/// one session [first, last] (a record bridging two sessions merges them); a record whose session
/// ends before stream time minus gap minus `grace_ms` is late (dropped, counted in late_dropped).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pk_session_windows {
    pub gap_ms: i64,
    pub grace_ms: i64,
}

fn session_windows(w: &pk_session_windows) -> Result<SessionWindows> {
    SessionWindows::of_inactivity_gap_and_grace(w.gap_ms, w.grace_ms)
}

/// Checks session windows as the core does (gap positive, grace not negative).
#[no_mangle]
pub extern "C" fn pk_session_windows_check(windows: *const pk_session_windows) -> *mut pk_error {
    guard(|| session_windows(handle(windows, "windows")?).map(|_| ()))
}

/// Encodes a session-windowed key in Kafka Streams' session format (SessionWindowedSerializer:
/// the key's bytes, then the session's end and start as 8 bytes big-endian each) into `out_buf`
/// (room for `out_cap` bytes, at least key_len + 16); writes the length to `*out_len`. `key` may
/// be NULL when key_len is 0.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_session_key_encode(
    key: *const u8,
    key_len: usize,
    start_ms: i64,
    end_ms: i64,
    out_buf: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> *mut pk_error {
    guard(|| {
        let k = bytes(key, key_len, "key")?;
        check_out(out_len, "out_len")?;
        copy_out(&SessionKey { key: Bytes::copy_from_slice(k), start: start_ms, end: end_ms }.encode(), out_buf, out_cap, out_len)
    })
}

/// Decodes a session-windowed key: the inner key is the first `*out_key_len` bytes of `data`, the
/// session is [`*out_start_ms`, `*out_end_ms`] (both inclusive). Fails
/// (PK_ERROR_KIND_SERIALIZATION) below 16 bytes.
#[no_mangle]
pub extern "C" fn pk_session_key_decode(data: *const u8, len: usize, out_key_len: *mut usize, out_start_ms: *mut i64, out_end_ms: *mut i64) -> *mut pk_error {
    guard(|| {
        let d = bytes(data, len, "data")?;
        check_out(out_key_len, "out_key_len")?;
        check_out(out_start_ms, "out_start_ms")?;
        check_out(out_end_ms, "out_end_ms")?;
        let s = SessionKey::decode(&Bytes::copy_from_slice(d))?;
        out(out_key_len, "out_key_len", s.key.len())?;
        out(out_start_ms, "out_start_ms", s.start)?;
        out(out_end_ms, "out_end_ms", s.end)
    })
}

/// Copies `encoded` into the caller's buffer `out_buf` (room for `out_cap` bytes) and its length to `*out_len`.
fn copy_out(encoded: &[u8], out_buf: *mut u8, out_cap: usize, out_len: *mut usize) -> Result<()> {
    if out_buf.is_null() || out_cap < encoded.len() {
        return Err(Error::invalid(format!("out_buf needs room for {} bytes, has {out_cap}", encoded.len())));
    }
    // SAFETY: out_buf has out_cap >= encoded.len() writable bytes by the caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(encoded.as_ptr(), out_buf, encoded.len()) };
    out(out_len, "out_len", encoded.len())
}

/// Encodes a windowed key in Kafka Streams' time-windowed format (the key's bytes, then the
/// window start as 8 bytes big-endian) into `out_buf`, which has room for `out_cap` bytes (at
/// least key_len + 8); writes the length to `*out_len`. `key` may be NULL when key_len is 0.
#[no_mangle]
pub extern "C" fn pk_windowed_key_encode(key: *const u8, key_len: usize, start_ms: i64, out_buf: *mut u8, out_cap: usize, out_len: *mut usize) -> *mut pk_error {
    guard(|| {
        let k = bytes(key, key_len, "key")?;
        check_out(out_len, "out_len")?;
        copy_out(&WindowedKey { key: Bytes::copy_from_slice(k), start: start_ms }.encode(), out_buf, out_cap, out_len)
    })
}

/// Decodes a windowed key: the inner key is the first `*out_key_len` bytes of `data`, the window
/// starts at `*out_start_ms`. Fails (PK_ERROR_KIND_SERIALIZATION) below 8 bytes.
#[no_mangle]
pub extern "C" fn pk_windowed_key_decode(data: *const u8, len: usize, out_key_len: *mut usize, out_start_ms: *mut i64) -> *mut pk_error {
    guard(|| {
        let d = bytes(data, len, "data")?;
        check_out(out_key_len, "out_key_len")?;
        check_out(out_start_ms, "out_start_ms")?;
        let w = WindowedKey::decode(&Bytes::copy_from_slice(d))?;
        out(out_key_len, "out_key_len", w.key.len())?;
        out(out_start_ms, "out_start_ms", w.start)
    })
}

/// Creates an empty topology builder in `*out_builder`; the caller frees it with
/// pk_topology_builder_free().
#[no_mangle]
pub extern "C" fn pk_topology_builder_new(out_builder: *mut *mut pk_topology_builder) -> *mut pk_error {
    guard(|| {
        check_out(out_builder, "out_builder")?;
        out(out_builder, "out_builder", Box::into_raw(Box::new(pk_topology_builder { inner: Mutex::new(Some(TopologyBuilder::new())) })))
    })
}

/// Frees a builder (used or not). NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_topology_builder_free(builder: *mut pk_topology_builder) {
    guard_void(|| {
        if !builder.is_null() {
            // SAFETY: from pk_topology_builder_new, freed once.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

fn with_builder<T>(builder: *const pk_topology_builder, f: impl FnOnce(&mut TopologyBuilder) -> Result<T>) -> Result<T> {
    let b = handle(builder, "builder")?;
    let mut g = b.inner.lock().map_err(|_| Error::invalid("the builder's lock is poisoned"))?;
    let tb = g.as_mut().ok_or_else(|| Error::invalid("this topology builder was already used by pk_kafka_streams_new"))?;
    f(tb)
}

fn node_out(out_node: *mut u32, f: impl FnOnce() -> Result<NodeId>) -> *mut pk_error {
    guard(|| {
        check_out(out_node, "out_node")?;
        let id = f()?;
        out(out_node, "out_node", id)
    })
}

/// A source node reading `topics` (`n_topics` NUL-terminated names, borrowed).
#[no_mangle]
pub extern "C" fn pk_topology_builder_source(builder: *mut pk_topology_builder, topics: *const *const c_char, n_topics: usize, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || {
        let ptrs = slice(topics, n_topics, "topics")?;
        let names = ptrs.iter().enumerate().map(|(i, p)| c_str(*p, format_args!("topics[{i}]")).map(str::to_string)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        with_builder(builder, |b| b.source(&refs))
    })
}

/// A stateless user node (filter, map, peek, ...: what it does is the run_chain callback's) with
/// one output port; consecutive user nodes are fused into one chain, one callback per batch.
#[no_mangle]
pub extern "C" fn pk_topology_builder_user(builder: *mut pk_topology_builder, parent: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.user(parent)))
}

/// A user node re-encoding records with other serdes (Kafka Streams has no such node: it takes
/// no index of the default names' counter).
#[no_mangle]
pub extern "C" fn pk_topology_builder_serde(builder: *mut pk_topology_builder, parent: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.serde(parent)))
}

/// A user node with `ports` output ports (split): the callback pushes each record to one port.
#[no_mangle]
pub extern "C" fn pk_topology_builder_split(builder: *mut pk_topology_builder, parent: u32, ports: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.split(parent, ports)))
}

/// The stream of output port `port` of the split node `split`.
#[no_mangle]
pub extern "C" fn pk_topology_builder_branch(builder: *mut pk_topology_builder, split: u32, port: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.branch(split, port)))
}

/// The records of `a` and `b` together.
#[no_mangle]
pub extern "C" fn pk_topology_builder_merge(builder: *mut pk_topology_builder, a: u32, b: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |x| x.merge(a, b)))
}

/// to(topic): writes the records of `parent` (as they are, bytes) to `topic`.
#[no_mangle]
pub extern "C" fn pk_topology_builder_sink(builder: *mut pk_topology_builder, parent: u32, topic: *const c_char, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || {
        let topic = c_str(topic, "topic")?;
        with_builder(builder, |b| b.sink(parent, topic))
    })
}

/// to() with a topic per record (Kafka Streams' TopicNameExtractor): writes the records of `parent`
/// (as they are, bytes) each to the topic its combine callback gives. The node is a combine node
/// called with no operands (every pk_operand's data NULL); the value the callback pushes for a
/// record is the topic's name in UTF-8. An empty or non-UTF-8 name, or none, stops the application
/// (PK_FAILURE_USER with the record's topic/partition/offset), as a callback's failure does. The
/// topics must exist: a record for one that does not fails as a failed delivery does.
#[no_mangle]
pub extern "C" fn pk_topology_builder_sink_per_record(builder: *mut pk_topology_builder, parent: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.sink_per_record(parent)))
}

/// Through the topic `<application.id>-<name>-repartition`, partitioned by the records' keys.
#[no_mangle]
pub extern "C" fn pk_topology_builder_repartition(builder: *mut pk_topology_builder, parent: u32, name: *const c_char, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || {
        let name = c_str(name, "name")?;
        with_builder(builder, |b| b.repartition(parent, name))
    })
}

/// `KStream.repartition()`: through `<application.id>-<name>-repartition`, `name` NULL for Kafka
/// Streams' generated `KSTREAM-REPARTITION-<n>`.
#[no_mangle]
pub extern "C" fn pk_topology_builder_repartition_stream(builder: *mut pk_topology_builder, parent: u32, name: *const c_char, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || {
        let name = if name.is_null() { None } else { Some(c_str(name, "name")?) };
        with_builder(builder, |b| b.repartition_stream(parent, name))
    })
}

/// Marks the user node `node` as one that may change keys (map, flat_map, select_key, a
/// group-by's key selection): an aggregation after it repartitions, a join after it is refused.
#[no_mangle]
pub extern "C" fn pk_topology_builder_mark_key_changing(builder: *mut pk_topology_builder, node: u32) -> *mut pk_error {
    guard(|| with_builder(builder, |b| b.mark_key_changing(node)))
}

/// The node an aggregation of `node` reads: `node` itself, or a repartition of it through
/// `<application.id>-<name>-repartition` when keys changed upstream (the core decides).
#[no_mangle]
pub extern "C" fn pk_topology_builder_grouped(builder: *mut pk_topology_builder, node: u32, name: *const c_char, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || {
        let name = c_str(name, "name")?;
        with_builder(builder, |b| b.grouped(node, name))
    })
}

/// The store name of an aggregation: `materialized` (NUL-terminated, or NULL for Kafka Streams'
/// default name, `reduce` choosing KSTREAM-REDUCE-STATE-STORE-). Asked before the aggregation's
/// nodes, as Kafka Streams does. The caller frees `*out_name` with pk_string_free().
#[no_mangle]
pub extern "C" fn pk_topology_builder_aggregate_store_name(builder: *mut pk_topology_builder, materialized: *const c_char, reduce: bool, out_name: *mut *mut c_char) -> *mut pk_error {
    guard(|| {
        check_out(out_name, "out_name")?;
        let m = if materialized.is_null() { None } else { Some(c_str(materialized, "materialized")?) };
        let name = with_builder(builder, |b| Ok(b.aggregate_store_name(m, reduce)))?;
        out(out_name, "out_name", c_string(name).into_raw())
    })
}

/// The stores and repartition topics made so far, sorted, one per line as "store NAME" or
/// "repartition NAME" (what Kafka Streams' describe() lists). The caller frees `*out_text` with
/// pk_string_free().
#[no_mangle]
pub extern "C" fn pk_topology_builder_internal_names(builder: *mut pk_topology_builder, out_text: *mut *mut c_char) -> *mut pk_error {
    guard(|| {
        check_out(out_text, "out_text")?;
        let names = with_builder(builder, |b| Ok(b.internal_names()))?;
        let text: String = names.iter().map(|(k, n)| format!("{k} {n}\n")).collect();
        out(out_text, "out_text", c_string(text).into_raw())
    })
}

/// count / reduce / aggregate (`kind`: a pk_aggregate_kind value) of `parent`'s records by key
/// into the store `store` (borrowed),
/// per window when `windows` is not NULL. The node is a table: its children get every update.
/// For PK_AGGREGATE_COMBINE the node is a combine node (see pk_combine_cb).
#[no_mangle]
pub extern "C" fn pk_topology_builder_aggregate(
    builder: *mut pk_topology_builder,
    parent: u32,
    store: *const c_char,
    kind: i32,
    windows: *const pk_time_windows,
    out_node: *mut u32,
) -> *mut pk_error {
    node_out(out_node, || {
        let store = c_str(store, "store")?;
        let kind = match kind {
            0 => AggregateKind::Count,
            1 => AggregateKind::Combine,
            n => return Err(Error::invalid(format!("aggregate kind {n} is not a pk_aggregate_kind"))),
        };
        // SAFETY: NULL or a pointer to a pk_time_windows by the caller's contract.
        let w = match unsafe { windows.as_ref() } {
            None => None,
            Some(w) => Some(time_windows(w)?),
        };
        with_builder(builder, |b| b.aggregate(parent, store, kind, w))
    })
}

/// windowedBy(SessionWindows) then count / reduce / aggregate (`kind`: a pk_aggregate_kind value)
/// of `parent`'s records by key into the session store `store` (borrowed), as Kafka Streams' session
/// aggregation: a record merges with its key's sessions within the gap; each merged session's
/// removal (a NULL value) goes downstream, then the new session. The node is a table whose keys are
/// session-windowed (pk_session_key_decode) and whose records are timestamped with the session's
/// end. For PK_AGGREGATE_COMBINE the node is a combine node (pk_combine_cb: each record with the
/// session's aggregate so far, absent for a new session) and a merge node (pk_merge_cb, set with
/// pk_kafka_streams_set_merger: the aggregates of the sessions a record bridges).
#[no_mangle]
pub extern "C" fn pk_topology_builder_session_aggregate(
    builder: *mut pk_topology_builder,
    parent: u32,
    store: *const c_char,
    kind: i32,
    windows: *const pk_session_windows,
    out_node: *mut u32,
) -> *mut pk_error {
    node_out(out_node, || {
        let store = c_str(store, "store")?;
        let kind = match kind {
            0 => AggregateKind::Count,
            1 => AggregateKind::Combine,
            n => return Err(Error::invalid(format!("aggregate kind {n} is not a pk_aggregate_kind"))),
        };
        let w = session_windows(handle(windows, "windows")?)?;
        with_builder(builder, |b| b.session_aggregate(parent, store, kind, w))
    })
}

/// Where a source's records get their event time (Kafka Streams' TimestampExtractors). A record
/// whose time comes out negative is dropped (counted in timestamp_dropped), except where the
/// extractor fails on it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_timestamp_extractor {
    /// The record's timestamp; a negative one stops the application (Kafka Streams' default).
    PK_TIMESTAMP_FAIL_ON_INVALID = 0,
    /// The record's timestamp; a record with a negative one is skipped.
    PK_TIMESTAMP_LOG_AND_SKIP_ON_INVALID = 1,
    /// The record's timestamp; a negative one is replaced by the partition's time.
    PK_TIMESTAMP_USE_PARTITION_TIME_ON_INVALID = 2,
    /// The wall-clock time when the record is read.
    PK_TIMESTAMP_WALLCLOCK = 3,
    /// The application's pk_extract_timestamps_cb (set with pk_kafka_streams_set_timestamp_extractor).
    PK_TIMESTAMP_EXTRACTOR_USER = 4,
}

/// Gives the source node `source` its timestamp extractor (`extractor`: a pk_timestamp_extractor
/// value), Kafka Streams' Consumed.withTimestampExtractor; sources without one take
/// default.timestamp.extractor. Fails (PK_ERROR_KIND_INVALID_ARGUMENT) for a node that is not a source.
#[no_mangle]
pub extern "C" fn pk_topology_builder_timestamp_extractor(builder: *mut pk_topology_builder, source: u32, extractor: i32) -> *mut pk_error {
    guard(|| {
        let e = match extractor {
            0 => TimestampExtractor::FailOnInvalidTimestamp,
            1 => TimestampExtractor::LogAndSkipOnInvalidTimestamp,
            2 => TimestampExtractor::UsePartitionTimeOnInvalidTimestamp,
            3 => TimestampExtractor::WallclockTimestampExtractor,
            4 => TimestampExtractor::User,
            n => return Err(Error::invalid(format!("timestamp extractor {n} is not a pk_timestamp_extractor"))),
        };
        with_builder(builder, |b| b.timestamp_extractor(source, e))
    })
}

/// KTable toStream(): the updates of the table `table` as a stream.
#[no_mangle]
pub extern "C" fn pk_topology_builder_to_stream(builder: *mut pk_topology_builder, table: u32, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.to_stream(table)))
}

/// KTable filter / filterNot (`filter` true: the node's user callback is a filter) or mapValues
/// (`filter` false: a value mapper) of the table `table`, with Kafka Streams' table semantics in
/// the core: the callback gets the new and the old values (never a tombstone); an update a filter
/// drops is a tombstone when the key was in the derived table, nothing when it was not. A user
/// node (run by the run callback, alone); the derived table has no store.
#[no_mangle]
pub extern "C" fn pk_topology_builder_table_user(builder: *mut pk_topology_builder, table: u32, filter: bool, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.table_user(table, filter)))
}

/// builder.table(topic): the latest value per key of `topic` (a null value deletes the key) in the
/// store `materialized` (NULL: Kafka Streams' `<topic>-STATE-STORE-<n>`), with its own changelog;
/// unnamed and never joined it keeps no store. Gives the source node (for a timestamp extractor),
/// the table node and the store's name (the caller frees `*out_store` with pk_string_free()).
#[no_mangle]
pub extern "C" fn pk_topology_builder_table(
    builder: *mut pk_topology_builder,
    topic: *const c_char,
    materialized: *const c_char,
    out_source: *mut u32,
    out_table: *mut u32,
    out_store: *mut *mut c_char,
) -> *mut pk_error {
    guard(|| {
        check_out(out_source, "out_source")?;
        check_out(out_table, "out_table")?;
        check_out(out_store, "out_store")?;
        let topic = c_str(topic, "topic")?;
        let m = if materialized.is_null() { None } else { Some(c_str(materialized, "materialized")?) };
        let (source, table, store) = with_builder(builder, |b| b.table(topic, m))?;
        out(out_source, "out_source", source)?;
        out(out_table, "out_table", table)?;
        out(out_store, "out_store", c_string(store).into_raw())
    })
}

/// Stream-table join (left: leftJoin) of `stream` with the non-windowed table `table`; the node
/// is a combine node: the joiner gets each record with the table's value (absent: none).
#[no_mangle]
pub extern "C" fn pk_topology_builder_join_table(builder: *mut pk_topology_builder, stream: u32, table: u32, left: bool, out_node: *mut u32) -> *mut pk_error {
    node_out(out_node, || with_builder(builder, |b| b.join_table(stream, table, left)))
}

/// Stream-stream windowed join (`kind`: a pk_join_kind value) of `this_node` with `other_node`; `name` (NULL: Kafka Streams'
/// default names) is the stores' base name. Writes the two side nodes (both combine nodes: the
/// joiner gets a record of that side with the other side's value, absent for a left/outer
/// result without partner) and the joined stream node.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_topology_builder_stream_join(
    builder: *mut pk_topology_builder,
    this_node: u32,
    other_node: u32,
    windows: *const pk_join_windows,
    kind: i32,
    name: *const c_char,
    out_this: *mut u32,
    out_other: *mut u32,
    out_joined: *mut u32,
) -> *mut pk_error {
    guard(|| {
        check_out(out_this, "out_this")?;
        check_out(out_other, "out_other")?;
        check_out(out_joined, "out_joined")?;
        let w = handle(windows, "windows")?;
        let w = JoinWindows::new(w.before_ms, w.after_ms, w.grace_ms)?;
        let kind = match kind {
            0 => JoinKind::Inner,
            1 => JoinKind::Left,
            2 => JoinKind::Outer,
            n => return Err(Error::invalid(format!("join kind {n} is not a pk_join_kind"))),
        };
        let name = if name.is_null() { None } else { Some(c_str(name, "name")?) };
        let n = with_builder(builder, |b| b.stream_join(this_node, other_node, w, kind, name))?;
        out(out_this, "out_this", n.this)?;
        out(out_other, "out_other", n.other)?;
        out(out_joined, "out_joined", n.joined)
    })
}

/// suppress(untilWindowCloses) of the windowed table `table` (time or session windows): each
/// window's final value once stream time passes its end plus grace (a session's end plus gap
/// plus grace). `name` NULL: Kafka Streams' default buffer store name;
/// `max_records` / `max_bytes` 0: unbounded (at the bound the application stops with an error).
/// Writes the node and the buffer store's name (the caller frees it with pk_string_free(); may be
/// NULL when not wanted).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_topology_builder_suppress(
    builder: *mut pk_topology_builder,
    table: u32,
    name: *const c_char,
    max_records: u64,
    max_bytes: u64,
    out_node: *mut u32,
    out_store: *mut *mut c_char,
) -> *mut pk_error {
    guard(|| {
        check_out(out_node, "out_node")?;
        let name = if name.is_null() { None } else { Some(c_str(name, "name")?) };
        let buffer = BufferConfig { max_records: (max_records > 0).then_some(max_records), max_bytes: (max_bytes > 0).then_some(max_bytes) };
        let (node, store) = with_builder(builder, |b| b.suppress(table, name, buffer))?;
        out(out_node, "out_node", node)?;
        if !out_store.is_null() {
            out(out_store, "out_store", c_string(store).into_raw())?;
        }
        Ok(())
    })
}

fn c_string(s: String) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// One record handed to a callback, borrowed for the duration of the call. `key` / `value` NULL:
/// Kafka's null (length 0); an empty one has a non-NULL pointer and length 0.
#[repr(C)]
pub struct pk_stream_record {
    pub key: *const u8,
    pub key_len: usize,
    pub value: *const u8,
    pub value_len: usize,
    pub timestamp: i64,
}

/// A combine operand (the current aggregate, the table's value, the other side's value),
/// borrowed for the duration of the call; `data` NULL: absent.
#[repr(C)]
pub struct pk_operand {
    pub data: *const u8,
    pub len: usize,
}

/// Why a callback failed on a record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_failure_kind {
    /// The user function failed: the stream thread stops (state ERROR), the uncaught handler gets
    /// the record's topic, partition and offset.
    PK_FAILURE_USER = 1,
    /// The record's key or value could not be deserialized: goes to the deserialization handler
    /// (default.deserialization.exception.handler: log and fail, log and continue, dead letter).
    PK_FAILURE_DESERIALIZATION = 2,
}

/// The results of one run_chain call, written by the callback; owned by the library, valid during
/// the call only.
pub struct pk_chain_output {
    out: ChainOutput,
    inputs: usize,
}

/// The results of one combine call (one value per input record, in order), written by the
/// callback; owned by the library, valid during the call only.
pub struct pk_combine_output {
    out: CombineOutput,
    inputs: usize,
}

/// One record of a packed output: offsets and lengths into the packed data buffer; a length of
/// -1 is Kafka's null.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pk_packed_record {
    pub input_index: usize,
    pub port: u32,
    pub key_offset: usize,
    pub key_len: i64,
    pub value_offset: usize,
    pub value_len: i64,
    pub timestamp: i64,
}

/// One value of a packed combine output: offset and length into the packed data; length -1:
/// no value (a joiner's null).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pk_packed_value {
    pub offset: usize,
    pub len: i64,
}

/// Runs a fused chain of user nodes (`chain`, `chain_len` node ids, in order; only the last may
/// have several ports) on every record of `records` (`n_records`, in order), pushing what comes
/// out to `out` with pk_chain_output_push()/pk_chain_output_push_packed(), in input order, and
/// stopping at the first record that fails (pk_chain_output_fail(); the outputs pushed are those
/// of the records before it). Called on the stream thread, once per batch and chain, never
/// concurrently for one pk_kafka_streams. Everything is borrowed for the call. It must not call
/// pk_kafka_streams_close / _free.
pub type pk_run_chain_cb = Option<
    extern "C" fn(user_data: *mut c_void, chain: *const u32, chain_len: usize, records: *const pk_stream_record, n_records: usize, out: *mut pk_chain_output),
>;

/// Runs the combine node `node` (aggregator, reducer, joiner, the topic extractor of
/// pk_topology_builder_sink_per_record) on each record of `records` with its operand (`operands[i]`,
/// absent for a key not aggregated yet, a join without partner, and always for a topic extractor),
/// pushing one value per record (pk_combine_output_push / _push_packed), or failing at a record
/// (pk_combine_output_fail). Within one call of an aggregator all records have different keys. Same thread rules
/// as pk_run_chain_cb.
pub type pk_combine_cb = Option<
    extern "C" fn(user_data: *mut c_void, node: u32, records: *const pk_stream_record, operands: *const pk_operand, n_records: usize, out: *mut pk_combine_output),
>;

/// The session merger of the session aggregation `node` (Kafka Streams' Merger): for each record,
/// whose value is the aggregate of a session being merged into the new one, the aggregate of the
/// two, `operands[i]` the aggregate merged so far (absent: the initializer's value first). Pushes
/// one value per record with pk_combine_output_push / _push_packed, or fails at a record
/// (pk_combine_output_fail). Called once per batch and merge position, all records of a call
/// having different keys; same thread rules as pk_run_chain_cb.
pub type pk_merge_cb = pk_combine_cb;

/// The results of one timestamp extractor call (one time per input record, in order), written by
/// the callback; owned by the library, valid during the call only.
pub struct pk_timestamp_output {
    out: TimestampOutput,
    inputs: usize,
}

/// The timestamp extractor of the source `source` (one with PK_TIMESTAMP_EXTRACTOR_USER): the event
/// time of each record of `records` (consecutive records of one partition as read, the record's
/// own timestamp in `timestamp`), pushed with pk_timestamp_output_push / _push_many, in order, or
/// a failure at a record (pk_timestamp_output_fail: PK_FAILURE_USER stops the application naming
/// the record's topic, partition and offset; PK_FAILURE_DESERIALIZATION goes to the
/// deserialization handler). A negative time drops the record. `partition_time` is the partition's
/// time before the first record (the largest time extracted from it so far, -1 when none): record
/// i's partition time is the largest of it and the non-negative times pushed for the records
/// before i (Kafka Streams' partitionTime argument). Once per batch; same thread rules as
/// pk_run_chain_cb.
pub type pk_extract_timestamps_cb =
    Option<extern "C" fn(user_data: *mut c_void, source: u32, records: *const pk_stream_record, n_records: usize, partition_time: i64, out: *mut pk_timestamp_output)>;

fn live_timestamps<'a>(out: *mut pk_timestamp_output) -> Result<&'a mut pk_timestamp_output> {
    // SAFETY: NULL or the pointer the library passed to the callback, used during the call.
    unsafe { out.as_mut() }.ok_or_else(|| Error::invalid("out is NULL"))
}

/// Adds the event times of the next `n` input records (`timestamps` borrowed, copied).
#[no_mangle]
pub extern "C" fn pk_timestamp_output_push_many(out: *mut pk_timestamp_output, timestamps: *const i64, n: usize) -> *mut pk_error {
    guard(|| {
        let o = live_timestamps(out)?;
        let ts = slice(timestamps, n, "timestamps")?;
        if o.out.timestamps.len() + ts.len() > o.inputs {
            return Err(Error::invalid(format!("{} timestamps for {} input records", o.out.timestamps.len() + ts.len(), o.inputs)));
        }
        o.out.timestamps.extend_from_slice(ts);
        Ok(())
    })
}

/// Adds the event time of the next input record.
#[no_mangle]
pub extern "C" fn pk_timestamp_output_push(out: *mut pk_timestamp_output, timestamp: i64) -> *mut pk_error {
    pk_timestamp_output_push_many(out, &timestamp, 1)
}

/// Records that the extractor failed on input record `input_index` (`kind`: a pk_failure_kind
/// value; the times pushed must be those of the records before it); `message` copied.
#[no_mangle]
pub extern "C" fn pk_timestamp_output_fail(out: *mut pk_timestamp_output, input_index: usize, kind: i32, message: *const c_char) -> *mut pk_error {
    guard(|| {
        let o = live_timestamps(out)?;
        o.out.failure = Some(user_failure(o.inputs, input_index, kind, message)?);
        Ok(())
    })
}

fn live_chain<'a>(out: *mut pk_chain_output) -> Result<&'a mut pk_chain_output> {
    // SAFETY: NULL or the pointer the library passed to the callback, used during the call.
    unsafe { out.as_mut() }.ok_or_else(|| Error::invalid("out is NULL"))
}

fn live_combine<'a>(out: *mut pk_combine_output) -> Result<&'a mut pk_combine_output> {
    // SAFETY: as live_chain.
    unsafe { out.as_mut() }.ok_or_else(|| Error::invalid("out is NULL"))
}

fn opt_bytes(ptr: *const u8, len: usize, what: &str) -> Result<Option<Bytes>> {
    if ptr.is_null() {
        if len != 0 {
            return Err(Error::invalid(format!("{what} is NULL (null) but its length is {len}")));
        }
        return Ok(None);
    }
    Ok(Some(Bytes::copy_from_slice(bytes(ptr, len, what)?)))
}

fn packed(data: &[u8], off: usize, len: i64, what: &str) -> Result<Option<Bytes>> {
    if len < 0 {
        return Ok(None);
    }
    let end = off.checked_add(len as usize).filter(|e| *e <= data.len());
    match end {
        Some(end) => Ok(Some(Bytes::copy_from_slice(&data[off..end]))),
        None => Err(Error::invalid(format!("{what} ({off}+{len}) is outside the packed data ({} bytes)", data.len()))),
    }
}

/// The failure a callback reports on input record `index` of `inputs`.
fn user_failure(inputs: usize, index: usize, kind: i32, message: *const c_char) -> Result<UserFailure> {
    let kind = match kind {
        1 => FailureKind::User,
        2 => FailureKind::Deserialization,
        n => return Err(Error::invalid(format!("failure kind {n} is not a pk_failure_kind"))),
    };
    let message = c_str(message, "message")?.to_string();
    if index >= inputs {
        return Err(Error::invalid(format!("input_index {index} is not below the {inputs} input records")));
    }
    Ok(UserFailure { index, kind, message })
}

/// Adds one output record of input record `input_index` on `port` (0, or the branch of a split);
/// key / value NULL: null (copied).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_chain_output_push(
    out: *mut pk_chain_output,
    input_index: usize,
    port: u32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    timestamp: i64,
) -> *mut pk_error {
    guard(|| {
        let o = live_chain(out)?;
        if input_index >= o.inputs {
            return Err(Error::invalid(format!("input_index {input_index} is not below the {} input records", o.inputs)));
        }
        let key = opt_bytes(key, key_len, "key")?;
        let value = opt_bytes(value, value_len, "value")?;
        o.out.records.push((input_index, port, StreamRecord { key, value, timestamp }));
        Ok(())
    })
}

/// Adds `n_records` output records at once, their keys and values in `data` (`data_len` bytes);
/// both arrays borrowed (copied).
#[no_mangle]
pub extern "C" fn pk_chain_output_push_packed(out: *mut pk_chain_output, data: *const u8, data_len: usize, records: *const pk_packed_record, n_records: usize) -> *mut pk_error {
    guard(|| {
        let o = live_chain(out)?;
        let data = bytes(data, data_len, "data")?;
        let recs = slice(records, n_records, "records")?;
        o.out.records.reserve(recs.len());
        for (i, r) in recs.iter().enumerate() {
            if r.input_index >= o.inputs {
                return Err(Error::invalid(format!("records[{i}].input_index {} is not below the {} input records", r.input_index, o.inputs)));
            }
            let key = packed(data, r.key_offset, r.key_len, "key")?;
            let value = packed(data, r.value_offset, r.value_len, "value")?;
            o.out.records.push((r.input_index, r.port, StreamRecord { key, value, timestamp: r.timestamp }));
        }
        Ok(())
    })
}

/// Records that the chain failed on input record `input_index` (`kind`: a pk_failure_kind value) (the outputs pushed must be those
/// of the records before it); `message` NUL-terminated (copied). One failure per call: a second
/// one replaces the first.
#[no_mangle]
pub extern "C" fn pk_chain_output_fail(out: *mut pk_chain_output, input_index: usize, kind: i32, message: *const c_char) -> *mut pk_error {
    guard(|| {
        let o = live_chain(out)?;
        o.out.failure = Some(user_failure(o.inputs, input_index, kind, message)?);
        Ok(())
    })
}

/// Adds the value for the next input record; `value` NULL: no value (copied).
#[no_mangle]
pub extern "C" fn pk_combine_output_push(out: *mut pk_combine_output, value: *const u8, value_len: usize) -> *mut pk_error {
    guard(|| {
        let o = live_combine(out)?;
        if o.out.values.len() >= o.inputs {
            return Err(Error::invalid(format!("already {} values for {} input records", o.out.values.len(), o.inputs)));
        }
        let v = opt_bytes(value, value_len, "value")?;
        o.out.values.push(v);
        Ok(())
    })
}

/// Adds `n_values` values at once from `data` (both borrowed, copied).
#[no_mangle]
pub extern "C" fn pk_combine_output_push_packed(out: *mut pk_combine_output, data: *const u8, data_len: usize, values: *const pk_packed_value, n_values: usize) -> *mut pk_error {
    guard(|| {
        let o = live_combine(out)?;
        let data = bytes(data, data_len, "data")?;
        let vals = slice(values, n_values, "values")?;
        if o.out.values.len() + vals.len() > o.inputs {
            return Err(Error::invalid(format!("{} values for {} input records", o.out.values.len() + vals.len(), o.inputs)));
        }
        for v in vals {
            let b = packed(data, v.offset, v.len, "value")?;
            o.out.values.push(b);
        }
        Ok(())
    })
}

/// Records that the combining function failed on input record `input_index` (`kind`: a
/// pk_failure_kind value) (the values pushed
/// must be those of the records before it).
#[no_mangle]
pub extern "C" fn pk_combine_output_fail(out: *mut pk_combine_output, input_index: usize, kind: i32, message: *const c_char) -> *mut pk_error {
    guard(|| {
        let o = live_combine(out)?;
        o.out.failure = Some(user_failure(o.inputs, input_index, kind, message)?);
        Ok(())
    })
}

/// The application's callbacks and their user data.
type ExtractFn = extern "C" fn(*mut c_void, u32, *const pk_stream_record, usize, i64, *mut pk_timestamp_output);
type CombineFn = extern "C" fn(*mut c_void, u32, *const pk_stream_record, *const pk_operand, usize, *mut pk_combine_output);

struct CFunctions {
    run_chain: extern "C" fn(*mut c_void, *const u32, usize, *const pk_stream_record, usize, *mut pk_chain_output),
    combine: Option<CombineFn>,
    /// The session merger, set once in state CREATED (pk_kafka_streams_set_merger).
    merge: OnceLock<CombineFn>,
    /// The timestamp extractor, set once in state CREATED (pk_kafka_streams_set_timestamp_extractor).
    extract: OnceLock<ExtractFn>,
    user_data: usize,
}

impl CFunctions {
    fn call_combine(&self, what: &str, f: CombineFn, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        let recs = c_records(input);
        let ops: Vec<pk_operand> = operands.iter().map(|o| ptr_of(o)).map(|(data, len)| pk_operand { data, len }).collect();
        let mut out = pk_combine_output { out: CombineOutput::default(), inputs: input.len() };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self.user_data as *mut c_void, node, recs.as_ptr(), ops.as_ptr(), recs.len(), &mut out)));
        if r.is_err() {
            return CombineOutput { values: Vec::new(), failure: Some(callback_panicked(what)) };
        }
        let mut o = out.out;
        if o.failure.is_none() && o.values.len() < input.len() {
            o.failure = Some(UserFailure {
                index: o.values.len(),
                kind: FailureKind::User,
                message: format!("the {what} callback gave {} values for {} records", o.values.len(), input.len()),
            });
        }
        o
    }
}

static EMPTY: [u8; 1] = [0];

fn ptr_of(b: &Option<Bytes>) -> (*const u8, usize) {
    match b {
        None => (std::ptr::null(), 0),
        Some(b) if b.is_empty() => (EMPTY.as_ptr(), 0),
        Some(b) => (b.as_ptr(), b.len()),
    }
}

fn c_records(input: &[StreamRecord]) -> Vec<pk_stream_record> {
    input
        .iter()
        .map(|r| {
            let (key, key_len) = ptr_of(&r.key);
            let (value, value_len) = ptr_of(&r.value);
            pk_stream_record { key, key_len, value, value_len, timestamp: r.timestamp }
        })
        .collect()
}

fn callback_panicked(what: &str) -> UserFailure {
    UserFailure { index: 0, kind: FailureKind::User, message: format!("the {what} callback panicked (inside polykafka)") }
}

impl UserFunctions for CFunctions {
    fn run_chain(&self, chain: &[NodeId], input: &[StreamRecord]) -> ChainOutput {
        let recs = c_records(input);
        let mut out = pk_chain_output { out: ChainOutput::default(), inputs: input.len() };
        let f = self.run_chain;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self.user_data as *mut c_void, chain.as_ptr(), chain.len(), recs.as_ptr(), recs.len(), &mut out)));
        if r.is_err() {
            return ChainOutput { records: Vec::new(), failure: Some(callback_panicked("run_chain")) };
        }
        out.out
    }

    fn combine(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        let Some(f) = self.combine else {
            return CombineOutput { values: Vec::new(), failure: Some(UserFailure { index: 0, kind: FailureKind::User, message: "the topology has a combine node (reduce, aggregate, join) but no combine callback was given".into() }) };
        };
        self.call_combine("combine", f, node, input, operands)
    }

    fn merge(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        let Some(f) = self.merge.get() else {
            let message = "the topology has a session reduce/aggregate but no merger callback was set (pk_kafka_streams_set_merger)".into();
            return CombineOutput { values: Vec::new(), failure: Some(UserFailure { index: 0, kind: FailureKind::User, message }) };
        };
        self.call_combine("merge", *f, node, input, operands)
    }

    fn extract_timestamps(&self, source: NodeId, input: &[StreamRecord], partition_time: i64) -> TimestampOutput {
        let Some(f) = self.extract.get() else {
            let message = format!("source node {source} has a user timestamp extractor but no callback was set (pk_kafka_streams_set_timestamp_extractor)");
            return TimestampOutput { timestamps: Vec::new(), failure: Some(UserFailure { index: 0, kind: FailureKind::User, message }) };
        };
        let recs = c_records(input);
        let mut out = pk_timestamp_output { out: TimestampOutput::default(), inputs: input.len() };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self.user_data as *mut c_void, source, recs.as_ptr(), recs.len(), partition_time, &mut out)));
        if r.is_err() {
            return TimestampOutput { timestamps: Vec::new(), failure: Some(callback_panicked("timestamp extractor")) };
        }
        let mut o = out.out;
        if o.failure.is_none() && o.timestamps.len() < input.len() {
            o.failure = Some(UserFailure {
                index: o.timestamps.len(),
                kind: FailureKind::User,
                message: format!("the timestamp extractor callback gave {} times for {} records", o.timestamps.len(), input.len()),
            });
        }
        o
    }
}

/// A streams application instance (Kafka Streams' KafkaStreams). Created with
/// pk_kafka_streams_new(), freed with pk_kafka_streams_free(). The functions may be called from
/// any thread; pk_kafka_streams_free must run after every other call returned, and not from a
/// callback.
pub struct pk_kafka_streams {
    streams: Arc<KafkaStreams>,
    functions: Arc<CFunctions>,
    owner: Owner,
}

/// Kafka Streams' states.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pk_streams_state {
    PK_STREAMS_CREATED = 0,
    PK_STREAMS_REBALANCING = 1,
    PK_STREAMS_RUNNING = 2,
    PK_STREAMS_PENDING_SHUTDOWN = 3,
    PK_STREAMS_NOT_RUNNING = 4,
    PK_STREAMS_PENDING_ERROR = 5,
    PK_STREAMS_ERROR = 6,
}

fn c_state(s: State) -> pk_streams_state {
    use pk_streams_state::*;
    match s {
        State::Created => PK_STREAMS_CREATED,
        State::Rebalancing => PK_STREAMS_REBALANCING,
        State::Running => PK_STREAMS_RUNNING,
        State::PendingShutdown => PK_STREAMS_PENDING_SHUTDOWN,
        State::NotRunning => PK_STREAMS_NOT_RUNNING,
        State::PendingError => PK_STREAMS_PENDING_ERROR,
        State::Error => PK_STREAMS_ERROR,
    }
}

/// Creates an instance running the topology of `builder` (taken out of it: the builder can no
/// longer be used, and is still freed with pk_topology_builder_free) with the Kafka Streams
/// properties of `config` (borrowed; application.id and bootstrap.servers required). The
/// callbacks run on the stream thread (see pk_run_chain_cb, pk_combine_cb; `combine` may be NULL
/// when the topology has no combine node) with `user_data`, which must stay valid until
/// pk_kafka_streams_free() returned. The caller frees `*out_streams` with pk_kafka_streams_free().
#[no_mangle]
pub extern "C" fn pk_kafka_streams_new(
    builder: *mut pk_topology_builder,
    config: *const pk_config,
    run_chain: pk_run_chain_cb,
    combine: pk_combine_cb,
    user_data: *mut c_void,
    out_streams: *mut *mut pk_kafka_streams,
) -> *mut pk_error {
    guard(|| {
        check_out(out_streams, "out_streams")?;
        let cfg = handle(config, "config")?;
        let run_chain = run_chain.ok_or_else(|| Error::invalid("run_chain is NULL"))?;
        let b = handle(builder as *const pk_topology_builder, "builder")?;
        let config = StreamsConfig::from_properties(cfg.props.iter().map(|(k, v)| (k.clone(), v.clone())))?;
        let tb = b
            .inner
            .lock()
            .map_err(|_| Error::invalid("the builder's lock is poisoned"))?
            .take()
            .ok_or_else(|| Error::invalid("this topology builder was already used by pk_kafka_streams_new"))?;
        let topology = tb.build()?;
        let functions = Arc::new(CFunctions { run_chain, combine, merge: OnceLock::new(), extract: OnceLock::new(), user_data: user_data as usize });
        let streams = KafkaStreams::new(topology, functions.clone() as Arc<dyn UserFunctions>, config, runtime()?.handle().clone())?;
        let s = Box::new(pk_kafka_streams { streams: Arc::new(streams), functions, owner: Owner::current() });
        out(out_streams, "out_streams", Box::into_raw(s))
    })
}

fn live<'a>(s: *const pk_kafka_streams) -> Result<&'a pk_kafka_streams> {
    let s = handle(s, "streams")?;
    s.owner.check("streams instance")?;
    Ok(s)
}

/// Called with (user_data, new state, old state) on the thread that changes the state (the stream
/// thread, or the caller of start/close). Must return quickly and must not call
/// pk_kafka_streams_close / _free.
pub type pk_streams_state_cb = Option<extern "C" fn(user_data: *mut c_void, new_state: pk_streams_state, old_state: pk_streams_state)>;

/// What stopped the stream thread, borrowed for the duration of a pk_streams_failure_cb call.
#[repr(C)]
pub struct pk_streams_failure {
    /// The source record's topic (NULL for a Kafka error of the runtime), partition and offset
    /// (-1 without a record).
    pub topic: *const c_char,
    pub partition: i32,
    pub offset: i64,
    /// 0 for a Kafka error of the runtime, else a pk_failure_kind value.
    pub kind: i32,
    pub message: *const c_char,
}

/// Called once, on the stream thread, with the error that stopped it (the instance then goes to
/// state ERROR: Kafka Streams' SHUTDOWN_CLIENT). Same rules as pk_streams_state_cb.
pub type pk_streams_failure_cb = Option<extern "C" fn(user_data: *mut c_void, failure: *const pk_streams_failure)>;

/// Sets the state listener (only in state CREATED). `user_data` must stay valid until
/// pk_kafka_streams_free() returned.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_set_state_listener(streams: *mut pk_kafka_streams, listener: pk_streams_state_cb, user_data: *mut c_void) -> *mut pk_error {
    guard(|| {
        let s = live(streams)?;
        let f = listener.ok_or_else(|| Error::invalid("listener is NULL"))?;
        let u = user_data as usize;
        s.streams.set_state_listener(Arc::new(move |new: State, old: State| f(u as *mut c_void, c_state(new), c_state(old))))
    })
}

/// Sets the uncaught exception handler (only in state CREATED), as the state listener.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_set_failure_handler(streams: *mut pk_kafka_streams, handler: pk_streams_failure_cb, user_data: *mut c_void) -> *mut pk_error {
    guard(|| {
        let s = live(streams)?;
        let f = handler.ok_or_else(|| Error::invalid("handler is NULL"))?;
        let u = user_data as usize;
        s.streams.set_uncaught_exception_handler(Arc::new(move |e: &ProcessingError| {
            let topic = e.topic.clone().map(c_string);
            let message = c_string(e.message.clone());
            let kind = match e.kind {
                None => 0,
                Some(FailureKind::User) => pk_failure_kind::PK_FAILURE_USER as i32,
                Some(FailureKind::Deserialization) => pk_failure_kind::PK_FAILURE_DESERIALIZATION as i32,
            };
            let info = pk_streams_failure {
                topic: topic.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
                partition: e.partition,
                offset: e.offset,
                kind,
                message: message.as_ptr(),
            };
            f(u as *mut c_void, &info);
        }))
    })
}

/// Sets the session merger callback (pk_merge_cb), called with the user_data of
/// pk_kafka_streams_new(); needed when the topology has a session reduce or aggregate (without it
/// such a node stops the application at its first merge, PK_FAILURE_USER). Only in state CREATED,
/// once.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_set_merger(streams: *mut pk_kafka_streams, merge: pk_merge_cb) -> *mut pk_error {
    guard(|| {
        let s = live(streams)?;
        let f = merge.ok_or_else(|| Error::invalid("merge is NULL"))?;
        if s.streams.state() != State::Created {
            return Err(Error::invalid(format!("the merger is set in state CREATED, not {:?}", s.streams.state())));
        }
        s.functions.merge.set(f).map_err(|_| Error::invalid("the merger is already set"))
    })
}

/// Sets the timestamp extractor callback (pk_extract_timestamps_cb) of the sources given
/// PK_TIMESTAMP_EXTRACTOR_USER, called with the user_data of pk_kafka_streams_new(). Only in state
/// CREATED, once.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_set_timestamp_extractor(streams: *mut pk_kafka_streams, extract: pk_extract_timestamps_cb) -> *mut pk_error {
    guard(|| {
        let s = live(streams)?;
        let f = extract.ok_or_else(|| Error::invalid("extract is NULL"))?;
        if s.streams.state() != State::Created {
            return Err(Error::invalid(format!("the timestamp extractor is set in state CREATED, not {:?}", s.streams.state())));
        }
        s.functions.extract.set(f).map_err(|_| Error::invalid("the timestamp extractor is already set"))
    })
}

/// Starts the stream thread and returns at once (state REBALANCING, then RUNNING). Only in state
/// CREATED.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_start(streams: *mut pk_kafka_streams) -> *mut pk_error {
    guard(|| live(streams)?.streams.start())
}

/// Stops processing, commits what was processed and closes the clients, waiting up to
/// `timeout_ms` (negative: no limit); `*out_finished` (may be NULL) says whether that finished in
/// time. Blocks: not from a callback. Calling it again is allowed.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_close(streams: *mut pk_kafka_streams, timeout_ms: i32, out_finished: *mut bool) -> *mut pk_error {
    guard(|| {
        let s = live(streams)?;
        check_may_block("pk_kafka_streams_close")?;
        let done = s.streams.close(timeout(timeout_ms));
        if !out_finished.is_null() {
            out(out_finished, "out_finished", done)?;
        }
        Ok(())
    })
}

/// The current state in `*out_state`.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_state(streams: *const pk_kafka_streams, out_state: *mut pk_streams_state) -> *mut pk_error {
    guard(|| {
        check_out(out_state, "out_state")?;
        let s = live(streams)?;
        out(out_state, "out_state", c_state(s.streams.state()))
    })
}

/// Closes the instance if it runs (no time limit) and frees it. NULL is allowed. After it
/// returns no callback runs any more.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_free(streams: *mut pk_kafka_streams) {
    guard_void(|| {
        if !streams.is_null() {
            // SAFETY: from pk_kafka_streams_new, freed once, after every other call returned.
            let s = unsafe { Box::from_raw(streams) };
            if s.owner.is_current() && check_may_block("pk_kafka_streams_free").is_ok() {
                s.streams.close(timeout(-1));
            }
        }
    })
}

/// One entry of a store query, borrowed from its pk_store_entries.
#[repr(C)]
pub struct pk_store_entry {
    /// The key as stored: for all()/range() of a windowed store, a windowed key (see
    /// pk_windowed_key_decode); for fetch() the queried key.
    pub key: *const u8,
    pub key_len: usize,
    pub value: *const u8,
    pub value_len: usize,
    /// fetch(): the window's start; find_sessions(): the session's start; otherwise -1.
    pub window_start: i64,
    /// find_sessions(): the session's end (inclusive); otherwise -1.
    pub window_end: i64,
}

/// The result of a store query: `len` entries. Free with pk_store_entries_free().
#[repr(C)]
pub struct pk_store_entries {
    pub entries: *const pk_store_entry,
    pub len: usize,
    /// The library's bookkeeping; do not touch.
    pub private_data: *mut c_void,
}

struct EntriesData {
    _data: Vec<(Bytes, Bytes)>,
    entries: Vec<pk_store_entry>,
}

fn entries_out(out_entries: *mut *mut pk_store_entries, data: Vec<(Bytes, Bytes, i64, i64)>) -> Result<()> {
    let entries: Vec<pk_store_entry> = data
        .iter()
        .map(|(k, v, w, e)| pk_store_entry { key: k.as_ptr(), key_len: k.len(), value: v.as_ptr(), value_len: v.len(), window_start: *w, window_end: *e })
        .collect();
    let d = Box::new(EntriesData { _data: data.into_iter().map(|(k, v, ..)| (k, v)).collect(), entries });
    let list = Box::new(pk_store_entries { entries: d.entries.as_ptr(), len: d.entries.len(), private_data: Box::into_raw(d).cast() });
    out(out_entries, "out_entries", Box::into_raw(list))
}

/// Frees a store query result. NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_store_entries_free(entries: *mut pk_store_entries) {
    guard_void(|| {
        if !entries.is_null() {
            // SAFETY: from a pk_kafka_streams_store_* call, freed once; private_data is a Box<EntriesData>.
            let l = unsafe { Box::from_raw(entries) };
            drop(unsafe { Box::from_raw(l.private_data.cast::<EntriesData>()) });
        }
    })
}

fn store_query(
    streams: *const pk_kafka_streams,
    store: *const c_char,
    out_entries: *mut *mut pk_store_entries,
    q: impl FnOnce(&pk::streams::StoreReader) -> Result<Vec<(Bytes, Bytes, i64, i64)>>,
) -> *mut pk_error {
    guard(|| {
        check_out(out_entries, "out_entries")?;
        let s = live(streams)?;
        let name = c_str(store, "store")?;
        let reader = s.streams.store(name)?;
        let data = q(&reader)?;
        entries_out(out_entries, data)
    })
}

/// get(key) of the key-value store `store` over this instance's tasks: 0 or 1 entry.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_store_get(streams: *const pk_kafka_streams, store: *const c_char, key: *const u8, key_len: usize, out_entries: *mut *mut pk_store_entries) -> *mut pk_error {
    store_query(streams, store, out_entries, |r| {
        let k = bytes(key, key_len, "key")?;
        Ok(r.get(k)?.map(|v| (Bytes::copy_from_slice(k), v, -1, -1)).into_iter().collect())
    })
}

/// range(from, to): keys from `from` to `to` (both included; NULL: unbounded on that side) in the
/// order of their bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_kafka_streams_store_range(
    streams: *const pk_kafka_streams,
    store: *const c_char,
    from: *const u8,
    from_len: usize,
    to: *const u8,
    to_len: usize,
    out_entries: *mut *mut pk_store_entries,
) -> *mut pk_error {
    store_query(streams, store, out_entries, |r| {
        let lo = if from.is_null() { None } else { Some(bytes(from, from_len, "from")?) };
        let hi = if to.is_null() { None } else { Some(bytes(to, to_len, "to")?) };
        Ok(r.range(lo, hi)?.into_iter().map(|(k, v)| (k, v, -1, -1)).collect())
    })
}

/// all(): every entry (windowed keys for a window store, session-windowed keys for a session
/// store: see pk_session_key_decode).
#[no_mangle]
pub extern "C" fn pk_kafka_streams_store_all(streams: *const pk_kafka_streams, store: *const c_char, out_entries: *mut *mut pk_store_entries) -> *mut pk_error {
    store_query(streams, store, out_entries, |r| Ok(r.all()?.into_iter().map(|(k, v)| (k, v, -1, -1)).collect()))
}

/// findSessions(key, earliest_end, latest_start) of a session store: the sessions of `key` ending
/// at `earliest_end_ms` or later and starting at `latest_start_ms` or earlier, by end then start;
/// each entry's key is the queried key, window_start / window_end the session's. Fails
/// (PK_ERROR_KIND_INVALID_ARGUMENT) for a store that is not a session store.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_kafka_streams_store_find_sessions(
    streams: *const pk_kafka_streams,
    store: *const c_char,
    key: *const u8,
    key_len: usize,
    earliest_end_ms: i64,
    latest_start_ms: i64,
    out_entries: *mut *mut pk_store_entries,
) -> *mut pk_error {
    store_query(streams, store, out_entries, |r| {
        let k = bytes(key, key_len, "key")?;
        let kb = Bytes::copy_from_slice(k);
        Ok(r.find_sessions(k, earliest_end_ms, latest_start_ms)?.into_iter().map(|(s, e, v)| (kb.clone(), v, s, e)).collect())
    })
}

/// Whether the store `store` is a session store, in `*out_session`.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_store_is_session(streams: *const pk_kafka_streams, store: *const c_char, out_session: *mut bool) -> *mut pk_error {
    guard(|| {
        check_out(out_session, "out_session")?;
        let s = live(streams)?;
        let r = s.streams.store(c_str(store, "store")?)?;
        out(out_session, "out_session", r.is_session())
    })
}

/// fetch(key, from, to) of a window store: the windows of `key` starting in [from_ms, to_ms].
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pk_kafka_streams_store_fetch(
    streams: *const pk_kafka_streams,
    store: *const c_char,
    key: *const u8,
    key_len: usize,
    from_ms: i64,
    to_ms: i64,
    out_entries: *mut *mut pk_store_entries,
) -> *mut pk_error {
    store_query(streams, store, out_entries, |r| {
        let k = bytes(key, key_len, "key")?;
        let kb = Bytes::copy_from_slice(k);
        Ok(r.fetch(k, from_ms, to_ms)?.into_iter().map(|(s, v)| (kb.clone(), v, s, -1)).collect())
    })
}

/// Whether the store `store` is a window store, in `*out_windowed`.
#[no_mangle]
pub extern "C" fn pk_kafka_streams_store_is_windowed(streams: *const pk_kafka_streams, store: *const c_char, out_windowed: *mut bool) -> *mut pk_error {
    guard(|| {
        check_out(out_windowed, "out_windowed")?;
        let s = live(streams)?;
        let r = s.streams.store(c_str(store, "store")?)?;
        out(out_windowed, "out_windowed", r.is_windowed())
    })
}

/// Counters since start, in `*out_metrics`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct pk_streams_metrics {
    pub processed: u64,
    pub late_dropped: u64,
    pub dropped: u64,
    pub deserialization_skipped: u64,
    pub dead_lettered: u64,
    pub restored: u64,
    pub commits: u64,
    /// Records dropped for a negative extracted timestamp.
    pub timestamp_dropped: u64,
}

/// The instance's counters (processed, late records dropped, records skipped by the
/// deserialization handler, ...).
#[no_mangle]
pub extern "C" fn pk_kafka_streams_metrics(streams: *const pk_kafka_streams, out_metrics: *mut pk_streams_metrics) -> *mut pk_error {
    guard(|| {
        check_out(out_metrics, "out_metrics")?;
        let m = live(streams)?.streams.metrics();
        out(
            out_metrics,
            "out_metrics",
            pk_streams_metrics {
                processed: m.processed,
                late_dropped: m.late_dropped,
                dropped: m.dropped,
                deserialization_skipped: m.deserialization_skipped,
                dead_lettered: m.dead_lettered,
                restored: m.restored,
                commits: m.commits,
                timestamp_dropped: m.timestamp_dropped,
            },
        )
    })
}
