//! Session-windowed aggregation, with Kafka Streams' semantics (its `KStreamSessionWindowAggregate`):
//! a record of key `k` at `t` finds `k`'s sessions overlapping `[t - gap, t + gap]` and merges
//! them with itself into one session `[min start, max end]`; the merged sessions leave the store
//! (their removal, a `None` value, goes to the changelog and downstream) and the new session is
//! stored with the merged aggregate. A record whose merged session ends before stream time minus
//! grace minus gap is late: dropped and counted. As Kafka Streams' (RocksDB, segmented) session
//! store, a session ending before the store's stream time (the latest session end written) minus
//! the retention (gap + grace) is expired: a record no longer finds it to merge with (it stays in
//! the store and its changelog until they expire it).
//!
//! A batch runs in segments: runs of consecutive records of different keys (a segment ends where a
//! key comes again), so each call into the user functions holds records of different keys and
//! every record sees the stream time and store time of the records before it: per segment, one
//! `merge` call per position of the sessions merged, then one `combine` call.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::record::ProducerRecord;

use super::super::functions::{CombineOutput, StreamRecord};
use super::super::runtime::ProcessingError;
use super::super::store::SessionKey;
use super::super::topology::{AggregateKind, NodeId, Topology};
use super::super::SessionWindows;
use super::{Batch, Context, Task};

/// What one record does: the sessions it merges and the session it makes.
struct Plan {
    /// Index in the batch.
    record: usize,
    merged: Vec<(SessionKey, Bytes)>,
    session: SessionKey,
    aggregate: Option<Bytes>,
}

fn count_of(v: &Bytes) -> i64 {
    <[u8; 8]>::try_from(v.as_ref()).map_or(0, i64::from_be_bytes)
}

impl Task {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn session_aggregate(
        &mut self,
        cx: &mut Context<'_>,
        node: NodeId,
        store: &str,
        kind: AggregateKind,
        windows: SessionWindows,
        batch: Batch,
    ) -> Result<(), ProcessingError> {
        let partition = self.partition;
        let mut segments: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut keys: HashSet<&Bytes> = HashSet::new();
        for (i, r) in batch.records.iter().enumerate() {
            // As the other aggregations: records with a null key or value are skipped.
            let (Some(key), Some(_)) = (&r.key, &r.value) else {
                cx.metrics.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if !keys.insert(key) {
                segments.push(std::mem::take(&mut current));
                keys.clear();
                keys.insert(key);
            }
            current.push(i);
        }
        if !current.is_empty() {
            segments.push(current);
        }
        // (session key, new value, timestamp, index in the batch), in processing order.
        let mut events: Vec<(Bytes, Option<Bytes>, i64, usize)> = Vec::new();
        let fail = |cx: &Context<'_>, i: usize, e: crate::error::Error| Self::error(cx, batch.origins[i], None, e.to_string());
        for records in segments {
            let mut plans: Vec<Plan> = Vec::with_capacity(records.len());
            for i in records {
                let r = &batch.records[i];
                let key = r.key.as_ref().expect("keyed");
                let t = r.timestamp;
                let st = self.stream_time.entry(node).or_insert(i64::MIN);
                *st = (*st).max(t);
                let close_time = windows.close_time(*st);
                let store_time = self.session_store_time.entry(node).or_insert(i64::MIN);
                let live = store_time.saturating_sub(windows.retention_ms()).saturating_add(1);
                let earliest_end = t.saturating_sub(windows.gap_ms).max(live);
                let found = cx.stores.with(|s| s.find_sessions(store, partition, key, earliest_end, t.saturating_add(windows.gap_ms)));
                let merged = found.map_err(|e| fail(cx, i, e))?;
                let start = merged.iter().map(|(s, _)| s.start).fold(t, i64::min);
                let end = merged.iter().map(|(s, _)| s.end).fold(t, i64::max);
                if end < close_time {
                    cx.metrics.late_dropped.fetch_add(1, Ordering::Relaxed);
                    let o = &cx.origins[batch.origins[i] as usize];
                    tracing::debug!(store, topic = %o.topic, partition = o.partition, offset = o.offset, timestamp = t,
                        session_start = start, session_end = end, close_time, "skipping a record for an expired session");
                    continue;
                }
                // The store's time after this record's writes (the merged sessions end before).
                *store_time = (*store_time).max(end);
                plans.push(Plan { record: i, merged, session: SessionKey { key: key.clone(), start, end }, aggregate: None });
            }
            if plans.is_empty() {
                continue;
            }
            match kind {
                AggregateKind::Latest => unreachable!("the topology builder refuses a session-windowed table source"),
                AggregateKind::Count => {
                    for p in &mut plans {
                        let n = p.merged.iter().map(|(_, v)| count_of(v)).sum::<i64>() + 1;
                        p.aggregate = Some(Bytes::copy_from_slice(&n.to_be_bytes()));
                    }
                }
                AggregateKind::Combine => {
                    // The merger folds the merged sessions' aggregates, one call per position.
                    let depth = plans.iter().map(|p| p.merged.len()).max().unwrap_or(0);
                    for j in 0..depth {
                        let at: Vec<usize> = (0..plans.len()).filter(|&p| plans[p].merged.len() > j).collect();
                        let input: Vec<StreamRecord> = at
                            .iter()
                            .map(|&p| {
                                let r = &batch.records[plans[p].record];
                                StreamRecord { key: r.key.clone(), value: Some(plans[p].merged[j].1.clone()), timestamp: r.timestamp }
                            })
                            .collect();
                        let operands: Vec<Option<Bytes>> = at.iter().map(|&p| plans[p].aggregate.clone()).collect();
                        let out = cx.functions.merge(node, &input, &operands);
                        self.take_results(cx, &batch, &mut plans, &at, out)?;
                    }
                    let all: Vec<usize> = (0..plans.len()).collect();
                    let input: Vec<StreamRecord> = plans.iter().map(|p| batch.records[p.record].clone()).collect();
                    let operands: Vec<Option<Bytes>> = plans.iter().map(|p| p.aggregate.clone()).collect();
                    let out = cx.functions.combine(node, &input, &operands);
                    self.take_results(cx, &batch, &mut plans, &all, out)?;
                }
            }
            let written = cx.stores.with(|s| -> crate::error::Result<()> {
                for p in &plans {
                    let new_key = p.session.encode();
                    for (old, _) in &p.merged {
                        let old_key = old.encode();
                        // A session equal to the new one is replaced, not removed.
                        if old_key != new_key {
                            s.put(store, partition, old_key.clone(), None)?;
                            events.push((old_key, None, old.end, p.record));
                        }
                    }
                    s.put(store, partition, new_key.clone(), p.aggregate.clone())?;
                    events.push((new_key, p.aggregate.clone(), p.session.end, p.record));
                }
                Ok(())
            });
            written.map_err(|e| fail(cx, plans[0].record, e))?;
        }
        // The changelog and downstream get the last update of each session of the batch (as
        // Kafka Streams' record cache), timestamped with the session's end (as Kafka Streams).
        let mut last: HashMap<&Bytes, usize> = HashMap::with_capacity(events.len());
        for (e, (key, ..)) in events.iter().enumerate() {
            last.insert(key, e);
        }
        let changelog = Topology::changelog_topic(&cx.config.application_id, store);
        let mut down = Batch { records: Vec::with_capacity(last.len()), origins: Vec::with_capacity(last.len()), old: None };
        for (e, (key, value, ts, i)) in events.iter().enumerate() {
            if last[key] != e {
                continue;
            }
            cx.out.push(ProducerRecord {
                topic: changelog.clone(),
                partition: Some(partition),
                key: Some(key.clone()),
                value: value.clone(),
                headers: Vec::new(),
                timestamp: Some(*ts),
            });
            down.records.push(StreamRecord { key: Some(key.clone()), value: value.clone(), timestamp: *ts });
            down.origins.push(batch.origins[*i]);
        }
        self.forward(cx, node, 0, down)
    }

    /// Puts the values of a merge or combine call into the plans `at`; its failure stops.
    fn take_results(&self, cx: &Context<'_>, batch: &Batch, plans: &mut [Plan], at: &[usize], out: CombineOutput) -> Result<(), ProcessingError> {
        if let Some(f) = out.failure {
            let record = plans[at[f.index.min(at.len() - 1)]].record;
            return Err(Self::error(cx, batch.origins[record], Some(f.kind), f.message));
        }
        if out.values.len() != at.len() {
            let record = plans[at[0]].record;
            return Err(Self::error(cx, batch.origins[record], None, format!("a session aggregation got {} values for {} records", out.values.len(), at.len())));
        }
        for (&p, v) in at.iter().zip(out.values) {
            plans[p].aggregate = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::functions::ClosureFunctions;
    use crate::streams::runtime::Metrics;
    use crate::streams::store::Stores;
    use crate::streams::topology::{BufferConfig, TopologyBuilder};
    use crate::streams::StreamsConfig;
    use std::sync::Arc;

    fn text(b: &Bytes) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// Runs `input` ((key, timestamp, value), one record per batch unless `together`) through a
    /// session aggregation of gap 10, grace `grace` (`count`, or `aggregate` concatenating values),
    /// optionally suppressed; returns what reached the sink as "key@[start,end]=value" ("-" for a
    /// removal) and the late records counted.
    fn run(grace: i64, combine: bool, suppressed: bool, together: bool, input: &[(&str, i64, &str)]) -> (Vec<String>, u64) {
        let mut b = TopologyBuilder::new();
        let src = b.source(&["in"]).unwrap();
        let kind = if combine { AggregateKind::Combine } else { AggregateKind::Count };
        let agg = b.session_aggregate(src, "sessions", kind, SessionWindows::of_inactivity_gap_and_grace(10, grace).unwrap()).unwrap();
        let table = if suppressed { b.suppress(agg, Some("finals"), BufferConfig::default()).unwrap().0 } else { agg };
        let out = b.to_stream(table).unwrap();
        b.sink(out, "out").unwrap();
        let topology = b.build().unwrap();
        let mut f = ClosureFunctions::new();
        // aggregate: the values joined with '+' (the initializer: ""); merger: the aggregates joined with '|'.
        f.combiner(agg, |r, agg| {
            let mut s = agg.map(text).unwrap_or_default();
            if !s.is_empty() {
                s.push('+');
            }
            s.push_str(&text(r.value.as_ref().unwrap()));
            Ok(Some(Bytes::from(s)))
        });
        f.merger(agg, |r, agg| {
            let other = text(r.value.as_ref().unwrap());
            Ok(Some(Bytes::from(match agg {
                None => other,
                Some(so_far) => format!("{}|{other}", text(so_far)),
            })))
        });
        let config = StreamsConfig::from_properties([("application.id", "app"), ("bootstrap.servers", "localhost:1")]).unwrap();
        let (stores, metrics) = (Stores::default(), Metrics::default());
        let origins = vec![super::super::Origin { topic: Arc::from("in"), partition: 0, offset: 0 }];
        let mut task = Task::new(0);
        let mut got = Vec::new();
        let records: Vec<StreamRecord> =
            input.iter().map(|&(k, ts, v)| StreamRecord::new(Some(Bytes::from(k.to_string())), Some(Bytes::from(v.to_string())), ts)).collect();
        let batches: Vec<Vec<StreamRecord>> = if together { vec![records] } else { records.into_iter().map(|r| vec![r]).collect() };
        for batch in batches {
            let mut cx = Context { topology: &topology, functions: &f, config: &config, stores: &stores, metrics: &metrics, origins: &origins, out: Vec::new() };
            let n = batch.len();
            task.process_entry(&mut cx, src, batch, vec![0; n]).unwrap();
            for p in cx.out.into_iter().filter(|p| p.topic == "out") {
                let s = SessionKey::decode(p.key.as_ref().unwrap()).unwrap();
                let v = match (&p.value, combine) {
                    (None, _) => "-".to_string(),
                    (Some(v), false) => count_of(v).to_string(),
                    (Some(v), true) => text(v),
                };
                assert_eq!(p.timestamp, Some(s.end), "an update is timestamped with its session's end");
                got.push(format!("{}@[{},{}]={v}", text(&s.key), s.start, s.end));
            }
        }
        (got, metrics.late_dropped.load(Ordering::Relaxed))
    }

    #[test]
    fn a_record_bridging_two_sessions_merges_them_and_removes_both() {
        let input = [("a", 0, "x"), ("a", 30, "y"), ("b", 30, "z"), ("a", 15, "w"), ("a", 20, "v"), ("a", 8, "u"), ("a", 30, "t")];
        // A grace of 100: nothing late, nothing expired.
        let (got, late) = run(100, false, false, false, &input);
        let want = [
            "a@[0,0]=1", "a@[30,30]=1", "b@[30,30]=1", "a@[15,15]=1", // 15 is more than the gap from 0 and 30 (and not late: 30 - 15)
            "a@[15,15]=-", "a@[30,30]=-", "a@[15,30]=3", // 20 bridges [15,15] and [30,30]
            "a@[0,0]=-", "a@[15,30]=-", "a@[0,30]=5", // 8 bridges [0,0] and [15,30]
            "a@[0,30]=6", // within [0,30]: the same session, updated
        ];
        assert_eq!(got, want);
        assert_eq!(late, 0);
        let (got, _) = run(100, true, false, false, &input);
        assert_eq!(got[6], "a@[15,30]=w|y+v", "the merger folds the sessions by end, then the aggregator adds the record");
        assert_eq!(got[9], "a@[0,30]=x|w|y+v+u");
    }

    #[test]
    fn late_records_are_dropped_after_gap_plus_grace() {
        // Stream time 100: a session ending before 100 - 5 - 10 = 85 is closed.
        let (got, late) = run(5, false, false, false, &[("a", 100, "x"), ("a", 84, "late"), ("a", 85, "ok"), ("a", 95, "merges")]);
        // a@95 finds [100,100], not [85,85]: the store's time is 100, sessions ending before
        // 100 - 15 + 1 are expired (Kafka Streams' segmented store), though not closed.
        assert_eq!(got, vec!["a@[100,100]=1", "a@[85,85]=1", "a@[100,100]=-", "a@[95,100]=2"]);
        assert_eq!(late, 1);
    }

    #[test]
    fn an_expired_session_is_not_merged_any_more() {
        // Gap 10, grace 5: retention 15. b@40 makes the store's time 40: sessions ending before
        // 40 - 15 + 1 = 26 are expired. a@30 is within the gap of [25,25] and [38,38] but finds
        // only the second (and is not late: [30,38] ends after 40 - 15).
        let (got, late) = run(5, false, false, false, &[("a", 25, "x"), ("a", 38, "y"), ("b", 40, "z"), ("a", 30, "w")]);
        assert_eq!(got, vec!["a@[25,25]=1", "a@[38,38]=1", "b@[40,40]=1", "a@[38,38]=-", "a@[30,38]=2"]);
        assert_eq!(late, 0);
    }

    #[test]
    fn one_batch_gives_the_same_sessions_and_suppression_gives_final_ones() {
        let input = [("a", 0, "x"), ("b", 3, "y"), ("a", 5, "z"), ("a", 40, "u"), ("b", 60, "v")];
        let (got, _) = run(5, false, false, true, &input);
        assert_eq!(got, vec!["b@[3,3]=1", "a@[0,0]=-", "a@[0,5]=2", "a@[40,40]=1", "b@[60,60]=1"], "the last update of each session of the batch");
        // Final results once stream time passes a session's end + gap + grace: b@[3,3] and
        // a@[0,5] at 40 (>= 5 + 15), a@[40,40] at 60; b@[60,60] stays open.
        let (got, _) = run(5, false, true, false, &input);
        assert_eq!(got, vec!["b@[3,3]=1", "a@[0,5]=2", "a@[40,40]=1"]);
    }
}
