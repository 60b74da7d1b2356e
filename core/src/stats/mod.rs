//! Statistics: one model per client, kept with relaxed atomics on the hot path (no lock and no
//! allocation per record or per request) and read as a snapshot in librdkafka's statistics
//! layout (the JSON confluent-kafka's `stats_cb` receives; field names and nesting as its
//! STATISTICS.md, for the fields listed in the README's "Statistics" section).
//!
//! A [`Stats`] lives in the client's [`Cluster`](crate::cluster::Cluster): connections report
//! per-broker counters into a [`BrokerStats`], the producer counts delivered records per
//! partition, and the consumer adds what its own state knows (positions, committed offsets,
//! high watermarks, lag) when it takes a snapshot.

mod broker;
pub mod histogram;
pub mod otel;
pub mod window;

pub use broker::BrokerStats;
pub use window::{Window, WindowSummary, Windows};

use crate::sync::MutexExt;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Records and their bytes, in one direction.
#[derive(Default)]
pub struct Flow {
    pub msgs: AtomicU64,
    pub bytes: AtomicU64,
}

impl Flow {
    fn add(&self, records: usize, bytes: usize) {
        self.msgs.fetch_add(records as u64, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }
    fn get(&self) -> (u64, u64) {
        (self.msgs.load(Relaxed), self.bytes.load(Relaxed))
    }
}

/// Counters of one topic-partition kept on the producer's and consumer's paths.
#[derive(Default)]
pub struct PartitionCounters {
    /// Records delivered.
    pub tx: Flow,
    /// Records fetched.
    pub rx: Flow,
    /// Records whose delivery failed, by error name (`NOT_LEADER_OR_FOLLOWER`, `_TIMEOUT`): kept
    /// on the failure path only.
    pub txerrs: Mutex<BTreeMap<String, u64>>,
}

/// The statistics of one client.
pub struct Stats {
    client_id: String,
    started: Instant,
    /// `statistics.interval.ms` in microseconds (0: never due), and when the next snapshot is
    /// due (microseconds after `started`).
    interval_us: u64,
    next_due_us: AtomicU64,
    brokers: Mutex<BTreeMap<String, Arc<BrokerStats>>>,
    partitions: Mutex<HashMap<Arc<str>, HashMap<i32, Arc<PartitionCounters>>>>,
    /// Records (and their bytes) the brokers acknowledged.
    pub tx: Flow,
    /// Records whose delivery failed.
    pub txerrs: AtomicU64,
    /// Records (and their bytes) fetched.
    pub rx: Flow,
    /// Durations and sizes since the last [`take_windows`](Self::take_windows).
    pub windows: Windows,
}

/// What the client adds to a snapshot from its own state.
#[derive(Default)]
pub struct ClientPart {
    /// Records waiting to be delivered, and their bytes (producer) or waiting to be polled
    /// (consumer).
    pub msg_cnt: u64,
    pub msg_size: u64,
    /// Fields per topic-partition, merged into `topics.<t>.partitions.<p>`.
    pub partitions: Vec<(Arc<str>, i32, Map<String, Value>)>,
    /// The `cgrp` object, for a consumer in a group.
    pub cgrp: Option<Value>,
}

impl Stats {
    pub fn new(client_id: &str, interval: std::time::Duration) -> Self {
        let interval_us = interval.as_micros() as u64;
        Stats {
            client_id: client_id.to_string(),
            started: Instant::now(),
            interval_us,
            next_due_us: AtomicU64::new(interval_us),
            brokers: Mutex::new(BTreeMap::new()),
            partitions: Mutex::new(HashMap::new()),
            tx: Flow::default(),
            txerrs: AtomicU64::new(0),
            rx: Flow::default(),
            windows: Windows::default(),
        }
    }

    /// The windows' values since the last call, as JSON (see [`Windows`]), and new windows.
    pub fn take_windows(&self) -> Value {
        let brokers: Vec<Arc<BrokerStats>> = self.brokers.locked().values().cloned().collect();
        let connect = brokers.iter().fold(WindowSummary::default(), |acc, b| acc.merge(b.connect_us.take()));
        self.windows.take_json(connect)
    }

    /// True, once per `statistics.interval.ms`, when a periodic snapshot is due: the caller
    /// (a binding's poll, for instance) takes it and hands it to the application. Never true
    /// when the interval is 0. One caller wins each period.
    pub fn take_due(&self) -> bool {
        if self.interval_us == 0 {
            return false;
        }
        let now = self.started.elapsed().as_micros() as u64;
        let due = self.next_due_us.load(Relaxed);
        now >= due && self.next_due_us.compare_exchange(due, now + self.interval_us, Relaxed, Relaxed).is_ok()
    }

    /// The counters of the broker at `addr` with `node_id` (negative: a bootstrap address),
    /// named as librdkafka names brokers (`host:port/<id>`, `host:port/bootstrap`). Called per
    /// connection, not per request.
    pub fn broker(&self, addr: &str, node_id: i32) -> Arc<BrokerStats> {
        let name = if node_id < 0 { format!("{addr}/bootstrap") } else { format!("{addr}/{node_id}") };
        self.brokers
            .locked()
            .entry(name.clone())
            .or_insert_with(|| Arc::new(BrokerStats::new(name, node_id, self.started)))
            .clone()
    }

    /// The counters of one partition. Called per batch, not per record.
    pub fn partition(&self, topic: &str, partition: i32) -> Arc<PartitionCounters> {
        let mut map = self.partitions.locked();
        let parts = match map.get_mut(topic) {
            Some(parts) => parts,
            None => map.entry(Arc::from(topic)).or_default(),
        };
        parts.entry(partition).or_default().clone()
    }

    /// Records delivered to a partition (`error` None) or failed with the error named `error`.
    pub fn produced(&self, topic: &str, partition: i32, records: usize, bytes: usize, error: Option<&str>) {
        if let Some(name) = error {
            self.txerrs.fetch_add(records as u64, Relaxed);
            *self.partition(topic, partition).txerrs.locked().entry(name.to_string()).or_default() += records as u64;
            return;
        }
        self.tx.add(records, bytes);
        self.partition(topic, partition).tx.add(records, bytes);
    }

    /// Records fetched from a partition.
    pub fn fetched(&self, topic: &str, partition: i32, records: usize, bytes: usize) {
        if records == 0 {
            return;
        }
        self.rx.add(records, bytes);
        self.partition(topic, partition).rx.add(records, bytes);
    }

    /// A snapshot in librdkafka's layout; `kind` is `producer` or `consumer`.
    pub fn snapshot(&self, kind: &str, name: &str, client: ClientPart) -> Value {
        let brokers: Vec<Arc<BrokerStats>> = self.brokers.locked().values().cloned().collect();
        let mut broker_map = Map::new();
        let (mut tx, mut tx_bytes, mut rx, mut rx_bytes) = (0u64, 0u64, 0u64, 0u64);
        for b in &brokers {
            tx += b.tx.load(Relaxed);
            tx_bytes += b.tx_bytes.load(Relaxed);
            rx += b.rx.load(Relaxed);
            rx_bytes += b.rx_bytes.load(Relaxed);
            broker_map.insert(b.name.clone(), b.to_json());
        }
        let mut topics: BTreeMap<Arc<str>, BTreeMap<i32, Map<String, Value>>> = BTreeMap::new();
        let counters: Vec<_> = self
            .partitions
            .locked()
            .iter()
            .flat_map(|(t, parts)| parts.iter().map(|(p, c)| (t.clone(), *p, c.clone())))
            .collect();
        for (topic, partition, c) in counters {
            let mut m = Map::new();
            let ((txmsgs, txbytes), (rxmsgs, rxbytes)) = (c.tx.get(), c.rx.get());
            m.insert("txmsgs".into(), txmsgs.into());
            m.insert("txbytes".into(), txbytes.into());
            m.insert("rxmsgs".into(), rxmsgs.into());
            m.insert("rxbytes".into(), rxbytes.into());
            let errs = c.txerrs.locked();
            if !errs.is_empty() {
                // Not in librdkafka's layout: failed deliveries by error name (for OpenTelemetry's error.type).
                m.insert("txerrs".into(), errs.values().sum::<u64>().into());
                m.insert("txerrs_by_type".into(), errs.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect::<Map<_, _>>().into());
            }
            drop(errs);
            topics.entry(topic).or_default().insert(partition, m);
        }
        for (topic, partition, fields) in client.partitions {
            topics.entry(topic).or_default().entry(partition).or_default().extend(fields);
        }
        let topics: Map<String, Value> = topics
            .into_iter()
            .map(|(topic, parts)| {
                let parts: Map<String, Value> = parts
                    .into_iter()
                    .map(|(p, mut m)| {
                        m.insert("partition".into(), p.into());
                        for k in ["txmsgs", "txbytes", "rxmsgs", "rxbytes"] {
                            m.entry(k).or_insert(0.into());
                        }
                        (p.to_string(), Value::Object(m))
                    })
                    .collect();
                (topic.to_string(), json!({ "topic": &*topic, "partitions": parts }))
            })
            .collect();
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let age = self.started.elapsed().as_micros() as u64;
        let mut out = json!({
            "name": name,
            "client_id": self.client_id,
            "type": kind,
            "ts": age,
            "time": wall.as_secs(),
            "age": age,
            "msg_cnt": client.msg_cnt,
            "msg_size": client.msg_size,
            "tx": tx,
            "tx_bytes": tx_bytes,
            "rx": rx,
            "rx_bytes": rx_bytes,
            "txmsgs": self.tx.get().0,
            "txmsg_bytes": self.tx.get().1,
            "rxmsgs": self.rx.get().0,
            "rxmsg_bytes": self.rx.get().1,
            "brokers": broker_map,
            "topics": topics,
        });
        if let Some(cgrp) = client.cgrp {
            out["cgrp"] = cgrp;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_snapshot_is_due_once_per_interval_and_never_without_one() {
        let never = Stats::new("c", Duration::ZERO);
        std::thread::sleep(Duration::from_millis(30));
        assert!(!never.take_due());
        let s = Stats::new("c", Duration::from_millis(20));
        assert!(!s.take_due(), "due before the first interval passed");
        std::thread::sleep(Duration::from_millis(30));
        assert!(s.take_due());
        assert!(!s.take_due(), "due twice in one interval");
        std::thread::sleep(Duration::from_millis(30));
        assert!(s.take_due());
    }

    #[test]
    fn snapshot_has_librdkafka_names_for_counted_records() {
        let s = Stats::new("client-1", Duration::ZERO);
        s.produced("t", 0, 3, 30, None);
        s.produced("t", 0, 2, 20, Some("_TIMEOUT"));
        s.fetched("t", 1, 4, 40);
        s.broker("h:1", 7).sent(100);
        let v = s.snapshot("producer", "client-1#producer", ClientPart { msg_cnt: 5, msg_size: 50, ..Default::default() });
        assert_eq!((v["txmsgs"].as_u64(), v["txmsg_bytes"].as_u64(), v["rxmsgs"].as_u64()), (Some(3), Some(30), Some(4)));
        assert_eq!(v["topics"]["t"]["partitions"]["0"]["txmsgs"], 3);
        assert_eq!(v["topics"]["t"]["partitions"]["0"]["txerrs_by_type"]["_TIMEOUT"], 2);
        assert_eq!(v["topics"]["t"]["partitions"]["1"]["rxbytes"], 40);
        assert_eq!(v["brokers"]["h:1/7"]["txbytes"], 100);
        assert_eq!(v["brokers"]["h:1/7"]["state"], "INIT");
        assert_eq!((v["tx"].as_u64(), v["tx_bytes"].as_u64(), v["msg_cnt"].as_u64()), (Some(1), Some(100), Some(5)));
        assert!(v.get("cgrp").is_none());
    }
}
