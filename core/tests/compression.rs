//! 100,000 records with keys and headers, in each compression setting, read back byte-for-byte
//! with the low-level fetch.

mod common;

use std::time::Duration;

use bytes::Bytes;
use polykafka::admin::Admin;
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::read_all;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, Header, ProducerConfig, ProducerRecord, TopicPartition};

const N: usize = 100_000;

fn record(topic: &str, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic).partition((i % 2) as i32).key(format!("key-{i}"));
    // Compressible text and incompressible-ish bytes, empty values and tombstones.
    r.value = match i % 10 {
        0 => None,
        1 => Some(Bytes::new()),
        2 => Some(Bytes::from((0..64u32).map(|b| (b.wrapping_mul(2654435761) >> (i % 7)) as u8).collect::<Vec<u8>>())),
        _ => Some(Bytes::from(format!("{{\"n\":{i},\"text\":\"value number {i} with some repeated text\"}}"))),
    };
    r.headers = vec![Header::new("n", i.to_string()), Header::new("n", "again"), Header { key: "null".into(), value: None }];
    r.timestamp = Some(1_700_000_000_000 + i as i64);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips_100k_records() {
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    let cluster = Cluster::new(ClientConfig::with_bootstrap(&common::bootstrap()).unwrap()).unwrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = common::unique_topic(&format!("codec-{codec}"));
        admin.create_topic(&topic, 2, 1).await.unwrap();
        let producer = Producer::new(
            ProducerConfig::from_properties([
                ("bootstrap.servers", common::bootstrap().as_str()),
                ("compression.type", codec),
                ("linger.ms", "10"),
                ("batch.size", "65536"),
            ])
            .unwrap(),
        )
        .unwrap();
        let results = producer.send_batch((0..N).map(|i| record(&topic, i)).collect()).await.unwrap().await;
        assert!(results.iter().all(|r| r.is_ok()), "{codec}: {:?}", results.iter().find(|r| r.is_err()));
        producer.close(Duration::from_secs(10)).await.unwrap();

        for partition in 0..2 {
            let tp = TopicPartition::new(&topic, partition);
            let expected: Vec<ProducerRecord> = (0..N).filter(|i| i % 2 == partition as usize).map(|i| record(&topic, i)).collect();
            let got = read_all(&cluster, &tp, 0, expected.len() as i64, IsolationLevel::ReadUncommitted).await.unwrap();
            assert_eq!(got.len(), expected.len(), "{codec} p{partition}");
            for (offset, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert_eq!(g.offset, offset as i64);
                assert_eq!(g.key, e.key, "{codec} p{partition} offset {offset}");
                assert_eq!(g.value, e.value, "{codec} p{partition} offset {offset}");
                assert_eq!(g.headers, e.headers, "{codec} p{partition} offset {offset}");
                assert_eq!(Some(g.timestamp), e.timestamp, "{codec} p{partition} offset {offset}");
            }
        }
    }
}
