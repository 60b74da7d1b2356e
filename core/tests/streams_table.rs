//! KTable `filter` and `map_values` against the real broker, as Kafka Streams over a materialized
//! table (with old values): an update the filter drops becomes a tombstone when the key's old
//! value had passed, and nothing when it had not (the key was not in the derived table); a value
//! mapper maps new values and passes tombstones without being called. Phases separated by waits
//! make every update's old value the previous phase's, so the outputs are exact sequences.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use polykafka::admin::{Admin, NewTopic};
use polykafka::streams::{AggregateKind, ClosureFunctions, KafkaStreams, StreamRecord, StreamsConfig, TopologyBuilder};
use polykafka::{AdminConfig, ProducerConfig, ProducerRecord};

fn count(r: &StreamRecord) -> i64 {
    i64::from_be_bytes(r.value.as_deref().unwrap().try_into().unwrap())
}

/// Every record of `topic` (one partition): key, value (a tombstone as `None`).
async fn records_of(bootstrap: &str, topic: &str) -> Vec<(String, Option<Bytes>)> {
    let records = common::read_partition(bootstrap, topic).await;
    records.into_iter().map(|r| (String::from_utf8_lossy(r.key.as_deref().unwrap()).into_owned(), r.value)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_filter_and_map_values_follow_kafka_streams_table_semantics() {
    let bootstrap = common::bootstrap();
    let (src, filtered, mapped) = (common::unique_topic("table-src"), common::unique_topic("table-filtered"), common::unique_topic("table-mapped"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    admin.create_topics(&[NewTopic::new(src.as_str(), 1, 1), NewTopic::new(filtered.as_str(), 1, 1), NewTopic::new(mapped.as_str(), 1, 1)], false).await.unwrap();
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let send = |keys: &'static [&'static str]| {
        let (producer, src) = (&producer, src.clone());
        async move {
            for k in keys {
                producer.send(ProducerRecord::new(src.as_str()).key(*k).value("x")).await.unwrap();
            }
            producer.flush(Duration::from_secs(30)).await.unwrap();
        }
    };

    // src -> count("c") -> filter(even count) -> [to_stream -> filtered] and map_values(count * 10) -> to_stream -> mapped
    let mut b = TopologyBuilder::new();
    let s = b.source(&[&src]).unwrap();
    let counts = b.aggregate(s, "c", AggregateKind::Count, None).unwrap();
    let even = b.table_user(counts, true).unwrap();
    let times_ten = b.table_user(even, false).unwrap();
    let f = b.to_stream(even).unwrap();
    b.sink(f, &filtered).unwrap();
    let m = b.to_stream(times_ten).unwrap();
    b.sink(m, &mapped).unwrap();
    assert!(b.to_stream(s).is_err(), "a stream is not a table");
    let mut join = TopologyBuilder::new();
    let (s2, s3) = (join.source(&["x"]).unwrap(), join.source(&["y"]).unwrap());
    let t = join.aggregate(s2, "t", AggregateKind::Count, None).unwrap();
    let derived = join.table_user(t, true).unwrap();
    let e = join.join_table(s3, derived, false).unwrap_err().to_string();
    assert!(e.contains("filtered or mapped table, which has no store"), "{e}");

    let mapper_calls = Arc::new(AtomicUsize::new(0));
    let calls = mapper_calls.clone();
    let mut fns = ClosureFunctions::new();
    fns.filter(even, |r| count(r) % 2 == 0);
    fns.map(times_ten, move |r| {
        calls.fetch_add(1, Ordering::Relaxed);
        StreamRecord::new(r.key.clone(), Some(Bytes::from((count(r) * 10).to_be_bytes().to_vec())), r.timestamp)
    });
    let state = std::env::temp_dir().join(common::unique_topic("polykafka-table-state"));
    let config = StreamsConfig::from_properties([
        ("application.id", common::unique_topic("table-app").as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("consumer.fetch.max.wait.ms", "100"),
        ("commit.interval.ms", "200"),
        ("state.dir", state.to_str().unwrap()),
    ])
    .unwrap();
    let streams = Arc::new(KafkaStreams::new(b.build().unwrap(), Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap());
    streams.start().unwrap();
    let processed = |n: u64| {
        let streams = streams.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while streams.metrics().processed < n {
                assert!(Instant::now() < deadline, "{:?} {:?}", streams.metrics(), streams.failure());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // x: 1 (odd: not in the table, old value none: nothing); d: 1, 2 (whatever the batches: 2).
    send(&["x", "d", "d"]).await;
    processed(3).await;
    // d: 3 (odd, its old value 2 was in the table: a tombstone).
    send(&["d"]).await;
    processed(4).await;
    // x: 2 (even, its old value 1 was not in the table: forwarded).
    send(&["x"]).await;
    processed(5).await;
    let s2 = streams.clone();
    assert!(tokio::task::spawn_blocking(move || s2.close(Duration::from_secs(60))).await.unwrap());
    assert!(streams.failure().is_none(), "{:?}", streams.failure());

    let long = |n: i64| Some(Bytes::from(n.to_be_bytes().to_vec()));
    let seq = |v: Vec<(&str, Option<Bytes>)>| v.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Vec<_>>();
    assert_eq!(records_of(&bootstrap, &filtered).await, seq(vec![("d", long(2)), ("d", None), ("x", long(2))]));
    assert_eq!(records_of(&bootstrap, &mapped).await, seq(vec![("d", long(20)), ("d", None), ("x", long(20))]), "tombstones pass the mapper");
    // The mapper ran on d: 2 (new), d: 2 (old, for the tombstone), x: 2 (new); never on a tombstone.
    assert_eq!(mapper_calls.load(Ordering::Relaxed), 3);
    let _ = std::fs::remove_dir_all(&state);
}
