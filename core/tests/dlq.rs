//! The retry and dead-letter path against the real broker: in-place retries with the partition
//! paused while the others flow, the dead-letter copy and its headers, the commit after it,
//! undecodable records, the retry topic, transactions, and the replay.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::dlq::{self, DeadLetterQueue, Failure, Outcome, RetryPolicy};
use polykafka::producer::Producer;
use polykafka::protocol::records::Record;
use polykafka::{AdminConfig, ClientConfig, Consumer, ConsumerConfig, ConsumerRecord, ErrorKind, ProducerConfig, ProducerRecord, TopicPartition};

const T: Duration = Duration::from_secs(30);

async fn new_topic(name: &str, partitions: i32) {
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topic(name, partitions, 1).await.unwrap();
}

fn producer(extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("bootstrap.servers".to_string(), common::bootstrap())];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

fn consumer(group: &str) -> Consumer {
    consumer_with(group, &[])
}

fn consumer_with(group: &str, extra: &[(&str, &str)]) -> Consumer {
    let mut props = vec![
        ("bootstrap.servers", common::bootstrap()),
        ("group.id", group.to_string()),
        ("auto.offset.reset", "earliest".into()),
        ("enable.auto.commit", "false".into()),
        ("fetch.max.wait.ms", "100".into()),
    ];
    props.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Consumer::new(ConsumerConfig::from_properties(props).unwrap()).unwrap()
}

async fn send(p: &Producer, records: Vec<ProducerRecord>) {
    for r in p.send_batch(records).await.unwrap().await {
        r.unwrap();
    }
}

/// Every record of partition 0 of `topic`, read_committed.
async fn records_of(topic: &str) -> Vec<Record> {
    let cluster = Cluster::new(ClientConfig::with_bootstrap(&common::bootstrap()).unwrap()).unwrap();
    let tp = TopicPartition::new(topic, 0);
    let end = list_offsets(&cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadCommitted).await.unwrap()[0].1.as_ref().unwrap().offset;
    read_all(&cluster, &tp, 0, end, IsolationLevel::ReadCommitted).await.unwrap()
}

fn headers_of(r: &Record) -> Vec<(String, String)> {
    r.headers.iter().map(|h| (h.key.clone(), String::from_utf8_lossy(h.value.as_deref().unwrap_or_default()).into_owned())).collect()
}

fn text(b: &Option<bytes::Bytes>) -> String {
    String::from_utf8_lossy(b.as_deref().unwrap_or_default()).into_owned()
}

/// Polls until `done` says so (bounded: 60 s), resuming due partitions first and running
/// `handle` on every record.
async fn run(c: &Consumer, q: &DeadLetterQueue, mut handle: impl AsyncFnMut(&ConsumerRecord) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "the consumer loop did not finish in 60 s");
        q.resume_due(c);
        for r in c.poll_batch(100, Duration::from_millis(200)).await.unwrap() {
            if q.is_waiting(c, &r.topic_partition()) {
                continue;
            }
            if handle(&r).await {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_record_is_retried_with_its_partition_paused_then_dead_lettered_and_committed() {
    let topic = common::unique_topic("dlq-src");
    new_topic(&topic, 2).await;
    new_topic(&format!("{topic}-dlq"), 1).await;
    let p = producer(&[]);
    send(&p, vec![
        ProducerRecord::new(&topic).partition(0).key("k-bad").value("bad").header("trace", "t-1").header("trace", "t-2"),
        ProducerRecord::new(&topic).partition(0).value("after-bad"),
        ProducerRecord::new(&topic).partition(1).value("p1-a"),
    ])
    .await;
    let group = common::unique_topic("dlq-group");
    let c = consumer(&group);
    c.subscribe(std::slice::from_ref(&topic)).unwrap();
    let policy = RetryPolicy { max_retries: 2, initial_backoff: Duration::from_millis(1000), max_backoff: Duration::from_secs(5), ..Default::default() };
    let q = DeadLetterQueue::new(policy, producer(&[])).unwrap();

    let mut seen: Vec<String> = Vec::new();
    let mut outcomes = Vec::new();
    let mut produced_more = false;
    run(&c, &q, async |r: &ConsumerRecord| {
        let v = text(&r.value);
        seen.push(v.clone());
        if v == "bad" {
            let out = q.failed(&c, r, &Failure::new("cannot handle bad", "ValueError")).await.unwrap();
            if let Outcome::Retry { .. } = out {
                assert!(c.paused().contains(&r.topic_partition()), "the failing partition waits paused");
                if !produced_more {
                    // Records arriving on the other partition while this one waits.
                    send(&p, vec![ProducerRecord::new(&topic).partition(1).value("p1-b"), ProducerRecord::new(&topic).partition(1).value("p1-c")]).await;
                    produced_more = true;
                }
            }
            outcomes.push(out);
            return false;
        }
        q.succeeded(&c, &r.topic_partition(), r.offset);
        v == "after-bad"
    })
    .await;

    assert!(matches!(outcomes[0], Outcome::Retry { retry: 1, after } if after == Duration::from_millis(1000)), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Retry { retry: 2, after } if after == Duration::from_millis(2000)), "{outcomes:?}");
    assert!(matches!(outcomes[2], Outcome::DeadLettered(_)), "{outcomes:?}");
    assert_eq!(outcomes.len(), 3);
    // The other partition flowed while partition 0 waited: p1-b and p1-c came before the end.
    let dead = seen.iter().rposition(|v| v == "bad").unwrap();
    for v in ["p1-b", "p1-c"] {
        assert!(seen.iter().position(|s| s == v).is_some_and(|i| i < dead), "{v} not processed while partition 0 waited: {seen:?}");
    }
    assert_eq!(seen.iter().filter(|v| *v == "bad").count(), 3, "{seen:?}");

    let dlq_records = records_of(&format!("{topic}-dlq")).await;
    assert_eq!(dlq_records.len(), 1);
    let d = &dlq_records[0];
    assert_eq!((text(&d.key), text(&d.value)), ("k-bad".into(), "bad".into()));
    let want = [("trace", "t-1"), ("trace", "t-2"), ("retry-count", "2"), ("original-topic", topic.as_str()), ("original-partition", "0"), ("original-offset", "0"), ("error", "cannot handle bad"), ("error-type", "ValueError")];
    assert_eq!(headers_of(d), want.map(|(k, v)| (k.to_string(), v.to_string())));
    let committed = c.committed(&[TopicPartition::new(&topic, 0)], T).await.unwrap();
    assert_eq!(committed[0].1, 1, "offset + 1 of the dead-lettered record is committed");
    assert!(q.waiting().is_empty());
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_record_goes_to_the_dead_letter_topic_at_once_with_its_bytes() {
    let topic = common::unique_topic("dlq-undecodable");
    new_topic(&topic, 1).await;
    let dlq_topic = common::unique_topic("dlq-named");
    new_topic(&dlq_topic, 1).await;
    let raw: &[u8] = b"\x00\x00\x00\x01\xff\xfe not avro";
    send(&producer(&[]), vec![ProducerRecord::new(&topic).value("fine"), ProducerRecord::new(&topic).value(raw.to_vec())]).await;
    // Offsets stored by the application: the dead-lettered one is stored too, so committing the
    // stored offsets afterwards does not move the group back.
    let c = consumer_with(&common::unique_topic("dlq-group"), &[("enable.auto.offset.store", "false")]);
    c.subscribe(std::slice::from_ref(&topic)).unwrap();
    let policy = RetryPolicy { dlq_topic: Some(dlq_topic.clone()), ..Default::default() };
    let q = DeadLetterQueue::new(policy, producer(&[])).unwrap();
    run(&c, &q, async |r: &ConsumerRecord| {
        if r.value.as_deref() == Some(b"fine".as_slice()) {
            c.store_offsets(&[(r.topic_partition(), r.offset + 1)]).unwrap();
            return false;
        }
        q.undecodable(&c, r, &Failure::new("unknown magic byte", "SerializationError")).await.unwrap();
        true
    })
    .await;
    let d = &records_of(&dlq_topic).await[0];
    assert_eq!(d.value.as_deref(), Some(raw));
    assert_eq!(headers_of(d)[0], ("retry-count".to_string(), "0".to_string()));
    assert_eq!(c.committed(&[TopicPartition::new(&topic, 0)], T).await.unwrap()[0].1, 2);
    c.commit(None, polykafka::CommitMode::Sync).await.unwrap();
    assert_eq!(c.committed(&[TopicPartition::new(&topic, 0)], T).await.unwrap()[0].1, 2);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_blocking_retries_go_through_the_retry_topic_then_to_the_dead_letter_topic() {
    let topic = common::unique_topic("dlq-nb");
    let retry_topic = format!("{topic}-retry");
    for t in [&topic, &retry_topic, &format!("{topic}-dlq")] {
        new_topic(t, 1).await;
    }
    send(&producer(&[]), vec![ProducerRecord::new(&topic).value("bad")]).await;
    let c = consumer(&common::unique_topic("dlq-group"));
    c.subscribe(&[topic.clone(), retry_topic.clone()]).unwrap();
    let policy = RetryPolicy { max_retries: 2, initial_backoff: Duration::from_millis(300), retry_topic: Some(retry_topic.clone()), ..Default::default() };
    let q = DeadLetterQueue::new(policy, producer(&[])).unwrap();
    let mut outcomes = Vec::new();
    run(&c, &q, async |r: &ConsumerRecord| {
        if q.not_yet_due(&c, r).unwrap().is_some() {
            return false;
        }
        let out = q.failed(&c, r, &Failure::new("no", "Error")).await.unwrap();
        let last = matches!(out, Outcome::DeadLettered(_));
        outcomes.push(out);
        last
    })
    .await;
    assert!(matches!(outcomes[..], [Outcome::Republished(_), Outcome::Republished(_), Outcome::DeadLettered(_)]), "{outcomes:?}");
    let retried = records_of(&retry_topic).await;
    assert_eq!(retried.len(), 2);
    let d = &records_of(&format!("{topic}-dlq")).await[0];
    let h: HashMap<String, String> = headers_of(d).into_iter().collect();
    assert_eq!((h["retry-count"].as_str(), h["original-topic"].as_str(), h["original-offset"].as_str()), ("2", topic.as_str(), "0"));
    assert!(!h.contains_key("retry-not-before"));
    let committed = c.committed(&[TopicPartition::new(&topic, 0), TopicPartition::new(&retry_topic, 0)], T).await.unwrap();
    assert_eq!(committed.iter().map(|c| c.1).collect::<Vec<_>>(), [1, 2]);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_transactional_producer_the_copy_and_the_offset_commit_together() {
    let topic = common::unique_topic("dlq-txn");
    new_topic(&topic, 1).await;
    new_topic(&format!("{topic}-dlq"), 1).await;
    send(&producer(&[]), vec![ProducerRecord::new(&topic).value("bad"), ProducerRecord::new(&topic).value("bad-too")]).await;
    let c = consumer(&common::unique_topic("dlq-group"));
    c.subscribe(std::slice::from_ref(&topic)).unwrap();
    let txn_id = common::unique_topic("dlq-txn-id");
    let q = DeadLetterQueue::new(RetryPolicy { max_retries: 0, ..Default::default() }, producer(&[("transactional.id", txn_id.as_str())])).unwrap();
    let mut n = 0;
    run(&c, &q, async |r: &ConsumerRecord| {
        assert!(matches!(q.failed(&c, r, &Failure::new("no", "Error")).await.unwrap(), Outcome::DeadLettered(_)));
        n += 1;
        n == 2
    })
    .await;
    let values: Vec<String> = records_of(&format!("{topic}-dlq")).await.iter().map(|r| text(&r.value)).collect();
    assert_eq!(values, ["bad", "bad-too"], "both copies committed (read_committed)");
    assert_eq!(c.committed(&[TopicPartition::new(&topic, 0)], T).await.unwrap()[0].1, 2);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_writes_dead_letters_back_to_their_topic_without_the_dead_letter_headers() {
    let topic = common::unique_topic("dlq-replay");
    let dlq_topic = format!("{topic}-dlq");
    new_topic(&topic, 1).await;
    new_topic(&dlq_topic, 2).await;
    let p = producer(&[]);
    send(&p, vec![
        ProducerRecord::new(&dlq_topic).partition(0).key("a").value("one").header("trace", "t").header("original-topic", topic.clone()).header("error", "x"),
        ProducerRecord::new(&dlq_topic).partition(1).key("b").value("two").header("original-topic", topic.clone()).header("retry-count", "3"),
    ])
    .await;
    let report = dlq::replay(&p, &dlq_topic, None).await.unwrap();
    assert_eq!(report.total(), 2);
    assert_eq!(report.written.get(&topic), Some(&2));
    type Row = (String, String, Vec<(String, String)>);
    let mut back: Vec<Row> = records_of(&topic).await.iter().map(|r| (text(&r.key), text(&r.value), headers_of(r))).collect();
    back.sort();
    assert_eq!(back, [("a".into(), "one".into(), vec![("trace".into(), "t".into())]), ("b".into(), "two".into(), vec![])]);

    // To another topic; and a record without original-topic refuses a replay with no --to.
    let other = common::unique_topic("dlq-replay-to");
    new_topic(&other, 1).await;
    send(&p, vec![ProducerRecord::new(&dlq_topic).partition(0).value("orphan")]).await;
    let err = dlq::replay(&p, &dlq_topic, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("original-topic"), "{err}");
    assert_eq!(dlq::replay(&p, &dlq_topic, Some(&other)).await.unwrap().total(), 3);
    assert_eq!(records_of(&other).await.len(), 3);
    let missing = dlq::replay(&p, &common::unique_topic("dlq-absent"), None).await.unwrap_err();
    assert_eq!(missing.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_during_the_wait_does_not_skip_the_record_to_retry() {
    let topic = common::unique_topic("dlq-rebalance");
    let other = common::unique_topic("dlq-rebalance-other");
    for t in [&topic, &other, &format!("{topic}-dlq")] {
        new_topic(t, 1).await;
    }
    send(&producer(&[]), vec![ProducerRecord::new(&topic).value("bad"), ProducerRecord::new(&topic).value("after")]).await;
    let c = consumer(&common::unique_topic("dlq-group"));
    c.subscribe(std::slice::from_ref(&topic)).unwrap();
    let policy = RetryPolicy { max_retries: 1, initial_backoff: Duration::from_millis(4000), max_backoff: Duration::from_millis(4000), ..Default::default() };
    let q = DeadLetterQueue::new(policy, producer(&[])).unwrap();
    let mut seen = Vec::new();
    run(&c, &q, async |r: &ConsumerRecord| {
        let v = text(&r.value);
        seen.push(v.clone());
        if v == "bad" {
            if let Outcome::Retry { .. } = q.failed(&c, r, &Failure::new("no", "Error")).await.unwrap() {
                // A new subscription: the group rebalances and gives the partition back, not paused.
                c.subscribe(&[topic.clone(), other.clone()]).unwrap();
            }
            return false;
        }
        q.succeeded(&c, &r.topic_partition(), r.offset);
        true
    })
    .await;
    assert_eq!(seen, ["bad", "bad", "after"]);
    assert_eq!(records_of(&format!("{topic}-dlq")).await.len(), 1);
    c.close().await.unwrap();
}
