//! Timestamp extractors against the real broker: a source's own extractor gives event time from
//! the value (windows and lateness follow it, a negative time drops the record, the extractor
//! sees the partition time); an extractor that fails stops the application naming the record and
//! nothing is committed past it; the built-ins of `default.timestamp.extractor` treat a record
//! written with timestamp -1 as Kafka Streams' do.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polykafka::admin::{Admin, NewTopic};
use polykafka::consumer::Consumer;
use polykafka::streams::{
    AggregateKind, ClosureFunctions, FailureKind, KafkaStreams, State, StreamsConfig, StreamsMetrics, TimeWindows, TimestampExtractor, TopologyBuilder,
};
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

const WINDOW: i64 = 10_000;

/// src -> windowed_by(tumbling 10 s, no grace) -> count("counts"), the source with `extractor`.
fn app(src: &str, extractor: Option<TimestampExtractor>) -> (polykafka::streams::Topology, polykafka::streams::NodeId) {
    let mut b = TopologyBuilder::new();
    let s = b.source(&[src]).unwrap();
    if let Some(x) = extractor {
        b.timestamp_extractor(s, x).unwrap();
    }
    b.aggregate(s, "counts", AggregateKind::Count, Some(TimeWindows::of_size_with_no_grace(WINDOW).unwrap())).unwrap();
    (b.build().unwrap(), s)
}

fn config(app_id: &str, bootstrap: &str, extra: &[(&str, &str)]) -> StreamsConfig {
    let state = std::env::temp_dir().join(common::unique_topic("polykafka-ts-state"));
    let base = [
        ("application.id", app_id),
        ("bootstrap.servers", bootstrap),
        ("consumer.fetch.max.wait.ms", "100"),
        ("commit.interval.ms", "200"),
        ("state.dir", state.to_str().unwrap()),
    ];
    StreamsConfig::from_properties(base.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
}

/// The windows of key "k" in the store "counts": (start, count).
fn windows(streams: &KafkaStreams) -> Vec<(i64, i64)> {
    let got = streams.store("counts").unwrap().fetch(b"k", 0, i64::MAX).unwrap();
    got.into_iter().map(|(start, v)| (start, i64::from_be_bytes(v[..].try_into().unwrap()))).collect()
}

async fn wait(streams: &KafkaStreams, what: &str, mut done: impl FnMut(&KafkaStreams) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(streams) {
        assert!(Instant::now() < deadline, "{what}: {:?} {:?} {:?}", streams.state(), streams.metrics(), streams.failure());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn close(streams: Arc<KafkaStreams>) -> StreamsMetrics {
    let s = streams.clone();
    assert!(tokio::task::spawn_blocking(move || s.close(Duration::from_secs(60))).await.unwrap());
    streams.metrics()
}

struct Setup {
    bootstrap: String,
    src: String,
}

/// A topic of one partition holding `records` (value, timestamp), all with key "k".
async fn setup(records: &[(&str, i64)]) -> Setup {
    let bootstrap = common::bootstrap();
    let src = common::unique_topic("ts-src");
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    admin.create_topics(&[NewTopic::new(src.as_str(), 1, 1)], false).await.unwrap();
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for (v, ts) in records {
        producer.send(ProducerRecord::new(src.as_str()).key("k").value(v.to_string()).timestamp(*ts)).await.unwrap();
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();
    Setup { bootstrap, src }
}

fn start(topology: polykafka::streams::Topology, fns: ClosureFunctions, config: StreamsConfig) -> Arc<KafkaStreams> {
    let streams = Arc::new(KafkaStreams::new(topology, Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap());
    streams.start().unwrap();
    streams
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_extractor_gives_event_time_and_negative_times_drop_records() {
    // Every record is written at 1,000,000 ms; the event time is in the value. 4000 comes after
    // stream time 15000 passed its window's end (10000, no grace): late. -7 is dropped.
    let s = setup(&[("3000", 1_000_000), ("12000", 1_000_000), ("-7", 1_000_000), ("15000", 1_000_000), ("4000", 1_000_000)]).await;
    let (topology, source) = app(&s.src, Some(TimestampExtractor::User));
    let seen: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let mut fns = ClosureFunctions::new();
    let log = seen.clone();
    fns.timestamp_extractor(source, move |r, partition_time| {
        assert_eq!(r.timestamp, 1_000_000, "the extractor gets the record's own timestamp");
        let t: i64 = std::str::from_utf8(r.value.as_deref().unwrap_or_default()).unwrap().parse().map_err(|e| format!("{e}"))?;
        log.lock().unwrap().push((t, partition_time));
        Ok(t)
    });
    let streams = start(topology, fns, config(&common::unique_topic("ts-user"), &s.bootstrap, &[]));
    wait(&streams, "counted by event time", |st| windows(st) == [(0, 1), (10_000, 2)] && st.metrics().processed == 4).await;
    let m = close(streams).await;
    assert_eq!((m.timestamp_dropped, m.late_dropped), (1, 1), "{m:?}");
    assert_eq!(*seen.lock().unwrap(), [(3000, -1), (12000, 3000), (-7, 12000), (15000, 12000), (4000, 15000)], "(event time, partition time given)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_extractor_stops_the_application_naming_the_record_and_nothing_is_committed_past_it() {
    let s = setup(&[("1000", 1), ("2000", 2), ("boom", 3), ("3000", 4)]).await;
    let (topology, source) = app(&s.src, Some(TimestampExtractor::User));
    let mut fns = ClosureFunctions::new();
    fns.timestamp_extractor(source, |r, _| {
        let v = std::str::from_utf8(r.value.as_deref().unwrap_or_default()).unwrap().to_string();
        v.parse::<i64>().map_err(|_| format!("no event time in '{v}'"))
    });
    let app_id = common::unique_topic("ts-fail");
    let streams = start(topology, fns, config(&app_id, &s.bootstrap, &[]));
    wait(&streams, "the thread stopped", |st| st.state() == State::Error).await;
    let f = streams.failure().expect("the failure is kept");
    assert_eq!((f.topic.as_deref(), f.partition, f.offset, f.kind), (Some(s.src.as_str()), 0, 2, Some(FailureKind::User)), "{f}");
    assert!(f.message.contains("no event time in 'boom'"), "{f}");
    close(streams).await;
    let c = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", s.bootstrap.as_str()), ("group.id", app_id.as_str())]).unwrap()).unwrap();
    let committed = c.committed(&[TopicPartition::new(s.src.as_str(), 0)], Duration::from_secs(10)).await.unwrap();
    assert!(committed.iter().all(|(_, o)| *o <= 2), "committed past the failed record: {committed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_extractors_treat_a_record_without_timestamp_as_kafka_streams_does() {
    // The second record is written with timestamp -1 (no timestamp).
    let s = setup(&[("a", 5000), ("b", -1), ("c", 6000)]).await;
    let run = |name: &str, extractor: &str| {
        let (topology, _) = app(&s.src, None);
        start(topology, ClosureFunctions::new(), config(&common::unique_topic(name), &s.bootstrap, &[("default.timestamp.extractor", extractor)]))
    };

    let skip = run("ts-skip", "LogAndSkipOnInvalidTimestamp");
    wait(&skip, "skipped", |st| windows(st) == [(0, 2)] && st.metrics().timestamp_dropped == 1).await;
    close(skip).await;

    let partition_time = run("ts-partition-time", "org.apache.kafka.streams.processor.UsePartitionTimeOnInvalidTimestamp");
    wait(&partition_time, "counted at the partition time", |st| windows(st) == [(0, 3)]).await;
    assert_eq!(close(partition_time).await.timestamp_dropped, 0);

    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let wallclock = run("ts-wallclock", "WallclockTimestampExtractor");
    wait(&wallclock, "counted at the time read", |st| st.metrics().processed == 3).await;
    let got = windows(&wallclock);
    close(wallclock).await;
    assert!(got.iter().map(|(_, n)| n).sum::<i64>() == 3 && got.iter().all(|(start, _)| *start >= before - WINDOW), "{got:?} (read after {before})");

    let fail = run("ts-fail-default", "FailOnInvalidTimestamp");
    wait(&fail, "failed", |st| st.state() == State::Error).await;
    let f = fail.failure().unwrap();
    assert_eq!((f.offset, f.kind), (1, None), "{f}");
    assert!(f.message.contains("invalid (negative) timestamp -1"), "{f}");
    close(fail).await;
}
