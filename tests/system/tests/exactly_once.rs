//! Exactly-once processing survives crashes and network faults: a consume-transform-produce process is killed
//! (SIGKILL) twice while it works through 50,000 records and restarted; another works through the fault proxy
//! (tests/system/src/proxy.rs) while every connection is reset every 400 ms and the broker is black-holed for
//! longer than the session timeout, restarted whenever it gives up. Each time the output topic, read with
//! read_committed, holds every input record exactly once.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::proxy::{FaultProxy, Faults};
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
    let (input, output) = topics_and_input(&bootstrap, "eos", RECORDS).await;

    let cluster = Cluster::new(ClientConfig::with_bootstrap(&bootstrap).unwrap()).unwrap();
    let (group, txn_id) = (unique("eos-group"), unique("eos-txn"));
    let mut child = spawn(&bootstrap, &input, &output, &group, &txn_id);
    kill_after(&cluster, &output, &mut child, 8_000).await;
    let mut child = spawn(&bootstrap, &input, &output, &group, &txn_id);
    kill_after(&cluster, &output, &mut child, 25_000).await;
    let mut child = spawn(&bootstrap, &input, &output, &group, &txn_id);
    let status = child.wait().unwrap();
    assert!(status.success(), "the last processor run ended with {status}");

    assert_output_exactly_once(&cluster, &output, RECORDS).await;
}

/// Creates the input and output topics and writes `n` records (values 0..n, 97 keys) to the input.
async fn topics_and_input(bootstrap: &str, prefix: &str, n: usize) -> (String, String) {
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap)]).unwrap()).unwrap();
    let (input, output) = (unique(&format!("{prefix}-in")), unique(&format!("{prefix}-out")));
    admin.create_topic(&input, PARTITIONS, 1).await.unwrap();
    admin.create_topic(&output, PARTITIONS, 1).await.unwrap();
    write_input(bootstrap, &input, n).await;
    (input, output)
}

async fn write_input(bootstrap: &str, input: &str, n: usize) {
    let producer = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap)]).unwrap()).unwrap();
    let sent = producer
        .send_batch((0..n).map(|i| ProducerRecord::new(input).key(format!("k{}", i % 97)).value(i.to_string())).collect())
        .await
        .unwrap()
        .await;
    assert!(sent.iter().all(|r| r.is_ok()));
    producer.close(Duration::from_secs(10)).await.unwrap();
}

/// The output, read with read_committed, holds `out-i` exactly once for every i in 0..n.
async fn assert_output_exactly_once(cluster: &Cluster, output: &str, n: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in 0..PARTITIONS {
        let tp = TopicPartition::new(output, p);
        let end = list_offsets(cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadCommitted).await.unwrap();
        let end = end[0].1.as_ref().unwrap().offset;
        for r in read_all(cluster, &tp, 0, end, IsolationLevel::ReadCommitted).await.unwrap() {
            *seen.entry(String::from_utf8(r.value.unwrap().to_vec()).unwrap()).or_default() += 1;
        }
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(duplicates.is_empty(), "duplicated output records, e.g. {duplicates:?}");
    let missing: Vec<usize> = (0..n).filter(|i| !seen.contains_key(&format!("out-{i}"))).take(5).collect();
    assert!(missing.is_empty(), "missing output records, e.g. {missing:?}");
    assert_eq!(seen.len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_every_record_exactly_once() {
    const N: usize = 20_000;
    let kafka = TestCluster::start_proxied("eosproxy", 1, 10492, 1000);
    let direct = kafka.bootstrap();
    let (input, output) = topics_and_input(&direct, "eosproxy", N).await;
    let proxy = std::sync::Arc::new(kafka.proxies().await.remove(0));
    // Resets every 400 ms for the whole run; once 6,000 output records are committed, a black hole of 9 s
    // (session.timeout.ms is 6 s, transaction.timeout.ms 15 s).
    let resets = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(400)).await;
                proxy.reset_all();
            }
        })
    };
    let cluster = Cluster::new(ClientConfig::with_bootstrap(&direct).unwrap()).unwrap();
    let (group, txn_id) = (unique("eosproxy-group"), unique("eosproxy-txn"));
    let mut child = spawn(&kafka.proxy_bootstrap(), &input, &output, &group, &txn_id);
    let mut runs = 1;
    let start = Instant::now();
    while committed_count(&cluster, &output).await < 6_000 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress to 6,000 output records through resets");
        if child.try_wait().unwrap().is_some() {
            runs += 1;
            child = spawn(&kafka.proxy_bootstrap(), &input, &output, &group, &txn_id);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let holed_at = committed_count(&cluster, &output).await;
    black_hole_for(&proxy, Duration::from_secs(9)).await;
    loop {
        let status = child.wait().unwrap();
        if status.success() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(240), "the processor did not finish through the faults in 240 s ({runs} runs)");
        runs += 1;
        child = spawn(&kafka.proxy_bootstrap(), &input, &output, &group, &txn_id);
    }
    resets.abort();
    let counts = proxy.counts();
    eprintln!("eos through faults: black hole at {holed_at} output records, {runs} processor run(s), proxy {counts:?}");
    assert!(holed_at < N as i64, "the black hole came after the processing");
    assert!(counts.resets >= 10, "only {} resets: the faults did not happen", counts.resets);
    assert_output_exactly_once(&cluster, &output, N).await;
}

async fn black_hole_for(proxy: &FaultProxy, d: Duration) {
    proxy.set(Faults { black_hole: true, ..Faults::default() });
    tokio::time::sleep(d).await;
    proxy.set(Faults::default());
}
