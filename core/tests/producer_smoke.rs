//! Producer against the real broker: delivery reports, ordering, typed errors.

mod common;

use std::time::{Duration, Instant};

use polykafka::producer::Producer;
use polykafka::{ErrorKind, ProducerConfig, ProducerRecord};

fn producer(extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("bootstrap.servers".to_string(), common::bootstrap())];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_in_order_with_offsets() {
    let p = producer(&[]);
    let topic = common::unique_topic("smoke");
    let mut futures = Vec::new();
    for i in 0..2_000 {
        let rec = ProducerRecord::new(&topic).key(format!("k{}", i % 7)).value(format!("v{i}")).header("h", "x").header("h", "y");
        futures.push(p.send(rec).await.unwrap());
    }
    p.flush(Duration::from_secs(30)).await.unwrap();
    let mut last: std::collections::HashMap<i32, i64> = Default::default();
    for f in futures {
        let md = f.await.unwrap();
        assert_eq!(md.topic, topic);
        let prev = last.insert(md.partition, md.offset);
        if let Some(prev) = prev {
            assert_eq!(md.offset, prev + 1, "offsets within a partition follow send order");
        }
    }
    assert_eq!(p.in_flight_count(), 0);
    p.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_call_has_one_completion() {
    let p = producer(&[("linger.ms", "20"), ("compression.type", "zstd")]);
    let topic = common::unique_topic("batch");
    let records: Vec<_> = (0..10_000).map(|i| ProducerRecord::new(&topic).value(format!("value-{i}"))).collect();
    let results = p.send_batch(records).await.unwrap().await;
    assert_eq!(results.len(), 10_000);
    assert!(results.iter().all(|r| r.is_ok()), "{:?}", results.iter().find(|r| r.is_err()));
    p.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_larger_than_max_request_size_fails_alone() {
    let p = producer(&[("max.request.size", "10000")]);
    let topic = common::unique_topic("large");
    let ok1 = p.send(ProducerRecord::new(&topic).value("small")).await.unwrap();
    let err = p.send(ProducerRecord::new(&topic).value(vec![0u8; 20_000])).await.err().expect("too large");
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge, "{err}");
    assert!(err.message().contains("max.request.size"), "{err}");
    let ok2 = p.send(ProducerRecord::new(&topic).value("small")).await.unwrap();
    assert!(ok1.await.is_ok());
    assert!(ok2.await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_without_auto_creation() {
    let p = producer(&[("allow.auto.create.topics", "false"), ("max.block.ms", "3000")]);
    let topic = common::unique_topic("missing");
    let err = p.send(ProducerRecord::new(&topic).value("x")).await.err().expect("unknown topic");
    assert_eq!(err.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{err}");
    assert!(err.message().contains(&topic), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_bootstrap_is_a_connection_error() {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("max.block.ms", "2000"),
        ("socket.connection.setup.timeout.ms", "1000"),
    ])
    .unwrap();
    let p = Producer::new(config).unwrap();
    let start = Instant::now();
    let err = p.send(ProducerRecord::new("t").value("x")).await.err().expect("no broker");
    assert!(matches!(err.kind(), ErrorKind::Connection | ErrorKind::Timeout), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// A record under max.request.size but over the topic's max.message.bytes: the broker refuses
/// its whole batch; the producer splits the batch and only that record fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_over_the_brokers_limit_fails_alone_in_its_batch() {
    use polykafka::admin::{Admin, NewTopic};
    use polykafka::AdminConfig;
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    let topic = common::unique_topic("broker-limit");
    admin.create_topics(&[NewTopic::new(&topic, 1, 1).config("max.message.bytes", "3000")], false).await.unwrap();
    let p = producer(&[("linger.ms", "200")]);
    let mut records: Vec<ProducerRecord> = (0..5).map(|i| ProducerRecord::new(&topic).value(format!("small-{i}"))).collect();
    records.insert(2, ProducerRecord::new(&topic).value(vec![b'x'; 6000]));
    let results = p.send_batch(records).await.unwrap().await;
    assert_eq!(results.len(), 6);
    let err = results[2].as_ref().expect_err("the large record fails");
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge, "{err}");
    assert_eq!(err.name(), "MESSAGE_TOO_LARGE", "{err}");
    let offsets: Vec<i64> = results.iter().enumerate().filter(|(i, _)| *i != 2).map(|(_, r)| r.as_ref().unwrap().offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4], "the others are delivered, in order");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// A full buffer: `send_with(.., block = false)` fails at once with QueueFull; a blocking send
/// waits max.block.ms and then fails the same way; nothing queued is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_buffer_is_a_queue_full_error() {
    use polykafka::producer::Completion;
    // A long linger and a large batch keep everything buffered until the flush.
    let p = Producer::new(
        ProducerConfig::from_properties([
            ("bootstrap.servers", common::bootstrap().as_str()),
            ("buffer.memory", "4096"),
            ("max.block.ms", "300"),
            ("linger.ms", "60000"),
            ("batch.size", "1000000"),
        ])
        .unwrap(),
    )
    .unwrap();
    let topic = common::unique_topic("full");
    let mut queued = Vec::new();
    let mut full = None;
    for i in 0..100 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match p.send_with(ProducerRecord::new(&topic).value(vec![b'v'; 200]).key(i.to_string()), Completion::Oneshot(tx), false).await {
            Ok(()) => queued.push(rx),
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let err = full.expect("4 KiB fill up");
    assert_eq!(err.kind(), ErrorKind::QueueFull, "{err}");
    assert!(err.message().contains("buffer.memory"), "{err}");
    let err = p.send(ProducerRecord::new(&topic).value(vec![b'v'; 200])).await.err().expect("blocking send also fails");
    assert_eq!(err.kind(), ErrorKind::QueueFull, "{err}");
    // Everything that was queued is delivered once flushed.
    p.flush(Duration::from_secs(30)).await.unwrap();
    for rx in queued {
        rx.await.unwrap().unwrap();
    }
}

/// One batch call mixing good records (two topics, alternating; explicit partitions and the
/// partitioner; own and default timestamps), records that cannot be queued (no topic, a
/// partition the topic lacks, too large) and a topic whose metadata is not cached yet (the
/// waiting path): every slot gets its own result, in order, and the good records are written in
/// send order per partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_batch_gets_one_result_per_record() {
    use polykafka::admin::Admin;
    use polykafka::AdminConfig;
    let p = producer(&[("max.request.size", "10000")]);
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    let (a, b) = (common::unique_topic("mixed-a"), common::unique_topic("mixed-b"));
    admin.create_topic(&a, 2, 1).await.unwrap();
    admin.create_topic(&b, 1, 1).await.unwrap();
    // Warm `a` only: `b` is first met inside the batch.
    p.send(ProducerRecord::new(&a).partition(0).value("warm")).await.unwrap().await.unwrap();
    let mut records = Vec::new();
    let mut expect = Vec::new(); // None: an error of this kind is expected
    for i in 0..300 {
        let (rec, err) = match i % 10 {
            3 => (ProducerRecord::new("").value("no topic"), Some(ErrorKind::InvalidArgument)),
            5 => (ProducerRecord::new(&a).partition(7).value("no such partition"), Some(ErrorKind::Broker)),
            7 => (ProducerRecord::new(&b).value(vec![0u8; 20_000]), Some(ErrorKind::MessageTooLarge)),
            n if n % 2 == 0 => (ProducerRecord::new(&a).partition((i / 2 % 2) as i32).value(format!("a{i}")).timestamp(1_000_000 + i as i64), None),
            _ => (ProducerRecord::new(&b).key(format!("k{i}")).value(format!("b{i}")), None),
        };
        records.push(rec);
        expect.push(err);
    }
    let results = p.send_batch(records).await.unwrap().await;
    assert_eq!(results.len(), 300);
    let mut last: std::collections::HashMap<(String, i32), i64> = Default::default();
    for (i, (r, want)) in results.iter().zip(&expect).enumerate() {
        match (r, want) {
            (Ok(md), None) => {
                assert_eq!(&md.topic, if i % 2 == 0 { &a } else { &b }, "record {i}");
                if i % 2 == 0 {
                    assert_eq!((md.partition, md.timestamp), ((i / 2 % 2) as i32, 1_000_000 + i as i64), "record {i}");
                }
                if let Some(prev) = last.insert((md.topic.clone(), md.partition), md.offset) {
                    assert!(md.offset > prev, "record {i}: offsets follow send order within a partition");
                }
            }
            (Err(e), Some(kind)) => assert_eq!(e.kind(), *kind, "record {i}: {e}"),
            _ => panic!("record {i}: got {r:?}, expected an error: {want:?}"),
        }
    }
    p.close(Duration::from_secs(5)).await.unwrap();
    admin.close().await;
}

/// send_now() makes the batches queued so far go out without waiting for linger.ms and returns
/// at once; a record produced after it lingers as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_sends_what_is_queued_without_waiting() {
    let p = producer(&[("linger.ms", "600000"), ("delivery.timeout.ms", "900000")]);
    let topic = common::unique_topic("sendnow");
    // The topic's metadata is known from here on: the next record goes straight into a batch.
    let first = p.send(ProducerRecord::new(&topic).value("first")).await.unwrap();
    p.flush(Duration::from_secs(30)).await.unwrap();
    first.await.unwrap();

    let queued = p.send(ProducerRecord::new(&topic).value("queued")).await.unwrap();
    p.send_now();
    let md = tokio::time::timeout(Duration::from_secs(30), queued)
        .await
        .expect("the record queued before send_now() is delivered long before linger.ms (10 min)")
        .unwrap();
    assert_eq!(md.offset, 1);

    let later = p.send(ProducerRecord::new(&topic).value("later")).await.unwrap();
    let mut later = Box::pin(later);
    assert!(
        tokio::time::timeout(Duration::from_secs(2), &mut later).await.is_err(),
        "a record produced after send_now() lingers"
    );
    p.close(Duration::from_secs(30)).await.unwrap();
    assert_eq!(later.await.unwrap().offset, 2);
}
