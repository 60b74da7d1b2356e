//! Network faults between the client and the broker, through the fault proxy (tests/system/src/proxy.rs), on a
//! one-node cluster started here whose PROXIED listener advertises the proxy. Each test checks what reached the
//! broker by reading it back over the direct PLAINTEXT listener.
//! - an idempotent producer (acks=all) while every connection is reset every 300 ms: every record acknowledged,
//!   each present exactly once, in send order per partition;
//! - responses cut in the middle of a frame: the client sees a connection error and retries; the records are
//!   written exactly once and nothing wrong is decoded;
//! - the broker black-holed for longer than the request timeout, then back: the sends complete afterwards;
//! - latency, jitter and a bandwidth limit, then new connections refused for 2 s: nothing lost or doubled.

use std::sync::Arc;
use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ProducerRecord};
use polykafka_system_tests::proxy::{FaultProxy, Faults};
use polykafka_system_tests::{idempotent_producer, numbers_in, unique, TestCluster};

const PARTITIONS: i32 = 3;

fn producer(bootstrap: &str) -> Producer {
    idempotent_producer(bootstrap, "3000", &[("retry.backoff.ms", "50"), ("reconnect.backoff.ms", "20")])
}

/// Sends `count` records numbered from `first` (value = number, partition = number % PARTITIONS) in batches of
/// `batch`, `pace` apart; returns the delivery failures.
async fn send_numbered(producer: &Producer, topic: &str, first: usize, count: usize, batch: usize, pace: Duration) -> Vec<String> {
    let mut deliveries = Vec::new();
    for start in (first..first + count).step_by(batch) {
        let records = (start..(start + batch).min(first + count))
            .map(|i| ProducerRecord::new(topic).partition((i % PARTITIONS as usize) as i32).value(i.to_string()))
            .collect();
        deliveries.push(producer.send_batch(records).await.expect("the batch is queued"));
        tokio::time::sleep(pace).await;
    }
    let mut failures = Vec::new();
    for d in deliveries {
        failures.extend(d.await.into_iter().filter_map(|r| r.err().map(|e| e.to_string())));
    }
    failures
}

/// Reads the topic back over the direct listener: each partition must hold exactly the numbers 0..total that
/// belong to it, once each, in send order.
async fn assert_exactly_once_in_order(direct: &str, topic: &str, total: usize) {
    for p in 0..PARTITIONS {
        let values = numbers_in(direct, topic, p).await;
        let expected: Vec<usize> = (0..total).filter(|i| i % PARTITIONS as usize == p as usize).collect();
        assert_eq!(values.len(), expected.len(), "partition {p}: {} records, expected {}", values.len(), expected.len());
        assert_eq!(values, expected, "partition {p} holds every record once, in send order");
    }
}

/// Clears every fault after `after`.
async fn heal_after(proxy: &FaultProxy, after: Duration) {
    tokio::time::sleep(after).await;
    proxy.set(Faults::default());
}

async fn topic(direct: &str) -> String {
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", direct)]).unwrap()).unwrap();
    let topic = unique("proxy");
    admin.create_topic(&topic, PARTITIONS, 1).await.unwrap();
    topic
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_lose_and_duplicate_nothing() {
    polykafka_system_tests::init_logs();
    let cluster = TestCluster::start_proxied("proxyfaults", 1, 10392, 1000);
    let direct = cluster.bootstrap();
    let proxy = Arc::new(cluster.proxies().await.remove(0));

    // 1. Every connection reset every 300 ms while 60,000 records are produced over about 4 s.
    let topic1 = topic(&direct).await;
    let producer1 = producer(&cluster.proxy_bootstrap());
    let resetter = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.reset_all();
            }
        })
    };
    let failures = send_numbered(&producer1, &topic1, 0, 60_000, 500, Duration::from_millis(30)).await;
    resetter.abort();
    assert!(failures.is_empty(), "{} records failed through resets, first: {}", failures.len(), failures[0]);
    producer1.close(Duration::from_secs(30)).await.unwrap();
    let resets = proxy.counts().resets;
    assert!(resets >= 5, "only {resets} connections were reset: the test did not exercise resets");
    assert_exactly_once_in_order(&direct, &topic1, 60_000).await;

    // 2. Responses cut in the middle: before each of 15 batches the next broker-to-client chunk is cut.
    let topic2 = topic(&direct).await;
    let producer2 = producer(&cluster.proxy_bootstrap());
    let cuts_before = proxy.counts().cuts;
    let mut failures = Vec::new();
    for i in 0..15 {
        proxy.cut_next_response();
        failures.extend(send_numbered(&producer2, &topic2, i * 300, 300, 300, Duration::ZERO).await);
    }
    let cuts = proxy.counts().cuts - cuts_before;
    assert!(failures.is_empty(), "{} records failed through cut responses, first: {}", failures.len(), failures[0]);
    assert!(cuts >= 10, "only {cuts} responses were cut");
    producer2.close(Duration::from_secs(30)).await.unwrap();
    assert_exactly_once_in_order(&direct, &topic2, 15 * 300).await;

    // 3. The broker black-holed for 5 s (request.timeout.ms is 3 s) while a batch is sent, then reachable again.
    let topic3 = topic(&direct).await;
    let producer3 = producer(&cluster.proxy_bootstrap());
    assert!(send_numbered(&producer3, &topic3, 0, 300, 300, Duration::ZERO).await.is_empty());
    proxy.set(Faults { black_hole: true, ..Faults::default() });
    let healer = heal_after(&proxy, Duration::from_secs(5));
    let (failures, ()) = tokio::join!(send_numbered(&producer3, &topic3, 300, 3000, 300, Duration::ZERO), healer);
    assert!(failures.is_empty(), "{} records failed through a black hole, first: {}", failures.len(), failures[0]);
    producer3.close(Duration::from_secs(30)).await.unwrap();
    assert_exactly_once_in_order(&direct, &topic3, 3300).await;

    // 4. Added latency with jitter and a bandwidth limit, then new connections refused for 2 s after every open
    //    one is reset: the records still arrive, exactly once.
    let topic4 = topic(&direct).await;
    let producer4 = producer(&cluster.proxy_bootstrap());
    proxy.set(Faults { latency: Duration::from_millis(40), jitter: Duration::from_millis(20), bandwidth: Some(256 * 1024), ..Faults::default() });
    assert!(send_numbered(&producer4, &topic4, 0, 3000, 300, Duration::ZERO).await.is_empty());
    let refused_before = proxy.counts().refused;
    proxy.set(Faults { refuse: true, ..Faults::default() });
    proxy.reset_all();
    let healer = heal_after(&proxy, Duration::from_secs(2));
    let (failures, ()) = tokio::join!(send_numbered(&producer4, &topic4, 3000, 3000, 300, Duration::ZERO), healer);
    assert!(failures.is_empty(), "{} records failed through refused connections, first: {}", failures.len(), failures[0]);
    producer4.close(Duration::from_secs(30)).await.unwrap();
    assert_exactly_once_in_order(&direct, &topic4, 6000).await;
    let counts = proxy.counts();
    eprintln!("proxy: {counts:?}");
    assert!(counts.refused > refused_before, "no connection was refused: {counts:?}");
    assert!(counts.accepted > counts.resets, "every connection went through the proxy: {counts:?}");
}
