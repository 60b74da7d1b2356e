//! Stream-stream windowed joins, with Kafka Streams' semantics (its `KStreamKStreamJoin` since
//! 3.1): each side's records go into that side's window store; a record joins the other side's
//! records of its key from `t - before` to `t + after` (seen from the left side; the right side
//! looks the other way), each result at the larger of the two timestamps. Left and outer joins
//! keep a record without a partner in the shared outer store and emit it joined with `None` only
//! when its window has closed (stream time past `t + after + grace`), so a partner arriving late
//! but within grace gives the joined result alone (KIP-633 / KAFKA-10847). A record whose window
//! had already closed when it came is emitted with `None` at once. Both sides share one stream
//! time (the largest timestamp either has seen); a window store keeps its records for
//! `before + after + grace` of its own stream time, older ones are dropped.
//!
//! Store layouts (every change also goes to the store's changelog, as the other stores):
//! - window stores: key bytes, timestamp (8 bytes big-endian), a sequence number (4 bytes, so
//!   records of one key and timestamp are all kept) -> value;
//! - outer store: timestamp (8 bytes), side (1: left, 0: right), key -> the values, each as a
//!   4-byte length and its bytes.
//!
//! The joiner is called once per batch and side: the left side node's function gets (left value,
//! right value or `None`), the right side node's (right value, left value or `None`); a binding
//! swaps the latter back for the user's joiner.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::record::ProducerRecord;

use super::super::functions::StreamRecord;
use super::super::runtime::ProcessingError;
use super::super::topology::{StreamJoinDef, Topology};
use super::{Batch, Context, Task};

const LEFT: u8 = 1;
const RIGHT: u8 = 0;

/// What the two sides of one join share in a task.
#[derive(Debug)]
pub(crate) struct JoinState {
    /// The largest timestamp either side has seen (Kafka Streams' shared time tracker; -1 before
    /// any record, as its `NO_TIMESTAMP`).
    stream_time: i64,
    /// The oldest timestamp that may be in the outer store (`i64::MAX`: none).
    min_time: i64,
    /// Observed stream time of the left and right window stores.
    store_time: [i64; 2],
    /// Stream time of each window store at its last removal of expired records.
    cleaned: [i64; 2],
    seq: u32,
}

fn window_key(key: &[u8], ts: i64, seq: u32) -> Bytes {
    let mut b = BytesMut::with_capacity(key.len() + 12);
    b.put_slice(key);
    b.put_i64(ts);
    b.put_u32(seq);
    b.freeze()
}

/// The timestamp and sequence number of a window store key (the record key is what comes before).
fn window_ts(k: &[u8]) -> Option<(i64, u32)> {
    let n = k.len().checked_sub(12)?;
    let mut tail = &k[n..];
    Some((tail.get_i64(), tail.get_u32()))
}

fn outer_key(ts: i64, side: u8, key: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(key.len() + 9);
    b.put_i64(ts);
    b.put_u8(side);
    b.put_slice(key);
    b.freeze()
}

fn decode_outer_key(k: &Bytes) -> Option<(i64, u8, Bytes)> {
    if k.len() < 9 {
        return None;
    }
    let ts = i64::from_be_bytes(k[..8].try_into().expect("8 bytes"));
    Some((ts, k[8], k.slice(9..)))
}

fn push_value(list: Option<&Bytes>, value: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(list.map_or(0, Bytes::len) + 4 + value.len());
    if let Some(l) = list {
        b.put_slice(l);
    }
    b.put_u32(value.len() as u32);
    b.put_slice(value);
    b.freeze()
}

fn values(list: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= list.len() {
        let n = u32::from_be_bytes(list[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += 4;
        if at + n > list.len() {
            break;
        }
        out.push(list.slice(at..at + n));
        at += n;
    }
    out
}

/// A result waiting for the joiner: the record of a side (its value is that side's), the other
/// side's value, the result's timestamp.
struct Pending {
    this_side: bool,
    record: StreamRecord,
    operand: Option<Bytes>,
    origin: u32,
}

type Map = BTreeMap<Bytes, Bytes>;

impl JoinState {
    /// From the task's (restored) stores.
    fn new(left: &Map, right: &Map, outer: Option<&Map>) -> JoinState {
        let mut st = JoinState { stream_time: -1, min_time: i64::MAX, store_time: [i64::MIN; 2], cleaned: [i64::MIN; 2], seq: 0 };
        for (i, m) in [left, right].into_iter().enumerate() {
            for k in m.keys() {
                if let Some((ts, seq)) = window_ts(k) {
                    st.store_time[i] = st.store_time[i].max(ts);
                    st.seq = st.seq.max(seq.wrapping_add(1));
                }
            }
        }
        // Restored records without a partner are emitted once their window closes.
        if let Some((ts, _, _)) = outer.and_then(|m| m.keys().next()).and_then(decode_outer_key) {
            st.min_time = ts;
        }
        st
    }
}

impl Task {
    pub(super) fn stream_join(&mut self, cx: &mut Context<'_>, def: &StreamJoinDef, this_side: bool, batch: Batch) -> Result<(), ProcessingError> {
        let partition = self.partition;
        let w = def.windows;
        let retention = w.retention_ms();
        // As Kafka Streams: the right side's processor looks `after` back and `before` ahead.
        let (before, after) = if this_side { (w.before_ms, w.after_ms) } else { (w.after_ms, w.before_ms) };
        let (own, other) = if this_side { (0, 1) } else { (1, 0) };
        let stores = [def.this_store.as_str(), def.other_store.as_str()];
        let unjoined = def.emits_unjoined(this_side);
        let mut pending: Vec<Pending> = Vec::new();
        // (store, key, new value or None: deleted), for the changelogs.
        let mut changes: Vec<(&str, Bytes, Option<Bytes>)> = Vec::new();
        let (mut dropped, mut expired) = (0u64, 0u64);
        cx.stores.with(|s| {
            let mut take = |name: &str| std::mem::take(s.memory(name, partition));
            let mut maps = [take(stores[0]), take(stores[1])];
            let mut outer = def.outer_store.as_deref().map(&mut take);
            let st = self.joins.entry(def.this_node).or_insert_with(|| JoinState::new(&maps[0], &maps[1], outer.as_ref()));
            for (r, &origin) in batch.records.iter().zip(&batch.origins) {
                let t = r.timestamp;
                st.stream_time = st.stream_time.max(t);
                let (Some(key), Some(value)) = (&r.key, &r.value) else {
                    // A record without a key joins nothing; left and outer joins still emit it.
                    if unjoined && r.key.is_none() && r.value.is_some() {
                        pending.push(Pending { this_side, record: r.clone(), operand: None, origin });
                    } else {
                        dropped += 1;
                    }
                    continue;
                };
                // Into this side's window store, unless already expired there.
                st.store_time[own] = st.store_time[own].max(t);
                if t > st.store_time[own].saturating_sub(retention) {
                    let k = window_key(key, t, st.seq);
                    st.seq = st.seq.wrapping_add(1);
                    maps[own].insert(k.clone(), value.clone());
                    changes.push((stores[own], k, Some(value.clone())));
                } else {
                    expired += 1;
                }
                if t == st.stream_time {
                    if let (Some(name), Some(o)) = (def.outer_store.as_deref(), outer.as_mut()) {
                        emit_closed(st, o, def, after, origin, &mut pending, &mut |k| changes.push((name, k, None)));
                    }
                }
                // The other side's records of this key in the window, oldest first; records the
                // other store holds past its retention are not seen.
                let from = t.saturating_sub(before).max(0).max(st.store_time[other].saturating_sub(retention).saturating_add(1));
                let to = t.saturating_add(after).max(0);
                let mut found = false;
                if from <= to {
                    let (lo, hi) = (window_key(key, from, 0), window_key(key, to, u32::MAX));
                    for (k, v) in maps[other].range(lo..=hi) {
                        if k.len() != key.len() + 12 || !k.starts_with(key) {
                            continue;
                        }
                        let (other_ts, _) = window_ts(k).expect("a window key");
                        found = true;
                        // The partner found: it no longer waits in the outer store.
                        if let (Some(name), Some(o)) = (def.outer_store.as_deref(), outer.as_mut()) {
                            let ok = outer_key(other_ts, if this_side { RIGHT } else { LEFT }, key);
                            if o.remove(&ok).is_some() {
                                changes.push((name, ok, None));
                            }
                        }
                        let record = StreamRecord { key: Some(key.clone()), value: Some(value.clone()), timestamp: t.max(other_ts) };
                        pending.push(Pending { this_side, record, operand: Some(v.clone()), origin });
                    }
                }
                if found || !unjoined {
                    continue;
                }
                match (def.outer_store.as_deref(), outer.as_mut()) {
                    (Some(name), Some(o)) if to >= st.stream_time => {
                        st.min_time = st.min_time.min(t);
                        let ok = outer_key(t, if this_side { LEFT } else { RIGHT }, key);
                        let list = push_value(o.get(&ok), value);
                        o.insert(ok.clone(), list.clone());
                        changes.push((name, ok, Some(list)));
                    }
                    // Its window has closed already: no partner can come.
                    _ => pending.push(Pending { this_side, record: r.clone(), operand: None, origin }),
                }
            }
            // Expired records leave the window stores (their changelogs forget them by retention).
            for i in [0, 1] {
                let now = st.store_time[i];
                if now != i64::MIN && (st.cleaned[i] == i64::MIN || now - st.cleaned[i] >= (retention / 2).max(1)) {
                    st.cleaned[i] = now;
                    let limit = now.saturating_sub(retention);
                    maps[i].retain(|k, _| window_ts(k).is_none_or(|(ts, _)| ts > limit));
                }
            }
            let [l, r] = maps;
            for (name, m) in [(stores[0], Some(l)), (stores[1], Some(r)), (def.outer_store.as_deref().unwrap_or(""), outer)] {
                if let Some(m) = m {
                    *s.memory(name, partition) = m;
                }
            }
        });
        cx.metrics.dropped.fetch_add(dropped, Ordering::Relaxed);
        cx.metrics.late_dropped.fetch_add(expired, Ordering::Relaxed);
        for (store, key, value) in changes {
            cx.out.push(ProducerRecord {
                topic: Topology::changelog_topic(&cx.config.application_id, store),
                partition: Some(partition),
                key: Some(key),
                value,
                headers: Vec::new(),
                timestamp: None,
            });
        }
        if pending.is_empty() {
            return Ok(());
        }
        // One joiner call per side present.
        let mut results: Vec<Option<Option<Bytes>>> = vec![None; pending.len()];
        for side in [true, false] {
            let idx: Vec<usize> = (0..pending.len()).filter(|i| pending[*i].this_side == side).collect();
            if idx.is_empty() {
                continue;
            }
            let input: Vec<StreamRecord> = idx.iter().map(|i| pending[*i].record.clone()).collect();
            let operands: Vec<Option<Bytes>> = idx.iter().map(|i| pending[*i].operand.clone()).collect();
            let node = if side { def.this_node } else { def.other_node };
            let out = cx.functions.combine(node, &input, &operands);
            if let Some(f) = out.failure {
                let origin = pending[idx[f.index.min(idx.len() - 1)]].origin;
                return Err(Self::error(cx, origin, Some(f.kind), f.message));
            }
            if out.values.len() != idx.len() {
                let origin = pending[idx[0]].origin;
                return Err(Self::error(cx, origin, None, format!("the joiner returned {} values for {} records", out.values.len(), idx.len())));
            }
            for (i, v) in idx.into_iter().zip(out.values) {
                results[i] = Some(v);
            }
        }
        let mut down = Batch { records: Vec::with_capacity(pending.len()), origins: Vec::with_capacity(pending.len()), old: None };
        for (p, v) in pending.into_iter().zip(results) {
            down.records.push(StreamRecord { key: p.record.key, value: v.flatten(), timestamp: p.record.timestamp });
            down.origins.push(p.origin);
        }
        // Both sides forward to the join's merge node.
        let node = if this_side { def.this_node } else { def.other_node };
        self.forward(cx, node, 0, down)
    }
}

/// Emits the outer store's records whose window has closed (Kafka Streams'
/// `emitNonJoinedOuterRecords`), oldest first, each joined with `None`, and removes them.
fn emit_closed(st: &mut JoinState, outer: &mut Map, def: &StreamJoinDef, after: i64, origin: u32, pending: &mut Vec<Pending>, removed: &mut dyn FnMut(Bytes)) {
    let grace = def.windows.grace_ms;
    if st.min_time == i64::MAX || st.min_time.saturating_add(after).saturating_add(grace) >= st.stream_time {
        return;
    }
    st.min_time = i64::MAX;
    let mut open = [false, false];
    let mut done: Vec<Bytes> = Vec::new();
    for (k, list) in outer.iter() {
        let Some((ts, side, key)) = decode_outer_key(k) else { continue };
        st.min_time = ts;
        if open[0] && open[1] {
            break;
        }
        // A left record waits `after` for right partners, a right one `before`.
        let look = if side == LEFT { def.windows.after_ms } else { def.windows.before_ms };
        if ts.saturating_add(look).saturating_add(grace) >= st.stream_time {
            open[(side == LEFT) as usize] = true;
            continue;
        }
        for v in values(list) {
            let record = StreamRecord { key: Some(key.clone()), value: Some(v), timestamp: ts };
            pending.push(Pending { this_side: side == LEFT, record, operand: None, origin });
        }
        done.push(k.clone());
    }
    if done.len() == outer.len() {
        st.min_time = i64::MAX;
    }
    for k in done {
        outer.remove(&k);
        removed(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::functions::ClosureFunctions;
    use crate::streams::runtime::Metrics;
    use crate::streams::store::Stores;
    use crate::streams::topology::{JoinKind, NodeId, TopologyBuilder};
    use crate::streams::{JoinWindows, StreamsConfig};
    use std::sync::Arc;

    fn text(b: Option<&Bytes>) -> String {
        b.map_or("null".to_string(), |b| String::from_utf8_lossy(b).into_owned())
    }

    /// Runs records one by one (side, key, value, timestamp) through a join of `kind` (windows
    /// of 10 ms, grace 5 ms): the results as "left+right@timestamp".
    fn run(kind: JoinKind, input: &[(bool, &str, &str, i64)]) -> Vec<String> {
        let mut b = TopologyBuilder::new();
        let (l, r) = (b.source(&["l"]).unwrap(), b.source(&["r"]).unwrap());
        let j = b.stream_join(l, r, JoinWindows::of_time_difference_and_grace(10, 5).unwrap(), kind, Some("j")).unwrap();
        b.sink(j.joined, "out").unwrap();
        let topology = b.build().unwrap();
        let mut f = ClosureFunctions::new();
        f.combiner(j.this, |r, o| Ok(Some(Bytes::from(format!("{}+{}", text(r.value.as_ref()), text(o))))));
        f.combiner(j.other, |r, o| Ok(Some(Bytes::from(format!("{}+{}", text(o), text(r.value.as_ref()))))));
        let config = StreamsConfig::from_properties([("application.id", "app"), ("bootstrap.servers", "localhost:1")]).unwrap();
        let (stores, metrics) = (Stores::default(), Metrics::default());
        let origins = vec![super::super::Origin { topic: Arc::from("l"), partition: 0, offset: 0 }];
        let mut task = Task::new(0);
        let mut out = Vec::new();
        for &(left, key, value, ts) in input {
            let mut cx = Context { topology: &topology, functions: &f, config: &config, stores: &stores, metrics: &metrics, origins: &origins, out: Vec::new() };
            let entry: NodeId = if left { l } else { r };
            let rec = StreamRecord::new(Some(Bytes::from(key.to_string())), Some(Bytes::from(value.to_string())), ts);
            task.process_entry(&mut cx, entry, vec![rec], vec![0]).unwrap();
            for p in cx.out.into_iter().filter(|p| p.topic == "out") {
                out.push(format!("{}@{}", text(p.value.as_ref()), p.timestamp.unwrap()));
            }
        }
        out
    }

    #[test]
    fn inner_left_outer_as_kafka_streams() {
        let input = [
            (true, "k", "a", 100),
            (false, "k", "x", 110),  // the window's upper bound: joins a
            (false, "k", "y", 111),  // outside a's window: no partner
            (true, "k", "b", 200),   // closes y's window (111 + 10 + 5 < 200)
            (true, "k2", "late", 150), // its window closed already: at once, not stored
            (false, "k", "z", 205),
            (false, "k", "w", 189),  // 11 ms before b: outside its window, and closed (outer: at once)
        ];
        assert_eq!(run(JoinKind::Inner, &input), ["a+x@110", "b+z@205"]);
        assert_eq!(run(JoinKind::Left, &input), ["a+x@110", "late+null@150", "b+z@205"]);
        assert_eq!(run(JoinKind::Outer, &input), ["a+x@110", "null+y@111", "late+null@150", "b+z@205", "null+w@189"]);
        // A partner within grace after the window's end came: only the joined result.
        let late_partner = [(true, "k", "a", 100), (false, "k", "other", 112), (false, "k", "x", 105)];
        assert_eq!(run(JoinKind::Left, &late_partner), ["a+x@105"]);
        // Without it the left record comes with null once stream time passes 100 + 10 + 5.
        let alone = [(true, "k", "a", 100), (false, "k", "o", 115), (false, "k", "o", 116)];
        assert_eq!(run(JoinKind::Left, &alone), ["a+null@100"]);
    }

    #[test]
    fn store_layouts() {
        let k = window_key(b"user-1", 300_000, 7);
        assert_eq!(&k[..6], b"user-1");
        assert_eq!(window_ts(&k), Some((300_000, 7)));
        let o = outer_key(5, LEFT, b"k");
        assert_eq!(decode_outer_key(&o), Some((5, LEFT, Bytes::from_static(b"k"))));
        // Ordered by time first.
        assert!(outer_key(4, RIGHT, b"z") < outer_key(5, LEFT, b"a"));
        let l = push_value(None, b"a");
        let l = push_value(Some(&l), b"");
        let l = push_value(Some(&l), b"ccc");
        assert_eq!(values(&l), vec![Bytes::from_static(b"a"), Bytes::new(), Bytes::from_static(b"ccc")]);
    }
}
