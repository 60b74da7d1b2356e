//! `Producer::enqueue_each`, the send that never waits (confluent-kafka's `produce()`), against
//! the real broker and an address where nothing listens: it returns at once, counts what it
//! holds, and every record completes through its completion, with the error that says why.

mod common;

use std::time::{Duration, Instant};

use polykafka::producer::{Completion, Producer};
use polykafka::{ErrorKind, ProducerConfig, ProducerRecord, RecordMetadata};
use tokio::sync::oneshot;

fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("bootstrap.servers".to_string(), bootstrap.to_string())];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

type Outcome = oneshot::Receiver<polykafka::Result<RecordMetadata>>;

/// Enqueues `records`; returns the receivers of the queued ones and the rejected errors.
fn enqueue(p: &Producer, records: Vec<ProducerRecord>) -> (Vec<Outcome>, Vec<(usize, polykafka::Error)>) {
    let mut outcomes = Vec::new();
    let mut rejected = Vec::new();
    let items: Vec<_> = records
        .into_iter()
        .map(|r| {
            let (tx, rx) = oneshot::channel();
            outcomes.push(rx);
            (r, Completion::Oneshot(tx))
        })
        .collect();
    p.enqueue_each(items, |i, e| rejected.push((i, e))).unwrap();
    let rejected_idx: Vec<usize> = rejected.iter().map(|(i, _)| *i).collect();
    let outcomes = outcomes.into_iter().enumerate().filter(|(i, _)| !rejected_idx.contains(i)).map(|(_, o)| o).collect();
    (outcomes, rejected)
}

/// A local port where nothing listens.
fn dead_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_topic_returns_at_once_and_fails_through_the_completion() {
    let p = producer(&common::bootstrap(), &[("allow.auto.create.topics", "false"), ("delivery.timeout.ms", "3000"), ("linger.ms", "0"), ("request.timeout.ms", "2000")]);
    let topic = common::unique_topic("nowait-missing");
    let start = Instant::now();
    let (outcomes, rejected) = enqueue(&p, vec![ProducerRecord::new(&topic).value("x")]);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(start.elapsed() < Duration::from_millis(500), "enqueue waited {:?}", start.elapsed());
    assert_eq!(p.in_flight_count(), 1, "the waiting record is counted");
    // flush waits for it, and it ends by delivery.timeout.ms.
    p.flush(Duration::from_secs(20)).await.unwrap();
    assert_eq!(p.in_flight_count(), 0);
    let err = outcomes.into_iter().next().unwrap().await.unwrap().expect_err("the topic does not exist");
    assert_eq!(err.code(), polykafka::error::UNKNOWN_TOPIC_OR_PARTITION, "{err}");
    assert!(!err.retriable());
    // Each fact once.
    assert_eq!(err.to_string().matches(&format!("'{topic}'")).count(), 1, "{err}");
    assert!(err.message().contains("allow.auto.create.topics is false"), "{err}");
    p.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_bootstrap_queues_then_times_out() {
    let p = producer(&dead_address(), &[("delivery.timeout.ms", "4000"), ("linger.ms", "0"), ("request.timeout.ms", "2000")]);
    let start = Instant::now();
    let (outcomes, rejected) = enqueue(&p, (0..5).map(|i| ProducerRecord::new("t").value(format!("v{i}"))).collect());
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(start.elapsed() < Duration::from_millis(500), "enqueue waited {:?}", start.elapsed());
    assert_eq!(p.in_flight_count(), 5);
    let err = p.flush(Duration::from_secs(1)).await.expect_err("nothing can be delivered");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(p.in_flight_count(), 5, "still queued after a short flush");
    p.flush(Duration::from_secs(20)).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(3900), "failed before delivery.timeout.ms: {:?}", start.elapsed());
    for o in outcomes {
        let err = o.await.unwrap().expect_err("no broker");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.message().contains("last error"), "the cause is named: {err}");
    }
    assert_eq!(p.in_flight_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_wait_for_a_new_topic_in_order() {
    // The topic is created by the first metadata request (auto-create on): records queued
    // before it exists are delivered in order, before those queued after.
    let p = producer(&common::bootstrap(), &[("linger.ms", "0")]);
    let topic = common::unique_topic("nowait-order");
    let (first, rejected) = enqueue(&p, (0..100).map(|i| ProducerRecord::new(&topic).partition(0).value(format!("{i}"))).collect());
    assert!(rejected.is_empty());
    let mut offsets = Vec::new();
    for o in first {
        offsets.push(o.await.unwrap().unwrap().offset);
    }
    let (later, _) = enqueue(&p, (100..200).map(|i| ProducerRecord::new(&topic).partition(0).value(format!("{i}"))).collect());
    for o in later {
        offsets.push(o.await.unwrap().unwrap().offset);
    }
    assert_eq!(offsets, (0..200).collect::<Vec<i64>>());
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// Records sent one by one, without pause, to a topic whose metadata a fresh producer does not
/// have yet: the first ones wait for it, and the later ones must not overtake them while they are
/// being appended (a send that found no waiting list any more, but the waiting records not yet
/// appended, once wrote later records first: an idempotent producer's partition out of order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sent_while_the_waiting_ones_are_appended_keep_their_order() {
    let topic = common::unique_topic("nowait-race");
    let admin = polykafka::admin::Admin::new(polykafka::AdminConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str())]).unwrap()).unwrap();
    admin.create_topics(&[polykafka::admin::NewTopic::new(topic.as_str(), 1, 1)], false).await.unwrap();
    for round in 0..5 {
        let p = producer(&common::bootstrap(), &[("linger.ms", "5"), ("enable.idempotence", "true")]);
        let sender = {
            let (p, topic) = (p.clone(), topic.clone());
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                for i in 0..20_000 {
                    let (mut o, rejected) = enqueue(&p, vec![ProducerRecord::new(&topic).partition(0).value(format!("{i}"))]);
                    assert!(rejected.is_empty(), "{rejected:?}");
                    outcomes.append(&mut o);
                }
                outcomes
            })
        };
        let outcomes = tokio::task::spawn_blocking(move || sender.join().unwrap()).await.unwrap();
        let mut last = -1;
        for (i, o) in outcomes.into_iter().enumerate() {
            let offset = o.await.unwrap().unwrap().offset;
            assert!(offset > last, "round {round}: record {i} written at offset {offset}, before the record sent ahead of it (at {last})");
            last = offset;
        }
        p.close(Duration::from_secs(5)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_count_bound_gives_queue_full() {
    let p = producer(&dead_address(), &[("queue.buffering.max.messages", "10"), ("delivery.timeout.ms", "3000"), ("linger.ms", "0"), ("request.timeout.ms", "2000")]);
    let (outcomes, rejected) = enqueue(&p, (0..15).map(|i| ProducerRecord::new("t").value(format!("{i}"))).collect());
    assert_eq!(outcomes.len(), 10);
    assert_eq!(rejected.len(), 5);
    assert!(rejected.iter().all(|(_, e)| e.kind() == ErrorKind::QueueFull), "{rejected:?}");
    assert!(rejected[0].1.message().contains("queue.buffering.max.messages"), "{}", rejected[0].1);
    // Room again once records complete (here: fail at delivery.timeout.ms).
    p.flush(Duration::from_secs(20)).await.unwrap();
    let (again, rejected) = enqueue(&p, vec![ProducerRecord::new("t").value("x")]);
    assert!(rejected.is_empty());
    assert_eq!(again.len(), 1);
    p.purge(true, false);
    let err = again.into_iter().next().unwrap().await.unwrap().unwrap_err();
    assert!(err.purged_in_queue(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_in_flight_reports_purged_whatever_the_broker_says() {
    let p = producer(&common::bootstrap(), &[("linger.ms", "0")]);
    let topic = common::unique_topic("nowait-purge");
    // Warm the metadata so the next records go out at once.
    let (warm, _) = enqueue(&p, vec![ProducerRecord::new(&topic).value("warm")]);
    warm.into_iter().next().unwrap().await.unwrap().unwrap();
    let (outcomes, _) = enqueue(&p, (0..50).map(|i| ProducerRecord::new(&topic).value(format!("{i}"))).collect());
    p.purge(true, true);
    // Records completed before the purge keep their result; every other one is purged, even
    // when the broker answers its request later.
    let mut pending = Vec::new();
    for mut o in outcomes {
        match o.try_recv() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => assert!(e.purged_in_queue() || e.purged_in_flight(), "{e}"),
            Err(_) => pending.push(o),
        }
    }
    p.flush(Duration::from_secs(10)).await.unwrap();
    for o in pending {
        match o.await.unwrap() {
            Err(e) => assert!(e.purged_in_flight(), "{e}"),
            Ok(md) => panic!("a record in flight at purge(in_flight) was reported written at {}", md.offset),
        }
    }
    // Records after the purge are not affected.
    let (after, _) = enqueue(&p, vec![ProducerRecord::new(&topic).value("after")]);
    after.into_iter().next().unwrap().await.unwrap().unwrap();
    p.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_count_waits_or_fails_fast() {
    let p = producer(&common::bootstrap(), &[("allow.auto.create.topics", "false"), ("max.block.ms", "3000")]);
    let topic = common::unique_topic("count");
    let admin = polykafka::admin::Admin::new(polykafka::AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topics(&[polykafka::admin::NewTopic::new(&topic, 4, 1)], false).await.unwrap();
    assert_eq!(p.partition_count(&topic, false).await.unwrap(), 4);
    let parts = p.partitions_for(&topic, false).await.unwrap();
    assert_eq!(parts.iter().map(|m| m.partition).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    assert!(parts.iter().all(|m| m.leader >= 0 && !m.replicas.is_empty()), "{parts:?}");
    let missing = common::unique_topic("count-missing");
    let start = Instant::now();
    let e = p.partition_count(&missing, true).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "fail_fast waited {:?}", start.elapsed());
    assert_eq!(e.code(), polykafka::error::UNKNOWN_TOPIC_OR_PARTITION, "{e}");
    let start = Instant::now();
    let e = p.partition_count(&missing, false).await.unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(2500), "waited max.block.ms: {:?}", start.elapsed());
    assert!(e.message().contains("does not exist"), "{e}");
    let dead = producer(&dead_address(), &[("max.block.ms", "3000")]);
    let start = Instant::now();
    let e = dead.partition_count("t", true).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "fail_fast waited {:?}", start.elapsed());
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(p.partition_count("", false).await.unwrap_err().kind() == ErrorKind::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_can_share_connections() {
    let boot = common::bootstrap();
    let first = producer(&boot, &[]);
    let cfg = |extra: &[(&str, &str)]| {
        let mut props = vec![("bootstrap.servers".to_string(), boot.clone())];
        props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ProducerConfig::from_properties(props).unwrap()
    };
    let second = Producer::sharing_connections(cfg(&[("acks", "1"), ("compression.type", "zstd")]), &first).unwrap();
    assert_eq!(second.config().acks, polykafka::config::Acks::Leader);
    let e = Producer::sharing_connections(cfg(&[("client.id", "other")]), &first).err().expect("other connection settings");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    let topic = common::unique_topic("shared");
    let a = first.send(ProducerRecord::new(&topic).partition(0).value("a")).await.unwrap().await.unwrap();
    let b = second.send(ProducerRecord::new(&topic).partition(0).value("b")).await.unwrap().await.unwrap();
    assert_eq!(b.offset, a.offset + 1);
    // Closing one leaves the connections to the other.
    second.close(Duration::from_secs(5)).await.unwrap();
    let c = first.send(ProducerRecord::new(&topic).partition(0).value("c")).await.unwrap().await.unwrap();
    assert_eq!(c.offset, b.offset + 1);
    first.close(Duration::from_secs(5)).await.unwrap();
}
