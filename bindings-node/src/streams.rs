//! Streams' native half (issue #17): the core's topology builder and `KafkaStreams`, and the
//! core's `UserFunctions` implemented over a threadsafe function into the JS runner
//! (`lib/streams.js`).
//!
//! The stream thread (a Rust thread of the core) makes ONE call per batch and fused chain (or
//! combining node): it queues the records on the JS thread and blocks on a channel until the
//! runner's return value is converted back: the reply itself, or a Promise of it when a user
//! function returned a thenable (the channel then gets the reply when the promise settles). The
//! runner never throws (a user function's exception or rejection becomes a failure with the
//! record's index). `close()` runs off the JS
//! thread (a promise), so the JS thread keeps answering the stream thread's last calls while the
//! core stops; a call that cannot be queued any more (the function was released) fails at once.

use std::sync::mpsc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{within_runtime_if_available, Buffer, FromNapiValue};
use napi::threadsafe_function::{ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsFunction, JsObject, JsUnknown, NapiRaw, NapiValue, Result, Status};
use napi_derive::napi;
use polykafka::streams::{
    AggregateKind, BufferConfig, ChainOutput, CombineOutput, FailureKind, JoinKind, JoinWindows, KafkaStreams, NodeId, ProcessingError, SessionWindows,
    StreamRecord, StreamsConfig, TimeWindows, TimestampExtractor, TimestampOutput, TopologyBuilder, UserFailure, UserFunctions,
};

use crate::error::{self, IntoNapi};

fn taken() -> napi::Error {
    error::to_napi(polykafka::Error::invalid("this topology was already built"))
}

/// The core's `TopologyBuilder`; node ids are numbers.
#[napi]
pub struct NativeTopologyBuilder {
    builder: Mutex<Option<TopologyBuilder>>,
}

impl NativeTopologyBuilder {
    fn with<T>(&self, f: impl FnOnce(&mut TopologyBuilder) -> polykafka::Result<T>) -> Result<T> {
        let mut g = self.builder.lock().map_err(|_| taken())?;
        let b = g.as_mut().ok_or_else(taken)?;
        f(b).napi()
    }
}

fn invalid(message: String) -> napi::Error {
    error::to_napi(polykafka::Error::invalid(message))
}

#[napi]
impl NativeTopologyBuilder {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeTopologyBuilder { builder: Mutex::new(Some(TopologyBuilder::new())) }
    }
    /// The aggregation's store: `materialized`, else Kafka Streams' default name from the
    /// core's counter (see `TopologyBuilder`).
    #[napi(catch_unwind)]
    pub fn aggregate_store_name(&self, materialized: Option<String>, reduce: bool) -> Result<String> {
        self.with(|b| Ok(b.aggregate_store_name(materialized.as_deref(), reduce)))
    }
    /// Re-encoding with other serdes: a node Kafka Streams does not have (takes no name index).
    #[napi(catch_unwind)]
    pub fn serde(&self, parent: u32) -> Result<u32> {
        self.with(|b| b.serde(parent))
    }
    /// [kind, name] of the stores and repartition topics so far (the core's `internal_names`).
    #[napi(catch_unwind)]
    pub fn internal_names(&self) -> Result<Vec<Vec<String>>> {
        self.with(|b| Ok(b.internal_names().into_iter().map(|(k, n)| vec![k.to_string(), n]).collect()))
    }
    #[napi(catch_unwind)]
    pub fn source(&self, topics: Vec<String>) -> Result<u32> {
        let t: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.with(|b| b.source(&t))
    }
    /// The source's timestamp extractor: a built-in by its Kafka Streams name, or "User" (the
    /// runner's function for the node).
    #[napi(catch_unwind)]
    pub fn timestamp_extractor(&self, source: u32, name: String) -> Result<()> {
        let x = if name == "User" { TimestampExtractor::User } else { TimestampExtractor::from_name(&name).ok_or_else(|| invalid(format!("unknown timestamp extractor '{name}'")))? };
        self.with(|b| b.timestamp_extractor(source, x))
    }
    #[napi(catch_unwind)]
    pub fn user(&self, parent: u32) -> Result<u32> {
        self.with(|b| b.user(parent))
    }
    /// A user node with `ports` output ports (`split()`); `branch` is the stream of one port.
    #[napi(catch_unwind)]
    pub fn split(&self, parent: u32, ports: u32) -> Result<u32> {
        self.with(|b| b.split(parent, ports))
    }
    #[napi(catch_unwind)]
    pub fn branch(&self, split: u32, port: u32) -> Result<u32> {
        self.with(|b| b.branch(split, port))
    }
    #[napi(catch_unwind)]
    pub fn merge(&self, a: u32, b: u32) -> Result<u32> {
        self.with(|x| x.merge(a, b))
    }
    #[napi(catch_unwind)]
    pub fn sink(&self, parent: u32, topic: String) -> Result<u32> {
        self.with(|b| b.sink(parent, &topic))
    }
    /// `KStream.repartition()` (name default Kafka Streams' generated one).
    #[napi(catch_unwind)]
    pub fn repartition_stream(&self, parent: u32, name: Option<String>) -> Result<u32> {
        self.with(|b| b.repartition_stream(parent, name.as_deref()))
    }
    /// A user node that may change keys (map, flatMap, selectKey).
    #[napi(catch_unwind)]
    pub fn mark_key_changing(&self, node: u32) -> Result<()> {
        self.with(|b| b.mark_key_changing(node))
    }
    /// The node an aggregation reads: `node`, or a repartition of it named `name` when keys
    /// changed upstream (see the core's `TopologyBuilder::grouped`).
    #[napi(catch_unwind)]
    pub fn grouped(&self, node: u32, name: String) -> Result<u32> {
        self.with(|b| b.grouped(node, &name))
    }
    /// `to()` with a topic per record: the node's combining function returns the topic name.
    #[napi(catch_unwind)]
    pub fn sink_per_record(&self, parent: u32) -> Result<u32> {
        self.with(|b| b.sink_per_record(parent))
    }
    #[napi(catch_unwind)]
    pub fn repartition(&self, parent: u32, name: String) -> Result<u32> {
        self.with(|b| b.repartition(parent, &name))
    }
    /// `kind`: "count" or "combine"; `windows`: [sizeMs, advanceMs, graceMs] or null.
    #[napi(catch_unwind)]
    pub fn aggregate(&self, parent: u32, store: String, kind: String, windows: Option<Vec<i64>>) -> Result<u32> {
        let kind = match kind.as_str() {
            "count" => AggregateKind::Count,
            "combine" => AggregateKind::Combine,
            other => return Err(invalid(format!("unknown aggregation kind '{other}'"))),
        };
        let windows = match windows.as_deref() {
            None => None,
            Some(&[size, advance, grace]) => Some(TimeWindows::of_size_and_grace(size, grace).and_then(|w| w.advance_by(advance)).napi()?),
            Some(_) => return Err(invalid("windows are [sizeMs, advanceMs, graceMs]".into())),
        };
        self.with(|b| b.aggregate(parent, &store, kind, windows))
    }
    /// `windowedBy(SessionWindows...)` then count ("count") or reduce/aggregate ("combine").
    #[napi(catch_unwind)]
    pub fn session_aggregate(&self, parent: u32, store: String, kind: String, gap_ms: i64, grace_ms: i64) -> Result<u32> {
        let kind = match kind.as_str() {
            "count" => AggregateKind::Count,
            "combine" => AggregateKind::Combine,
            other => return Err(invalid(format!("unknown aggregation kind '{other}'"))),
        };
        let windows = SessionWindows::of_inactivity_gap_and_grace(gap_ms, grace_ms).napi()?;
        self.with(|b| b.session_aggregate(parent, &store, kind, windows))
    }
    #[napi(catch_unwind)]
    pub fn to_stream(&self, table: u32) -> Result<u32> {
        self.with(|b| b.to_stream(table))
    }
    /// KTable filter / filterNot (`filter` true) or mapValues over the table `table`.
    #[napi(catch_unwind)]
    pub fn table_user(&self, table: u32, filter: bool) -> Result<u32> {
        self.with(|b| b.table_user(table, filter))
    }
    /// `builder.table(topic)`: its source and table nodes, and the table's store.
    #[napi(catch_unwind)]
    pub fn table(&self, topic: String, materialized: Option<String>) -> Result<TableNodes> {
        self.with(|b| b.table(&topic, materialized.as_deref()).map(|(source, table, store)| TableNodes { source, table, store }))
    }
    #[napi(catch_unwind)]
    pub fn join_table(&self, stream: u32, table: u32, left: bool) -> Result<u32> {
        self.with(|b| b.join_table(stream, table, left))
    }
    /// Stream-stream join; `kind`: "inner", "left" or "outer"; `name`: the stores' base name.
    /// Returns [this side node, other side node, joined stream node].
    #[allow(clippy::too_many_arguments)]
    #[napi(catch_unwind)]
    pub fn stream_join(&self, this: u32, other: u32, before_ms: i64, after_ms: i64, grace_ms: i64, kind: String, name: Option<String>) -> Result<Vec<u32>> {
        let kind = match kind.as_str() {
            "inner" => JoinKind::Inner,
            "left" => JoinKind::Left,
            "outer" => JoinKind::Outer,
            other => return Err(invalid(format!("unknown join kind '{other}'"))),
        };
        let windows = JoinWindows::new(before_ms, after_ms, grace_ms).napi()?;
        let n = self.with(|b| b.stream_join(this, other, windows, kind, name.as_deref()))?;
        Ok(vec![n.this, n.other, n.joined])
    }
    /// `suppress(untilWindowCloses(...))` of a windowed table, named `name` (its buffer store
    /// `<name>-store`; null: Kafka Streams' default); returns the node.
    #[napi(catch_unwind)]
    pub fn suppress(&self, table: u32, name: Option<String>, max_records: Option<i64>, max_bytes: Option<i64>) -> Result<u32> {
        let bound = |n: Option<i64>, what: &str| match n {
            Some(n) if n <= 0 => Err(invalid(format!("{what} must be positive, got {n}"))),
            n => Ok(n.map(|n| n as u64)),
        };
        let buffer = BufferConfig { max_records: bound(max_records, "maxRecords")?, max_bytes: bound(max_bytes, "maxBytes")? };
        self.with(|b| b.suppress(table, name.as_deref(), buffer).map(|(node, _)| node))
    }
}

impl Default for NativeTopologyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// One call of the runner: a fused chain (`operands` None), a combining node, or a source's
/// timestamp extractor (`partition_time` Some).
struct Call {
    nodes: Vec<NodeId>,
    records: Vec<StreamRecord>,
    operands: Option<Vec<Option<Bytes>>>,
    /// A session merger's call (the records' values are the merged sessions' aggregates).
    merge: bool,
    partition_time: Option<i64>,
}

/// What a call's reply holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Chain,
    Combine,
    Extract,
}

impl Call {
    fn mode(&self) -> Mode {
        match (&self.operands, self.partition_time) {
            (_, Some(_)) => Mode::Extract,
            (None, None) => Mode::Chain,
            (Some(_), None) => Mode::Combine,
        }
    }
}

/// What the runner returns (JS object, camelCase): for a chain, the output records as parallel
/// arrays (`index` of the input record, `port`, `key`, `value`, `timestamp`); for a combining
/// node, `value` alone; for a timestamp extractor, `timestamp` alone (`value` empty); and the
/// failure that stopped the batch, if any.
#[napi(object)]
pub struct RunnerReply {
    pub index: Option<Vec<u32>>,
    pub port: Option<Vec<u32>>,
    pub key: Option<Vec<Option<Buffer>>>,
    pub value: Vec<Option<Buffer>>,
    pub timestamp: Option<Vec<i64>>,
    pub failure_index: Option<u32>,
    /// "user" or "deserialization".
    pub failure_kind: Option<String>,
    pub failure_message: Option<String>,
}

/// The runner's return value, converted without ever failing the threadsafe call (napi aborts
/// the process when the conversion of a return value fails): the reply, or the Promise of it
/// when a user function of the batch returned a thenable (the runner then settles the rest of
/// the batch asynchronously and the promise resolves to the reply; it never rejects).
enum Reply {
    Ready(Result<RunnerReply>),
    /// The promise, valid only inside the threadsafe call's callback (same handle scope).
    Pending(napi::sys::napi_env, napi::sys::napi_value),
}

impl FromNapiValue for Reply {
    unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> Result<Self> {
        let mut promise = false;
        if napi::sys::napi_is_promise(env, value, &mut promise) == napi::sys::Status::napi_ok && promise {
            return Ok(Reply::Pending(env, value));
        }
        Ok(Reply::Ready(RunnerReply::from_napi_value(env, value)))
    }
}

type Settled = std::result::Result<Converted, String>;

fn settled(reply: Result<RunnerReply>, mode: Mode) -> Settled {
    match reply {
        Ok(r) => convert(r, mode),
        Err(e) => Err(format!("bad reply: {e}")),
    }
}

/// `promise.then(resolved, rejected)`, each sending what it got to `tx` (the stream thread's
/// wait); called on the JS thread inside the threadsafe call's callback.
unsafe fn on_settled(env: napi::sys::napi_env, promise: napi::sys::napi_value, mode: Mode, tx: mpsc::SyncSender<Settled>) -> Result<()> {
    let env = Env::from_raw(env);
    let promise = JsObject::from_raw_unchecked(env.raw(), promise);
    let ok_tx = tx.clone();
    let resolved = env.create_function_from_closure("resolved", move |ctx| {
        let v: JsUnknown = ctx.get(0)?;
        let r = unsafe { RunnerReply::from_napi_value(ctx.env.raw(), v.raw()) };
        let _ = ok_tx.try_send(settled(r, mode));
        ctx.env.get_undefined()
    })?;
    let rejected = env.create_function_from_closure("rejected", move |ctx| {
        let reason = ctx.get::<JsUnknown>(0).and_then(|v| v.coerce_to_string()).and_then(|s| s.into_utf8()).and_then(|s| s.into_owned());
        let _ = tx.try_send(Err(format!("the batch's promise was rejected: {}", reason.unwrap_or_default())));
        ctx.env.get_undefined()
    })?;
    let then: JsFunction = promise.get_named_property("then")?;
    then.call(Some(&promise), &[resolved, rejected])?;
    Ok(())
}

fn bytes(b: Option<Buffer>) -> Option<Bytes> {
    b.map(|b| Bytes::copy_from_slice(&b))
}

/// The reply as the core's outputs.
#[derive(Default)]
struct Converted {
    records: Vec<(usize, u32, StreamRecord)>,
    values: Vec<Option<Bytes>>,
    timestamps: Vec<i64>,
    failure: Option<UserFailure>,
}

fn convert(r: RunnerReply, mode: Mode) -> std::result::Result<Converted, String> {
    let failure = match r.failure_index {
        None => None,
        Some(index) => {
            let kind = if r.failure_kind.as_deref() == Some("deserialization") { FailureKind::Deserialization } else { FailureKind::User };
            Some(UserFailure { index: index as usize, kind, message: r.failure_message.unwrap_or_default() })
        }
    };
    match mode {
        Mode::Combine => return Ok(Converted { values: r.value.into_iter().map(bytes).collect(), failure, ..Default::default() }),
        Mode::Extract => return Ok(Converted { timestamps: r.timestamp.unwrap_or_default(), failure, ..Default::default() }),
        Mode::Chain => {}
    }
    let (Some(index), Some(port), Some(key), Some(ts)) = (r.index, r.port, r.key, r.timestamp) else {
        return Err("the runner's reply to a chain lacks index, port, key or timestamp".into());
    };
    let n = r.value.len();
    if index.len() != n || port.len() != n || key.len() != n || ts.len() != n {
        return Err("the runner's reply has arrays of different lengths".into());
    }
    let records = index
        .into_iter()
        .zip(port)
        .zip(key)
        .zip(r.value)
        .zip(ts)
        .map(|((((i, p), k), v), t)| (i as usize, p, StreamRecord { key: bytes(k), value: bytes(v), timestamp: t }))
        .collect();
    Ok(Converted { records, failure, ..Default::default() })
}

type RunnerFn = ThreadsafeFunction<Call, ErrorStrategy::Fatal>;

/// `UserFunctions` over the JS runner `run(nodes, keys, values, timestamps, operands|null)`.
struct JsFunctions {
    runner: RunnerFn,
    /// Set when `close(timeout)` gave up: a batch still waiting for its promise is abandoned (a
    /// failure at its first record: nothing of it is committed) so that the stream thread stops.
    abandon: Arc<AtomicBool>,
}

fn runner_failed(message: impl std::fmt::Display) -> UserFailure {
    UserFailure { index: 0, kind: FailureKind::User, message: format!("the JavaScript streams runner failed: {message}") }
}

impl JsFunctions {
    fn call(&self, call: Call) -> std::result::Result<Converted, UserFailure> {
        let mode = call.mode();
        let (tx, rx) = mpsc::sync_channel::<Settled>(1);
        let status = self.runner.call_with_return_value(call, ThreadsafeFunctionCallMode::Blocking, move |reply: Reply| {
            match reply {
                Reply::Ready(r) => {
                    let _ = tx.send(settled(r, mode));
                }
                Reply::Pending(env, promise) => {
                    if let Err(e) = unsafe { on_settled(env, promise, mode, tx.clone()) } {
                        let _ = tx.send(Err(format!("cannot wait for the batch's promise: {e}")));
                    }
                }
            }
            Ok(())
        });
        if status != Status::Ok {
            return Err(runner_failed(format!("the JavaScript thread does not take calls any more ({status})")));
        }
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(c)) => return Ok(c),
                Ok(Err(e)) => return Err(runner_failed(e)),
                Err(mpsc::RecvTimeoutError::Timeout) if self.abandon.load(Ordering::SeqCst) => {
                    return Err(runner_failed("close() timed out while the batch's promise had not settled: the batch is abandoned"));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(runner_failed("the call was dropped (the JavaScript environment is shutting down)"));
                }
            }
        }
    }
}

impl UserFunctions for JsFunctions {
    fn run_chain(&self, chain: &[NodeId], input: &[StreamRecord]) -> ChainOutput {
        match self.call(Call { nodes: chain.to_vec(), records: input.to_vec(), operands: None, merge: false, partition_time: None }) {
            Ok(c) => ChainOutput { records: c.records, failure: c.failure },
            Err(f) => ChainOutput { records: Vec::new(), failure: Some(f) },
        }
    }

    fn combine(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        self.combining(node, input, operands, false)
    }

    fn merge(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        self.combining(node, input, operands, true)
    }

    fn extract_timestamps(&self, source: NodeId, input: &[StreamRecord], partition_time: i64) -> TimestampOutput {
        let call = Call { nodes: vec![source], records: input.to_vec(), operands: None, merge: false, partition_time: Some(partition_time) };
        match self.call(call) {
            Ok(c) => TimestampOutput { timestamps: c.timestamps, failure: c.failure },
            Err(f) => TimestampOutput { timestamps: Vec::new(), failure: Some(f) },
        }
    }
}

impl JsFunctions {
    fn combining(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>], merge: bool) -> CombineOutput {
        match self.call(Call { nodes: vec![node], records: input.to_vec(), operands: Some(operands.to_vec()), merge, partition_time: None }) {
            Ok(c) => CombineOutput { values: c.values, failure: c.failure },
            Err(f) => CombineOutput { values: Vec::new(), failure: Some(f) },
        }
    }
}

fn buffers(env: &Env, items: impl ExactSizeIterator<Item = Option<Bytes>>) -> Result<JsObject> {
    let mut arr = env.create_array_with_length(items.len())?;
    for (i, b) in items.enumerate() {
        match b {
            Some(b) => arr.set_element(i as u32, env.create_buffer_copy(&b)?.into_raw())?,
            None => arr.set_element(i as u32, env.get_null()?)?,
        }
    }
    Ok(arr)
}

/// The arguments of one runner call: (nodes, keys, values, timestamps, operands or null, merge,
/// partition time or null).
fn call_args(ctx: ThreadSafeCallContext<Call>) -> Result<Vec<JsUnknown>> {
    let env = ctx.env;
    let c = ctx.value;
    let mut nodes = env.create_array_with_length(c.nodes.len())?;
    for (i, n) in c.nodes.iter().enumerate() {
        nodes.set_element(i as u32, env.create_uint32(*n)?)?;
    }
    let keys = buffers(&env, c.records.iter().map(|r| r.key.clone()))?;
    let values = buffers(&env, c.records.iter().map(|r| r.value.clone()))?;
    let mut ts = env.create_array_with_length(c.records.len())?;
    for (i, r) in c.records.iter().enumerate() {
        ts.set_element(i as u32, env.create_double(r.timestamp as f64)?)?;
    }
    let operands = match c.operands {
        Some(o) => buffers(&env, o.into_iter())?.into_unknown(),
        None => env.get_null()?.into_unknown(),
    };
    let merge = env.get_boolean(c.merge)?.into_unknown();
    let partition_time = match c.partition_time {
        Some(t) => env.create_double(t as f64)?.into_unknown(),
        None => env.get_null()?.into_unknown(),
    };
    Ok(vec![nodes.into_unknown(), keys.into_unknown(), values.into_unknown(), ts.into_unknown(), operands, merge, partition_time])
}

#[napi(object)]
pub struct StreamsFailure {
    pub topic: Option<String>,
    pub partition: i32,
    pub offset: i64,
    /// "user", "deserialization" or "kafka".
    pub kind: String,
    pub message: String,
}

fn failure_object(e: &ProcessingError) -> StreamsFailure {
    StreamsFailure {
        topic: e.topic.clone(),
        partition: e.partition,
        offset: e.offset,
        kind: match e.kind {
            Some(FailureKind::User) => "user",
            Some(FailureKind::Deserialization) => "deserialization",
            None => "kafka",
        }
        .into(),
        message: e.message.clone(),
    }
}

#[napi(object)]
pub struct StreamsMetricsObject {
    pub processed: i64,
    pub late_dropped: i64,
    /// Records dropped because their extracted timestamp was negative.
    pub timestamp_dropped: i64,
    pub dropped: i64,
    pub deserialization_skipped: i64,
    pub dead_lettered: i64,
    pub restored: i64,
    pub restore_ms: f64,
    pub commits: i64,
}

/// The core's `KafkaStreams`.
#[napi]
pub struct NativeKafkaStreams {
    streams: Arc<KafkaStreams>,
    abandon: Arc<AtomicBool>,
}

fn unrefd<T: 'static, R>(env: &Env, f: &JsFunction, cb: R) -> Result<ThreadsafeFunction<T, ErrorStrategy::Fatal>>
where
    R: 'static + Send + FnMut(ThreadSafeCallContext<T>) -> Result<Vec<JsUnknown>>,
{
    let mut tsfn = f.create_threadsafe_function(0, cb)?;
    tsfn.unref(env)?;
    Ok(tsfn)
}

#[napi]
impl NativeKafkaStreams {
    /// `runner(nodes, keys, values, timestamps, operands)`: see [`RunnerReply`]. `config`: Kafka
    /// Streams properties as strings.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, builder: &NativeTopologyBuilder, runner: JsFunction, config: Vec<Vec<String>>) -> Result<Self> {
        let mut props = Vec::with_capacity(config.len());
        for kv in config {
            let [k, v]: [String; 2] = kv.try_into().map_err(|_| invalid("a configuration entry is [name, value]".into()))?;
            props.push((k, v));
        }
        let config = StreamsConfig::from_properties(props).napi()?;
        let b = builder.builder.lock().map_err(|_| taken())?.take().ok_or_else(taken)?;
        let topology = b.build().napi()?;
        let runner = unrefd(&env, &runner, call_args)?;
        let handle = within_runtime_if_available(tokio::runtime::Handle::current);
        let abandon = Arc::new(AtomicBool::new(false));
        let functions: Arc<dyn UserFunctions> = Arc::new(JsFunctions { runner, abandon: abandon.clone() });
        let streams = KafkaStreams::new(topology, functions, config, handle).napi()?;
        Ok(NativeKafkaStreams { streams: Arc::new(streams), abandon })
    }

    #[napi(catch_unwind)]
    pub fn describe(&self) -> String {
        self.streams.topology().describe()
    }

    #[napi(catch_unwind)]
    pub fn start(&self) -> Result<()> {
        self.streams.start().napi()
    }

    /// Resolves true when everything stopped within `timeoutMs` (null: no limit). Runs on a
    /// blocking thread: the JS thread stays free to answer the stream thread's last calls. When
    /// it resolves false, a batch still waiting for a promise is abandoned (see `JsFunctions`).
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn close(&self, env: Env, timeout_ms: Option<f64>) -> Result<JsObject> {
        let t = match timeout_ms {
            None => Duration::from_secs(3600 * 24 * 365),
            Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
            Some(ms) => return Err(invalid(format!("timeout must be a non-negative number of milliseconds, got {ms}"))),
        };
        let streams = self.streams.clone();
        let abandon = self.abandon.clone();
        error::spawn(&env, async move {
            tokio::task::spawn_blocking(move || {
                let done = streams.close(t);
                // A promise that never settles must not keep the stream thread forever.
                if !done {
                    abandon.store(true, Ordering::SeqCst);
                }
                done
            })
                .await
                .map_err(|e| napi::Error::new(Status::GenericFailure, format!("close failed: {e}")))
        })
    }

    #[napi(catch_unwind)]
    pub fn state(&self) -> &'static str {
        self.streams.state().as_str()
    }

    /// `listener(newState, oldState)`, queued to the JS thread (never blocks the stream thread).
    #[napi(catch_unwind)]
    pub fn set_state_listener(&self, env: Env, listener: JsFunction) -> Result<()> {
        let tsfn = unrefd(&env, &listener, |ctx: ThreadSafeCallContext<(&'static str, &'static str)>| {
            Ok(vec![ctx.env.create_string(ctx.value.0)?.into_unknown(), ctx.env.create_string(ctx.value.1)?.into_unknown()])
        })?;
        let l = Arc::new(move |new: polykafka::streams::State, old: polykafka::streams::State| {
            tsfn.call((new.as_str(), old.as_str()), ThreadsafeFunctionCallMode::NonBlocking);
        });
        self.streams.set_state_listener(l).napi()
    }

    /// `handler(failure)`, queued to the JS thread when the stream thread stops on an error.
    #[napi(catch_unwind)]
    pub fn set_uncaught_exception_handler(&self, env: Env, handler: JsFunction) -> Result<()> {
        let tsfn = unrefd(&env, &handler, |ctx: ThreadSafeCallContext<ProcessingError>| {
            let f = failure_object(&ctx.value);
            let env = ctx.env;
            let mut o = env.create_object()?;
            match f.topic {
                Some(t) => o.set_named_property("topic", env.create_string(&t)?)?,
                None => o.set_named_property("topic", env.get_null()?)?,
            }
            o.set_named_property("partition", env.create_int32(f.partition)?)?;
            o.set_named_property("offset", env.create_int64(f.offset)?)?;
            o.set_named_property("kind", env.create_string(&f.kind)?)?;
            o.set_named_property("message", env.create_string(&f.message)?)?;
            Ok(vec![o.into_unknown()])
        })?;
        let h = Arc::new(move |e: &ProcessingError| {
            tsfn.call(e.clone(), ThreadsafeFunctionCallMode::NonBlocking);
        });
        self.streams.set_uncaught_exception_handler(h).napi()
    }

    #[napi(catch_unwind)]
    pub fn failure(&self) -> Option<StreamsFailure> {
        self.streams.failure().map(|e| failure_object(&e))
    }

    #[napi(catch_unwind)]
    pub fn metrics(&self) -> StreamsMetricsObject {
        let m = self.streams.metrics();
        StreamsMetricsObject {
            processed: m.processed as i64,
            late_dropped: m.late_dropped as i64,
            timestamp_dropped: m.timestamp_dropped as i64,
            dropped: m.dropped as i64,
            deserialization_skipped: m.deserialization_skipped as i64,
            dead_lettered: m.dead_lettered as i64,
            restored: m.restored as i64,
            restore_ms: m.restore_micros as f64 / 1000.0,
            commits: m.commits as i64,
        }
    }

    #[napi(catch_unwind)]
    pub fn store_windowed(&self, name: String) -> Result<bool> {
        Ok(self.streams.store(&name).napi()?.is_windowed())
    }

    #[napi(catch_unwind)]
    pub fn store_get(&self, name: String, key: Buffer) -> Result<Option<Buffer>> {
        let v = self.streams.store(&name).and_then(|s| s.get(&key)).napi()?;
        Ok(v.map(|b| b.to_vec().into()))
    }

    /// [key, value] pairs of keys from `start` to `end` (both included; null: unbounded).
    #[napi(catch_unwind)]
    pub fn store_range(&self, name: String, start: Option<Buffer>, end: Option<Buffer>) -> Result<Vec<Vec<Buffer>>> {
        let v = self.streams.store(&name).and_then(|s| s.range(start.as_deref(), end.as_deref())).napi()?;
        Ok(v.into_iter().map(|(k, v)| vec![k.to_vec().into(), v.to_vec().into()]).collect())
    }

    #[napi(catch_unwind)]
    pub fn store_all(&self, name: String) -> Result<Vec<Vec<Buffer>>> {
        let v = self.streams.store(&name).and_then(|s| s.all()).napi()?;
        Ok(v.into_iter().map(|(k, v)| vec![k.to_vec().into(), v.to_vec().into()]).collect())
    }

    /// [window start ms, value] of `key`'s windows starting in [start, end].
    #[napi(catch_unwind)]
    pub fn store_fetch(&self, name: String, key: Buffer, start: i64, end: i64) -> Result<Vec<StoreWindow>> {
        let v = self.streams.store(&name).and_then(|s| s.fetch(&key, start, end)).napi()?;
        Ok(v.into_iter().map(|(s, v)| StoreWindow { start: s, value: v.to_vec().into() }).collect())
    }

    /// A session store's sessions of `key` ending at `earliestEnd` or later and starting at
    /// `latestStart` or earlier, by end.
    #[napi(catch_unwind)]
    pub fn store_find_sessions(&self, name: String, key: Buffer, earliest_end: i64, latest_start: i64) -> Result<Vec<StoreSession>> {
        let v = self.streams.store(&name).and_then(|s| s.find_sessions(&key, earliest_end, latest_start)).napi()?;
        Ok(v.into_iter().map(|(start, end, v)| StoreSession { start, end, value: v.to_vec().into() }).collect())
    }
}

#[napi(object)]
pub struct StoreSession {
    pub start: i64,
    pub end: i64,
    pub value: Buffer,
}

/// The core's check of session windows: its message when (gapMs, graceMs) is refused, else null.
#[napi(catch_unwind)]
pub fn session_windows_error(gap_ms: i64, grace_ms: i64) -> Option<String> {
    SessionWindows::of_inactivity_gap_and_grace(gap_ms, grace_ms).err().map(|e| e.message().to_string())
}

#[napi(object)]
pub struct StoreWindow {
    pub start: i64,
    pub value: Buffer,
}

/// What `table()` made.
#[napi(object)]
pub struct TableNodes {
    pub source: u32,
    pub table: u32,
    pub store: String,
}
