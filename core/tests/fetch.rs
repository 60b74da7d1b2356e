//! ListOffsets and Fetch against a real broker (`tests/cluster/kafka up`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnRequest, AddPartitionsToTxnTopic};
use kafka_protocol::messages::end_txn_request::EndTxnRequest;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::{ProducerId, TopicName, TransactionalId};
use polykafka::cluster::CoordinatorType;
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::records::{Compression, Record as PRecord, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{fetch, list_offsets, list_offsets_within, read_all, FetchOptions, OffsetSpec};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ConsumerConfig, ErrorKind, Header, ProducerConfig, ProducerRecord, TopicPartition};

const T0: i64 = 1_750_000_000_000;

/// A record as the test writes it: key, value, headers, timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rec {
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(String, Option<Bytes>)>,
    timestamp: i64,
}

fn rec(i: i64, timestamp: i64) -> Rec {
    Rec {
        key: if i % 3 == 0 { None } else { Some(Bytes::from(format!("key-{i}"))) },
        // Binary values, a tombstone, an empty value.
        value: match i % 5 {
            4 => None,
            3 => Some(Bytes::new()),
            _ => Some(Bytes::from((0..(i * 7) as u32).map(|b| (b * 31 + i as u32) as u8).collect::<Vec<u8>>())),
        },
        headers: if i % 2 == 0 { vec![("h".to_string(), Some(Bytes::from(format!("hv{i}")))), ("null".to_string(), None)] } else { vec![] },
        timestamp,
    }
}

/// Test-only: writes `records` to `tp` as ONE batch (Produce v9..=12, acks=all, not
/// idempotent), encoded by kafka-protocol's own encoder. Returns the base offset.
async fn produce_batch(cluster: &Cluster, tp: &TopicPartition, records: &[Rec]) -> i64 {
    produce_batch_as(cluster, tp, records, None).await
}

/// The transactional producer a batch is written by.
struct TxnProducer {
    txn_id: String,
    producer_id: i64,
    epoch: i16,
    /// The sequence of the next record.
    sequence: i32,
}

async fn produce_batch_as(cluster: &Cluster, tp: &TopicPartition, records: &[Rec], txn: Option<&mut TxnProducer>) -> i64 {
    let (pid, epoch, base_seq, transactional_id) = match &txn {
        Some(t) => (t.producer_id, t.epoch, t.sequence, Some(TransactionalId(StrBytes::from_string(t.txn_id.clone())))),
        None => (-1, -1, -1, None),
    };
    let records: Vec<PRecord> = records
        .iter()
        .enumerate()
        .map(|(i, r)| PRecord {
            transactional: transactional_id.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol starts a new batch where offset - sequence changes; a non-idempotent
            // batch has base sequence -1.
            sequence: base_seq + i as i32,
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.iter().map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone())).collect(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    let leader = cluster.topic(&tp.topic).await.unwrap().partitions[tp.partition as usize].leader;
    let conn = cluster.connection(leader).await.unwrap();
    // v12+ would mean transactions v2 (partitions added implicitly); the test drives v1.
    let version = conn.versions().pick(ProduceRequest::KEY, 9, if transactional_id.is_some() { 11 } else { 12 }).unwrap();
    if let Some(t) = txn {
        t.sequence += records.len() as i32;
    }
    let req = ProduceRequest::default().with_acks(-1).with_transactional_id(transactional_id).with_timeout_ms(10_000).with_topic_data(vec![TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
        .with_partition_data(vec![PartitionProduceData::default().with_index(tp.partition).with_records(Some(buf.freeze()))])]);
    let resp = conn.send_version(&req, version, Duration::from_secs(15)).await.unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "produce to {tp} v{version}: {p:?}");
    p.base_offset
}

fn consumer_cluster(extra: &[(&str, &str)]) -> Arc<Cluster> {
    let mut props = vec![("bootstrap.servers".to_string(), common::bootstrap())];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Cluster::new(ConsumerConfig::from_properties(props).unwrap().client).unwrap()
}

fn admin() -> Admin {
    Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap()
}

fn same(got: &polykafka::protocol::records::Record, want: &Rec, offset: i64) {
    assert_eq!(got.offset, offset);
    assert_eq!(got.timestamp, want.timestamp, "timestamp at {offset}");
    assert_eq!(got.key, want.key, "key at {offset}");
    assert_eq!(got.value, want.value, "value at {offset}");
    let headers: Vec<(String, Option<Bytes>)> = got.headers.iter().map(|h| (h.key.clone(), h.value.clone())).collect();
    assert_eq!(headers, want.headers, "headers at {offset}");
}

#[tokio::test]
async fn list_offsets_and_fetch_back_byte_for_byte() {
    let admin = admin();
    let topic = common::unique_topic("fetch");
    admin.create_topic(&topic, 1, 1).await.unwrap();
    let tp = TopicPartition::new(&topic, 0);
    let cluster = consumer_cluster(&[]);

    let first: Vec<Rec> = (0..10).map(|i| rec(i, T0 + i)).collect();
    let second: Vec<Rec> = (10..15).map(|i| rec(i, T0 + 100 + i)).collect();
    assert_eq!(produce_batch(&cluster, &tp, &first).await, 0);
    assert_eq!(produce_batch(&cluster, &tp, &second).await, 10);
    let all: Vec<Rec> = first.iter().chain(&second).cloned().collect();

    let specs = [
        OffsetSpec::Earliest,
        OffsetSpec::Latest,
        OffsetSpec::Timestamp(T0 + 3),
        OffsetSpec::Timestamp(T0 + 50),
        OffsetSpec::Timestamp(T0 + 1_000_000),
        OffsetSpec::MaxTimestamp,
    ];
    let listed = list_offsets(&cluster, &specs.iter().map(|s| (tp.clone(), *s)).collect::<Vec<_>>(), IsolationLevel::ReadUncommitted)
        .await
        .unwrap();
    let offsets: Vec<i64> = listed.iter().map(|(t, r)| {
        assert_eq!(t, &tp);
        r.as_ref().unwrap().offset
    }).collect();
    assert_eq!(offsets, vec![0, 15, 3, 10, -1, 14]);
    assert_eq!(listed[2].1.as_ref().unwrap().timestamp, T0 + 3);
    assert_eq!(listed[5].1.as_ref().unwrap().timestamp, T0 + 114);
    assert!(listed[0].1.as_ref().unwrap().leader_epoch >= 0);
    // Latest under read_committed: the last stable offset (no transactions: the same).
    let lso = list_offsets(&cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadCommitted).await.unwrap();
    assert_eq!(lso[0].1.as_ref().unwrap().offset, 15);

    // From the start: both batches, every byte as written.
    let opts = FetchOptions { max_wait: Duration::from_millis(100), ..Default::default() };
    let f = fetch(&cluster, &tp, 0, &opts).await.unwrap();
    assert_eq!(f.high_watermark, 15);
    assert_eq!(f.log_start_offset, 0);
    assert_eq!(f.batches.len(), 2);
    assert_eq!(f.batches[0].base_offset, 0);
    assert_eq!(f.batches[1].base_offset, 10);
    assert_eq!(f.next_offset(0), 15);
    let records: Vec<_> = f.batches.iter().flat_map(|b| b.records.iter()).collect();
    assert_eq!(records.len(), 15);
    for (i, r) in records.iter().enumerate() {
        same(r, &all[i], i as i64);
    }

    // From the middle of the first batch: the records before the offset are dropped.
    let f = fetch(&cluster, &tp, 4, &opts).await.unwrap();
    assert_eq!(f.batches[0].base_offset, 0, "whole batch from the broker");
    assert_eq!(f.batches[0].records.first().unwrap().offset, 4);
    let records: Vec<_> = f.batches.iter().flat_map(|b| b.records.iter()).collect();
    assert_eq!(records.len(), 11);
    for r in &records {
        same(r, &all[r.offset as usize], r.offset);
    }
    // From the start of the second batch: the first is not returned.
    let f = fetch(&cluster, &tp, 10, &opts).await.unwrap();
    assert_eq!(f.batches.len(), 1);
    assert_eq!(f.batches[0].records.len(), 5);

    // At the end: nothing after max_wait.
    let start = Instant::now();
    let f = fetch(&cluster, &tp, 15, &opts).await.unwrap();
    assert!(f.batches.is_empty());
    assert_eq!(f.high_watermark, 15);
    assert!(start.elapsed() < Duration::from_secs(5));

    // Past the end: OFFSET_OUT_OF_RANGE naming the partition and offset.
    let e = fetch(&cluster, &tp, 16, &opts).await.unwrap_err();
    assert_eq!(e.name(), "OFFSET_OUT_OF_RANGE", "{e}");
    assert_eq!(e.code(), 1);
    assert!(e.message().contains(&format!("{tp}")) && e.message().contains("16"), "{e}");

    // read_all over ranges.
    let got = read_all(&cluster, &tp, 0, 15, IsolationLevel::ReadUncommitted).await.unwrap();
    assert_eq!(got.len(), 15);
    for r in &got {
        same(r, &all[r.offset as usize], r.offset);
    }
    let got = read_all(&cluster, &tp, 7, 12, IsolationLevel::ReadCommitted).await.unwrap();
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![7, 8, 9, 10, 11]);

    // After deleting records, Earliest moves and fetching below it is out of range.
    admin.delete_records(&[(tp.clone(), 6)]).await.unwrap();
    let listed = list_offsets(&cluster, &[(tp.clone(), OffsetSpec::Earliest)], IsolationLevel::ReadUncommitted).await.unwrap();
    assert_eq!(listed[0].1.as_ref().unwrap().offset, 6);
    let e = fetch(&cluster, &tp, 2, &opts).await.unwrap_err();
    assert_eq!(e.name(), "OFFSET_OUT_OF_RANGE", "{e}");
    let f = fetch(&cluster, &tp, 6, &opts).await.unwrap();
    assert_eq!(f.log_start_offset, 6);
    assert_eq!(f.batches[0].records[0].offset, 6);

    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_back_what_the_producer_wrote() {
    let admin = admin();
    let topic = common::unique_topic("fetch-producer");
    admin.create_topic(&topic, 3, 1).await.unwrap();
    let producer = Producer::new(
        ProducerConfig::from_properties([
            ("bootstrap.servers", common::bootstrap().as_str()),
            ("compression.type", "zstd"),
            ("linger.ms", "10"),
            ("batch.size", "4096"),
        ])
        .unwrap(),
    )
    .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..600 {
        let r = ProducerRecord::new(&topic)
            .partition(i % 3)
            .key(format!("k{i}"))
            .value(format!("value {i} {}", "x".repeat(i as usize % 50)))
            .header("i", i.to_string())
            .header("i", "again")
            .timestamp(T0 + i as i64);
        deliveries.push((i, producer.send(r).await.unwrap()));
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();
    let mut written: Vec<Vec<(i64, i32)>> = vec![Vec::new(); 3];
    for (i, d) in deliveries {
        let md = d.await.unwrap();
        written[md.partition as usize].push((md.offset, i));
    }
    producer.close(Duration::from_secs(5)).await.unwrap();

    let cluster = consumer_cluster(&[]);
    // One ListOffsets per leader for all three partitions, answers in the order asked.
    let asks: Vec<(TopicPartition, OffsetSpec)> = (0..3).rev().map(|p| (TopicPartition::new(&topic, p), OffsetSpec::Latest)).collect();
    let listed = list_offsets(&cluster, &asks, IsolationLevel::ReadUncommitted).await.unwrap();
    for (k, (tp, r)) in listed.iter().enumerate() {
        assert_eq!(tp.partition, 2 - k as i32);
        assert_eq!(r.as_ref().unwrap().offset, 200);
    }
    for p in 0..3 {
        let tp = TopicPartition::new(&topic, p);
        let got = read_all(&cluster, &tp, 0, 200, IsolationLevel::ReadUncommitted).await.unwrap();
        assert_eq!(got.len(), 200);
        let by_offset: std::collections::HashMap<i64, i32> = written[p as usize].iter().copied().collect();
        assert_eq!(by_offset.len(), 200);
        for r in &got {
            let i = by_offset.get(&r.offset).unwrap_or_else(|| panic!("offset {} was not reported by the producer", r.offset));
            assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()), "at {}", r.offset);
            assert_eq!(r.value.as_deref(), Some(format!("value {i} {}", "x".repeat(*i as usize % 50)).as_bytes()));
            assert_eq!(r.timestamp, T0 + *i as i64);
            assert_eq!(r.headers, vec![Header::new("i", i.to_string()), Header::new("i", "again")]);
        }
        // A small partition_max_bytes still returns at least one whole batch.
        let f = fetch(&cluster, &tp, 100, &FetchOptions { partition_max_bytes: 1, max_wait: Duration::from_millis(50), ..Default::default() })
            .await
            .unwrap();
        assert!(!f.batches.is_empty());
        assert_eq!(f.batches[0].records[0].offset, 100);
    }
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn unknown_topic_or_partition() {
    let cluster = consumer_cluster(&[("allow.auto.create.topics", "false")]);
    let missing = common::unique_topic("fetch-missing");
    let tp = TopicPartition::new(&missing, 0);
    let start = Instant::now();
    let listed = list_offsets_within(&cluster, &[(tp.clone(), OffsetSpec::Earliest)], IsolationLevel::ReadUncommitted, Duration::from_secs(2))
        .await
        .unwrap();
    let e = listed[0].1.as_ref().unwrap_err();
    assert_eq!(e.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{e}");
    assert!(e.message().contains(&missing), "{e}");
    assert!(start.elapsed() < Duration::from_secs(6), "bounded by the timeout");

    let e = fetch(&cluster, &tp, 0, &FetchOptions { timeout: Duration::from_secs(2), ..Default::default() }).await.unwrap_err();
    assert_eq!(e.name(), "UNKNOWN_TOPIC_OR_PARTITION", "{e}");

    // A partition beyond the topic's count, next to a good one: each gets its own result.
    let admin = admin();
    let topic = common::unique_topic("fetch-partitions");
    admin.create_topic(&topic, 1, 1).await.unwrap();
    let listed = list_offsets_within(
        &cluster,
        &[(TopicPartition::new(&topic, 5), OffsetSpec::Latest), (TopicPartition::new(&topic, 0), OffsetSpec::Latest)],
        IsolationLevel::ReadUncommitted,
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(listed[0].1.as_ref().unwrap_err().name(), "UNKNOWN_TOPIC_OR_PARTITION");
    assert_eq!(listed[1].1.as_ref().unwrap().offset, 0);
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn unreachable_broker_is_a_connection_error() {
    let cluster = Cluster::new(
        ConsumerConfig::from_properties([("bootstrap.servers", "127.0.0.1:1"), ("socket.connection.setup.timeout.ms", "500")]).unwrap().client,
    )
    .unwrap();
    let tp = TopicPartition::new("t", 0);
    let start = Instant::now();
    let e = fetch(&cluster, &tp, 0, &FetchOptions { timeout: Duration::from_secs(2), ..Default::default() }).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// Retries `f` while it fails with a coordinator-not-ready code (test helper for transactions).
async fn txn_call<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = i16>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let code = f().await;
        match code {
            0 => return,
            // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, CONCURRENT_TRANSACTIONS
            14 | 15 | 16 | 51 if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => panic!("{what}: error code {code}"),
        }
    }
}

async fn txn_coordinator(cluster: &Cluster, txn_id: &str) -> Arc<polykafka::net::Connection> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match cluster.coordinator(CoordinatorType::Transaction, txn_id).await {
            Ok(node) => return cluster.connection(node).await.unwrap(),
            Err(e) if e.retriable() && Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("finding the transaction coordinator: {e}"),
        }
    }
}

/// Runs one transaction of `records` on `tp` (transactions v1 requests), committed or aborted.
async fn transaction(cluster: &Cluster, txn: &mut TxnProducer, tp: &TopicPartition, records: &[Rec], commit: bool) {
    let coord = txn_coordinator(cluster, &txn.txn_id).await;
    let tid = TransactionalId(StrBytes::from_string(txn.txn_id.clone()));
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid.clone())
        .with_v3_and_below_producer_id(ProducerId(txn.producer_id))
        .with_v3_and_below_producer_epoch(txn.epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
            .with_partitions(vec![tp.partition])]);
    let v = coord.versions().pick(AddPartitionsToTxnRequest::KEY, 0, 3).unwrap();
    txn_call("AddPartitionsToTxn", || async {
        let r = coord.send_version(&add, v, Duration::from_secs(10)).await.unwrap();
        r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
    })
    .await;
    produce_batch_as(cluster, tp, records, Some(txn)).await;
    let end = EndTxnRequest::default()
        .with_transactional_id(tid)
        .with_producer_id(ProducerId(txn.producer_id))
        .with_producer_epoch(txn.epoch)
        .with_committed(commit);
    let v = coord.versions().pick(EndTxnRequest::KEY, 0, 4).unwrap();
    txn_call("EndTxn", || async { coord.send_version(&end, v, Duration::from_secs(10)).await.unwrap().error_code }).await;
}

/// Waits until the last stable offset of `tp` is `offset`.
async fn wait_stable(cluster: &Cluster, tp: &TopicPartition, offset: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let l = list_offsets(cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadCommitted).await.unwrap();
        if l[0].1.as_ref().unwrap().offset == offset {
            return;
        }
        assert!(Instant::now() < deadline, "LSO stuck at {:?}, waiting for {offset}", l[0].1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn read_committed_skips_aborted_transactions() {
    let admin = admin();
    let topic = common::unique_topic("fetch-txn");
    admin.create_topic(&topic, 1, 1).await.unwrap();
    let tp = TopicPartition::new(&topic, 0);
    let cluster = consumer_cluster(&[]);

    let txn_id = common::unique_topic("txn");
    let coord = txn_coordinator(&cluster, &txn_id).await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_string(txn_id.clone()))))
        .with_transaction_timeout_ms(60_000);
    let ids = std::sync::Mutex::new((-1i64, -1i16));
    txn_call("InitProducerId", || async {
        let r = coord.send(&init).await.unwrap();
        *ids.lock().unwrap() = (r.producer_id.0, r.producer_epoch);
        r.error_code
    })
    .await;
    let ids = *ids.lock().unwrap();
    let mut txn = TxnProducer { txn_id, producer_id: ids.0, epoch: ids.1, sequence: 0 };

    // 0: plain; 1..=3: aborted, 4: abort marker; 5..=6: committed, 7: commit marker; 8: plain.
    // Markers are written asynchronously after EndTxn: wait until the last stable offset passes
    // each one, so the offsets are as above.
    produce_batch(&cluster, &tp, &[rec(0, T0)]).await;
    transaction(&cluster, &mut txn, &tp, &(1..4).map(|i| rec(i, T0 + i)).collect::<Vec<_>>(), false).await;
    wait_stable(&cluster, &tp, 5).await;
    transaction(&cluster, &mut txn, &tp, &(5..7).map(|i| rec(i, T0 + i)).collect::<Vec<_>>(), true).await;
    wait_stable(&cluster, &tp, 8).await;
    produce_batch(&cluster, &tp, &[rec(8, T0 + 8)]).await;
    wait_stable(&cluster, &tp, 9).await;

    let committed = read_all(&cluster, &tp, 0, 9, IsolationLevel::ReadCommitted).await.unwrap();
    assert_eq!(committed.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0, 5, 6, 8]);
    for r in &committed {
        same(r, &rec(r.offset, T0 + r.offset), r.offset);
    }
    let uncommitted = read_all(&cluster, &tp, 0, 9, IsolationLevel::ReadUncommitted).await.unwrap();
    assert_eq!(uncommitted.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0, 1, 2, 3, 5, 6, 8]);
    // From inside the aborted transaction.
    let committed = read_all(&cluster, &tp, 2, 9, IsolationLevel::ReadCommitted).await.unwrap();
    assert_eq!(committed.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![5, 6, 8]);

    // The fetch itself reports the aborted transaction under read_committed (the broker may
    // return fewer batches than exist: only check what it says about the range).
    let f = fetch(&cluster, &tp, 0, &FetchOptions { isolation: IsolationLevel::ReadCommitted, ..Default::default() }).await.unwrap();
    assert_eq!(f.aborted_transactions, vec![(txn.producer_id, 1)]);
    assert_eq!(f.last_stable_offset, 9);
    let f = fetch(&cluster, &tp, 4, &FetchOptions { isolation: IsolationLevel::ReadCommitted, ..Default::default() }).await.unwrap();
    let marker = &f.batches[0];
    assert!(marker.control && marker.base_offset == 4, "{marker:?}");
    assert!(marker.control_record().unwrap().abort());

    admin.delete_topics(&[&topic]).await.unwrap();
}
