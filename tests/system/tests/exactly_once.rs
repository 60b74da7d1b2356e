//! Exactly-once processing survives crashes: a consume-transform-produce process is killed
//! (SIGKILL) twice while it works through 50,000 records and restarted; the output topic, read
//! with read_committed, holds every input record exactly once.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::{unique, TestCluster};

const RECORDS: usize = 50_000;
const PARTITIONS: i32 = 3;

async fn committed_count(cluster: &Cluster, topic: &str) -> i64 {
    let tps: Vec<_> = (0..PARTITIONS).map(|p| (TopicPartition::new(topic, p), OffsetSpec::Latest)).collect();
    list_offsets(cluster, &tps, IsolationLevel::ReadCommitted)
        .await
        .map(|r| r.iter().filter_map(|(_, o)| o.as_ref().ok().map(|o| o.offset)).sum())
        .unwrap_or(0)
}

fn spawn(bootstrap: &str, input: &str, output: &str, group: &str, txn_id: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_eos-processor"))
        .args([bootstrap, input, output, group, txn_id, "--idle-ms", "8000"])
        .spawn()
        .expect("eos-processor starts")
}

/// Waits until the output holds at least `n` committed records (counting transaction markers),
/// then kills the processor with SIGKILL.
async fn kill_after(cluster: &Cluster, output: &str, child: &mut Child, n: i64) {
    let start = Instant::now();
    while committed_count(cluster, output).await < n {
        assert!(child.try_wait().unwrap().is_none(), "the processor exited before it was killed");
        assert!(start.elapsed() < Duration::from_secs(180), "no progress past {n} output records");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_twice_every_record_exactly_once() {
    let kafka = TestCluster::start("eos", 1, 9892);
    let bootstrap = kafka.bootstrap();
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let (input, output) = (unique("eos-in"), unique("eos-out"));
    admin.create_topic(&input, PARTITIONS, 1).await.unwrap();
    admin.create_topic(&output, PARTITIONS, 1).await.unwrap();

    let producer = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let sent = producer
        .send_batch((0..RECORDS).map(|i| ProducerRecord::new(&input).key(format!("k{}", i % 97)).value(i.to_string())).collect())
        .await
        .unwrap()
        .await;
    assert!(sent.iter().all(|r| r.is_ok()));
    producer.close(Duration::from_secs(10)).await.unwrap();

    let cluster = Cluster::new(ClientConfig::with_bootstrap(&bootstrap).unwrap()).unwrap();
    let (group, txn_id) = (unique("eos-group"), unique("eos-txn"));
    let mut child = spawn(&bootstrap, &input, &output, &group, &txn_id);
    kill_after(&cluster, &output, &mut child, 8_000).await;
    let mut child = spawn(&bootstrap, &input, &output, &group, &txn_id);
    kill_after(&cluster, &output, &mut child, 25_000).await;
    let mut child = spawn(&bootstrap, &input, &output, &group, &txn_id);
    let status = child.wait().unwrap();
    assert!(status.success(), "the last processor run ended with {status}");

    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in 0..PARTITIONS {
        let tp = TopicPartition::new(&output, p);
        let end = list_offsets(&cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadCommitted).await.unwrap();
        let end = end[0].1.as_ref().unwrap().offset;
        for r in read_all(&cluster, &tp, 0, end, IsolationLevel::ReadCommitted).await.unwrap() {
            *seen.entry(String::from_utf8(r.value.unwrap().to_vec()).unwrap()).or_default() += 1;
        }
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(duplicates.is_empty(), "duplicated output records, e.g. {duplicates:?}");
    let missing: Vec<usize> = (0..RECORDS).filter(|i| !seen.contains_key(&format!("out-{i}"))).take(5).collect();
    assert!(missing.is_empty(), "missing output records, e.g. {missing:?}");
    assert_eq!(seen.len(), RECORDS);
}
