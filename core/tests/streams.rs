//! The streams runtime from Rust, against the real broker: user functions as closures over
//! bytes (`ClosureFunctions`), filter -> map -> to, group_by -> count through a repartition
//! topic, a user function that fails; exactly_once_v2: outputs visible to a read_committed reader
//! only once committed, a failed run's outputs aborted, and a restart that counts nothing twice.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use polykafka::admin::{Admin, NewTopic};
use polykafka::consumer::Consumer;
use polykafka::streams::{AggregateKind, ClosureFunctions, KafkaStreams, State, StreamRecord, StreamsConfig, TopologyBuilder};
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

/// Every record of `topic` (2 partitions) as a consumer at `isolation` sees it: until a poll
/// after `idle` found nothing.
async fn read_as(bootstrap: &str, topic: &str, isolation: &str, idle: Duration) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let c = Consumer::new(
        ConsumerConfig::from_properties([("bootstrap.servers", bootstrap), ("enable.auto.commit", "false"), ("isolation.level", isolation)]).unwrap(),
    )
    .unwrap();
    let tps = [TopicPartition::new(topic, 0), TopicPartition::new(topic, 1)];
    c.assign(&tps).unwrap();
    c.seek_to_beginning(&tps).unwrap();
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < idle {
        let batch = c.poll_batch(1000, Duration::from_millis(200)).await.unwrap();
        if !batch.is_empty() {
            last = Instant::now();
        }
        out.extend(batch.into_iter().map(|r| (r.key, r.value)));
    }
    c.close().await.unwrap();
    out
}

async fn read_all(bootstrap: &str, topic: &str, expect: usize) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let c = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", bootstrap), ("enable.auto.commit", "false")]).unwrap()).unwrap();
    c.assign(&[TopicPartition::new(topic, 0), TopicPartition::new(topic, 1)]).unwrap();
    c.seek_to_beginning(&[TopicPartition::new(topic, 0), TopicPartition::new(topic, 1)]).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Until `expect` records came and then a poll found nothing more.
    while Instant::now() < deadline {
        let batch = c.poll_batch(1000, Duration::from_millis(500)).await.unwrap();
        if batch.is_empty() && out.len() >= expect {
            break;
        }
        out.extend(batch.into_iter().map(|r| (r.key, r.value)));
    }
    c.close().await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_chain_and_group_by_count_with_closures() {
    let bootstrap = common::bootstrap();
    let (src, out, counts_out) = (common::unique_topic("rs-src"), common::unique_topic("rs-out"), common::unique_topic("rs-counts"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for t in [&src, &out, &counts_out] {
        admin.create_topics(&[NewTopic::new(t.as_str(), 2, 1)], false).await.unwrap();
    }
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for i in 0..200u32 {
        let rec = ProducerRecord::new(src.as_str()).key(format!("u{}", i % 10)).value(format!("{}:{}", ["a", "b", "c"][i as usize % 3], i));
        producer.send(rec).await.unwrap();
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();

    // src -> filter(value not starting with "c") -> map(value upper-case) -> to(out)
    //     -> select_key(letter) -> repartition -> count -> to_stream -> to(counts_out)
    let mut b = TopologyBuilder::new();
    let s = b.source(&[&src]).unwrap();
    let f = b.user(s).unwrap();
    let m = b.user(f).unwrap();
    b.sink(m, &out).unwrap();
    let k = b.user(s).unwrap();
    let rep = b.repartition(k, "by-letter").unwrap();
    let count = b.aggregate(rep, "by-letter", AggregateKind::Count, None).unwrap();
    let ts = b.to_stream(count).unwrap();
    b.sink(ts, &counts_out).unwrap();
    let topology = b.build().unwrap();
    assert_eq!(topology.chain(f), Some(&[f, m][..]), "filter and map fused into one chain");

    let mut fns = ClosureFunctions::new();
    fns.filter(f, |r| !r.value.as_ref().unwrap().starts_with(b"c"));
    fns.map(m, |r| StreamRecord { value: r.value.as_ref().map(|v| Bytes::from(v.to_ascii_uppercase())), ..r.clone() });
    fns.map(k, |r| StreamRecord { key: r.value.as_ref().map(|v| v.slice(0..1)), ..r.clone() });

    let app = common::unique_topic("rs-app");
    let config = StreamsConfig::from_properties([
        ("application.id", app.as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
    ])
    .unwrap();
    let streams = KafkaStreams::new(topology, Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap();
    let states = Arc::new(std::sync::Mutex::new(Vec::new()));
    let st = states.clone();
    streams.set_state_listener(Arc::new(move |new, old| st.lock().unwrap().push((old, new)))).unwrap();
    streams.start().unwrap();
    let store = streams.store("by-letter").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let want: HashMap<&[u8], i64> = [(&b"a"[..], 67), (&b"b"[..], 67), (&b"c"[..], 66)].into_iter().collect();
    loop {
        let got: HashMap<Vec<u8>, i64> =
            store.all().unwrap().into_iter().map(|(k, v)| (k.to_vec(), i64::from_be_bytes(v[..].try_into().unwrap()))).collect();
        if want.iter().all(|(k, v)| got.get(*k) == Some(v)) {
            break;
        }
        assert!(Instant::now() < deadline, "counts not reached: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let outs = read_all(&bootstrap, &out, 134).await;
    assert_eq!(outs.len(), 134);
    assert!(outs.iter().all(|(_, v)| { let v = v.as_ref().unwrap(); v[0] == b'A' || v[0] == b'B' }));
    let mut last: HashMap<Vec<u8>, i64> = HashMap::new();
    for (k, v) in read_all(&bootstrap, &counts_out, 3).await {
        last.insert(k.unwrap().to_vec(), i64::from_be_bytes(v.unwrap()[..].try_into().unwrap()));
    }
    let want_last: HashMap<Vec<u8>, i64> = want.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
    assert_eq!(last, want_last);
    assert!(tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await.unwrap());
    let states = states.lock().unwrap().clone();
    assert_eq!(states.first(), Some(&(State::Created, State::Rebalancing)));
    assert_eq!(states.last(), Some(&(State::PendingShutdown, State::NotRunning)));
}

fn joiner_text(left: Option<&[u8]>, right: Option<&[u8]>) -> Bytes {
    let s = |b: Option<&[u8]>| b.map_or("null".to_string(), |b| String::from_utf8_lossy(b).into_owned());
    Bytes::from(format!("{}+{}", s(left), s(right)))
}

async fn wait_for_records(bootstrap: &str, topic: &str, n: usize) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = read_all(bootstrap, topic, n).await;
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A left stream-stream join (1 s windows, no grace) and a suppressed windowed count (10 s
/// windows) over the same left stream, fed in phases so the order of the two topics is known:
/// a pair within the window joins at the later timestamp; a left record without a partner comes
/// with null only once stream time passes its window; a late left record (its window closed)
/// comes with null at once and is dropped from the store and the count; the suppression emits
/// the closed window's count once and nothing for the open window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_left_join_and_suppressed_count() {
    use polykafka::streams::{BufferConfig, JoinKind, JoinWindows, TimeWindows};
    let bootstrap = common::bootstrap();
    let (left, right, joined, finals) =
        (common::unique_topic("rs-left"), common::unique_topic("rs-right"), common::unique_topic("rs-joined"), common::unique_topic("rs-finals"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for t in [&left, &right, &joined, &finals] {
        admin.create_topics(&[NewTopic::new(t.as_str(), 2, 1)], false).await.unwrap();
    }
    let mut b = TopologyBuilder::new();
    let l = b.source(&[&left]).unwrap();
    let r = b.source(&[&right]).unwrap();
    let j = b.stream_join(l, r, JoinWindows::of_time_difference_with_no_grace(1000).unwrap(), JoinKind::Left, Some("lr")).unwrap();
    b.sink(j.joined, &joined).unwrap();
    let counts = b.aggregate(l, "counts", AggregateKind::Count, Some(TimeWindows::of_size_with_no_grace(10_000).unwrap())).unwrap();
    let (sup, _) = b.suppress(counts, Some("counts-final"), BufferConfig::default()).unwrap();
    let out = b.to_stream(sup).unwrap();
    b.sink(out, &finals).unwrap();
    assert!(b.suppress(l, Some("x"), BufferConfig::default()).is_err(), "suppress needs a windowed table");
    let topology = b.build().unwrap();
    assert!(topology.store("lr-this-join-store").is_none(), "join stores are internal");
    assert!(topology.stores().iter().any(|s| s.name == "lr-left-shared-join-store"));

    let mut fns = ClosureFunctions::new();
    fns.combiner(j.this, |rec, other| Ok(Some(joiner_text(rec.value.as_deref(), other.map(|b| &b[..])))));
    fns.combiner(j.other, |rec, other| Ok(Some(joiner_text(other.map(|b| &b[..]), rec.value.as_deref()))));
    let app = common::unique_topic("rs-join-app");
    let config =
        StreamsConfig::from_properties([("application.id", app.as_str()), ("bootstrap.servers", bootstrap.as_str()), ("commit.interval.ms", "100")]).unwrap();
    let streams = KafkaStreams::new(topology, Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap();
    streams.start().unwrap();
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let send = |topic: &str, v: &str, ts: i64| ProducerRecord::new(topic.to_string()).partition(0).key("k").value(v.to_string()).timestamp(ts);
    // Phase 1: a joins x (500 ms apart). Phase 2: b has no partner yet.
    producer.send(send(&left, "a", 1000)).await.unwrap();
    producer.send(send(&right, "x", 1500)).await.unwrap();
    producer.flush(Duration::from_secs(30)).await.unwrap();
    let got = wait_for_records(&bootstrap, &joined, 1).await;
    producer.send(send(&left, "b", 5000)).await.unwrap();
    producer.flush(Duration::from_secs(30)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got2 = read_all(&bootstrap, &joined, got.len()).await;
    let values: Vec<Bytes> = got2.iter().map(|(_, v)| v.clone().unwrap()).collect();
    assert_eq!(values, vec![Bytes::from("a+x")], "b waits for its window to close");
    assert!(read_all(&bootstrap, &finals, 0).await.is_empty(), "no final result for an open window");
    // Phase 2: c (t = 20 s) closes b's window and the count's [0, 10 s) window; then a late
    // left record (t = 0.1 s).
    producer.send(send(&left, "c", 20_000)).await.unwrap();
    producer.flush(Duration::from_secs(30)).await.unwrap();
    let _ = wait_for_records(&bootstrap, &joined, 2).await;
    producer.send(send(&left, "late", 100)).await.unwrap();
    producer.flush(Duration::from_secs(30)).await.unwrap();
    let got = wait_for_records(&bootstrap, &joined, 3).await;
    let values: Vec<Bytes> = got.iter().map(|(_, v)| v.clone().unwrap()).collect();
    assert_eq!(values, vec![Bytes::from("a+x"), Bytes::from("b+null"), Bytes::from("late+null")]);
    let finals_got = wait_for_records(&bootstrap, &finals, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let finals_got2 = read_all(&bootstrap, &finals, finals_got.len()).await;
    assert_eq!(finals_got2.len(), 1, "one final result: {finals_got2:?}");
    let (k, v) = &finals_got2[0];
    assert_eq!(k.as_deref(), Some(&polykafka::streams::WindowedKey { key: Bytes::from("k"), start: 0 }.encode()[..]));
    assert_eq!(i64::from_be_bytes(v.as_ref().unwrap()[..].try_into().unwrap()), 2);
    let m = streams.metrics();
    assert!(m.late_dropped >= 2, "the late record is dropped by the join store and the count: {m:?}");
    assert!(tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await.unwrap());
}

/// Both sources of a join filled before the application starts, each spanning 90 s of event
/// time: the task takes the two topics' records in timestamp order (Kafka Streams'
/// PartitionGroup), so every pair 500 ms apart joins. Taken topic by topic, the first topic's
/// last record would move stream time to 90 s and the other topic's records (their 1 s windows
/// long closed, no grace) would all be dropped as late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_join_of_prefilled_sources_in_timestamp_order() {
    use polykafka::streams::{JoinKind, JoinWindows};
    let bootstrap = common::bootstrap();
    let (left, right, joined) = (common::unique_topic("rs-pre-left"), common::unique_topic("rs-pre-right"), common::unique_topic("rs-pre-joined"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for t in [&left, &right, &joined] {
        admin.create_topics(&[NewTopic::new(t.as_str(), 2, 1).config("retention.ms", "-1")], false).await.unwrap();
    }
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for i in 0..10i64 {
        let rec = |topic: &str, v: String, ts: i64| ProducerRecord::new(topic.to_string()).partition(0).key("k").value(v).timestamp(ts);
        producer.send(rec(&left, format!("l{i}"), i * 10_000)).await.unwrap();
        producer.send(rec(&right, format!("r{i}"), i * 10_000 + 500)).await.unwrap();
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();

    let mut b = TopologyBuilder::new();
    let l = b.source(&[&left]).unwrap();
    let r = b.source(&[&right]).unwrap();
    let j = b.stream_join(l, r, JoinWindows::of_time_difference_with_no_grace(1000).unwrap(), JoinKind::Inner, Some("pre")).unwrap();
    b.sink(j.joined, &joined).unwrap();
    let mut fns = ClosureFunctions::new();
    fns.combiner(j.this, |rec, other| Ok(Some(joiner_text(rec.value.as_deref(), other.map(|b| &b[..])))));
    fns.combiner(j.other, |rec, other| Ok(Some(joiner_text(other.map(|b| &b[..]), rec.value.as_deref()))));
    let app = common::unique_topic("rs-pre-app");
    let config =
        StreamsConfig::from_properties([("application.id", app.as_str()), ("bootstrap.servers", bootstrap.as_str()), ("commit.interval.ms", "100")]).unwrap();
    let streams = KafkaStreams::new(b.build().unwrap(), Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap();
    streams.start().unwrap();
    let got = wait_for_records(&bootstrap, &joined, 10).await;
    let mut values: Vec<String> = got.iter().map(|(_, v)| String::from_utf8_lossy(v.as_ref().unwrap()).into_owned()).collect();
    values.sort();
    let want: Vec<String> = (0..10).map(|i| format!("l{i}+r{i}")).collect();
    assert_eq!(values, want);
    let m = streams.metrics();
    assert_eq!(m.late_dropped, 0, "{m:?}");
    assert!(tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await.unwrap());
}

/// Sources of a join with different partition counts: the application stops with a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_join_of_sources_not_copartitioned_fails() {
    use polykafka::streams::{JoinKind, JoinWindows};
    let bootstrap = common::bootstrap();
    let (left, right) = (common::unique_topic("rs-left3"), common::unique_topic("rs-right2"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    admin.create_topics(&[NewTopic::new(left.as_str(), 3, 1), NewTopic::new(right.as_str(), 2, 1)], false).await.unwrap();
    let mut b = TopologyBuilder::new();
    let l = b.source(&[&left]).unwrap();
    let r = b.source(&[&right]).unwrap();
    let j = b.stream_join(l, r, JoinWindows::of_time_difference_with_no_grace(1000).unwrap(), JoinKind::Inner, Some("j")).unwrap();
    b.sink(j.joined, "never").unwrap();
    let app = common::unique_topic("rs-copart-app");
    let config = StreamsConfig::from_properties([("application.id", app.as_str()), ("bootstrap.servers", bootstrap.as_str())]).unwrap();
    let streams = KafkaStreams::new(b.build().unwrap(), Arc::new(ClosureFunctions::new()), config, tokio::runtime::Handle::current()).unwrap();
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while streams.state() != State::Error {
        assert!(Instant::now() < deadline, "state {:?}", streams.state());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let msg = streams.failure().unwrap().message;
    assert!(msg.contains("not co-partitioned") && msg.contains(&format!("{left} (3 partitions)")), "{msg}");
}

/// What the test application's map does with the value "fail" or "big".
#[derive(Clone, Copy, PartialEq)]
enum Trouble {
    None,
    /// Fails on "fail".
    Fail,
    /// Maps "big" to 10,000 bytes (more than the output topic takes).
    Big,
}

/// src -> map(value upper-case) -> to(out); src -> group_by(value) -> count -> to(counts).
fn eos_app(src: &str, out: &str, counts: &str, trouble: Trouble) -> (polykafka::streams::Topology, ClosureFunctions) {
    let mut b = TopologyBuilder::new();
    let s = b.source(&[src]).unwrap();
    let m = b.user(s).unwrap();
    b.sink(m, out).unwrap();
    let k = b.user(s).unwrap();
    let rep = b.repartition(k, "by-value").unwrap();
    let count = b.aggregate(rep, "by-value", AggregateKind::Count, None).unwrap();
    let ts = b.to_stream(count).unwrap();
    b.sink(ts, counts).unwrap();
    let mut fns = ClosureFunctions::new();
    fns.step(m, move |r| {
        if trouble == Trouble::Big && r.value.as_deref() == Some(&b"big"[..]) {
            return Ok(vec![(0, StreamRecord { value: Some(Bytes::from(vec![b'B'; 10_000])), ..r.clone() })]);
        }
        if trouble == Trouble::Fail && r.value.as_deref() == Some(&b"fail"[..]) {
            // Time for the records sent before to reach the broker (in the transaction).
            std::thread::sleep(Duration::from_millis(1500));
            return Err("the test's map fails on 'fail'".into());
        }
        Ok(vec![(0, StreamRecord { value: r.value.as_ref().map(|v| Bytes::from(v.to_ascii_uppercase())), ..r.clone() })])
    });
    fns.map(k, |r| StreamRecord { key: r.value.clone(), ..r.clone() });
    (b.build().unwrap(), fns)
}

fn last_counts(records: &[(Option<Bytes>, Option<Bytes>)]) -> HashMap<Vec<u8>, i64> {
    let mut last = HashMap::new();
    for (k, v) in records {
        last.insert(k.as_ref().unwrap().to_vec(), i64::from_be_bytes(v.as_ref().unwrap()[..].try_into().unwrap()));
    }
    last
}

/// Topics `<prefix>-src` (1 partition: its records are processed in order), `-out` (2
/// partitions, `out_config`) and `-counts` (2 partitions), and a producer.
async fn eos_topics(bootstrap: &str, prefix: &str, out_config: &[(&str, &str)]) -> (String, String, String, polykafka::producer::Producer) {
    let (src, out, counts) = (common::unique_topic(&format!("{prefix}-src")), common::unique_topic(&format!("{prefix}-out")), common::unique_topic(&format!("{prefix}-counts")));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap)]).unwrap()).unwrap();
    let out_topic = out_config.iter().fold(NewTopic::new(out.as_str(), 2, 1), |t, (k, v)| t.config(*k, *v));
    admin.create_topics(&[NewTopic::new(src.as_str(), 1, 1), out_topic, NewTopic::new(counts.as_str(), 2, 1)], false).await.unwrap();
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap)]).unwrap()).unwrap();
    (src, out, counts, producer)
}

async fn send_values(producer: &polykafka::producer::Producer, src: &str, values: Vec<&str>) {
    for (i, v) in values.into_iter().enumerate() {
        producer.send(ProducerRecord::new(src).key(format!("k{i}")).value(v.to_string())).await.unwrap();
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();
}

/// Runs the application until its count store holds `want` and it committed; closes it.
async fn run_until_counts(
    app: (polykafka::streams::Topology, ClosureFunctions),
    config: StreamsConfig,
    want: &HashMap<Vec<u8>, i64>,
) -> polykafka::streams::StreamsMetrics {
    let streams = Arc::new(KafkaStreams::new(app.0, Arc::new(app.1), config, tokio::runtime::Handle::current()).unwrap());
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got: HashMap<Vec<u8>, i64> =
            streams.store("by-value").unwrap().all().unwrap().into_iter().map(|(k, v)| (k.to_vec(), i64::from_be_bytes(v[..].try_into().unwrap()))).collect();
        if &got == want && streams.metrics().commits > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "counts not reached: {got:?} {:?} {:?}", streams.metrics(), streams.failure());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let s2 = streams.clone();
    assert!(tokio::task::spawn_blocking(move || s2.close(Duration::from_secs(60))).await.unwrap());
    assert_eq!(streams.state(), State::NotRunning, "{:?}", streams.failure());
    streams.metrics()
}

async fn wait_state(streams: &KafkaStreams, want: State, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while streams.state() != want {
        assert!(Instant::now() < deadline, "{what}: state {:?}, metrics {:?}, failure {:?}", streams.state(), streams.metrics(), streams.failure());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_v2_outputs_are_visible_only_once_committed_and_aborted_runs_leave_nothing() {
    let bootstrap = common::bootstrap();
    // The source has one partition: its records are processed in order, the failing one last.
    let (src, out, counts, producer) = eos_topics(&bootstrap, "eos", &[]).await;
    let abc = |n: std::ops::Range<usize>| n.map(|i| ["a", "b", "c"][i % 3]).collect::<Vec<_>>();
    send_values(&producer, &src, abc(0..60)).await;
    let app = common::unique_topic("eos-app");
    let config = |interval: &str| {
        StreamsConfig::from_properties([
            ("application.id", app.as_str()),
            ("bootstrap.servers", bootstrap.as_str()),
            ("processing.guarantee", "exactly_once_v2"),
            ("commit.interval.ms", interval),
            ("transaction.timeout.ms", "900000"),
            ("max.poll.records", "10"),
            ("consumer.fetch.max.wait.ms", "100"),
        ])
        .unwrap()
    };

    // 1. A long commit interval: everything is processed and sent, nothing committed yet.
    let (topology, fns) = eos_app(&src, &out, &counts, Trouble::Fail);
    let streams = KafkaStreams::new(topology, Arc::new(fns), config("600000"), tokio::runtime::Handle::current()).unwrap();
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while streams.metrics().processed < 60 {
        assert!(Instant::now() < deadline, "not processed: {:?} {:?}", streams.metrics(), streams.failure());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let uncommitted = read_as(&bootstrap, &out, "read_uncommitted", Duration::from_secs(3)).await;
    assert_eq!(uncommitted.len(), 60, "the outputs were written, in the open transaction");
    assert!(read_as(&bootstrap, &out, "read_committed", Duration::from_secs(3)).await.is_empty(), "nothing is committed yet");
    assert_eq!(streams.metrics().commits, 0);
    // A clean close commits the transaction.
    let streams = Arc::new(streams);
    let s2 = streams.clone();
    assert!(tokio::task::spawn_blocking(move || s2.close(Duration::from_secs(60))).await.unwrap());
    assert_eq!(streams.state(), State::NotRunning, "{:?}", streams.failure());
    let committed = read_as(&bootstrap, &out, "read_committed", Duration::from_secs(3)).await;
    assert_eq!(committed.len(), 60);
    // The counting task reads the repartition topic at read_committed too: it saw nothing of
    // this run. The next run counts what was committed, with a short interval.
    assert!(read_as(&bootstrap, &counts, "read_uncommitted", Duration::from_secs(2)).await.is_empty());
    let want: HashMap<Vec<u8>, i64> = [(b"a".to_vec(), 20), (b"b".to_vec(), 20), (b"c".to_vec(), 20)].into_iter().collect();
    run_until_counts(eos_app(&src, &out, &counts, Trouble::None), config("100"), &want).await;
    assert_eq!(last_counts(&read_as(&bootstrap, &counts, "read_committed", Duration::from_secs(3)).await), want);

    // 2. 30 more records, then one the map fails on: the run stops and aborts what it sent.
    send_values(&producer, &src, [abc(60..90), vec!["fail"]].concat()).await;
    let (topology, fns) = eos_app(&src, &out, &counts, Trouble::Fail);
    let failing = KafkaStreams::new(topology, Arc::new(fns), config("600000"), tokio::runtime::Handle::current()).unwrap();
    failing.start().unwrap();
    wait_state(&failing, State::Error, "the failing run").await;
    assert!(failing.failure().unwrap().message.contains("fails on 'fail'"), "{:?}", failing.failure());
    assert!(failing.metrics().processed >= 30, "{:?}", failing.metrics());
    assert!(failing.store("by-value").unwrap().all().unwrap().is_empty(), "the aborted run's store updates are dropped");
    let uncommitted = read_as(&bootstrap, &out, "read_uncommitted", Duration::from_secs(3)).await;
    assert!(uncommitted.len() >= 60 + 30, "the failed run wrote its outputs before failing: {}", uncommitted.len());
    assert_eq!(read_as(&bootstrap, &out, "read_committed", Duration::from_secs(3)).await.len(), 60, "the aborted outputs are not visible");
    assert_eq!(last_counts(&read_as(&bootstrap, &counts, "read_committed", Duration::from_secs(3)).await), want);
    assert!(failing.close(Duration::from_secs(30)));

    // 3. A run without the failure restores the counts from the committed changelog and
    // processes the 31 records once.
    let want: HashMap<Vec<u8>, i64> = [(b"a".to_vec(), 30), (b"b".to_vec(), 30), (b"c".to_vec(), 30), (b"fail".to_vec(), 1)].into_iter().collect();
    let metrics = run_until_counts(eos_app(&src, &out, &counts, Trouble::None), config("100"), &want).await;
    assert!(metrics.restored >= 3, "the counts came from the committed changelog: {metrics:?}");
    let committed = read_as(&bootstrap, &out, "read_committed", Duration::from_secs(3)).await;
    assert_eq!(committed.len(), 91, "each record's output once");
    assert_eq!(last_counts(&read_as(&bootstrap, &counts, "read_committed", Duration::from_secs(3)).await), want);
}

/// A record the broker refuses (too large for the output topic) fails the transaction: it is
/// aborted and the tasks re-initialised from the changelog and the committed offsets, again for
/// each attempt, until the thread gives up; nothing of the attempts is visible at read_committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_v2_aborts_a_failed_transaction_and_reinitialises_the_tasks() {
    let bootstrap = common::bootstrap();
    let (src, out, counts, producer) = eos_topics(&bootstrap, "eos2", &[("max.message.bytes", "2000")]).await;
    send_values(&producer, &src, (0..30).map(|i| ["a", "b", "c"][i % 3]).collect()).await;
    let app = common::unique_topic("eos2-app");
    let config = || {
        StreamsConfig::from_properties([
            ("application.id", app.as_str()),
            ("bootstrap.servers", bootstrap.as_str()),
            ("processing.guarantee", "exactly_once_v2"),
            ("consumer.fetch.max.wait.ms", "100"),
        ])
        .unwrap()
    };
    let want: HashMap<Vec<u8>, i64> = [(b"a".to_vec(), 10), (b"b".to_vec(), 10), (b"c".to_vec(), 10)].into_iter().collect();
    run_until_counts(eos_app(&src, &out, &counts, Trouble::Big), config(), &want).await;

    send_values(&producer, &src, vec!["a", "b", "big", "c"]).await;
    let (topology, fns) = eos_app(&src, &out, &counts, Trouble::Big);
    let streams = KafkaStreams::new(topology, Arc::new(fns), config(), tokio::runtime::Handle::current()).unwrap();
    streams.start().unwrap();
    wait_state(&streams, State::Error, "the run whose transaction keeps failing").await;
    let failure = streams.failure().unwrap();
    assert!(failure.message.contains("failed 5 times in a row"), "{failure}");
    let m = streams.metrics();
    // The start restores nothing (the first run closed cleanly: its checkpoint is the changelog's
    // end); each of the 5 re-initialisations restores from the changelog's start (no checkpoint
    // while an exactly_once_v2 task runs).
    assert!(m.restored >= 3 * 5, "each re-initialisation restored the 3 committed counts (and more updates): {m:?}");
    assert_eq!(m.commits, 0, "{m:?}");
    assert!(streams.store("by-value").unwrap().all().unwrap().is_empty(), "the stores are dropped");
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(read_as(&bootstrap, &out, "read_committed", Duration::from_secs(3)).await.len(), 30);
    assert_eq!(last_counts(&read_as(&bootstrap, &counts, "read_committed", Duration::from_secs(3)).await), want);
}

/// State stores on disk with a checkpoint, under both guarantees: a store larger than its cache
/// (4 KiB for 1,000 keys) spills to disk and counts right; a clean restart on the same
/// `state.dir` restores nothing and goes on from the stored counts; another `state.dir`
/// restores everything from the changelog; a changelog deleted and created again (as by an
/// application reset) is never paired with the old table, even when it is longer than the
/// checkpointed offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_stores_restart_from_their_checkpoint() {
    let bootstrap = common::bootstrap();
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        let (src, out, counts, producer) = eos_topics(&bootstrap, "ckpt", &[]).await;
        let app = common::unique_topic("ckpt-app");
        let base = std::env::temp_dir().join(common::unique_topic("polykafka-state"));
        let (dir, other_dir) = (base.join("a"), base.join("b"));
        let config = |dir: &std::path::Path| {
            StreamsConfig::from_properties([
                ("application.id", app.as_str()),
                ("bootstrap.servers", bootstrap.as_str()),
                ("processing.guarantee", guarantee),
                ("consumer.fetch.max.wait.ms", "100"),
                ("commit.interval.ms", "200"),
                ("statestore.cache.max.bytes", "4096"),
                ("state.dir", dir.to_str().unwrap()),
            ])
            .unwrap()
        };
        let keys: Vec<String> = (0..1000).map(|i| format!("v{i:04}")).collect();
        let counted = |n: i64| -> HashMap<Vec<u8>, i64> { keys.iter().map(|k| (k.as_bytes().to_vec(), n)).collect() };
        let send_keys = |times: usize| keys.iter().cycle().take(keys.len() * times).map(String::as_str).collect::<Vec<&str>>();

        send_values(&producer, &src, send_keys(3)).await;
        let m1 = run_until_counts(eos_app(&src, &out, &counts, Trouble::None), config(&dir), &counted(3)).await;
        assert_eq!(m1.restored, 0, "{guarantee}: a new application restores nothing: {m1:?}");

        send_values(&producer, &src, send_keys(1)).await;
        let m2 = run_until_counts(eos_app(&src, &out, &counts, Trouble::None), config(&dir), &counted(4)).await;
        assert_eq!(m2.restored, 0, "{guarantee}: restarted from the checkpoint, the table on disk holds the counts: {m2:?}");

        send_values(&producer, &src, send_keys(1)).await;
        let m3 = run_until_counts(eos_app(&src, &out, &counts, Trouble::None), config(&other_dir), &counted(5)).await;
        assert!(m3.restored >= 1000, "{guarantee}: another state.dir restores every key from the changelog: {m3:?}");

        // The changelog created again with other content, longer than `dir`'s checkpoint: the
        // table of `dir` (counts of 4) must not come back under it.
        let changelog = polykafka::streams::Topology::changelog_topic(&app, "by-value");
        let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
        admin.delete_topics(&[changelog.as_str()]).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let created = admin.create_topics(&[NewTopic::new(changelog.as_str(), 1, 1).config("cleanup.policy", "compact")], false).await.unwrap();
            match &created[0].error {
                None => break,
                Some(e) => assert!(Instant::now() < deadline, "recreating {changelog}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for _ in 0..10_000 {
            producer.send(ProducerRecord::new(changelog.as_str()).key("zz").value(7i64.to_be_bytes().to_vec())).await.unwrap();
        }
        producer.flush(Duration::from_secs(30)).await.unwrap();
        send_values(&producer, &src, vec!["v0001"]).await;
        let want: HashMap<Vec<u8>, i64> = [(b"zz".to_vec(), 7), (b"v0001".to_vec(), 1)].into_iter().collect();
        let m4 = run_until_counts(eos_app(&src, &out, &counts, Trouble::None), config(&dir), &want).await;
        assert!(m4.restored >= 10_000, "{guarantee}: the new changelog restored from its start: {m4:?}");
        let _ = std::fs::remove_dir_all(&base);
    }
}

/// `to()` with a topic per record (a `TopicNameExtractor`): each record goes to the topic its
/// value names; an extractor that returns no topic stops the application with the record's
/// offset, and nothing after the last processed record is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_with_a_topic_per_record() {
    let bootstrap = common::bootstrap();
    let (src, even, odd) = (common::unique_topic("tpr-src"), common::unique_topic("tpr-even"), common::unique_topic("tpr-odd"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    admin.create_topics(&[NewTopic::new(src.as_str(), 1, 1), NewTopic::new(even.as_str(), 2, 1), NewTopic::new(odd.as_str(), 2, 1)], false).await.unwrap();
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let values: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    send_values(&producer, &src, values.iter().map(String::as_str).collect()).await;

    let mut b = TopologyBuilder::new();
    let s = b.source(&[&src]).unwrap();
    let to = b.sink_per_record(s).unwrap();
    let topology = b.build().unwrap();
    let mut fns = ClosureFunctions::new();
    let (e, o) = (even.clone(), odd.clone());
    fns.combiner(to, move |r, operand| {
        assert!(operand.is_none());
        let v = std::str::from_utf8(r.value.as_deref().unwrap()).unwrap();
        Ok(match v.parse::<i64>() {
            Ok(n) if n % 2 == 0 => Some(Bytes::from(e.clone())),
            Ok(_) => Some(Bytes::from(o.clone())),
            Err(_) => None,
        })
    });
    let app = common::unique_topic("tpr-app");
    let config = StreamsConfig::from_properties([("application.id", app.as_str()), ("bootstrap.servers", bootstrap.as_str()), ("commit.interval.ms", "100")]).unwrap();
    let streams = KafkaStreams::new(topology, Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap();
    streams.start().unwrap();
    let text = |rs: Vec<(Option<Bytes>, Option<Bytes>)>| {
        let mut v: Vec<i64> = rs.into_iter().map(|(_, v)| std::str::from_utf8(&v.unwrap()).unwrap().parse().unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(text(read_all(&bootstrap, &even, 10).await), (0..20).filter(|n| n % 2 == 0).collect::<Vec<i64>>());
    assert_eq!(text(read_all(&bootstrap, &odd, 10).await), (0..20).filter(|n| n % 2 == 1).collect::<Vec<i64>>());
    send_values(&producer, &src, vec!["none", "21"]).await;
    wait_state(&streams, State::Error, "the record without a topic").await;
    let failure = streams.failure().unwrap();
    assert!(failure.message.contains("topic name extractor of to() returned no topic name"), "{failure}");
    assert_eq!((failure.topic.as_deref(), failure.offset), (Some(src.as_str()), 20), "{failure}");
    let c = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", bootstrap.as_str()), ("group.id", app.as_str())]).unwrap()).unwrap();
    let committed = c.committed(&[TopicPartition::new(src.as_str(), 0)], Duration::from_secs(10)).await.unwrap();
    assert_eq!(committed[0].1, 20, "the records before the failed one are committed, not it: {committed:?}");
    assert!(streams.close(Duration::from_secs(30)));
}
