//! On a three-node cluster, killing the transaction coordinator's broker during a transaction
//! ends in a clean commit or a clean abort: a read_committed reader sees all of the
//! transaction's records or none of them.

use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::cluster::{Cluster, CoordinatorType};
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::{unique, TestCluster};


const T: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_coordinator_never_leaves_half_a_transaction() {
    polykafka_system_tests::init_logs();
    let kafka = TestCluster::start("txnfail", 3, 9992);
    let bootstrap = kafka.bootstrap();
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let topic = unique("txn-failover");
    admin.create_topic(&topic, 3, 3).await.unwrap();

    let txn_id = unique("txn-failover-id");
    let producer = Producer::new(
        ProducerConfig::from_properties([
            ("bootstrap.servers", bootstrap.as_str()),
            ("transactional.id", txn_id.as_str()),
            ("request.timeout.ms", "10000"),
            ("transaction.timeout.ms", "60000"),
        ])
        .unwrap(),
    )
    .unwrap();
    producer.init_transactions(T).await.unwrap();

    // A first transaction that commits normally.
    producer.begin_transaction().unwrap();
    producer.send_batch((0..1000).map(|i| ProducerRecord::new(&topic).value(format!("a-{i}"))).collect()).await.unwrap();
    producer.commit_transaction(T).await.unwrap();

    // The second one loses its coordinator half way.
    producer.begin_transaction().unwrap();
    let first = producer.send_batch((0..1000).map(|i| ProducerRecord::new(&topic).value(format!("b-{i}"))).collect()).await.unwrap();
    producer.flush(T).await.unwrap();
    let coordinator = producer.cluster().coordinator(CoordinatorType::Transaction, &txn_id).await.unwrap();
    kafka.launcher(&["kill", &coordinator.to_string()]);
    let second = producer.send_batch((1000..2000).map(|i| ProducerRecord::new(&topic).value(format!("b-{i}"))).collect()).await.unwrap();
    let committed = match producer.commit_transaction(T).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("commit failed ({e}); aborting");
            producer.abort_transaction(T).await.expect("abort after a failed commit");
            false
        }
    };
    let _ = (first.await, second.await);
    kafka.launcher(&["start", &coordinator.to_string()]);

    let cluster = Cluster::new(ClientConfig::with_bootstrap(&bootstrap).unwrap()).unwrap();
    let mut a = 0;
    let mut b = 0;
    for p in 0..3 {
        let tp = TopicPartition::new(&topic, p);
        let end = list_offsets(&cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadCommitted).await.unwrap();
        let end = end[0].1.as_ref().unwrap().offset;
        for r in read_all(&cluster, &tp, 0, end, IsolationLevel::ReadCommitted).await.unwrap() {
            let v = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
            if v.starts_with("a-") {
                a += 1;
            } else {
                b += 1;
            }
        }
    }
    assert_eq!(a, 1000, "the first transaction is whole");
    assert!(b == 0 || b == 2000, "the second transaction is all or nothing, saw {b} of 2000 (committed: {committed})");
    assert_eq!(b == 2000, committed, "what the reader sees matches what commit_transaction said");
}
