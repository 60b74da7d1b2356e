//! The consumer against the real broker: manual assignment, groups (classic and KIP-848),
//! rebalances, commits, seek, pause, regex subscriptions, offset reset, read_committed.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, CommitMode, Consumer, ConsumerConfig, ConsumerEvent, ErrorKind, ProducerConfig, ProducerRecord, TopicPartition};

const T: Duration = Duration::from_secs(30);

fn admin() -> Admin {
    Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap()
}

async fn new_topic(prefix: &str, partitions: i32) -> String {
    let topic = common::unique_topic(prefix);
    admin().create_topic(&topic, partitions, 1).await.unwrap();
    topic
}

fn producer() -> Producer {
    Producer::new(ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str()), ("linger.ms", "5")]).unwrap()).unwrap()
}

/// Produces `n` records `v-{start+i}` spread round-robin over `partitions`.
async fn produce(topic: &str, partitions: i32, start: usize, n: usize) {
    let p = producer();
    let records: Vec<ProducerRecord> = (start..start + n)
        .map(|i| ProducerRecord::new(topic).partition((i % partitions as usize) as i32).key(format!("k-{i}")).value(format!("v-{i}")).header("h", "1").header("h", "2"))
        .collect();
    let results = p.send_batch(records).await.unwrap().await;
    assert!(results.iter().all(|r| r.is_ok()), "{:?}", results.iter().find(|r| r.is_err()));
    p.close(T).await.unwrap();
}

fn consumer(group: Option<&str>, extra: &[(&str, &str)]) -> Consumer {
    let mut props: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), common::bootstrap()),
        ("auto.offset.reset".into(), "earliest".into()),
        ("session.timeout.ms".into(), "6000".into()),
        ("heartbeat.interval.ms".into(), "1000".into()),
        ("max.poll.interval.ms".into(), "20000".into()),
        ("fetch.max.wait.ms".into(), "200".into()),
    ];
    if let Some(g) = group {
        props.push(("group.id".into(), g.into()));
    }
    for (k, v) in extra {
        props.retain(|(pk, _)| pk != k);
        props.push((k.to_string(), v.to_string()));
    }
    Consumer::new(ConsumerConfig::from_properties(props).unwrap()).unwrap()
}

fn value(r: &polykafka::ConsumerRecord) -> String {
    String::from_utf8(r.value.as_ref().unwrap().to_vec()).unwrap()
}

/// Polls until `n` records arrived or `timeout` passed.
async fn consume_n(c: &Consumer, n: usize, timeout: Duration) -> Vec<polykafka::ConsumerRecord> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        out.extend(c.poll_batch(n - out.len(), Duration::from_millis(500)).await.unwrap());
    }
    out
}

async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_assignment_reads_everything_with_headers_in_order() {
    let topic = new_topic("c-assign", 3).await;
    produce(&topic, 3, 0, 3000).await;
    let c = consumer(None, &[]);
    let tps: Vec<_> = (0..3).map(|p| TopicPartition::new(&topic, p)).collect();
    c.assign(&tps).unwrap();
    assert_eq!(c.assignment(), tps);
    let recs = consume_n(&c, 3000, T).await;
    assert_eq!(recs.len(), 3000);
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &recs {
        let prev = last.insert(r.partition, r.offset);
        assert_eq!(prev.map_or(0, |p| p + 1), r.offset, "offsets in order on {}", r.partition);
        let i: usize = value(r)[2..].parse().unwrap();
        assert_eq!(i % 3, r.partition as usize);
        assert_eq!(r.key.as_deref(), Some(format!("k-{i}").as_bytes()));
        assert_eq!(r.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref().unwrap())).collect::<Vec<_>>(), vec![("h", &b"1"[..]), ("h", &b"2"[..])]);
        assert!(r.timestamp > 0);
    }
    assert_eq!(c.position(&tps[0]).unwrap(), Some(1000));
    assert_eq!(c.watermarks(&tps[1], T).await.unwrap(), (0, 1000));
    // Nothing more: poll times out empty.
    assert!(c.poll(Duration::from_millis(300)).await.unwrap().is_none());
    // Without a group, commit is refused.
    assert_eq!(c.commit(None, CommitMode::Sync).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    c.close().await.unwrap();
    assert_eq!(c.poll(Duration::from_millis(10)).await.unwrap_err().kind(), ErrorKind::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_pause_resume_and_offsets_for_times() {
    let topic = new_topic("c-seek", 2).await;
    produce(&topic, 2, 0, 200).await;
    let c = consumer(None, &[]);
    let t0 = TopicPartition::new(&topic, 0);
    let t1 = TopicPartition::new(&topic, 1);
    c.assign(&[t0.clone(), t1.clone()]).unwrap();
    let recs = consume_n(&c, 200, T).await;
    assert_eq!(recs.len(), 200);
    // Seek back on one partition: exactly its tail comes again.
    c.seek(&t0, 90).unwrap();
    let again = consume_n(&c, 10, T).await;
    assert_eq!(again.iter().map(|r| (r.partition, r.offset)).collect::<Vec<_>>(), (90..100).map(|o| (0, o)).collect::<Vec<_>>());
    // Pause t0, seek both to the beginning: only t1 is delivered.
    c.pause(&[t0.clone()]).unwrap();
    assert_eq!(c.paused(), vec![t0.clone()]);
    c.seek_to_beginning(&[t0.clone(), t1.clone()]).unwrap();
    let only1 = consume_n(&c, 100, T).await;
    assert_eq!(only1.len(), 100);
    assert!(only1.iter().all(|r| r.partition == 1));
    assert!(c.poll(Duration::from_millis(500)).await.unwrap().is_none(), "paused partition delivered nothing");
    c.resume(&[t0.clone()]).unwrap();
    let only0 = consume_n(&c, 100, T).await;
    assert_eq!(only0.len(), 100);
    assert!(only0.iter().all(|r| r.partition == 0));
    // seek_to_end: nothing until new records.
    c.seek_to_end(&[t0.clone(), t1.clone()]).unwrap();
    assert!(c.poll(Duration::from_millis(500)).await.unwrap().is_none());
    produce(&topic, 2, 200, 2).await;
    let tail = consume_n(&c, 2, T).await;
    assert_eq!(tail.iter().map(value).collect::<BTreeSet<_>>(), BTreeSet::from(["v-200".to_string(), "v-201".to_string()]));
    // offsets_for_times: timestamp 0 is the first offset; far future is none.
    let found = c.offsets_for_times(&[(t0.clone(), 0), (t1.clone(), i64::MAX / 2)], T).await.unwrap();
    assert_eq!(found, vec![(t0.clone(), Some(0)), (t1.clone(), None)]);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_offset_reset_none_without_committed_offset_is_a_typed_error() {
    let topic = new_topic("c-none", 1).await;
    produce(&topic, 1, 0, 10).await;
    let group = common::unique_topic("g-none");
    let c = consumer(Some(&group), &[("auto.offset.reset", "none"), ("enable.auto.commit", "false")]);
    let tp = TopicPartition::new(&topic, 0);
    c.assign(&[tp.clone()]).unwrap();
    let deadline = Instant::now() + T;
    let err = loop {
        match c.poll(Duration::from_millis(500)).await {
            Err(e) => break e,
            Ok(r) => assert!(r.is_none() && Instant::now() < deadline, "no error: {r:?}"),
        }
    };
    assert_eq!(err.name(), "OFFSET_OUT_OF_RANGE");
    assert!(!err.retriable());
    assert!(err.message().contains(&tp.to_string()), "{err}");
    // Still failing on the next poll (as Java), until the application seeks.
    assert!(c.poll(Duration::from_millis(100)).await.is_err());
    c.seek(&tp, 5).unwrap();
    let recs = consume_n(&c, 5, T).await;
    assert_eq!(recs.first().map(|r| r.offset), Some(5));
    // With a committed offset, none is fine: a new consumer starts there.
    c.commit(Some(&[(tp.clone(), 7)]), CommitMode::Sync).await.unwrap();
    c.close().await.unwrap();
    let c2 = consumer(Some(&group), &[("auto.offset.reset", "none")]);
    c2.assign(&[tp.clone()]).unwrap();
    let recs = consume_n(&c2, 3, T).await;
    assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![7, 8, 9]);
    c2.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_commit_then_a_new_member_starts_at_the_committed_offset() {
    let topic = new_topic("c-commit", 2).await;
    produce(&topic, 2, 0, 1000).await;
    let group = common::unique_topic("g-commit");
    let c = consumer(Some(&group), &[("enable.auto.commit", "false")]);
    c.subscribe(&[topic.clone()]).unwrap();
    let recs = consume_n(&c, 300, T).await;
    assert_eq!(recs.len(), 300);
    // Commit what was delivered (None = delivered positions).
    c.commit(None, CommitMode::Sync).await.unwrap();
    let mut expected: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &recs {
        expected.insert(r.partition, r.offset + 1);
    }
    let tps: Vec<_> = (0..2).map(|p| TopicPartition::new(&topic, p)).collect();
    let committed = c.committed(&tps, T).await.unwrap();
    for (tp, off) in &committed {
        // A partition with nothing delivered yet commits its starting position (0), as Java.
        assert_eq!(*off, expected.get(&tp.partition).copied().unwrap_or(0), "{tp}");
    }
    let md = c.group_metadata().unwrap();
    assert!(md.generation_id > 0 && !md.member_id.is_empty(), "{md:?}");
    c.close().await.unwrap();
    // A new member resumes exactly there: the rest, no duplicates.
    let c2 = consumer(Some(&group), &[("enable.auto.commit", "false")]);
    c2.subscribe(&[topic.clone()]).unwrap();
    let rest = consume_n(&c2, 700, T).await;
    assert_eq!(rest.len(), 700);
    let firsts: BTreeMap<i32, i64> = rest.iter().fold(BTreeMap::new(), |mut m, r| {
        m.entry(r.partition).or_insert(r.offset);
        m
    });
    for (p, off) in firsts {
        assert_eq!(off, expected.get(&p).copied().unwrap_or(0));
    }
    let all: HashSet<String> = recs.iter().chain(rest.iter()).map(value).collect();
    assert_eq!(all.len(), 1000);
    c2.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_commit_commits_only_what_was_delivered() {
    let topic = new_topic("c-auto", 1).await;
    produce(&topic, 1, 0, 5000).await;
    let group = common::unique_topic("g-auto");
    // Small fetches so the fetcher holds records the application has not polled yet.
    let c = consumer(Some(&group), &[("auto.commit.interval.ms", "200"), ("max.partition.fetch.bytes", "20000")]);
    c.subscribe(&[topic.clone()]).unwrap();
    let recs = consume_n(&c, 123, T).await;
    assert_eq!(recs.len(), 123);
    let tp = TopicPartition::new(&topic, 0);
    // Stop polling; auto-commits keep running for a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let committed = c.committed(&[tp.clone()], T).await.unwrap()[0].1;
    assert_eq!(committed, 123, "auto-commit commits the delivered position, not what was prefetched");
    // Close commits too (after more polls).
    let more = consume_n(&c, 77, T).await;
    assert_eq!(more.len(), 77);
    c.close().await.unwrap();
    let check = consumer(Some(&group), &[]);
    assert_eq!(admin().list_consumer_group_offsets(&group, Some(&[tp.clone()])).await.unwrap(), vec![(tp.clone(), 200)]);
    check.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_subscription_picks_up_a_topic_created_later() {
    let prefix = common::unique_topic("c-re");
    let first = format!("{prefix}-a");
    admin().create_topic(&first, 1, 1).await.unwrap();
    produce(&first, 1, 0, 10).await;
    let group = common::unique_topic("g-re");
    let c = consumer(Some(&group), &[("metadata.max.age.ms", "1000")]);
    c.subscribe_pattern(&format!("{}-.*", regex::escape(&prefix))).unwrap();
    let recs = consume_n(&c, 10, T).await;
    assert_eq!(recs.len(), 10);
    let later = format!("{prefix}-b");
    admin().create_topic(&later, 2, 1).await.unwrap();
    produce(&later, 2, 100, 20).await;
    let recs = consume_n(&c, 20, T).await;
    assert_eq!(recs.len(), 20);
    assert!(recs.iter().all(|r| &*r.topic == later));
    let mut a = c.assignment();
    a.sort();
    assert_eq!(a, vec![TopicPartition::new(&first, 0), TopicPartition::new(&later, 0), TopicPartition::new(&later, 1)]);
    c.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Groups of three
// ---------------------------------------------------------------------------------------------

/// A member running its own poll loop, recording events and records.
struct Member {
    consumer: Consumer,
    events: Arc<Mutex<Vec<ConsumerEvent>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

type Seen = Arc<Mutex<Vec<(i32, i64)>>>;

fn start_member(consumer: Consumer, seen: Seen) -> Member {
    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let task = {
        let (c, events, stop) = (consumer.clone(), events.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                match c.poll_batch_events(500, Duration::from_millis(200)).await {
                    Ok((evs, recs)) => {
                        for ev in evs {
                            if let ConsumerEvent::Revoked(_) = &ev {
                                // A revoke handler can commit before the partitions move.
                                c.commit(None, CommitMode::Sync).await.unwrap();
                            }
                            events.lock().unwrap().push(ev);
                        }
                        seen.lock().unwrap().extend(recs.iter().map(|r| (r.partition, r.offset)));
                    }
                    Err(e) if e.kind() == ErrorKind::Closed => return,
                    Err(e) => panic!("poll failed: {e}"),
                }
            }
        })
    };
    Member { consumer, events, stop, task }
}

fn owners(members: &[&Member]) -> BTreeMap<i32, Vec<usize>> {
    let mut m: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, mem) in members.iter().enumerate() {
        for tp in mem.consumer.assignment() {
            m.entry(tp.partition).or_default().push(i);
        }
    }
    m
}

fn balanced(members: &[&Member], partitions: i32) -> bool {
    let o = owners(members);
    let per = partitions as usize / members.len();
    o.len() == partitions as usize
        && o.values().all(|v| v.len() == 1)
        && members.iter().all(|m| m.consumer.assignment().len() == per)
}

fn count_revoked(m: &Member) -> usize {
    m.events.lock().unwrap().iter().filter(|e| matches!(e, ConsumerEvent::Revoked(tps) if !tps.is_empty())).count()
}

async fn three_members(extra: &[(&str, &str)], cooperative: bool) {
    let topic = new_topic("c-group", 6).await;
    produce(&topic, 6, 0, 30_000).await;
    let group = common::unique_topic("g-three");
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let mut props = vec![("auto.commit.interval.ms", "500")];
    props.extend_from_slice(extra);
    let members: Vec<Member> = (0..3)
        .map(|_| {
            let c = consumer(Some(&group), &props);
            c.subscribe(&[topic.clone()]).unwrap();
            start_member(c, seen.clone())
        })
        .collect();
    let all: Vec<&Member> = members.iter().collect();
    wait_for("three balanced members", Duration::from_secs(60), || balanced(&all, 6)).await;
    // Every record consumed (at least once).
    wait_for("30,000 records", Duration::from_secs(60), || {
        seen.lock().unwrap().iter().copied().collect::<HashSet<_>>().len() == 30_000
    })
    .await;

    // Group admin while three are in: describe and lag.
    let desc = admin().describe_consumer_groups(&[&group]).await.unwrap();
    assert_eq!(desc.len(), 1);
    let d = &desc[0];
    assert_eq!(d.members.len(), 3, "{d:?}");
    assert_eq!(d.state, "Stable");
    let mut described: Vec<TopicPartition> = d.members.iter().flat_map(|m| m.assignment.clone()).collect();
    described.sort();
    assert_eq!(described, (0..6).map(|p| TopicPartition::new(&topic, p)).collect::<Vec<_>>());

    // One member leaves: its partitions move to the other two within the session timeout.
    let before: Vec<usize> = members.iter().map(count_revoked).collect();
    let leaving = &members[0];
    leaving.stop.store(true, Ordering::Release);
    let started = Instant::now();
    leaving.consumer.close().await.unwrap();
    let rest: Vec<&Member> = members[1..].iter().collect();
    wait_for("two members sharing 6 partitions", Duration::from_secs(30), || balanced(&rest, 6)).await;
    assert!(started.elapsed() < Duration::from_secs(6), "moved within the session timeout: {:?}", started.elapsed());
    if cooperative {
        for (i, m) in members.iter().enumerate().skip(1) {
            assert_eq!(count_revoked(m), before[i], "member {i} kept its partitions without revocation: {:?}", m.events.lock().unwrap());
        }
    }
    // New records go to the two remaining members.
    produce(&topic, 6, 30_000, 600).await;
    wait_for("630 more records", Duration::from_secs(30), || {
        seen.lock().unwrap().iter().copied().collect::<HashSet<_>>().len() == 30_600
    })
    .await;
    for m in &members[1..] {
        m.stop.store(true, Ordering::Release);
        m.consumer.close().await.unwrap();
    }
    for m in members {
        let _ = m.task.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_cooperative_sticky() {
    three_members(&[("partition.assignment.strategy", "cooperative-sticky")], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_range() {
    three_members(&[("partition.assignment.strategy", "range")], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_kip848() {
    three_members(&[("group.protocol", "consumer")], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_is_replaced_after_the_session_timeout_and_nothing_committed_is_lost() {
    let topic = new_topic("c-kill", 4).await;
    produce(&topic, 4, 0, 4000).await;
    let group = common::unique_topic("g-kill");
    let props = [("enable.auto.commit", "false"), ("partition.assignment.strategy", "range"), ("max.poll.records", "100")];
    // Each member commits after every batch it processed (at-least-once).
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let spawn = |c: Consumer, stop: Arc<AtomicBool>, seen: Seen| {
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                match c.poll_batch(100, Duration::from_millis(200)).await {
                    Ok(recs) => {
                        if recs.is_empty() {
                            continue;
                        }
                        seen.lock().unwrap().extend(recs.iter().map(|r| (r.partition, r.offset)));
                        let _ = c.commit(None, CommitMode::Sync).await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) if e.kind() == ErrorKind::Closed => return,
                    Err(e) => panic!("{e}"),
                }
            }
        })
    };
    let a = consumer(Some(&group), &props);
    let b = consumer(Some(&group), &props);
    a.subscribe(&[topic.clone()]).unwrap();
    b.subscribe(&[topic.clone()]).unwrap();
    let (stop_a, stop_b) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let ta = spawn(a.clone(), stop_a.clone(), seen.clone());
    let tb = spawn(b.clone(), stop_b.clone(), seen.clone());
    wait_for("two members with 2 partitions each", Duration::from_secs(60), || a.assignment().len() == 2 && b.assignment().len() == 2).await;
    // Kill a: its tasks are dropped, no LeaveGroup, no commit.
    stop_a.store(true, Ordering::Release);
    ta.await.unwrap();
    let killed_at = Instant::now();
    drop(a);
    wait_for("b owning all 4 partitions", Duration::from_secs(40), || b.assignment().len() == 4).await;
    let took = killed_at.elapsed();
    assert!(took >= Duration::from_secs(3), "not before the session timeout: {took:?}");
    // Everything is consumed; b resumed a's partitions from what a committed (at least once).
    produce(&topic, 4, 4000, 400).await;
    wait_for("4400 records", Duration::from_secs(60), || seen.lock().unwrap().iter().copied().collect::<HashSet<_>>().len() == 4400).await;
    stop_b.store(true, Ordering::Release);
    tb.await.unwrap();
    b.close().await.unwrap();
    let lag = admin().consumer_group_lag(&group).await.unwrap();
    assert_eq!(lag.len(), 4);
    assert!(lag.iter().all(|l| l.lag == 0 && l.committed == 1100), "{lag:?}");
}

async fn txn_producer(id: &str) -> Producer {
    let p = Producer::new(
        ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str()), ("transactional.id", id), ("transaction.timeout.ms", "20000")]).unwrap(),
    )
    .unwrap();
    p.init_transactions(T).await.unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_skips_aborted_transactions_and_control_records() {
    let topic = new_topic("c-rc", 1).await;
    let p = txn_producer(&common::unique_topic("tid")).await;
    for (round, abort) in [(0, false), (1, true), (2, false), (3, true), (4, false)] {
        p.begin_transaction().unwrap();
        let recs: Vec<ProducerRecord> = (0..100).map(|i| ProducerRecord::new(&topic).partition(0).value(format!("r{round}-{i}"))).collect();
        // Written before the abort, so the aborted records are in the log.
        assert!(p.send_batch(recs).await.unwrap().await.iter().all(|r| r.is_ok()));
        if abort {
            p.abort_transaction(T).await.unwrap();
        } else {
            p.commit_transaction(T).await.unwrap();
        }
    }
    let rc = consumer(Some(&common::unique_topic("g-rc")), &[("isolation.level", "read_committed")]);
    rc.subscribe(&[topic.clone()]).unwrap();
    let got = consume_n(&rc, 300, T).await;
    assert_eq!(got.len(), 300);
    assert!(got.iter().all(|r| { let v = value(r); v.starts_with("r0-") || v.starts_with("r2-") || v.starts_with("r4-") }));
    assert!(rc.poll(Duration::from_millis(500)).await.unwrap().is_none(), "nothing else: no control records");
    rc.close().await.unwrap();
    let ru = consumer(None, &[]);
    ru.assign(&[TopicPartition::new(&topic, 0)]).unwrap();
    let all = consume_n(&ru, 500, T).await;
    assert_eq!(all.len(), 500, "read_uncommitted sees the aborted records, never the markers");
    assert!(ru.poll(Duration::from_millis(500)).await.unwrap().is_none());
    ru.close().await.unwrap();
    p.close(T).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_commits_offsets_in_the_transaction() {
    let input = new_topic("c-ctp-in", 2).await;
    let output = new_topic("c-ctp-out", 1).await;
    produce(&input, 2, 0, 200).await;
    let group = common::unique_topic("g-ctp");
    let c = consumer(Some(&group), &[("enable.auto.commit", "false"), ("isolation.level", "read_committed")]);
    c.subscribe(&[input.clone()]).unwrap();
    let p = txn_producer(&common::unique_topic("tid-ctp")).await;
    let mut done = 0;
    let deadline = Instant::now() + T;
    while done < 200 && Instant::now() < deadline {
        let recs = c.poll_batch(50, Duration::from_millis(500)).await.unwrap();
        if recs.is_empty() {
            continue;
        }
        p.begin_transaction().unwrap();
        let out: Vec<ProducerRecord> = recs.iter().map(|r| ProducerRecord::new(&output).value(value(r).to_uppercase())).collect();
        let _ = p.send_batch(out).await.unwrap();
        let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for r in &recs {
            next.insert(r.topic_partition(), r.offset + 1);
        }
        let offsets: Vec<(TopicPartition, i64)> = next.into_iter().collect();
        p.send_offsets_to_transaction(&offsets, &c.group_metadata().unwrap(), T).await.unwrap();
        p.commit_transaction(T).await.unwrap();
        done += recs.len();
    }
    assert_eq!(done, 200);
    let tps: Vec<_> = (0..2).map(|i| TopicPartition::new(&input, i)).collect();
    assert_eq!(c.committed(&tps, T).await.unwrap(), vec![(tps[0].clone(), 100), (tps[1].clone(), 100)]);
    c.close().await.unwrap();
    let check = consumer(None, &[("isolation.level", "read_committed")]);
    check.assign(&[TopicPartition::new(&output, 0)]).unwrap();
    let out = consume_n(&check, 200, T).await;
    assert_eq!(out.len(), 200);
    assert!(out.iter().all(|r| value(r).starts_with("V-")));
    check.close().await.unwrap();
    p.close(T).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_handler_commits_before_partitions_move_eager() {
    // poll_event: the Revoked event comes before the partitions move; a commit in the handler
    // succeeds under the current generation, and the next member starts there.
    let topic = new_topic("c-revoke", 2).await;
    produce(&topic, 2, 0, 100).await;
    let group = common::unique_topic("g-revoke");
    let props = [("enable.auto.commit", "false"), ("partition.assignment.strategy", "roundrobin")];
    let a = consumer(Some(&group), &props);
    a.subscribe(&[topic.clone()]).unwrap();
    let mut got = 0;
    let mut assigned = None;
    let deadline = Instant::now() + T;
    while got < 100 && Instant::now() < deadline {
        match a.poll_event(Duration::from_millis(200)).await.unwrap() {
            Some(ConsumerEvent::Assigned(tps)) => assigned = Some(tps),
            Some(ConsumerEvent::Record(_)) => got += 1,
            _ => {}
        }
    }
    assert_eq!(got, 100);
    assert_eq!(assigned.unwrap().len(), 2);
    let b = consumer(Some(&group), &props);
    b.subscribe(&[topic.clone()]).unwrap();
    let bb = b.clone();
    let b_task = tokio::spawn(async move { consume_n(&bb, 1, Duration::from_secs(20)).await });
    // a sees the revocation of both partitions (eager) and commits in its handler.
    let deadline = Instant::now() + T;
    loop {
        assert!(Instant::now() < deadline, "no revocation");
        if let Some(ConsumerEvent::Revoked(tps)) = a.poll_event(Duration::from_millis(200)).await.unwrap() {
            assert_eq!(tps.len(), 2);
            a.commit(None, CommitMode::Sync).await.unwrap();
            break;
        }
    }
    // Keep polling a (acknowledges the revocation, then gets its new assignment).
    let deadline = Instant::now() + T;
    while a.assignment().len() != 1 && Instant::now() < deadline {
        let _ = a.poll_event(Duration::from_millis(200)).await.unwrap();
    }
    assert_eq!(a.assignment().len(), 1);
    produce(&topic, 2, 100, 2).await;
    let first_b = b_task.await.unwrap();
    assert_eq!(first_b.len(), 1);
    assert!(first_b[0].offset >= 50, "b started at a's committed offset, not from the beginning: {:?}", first_b[0]);
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_application_stops_the_fetcher_memory_stays_bounded() {
    let topic = new_topic("c-mem", 4).await;
    let p = producer();
    let big = "x".repeat(1000);
    let recs: Vec<ProducerRecord> = (0..8000).map(|i| ProducerRecord::new(&topic).partition(i % 4).value(big.clone())).collect();
    assert!(p.send_batch(recs).await.unwrap().await.iter().all(|r| r.is_ok()));
    p.close(T).await.unwrap();
    let fetch_max = 200_000usize;
    let c = consumer(None, &[("fetch.max.bytes", "200000"), ("max.partition.fetch.bytes", "100000")]);
    c.assign(&(0..4).map(|p| TopicPartition::new(&topic, p)).collect::<Vec<_>>()).unwrap();
    assert_eq!(consume_n(&c, 1, T).await.len(), 1);
    // The application stops polling: the fetcher fills up to its bound and stops.
    let mut peak = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(c.buffered_bytes());
    }
    assert!(peak > 0);
    assert!(peak <= 2 * fetch_max, "buffered {peak} bytes, bound 2 × fetch.max.bytes = {}", 2 * fetch_max);
    // Everything still arrives once the application polls.
    let rest = consume_n(&c, 7999, Duration::from_secs(60)).await;
    assert_eq!(rest.len(), 7999);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarting_gets_its_partitions_back_without_a_rebalance() {
    let topic = new_topic("c-static", 4).await;
    let group = common::unique_topic("g-static");
    let inst_a = common::unique_topic("inst-a");
    let inst_b = common::unique_topic("inst-b");
    let props = |inst: &str| vec![("partition.assignment.strategy".to_string(), "range".to_string()), ("group.instance.id".to_string(), inst.to_string())];
    let mk = |inst: &str| {
        let p = props(inst);
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let c = consumer(Some(&group), &p);
        c.subscribe(&[topic.clone()]).unwrap();
        c
    };
    let a = mk(&inst_a);
    let b = mk(&inst_b);
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let mb = start_member(b.clone(), seen.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(a.assignment().len() == 2 && b.assignment().len() == 2) {
        assert!(Instant::now() < deadline, "no balanced assignment");
        let _ = a.poll_batch(100, Duration::from_millis(100)).await.unwrap();
    }
    let before_a = a.assignment();
    let revoked_b = count_revoked(&mb);
    a.close().await.unwrap(); // static: no LeaveGroup
    let a2 = mk(&inst_a);
    let deadline = Instant::now() + Duration::from_secs(30);
    while a2.assignment().len() != 2 {
        assert!(Instant::now() < deadline, "the restarted static member got nothing");
        let _ = a2.poll_batch(100, Duration::from_millis(100)).await.unwrap();
    }
    assert_eq!(a2.assignment(), before_a, "same partitions back");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count_revoked(&mb), revoked_b, "the other member was not rebalanced: {:?}", mb.events.lock().unwrap());
    assert_eq!(b.assignment().len(), 2);
    mb.stop.store(true, Ordering::Release);
    a2.close().await.unwrap();
    b.close().await.unwrap();
    let _ = mb.task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_polling_leaves_after_max_poll_interval_and_rejoins_on_poll() {
    let topic = new_topic("c-mpi", 2).await;
    let group = common::unique_topic("g-mpi");
    let props = [("max.poll.interval.ms", "3000"), ("partition.assignment.strategy", "range")];
    let a = consumer(Some(&group), &props);
    let b = consumer(Some(&group), &props);
    a.subscribe(&[topic.clone()]).unwrap();
    b.subscribe(&[topic.clone()]).unwrap();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let mb = start_member(b.clone(), seen.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(a.assignment().len() == 1 && b.assignment().len() == 1) {
        assert!(Instant::now() < deadline, "no balanced assignment");
        let _ = a.poll_batch(100, Duration::from_millis(100)).await.unwrap();
    }
    // a stops polling: after max.poll.interval.ms it leaves and b takes everything.
    wait_for("b owning both partitions", Duration::from_secs(30), || b.assignment().len() == 2).await;
    assert!(a.assignment().is_empty());
    // a polls again: it learns its partitions were lost, then rejoins.
    let mut lost = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.assignment().len() != 1 {
        assert!(Instant::now() < deadline, "a did not rejoin");
        if let Some(ConsumerEvent::Lost(tps)) = a.poll_event(Duration::from_millis(100)).await.unwrap() {
            assert_eq!(tps.len(), 1);
            lost = true;
        }
    }
    assert!(lost, "a saw its partitions lost");
    mb.stop.store(true, Ordering::Release);
    a.close().await.unwrap();
    b.close().await.unwrap();
    let _ = mb.task.await;
}

/// A commit does not queue behind a long-poll Fetch to the same broker: the coordinator gets
/// its own connection (a broker answers one connection's requests in order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_do_not_wait_behind_long_poll_fetches() {
    let topic = new_topic("longpoll", 1).await;
    produce(&topic, 1, 0, 10).await;
    let group = common::unique_topic("longpoll-group");
    let c = consumer(Some(&group), &[("fetch.max.wait.ms", "20000"), ("enable.auto.commit", "false")]);
    c.subscribe(&[topic.clone()]).unwrap();
    let got = consume_n(&c, 10, T).await;
    assert_eq!(got.len(), 10);
    // The fetcher now long-polls the empty partition for up to 20 s.
    let _ = c.poll(Duration::from_millis(500)).await.unwrap();
    let start = std::time::Instant::now();
    let done = c.commit(None, CommitMode::Sync).await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(10), "the commit waited {:?} behind the fetch", start.elapsed());
    assert_eq!(done, vec![(TopicPartition::new(&topic, 0), 10)], "commit(None) returns the positions it committed");
    let committed = c.committed(&[TopicPartition::new(&topic, 0)], T).await.unwrap();
    assert_eq!(committed[0].1, 10);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_offsets_are_what_auto_commit_commits() {
    let topic = new_topic("stored", 1).await;
    produce(&topic, 1, 0, 10).await;
    let group = common::unique_topic("g-stored");
    let tp = TopicPartition::new(&topic, 0);
    let c = consumer(Some(&group), &[("enable.auto.offset.store", "false"), ("auto.commit.interval.ms", "200")]);
    // Stored offsets need a partition this consumer has.
    let e = c.store_offsets(&[(tp.clone(), 1)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains(&tp.to_string()), "{e}");
    c.subscribe(&[topic.clone()]).unwrap();
    let mut got = 0;
    let deadline = Instant::now() + T;
    while got < 10 && Instant::now() < deadline {
        got += c.poll_batch(100, Duration::from_millis(500)).await.unwrap().len();
    }
    assert_eq!(got, 10);
    // Delivered, not stored: auto-commit commits nothing.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(c.committed(&[tp.clone()], T).await.unwrap(), vec![(tp.clone(), -1)]);
    assert!(c.store_offsets(&[(tp.clone(), -3)]).is_err(), "a negative offset is refused");
    c.store_offsets(&[(tp.clone(), 4)]).unwrap();
    let deadline = Instant::now() + T;
    loop {
        // Polling keeps the member alive; the group task commits on its interval.
        let _ = c.poll_batch(10, Duration::from_millis(100)).await.unwrap();
        if c.committed(&[tp.clone()], T).await.unwrap() == vec![(tp.clone(), 4)] {
            break;
        }
        assert!(Instant::now() < deadline, "the stored offset was never auto-committed");
    }
    c.store_offsets(&[(tp.clone(), 7)]).unwrap();
    c.close().await.unwrap();
    let check = consumer(Some(&group), &[]);
    assert_eq!(check.committed(&[tp.clone()], T).await.unwrap(), vec![(tp.clone(), 7)], "close commits the stored offset");
    check.close().await.unwrap();
    // With enable.auto.offset.store on (the default) storing is refused: delivery stores.
    let auto = consumer(Some(&group), &[]);
    assert_eq!(auto.store_offsets(&[(tp, 1)]).unwrap_err().kind(), ErrorKind::InvalidArgument);
    auto.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_of_stored_offsets_returns_what_it_committed() {
    let topic = new_topic("commit-stored", 2).await;
    produce(&topic, 1, 0, 10).await;
    let group = common::unique_topic("g-commit-stored");
    let (tp0, tp1) = (TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1));
    let c = consumer(Some(&group), &[("enable.auto.commit", "false"), ("enable.auto.offset.store", "false")]);
    c.subscribe(&[topic.clone()]).unwrap();
    let mut got = 0;
    let deadline = Instant::now() + T;
    while got < 10 && Instant::now() < deadline {
        got += c.poll_batch(100, Duration::from_millis(500)).await.unwrap().len();
    }
    assert_eq!(got, 10);
    assert_eq!(c.commit(None, CommitMode::Sync).await.unwrap(), vec![], "nothing stored: nothing committed");
    assert_eq!(c.committed(&[tp0.clone(), tp1.clone()], T).await.unwrap(), vec![(tp0.clone(), -1), (tp1.clone(), -1)]);
    c.store_offsets(&[(tp0.clone(), 4)]).unwrap();
    assert_eq!(c.commit(None, CommitMode::Sync).await.unwrap(), vec![(tp0.clone(), 4)]);
    assert_eq!(c.committed(&[tp0.clone(), tp1.clone()], T).await.unwrap(), vec![(tp0.clone(), 4), (tp1.clone(), -1)]);
    // Explicit offsets come back as given.
    let explicit = vec![(tp1.clone(), 0)];
    assert_eq!(c.commit(Some(&explicit), CommitMode::Sync).await.unwrap(), explicit);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_and_patterns_together() {
    let plain = new_topic("mixed.plain", 1).await;
    let prefix = common::unique_topic("mixedpat");
    let matched = format!("{prefix}-a");
    admin().create_topic(&matched, 1, 1).await.unwrap();
    produce(&plain, 1, 0, 3).await;
    produce(&matched, 1, 0, 4).await;
    let c = consumer(Some(&common::unique_topic("g-mixed")), &[]);
    assert_eq!(c.subscribe_topics_and_patterns(&[plain.clone()], &["(".to_string()]).unwrap_err().kind(), ErrorKind::InvalidArgument);
    // A plain name is matched literally (escaped), beside the pattern.
    c.subscribe_topics_and_patterns(&[plain.clone()], &[format!("{prefix}-.*")]).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = Instant::now() + T;
    while seen.values().sum::<usize>() < 7 && Instant::now() < deadline {
        for r in c.poll_batch(100, Duration::from_millis(500)).await.unwrap() {
            *seen.entry(r.topic.to_string()).or_default() += 1;
        }
    }
    assert_eq!(seen, BTreeMap::from([(plain, 3), (matched, 4)]));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_become_known_without_polling() {
    let topic = new_topic("positions", 2).await;
    produce(&topic, 2, 0, 4).await;
    let c = consumer(None, &[]);
    let tps = vec![TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1)];
    c.assign(&tps).unwrap();
    assert!(c.wait_positions_known(T).await, "positions resolved by the fetcher");
    assert!(c.positions_known());
    for tp in &tps {
        assert_eq!(c.position(tp).unwrap(), Some(0), "auto.offset.reset=earliest");
    }
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_lookups_keep_their_timeout_when_nothing_answers() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().to_string();
    drop(l);
    let c = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", dead.as_str())]).unwrap()).unwrap();
    let tp = TopicPartition::new("t", 0);
    let start = Instant::now();
    let e = c.watermarks(&tp, Duration::from_secs(1)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_millis(2500), "1 s timeout took {:?}: {e}", start.elapsed());
    let start = Instant::now();
    assert!(c.offsets_for_times(&[(tp, 0)], Duration::from_secs(1)).await.is_err());
    assert!(start.elapsed() < Duration::from_millis(2500), "1 s timeout took {:?}", start.elapsed());
    c.close().await.unwrap();
}

/// Polls events for `window`, returning the records' offsets and the PartitionEof events.
async fn events_for(c: &Consumer, window: Duration) -> (Vec<(i32, i64)>, Vec<(i32, i64)>) {
    let deadline = Instant::now() + window;
    let (mut recs, mut eofs) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        match c.poll_event(Duration::from_millis(100)).await.unwrap() {
            Some(ConsumerEvent::Record(r)) => recs.push((r.partition, r.offset)),
            Some(ConsumerEvent::PartitionEof(tp, end)) => {
                // Every record before the end was delivered first.
                assert!(recs.iter().filter(|(p, _)| *p == tp.partition).all(|(_, o)| *o < end));
                eofs.push((tp.partition, end));
            }
            _ => {}
        }
    }
    (recs, eofs)
}

/// enable.partition.eof (librdkafka): one PartitionEof per end reached, after the records before
/// it; again after new records or a seek; under read_committed the end is past the commit marker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_eof_is_said_once_per_end_reached() {
    let topic = new_topic("c-eof", 2).await;
    let p = producer();
    let send = |n: usize| (0..n).map(|i| ProducerRecord::new(&topic).partition(0).value(format!("v{i}"))).collect::<Vec<_>>();
    assert!(p.send_batch(send(10)).await.unwrap().await.iter().all(|r| r.is_ok()));
    let c = consumer(None, &[("enable.partition.eof", "true")]);
    let (t0, t1) = (TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1));
    c.assign(&[t0.clone(), t1.clone()]).unwrap();
    let (recs, mut eofs) = events_for(&c, Duration::from_secs(3)).await;
    assert_eq!(recs.len(), 10);
    eofs.sort();
    assert_eq!(eofs, vec![(0, 10), (1, 0)], "once per partition, at its end");
    assert!(p.send_batch(send(5)).await.unwrap().await.iter().all(|r| r.is_ok()));
    let (recs, eofs) = events_for(&c, Duration::from_secs(2)).await;
    assert_eq!((recs.len(), eofs), (5, vec![(0, 15)]), "new records, then the new end");
    c.seek(&t0, 12).unwrap();
    let (recs, eofs) = events_for(&c, Duration::from_secs(2)).await;
    assert_eq!((recs, eofs), (vec![(0, 12), (0, 13), (0, 14)], vec![(0, 15)]), "a seek makes the end news again");
    // poll_batch (no events) never returns them.
    c.seek(&t0, 14).unwrap();
    assert_eq!(consume_n(&c, 1, T).await.len(), 1);
    assert!(c.poll_batch(10, Duration::from_millis(500)).await.unwrap().is_empty());
    c.close().await.unwrap();
    // Without the setting: no PartitionEof.
    let quiet = consumer(None, &[]);
    quiet.assign(&[t0.clone(), t1.clone()]).unwrap();
    let (recs, eofs) = events_for(&quiet, Duration::from_secs(2)).await;
    assert_eq!((recs.len(), eofs.len()), (15, 0));
    quiet.close().await.unwrap();
    p.close(T).await.unwrap();

    // read_committed: a committed transaction ends with a control record; the end is after it.
    let rc_topic = new_topic("c-eof-rc", 1).await;
    let tp = txn_producer(&common::unique_topic("tid-eof")).await;
    tp.begin_transaction().unwrap();
    let recs: Vec<ProducerRecord> = (0..3).map(|i| ProducerRecord::new(&rc_topic).partition(0).value(format!("t{i}"))).collect();
    assert!(tp.send_batch(recs).await.unwrap().await.iter().all(|r| r.is_ok()));
    tp.commit_transaction(T).await.unwrap();
    let rc = consumer(None, &[("enable.partition.eof", "true"), ("isolation.level", "read_committed")]);
    rc.assign(&[TopicPartition::new(&rc_topic, 0)]).unwrap();
    let (recs, eofs) = events_for(&rc, Duration::from_secs(3)).await;
    assert_eq!((recs.len(), eofs), (3, vec![(0, 4)]), "three records, the marker at 3, the end at 4");
    rc.close().await.unwrap();
    tp.close(T).await.unwrap();
}

/// assign_at sets where each partition starts before anything is fetched; seek_to moves to the
/// logical positions; librdkafka's logical offsets convert in one place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_at_and_seek_to_logical_positions() {
    use polykafka::StartOffset;
    let topic = new_topic("c-start", 3).await;
    produce(&topic, 3, 0, 30).await;
    let c = consumer(None, &[("auto.offset.reset", "latest")]);
    let tps: Vec<_> = (0..3).map(|p| TopicPartition::new(&topic, p)).collect();
    c.assign_at(&[(tps[0].clone(), StartOffset::Beginning), (tps[1].clone(), StartOffset::Offset(7)), (tps[2].clone(), StartOffset::End)]).unwrap();
    let recs = consume_n(&c, 13, T).await;
    let mut got: Vec<(i32, i64)> = recs.iter().map(|r| (r.partition, r.offset)).collect();
    got.sort();
    let want: Vec<(i32, i64)> = (0..10).map(|o| (0, o)).chain((7..10).map(|o| (1, o))).collect();
    assert_eq!(got, want, "p0 from the beginning, p1 from 7, p2 from its end");
    assert!(c.poll(Duration::from_millis(300)).await.unwrap().is_none());
    assert_eq!(c.position(&tps[2]).unwrap(), Some(10));
    c.seek_to(&tps[1], StartOffset::Beginning).unwrap();
    assert_eq!(consume_n(&c, 10, T).await.first().map(|r| (r.partition, r.offset)), Some((1, 0)));
    c.seek_to(&tps[1], StartOffset::End).unwrap();
    assert!(c.poll(Duration::from_millis(300)).await.unwrap().is_none());
    assert_eq!(c.seek_to(&tps[1], StartOffset::Default).unwrap_err().kind(), ErrorKind::InvalidArgument);
    // Re-assigning with Default keeps the positions of partitions kept.
    c.assign_at(&[(tps[0].clone(), StartOffset::Default)]).unwrap();
    assert_eq!(c.position(&tps[0]).unwrap(), Some(10));
    c.close().await.unwrap();
    assert_eq!(StartOffset::from_logical(-2).unwrap(), StartOffset::Beginning);
    assert_eq!(StartOffset::from_logical(-1).unwrap(), StartOffset::End);
    assert_eq!(StartOffset::from_logical(-1000).unwrap(), StartOffset::Default);
    assert_eq!(StartOffset::from_logical(-1001).unwrap(), StartOffset::Default);
    assert_eq!(StartOffset::from_logical(5).unwrap(), StartOffset::Offset(5));
    assert_eq!(StartOffset::from_logical(-7).unwrap_err().kind(), ErrorKind::InvalidArgument);
}
