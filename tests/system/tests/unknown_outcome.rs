//! An idempotent producer whose batch gets no answer (the broker is frozen with SIGSTOP) until
//! `delivery.timeout.ms` expires reports that batch as failed; the broker may still have
//! written it. The next batch must not reuse its sequence numbers: the broker would take it
//! for a duplicate of the unanswered one, answer DUPLICATE_SEQUENCE_NUMBER, and the record
//! would be reported delivered without being written. The producer bumps its epoch instead
//! (KIP-360), so the next record is written, once.

use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::read_all;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::{unique, TestCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_without_an_answer_does_not_swallow_the_next_one() {
    polykafka_system_tests::init_logs();
    let cluster = TestCluster::start("frozen", 1, 10292);
    let bootstrap = cluster.bootstrap();
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let topic = unique("frozen");
    admin.create_topic(&topic, 1, 1).await.unwrap();
    let producer = Producer::new(
        ProducerConfig::from_properties([
            ("bootstrap.servers", bootstrap.as_str()),
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("linger.ms", "0"),
            ("request.timeout.ms", "1500"),
            ("delivery.timeout.ms", "3000"),
        ])
        .unwrap(),
    )
    .unwrap();
    let send = |v: &'static str| producer.send(ProducerRecord::new(&topic).partition(0).value(v));
    // Retries: right after creation the partition may not be ready yet.
    let mut warm = None;
    for _ in 0..50 {
        match send("warm").await.unwrap().await {
            Ok(md) => {
                warm = Some(md);
                break;
            }
            Err(e) => {
                eprintln!("warm-up: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await
            }
        }
    }
    assert!(warm.is_some(), "the warm-up record was never delivered");

    cluster.launcher(&["pause", "1"]);
    let unanswered = send("a").await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), unanswered).await.expect("the frozen batch completes");
    cluster.launcher(&["resume", "1"]);
    let err = result.expect_err("a batch without an answer past delivery.timeout.ms fails");
    eprintln!("frozen batch: {err}");

    let md = tokio::time::timeout(Duration::from_secs(60), async { send("b").await.unwrap().await })
        .await
        .expect("the next record completes")
        .expect("the next record is delivered");
    producer.close(Duration::from_secs(10)).await.unwrap();

    let reader = Cluster::new(ClientConfig::with_bootstrap(&bootstrap).unwrap()).unwrap();
    let tp = TopicPartition::new(&topic, 0);
    let records = read_all(&reader, &tp, 0, md.offset + 1, IsolationLevel::ReadUncommitted).await.unwrap();
    let values: Vec<String> = records.iter().map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()).collect::<Vec<_>>();
    eprintln!("partition holds {values:?} (\"a\" is there if the broker wrote it after resuming)");
    assert_eq!(values.first().map(String::as_str), Some("warm"));
    assert_eq!(values.iter().filter(|v| *v == "b").count(), 1, "the record after the unanswered batch is written exactly once: {values:?}");
    assert!(values.iter().filter(|v| *v == "a").count() <= 1, "{values:?}");
    assert_eq!(records.last().map(|r| r.offset), Some(md.offset), "b is where its delivery report says");
}
