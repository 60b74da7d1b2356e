//! The fetcher against the fake broker: OFFSET_OUT_OF_RANGE resets the position by
//! auto.offset.reset (or is a typed error with `none`), and a truncated trailing batch in a
//! Fetch response is skipped, not an error.

mod fake_broker;

use std::time::{Duration, Instant};

use fake_broker::{code, truncate_fetch_records, ApiKey, Behaviour, FakeBroker, RequestKind};
use polykafka::{Consumer, ConsumerConfig, StartOffset, TopicPartition};

fn consumer(broker: &FakeBroker, reset: &str) -> Consumer {
    let props: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), broker.bootstrap()),
        ("fetch.max.wait.ms".into(), "50".into()),
        ("retry.backoff.ms".into(), "20".into()),
        ("auto.offset.reset".into(), reset.into()),
    ];
    Consumer::new(ConsumerConfig::from_properties(props).unwrap()).unwrap()
}

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

async fn consume(c: &Consumer, n: usize) -> Vec<(i64, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "consumed only {got:?}");
        for r in c.poll_batch(10, Duration::from_millis(100)).await.unwrap() {
            got.push((r.offset, String::from_utf8(r.value.unwrap().to_vec()).unwrap()));
        }
    }
    got
}

/// (fetch offset of partition t-0) of every Fetch, and (timestamp) of every ListOffsets, in
/// order of arrival, consecutive duplicates merged (long polls repeat).
fn fetch_trace(broker: &FakeBroker) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in broker.received() {
        let item = match r.request {
            RequestKind::Fetch(f) => format!("fetch@{}", f.topics[0].partitions[0].fetch_offset),
            RequestKind::ListOffsets(l) => format!("list_offsets({})", l.topics[0].partitions[0].timestamp),
            _ => continue,
        };
        if out.last() != Some(&item) {
            out.push(item);
        }
    }
    out
}

/// The trace from the first Fetch on (a ListOffsets of an earlier position never comes first
/// with `assign_at`; kept as a guard).
fn from_first_fetch(trace: Vec<String>) -> Vec<String> {
    let first = trace.iter().position(|t| t.starts_with("fetch@")).expect("a fetch");
    trace[first..].to_vec()
}

/// A position before the log start: the broker answers OFFSET_OUT_OF_RANGE, the consumer asks
/// for the earliest offset (ListOffsets -2) and fetches from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_out_of_range_resets_to_earliest() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a", "b"]);
    broker.append("t", 0, &["c", "d"]);
    broker.set_log_start("t", 0, 2);
    let c = consumer(&broker, "earliest");
    c.assign_at(&[(tp(), StartOffset::Offset(0))]).unwrap();
    assert_eq!(consume(&c, 2).await, vec![(2, "c".to_string()), (3, "d".to_string())]);
    let trace = from_first_fetch(fetch_trace(&broker));
    assert_eq!(&trace[..3], &["fetch@0", "list_offsets(-2)", "fetch@2"], "{trace:?}");
    c.close().await.unwrap();
}

/// OFFSET_OUT_OF_RANGE with auto.offset.reset=latest: the position moves to the log end
/// (ListOffsets -1); records already in the log are skipped, new ones are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_out_of_range_resets_to_latest() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a", "b"]);
    broker.script(ApiKey::Fetch, [Behaviour::Error(code::OFFSET_OUT_OF_RANGE)]);
    let c = consumer(&broker, "latest");
    c.assign_at(&[(tp(), StartOffset::Offset(0))]).unwrap();
    broker.wait_for("the reset", Duration::from_secs(10), |r| r.iter().any(|r| r.api_key == ApiKey::ListOffsets)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.position(&tp()).unwrap() != Some(2) {
        assert!(Instant::now() < deadline, "position {:?}", c.position(&tp()));
        assert!(c.poll_batch(10, Duration::from_millis(50)).await.unwrap().is_empty(), "nothing before the log end");
    }
    broker.append("t", 0, &["c"]);
    assert_eq!(consume(&c, 1).await, vec![(2, "c".to_string())]);
    let trace = from_first_fetch(fetch_trace(&broker));
    assert_eq!(&trace[..3], &["fetch@0", "list_offsets(-1)", "fetch@2"], "{trace:?}");
    c.close().await.unwrap();
}

/// OFFSET_OUT_OF_RANGE with auto.offset.reset=none: poll fails with a typed error naming the
/// partition, and the position is not moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_out_of_range_without_reset_is_an_error() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    let c = consumer(&broker, "none");
    c.assign_at(&[(tp(), StartOffset::Offset(10))]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        assert!(Instant::now() < deadline, "no error");
        match c.poll_batch(10, Duration::from_millis(100)).await {
            Ok(rs) => assert!(rs.is_empty()),
            Err(e) => break e,
        }
    };
    assert_eq!(err.code(), code::OFFSET_OUT_OF_RANGE, "{err}");
    assert!(err.message().contains("partition t-0"), "{err}");
    assert!(!err.retriable(), "{err}");
    assert_eq!(c.position(&tp()).unwrap(), Some(10), "the position stays");
    assert!(broker.of(ApiKey::ListOffsets).is_empty(), "no reset");
    c.close().await.unwrap();
}

/// A Fetch response whose last batch is cut short (a broker does this when a batch does not fit
/// the fetch size): the complete batches are delivered, the partial one is skipped without an
/// error, and the next Fetch asks from the first offset of the skipped batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_trailing_batch_is_skipped_not_an_error() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a", "b"]);
    broker.append("t", 0, &["c", "d"]);
    broker.script(ApiKey::Fetch, [Behaviour::Edit(Box::new(|r| truncate_fetch_records(r, 7)))]);
    let c = consumer(&broker, "earliest");
    c.assign_at(&[(tp(), StartOffset::Offset(0))]).unwrap();
    let got = consume(&c, 4).await;
    assert_eq!(got, vec![(0, "a".into()), (1, "b".into()), (2, "c".into()), (3, "d".into())]);
    let trace = from_first_fetch(fetch_trace(&broker));
    assert_eq!(&trace[..2], &["fetch@0", "fetch@2"], "{trace:?}");
    c.close().await.unwrap();
}

/// Fetch answered NOT_LEADER_OR_FOLLOWER: no error reaches the application; the consumer
/// refreshes the metadata and fetches again from the same offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_refreshes_metadata_and_fetches_again() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a", "b"]);
    broker.script(ApiKey::Fetch, [Behaviour::Error(6)]);
    let c = consumer(&broker, "earliest");
    c.assign_at(&[(tp(), StartOffset::Offset(0))]).unwrap();
    assert_eq!(consume(&c, 2).await, vec![(0, "a".to_string()), (1, "b".to_string())]);
    let keys = broker.keys();
    let fetches: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| **k == ApiKey::Fetch).map(|(i, _)| i).collect();
    assert!(keys[fetches[0]..fetches[1]].contains(&ApiKey::Metadata), "a metadata refresh between: {keys:?}");
    assert_eq!(broker.of(ApiKey::Fetch).iter().filter(|r| matches!(&r.request, RequestKind::Fetch(f) if f.topics[0].partitions[0].fetch_offset == 0)).count(), 2, "fetched again from 0");
    c.close().await.unwrap();
}

/// A position in the middle of a batch: the broker sends the whole batch; the records before
/// the position are not delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_before_the_position_in_a_batch_are_skipped() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a", "b", "c"]);
    let c = consumer(&broker, "earliest");
    c.assign_at(&[(tp(), StartOffset::Offset(1))]).unwrap();
    assert_eq!(consume(&c, 2).await, vec![(1, "b".to_string()), (2, "c".to_string())]);
    assert!(c.poll_batch(10, Duration::from_millis(200)).await.unwrap().is_empty(), "a is never delivered");
    c.close().await.unwrap();
}
