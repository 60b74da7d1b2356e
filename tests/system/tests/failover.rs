//! On a three-node cluster (started here with `tests/cluster/kafka`), killing the leader of a
//! partition in the middle of producing 200,000 idempotent records (acks=all) loses none and
//! duplicates none: every record is read back exactly once, in send order per partition.

use std::collections::HashMap;
use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::{AdminConfig, ProducerRecord};
use polykafka_system_tests::{idempotent_producer, numbers_in, unique, TestCluster};

const RECORDS: usize = 200_000;
const PARTITIONS: i32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_loses_and_duplicates_nothing() {
    let cluster3 = TestCluster::start("failover", 3, 9392);
    let bootstrap = cluster3.bootstrap();

    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let topic = unique("failover");
    admin.create_topic(&topic, PARTITIONS, 3).await.unwrap();

    let producer = idempotent_producer(&bootstrap, "10000", &[]);

    let mut deliveries = Vec::new();
    let mut killed = None;
    for chunk in 0..(RECORDS / 10_000) {
        let records = (chunk * 10_000..(chunk + 1) * 10_000)
            .map(|i| ProducerRecord::new(&topic).partition((i % PARTITIONS as usize) as i32).value(i.to_string()))
            .collect();
        deliveries.push(producer.send_batch(records).await.unwrap());
        if chunk == 6 {
            // Kill partition 0's leader while batches are in flight.
            let leader = producer.cluster().metadata().leader(&topic, 0).expect("partition 0 has a leader");
            cluster3.launcher(&["kill", &leader.to_string()]);
            killed = Some(leader);
        }
    }
    let mut failures = Vec::new();
    for d in deliveries {
        failures.extend(d.await.into_iter().filter_map(|r| r.err()));
    }
    assert!(failures.is_empty(), "{} records failed, first: {}", failures.len(), failures[0]);
    producer.close(Duration::from_secs(30)).await.unwrap();
    let killed = killed.unwrap();
    cluster3.launcher(&["start", &killed.to_string()]);

    let mut seen: HashMap<usize, usize> = HashMap::new();
    for p in 0..PARTITIONS {
        let values = numbers_in(&bootstrap, &topic, p).await;
        let expected: Vec<usize> = (0..RECORDS).filter(|i| i % PARTITIONS as usize == p as usize).collect();
        for v in &values {
            *seen.entry(*v).or_default() += 1;
        }
        assert_eq!(values.len(), expected.len(), "partition {p}: {} records, expected {}", values.len(), expected.len());
        assert_eq!(values, expected, "partition {p} holds every record once, in send order");
    }
    assert_eq!(seen.len(), RECORDS);
    assert!(seen.values().all(|n| *n == 1));
}
