//! Shared by the integration tests: the connection facts of the cluster `tests/cluster/kafka up`
//! started (read from `build/cluster/cluster.env`, or `KAFKA_BOOTSTRAP` etc. in the environment),
//! and unique topic names.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The cluster's facts: `KAFKA_BOOTSTRAP`, `KAFKA_SASL_BOOTSTRAP`, `KAFKA_CA_PEM`, ...
pub fn cluster_env() -> HashMap<String, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let build = std::env::var("POLYKAFKA_BUILD").map(std::path::PathBuf::from).unwrap_or(root.join("build/cluster"));
    let mut env = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(build.join("cluster.env")) {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                env.insert(k.trim().to_string(), v.trim().trim_matches('"').trim_matches('\'').to_string());
            }
        }
    }
    for (k, v) in std::env::vars() {
        if k.starts_with("KAFKA_") {
            env.insert(k, v);
        }
    }
    env
}

/// The plaintext bootstrap address; panics with a clear message when no cluster is running.
pub fn bootstrap() -> String {
    cluster_env()
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `tests/cluster/kafka up` (or set KAFKA_BOOTSTRAP)")
}

pub fn get(key: &str) -> String {
    cluster_env().get(key).cloned().unwrap_or_else(|| panic!("{key} is not in cluster.env"))
}

/// A topic name no other test (or earlier run) uses.
pub fn unique_topic(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// Every record of partition 0 of `topic`, from its beginning until a poll finds nothing for 2 s.
pub async fn read_partition(bootstrap: &str, topic: &str) -> Vec<polykafka::consumer::ConsumerRecord> {
    use polykafka::consumer::Consumer;
    use std::time::{Duration, Instant};
    let config = polykafka::ConsumerConfig::from_properties([("bootstrap.servers", bootstrap), ("enable.auto.commit", "false")]).unwrap();
    let c = Consumer::new(config).unwrap();
    let tp = [polykafka::TopicPartition::new(topic, 0)];
    c.assign(&tp).unwrap();
    c.seek_to_beginning(&tp).unwrap();
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < Duration::from_secs(2) {
        let batch = c.poll_batch(1000, Duration::from_millis(200)).await.unwrap();
        if !batch.is_empty() {
            last = Instant::now();
        }
        out.extend(batch);
    }
    c.close().await.unwrap();
    out
}
