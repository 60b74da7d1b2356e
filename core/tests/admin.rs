//! The admin client against a real broker (`tests/cluster/kafka up`).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use polykafka::admin::{Admin, AlterConfigOp, ConfigResource, ConfigSource, NewTopic};
use polykafka::cluster::Cluster;
use polykafka::{AdminConfig, ErrorKind, TopicPartition};

/// Test-only: writes `values` to `tp` in one batch (Produce v9..=12, acks=all, not idempotent).
async fn produce_values(cluster: &Cluster, tp: &TopicPartition, values: &[String]) {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol splits batches where offset - sequence changes; base sequence -1.
            sequence: i as i32 - 1,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::from(v.clone())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    let batch = buf.freeze();
    // A topic just created may not have its leader ready on the broker yet: retriable
    // NOT_LEADER_OR_FOLLOWER (6) / LEADER_NOT_AVAILABLE (5) / UNKNOWN_TOPIC_OR_PARTITION (3)
    // answers are retried with fresh metadata for up to 15 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let meta = cluster.refresh_metadata(Some(&[tp.topic.clone()]), false).await.unwrap();
        let leader = meta.leader(&tp.topic, tp.partition).unwrap_or(-1);
        let code = if leader < 0 {
            5
        } else {
            let conn = cluster.connection(leader).await.unwrap();
            let version = conn.versions().pick(ProduceRequest::KEY, 9, 12).unwrap();
            let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(10_000).with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                .with_partition_data(vec![PartitionProduceData::default().with_index(tp.partition).with_records(Some(batch.clone()))])]);
            let resp = conn.send_version(&req, version, Duration::from_secs(15)).await.unwrap();
            let p = &resp.responses[0].partition_responses[0];
            p.error_code
        };
        if code == 0 {
            return;
        }
        assert!(matches!(code, 3 | 5 | 6) && Instant::now() < deadline, "produce to {tp}: error code {code}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn admin() -> Admin {
    Admin::new(
        AdminConfig::from_properties([
            ("bootstrap.servers", common::bootstrap()),
            ("default.api.timeout.ms", "30000".to_string()),
        ])
        .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn create_describe_list_grow_delete() {
    let admin = admin();
    let topic = common::unique_topic("admin-topic");

    admin.create_topic(&topic, 2, 1).await.unwrap();

    // Created again: TOPIC_ALREADY_EXISTS, typed, naming the topic.
    let e = admin.create_topic(&topic, 2, 1).await.unwrap_err();
    assert_eq!(e.code(), 36, "{e}");
    assert_eq!(e.name(), "TOPIC_ALREADY_EXISTS");
    assert_eq!(e.kind(), ErrorKind::Broker);
    assert!(e.message().contains(&topic), "{e}");

    // The batch form reports per topic.
    let other = common::unique_topic("admin-topic-b");
    let results = admin
        .create_topics(&[NewTopic::new(&topic, 1, 1), NewTopic::new(&other, -1, -1).config("cleanup.policy", "compact")], false)
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].name, topic);
    assert_eq!(results[0].error.as_ref().map(|e| e.code()), Some(36));
    assert_eq!(results[1].name, other);
    assert!(results[1].error.is_none(), "{:?}", results[1].error);

    // validate_only creates nothing.
    let ghost = common::unique_topic("admin-ghost");
    let results = admin.create_topics(&[NewTopic::new(&ghost, 1, 1)], true).await.unwrap();
    assert!(results[0].error.is_none(), "{:?}", results[0].error);

    let described = admin.describe_topics(&[&topic, &other]).await.unwrap();
    assert_eq!(described.len(), 2);
    let d = &described[0];
    assert_eq!(d.name, topic);
    assert!(!d.internal);
    assert_ne!(d.topic_id, [0u8; 16]);
    assert_eq!(d.partitions.iter().map(|p| p.partition).collect::<Vec<_>>(), vec![0, 1]);
    for p in &d.partitions {
        assert!(p.leader >= 0);
        assert_eq!(p.replicas.len(), 1);
        assert_eq!(p.isr, p.replicas);
    }
    assert!(!described[1].partitions.is_empty(), "broker default partition count");

    let names = admin.list_topics(false).await.unwrap();
    assert!(names.contains(&topic) && names.contains(&other), "{names:?}");
    assert!(!names.contains(&ghost), "validate_only created {ghost}");
    assert!(names.iter().all(|n| n != "__consumer_offsets"));
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    admin.create_partitions(&topic, 4).await.unwrap();
    let d = admin.describe_topics(&[&topic]).await.unwrap().remove(0);
    assert_eq!(d.partitions.len(), 4);
    assert!(d.partitions.iter().all(|p| p.leader >= 0));
    // Shrinking is refused with the broker's typed error.
    let e = admin.create_partitions(&topic, 2).await.unwrap_err();
    assert_eq!(e.name(), "INVALID_PARTITIONS", "{e}");

    let results = admin.delete_topics(&[&topic, &other]).await.unwrap();
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
    let names = admin.list_topics(false).await.unwrap();
    assert!(!names.contains(&topic) && !names.contains(&other));
    let e = admin.describe_topics(&[&topic]).await.unwrap_err();
    assert_eq!(e.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{e}");

    // Deleting again: the per-topic error.
    let results = admin.delete_topics(&[&topic]).await.unwrap();
    assert_eq!(results[0].error.as_ref().map(|e| e.name()), Some("UNKNOWN_TOPIC_OR_PARTITION".to_string()));
    // The name can be reused at once.
    admin.create_topic(&topic, 1, 1).await.unwrap();
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn describe_unknown_topic_names_it() {
    let admin = admin();
    let topic = common::unique_topic("admin-missing");
    let start = Instant::now();
    let e = admin.describe_topics(&[&topic]).await.unwrap_err();
    assert_eq!(e.code(), 3, "{e}");
    assert_eq!(e.name(), "UNKNOWN_TOPIC_OR_PARTITION");
    assert!(e.message().contains(&topic), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5), "not retried until the timeout");
}

#[tokio::test]
async fn list_topics_internal() {
    let admin = admin();
    // __consumer_offsets exists once any group was used; only check the filter is consistent.
    let all = admin.list_topics(true).await.unwrap();
    let public = admin.list_topics(false).await.unwrap();
    assert!(public.iter().all(|t| all.contains(t)));
    assert!(public.iter().all(|t| !t.starts_with("__consumer_offsets")));
}

/// Describes the topic's configs until `ready` holds: in KRaft an altered config reaches the
/// broker that answers DescribeConfigs through the metadata log, a moment after the alter.
async fn describe_until(admin: &Admin, topic: &str, ready: impl Fn(&polykafka::admin::ConfigDescription) -> bool) -> polykafka::admin::ConfigDescription {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let d = admin.describe_configs(&[ConfigResource::topic(topic)]).await.unwrap().remove(0);
        if ready(&d) || std::time::Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn configs_describe_and_alter() {
    let admin = admin();
    let topic = common::unique_topic("admin-configs");
    admin.create_topics(&[NewTopic::new(&topic, 1, 1).config("max.message.bytes", "200000")], false).await.unwrap();

    let d = admin.describe_configs(&[ConfigResource::topic(&topic)]).await.unwrap().remove(0);
    assert_eq!(d.resource, ConfigResource::topic(&topic));
    let retention = d.get("retention.ms").expect("retention.ms described");
    assert!(retention.is_default, "{retention:?}");
    assert_eq!(retention.source, ConfigSource::Default);
    let mmb = d.get("max.message.bytes").unwrap();
    assert_eq!(mmb.value.as_deref(), Some("200000"));
    assert_eq!(mmb.source, ConfigSource::DynamicTopic);
    assert!(!mmb.is_default);

    admin
        .incremental_alter_configs(&[(ConfigResource::topic(&topic), vec![AlterConfigOp::set("retention.ms", "3600000")])])
        .await
        .unwrap();
    let d = describe_until(&admin, &topic, |d| d.get("retention.ms").map(|e| !e.is_default).unwrap_or(false)).await;
    let retention = d.get("retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("3600000"));
    assert!(!retention.is_default);
    assert_eq!(retention.source, ConfigSource::DynamicTopic);

    // Delete: back to the default.
    admin
        .incremental_alter_configs(&[(ConfigResource::topic(&topic), vec![AlterConfigOp::delete("retention.ms")])])
        .await
        .unwrap();
    let d = describe_until(&admin, &topic, |d| d.get("retention.ms").map(|e| e.is_default).unwrap_or(false)).await;
    assert!(d.get("retention.ms").unwrap().is_default);

    // A key that does not exist: INVALID_CONFIG, typed, naming the key.
    let e = admin
        .incremental_alter_configs(&[(ConfigResource::topic(&topic), vec![AlterConfigOp::set("retention.msec", "1")])])
        .await
        .unwrap_err();
    assert_eq!(e.code(), 40, "{e}");
    assert_eq!(e.name(), "INVALID_CONFIG");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("retention.msec"), "{e}");

    // Broker configs go to that broker.
    let cluster = admin.describe_cluster().await.unwrap();
    let broker = cluster.brokers[0].node_id;
    let d = admin.describe_configs(&[ConfigResource::broker(broker), ConfigResource::topic(&topic)]).await.unwrap();
    assert_eq!(d[0].resource, ConfigResource::broker(broker));
    assert!(d[0].get("log.retention.hours").is_some() || d[0].get("num.partitions").is_some());
    assert_eq!(d[1].resource, ConfigResource::topic(&topic));

    // Describing configs of an unknown topic names it.
    let missing = common::unique_topic("admin-configs-missing");
    let e = admin.describe_configs(&[ConfigResource::topic(&missing)]).await.unwrap_err();
    assert_eq!(e.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{e}");
    assert!(e.message().contains(&missing), "{e}");

    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn describe_cluster() {
    let admin = admin();
    let d = admin.describe_cluster().await.unwrap();
    let env = common::cluster_env();
    if let Some(id) = env.get("KAFKA_CLUSTER_ID") {
        assert_eq!(d.cluster_id.as_deref(), Some(id.as_str()));
    }
    let nodes: usize = env.get("KAFKA_NODES").and_then(|n| n.parse().ok()).unwrap_or(1);
    assert_eq!(d.brokers.len(), nodes, "{d:?}");
    assert!(d.brokers.iter().all(|b| b.port > 0 && !b.host.is_empty()));
    assert!(d.controller_id >= 0 || d.controller_id == -1);
}

#[tokio::test]
async fn unreachable_bootstrap_is_a_connection_error() {
    let admin = Admin::new(
        AdminConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:1"),
            ("socket.connection.setup.timeout.ms", "1000"),
            ("default.api.timeout.ms", "2000"),
            ("reconnect.backoff.ms", "50"),
        ])
        .unwrap(),
    )
    .unwrap();
    let start = Instant::now();
    let e = admin.list_topics(false).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.message().contains("127.0.0.1:1"), "{e}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let e = admin.create_topic("never", 1, 1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
}

#[tokio::test]
async fn delete_records_moves_low_watermark() {
    let admin = admin();
    let topic = common::unique_topic("admin-records");
    admin.create_topic(&topic, 2, 1).await.unwrap();
    let tp0 = TopicPartition::new(&topic, 0);
    let tp1 = TopicPartition::new(&topic, 1);
    produce_values(admin.cluster(), &tp0, &(0..10).map(|i| format!("v{i}")).collect::<Vec<_>>()).await;
    produce_values(admin.cluster(), &tp1, &(0..3).map(|i| format!("w{i}")).collect::<Vec<_>>()).await;

    let lw = admin.delete_records(&[(tp0.clone(), 4), (tp1.clone(), -1)]).await.unwrap();
    assert_eq!(lw, vec![(tp0.clone(), 4), (tp1.clone(), 3)]);

    // Beyond the high watermark: OFFSET_OUT_OF_RANGE naming the partition.
    let e = admin.delete_records(&[(tp0.clone(), 100)]).await.unwrap_err();
    assert_eq!(e.name(), "OFFSET_OUT_OF_RANGE", "{e}");
    assert!(e.message().contains(&tp0.to_string()), "{e}");

    // A partition that does not exist.
    let e = admin.delete_records(&[(TopicPartition::new(&topic, 7), 0)]).await.unwrap_err();
    assert_eq!(e.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{e}");

    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_require_topics_and_list_offsets() {
    use polykafka::consumer::OffsetSpec;
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str()), ("allow.auto.create.topics", "false"), ("default.api.timeout.ms", "3000")]).unwrap()).unwrap();
    admin.connect().await.unwrap();
    let topic = common::unique_topic("req");
    admin.create_topic(&topic, 2, 1).await.unwrap();
    admin.require_topics(&[topic.clone()]).await.unwrap();
    let missing = common::unique_topic("req-missing");
    let e = admin.require_topics(&[topic.clone(), missing.clone()]).await.unwrap_err();
    assert_eq!(e.code(), polykafka::error::UNKNOWN_TOPIC_OR_PARTITION, "{e}");
    assert!(e.message().contains(&missing), "{e}");
    let tp = TopicPartition::new(&topic, 1);
    produce_values(admin.cluster(), &tp, &["a".into(), "b".into()]).await;
    let listed = admin.list_offsets(&[(tp.clone(), OffsetSpec::Earliest), (tp.clone(), OffsetSpec::Latest)], polykafka::config::IsolationLevel::ReadUncommitted).await.unwrap();
    assert_eq!(listed[0].1.as_ref().unwrap().offset, 0);
    assert_eq!(listed[1].1.as_ref().unwrap().offset, 2);
    let none = admin.list_consumer_group_offsets_full("no-such-group-x", Some(&[tp])).await.unwrap();
    assert_eq!(none[0].offset, -1);
    // Nothing listens: connect fails within default.api.timeout.ms.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().to_string();
    drop(l);
    let unreachable = Admin::new(AdminConfig::from_properties([("bootstrap.servers", dead.as_str()), ("default.api.timeout.ms", "2000")]).unwrap()).unwrap();
    let start = Instant::now();
    let e = unreachable.connect().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(6), "{:?}", start.elapsed());
    assert!(matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout), "{e}");
}
