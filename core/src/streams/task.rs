//! A task: one partition of a sub-topology. Runs a batch of records through the topology, node by
//! node, each fused chain of user nodes in one call; collects what must be produced.

mod join;
mod session;
mod suppress;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::record::{Header, ProducerRecord};

use super::config::DeserializationHandler;
use super::functions::{FailureKind, StreamRecord, UserFunctions};
use super::runtime::{Metrics, ProcessingError};
use super::store::{Stores, WindowedKey};
use super::topology::{AggregateKind, NodeId, NodeKind, Topology};
use super::StreamsConfig;

/// Where a record came from: the source record it derives from.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

/// What processing a batch needs from the runtime.
pub(crate) struct Context<'a> {
    pub topology: &'a Topology,
    pub functions: &'a dyn UserFunctions,
    pub config: &'a StreamsConfig,
    pub stores: &'a Stores,
    pub metrics: &'a Metrics,
    /// The batch's source records.
    pub origins: &'a [Origin],
    /// Records to produce once the batch is processed (sinks, repartitions, changelogs, dead
    /// letters), in order.
    pub out: Vec<ProducerRecord>,
}

pub(crate) struct Task {
    pub partition: i32,
    /// Stream time per windowed aggregation node (the largest timestamp it has seen).
    stream_time: HashMap<NodeId, i64>,
    /// State of each stream-stream join (by its left side node), made when it first runs
    /// (after the task's stores were restored).
    joins: HashMap<NodeId, join::JoinState>,
    /// State of each suppression node, likewise.
    suppressions: HashMap<NodeId, suppress::SuppressState>,
    /// Per session aggregation, the latest session end written to its store (the stream time of
    /// Kafka Streams' segmented session store: sessions ending before it minus the retention are
    /// expired, not found any more).
    session_store_time: HashMap<NodeId, i64>,
}

/// Records moving between nodes, each with the index of its source record in `origins`.
struct Batch {
    records: Vec<StreamRecord>,
    origins: Vec<u32>,
}

impl Task {
    pub fn new(partition: i32) -> Task {
        Task { partition, stream_time: HashMap::new(), joins: HashMap::new(), suppressions: HashMap::new(), session_store_time: HashMap::new() }
    }

    /// Processes source records entering at `entry` (a source or a repartition node).
    pub fn process_entry(&mut self, cx: &mut Context<'_>, entry: NodeId, records: Vec<StreamRecord>, origins: Vec<u32>) -> Result<(), ProcessingError> {
        self.forward(cx, entry, 0, Batch { records, origins })
    }

    fn forward(&mut self, cx: &mut Context<'_>, node: NodeId, port: usize, batch: Batch) -> Result<(), ProcessingError> {
        let topology = cx.topology;
        let children = &topology.node(node).children[port];
        if batch.records.is_empty() {
            return Ok(());
        }
        let n = children.len();
        let mut batch = Some(batch);
        for (i, child) in children.iter().enumerate() {
            let b = if i + 1 == n {
                batch.take().expect("batch kept for the last child")
            } else {
                let b = batch.as_ref().expect("batch");
                Batch { records: b.records.clone(), origins: b.origins.clone() }
            };
            self.process(cx, *child, b)?;
        }
        Ok(())
    }

    fn error(cx: &Context<'_>, origin: u32, kind: Option<FailureKind>, message: String) -> ProcessingError {
        let o = &cx.origins[origin as usize];
        ProcessingError { topic: Some(o.topic.to_string()), partition: o.partition, offset: o.offset, kind, message }
    }

    fn process(&mut self, cx: &mut Context<'_>, node: NodeId, batch: Batch) -> Result<(), ProcessingError> {
        let topology = cx.topology;
        match &topology.node(node).kind {
            NodeKind::Source { .. } | NodeKind::Pass | NodeKind::ToStream => self.forward(cx, node, 0, batch),
            NodeKind::User { .. } => self.run_chain(cx, node, batch),
            NodeKind::Sink { topic } => {
                for r in batch.records {
                    cx.out.push(ProducerRecord { topic: topic.clone(), partition: None, key: r.key, value: r.value, headers: Vec::new(), timestamp: Some(r.timestamp) });
                }
                Ok(())
            }
            NodeKind::SinkPerRecord => {
                let none = vec![None; batch.records.len()];
                let out = cx.functions.combine(node, &batch.records, &none);
                for (i, (r, topic)) in batch.records.iter().zip(out.values).enumerate() {
                    let topic = match topic.as_deref().map(std::str::from_utf8) {
                        Some(Ok(t)) if !t.is_empty() => t.to_string(),
                        other => {
                            let why = match other {
                                None | Some(Ok(_)) => "no topic name (null or empty)".to_string(),
                                Some(Err(e)) => format!("a topic name that is not UTF-8 ({e})"),
                            };
                            return Err(Self::error(cx, batch.origins[i], Some(FailureKind::User), format!("the topic name extractor of to() returned {why}")));
                        }
                    };
                    cx.out.push(ProducerRecord { topic, partition: None, key: r.key.clone(), value: r.value.clone(), headers: Vec::new(), timestamp: Some(r.timestamp) });
                }
                match out.failure {
                    Some(f) => Err(Self::error(cx, batch.origins[f.index], Some(f.kind), f.message)),
                    None => Ok(()),
                }
            }
            NodeKind::Repartition { name } => {
                let topic = Topology::repartition_topic(&cx.config.application_id, name);
                for r in batch.records {
                    // As Kafka Streams: a record without a key cannot be grouped; it is dropped.
                    if r.key.is_none() {
                        cx.metrics.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    cx.out.push(ProducerRecord { topic: topic.clone(), partition: None, key: r.key, value: r.value, headers: Vec::new(), timestamp: Some(r.timestamp) });
                }
                Ok(())
            }
            NodeKind::Aggregate { store, kind, windows } => {
                let (store, kind, windows) = (store.clone(), *kind, *windows);
                self.aggregate(cx, node, &store, kind, windows, batch)
            }
            NodeKind::SessionAggregate { store, kind, windows } => {
                let (store, kind, windows) = (store.clone(), *kind, *windows);
                self.session_aggregate(cx, node, &store, kind, windows, batch)
            }
            NodeKind::JoinTable { store, left } => {
                let (store, left) = (store.clone(), *left);
                self.join(cx, node, &store, left, batch)
            }
            NodeKind::StreamJoin { join, this_side } => {
                let (join, this_side) = (join.clone(), *this_side);
                self.stream_join(cx, &join, this_side, batch)
            }
            NodeKind::Suppress { store, window_size_ms, grace_ms, buffer, session } => {
                let (store, size, grace, buffer, session) = (store.clone(), *window_size_ms, *grace_ms, *buffer, *session);
                self.suppress(cx, node, &store, (size, session), grace, buffer, batch)
            }
        }
    }

    fn run_chain(&mut self, cx: &mut Context<'_>, node: NodeId, batch: Batch) -> Result<(), ProcessingError> {
        let topology = cx.topology;
        let chain = topology.chain(node).expect("every user node starts a chain");
        let last = *chain.last().expect("a chain is not empty");
        let ports = topology.node(last).children.len();
        let mut per_port: Vec<Batch> = (0..ports).map(|_| Batch { records: Vec::new(), origins: Vec::new() }).collect();
        let mut start = 0;
        while start < batch.records.len() {
            let out = cx.functions.run_chain(chain, &batch.records[start..]);
            for (i, port, rec) in out.records {
                let Some(b) = per_port.get_mut(port as usize) else {
                    return Err(Self::error(cx, batch.origins[start + i], Some(FailureKind::User), format!("the function returned port {port}, the node has {ports}")));
                };
                b.records.push(rec);
                b.origins.push(batch.origins[start + i]);
            }
            match out.failure {
                None => break,
                Some(f) => {
                    let at = start + f.index;
                    let origin = batch.origins[at];
                    if f.kind == FailureKind::Deserialization {
                        self.dead_letter(cx, origin, &batch.records[at], &f.message);
                        if cx.config.deserialization_handler == DeserializationHandler::LogAndContinue {
                            let o = &cx.origins[origin as usize];
                            tracing::warn!(topic = %o.topic, partition = o.partition, offset = o.offset, error = %f.message, "skipping a record that cannot be deserialized (log_and_continue)");
                            cx.metrics.deserialization_skipped.fetch_add(1, Ordering::Relaxed);
                            start = at + 1;
                            continue;
                        }
                    }
                    return Err(Self::error(cx, origin, Some(f.kind), f.message));
                }
            }
        }
        for (port, b) in per_port.into_iter().enumerate() {
            self.forward(cx, last, port, b)?;
        }
        Ok(())
    }

    /// With `errors.dead.letter.queue.topic.name`: the record as read, with KIP-1034's headers.
    fn dead_letter(&self, cx: &mut Context<'_>, origin: u32, rec: &StreamRecord, message: &str) {
        cx.out.extend(dead_letter_record(cx.config, cx.metrics, &cx.origins[origin as usize], rec, message));
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &mut self,
        cx: &mut Context<'_>,
        node: NodeId,
        store: &str,
        kind: AggregateKind,
        windows: Option<super::TimeWindows>,
        batch: Batch,
    ) -> Result<(), ProcessingError> {
        // (store key, index in the batch), in processing order.
        let mut updates: Vec<(Bytes, usize)> = Vec::with_capacity(batch.records.len());
        for (i, r) in batch.records.iter().enumerate() {
            // As Kafka Streams' aggregations: records with a null key or value are skipped.
            let (Some(key), Some(_)) = (&r.key, &r.value) else {
                cx.metrics.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            match windows {
                None => updates.push((key.clone(), i)),
                Some(w) => {
                    let st = self.stream_time.entry(node).or_insert(i64::MIN);
                    *st = (*st).max(r.timestamp);
                    let close = st.saturating_sub(w.grace_ms);
                    for start in w.starts_for(r.timestamp) {
                        if start + w.size_ms > close {
                            updates.push((WindowedKey { key: key.clone(), start }.encode(), i));
                        } else {
                            cx.metrics.late_dropped.fetch_add(1, Ordering::Relaxed);
                            let o = &cx.origins[batch.origins[i] as usize];
                            tracing::debug!(store, topic = %o.topic, partition = o.partition, offset = o.offset, timestamp = r.timestamp,
                                window_start = start, stream_time = *st, grace_ms = w.grace_ms, "skipping a record for an expired window");
                        }
                    }
                }
            }
        }
        if updates.is_empty() {
            return Ok(());
        }
        let partition = self.partition;
        // New values in update order.
        let mut results: Vec<Option<Bytes>> = vec![None; updates.len()];
        match kind {
            AggregateKind::Count => {
                let written = cx.stores.with(|s| -> crate::error::Result<()> {
                    for (u, (key, _)) in updates.iter().enumerate() {
                        let old = s.get(store, partition, key)?.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok()).map_or(0, i64::from_be_bytes);
                        let new = Bytes::copy_from_slice(&(old + 1).to_be_bytes());
                        s.put(store, partition, key.clone(), Some(new.clone()))?;
                        results[u] = Some(new);
                    }
                    Ok(())
                });
                written.map_err(|e| Self::error(cx, batch.origins[updates[0].1], None, e.to_string()))?;
            }
            AggregateKind::Combine => {
                // Rounds in which every key appears once, so a batch call never needs the result
                // of another record of the same call.
                let mut per_key: HashMap<&Bytes, Vec<usize>> = HashMap::new();
                for (u, (key, _)) in updates.iter().enumerate() {
                    per_key.entry(key).or_default().push(u);
                }
                let rounds = per_key.values().map(Vec::len).max().unwrap_or(0);
                for round in 0..rounds {
                    let mut us: Vec<usize> = per_key.values().filter_map(|v| v.get(round).copied()).collect();
                    us.sort_unstable();
                    let operands = cx.stores.with(|s| us.iter().map(|u| s.get(store, partition, &updates[*u].0)).collect::<crate::error::Result<Vec<Option<Bytes>>>>());
                    let operands = operands.map_err(|e| Self::error(cx, batch.origins[updates[us[0]].1], None, e.to_string()))?;
                    let input: Vec<StreamRecord> = us.iter().map(|u| batch.records[updates[*u].1].clone()).collect();
                    let out = cx.functions.combine(node, &input, &operands);
                    let written = cx.stores.with(|s| -> crate::error::Result<()> {
                        for (j, v) in out.values.iter().enumerate() {
                            let u = us[j];
                            s.put(store, partition, updates[u].0.clone(), v.clone())?;
                            results[u] = v.clone();
                        }
                        Ok(())
                    });
                    written.map_err(|e| Self::error(cx, batch.origins[updates[us[0]].1], None, e.to_string()))?;
                    if let Some(f) = out.failure {
                        let origin = batch.origins[updates[us[f.index]].1];
                        return Err(Self::error(cx, origin, Some(f.kind), f.message));
                    }
                }
            }
        }
        // The changelog and the table's downstream get the last update of each key of the batch
        // (as Kafka Streams' record cache, flushed at every batch here).
        // Their timestamp: the largest of the key's updates in the batch (as Kafka Streams'
        // timestamped stores keep the largest timestamp of an aggregate's records).
        let mut last: HashMap<&Bytes, usize> = HashMap::with_capacity(updates.len());
        let mut newest: HashMap<&Bytes, i64> = HashMap::with_capacity(updates.len());
        for (u, (key, i)) in updates.iter().enumerate() {
            last.insert(key, u);
            let ts = newest.entry(key).or_insert(i64::MIN);
            *ts = (*ts).max(batch.records[*i].timestamp);
        }
        let changelog = Topology::changelog_topic(&cx.config.application_id, store);
        let mut down = Batch { records: Vec::with_capacity(last.len()), origins: Vec::with_capacity(last.len()) };
        for (u, (key, i)) in updates.iter().enumerate() {
            if last[key] != u {
                continue;
            }
            let ts = newest[key];
            cx.out.push(ProducerRecord {
                topic: changelog.clone(),
                partition: Some(partition),
                key: Some(key.clone()),
                value: results[u].clone(),
                headers: Vec::new(),
                timestamp: Some(ts),
            });
            down.records.push(StreamRecord { key: Some(key.clone()), value: results[u].clone(), timestamp: ts });
            down.origins.push(batch.origins[*i]);
        }
        self.forward(cx, node, 0, down)
    }

    fn join(&mut self, cx: &mut Context<'_>, node: NodeId, store: &str, left: bool, batch: Batch) -> Result<(), ProcessingError> {
        let partition = self.partition;
        let mut input = Batch { records: Vec::with_capacity(batch.records.len()), origins: Vec::with_capacity(batch.records.len()) };
        let mut operands = Vec::with_capacity(batch.records.len());
        let first = batch.origins.first().copied().unwrap_or(0);
        let looked_up = cx.stores.with(|s| -> crate::error::Result<()> {
            for (r, o) in batch.records.into_iter().zip(batch.origins) {
                // As Kafka Streams: a stream record with a null key or value does not join.
                let Some(key) = r.key.as_ref().filter(|_| r.value.is_some()) else {
                    cx.metrics.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let value = s.get(store, partition, key)?;
                if value.is_none() && !left {
                    continue;
                }
                operands.push(value);
                input.records.push(r);
                input.origins.push(o);
            }
            Ok(())
        });
        looked_up.map_err(|e| Self::error(cx, first, None, e.to_string()))?;
        if input.records.is_empty() {
            return Ok(());
        }
        let out = cx.functions.combine(node, &input.records, &operands);
        let n = out.values.len();
        let mut down = Batch { records: Vec::with_capacity(n), origins: input.origins[..n].to_vec() };
        for (r, v) in input.records.iter().zip(out.values) {
            down.records.push(StreamRecord { key: r.key.clone(), value: v, timestamp: r.timestamp });
        }
        if let Some(f) = out.failure {
            let origin = input.origins[f.index];
            self.forward(cx, node, 0, down)?;
            return Err(Self::error(cx, origin, Some(f.kind), f.message));
        }
        self.forward(cx, node, 0, down)
    }
}

/// The dead-letter record of a record that could not be deserialized (`origin`: where it was
/// read), when `errors.dead.letter.queue.topic.name` is set: the record as read, with KIP-1034's
/// headers.
pub(crate) fn dead_letter_record(config: &StreamsConfig, metrics: &Metrics, o: &Origin, rec: &StreamRecord, message: &str) -> Option<ProducerRecord> {
    let topic = config.dead_letter_topic.as_ref()?;
    metrics.dead_lettered.fetch_add(1, Ordering::Relaxed);
    Some(ProducerRecord {
        topic: topic.clone(),
        partition: None,
        key: rec.key.clone(),
        value: rec.value.clone(),
        headers: vec![
            Header::new("__streams.errors.exception", "org.apache.kafka.common.errors.SerializationException"),
            Header::new("__streams.errors.message", message.to_string()),
            Header::new("__streams.errors.topic", o.topic.to_string()),
            Header::new("__streams.errors.partition", o.partition.to_string()),
            Header::new("__streams.errors.offset", o.offset.to_string()),
        ],
        timestamp: Some(rec.timestamp),
    })
}
