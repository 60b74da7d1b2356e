//! `pk_producer`: produce one record or many per call, delivery reports polled in batches or
//! given to a callback, flush and close. `pk_batch`: one completion for many records.

use std::collections::VecDeque;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pk::producer::{BatchDelivery, Completion, Producer};
use pk::{Error, Header, ProducerConfig, ProducerRecord, RecordMetadata, Result};

use crate::config::pk_config;
use crate::error::{pk_error, raw};
use crate::ffi::{bytes, c_str, check_out, guard, guard_void, handle, out, slice, str_len, timeout};
use crate::runtime::{block_on, block_on_whole, runtime, Owner};

/// Lets the partitioner choose the partition of a record.
pub const PK_PARTITION_ANY: i32 = -1;

/// A record header. `key` is UTF-8 (`key_len` 0: NUL-terminated); `value` NULL is a null
/// value. Given to a produce call: borrowed for the duration of the call only. In a consumed
/// record: owned by its pk_message_batch (keys are also NUL-terminated).
#[repr(C)]
pub struct pk_header {
    pub key: *const c_char,
    pub key_len: usize,
    pub value: *const u8,
    pub value_len: usize,
}

/// A record to produce. Every pointer is borrowed for the duration of the produce call only:
/// the data is copied before the call returns.
#[repr(C)]
pub struct pk_record {
    /// The topic, UTF-8; `topic_len` 0 means NUL-terminated.
    pub topic: *const c_char,
    pub topic_len: usize,
    /// A partition number, or PK_PARTITION_ANY to let the configured `partitioner` choose.
    pub partition: i32,
    /// The key; NULL means no key (an empty key is a non-NULL pointer with length 0).
    pub key: *const u8,
    pub key_len: usize,
    /// The value; NULL means a null value (a tombstone).
    pub value: *const u8,
    pub value_len: usize,
    /// `headers_len` headers, in order; NULL when `headers_len` is 0.
    pub headers: *const pk_header,
    pub headers_len: usize,
    /// Milliseconds since the epoch; 0 means now.
    pub timestamp_ms: i64,
    /// Any value: returned unchanged in the record's delivery report.
    pub opaque: u64,
}

/// The outcome of one record.
#[repr(C)]
pub struct pk_delivery_report {
    /// The record's `opaque` value.
    pub opaque: u64,
    /// Where the record was written; -1 when it failed before a partition was chosen.
    pub partition: i32,
    /// The record's offset; -1 when it failed, or with acks=0 (the broker does not say).
    pub offset: i64,
    /// The record's timestamp (or the broker's log-append time); -1 when it failed.
    pub timestamp_ms: i64,
    /// NULL when the record was written. Otherwise: in reports from pk_producer_poll_reports()
    /// and pk_batch_wait() the caller frees it (pk_error_free, or pk_delivery_reports_clear for
    /// a whole array); in a callback it is borrowed for the duration of the call.
    pub error: *mut pk_error,
}

/// Called with each delivery report when set with pk_config_set_delivery_callback(). `report`
/// is borrowed for the duration of the call; `user` is the pointer given with the callback.
pub type pk_delivery_callback = Option<extern "C" fn(report: *const pk_delivery_report, user: *mut c_void)>;

#[derive(Clone, Copy)]
pub(crate) struct Callback {
    pub f: extern "C" fn(*const pk_delivery_report, *mut c_void),
    /// The user pointer, kept as an integer: the library never dereferences it.
    pub user: usize,
}

struct Report {
    opaque: u64,
    result: Result<RecordMetadata>,
}

fn to_c(opaque: u64, result: &Result<RecordMetadata>) -> pk_delivery_report {
    match result {
        Ok(m) => pk_delivery_report {
            opaque,
            partition: m.partition,
            offset: m.offset,
            timestamp_ms: m.timestamp,
            error: std::ptr::null_mut(),
        },
        Err(e) => pk_delivery_report { opaque, partition: -1, offset: -1, timestamp_ms: -1, error: raw(e) },
    }
}

/// Where a producer's delivery reports go.
#[derive(Default)]
struct ReportQueue {
    reports: Mutex<VecDeque<Report>>,
    ready: Condvar,
}

#[derive(Clone)]
enum Sink {
    Queue(Arc<ReportQueue>),
    Callback(Callback),
}

impl Sink {
    /// Delivers a report. For a callback this runs on the thread that completes the record (a
    /// runtime worker).
    fn deliver(&self, opaque: u64, result: Result<RecordMetadata>) {
        match self {
            Sink::Queue(q) => {
                q.reports.lock().unwrap_or_else(|p| p.into_inner()).push_back(Report { opaque, result });
                q.ready.notify_all();
            }
            Sink::Callback(cb) => {
                let report = to_c(opaque, &result);
                (cb.f)(&report, cb.user as *mut c_void);
                crate::error::pk_error_free(report.error);
            }
        }
    }

    /// Delivers a report for a record that failed before being queued: callbacks still run on
    /// a worker thread, never inside the produce call.
    fn deliver_failure(&self, opaque: u64, error: Error) {
        match self {
            Sink::Queue(_) => self.deliver(opaque, Err(error)),
            Sink::Callback(_) => match runtime() {
                Ok(rt) => {
                    let sink = self.clone();
                    rt.spawn(async move { sink.deliver(opaque, Err(error)) });
                }
                Err(_) => self.deliver(opaque, Err(error)),
            },
        }
    }
}

/// A producer. Created with pk_producer_new(), freed with pk_producer_free(). Thread-safe.
pub struct pk_producer {
    owner: Owner,
    producer: Producer,
    closed: AtomicBool,
    queue: Arc<ReportQueue>,
    sink: Sink,
}

impl pk_producer {
    fn check(&self) -> Result<()> {
        self.owner.check("producer")?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::closed("the producer is closed"));
        }
        Ok(())
    }
}

fn live<'a>(p: *const pk_producer) -> Result<&'a pk_producer> {
    let p = handle(p, "producer")?;
    p.check()?;
    Ok(p)
}

/// Creates a producer from `config` (borrowed: its properties are copied). Every key is
/// checked: an unknown key or a bad value is a PK_ERROR_KIND_CONFIG error naming it. No
/// connection is made until the first record. The caller frees `*out_producer` with
/// pk_producer_free().
#[no_mangle]
pub extern "C" fn pk_producer_new(config: *const pk_config, out_producer: *mut *mut pk_producer) -> *mut pk_error {
    guard(|| {
        let config = handle(config, "config")?;
        check_out(out_producer, "out_producer")?;
        let props = ProducerConfig::from_properties(config.props.clone())?;
        let rt = runtime()?;
        let producer = {
            let _entered = rt.enter();
            Producer::new(props)?
        };
        let queue = Arc::new(ReportQueue::default());
        let sink = match config.callback {
            Some(cb) => Sink::Callback(cb),
            None => Sink::Queue(queue.clone()),
        };
        let p = Box::new(pk_producer { owner: Owner::current(), producer, closed: AtomicBool::new(false), queue, sink });
        out(out_producer, "out_producer", Box::into_raw(p))
    })
}

/// A nullable byte buffer: NULL means absent, and then the length must be 0.
pub(crate) fn optional<'a>(ptr: *const u8, len: usize, what: impl std::fmt::Display + Copy) -> Result<Option<&'a [u8]>> {
    if ptr.is_null() {
        if len != 0 {
            return Err(Error::invalid(format!("{what} is NULL but its length is {len}")));
        }
        return Ok(None);
    }
    bytes(ptr, len, what).map(Some)
}

/// One record's parts, borrowed from the caller's memory for the call.
struct Parts<'a> {
    topic: &'a str,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [pk_header],
}

/// The last topic checked: records of one call usually share their topic's memory, which is
/// then checked (UTF-8) once.
#[derive(Default)]
struct LastTopic<'a>(Option<(*const c_char, usize, &'a str)>);

/// Checks record `i` (the names are formatted only when there is an error to report: this runs
/// per record).
fn parts<'a>(i: usize, r: &'a pk_record, last: &mut LastTopic<'a>) -> Result<Parts<'a>> {
    let topic = match last.0 {
        Some((ptr, len, topic)) if ptr == r.topic && len == r.topic_len && len > 0 => topic,
        _ => {
            let topic = str_len(r.topic, r.topic_len, format_args!("records[{i}].topic"))?;
            last.0 = Some((r.topic, r.topic_len, topic));
            topic
        }
    };
    let key = optional(r.key, r.key_len, format_args!("records[{i}].key"))?;
    let value = optional(r.value, r.value_len, format_args!("records[{i}].value"))?;
    let headers = slice(r.headers, r.headers_len, format_args!("records[{i}].headers"))?;
    for (j, h) in headers.iter().enumerate() {
        header(h, format_args!("records[{i}].headers[{j}]"))?;
    }
    Ok(Parts { topic, key, value, headers })
}

fn header(h: &pk_header, what: impl std::fmt::Display + Copy) -> Result<(&str, Option<&[u8]>)> {
    let k = str_len(h.key, h.key_len, format_args!("{what}.key"))?;
    Ok((k, optional(h.value, h.value_len, format_args!("{what}.value"))?))
}

/// Payload bytes copied into shared blocks: one copy per payload, and no allocation that grows
/// with the size of a call (a block of a call of 10,000 records is freed as soon as the core
/// has appended its records to their batches).
#[derive(Default)]
struct Blocks(BytesMut);

const BLOCK: usize = 64 * 1024;

impl Blocks {
    fn put(&mut self, data: &[u8]) -> Bytes {
        if self.0.capacity() - self.0.len() < data.len() {
            self.0 = BytesMut::with_capacity(data.len().max(BLOCK));
        }
        self.0.extend_from_slice(data);
        self.0.split().freeze()
    }
}

/// Checks every record first (a bad one fails the call and nothing is queued), then gives the
/// core's records one by one as the core takes them, with their opaque values.
fn convert(records: &[pk_record]) -> Result<impl ExactSizeIterator<Item = (ProducerRecord, u64)> + '_> {
    let mut last = LastTopic::default();
    for (i, r) in records.iter().enumerate() {
        parts(i, r, &mut last)?;
    }
    let mut blocks = Blocks::default();
    Ok(records.iter().enumerate().map(move |(i, r)| {
        let p = parts(i, r, &mut last).expect("checked before");
        let record = ProducerRecord {
            topic: p.topic.to_string(),
            partition: (r.partition >= 0).then_some(r.partition),
            key: p.key.map(|k| blocks.put(k)),
            value: p.value.map(|v| blocks.put(v)),
            headers: p
                .headers
                .iter()
                .map(|h| {
                    let (k, v) = header(h, "header").expect("checked before");
                    Header { key: k.to_string(), value: v.map(|v| blocks.put(v)) }
                })
                .collect(),
            timestamp: (r.timestamp_ms != 0).then_some(r.timestamp_ms),
        };
        (record, r.opaque)
    }))
}

/// Queues one record (borrowed: copied before returning). Blocks while the topic's metadata is
/// fetched or the buffer is full, at most `max.block.ms`. Returns an error if the record could
/// not be queued (then no report follows); otherwise its report comes later through
/// pk_producer_poll_reports() or the delivery callback.
#[no_mangle]
pub extern "C" fn pk_producer_produce(producer: *mut pk_producer, record: *const pk_record) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        let record = handle(record, "record")?;
        let (record, opaque) = convert(std::slice::from_ref(record))?.next().expect("one record");
        let sink = p.sink.clone();
        let completion = Completion::Callback(Box::new(move |r| sink.deliver(opaque, r)));
        block_on("pk_producer_produce", p.producer.send_with(record, completion, true))?
    })
}

/// Queues `records_len` records (borrowed: copied once before returning) with one call. Every
/// record gets exactly one delivery report, through pk_producer_poll_reports() or the delivery
/// callback, including records that fail before being queued (too large, unknown partition).
/// `*out_queued` (may be NULL) receives the number queued without error. The call itself fails
/// only for a bad handle or argument, and then queues nothing.
#[no_mangle]
pub extern "C" fn pk_producer_produce_batch(
    producer: *mut pk_producer,
    records: *const pk_record,
    records_len: usize,
    out_queued: *mut usize,
) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        let records = slice(records, records_len, "records")?;
        let opaques: Vec<u64> = records.iter().map(|r| r.opaque).collect();
        let records = convert(records)?.map(|(record, opaque)| {
            let sink = p.sink.clone();
            (record, Completion::Callback(Box::new(move |r| sink.deliver(opaque, r))))
        });
        let queued = block_on("pk_producer_produce_batch", p.producer.send_each(records, true, |i, e| p.sink.deliver_failure(opaques[i], e)))?;
        // A closed producer queues nothing: each record still gets its report.
        let queued = queued.unwrap_or_else(|e| {
            opaques.iter().for_each(|&opaque| p.sink.deliver_failure(opaque, e.clone()));
            0
        });
        if !out_queued.is_null() {
            out(out_queued, "out_queued", queued)?;
        }
        Ok(())
    })
}

/// Moves up to `max` delivery reports into `out_reports` (an array of at least `max`, written,
/// not read), waiting up to `timeout_ms` (negative: without limit, 0: not at all) for the
/// first. `*out_count` receives how many were written. The caller frees each report's error
/// (pk_delivery_reports_clear frees them all). Gives nothing when the producer has a delivery
/// callback.
#[no_mangle]
pub extern "C" fn pk_producer_poll_reports(
    producer: *mut pk_producer,
    out_reports: *mut pk_delivery_report,
    max: usize,
    timeout_ms: i32,
    out_count: *mut usize,
) -> *mut pk_error {
    guard(|| {
        let p = handle(producer as *const pk_producer, "producer")?;
        p.owner.check("producer")?;
        check_out(out_count, "out_count")?;
        if max > 0 {
            check_out(out_reports, "out_reports")?;
        }
        if timeout_ms != 0 {
            crate::runtime::check_may_block("pk_producer_poll_reports with a timeout")?;
        }
        let deadline = Instant::now() + timeout(timeout_ms);
        let mut q = p.queue.reports.lock().unwrap_or_else(|e| e.into_inner());
        while q.is_empty() && max > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            q = p.queue.ready.wait_timeout(q, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        let n = q.len().min(max);
        for (i, report) in q.drain(..n).enumerate() {
            // SAFETY: out_reports has room for `max` reports (the caller's contract), i < max.
            unsafe { out_reports.add(i).write(to_c(report.opaque, &report.result)) };
        }
        out(out_count, "out_count", n)
    })
}

/// Frees the errors of `reports_len` reports in `reports` (borrowed) and sets them to NULL.
/// NULL with length 0 is allowed.
#[no_mangle]
pub extern "C" fn pk_delivery_reports_clear(reports: *mut pk_delivery_report, reports_len: usize) {
    guard_void(|| {
        if reports.is_null() {
            return;
        }
        for i in 0..reports_len {
            // SAFETY: `reports_len` reports at `reports` (the caller's contract).
            let r = unsafe { &mut *reports.add(i) };
            crate::error::pk_error_free(r.error);
            r.error = std::ptr::null_mut();
        }
    })
}

/// Sends the records queued now without waiting for linger.ms, and returns at once (records
/// produced later linger as usual); their outcomes arrive as always. pk_producer_flush() also
/// waits for them.
#[no_mangle]
pub extern "C" fn pk_producer_send_now(producer: *mut pk_producer) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        p.producer.send_now();
        Ok(())
    })
}

/// Sends every queued record now (ignoring linger.ms) and waits until all completed, at most
/// `timeout_ms` (negative: without limit); a PK_ERROR_KIND_TIMEOUT error says how many are left.
#[no_mangle]
pub extern "C" fn pk_producer_flush(producer: *mut pk_producer, timeout_ms: i32) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        block_on("pk_producer_flush", p.producer.flush(timeout(timeout_ms)))?
    })
}

/// A statistics snapshot of the producer in `*out_json`: JSON text in librdkafka's statistics
/// layout (the fields the README's "Statistics" section lists). The caller frees `*out_json`
/// with pk_string_free().
#[no_mangle]
pub extern "C" fn pk_producer_stats_json(producer: *mut pk_producer, out_json: *mut *mut c_char) -> *mut pk_error {
    crate::stats::json_out(out_json, || Ok(live(producer)?.producer.stats().to_string()))
}

/// The producer's batch, request and connection durations and sizes since the last call, as
/// JSON in `*out_json`: `{"batch_queue_us": {"count", "sum", "min", "max"}, "batch_us",
/// "batch_msgs", "batch_bytes", "produce_us", "throttle_ms", "connect_us", ..., "retries": n}`
/// (kafka-go's Writer.Stats() summaries). The call starts new windows. The caller frees
/// `*out_json` with pk_string_free().
#[no_mangle]
pub extern "C" fn pk_producer_stats_windows_json(producer: *mut pk_producer, out_json: *mut *mut c_char) -> *mut pk_error {
    crate::stats::json_out(out_json, || Ok(live(producer)?.producer.take_stats_windows().to_string()))
}

/// The number of records queued or in flight, not yet completed, in `*out_count`.
#[no_mangle]
pub extern "C" fn pk_producer_in_flight(producer: *mut pk_producer, out_count: *mut usize) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        out(out_count, "out_count", p.producer.in_flight_count())
    })
}

/// The number of partitions of `topic` (NUL-terminated, borrowed) in `*out_count`, from the
/// metadata cache or fetched. Waits up to max.block.ms while the topic is being created, is
/// unknown, or no broker can be reached; then fails with the last error (an unknown topic:
/// UNKNOWN_TOPIC_OR_PARTITION, not retriable). A pk_cancel token in scope ends the wait.
#[no_mangle]
pub extern "C" fn pk_producer_partition_count(
    producer: *mut pk_producer,
    topic: *const c_char,
    out_count: *mut i32,
) -> *mut pk_error {
    guard(|| partition_count(producer, topic, out_count, "pk_producer_partition_count", false))
}

/// As pk_producer_partition_count(), but fails at once, as kafka-go's Writer does, when no
/// broker can be reached (a PK_ERROR_KIND_CONNECTION error: connection refused, unknown host)
/// or the topic does not exist and allow.auto.create.topics is false
/// (UNKNOWN_TOPIC_OR_PARTITION).
#[no_mangle]
pub extern "C" fn pk_producer_partition_count_fail_fast(
    producer: *mut pk_producer,
    topic: *const c_char,
    out_count: *mut i32,
) -> *mut pk_error {
    guard(|| partition_count(producer, topic, out_count, "pk_producer_partition_count_fail_fast", true))
}

fn partition_count(producer: *mut pk_producer, topic: *const c_char, out_count: *mut i32, what: &str, fail_fast: bool) -> Result<()> {
    let p = live(producer)?;
    let topic = c_str(topic, "topic")?;
    check_out(out_count, "out_count")?;
    let n = block_on(what, p.producer.partition_count(topic, fail_fast))??;
    let n = i32::try_from(n).map_err(|_| Error::new(pk::ErrorKind::Protocol, format!("topic '{topic}' has {n} partitions")))?;
    out(out_count, "out_count", n)
}

/// Delivers what is queued, waiting at most `timeout_ms` (negative: without limit), then fails
/// whatever is left with PK_ERROR_KIND_CLOSED (their reports say so). Idempotent: closing a
/// closed producer succeeds. Later calls on the handle fail with PK_ERROR_KIND_CLOSED, except
/// pk_producer_poll_reports, which still hands out the remaining reports. The handle must still
/// be freed with pk_producer_free().
#[no_mangle]
pub extern "C" fn pk_producer_close(producer: *mut pk_producer, timeout_ms: i32) -> *mut pk_error {
    guard(|| {
        let p = handle(producer as *const pk_producer, "producer")?;
        p.owner.check("producer")?;
        crate::runtime::check_may_block("pk_producer_close")?;
        if p.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        block_on("pk_producer_close", p.producer.close(timeout(timeout_ms)))?
    })
}

/// Frees a producer. `producer` is consumed; NULL is allowed. If it was not closed, it is
/// closed without waiting: records not yet delivered fail with PK_ERROR_KIND_CLOSED (call
/// pk_producer_flush or pk_producer_close first to deliver them). Undelivered queued reports are
/// dropped.
#[no_mangle]
pub extern "C" fn pk_producer_free(producer: *mut pk_producer) {
    guard_void(|| {
        if producer.is_null() {
            return;
        }
        // SAFETY: a pointer from pk_producer_new, freed once, after every other call returned.
        let p = unsafe { Box::from_raw(producer) };
        if p.owner.check("producer").is_err() {
            // Created in the parent before fork(): its runtime does not exist here.
            std::mem::forget(p);
            return;
        }
        if !p.closed.swap(true, Ordering::AcqRel) {
            let producer = p.producer.clone();
            if block_on_whole("pk_producer_free", producer.close(Duration::ZERO)).is_err() {
                if let Ok(rt) = runtime() {
                    rt.spawn(async move {
                        let _ = producer.close(Duration::ZERO).await;
                    });
                }
            }
        }
        drop(p);
    })
}

/// One completion for the records of one pk_producer_send_batch() call. Freed with
/// pk_batch_free().
pub struct pk_batch {
    owner: Owner,
    opaques: Vec<u64>,
    state: Mutex<BatchState>,
}

enum BatchState {
    Pending(BatchDelivery),
    Done(Vec<Result<RecordMetadata>>),
}

/// Queues `records_len` records (borrowed: copied once before returning) whose outcomes are
/// collected in one batch, instead of going to the report queue or callback: one wait for the
/// whole batch. The caller frees `*out_batch` with pk_batch_free(), which may be done before it
/// completes (the records still go).
#[no_mangle]
pub extern "C" fn pk_producer_send_batch(
    producer: *mut pk_producer,
    records: *const pk_record,
    records_len: usize,
    out_batch: *mut *mut pk_batch,
) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        check_out(out_batch, "out_batch")?;
        let records = slice(records, records_len, "records")?;
        let opaques = records.iter().map(|r| r.opaque).collect();
        let records = convert(records)?.map(|(r, _)| r);
        let delivery = block_on("pk_producer_send_batch", p.producer.send_batch_iter(records))??;
        let batch = Box::new(pk_batch { owner: Owner::current(), opaques, state: Mutex::new(BatchState::Pending(delivery)) });
        out(out_batch, "out_batch", Box::into_raw(batch))
    })
}

/// The number of records in the batch in `*out_count`.
#[no_mangle]
pub extern "C" fn pk_batch_len(batch: *const pk_batch, out_count: *mut usize) -> *mut pk_error {
    guard(|| out(out_count, "out_count", handle(batch, "batch")?.opaques.len()))
}

/// Waits up to `timeout_ms` (negative: without limit) for every record of the batch to
/// complete, then writes one report per record, in the order given, into `out_reports` (an
/// array of at least `reports_cap`; at most `reports_cap` are written) and their number into
/// `*out_count`. Each call gives fresh reports whose errors the caller frees
/// (pk_delivery_reports_clear). If the batch is not complete in time: a PK_ERROR_KIND_TIMEOUT
/// error, and the wait may be repeated.
#[no_mangle]
pub extern "C" fn pk_batch_wait(
    batch: *mut pk_batch,
    timeout_ms: i32,
    out_reports: *mut pk_delivery_report,
    reports_cap: usize,
    out_count: *mut usize,
) -> *mut pk_error {
    guard(|| {
        let b = handle(batch as *const pk_batch, "batch")?;
        b.owner.check("batch")?;
        check_out(out_count, "out_count")?;
        if reports_cap > 0 {
            check_out(out_reports, "out_reports")?;
        }
        let mut state = b.state.lock().unwrap_or_else(|e| e.into_inner());
        if let BatchState::Pending(delivery) = &mut *state {
            let limit = timeout(timeout_ms);
            let waited = block_on("pk_batch_wait", async { tokio::time::timeout(limit, delivery).await })?;
            match waited {
                Ok(results) => *state = BatchState::Done(results),
                Err(_) => return Err(Error::timeout(format!("the batch did not complete within {timeout_ms} ms"))),
            }
        }
        let BatchState::Done(results) = &*state else { unreachable!() };
        let n = results.len().min(reports_cap);
        for (i, (result, opaque)) in results.iter().zip(&b.opaques).take(n).enumerate() {
            // SAFETY: out_reports has room for reports_cap reports; i < reports_cap.
            unsafe { out_reports.add(i).write(to_c(*opaque, result)) };
        }
        out(out_count, "out_count", n)
    })
}

/// Frees a batch. `batch` is consumed; NULL is allowed. Records not yet completed still go;
/// their outcomes are dropped.
#[no_mangle]
pub extern "C" fn pk_batch_free(batch: *mut pk_batch) {
    guard_void(|| {
        if !batch.is_null() {
            // SAFETY: a pointer from pk_producer_send_batch, freed once.
            drop(unsafe { Box::from_raw(batch) });
        }
    })
}

/// Registers the producer's `transactional.id` with its coordinator (fencing any older producer
/// with the same id) and recovers or aborts what that one left open. Call once, before the
/// first transaction; retried within `timeout_ms` (negative: without limit). Needs
/// `transactional.id` in the configuration.
#[no_mangle]
pub extern "C" fn pk_producer_init_transactions(producer: *mut pk_producer, timeout_ms: i32) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        block_on("pk_producer_init_transactions", p.producer.init_transactions(timeout(timeout_ms)))?
    })
}

/// Starts a transaction: records produced until commit or abort belong to it. Does not block.
#[no_mangle]
pub extern "C" fn pk_producer_begin_transaction(producer: *mut pk_producer) -> *mut pk_error {
    guard(|| live(producer)?.producer.begin_transaction())
}

/// Adds consumer offsets to the current transaction: they are committed to the group of
/// `metadata` if and only if the transaction commits (consume-transform-produce, exactly
/// once). `offsets` (borrowed) are the next offsets to read (last processed + 1);
/// `metadata` (borrowed) comes from pk_consumer_group_metadata() or pk_group_metadata_new().
#[no_mangle]
pub extern "C" fn pk_producer_send_offsets_to_transaction(
    producer: *mut pk_producer,
    offsets: *const crate::consumer::pk_topic_partition,
    offsets_len: usize,
    metadata: *const crate::consumer::pk_group_metadata,
    timeout_ms: i32,
) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        let list = crate::consumer::offsets_arg(offsets, offsets_len)?;
        let meta = handle(metadata, "metadata")?;
        block_on(
            "pk_producer_send_offsets_to_transaction",
            p.producer.send_offsets_to_transaction(&list, &meta.meta, timeout(timeout_ms)),
        )?
    })
}

/// Delivers every record of the transaction, then commits it, within `timeout_ms`. When a
/// record failed, the error says so with pk_error_txn_requires_abort() true: call
/// pk_producer_abort_transaction().
#[no_mangle]
pub extern "C" fn pk_producer_commit_transaction(producer: *mut pk_producer, timeout_ms: i32) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        block_on("pk_producer_commit_transaction", p.producer.commit_transaction(timeout(timeout_ms)))?
    })
}

/// Aborts the transaction: records not yet sent fail (their reports say so) and what was
/// written is discarded for read_committed consumers; offsets sent are not committed.
#[no_mangle]
pub extern "C" fn pk_producer_abort_transaction(producer: *mut pk_producer, timeout_ms: i32) -> *mut pk_error {
    guard(|| {
        let p = live(producer)?;
        block_on("pk_producer_abort_transaction", p.producer.abort_transaction(timeout(timeout_ms)))?
    })
}
