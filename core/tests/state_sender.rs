//! The producer's sender against the fake broker: retries, KIP-360 epoch bumps, sequence
//! errors and delivery timeouts, each asserted as an exact sequence of requests.

mod fake_broker;

use std::time::Duration;

use fake_broker::{code, ApiKey, Behaviour, FakeBroker};
use polykafka::producer::Producer;
use polykafka::{ProducerConfig, ProducerRecord};

fn producer(broker: &FakeBroker, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![
        ("bootstrap.servers".to_string(), broker.bootstrap()),
        ("linger.ms".to_string(), "0".to_string()),
        ("retry.backoff.ms".to_string(), "20".to_string()),
        ("reconnect.backoff.ms".to_string(), "20".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

/// NOT_LEADER_OR_FOLLOWER, then success: the batch goes again after a metadata refresh, with
/// the same producer id, epoch and sequence, and is written once, records in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_is_retried_after_a_metadata_refresh() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Error(code::NOT_LEADER_OR_FOLLOWER)]);
    // One batch: the five records are queued well within linger.ms.
    let p = producer(&broker, &[("linger.ms", "100")]);
    let records: Vec<_> = (0..5).map(|i| ProducerRecord::new("t").partition(0).value(format!("v{i}"))).collect();
    let results = p.send_batch(records).await.unwrap().await;
    let offsets: Vec<i64> = results.into_iter().map(|r| r.unwrap().offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    assert_eq!(broker.log_values("t", 0), vec!["v0", "v1", "v2", "v3", "v4"]);

    let keys = broker.keys();
    let produces: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| **k == ApiKey::Produce).map(|(i, _)| i).collect();
    assert_eq!(produces.len(), 2, "{keys:?}");
    assert!(
        keys[produces[0]..produces[1]].contains(&ApiKey::Metadata),
        "a metadata refresh comes between the failed Produce and its retry: {keys:?}"
    );
    let batches = broker.produced();
    assert_eq!(batches[0], batches[1], "the retry is the same batch: same producer id, epoch, sequence, records");
    assert_eq!(batches[0].base_sequence, 0);
    assert!(batches[0].producer_id >= 0);
    p.close(Duration::from_secs(5)).await.unwrap();
}
