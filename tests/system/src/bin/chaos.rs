//! A chaos run with a verifier (`make chaos SEED=... MINUTES=...`): on a 3-node cluster (started here) whose
//! clients go through one fault proxy per node, a seeded random schedule of node kills and restarts, SIGSTOP
//! pauses, connection resets, black holes and added latency, one fault at a time, while three workloads run:
//! - an idempotent producer (acks=all) writing numbered records to 6 partitions (replication 3, min ISR 2);
//! - a transactional producer writing batches of 100, every fifth transaction aborted on purpose;
//! - a consumer group of two members reading the first topic, committing after each batch.
//!
//! Then every fault is healed and the verifier reads everything back over the direct listeners and counts:
//! acknowledged but lost, duplicated, reordered (per partition), committed transactions lost, aborted records
//! visible under read_committed, and committed but unprocessed records (below a committed offset, never handed
//! to a member). The same seed gives the same schedule: the same faults in the same order, each no earlier than
//! its time (a kill waits for the node's restart, which moves the later steps). Exits 1 when any count is not 0.
//! The figures go to build/chaos/seed-<seed>.json.
//!
//! `chaos [--seed N] [--minutes M] [--port-base P]` (defaults: seed 1, 2 minutes, port base 10692)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::consumer::{CommitMode, Consumer};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::proxy::{FaultProxy, Faults};
use polykafka_system_tests::{group_member, idempotent_producer, repo, unique, TestCluster};

const IDEM_PARTITIONS: i32 = 6;
const TXN_PARTITIONS: i32 = 3;
const T: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Kill,
    Pause,
    Reset,
    BlackHole,
    Latency,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    at: Duration,
    fault: Fault,
    node: usize,
    length: Duration,
}

/// xorshift64*: the schedule depends on the seed only.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn schedule(seed: u64, run: Duration) -> Vec<Step> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let faults = [Fault::Kill, Fault::Pause, Fault::Reset, Fault::BlackHole, Fault::Latency];
    let mut steps = Vec::new();
    let mut at = Duration::from_secs(5);
    // Leave the last 15 s without new faults, so the run ends healed.
    while at + Duration::from_secs(15) < run {
        let fault = faults[rng.below(faults.len() as u64) as usize];
        let length = Duration::from_millis(3_000 + rng.below(9_000));
        steps.push(Step { at, fault, node: rng.below(3) as usize, length });
        at += length + Duration::from_millis(2_000 + rng.below(6_000));
    }
    steps
}

#[derive(Default)]
struct Ledger {
    /// Idempotent producer: values acknowledged, per partition.
    acked: Mutex<BTreeMap<i32, BTreeSet<u64>>>,
    send_failures: AtomicU64,
    /// Transactional producer: values of committed and of intentionally aborted transactions; values of
    /// transactions whose outcome is unknown (commit failed) are in neither.
    txn_committed: Mutex<BTreeSet<String>>,
    txn_aborted: Mutex<BTreeSet<String>>,
    txn_unknown: AtomicU64,
    /// Consumer group: (partition, offset) handed to a member.
    processed: Mutex<BTreeSet<(i32, i64)>>,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed: u64 = arg(&args, "--seed").map_or(1, |v| v.parse().expect("--seed N"));
    let minutes: f64 = arg(&args, "--minutes").map_or(2.0, |v| v.parse().expect("--minutes M"));
    let port_base: u32 = arg(&args, "--port-base").map_or(10692, |v| v.parse().expect("--port-base P"));
    let run = Duration::from_secs_f64(minutes * 60.0);
    let steps = schedule(seed, run);
    println!("chaos: seed {seed}, {minutes} min, {} faults scheduled:", steps.len());
    for s in &steps {
        println!("  at {:>6.1}s {:?} node {} for {:.1}s", s.at.as_secs_f64(), s.fault, s.node + 1, s.length.as_secs_f64());
    }

    // One cluster per port base, so runs on other bases can go on beside this one.
    let cluster = TestCluster::start_proxied(&format!("chaos{port_base}"), 3, port_base, 1000);
    let direct = cluster.bootstrap();
    let proxied = cluster.proxy_bootstrap();
    let proxies: Vec<Arc<FaultProxy>> = cluster.proxies().await.into_iter().map(Arc::new).collect();
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", direct.as_str())]).unwrap()).unwrap();
    let (idem, txn) = (unique("chaos-idem"), unique("chaos-txn"));
    admin.create_topic(&idem, IDEM_PARTITIONS, 3).await.unwrap();
    admin.create_topic(&txn, TXN_PARTITIONS, 3).await.unwrap();

    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));
    let group = unique("chaos-group");
    let workloads = vec![
        tokio::spawn(idempotent(proxied.clone(), idem.clone(), ledger.clone(), stop.clone())),
        tokio::spawn(transactional(proxied.clone(), txn.clone(), ledger.clone(), stop.clone())),
        tokio::spawn(member(proxied.clone(), idem.clone(), group.clone(), ledger.clone(), stop.clone())),
        tokio::spawn(member(proxied.clone(), idem.clone(), group.clone(), ledger.clone(), stop.clone())),
    ];

    let start = Instant::now();
    let mut injected: BTreeMap<String, usize> = BTreeMap::new();
    for s in &steps {
        if let Some(wait) = s.at.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let node = (s.node + 1).to_string();
        let proxy = &proxies[s.node];
        println!("chaos: {:>6.1}s {:?} node {node}", start.elapsed().as_secs_f64(), s.fault);
        match s.fault {
            Fault::Kill => {
                cluster.launcher(&["kill", &node]);
                tokio::time::sleep(s.length).await;
                cluster.launcher(&["start", &node]);
            }
            Fault::Pause => {
                cluster.launcher(&["pause", &node]);
                tokio::time::sleep(s.length).await;
                cluster.launcher(&["resume", &node]);
            }
            Fault::Reset => {
                let until = Instant::now() + s.length;
                while Instant::now() < until {
                    proxy.reset_all();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            Fault::BlackHole => {
                proxy.set(Faults { black_hole: true, ..Faults::default() });
                tokio::time::sleep(s.length).await;
                proxy.set(Faults::default());
            }
            Fault::Latency => {
                proxy.set(Faults { latency: Duration::from_millis(100), jitter: Duration::from_millis(100), ..Faults::default() });
                tokio::time::sleep(s.length).await;
                proxy.set(Faults::default());
            }
        }
        *injected.entry(format!("{:?}", s.fault)).or_default() += 1;
    }
    if let Some(wait) = run.checked_sub(start.elapsed()) {
        tokio::time::sleep(wait).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workloads {
        w.await.expect("a workload task panicked");
    }
    let resets: u64 = proxies.iter().map(|p| p.counts().resets).sum();

    // The verifier, over the direct listeners.
    let c = Cluster::new(ClientConfig::with_bootstrap(&direct).unwrap()).unwrap();
    let acked = ledger.acked.lock().unwrap().clone();
    let (mut lost, mut duplicated, mut reordered, mut unprocessed, mut read) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let processed = ledger.processed.lock().unwrap().clone();
    let probe = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", direct.as_str()), ("group.id", group.as_str())]).unwrap()).unwrap();
    let tps: Vec<TopicPartition> = (0..IDEM_PARTITIONS).map(|p| TopicPartition::new(&idem, p)).collect();
    let committed: HashMap<i32, i64> = probe.committed(&tps, T).await.unwrap().into_iter().map(|(tp, o)| (tp.partition, o)).collect();
    for p in 0..IDEM_PARTITIONS {
        let records = read_partition(&c, &idem, p, IsolationLevel::ReadUncommitted).await;
        read += records.len();
        let values: Vec<u64> = records.iter().map(|(_, v)| v.parse().unwrap()).collect();
        let mut seen = BTreeSet::new();
        duplicated += values.iter().filter(|v| !seen.insert(**v)).count();
        reordered += values.windows(2).filter(|w| w[0] >= w[1]).count();
        lost += acked.get(&p).map_or(0, |a| a.difference(&seen).count());
        let upto = committed.get(&p).copied().unwrap_or(-1);
        unprocessed += records.iter().filter(|(o, _)| *o < upto && !processed.contains(&(p, *o))).count();
    }
    let mut txn_values: HashMap<String, usize> = HashMap::new();
    for p in 0..TXN_PARTITIONS {
        for (_, v) in read_partition(&c, &txn, p, IsolationLevel::ReadCommitted).await {
            *txn_values.entry(v).or_default() += 1;
        }
    }
    let txn_committed = ledger.txn_committed.lock().unwrap().clone();
    let txn_aborted = ledger.txn_aborted.lock().unwrap().clone();
    let txn_lost = txn_committed.iter().filter(|v| !txn_values.contains_key(*v)).count();
    let txn_duplicated = txn_values.values().filter(|n| **n > 1).count();
    let aborted_visible = txn_aborted.iter().filter(|v| txn_values.contains_key(*v)).count();

    let acked_count: usize = acked.values().map(BTreeSet::len).sum();
    let summary = serde_json::json!({
        "seed": seed, "minutes": minutes, "faults": injected, "proxy_resets": resets,
        "idempotent": { "acknowledged": acked_count, "send_failures": ledger.send_failures.load(Ordering::Relaxed), "read": read,
                        "lost": lost, "duplicated": duplicated, "reordered": reordered },
        "transactional": { "committed_records": txn_committed.len(), "aborted_records": txn_aborted.len(),
                           "unknown_outcome_transactions": ledger.txn_unknown.load(Ordering::Relaxed),
                           "lost": txn_lost, "duplicated": txn_duplicated, "aborted_visible": aborted_visible },
        "group": { "processed": processed.len(), "committed": committed, "committed_but_unprocessed": unprocessed },
    });
    let dir = repo().join("build/chaos");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{seed}.json")), serde_json::to_string_pretty(&summary).unwrap()).unwrap();
    println!("chaos: {}", serde_json::to_string(&summary).unwrap());
    let bad = lost + duplicated + reordered + unprocessed + txn_lost + txn_duplicated + aborted_visible;
    if bad > 0 || acked_count == 0 || txn_committed.is_empty() || processed.is_empty() {
        println!("chaos: FAILED (lost {lost}, duplicated {duplicated}, reordered {reordered}, committed but unprocessed {unprocessed}, transactional lost {txn_lost}, duplicated {txn_duplicated}, aborted visible {aborted_visible})");
        std::process::exit(1);
    }
    println!("chaos: ok: {acked_count} idempotent and {} transactional records acknowledged through {} faults, none lost or doubled", txn_committed.len(), steps.len());
}

/// (offset, value) of a partition from offset 0 to its end.
async fn read_partition(c: &Cluster, topic: &str, p: i32, iso: IsolationLevel) -> Vec<(i64, String)> {
    let tp = TopicPartition::new(topic, p);
    let end = list_offsets(c, &[(tp.clone(), OffsetSpec::Latest)], iso).await.unwrap()[0].1.as_ref().unwrap().offset;
    let records = read_all(c, &tp, 0, end, iso).await.unwrap();
    records.iter().map(|r| (r.offset, String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())).collect()
}

async fn idempotent(bootstrap: String, topic: String, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) {
    let producer = idempotent_producer(&bootstrap, "5000", &[]);
    let mut next = 0u64;
    let mut pending = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let values: Vec<u64> = (next..next + 200).collect();
        next += 200;
        let records = values.iter().map(|v| ProducerRecord::new(&topic).partition((*v % IDEM_PARTITIONS as u64) as i32).value(v.to_string())).collect();
        match producer.send_batch(records).await {
            Ok(d) => pending.push((values, d)),
            Err(e) => {
                eprintln!("chaos idempotent: send_batch: {e}");
                ledger.send_failures.fetch_add(200, Ordering::Relaxed);
            }
        }
        // Collect what has completed so far, keeping memory bounded.
        if pending.len() > 50 {
            let (values, d) = pending.remove(0);
            record_deliveries(&ledger, &values, d.await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (values, d) in pending {
        record_deliveries(&ledger, &values, d.await);
    }
    let _ = producer.close(T).await;
}

fn record_deliveries(ledger: &Ledger, values: &[u64], results: Vec<polykafka::Result<polykafka::RecordMetadata>>) {
    let mut acked = ledger.acked.lock().unwrap();
    for (v, r) in values.iter().zip(results) {
        match r {
            Ok(m) => {
                acked.entry(m.partition).or_default().insert(*v);
            }
            Err(_) => {
                ledger.send_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn transactional(bootstrap: String, topic: String, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) {
    let txn_id = unique("chaos-txn-id");
    let open = || async {
        let p = Producer::new(
            ProducerConfig::from_properties([
                ("bootstrap.servers", bootstrap.as_str()),
                ("transactional.id", txn_id.as_str()),
                ("transaction.timeout.ms", "20000"),
                ("request.timeout.ms", "5000"),
            ])
            .unwrap(),
        )
        .unwrap();
        loop {
            match p.init_transactions(T).await {
                Ok(()) => return p,
                Err(e) => {
                    eprintln!("chaos transactional: init_transactions: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    };
    let mut producer = open().await;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let values: Vec<String> = (0..100).map(|k| format!("t{n}-{k}")).collect();
        let outcome: polykafka::Result<bool> = async {
            producer.begin_transaction()?;
            let records = values.iter().enumerate().map(|(k, v)| ProducerRecord::new(&topic).partition(k as i32 % TXN_PARTITIONS).value(v.clone())).collect();
            let delivery = producer.send_batch(records).await?;
            if n.is_multiple_of(5) {
                producer.abort_transaction(T).await?;
                let _ = delivery.await;
                return Ok(false);
            }
            producer.commit_transaction(T).await?;
            if let Some(e) = delivery.await.into_iter().find_map(|r| r.err()) {
                return Err(e);
            }
            Ok(true)
        }
        .await;
        match outcome {
            Ok(true) => ledger.txn_committed.lock().unwrap().extend(values),
            Ok(false) => ledger.txn_aborted.lock().unwrap().extend(values),
            Err(e) => {
                // The outcome is unknown to the application: its records are checked for duplicates only.
                eprintln!("chaos transactional: transaction {n}: {e}");
                ledger.txn_unknown.fetch_add(1, Ordering::Relaxed);
                if producer.abort_transaction(T).await.is_err() {
                    let _ = producer.close(Duration::from_secs(5)).await;
                    producer = open().await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = producer.close(T).await;
}

async fn member(bootstrap: String, topic: String, group: String, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) {
    let consumer = group_member(&bootstrap, &group, &[]);
    consumer.subscribe(std::slice::from_ref(&topic)).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let records = match consumer.poll_batch(500, Duration::from_millis(200)).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("chaos member: poll: {e}");
                continue;
            }
        };
        if records.is_empty() {
            continue;
        }
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        {
            let mut processed = ledger.processed.lock().unwrap();
            for r in &records {
                processed.insert((r.partition, r.offset));
                next.insert(r.partition, r.offset + 1);
            }
        }
        let offsets: Vec<(TopicPartition, i64)> = next.into_iter().map(|(p, o)| (TopicPartition::new(&topic, p), o)).collect();
        if let Err(e) = consumer.commit(Some(&offsets), CommitMode::Async).await {
            eprintln!("chaos member: commit: {e}");
        }
    }
    let _ = consumer.close().await;
}
