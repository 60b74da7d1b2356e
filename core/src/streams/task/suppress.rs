//! `suppress(Suppressed.untilWindowCloses(...))` of a windowed table, with Kafka Streams'
//! semantics (its `KTableSuppressProcessor` with the window-end time definition): every update
//! replaces the window's entry in the buffer; once the suppression's stream time (the largest
//! timestamp of the updates it has seen) minus the windows' grace reaches a window's end, the
//! entry leaves the buffer and goes on: one final result per window (none for a window whose last
//! update was a deletion). Entries leave in order of window end, then key bytes.
//!
//! The buffer is a store like the others (restored from its changelog when the task starts), so
//! a restart neither loses a pending window nor emits an emitted one again: the removal of an
//! emitted entry is written to the changelog with the result. Layout: windowed key -> window end
//! (8 bytes big-endian), the update's timestamp (8 bytes), 1 and the value, or 0 (deleted).
//!
//! Bounds (strict buffer config): past `max_records` entries or `max_bytes` (key + value + 17
//! bytes per entry) the application stops with an error, as `shutDownWhenFull`.

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::record::ProducerRecord;

use super::super::functions::StreamRecord;
use super::super::runtime::ProcessingError;
use super::super::store::{SessionKey, WindowedKey};
use super::super::topology::{BufferConfig, NodeId, Topology};
use super::{Batch, Context, Task};

#[derive(Debug)]
pub(crate) struct SuppressState {
    stream_time: i64,
    /// (window end, windowed key) of every entry, in eviction order.
    order: BTreeSet<(i64, Bytes)>,
    bytes: u64,
}

fn encode(end: i64, ts: i64, value: Option<&Bytes>) -> Bytes {
    let mut b = BytesMut::with_capacity(17 + value.map_or(0, Bytes::len));
    b.put_i64(end);
    b.put_i64(ts);
    match value {
        Some(v) => {
            b.put_u8(1);
            b.put_slice(v);
        }
        None => b.put_u8(0),
    }
    b.freeze()
}

/// (window end, timestamp, value) of a buffer entry.
fn decode(v: &Bytes) -> Option<(i64, i64, Option<Bytes>)> {
    if v.len() < 17 {
        return None;
    }
    let end = i64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
    let ts = i64::from_be_bytes(v[8..16].try_into().expect("8 bytes"));
    Some((end, ts, (v[16] == 1).then(|| v.slice(17..))))
}

fn size(key: &Bytes, value: &Bytes) -> u64 {
    (key.len() + value.len()) as u64
}

impl Task {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn suppress(
        &mut self,
        cx: &mut Context<'_>,
        node: NodeId,
        store: &str,
        (window_size_ms, session): (i64, bool),
        grace_ms: i64,
        buffer: BufferConfig,
        batch: Batch,
    ) -> Result<(), ProcessingError> {
        let partition = self.partition;
        let mut touched: BTreeSet<Bytes> = BTreeSet::new();
        let mut down = Batch { records: Vec::new(), origins: Vec::new(), old: None };
        let mut failed: Option<(u32, String)> = None;
        cx.stores.with(|s| {
            let m = s.memory(store, partition);
            let st = self.suppressions.entry(node).or_insert_with(|| {
                let mut st = SuppressState { stream_time: -1, order: BTreeSet::new(), bytes: 0 };
                for (k, v) in m.iter() {
                    if let Some((end, _, _)) = decode(v) {
                        st.order.insert((end, k.clone()));
                        st.bytes += size(k, v);
                    }
                }
                st
            });
            for (r, &origin) in batch.records.iter().zip(&batch.origins) {
                let Some(key) = &r.key else { continue };
                // A time window ends at start + size; a session at its end, in its key.
                let end = match session {
                    false => WindowedKey::decode(key).map(|w| w.start.saturating_add(window_size_ms)),
                    true => SessionKey::decode(key).map(|s| s.end),
                };
                let end = match end {
                    Ok(end) => end,
                    Err(e) => {
                        failed = Some((origin, e.to_string()));
                        return;
                    }
                };
                st.stream_time = st.stream_time.max(r.timestamp);
                if let Some(old) = m.get(key) {
                    if let Some((old_end, _, _)) = decode(old) {
                        st.order.remove(&(old_end, key.clone()));
                    }
                    st.bytes -= size(key, old);
                }
                let entry = encode(end, r.timestamp, r.value.as_ref());
                st.bytes += size(key, &entry);
                m.insert(key.clone(), entry);
                st.order.insert((end, key.clone()));
                touched.insert(key.clone());
                // Final results of the windows closed by now.
                let expiry = st.stream_time.saturating_sub(grace_ms);
                while let Some((end, k)) = st.order.first().cloned() {
                    if end > expiry {
                        break;
                    }
                    st.order.pop_first();
                    let v = m.remove(&k).expect("an entry of the order is in the buffer");
                    st.bytes -= size(&k, &v);
                    touched.insert(k.clone());
                    if let Some((_, ts, Some(value))) = decode(&v) {
                        down.records.push(StreamRecord { key: Some(k), value: Some(value), timestamp: ts });
                        down.origins.push(origin);
                    }
                }
                let records = st.order.len() as u64;
                let over = buffer.max_records.is_some_and(|n| records > n) || buffer.max_bytes.is_some_and(|n| st.bytes > n);
                if over {
                    failed = Some((
                        origin,
                        format!(
                            "suppression buffer '{store}' is full (shut down when full): {records} records (max {}), {} bytes (max {}); raise the bound or use an unbounded buffer",
                            buffer.max_records.map_or("unbounded".to_string(), |n| n.to_string()),
                            st.bytes,
                            buffer.max_bytes.map_or("unbounded".to_string(), |n| n.to_string()),
                        ),
                    ));
                    return;
                }
            }
        });
        if let Some((origin, message)) = failed {
            return Err(Self::error(cx, origin, None, message));
        }
        let changelog = Topology::changelog_topic(&cx.config.application_id, store);
        let current: Vec<(Bytes, Option<Bytes>)> =
            cx.stores.with(|s| touched.into_iter().map(|k| (k.clone(), s.memory(store, partition).get(&k).cloned())).collect());
        for (key, value) in current {
            cx.out.push(ProducerRecord { topic: changelog.clone(), partition: Some(partition), key: Some(key), value, headers: Vec::new(), timestamp: None });
        }
        self.forward(cx, node, 0, down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::functions::ClosureFunctions;
    use crate::streams::runtime::Metrics;
    use crate::streams::store::Stores;
    use crate::streams::topology::{AggregateKind, TopologyBuilder};
    use crate::streams::{StreamsConfig, TimeWindows};
    use std::sync::Arc;

    /// Counts per 10 ms window (grace 2 ms), suppressed: the final results as
    /// "key@window start=count", and the error that stopped it, if one did.
    fn run(buffer: BufferConfig, input: &[(&str, i64)]) -> (Vec<String>, Option<String>) {
        let mut b = TopologyBuilder::new();
        let src = b.source(&["in"]).unwrap();
        let count = b.aggregate(src, "counts", AggregateKind::Count, Some(TimeWindows::of_size_and_grace(10, 2).unwrap())).unwrap();
        let (sup, _) = b.suppress(count, Some("finals"), buffer).unwrap();
        let out = b.to_stream(sup).unwrap();
        b.sink(out, "out").unwrap();
        let topology = b.build().unwrap();
        let f = ClosureFunctions::new();
        let config = StreamsConfig::from_properties([("application.id", "app"), ("bootstrap.servers", "localhost:1")]).unwrap();
        let (stores, metrics) = (Stores::default(), Metrics::default());
        let origins = vec![super::super::Origin { topic: Arc::from("in"), partition: 0, offset: 0 }];
        let mut task = Task::new(0);
        let mut got = Vec::new();
        for &(key, ts) in input {
            let mut cx = Context { topology: &topology, functions: &f, config: &config, stores: &stores, metrics: &metrics, origins: &origins, out: Vec::new() };
            let rec = StreamRecord::new(Some(Bytes::from(key.to_string())), Some(Bytes::from_static(b"v")), ts);
            if let Err(e) = task.process_entry(&mut cx, src, vec![rec], vec![0]) {
                return (got, Some(e.message));
            }
            for p in cx.out.into_iter().filter(|p| p.topic == "out") {
                let w = WindowedKey::decode(p.key.as_ref().unwrap()).unwrap();
                let n = i64::from_be_bytes(p.value.unwrap()[..].try_into().unwrap());
                got.push(format!("{}@{}={n}", String::from_utf8_lossy(&w.key), w.start));
            }
        }
        (got, None)
    }

    #[test]
    fn one_final_result_per_window_when_it_closes() {
        let input = [("a", 1), ("a", 5), ("b", 9), ("a", 11), ("a", 12), ("b", 3), ("a", 22)];
        // [0, 10) closes when stream time reaches 12; b@3 then is late (dropped by the count);
        // [10, 20) at 22; [20, 30) stays open.
        assert_eq!(run(BufferConfig::default(), &input), (vec!["a@0=2".to_string(), "b@0=1".to_string(), "a@10=2".to_string()], None));
        let (got, err) = run(BufferConfig { max_records: Some(1), max_bytes: None }, &input);
        assert!(got.is_empty());
        assert!(err.unwrap().contains("suppression buffer 'finals-store' is full"));
        let (_, err) = run(BufferConfig { max_records: None, max_bytes: Some(30) }, &input);
        assert!(err.unwrap().contains("bytes (max 30)"));
    }

    #[test]
    fn entry_layout() {
        let v = Bytes::from_static(b"\x00\x00\x00\x00\x00\x00\x00\x03");
        assert_eq!(decode(&encode(300_000, 299_000, Some(&v))), Some((300_000, 299_000, Some(v))));
        assert_eq!(decode(&encode(5, 4, None)), Some((5, 4, None)));
        assert_eq!(decode(&Bytes::from_static(b"short")), None);
    }
}
