//! The boundary between the runtime and user functions: whole batches, one call per fused chain.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::topology::NodeId;

/// A record inside a topology: serialized key and value, and its event time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp: i64,
}

impl StreamRecord {
    pub fn new(key: Option<Bytes>, value: Option<Bytes>, timestamp: i64) -> Self {
        StreamRecord { key, value, timestamp }
    }
}

/// Why a user function call failed on a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The record's key or value could not be deserialized: goes to the deserialization handler.
    Deserialization,
    /// The user function raised: goes to the uncaught exception handler.
    User,
}

/// A failure on the input record at `index`; the records before it were processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFailure {
    pub index: usize,
    pub kind: FailureKind,
    pub message: String,
}

/// What a chain gives back: its output records, each with the index of the input record it came
/// from and the output port (0, or the branch of a `split`), in input order; and the failure that
/// stopped it, if any (outputs are then those of the records before the failed one).
#[derive(Clone, Debug, Default)]
pub struct ChainOutput {
    pub records: Vec<(usize, u32, StreamRecord)>,
    pub failure: Option<UserFailure>,
}

/// What a combining function (aggregator, reducer, joiner) gives back: one value per input record
/// (`None`: no value, e.g. a joiner returning null), for the records before `failure`.
#[derive(Clone, Debug, Default)]
pub struct CombineOutput {
    pub values: Vec<Option<Bytes>>,
    pub failure: Option<UserFailure>,
}

/// What a timestamp extractor gives back: the event time of each input record, for the records
/// before `failure`. A negative time drops the record (counted in `timestamp_dropped`), as Kafka
/// Streams drops a record whose extracted timestamp is negative.
#[derive(Clone, Debug, Default)]
pub struct TimestampOutput {
    pub timestamps: Vec<i64>,
    pub failure: Option<UserFailure>,
}

/// User functions as the runtime sees them. Implemented by each binding (and by
/// [`ClosureFunctions`] for Rust). Called from the stream thread, one call per batch.
pub trait UserFunctions: Send + Sync {
    /// Runs the fused chain `chain` (user nodes, in order; only the last may have several output
    /// ports) on every record of `input`, record after record.
    fn run_chain(&self, chain: &[NodeId], input: &[StreamRecord]) -> ChainOutput;

    /// Runs the combining node `node` on each record with its second operand: the current
    /// aggregate (reduce, aggregate; `None` for a key not seen yet) or the table's value (joins;
    /// `None` when the table has none). Within one call every record has a different key.
    fn combine(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput;

    /// The session merger of the session aggregation `node` (Kafka Streams' `Merger`): for each
    /// record, whose value is the aggregate of a session being merged, the aggregate of the two
    /// sessions, `operands` the aggregate merged so far (`None`: the initializer's value first).
    /// Within one call every record has a different key. Only `aggregate` over session windows
    /// calls it (`count` merges in the runtime, `reduce` with its reducer through `combine`).
    fn merge(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        let _ = (input, operands);
        CombineOutput {
            values: Vec::new(),
            failure: Some(UserFailure { index: 0, kind: FailureKind::User, message: format!("no session merger for node {node}") }),
        }
    }

    /// The timestamp extractor of the source node `source` (Kafka Streams'
    /// `TimestampExtractor.extract(record, partitionTime)`), for the sources given
    /// [`super::TimestampExtractor::User`]: the event time of each record of `input`, consecutive
    /// records of one partition as read (the record's own timestamp in `timestamp`), before they
    /// are ordered by time. `partition_time` is the partition's time before the first record: the
    /// largest time extracted from it so far, -1 when none. Record `i` is given the largest of
    /// `partition_time` and the non-negative times returned for the records before it. A key or
    /// value that cannot be deserialized is a `Deserialization` failure at its index (the
    /// deserialization handler decides), an extractor that raises a `User` failure.
    fn extract_timestamps(&self, source: NodeId, input: &[StreamRecord], partition_time: i64) -> TimestampOutput {
        let _ = (input, partition_time);
        TimestampOutput {
            timestamps: Vec::new(),
            failure: Some(UserFailure { index: 0, kind: FailureKind::User, message: format!("no timestamp extractor for source node {source}") }),
        }
    }
}

type ChainFn = dyn Fn(&StreamRecord) -> Result<Vec<(u32, StreamRecord)>, String> + Send + Sync;
type CombineFn = dyn Fn(&StreamRecord, Option<&Bytes>) -> Result<Option<Bytes>, String> + Send + Sync;
type ExtractFn = dyn Fn(&StreamRecord, i64) -> Result<i64, String> + Send + Sync;

/// User functions as Rust closures over bytes, registered per node.
#[derive(Default, Clone)]
pub struct ClosureFunctions {
    steps: HashMap<NodeId, Arc<ChainFn>>,
    combiners: HashMap<NodeId, Arc<CombineFn>>,
    mergers: HashMap<NodeId, Arc<CombineFn>>,
    extractors: HashMap<NodeId, Arc<ExtractFn>>,
}

impl ClosureFunctions {
    pub fn new() -> Self {
        Self::default()
    }

    /// A general step: a record in, any number of `(port, record)` out; `Err` is a user failure.
    pub fn step(&mut self, node: NodeId, f: impl Fn(&StreamRecord) -> Result<Vec<(u32, StreamRecord)>, String> + Send + Sync + 'static) {
        self.steps.insert(node, Arc::new(f));
    }

    pub fn filter(&mut self, node: NodeId, f: impl Fn(&StreamRecord) -> bool + Send + Sync + 'static) {
        self.step(node, move |r| Ok(if f(r) { vec![(0, r.clone())] } else { vec![] }));
    }

    pub fn map(&mut self, node: NodeId, f: impl Fn(&StreamRecord) -> StreamRecord + Send + Sync + 'static) {
        self.step(node, move |r| Ok(vec![(0, f(r))]));
    }

    /// The timestamp extractor of a source given [`super::TimestampExtractor::User`]: the record
    /// and the partition time in, the record's event time out.
    pub fn timestamp_extractor(&mut self, source: NodeId, f: impl Fn(&StreamRecord, i64) -> Result<i64, String> + Send + Sync + 'static) {
        self.extractors.insert(source, Arc::new(f));
    }

    /// An aggregator, reducer or joiner.
    pub fn combiner(&mut self, node: NodeId, f: impl Fn(&StreamRecord, Option<&Bytes>) -> Result<Option<Bytes>, String> + Send + Sync + 'static) {
        self.combiners.insert(node, Arc::new(f));
    }
}

impl ClosureFunctions {
    /// The session merger of a session `aggregate` node: `(record whose value is the other
    /// session's aggregate, the aggregate so far or None) -> merged aggregate`.
    pub fn merger(&mut self, node: NodeId, f: impl Fn(&StreamRecord, Option<&Bytes>) -> Result<Option<Bytes>, String> + Send + Sync + 'static) {
        self.mergers.insert(node, Arc::new(f));
    }

    fn call(f: Option<&Arc<CombineFn>>, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        let mut out = CombineOutput::default();
        let Some(f) = f else {
            out.failure = Some(UserFailure { index: 0, kind: FailureKind::User, message: format!("no function registered for node {node}") });
            return out;
        };
        for (i, (rec, op)) in input.iter().zip(operands).enumerate() {
            match f(rec, op.as_ref()) {
                Ok(v) => out.values.push(v),
                Err(message) => {
                    out.failure = Some(UserFailure { index: i, kind: FailureKind::User, message });
                    return out;
                }
            }
        }
        out
    }
}

impl UserFunctions for ClosureFunctions {
    fn run_chain(&self, chain: &[NodeId], input: &[StreamRecord]) -> ChainOutput {
        let mut out = ChainOutput::default();
        let steps: Vec<Option<&Arc<ChainFn>>> = chain.iter().map(|n| self.steps.get(n)).collect();
        for (i, rec) in input.iter().enumerate() {
            let mut current = vec![(0u32, rec.clone())];
            for (pos, step) in steps.iter().enumerate() {
                let Some(step) = step else {
                    out.failure = Some(UserFailure { index: i, kind: FailureKind::User, message: format!("no function registered for node {}", chain[pos]) });
                    return out;
                };
                let mut next = Vec::with_capacity(current.len());
                for (_, r) in &current {
                    match step(r) {
                        Ok(v) => next.extend(v),
                        Err(message) => {
                            out.failure = Some(UserFailure { index: i, kind: FailureKind::User, message });
                            return out;
                        }
                    }
                }
                current = next;
            }
            out.records.extend(current.into_iter().map(|(port, r)| (i, port, r)));
        }
        out
    }

    fn combine(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        Self::call(self.combiners.get(&node), node, input, operands)
    }

    fn merge(&self, node: NodeId, input: &[StreamRecord], operands: &[Option<Bytes>]) -> CombineOutput {
        Self::call(self.mergers.get(&node), node, input, operands)
    }

    fn extract_timestamps(&self, source: NodeId, input: &[StreamRecord], mut partition_time: i64) -> TimestampOutput {
        let mut out = TimestampOutput::default();
        let Some(f) = self.extractors.get(&source) else {
            out.failure = Some(UserFailure { index: 0, kind: FailureKind::User, message: format!("no timestamp extractor for source node {source}") });
            return out;
        };
        for (i, rec) in input.iter().enumerate() {
            match f(rec, partition_time) {
                Ok(t) => {
                    partition_time = partition_time.max(t);
                    out.timestamps.push(t);
                }
                Err(message) => {
                    out.failure = Some(UserFailure { index: i, kind: FailureKind::User, message });
                    break;
                }
            }
        }
        out
    }
}
