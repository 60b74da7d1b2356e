//! Statistics snapshots (librdkafka's layout) against the real broker: the counts match what
//! was produced and consumed, brokers report round trips, partitions report offsets and lag.

mod common;

use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, CommitMode, Consumer, ConsumerConfig, ProducerConfig, ProducerRecord};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);

async fn new_topic(partitions: i32) -> String {
    let topic = common::unique_topic("stats");
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topic(&topic, partitions, 1).await.unwrap();
    topic
}

fn producer() -> Producer {
    Producer::new(ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str()), ("client.id", "stats-test")]).unwrap()).unwrap()
}

/// Sends `n` records of 10-byte values to `partition` and waits for them.
async fn produce(p: &Producer, topic: &str, partition: i32, n: usize) {
    let records: Vec<ProducerRecord> = (0..n).map(|i| ProducerRecord::new(topic).partition(partition).value(format!("value-{i:04}"))).collect();
    let results = p.send_batch(records).await.unwrap().await;
    assert!(results.iter().all(|r| r.is_ok()), "{:?}", results.iter().find(|r| r.is_err()));
}

fn part<'a>(s: &'a Value, topic: &str, partition: i32) -> &'a Value {
    &s["topics"][topic]["partitions"][partition.to_string()]
}

/// The brokers that are real nodes (not bootstrap addresses).
fn nodes(s: &Value) -> Vec<&Value> {
    s["brokers"].as_object().unwrap().values().filter(|b| b["nodeid"].as_i64().unwrap() >= 0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_snapshot_counts_deliveries_per_partition_and_broker_round_trips() {
    let topic = new_topic(2).await;
    let p = producer();
    produce(&p, &topic, 0, 12).await;
    produce(&p, &topic, 1, 8).await;
    // Records count as queued until their completion ran (as librdkafka's until their delivery
    // report was served): flush waits for that.
    p.flush(T).await.unwrap();
    let s = p.stats();
    assert_eq!(s["type"], "producer");
    assert_eq!(s["client_id"], "stats-test");
    assert_eq!(s["txmsgs"], 20);
    assert!(s["txmsg_bytes"].as_u64().unwrap() >= 20 * 10, "{}", s["txmsg_bytes"]);
    assert_eq!((s["msg_cnt"].as_u64(), s["msg_size"].as_u64()), (Some(0), Some(0)), "nothing left queued");
    assert_eq!(part(&s, &topic, 0)["txmsgs"], 12);
    assert_eq!(part(&s, &topic, 1)["txmsgs"], 8);
    assert!(s["tx"].as_u64().unwrap() >= 3 && s["rx"].as_u64().unwrap() >= 3, "metadata and produce requests: {s}");
    let brokers = nodes(&s);
    assert!(!brokers.is_empty(), "no node among the brokers: {}", s["brokers"]);
    for b in &brokers {
        assert_eq!(b["state"], "UP");
        assert!(b["connects"].as_u64().unwrap() >= 1);
        assert_eq!(b["waitresp_cnt"], 0);
        let rtt = &b["rtt"];
        assert!(rtt["cnt"].as_u64().unwrap() >= 1, "{rtt}");
        assert!(rtt["min"].as_u64().unwrap() <= rtt["p50"].as_u64().unwrap() && rtt["p50"].as_u64().unwrap() <= rtt["max"].as_u64().unwrap(), "{rtt}");
    }
    let produce_requests: u64 = brokers.iter().map(|b| b["throttle"]["cnt"].as_u64().unwrap()).sum();
    assert!(produce_requests >= 2, "each produce response reports its throttle time: {s}");
    // The windows since the last take: every batch (two sends of one partition each) with its
    // records and bytes, a round trip per Produce request, the connections made; then empty.
    let w = p.take_stats_windows();
    assert_eq!(w["batch_msgs"]["sum"], 20, "{w}");
    assert!(w["batch_msgs"]["count"].as_u64().unwrap() >= 2 && w["batch_msgs"]["max"].as_u64().unwrap() >= 8, "{w}");
    // Record batches as written (61 bytes of batch header each, then the records).
    let batches = w["batch_msgs"]["count"].as_u64().unwrap();
    assert!(w["batch_bytes"]["sum"].as_u64().unwrap() >= 20 * 10 + batches * 61, "{w}");
    assert_eq!(w["batch_bytes"]["count"], batches, "{w}");
    assert_eq!(w["batch_us"]["count"], w["batch_msgs"]["count"], "{w}");
    assert_eq!(w["batch_queue_us"]["count"], w["batch_msgs"]["count"], "{w}");
    assert!(w["batch_us"]["min"].as_u64().unwrap() >= w["batch_queue_us"]["min"].as_u64().unwrap(), "queued, then written: {w}");
    assert_eq!(w["produce_us"]["count"], produce_requests, "{w}");
    assert!(w["produce_us"]["max"].as_u64().unwrap() > 0, "{w}");
    assert_eq!(w["throttle_ms"]["count"], produce_requests, "{w}");
    assert!(w["connect_us"]["count"].as_u64().unwrap() >= 2 && w["connect_us"]["min"].as_u64().unwrap() > 0, "bootstrap and node: {w}");
    assert_eq!(w["retries"], 0, "{w}");
    let again = p.take_stats_windows();
    for k in ["batch_msgs", "batch_us", "produce_us", "connect_us"] {
        assert_eq!(again[k]["count"], 0, "{k} since the last take: {again}");
    }
    produce(&p, &topic, 1, 3).await;
    assert_eq!(p.take_stats_windows()["batch_msgs"]["sum"], 3);
    // Snapshots are JSON text a librdkafka parser reads.
    let text = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["txmsgs"], 20);
    p.close(T).await.unwrap();
    let s = p.stats();
    for b in nodes(&s) {
        assert_eq!(b["state"], "DOWN", "closed: {b}");
        assert!(b["disconnects"].as_u64().unwrap() >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_snapshot_reports_positions_committed_offsets_lag_and_group() {
    let topic = new_topic(2).await;
    let p = producer();
    produce(&p, &topic, 0, 10).await;
    produce(&p, &topic, 1, 6).await;
    let group = common::unique_topic("stats-group");
    let c = Consumer::new(
        ConsumerConfig::from_properties([
            ("bootstrap.servers", common::bootstrap().as_str()),
            ("group.id", group.as_str()),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
            ("fetch.max.wait.ms", "100"),
        ])
        .unwrap(),
    )
    .unwrap();
    c.subscribe(&[topic.clone()]).unwrap();
    let mut got = 0;
    let deadline = Instant::now() + T;
    while got < 16 && Instant::now() < deadline {
        got += c.poll_batch(16 - got, Duration::from_millis(500)).await.unwrap().len();
    }
    assert_eq!(got, 16);
    c.commit(None, CommitMode::Sync).await.unwrap();
    let s = c.stats();
    assert_eq!(s["type"], "consumer");
    assert_eq!(s["rxmsgs"], 16);
    assert_eq!(s["txmsgs"], 0);
    for (partition, n) in [(0, 10), (1, 6)] {
        let ps = part(&s, &topic, partition);
        assert_eq!(ps["rxmsgs"], n, "{ps}");
        assert_eq!(ps["hi_offset"], n, "{ps}");
        assert_eq!(ps["app_offset"], n, "{ps}");
        assert_eq!(ps["committed_offset"], n, "{ps}");
        assert_eq!(ps["consumer_lag"], 0, "{ps}");
        assert_eq!(ps["fetch_state"], "active", "{ps}");
    }
    let cgrp = &s["cgrp"];
    assert_eq!(cgrp["state"], "up", "{cgrp}");
    assert_eq!(cgrp["assignment_size"], 2, "{cgrp}");
    assert!(cgrp["rebalance_cnt"].as_u64().unwrap() >= 1, "{cgrp}");
    assert!(nodes(&s).iter().all(|b| b["rtt"]["cnt"].as_u64().unwrap() >= 1));
    let w = c.take_stats_windows();
    assert_eq!(w["fetch_msgs"]["sum"], 16, "{w}");
    assert_eq!(w["fetch_bytes"]["sum"], 16 * 10, "keys and values: {w}");
    assert_eq!(w["fetch_read_us"]["count"], w["fetch_msgs"]["count"], "one per partition of a response: {w}");
    assert!(w["fetch_wait_us"]["count"].as_u64().unwrap() >= 1 && w["connect_us"]["count"].as_u64().unwrap() >= 1, "{w}");
    assert_eq!(c.take_stats_windows()["connect_us"]["count"], 0);

    // Four more records on partition 0, fetched but neither polled nor committed: lag 4.
    produce(&p, &topic, 0, 4).await;
    let deadline = Instant::now() + T;
    let s = loop {
        let s = c.stats();
        if part(&s, &topic, 0)["hi_offset"] == 14 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ps = part(&s, &topic, 0);
    assert_eq!(ps["hi_offset"], 14, "{ps}");
    assert_eq!(ps["consumer_lag"], 4, "{ps}");
    assert_eq!(ps["committed_offset"], 10, "{ps}");
    c.close().await.unwrap();
    p.close(T).await.unwrap();
}
