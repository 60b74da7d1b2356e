//! Transactions against the real broker: abort and commit visibility, fencing, offsets.

mod common;

use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::producer::{ConsumerGroupMetadata, Producer, TxnState};
use polykafka::{AdminConfig, ClientConfig, ErrorKind, ProducerConfig, ProducerRecord, TopicPartition};

const T: Duration = Duration::from_secs(30);

fn txn_producer(id: &str) -> Producer {
    Producer::new(
        ProducerConfig::from_properties([
            ("bootstrap.servers", common::bootstrap().as_str()),
            ("transactional.id", id),
            ("transaction.timeout.ms", "20000"),
        ])
        .unwrap(),
    )
    .unwrap()
}

async fn new_topic(partitions: i32) -> String {
    let topic = common::unique_topic("txn");
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topic(&topic, partitions, 1).await.unwrap();
    topic
}

async fn values(topic: &str, partition: i32, isolation: IsolationLevel) -> Vec<String> {
    let cluster = Cluster::new(ClientConfig::with_bootstrap(&common::bootstrap()).unwrap()).unwrap();
    let tp = TopicPartition::new(topic, partition);
    let latest = |isolation| {
        let (cluster, tp) = (&cluster, &tp);
        async move { list_offsets(cluster, &[(tp.clone(), OffsetSpec::Latest)], isolation).await.unwrap()[0].1.as_ref().unwrap().offset }
    };
    // The transaction's markers are written after EndTxn returns: wait (boundedly) until the
    // last stable offset reaches the end of the log, so the read sees every finished transaction.
    let high_watermark = latest(IsolationLevel::ReadUncommitted).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut end = latest(isolation).await;
    while end < high_watermark && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        end = latest(isolation).await;
    }
    read_all(&cluster, &tp, 0, end, isolation)
        .await
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_is_invisible_to_read_committed_and_committed_is_visible_in_order() {
    let topic = new_topic(1).await;
    let p = txn_producer(&common::unique_topic("tid"));
    p.init_transactions(T).await.unwrap();

    p.begin_transaction().unwrap();
    let mut futures = Vec::new();
    for i in 0..1000 {
        futures.push(p.send(ProducerRecord::new(&topic).partition(0).value(format!("aborted-{i}"))).await.unwrap());
    }
    p.flush(T).await.unwrap();
    for f in futures {
        f.await.unwrap();
    }
    p.abort_transaction(T).await.unwrap();

    p.begin_transaction().unwrap();
    for i in 0..1000 {
        let _ = p.send(ProducerRecord::new(&topic).partition(0).value(format!("committed-{i}"))).await.unwrap();
    }
    p.commit_transaction(T).await.unwrap();
    assert_eq!(p.transaction_state(), Some(TxnState::Ready));

    let committed: Vec<String> = (0..1000).map(|i| format!("committed-{i}")).collect();
    let aborted: Vec<String> = (0..1000).map(|i| format!("aborted-{i}")).collect();
    assert_eq!(values(&topic, 0, IsolationLevel::ReadCommitted).await, committed);
    let all = values(&topic, 0, IsolationLevel::ReadUncommitted).await;
    assert_eq!(all, [aborted, committed].concat(), "read_uncommitted sees both, in order, and no control records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_producer_fences_the_older_one() {
    let topic = new_topic(1).await;
    let id = common::unique_topic("fenced");
    let old = txn_producer(&id);
    old.init_transactions(T).await.unwrap();
    old.begin_transaction().unwrap();
    old.send(ProducerRecord::new(&topic).partition(0).value("before")).await.unwrap();
    old.flush(T).await.unwrap();

    let new = txn_producer(&id);
    new.init_transactions(T).await.unwrap();

    // The old producer's next operations fail, fatally, and say why.
    let sent = old.send(ProducerRecord::new(&topic).partition(0).value("zombie")).await;
    let err = match sent {
        Ok(delivery) => {
            let commit = old.commit_transaction(T).await.unwrap_err();
            let _ = delivery.await;
            commit
        }
        Err(e) => e,
    };
    assert!(err.fatal(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Fatal, "{err}");
    assert!(matches!(old.transaction_state(), Some(TxnState::Fatal(_))));
    assert!(old.begin_transaction().is_err());

    new.begin_transaction().unwrap();
    new.send(ProducerRecord::new(&topic).partition(0).value("from-new")).await.unwrap();
    new.commit_transaction(T).await.unwrap();
    assert_eq!(values(&topic, 0, IsolationLevel::ReadCommitted).await, vec!["from-new".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_commit_with_the_transaction_only() {
    let topic = new_topic(2).await;
    let group = common::unique_topic("group");
    let p = txn_producer(&common::unique_topic("tid"));
    p.init_transactions(T).await.unwrap();
    let meta = ConsumerGroupMetadata::for_group(&group);
    let offsets = vec![(TopicPartition::new(&topic, 0), 42), (TopicPartition::new(&topic, 1), 7)];

    p.begin_transaction().unwrap();
    p.send(ProducerRecord::new(&topic).partition(0).value("x")).await.unwrap();
    p.send_offsets_to_transaction(&offsets, &meta, T).await.unwrap();
    p.abort_transaction(T).await.unwrap();
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    let parts: Vec<TopicPartition> = offsets.iter().map(|(tp, _)| tp.clone()).collect();
    let committed = admin.list_consumer_group_offsets(&group, Some(&parts)).await.unwrap();
    assert!(committed.iter().all(|(_, o)| *o < 0), "aborted offsets are not committed: {committed:?}");

    p.begin_transaction().unwrap();
    p.send(ProducerRecord::new(&topic).partition(1).value("y")).await.unwrap();
    p.send_offsets_to_transaction(&offsets, &meta, T).await.unwrap();
    p.commit_transaction(T).await.unwrap();
    let mut committed = admin.list_consumer_group_offsets(&group, Some(&parts)).await.unwrap();
    committed.sort();
    assert_eq!(committed, offsets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_errors_name_the_missing_step() {
    let topic = new_topic(1).await;
    let p = txn_producer(&common::unique_topic("tid"));
    let err = p.begin_transaction().unwrap_err();
    assert!(err.message().contains("init_transactions"), "{err}");
    p.init_transactions(T).await.unwrap();
    let err = p.init_transactions(T).await.unwrap_err();
    assert!(err.message().contains("already"), "once only, as the Java client: {err}");
    let err = p.send(ProducerRecord::new(&topic).value("x")).await.err().expect("outside a transaction");
    assert!(err.message().contains("begin_transaction"), "{err}");
    let err = p.commit_transaction(T).await.unwrap_err();
    assert!(err.message().contains("begin_transaction"), "{err}");
    let plain = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    let err = plain.begin_transaction().unwrap_err();
    assert!(err.message().contains("transactional.id"), "{err}");
}
