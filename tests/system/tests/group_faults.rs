//! A consumer group while one member's coordinator is black-holed for longer than the session timeout, through
//! the fault proxy (tests/system/src/proxy.rs). Member A reaches the broker only through the proxy, member B
//! directly; both process records and commit (asynchronously) after each batch. While A is cut off, the coordinator expires it and
//! gives B every partition; A must lose its partitions (the Lost event) before B is assigned any of them, then
//! rejoin after the black hole and get partitions again. At the end every record was processed, the committed
//! offsets are the ends of the partitions, and no partition was owned by both members at once (from the
//! rebalance events each member saw).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::consumer::{CommitMode, Consumer, ConsumerEvent};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::proxy::Faults;
use polykafka_system_tests::{group_member, unique, TestCluster};

const PARTITIONS: i32 = 6;
const RECORDS: usize = 30_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Assigned,
    Revoked,
    Lost,
}

/// When a member's poll returned a rebalance event, the member, the change and its partitions.
type Event = (Instant, &'static str, Change, Vec<i32>);

#[derive(Default)]
struct Log {
    events: Mutex<Vec<Event>>,
    processed: Mutex<BTreeMap<i32, BTreeSet<i64>>>,
    commit_failures: Mutex<BTreeMap<&'static str, usize>>,
}

async fn member(name: &'static str, bootstrap: String, topic: String, group: String, log: Arc<Log>, stop: Arc<AtomicBool>) {
    let consumer = group_member(&bootstrap, &group, &[("request.timeout.ms", "3000"), ("partition.assignment.strategy", "cooperative-sticky")]);
    consumer.subscribe(&[topic]).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let (events, records) = match consumer.poll_batch_events(200, Duration::from_millis(100)).await {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{name}: poll: {e}");
                continue;
            }
        };
        for e in events {
            let (change, tps) = match e {
                ConsumerEvent::Assigned(t) => (Change::Assigned, t),
                ConsumerEvent::Revoked(t) => (Change::Revoked, t),
                ConsumerEvent::Lost(t) => (Change::Lost, t),
                _ => continue,
            };
            log.events.lock().unwrap().push((Instant::now(), name, change, tps.iter().map(|tp| tp.partition).collect()));
        }
        if records.is_empty() {
            continue;
        }
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        {
            let mut processed = log.processed.lock().unwrap();
            for r in &records {
                processed.entry(r.partition).or_default().insert(r.offset);
                next.insert(r.partition, r.offset + 1);
            }
        }
        // The work of a batch: slow enough that the black hole falls in the middle of the run.
        tokio::time::sleep(Duration::from_millis(40)).await;
        let topic = records[0].topic.to_string();
        let offsets: Vec<(TopicPartition, i64)> = next.into_iter().map(|(p, o)| (TopicPartition::new(&topic, p), o)).collect();
        // Asynchronous commits, so the member keeps polling (and sees its rebalance events) while a commit waits
        // on an unreachable coordinator; a failure still comes back here.
        if let Err(e) = consumer.commit(Some(&offsets), CommitMode::Async).await {
            eprintln!("{name}: commit: {e}");
            *log.commit_failures.lock().unwrap().entry(name).or_default() += 1;
        }
    }
    let _ = consumer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_black_hole_loses_partitions_before_reassignment() {
    polykafka_system_tests::init_logs();
    let cluster = TestCluster::start_proxied("groupproxy", 1, 10592, 1000);
    let direct = cluster.bootstrap();
    let proxy = cluster.proxies().await.remove(0);
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", direct.as_str())]).unwrap()).unwrap();
    let topic = unique("groupproxy");
    admin.create_topic(&topic, PARTITIONS, 1).await.unwrap();
    let producer = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", direct.as_str())]).unwrap()).unwrap();
    let sent = producer
        .send_batch((0..RECORDS).map(|i| ProducerRecord::new(&topic).partition((i % PARTITIONS as usize) as i32).value(i.to_string())).collect())
        .await
        .unwrap()
        .await;
    assert!(sent.iter().all(|r| r.is_ok()));
    producer.close(Duration::from_secs(10)).await.unwrap();

    let (log, stop, group) = (Arc::new(Log::default()), Arc::new(AtomicBool::new(false)), unique("groupproxy-group"));
    let a = tokio::spawn(member("A", cluster.proxy_bootstrap(), topic.clone(), group.clone(), log.clone(), stop.clone()));
    let b = tokio::spawn(member("B", direct.clone(), topic.clone(), group.clone(), log.clone(), stop.clone()));

    // Once both members own partitions and have processed some records: A black-holed for 10 s.
    let start = Instant::now();
    let owners = |log: &Log| log.events.lock().unwrap().iter().filter(|e| e.2 == Change::Assigned && !e.3.is_empty()).map(|e| e.1).collect::<BTreeSet<_>>();
    while owners(&log).len() < 2 || log.processed.lock().unwrap().values().map(BTreeSet::len).sum::<usize>() < 3_000 {
        assert!(start.elapsed() < Duration::from_secs(60), "both members never owned partitions");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let processed_before = log.processed.lock().unwrap().values().map(BTreeSet::len).sum::<usize>();
    let hole = Instant::now();
    proxy.set(Faults { black_hole: true, ..Faults::default() });
    tokio::time::sleep(Duration::from_secs(10)).await;
    proxy.set(Faults::default());
    let healed = Instant::now();

    // Until the group has committed the end of every partition.
    let probe = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", direct.as_str()), ("group.id", group.as_str())]).unwrap()).unwrap();
    let tps: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new(&topic, p)).collect();
    let per_partition = (RECORDS / PARTITIONS as usize) as i64;
    loop {
        let committed = probe.committed(&tps, Duration::from_secs(10)).await.unwrap_or_default();
        if committed.len() == tps.len() && committed.iter().all(|(_, o)| *o == per_partition) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "the group did not commit every partition's end: {committed:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let A rejoin and be given partitions again if the last rebalance has not happened yet.
    let rejoined = |log: &Log| log.events.lock().unwrap().iter().any(|e| e.1 == "A" && e.0 > healed && e.2 == Change::Assigned && !e.3.is_empty());
    while !rejoined(&log) && start.elapsed() < Duration::from_secs(180) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    a.await.unwrap();
    b.await.unwrap();

    let events = log.events.lock().unwrap().clone();
    let at = |t: Instant| format!("{:.2}s", t.duration_since(hole).as_secs_f64());
    let story: Vec<String> = events.iter().map(|(t, m, c, p)| format!("{} {m} {c:?} {p:?}", at(*t))).collect();
    eprintln!("black hole at 0.00s for 10 s; {processed_before} records processed before it; events:\n  {}", story.join("\n  "));

    // Every record processed at least once.
    let processed = log.processed.lock().unwrap().clone();
    for p in 0..PARTITIONS {
        let seen = processed.get(&p).map_or(0, BTreeSet::len) as i64;
        assert_eq!(seen, per_partition, "partition {p}: {seen} distinct records processed of {per_partition}");
    }
    // A lost its partitions during the black hole, and was given partitions again after it.
    let a_lost = events.iter().find(|e| e.1 == "A" && e.2 == Change::Lost && e.0 > hole);
    assert!(a_lost.is_some_and(|e| e.0 < healed), "A did not lose its partitions while cut off:\n  {}", story.join("\n  "));
    assert!(rejoined(&log), "A was not given partitions again after the black hole:\n  {}", story.join("\n  "));
    // No partition owned by both members at once.
    let mut owner: BTreeMap<i32, &str> = BTreeMap::new();
    for (t, m, c, ps) in &events {
        for p in ps {
            match c {
                Change::Assigned => {
                    if let Some(other) = owner.insert(*p, m) {
                        assert_eq!(other, *m, "partition {p} assigned to {m} at {} while {other} owned it:\n  {}", at(*t), story.join("\n  "));
                    }
                }
                Change::Revoked | Change::Lost => {
                    assert_eq!(owner.remove(p), Some(*m), "partition {p} taken from {m} at {}, which did not own it", at(*t));
                }
            }
        }
    }
    eprintln!("commit failures: {:?}; proxy {:?}", log.commit_failures.lock().unwrap(), proxy.counts());
}
