//! The stream thread's input buffers: records polled but not processed yet, one queue per input
//! partition, and the order a task takes them in (Kafka Streams' `PartitionGroup`).
//!
//! A task reading several partitions (co-partitioned sources: a join, a merge of topics) takes
//! the record with the lowest timestamp at the head of its queues next, so its stream time moves
//! in timestamp order whichever topic the consumer fetched first. Before it takes anything it
//! waits for its empty partitions as `max.task.idle.ms` says (KIP-695):
//! - `-1`: never waits; records are taken from whatever is buffered;
//! - `0` (the default) and above: a partition with nothing buffered whose fetched lag is unknown
//!   (no fetch response yet) or above 0 (data on the broker not fetched yet) holds the task; one
//!   known to be caught up holds it for `max.task.idle.ms` more, then the task goes on without it
//!   ("enforced processing").
//!
//! Records are handed out in runs (consecutive records of one partition) so user functions get
//! them in batches: a run ends where the next record's timestamp passes the head of another queue
//! of the task, or where its queue is empty.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::consumer::ConsumerRecord;
use crate::record::TopicPartition;

pub(crate) struct InputBuffers {
    queues: BTreeMap<TopicPartition, VecDeque<ConsumerRecord>>,
    /// Partitions known to be caught up and empty: when the task stops waiting for them.
    idle_deadlines: HashMap<TopicPartition, Instant>,
    /// `max.task.idle.ms`; `None` for -1 (never wait).
    max_task_idle: Option<Duration>,
    /// Records buffered per partition above which it is paused (`buffered.records.per.partition`).
    per_partition_limit: usize,
    /// Per partition, the largest event time extracted from its records so far (Kafka Streams'
    /// partition time, given to timestamp extractors); unknown (-1) until one was.
    partition_times: HashMap<TopicPartition, i64>,
}

impl InputBuffers {
    pub fn new(max_task_idle: Option<Duration>, per_partition_limit: usize) -> Self {
        InputBuffers { queues: BTreeMap::new(), idle_deadlines: HashMap::new(), max_task_idle, per_partition_limit, partition_times: HashMap::new() }
    }

    /// Appends polled records to their partitions' queues (a poll delivers each partition in
    /// offset order).
    pub fn push(&mut self, records: Vec<ConsumerRecord>) {
        for r in records {
            let tp = r.topic_partition();
            self.queues.entry(tp).or_default().push_back(r);
        }
    }

    /// Forgets every buffered record (the inputs were moved back to the committed offsets).
    pub fn clear(&mut self) {
        self.queues.clear();
        self.idle_deadlines.clear();
        self.partition_times.clear();
    }

    /// The partition's time: the largest event time extracted from it, -1 while unknown.
    pub fn partition_time(&self, tp: &TopicPartition) -> i64 {
        self.partition_times.get(tp).copied().unwrap_or(-1)
    }

    pub fn set_partition_time(&mut self, tp: &TopicPartition, time: i64) {
        self.partition_times.insert(tp.clone(), time);
    }

    /// Keeps the queues of the partitions `keep` says yes to (after a rebalance).
    pub fn retain(&mut self, mut keep: impl FnMut(&TopicPartition) -> bool) {
        self.queues.retain(|tp, _| keep(tp));
        self.idle_deadlines.retain(|tp, _| keep(tp));
        self.partition_times.retain(|tp, _| keep(tp));
    }

    pub fn is_empty(&self) -> bool {
        self.queues.values().all(VecDeque::is_empty)
    }

    /// Partitions holding records, with how many.
    pub fn buffered(&self) -> impl Iterator<Item = (&TopicPartition, usize)> {
        self.queues.iter().filter(|(_, q)| !q.is_empty()).map(|(tp, q)| (tp, q.len()))
    }

    /// Partitions holding the limit or more (the thread pauses them until they do not).
    pub fn full(&self) -> impl Iterator<Item = &TopicPartition> {
        self.buffered().filter(|(_, n)| *n >= self.per_partition_limit).map(|(tp, _)| tp)
    }

    /// The next run of records of the task reading `partitions` (its assigned input
    /// partitions), or `None` when it has nothing to take or must wait for an empty partition.
    /// `lag` gives a partition's fetched lag (`None`: unknown).
    pub fn next_run(
        &mut self,
        partitions: &[TopicPartition],
        lag: impl Fn(&TopicPartition) -> Option<i64>,
        now: Instant,
    ) -> Option<(TopicPartition, Vec<ConsumerRecord>)> {
        let head = |q: Option<&VecDeque<ConsumerRecord>>| q.and_then(VecDeque::front).map(|r| r.timestamp);
        if partitions.len() > 1 {
            if let Some(idle) = self.max_task_idle {
                for tp in partitions {
                    if head(self.queues.get(tp)).is_some() {
                        self.idle_deadlines.remove(tp);
                        continue;
                    }
                    match lag(tp) {
                        Some(0) => {
                            let deadline = *self.idle_deadlines.entry(tp.clone()).or_insert(now + idle);
                            if now < deadline {
                                return None;
                            }
                        }
                        _ => {
                            self.idle_deadlines.remove(tp);
                            return None;
                        }
                    }
                }
            }
        }
        // The queue with the lowest head timestamp (the first of equals, in partition order),
        // and the lowest head among the others: where its run ends.
        let mut first: Option<(&TopicPartition, i64)> = None;
        let mut bound = i64::MAX;
        for tp in partitions {
            let Some(ts) = head(self.queues.get(tp)) else { continue };
            match first {
                Some((_, f)) if ts >= f => bound = bound.min(ts),
                Some((_, f)) => {
                    bound = bound.min(f);
                    first = Some((tp, ts));
                }
                None => first = Some((tp, ts)),
            }
        }
        let (tp, _) = first?;
        let tp = tp.clone();
        let q = self.queues.get_mut(&tp).expect("a queue with a head");
        // Records up to the other queues' lowest head (equal timestamps: this queue first, as
        // it was chosen first), at least one.
        let n = q.iter().take_while(|r| r.timestamp <= bound).count().max(1);
        let run: Vec<ConsumerRecord> = q.drain(..n).collect();
        Some((tp, run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(topic: &str, offset: i64, ts: i64) -> ConsumerRecord {
        ConsumerRecord {
            topic: topic.into(),
            partition: 0,
            offset,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: ts,
            timestamp_type: crate::protocol::records::TimestampType::CreateTime,
            leader_epoch: None,
        }
    }

    fn tps(names: &[&str]) -> Vec<TopicPartition> {
        names.iter().map(|t| TopicPartition::new(*t, 0)).collect()
    }

    fn offsets(run: &[ConsumerRecord]) -> Vec<i64> {
        run.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn takes_runs_in_timestamp_order_across_partitions() {
        let mut b = InputBuffers::new(Some(Duration::ZERO), 1000);
        // "a" fetched first with everything; "b" interleaves.
        b.push(vec![rec("a", 0, 10), rec("a", 1, 20), rec("a", 2, 30), rec("a", 3, 40)]);
        b.push(vec![rec("b", 0, 15), rec("b", 1, 35)]);
        let parts = tps(&["a", "b"]);
        let now = Instant::now();
        let caught_up = |_: &TopicPartition| Some(0);
        let mut order = Vec::new();
        while let Some((tp, run)) = b.next_run(&parts, caught_up, now) {
            order.push((tp.topic.to_string(), offsets(&run)));
        }
        assert_eq!(
            order,
            vec![
                ("a".to_string(), vec![0]),
                ("b".to_string(), vec![0]),
                ("a".to_string(), vec![1, 2]),
                ("b".to_string(), vec![1]),
                ("a".to_string(), vec![3]),
            ]
        );
        assert!(b.is_empty());
    }

    #[test]
    fn one_partition_is_one_run() {
        let mut b = InputBuffers::new(Some(Duration::ZERO), 1000);
        b.push(vec![rec("a", 0, 30), rec("a", 1, 10), rec("a", 2, 20)]);
        let (_, run) = b.next_run(&tps(&["a"]), |_| None, Instant::now()).unwrap();
        assert_eq!(offsets(&run), vec![0, 1, 2], "a single partition is taken in offset order, whatever its timestamps");
    }

    #[test]
    fn waits_for_an_empty_partition_with_lag_or_unknown_lag() {
        let mut b = InputBuffers::new(Some(Duration::ZERO), 1000);
        b.push(vec![rec("a", 0, 10)]);
        let parts = tps(&["a", "b"]);
        let now = Instant::now();
        assert!(b.next_run(&parts, |_| None, now).is_none(), "b's lag unknown: wait");
        assert!(b.next_run(&parts, |tp| (tp.topic == "b").then_some(5), now).is_none(), "b has data on the broker: wait");
        let (tp, run) = b.next_run(&parts, |_| Some(0), now).expect("b caught up, max.task.idle.ms 0: go on");
        assert_eq!((tp.topic.as_str(), offsets(&run)), ("a", vec![0]));
    }

    #[test]
    fn max_task_idle_holds_a_caught_up_partition_then_gives_up() {
        let mut b = InputBuffers::new(Some(Duration::from_millis(500)), 1000);
        b.push(vec![rec("a", 0, 10)]);
        let parts = tps(&["a", "b"]);
        let t0 = Instant::now();
        assert!(b.next_run(&parts, |_| Some(0), t0).is_none());
        assert!(b.next_run(&parts, |_| Some(0), t0 + Duration::from_millis(499)).is_none());
        assert!(b.next_run(&parts, |_| Some(0), t0 + Duration::from_millis(500)).is_some());
    }

    #[test]
    fn disabled_idling_never_waits() {
        let mut b = InputBuffers::new(None, 1000);
        b.push(vec![rec("a", 0, 10)]);
        assert!(b.next_run(&tps(&["a", "b"]), |_| None, Instant::now()).is_some());
    }

    #[test]
    fn limit_retain_and_clear() {
        let mut b = InputBuffers::new(None, 2);
        b.push(vec![rec("a", 0, 1), rec("a", 1, 2), rec("b", 0, 1)]);
        assert_eq!(b.full().cloned().collect::<Vec<_>>(), vec![TopicPartition::new("a", 0)], "a holds the limit, b less");
        b.retain(|tp| tp.topic == "b");
        assert_eq!(b.buffered().map(|(tp, n)| (tp.topic.to_string(), n)).collect::<Vec<_>>(), vec![("b".to_string(), 1)]);
        b.clear();
        assert!(b.is_empty());
    }
}
