//! rskafka benchmark adapter: the contract of tests/bench/README.md.
//! rskafka has no acks setting (always acks=all), no idempotence and no transactions: it runs
//! P1, P3, S1 (with acks=all), C1 and L1. Producing goes through its BatchProducer
//! (linger 5 ms, 1 MiB RecordAggregator), with up to 100,000 records awaiting their batch.

#[path = "../../rust/src/contract.rs"]
mod contract;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::{Args, Checksum, Meter};
use futures::stream::{FuturesUnordered, StreamExt};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::producer::aggregator::RecordAggregator;
use rskafka::client::producer::BatchProducerBuilder;
use rskafka::client::ClientBuilder;
use rskafka::record::Record;

const CLIENT: &str = "rskafka";
/// The aggregator counts records approximately; 1 MiB made batches the broker rejects
/// (MessageTooLarge: over its 1,048,588-byte message.max.bytes): it leaves out the per-record
/// overhead (~9% at 100 B), so 900,000.
const AGGREGATE_BYTES: usize = 900_000;

async fn partition(a: &Args) -> Arc<PartitionClient> {
    let client = ClientBuilder::new(vec![a.bootstrap.clone()]).build().await.expect("client");
    Arc::new(client.partition_client(a.topic.clone(), 0, UnknownTopicHandling::Retry).await.expect("partition client"))
}

fn compression(a: &Args) -> Compression {
    match (a.workload.as_str(), a.compression.as_str()) {
        ("S1", "snappy") => Compression::Snappy,
        ("S1", "zstd") => Compression::Zstd,
        ("S1", c) => contract::die(&format!("compression {c} not built in")),
        _ => Compression::NoCompression,
    }
}

fn record(value: Vec<u8>) -> Record {
    Record { key: None, value: Some(value), headers: BTreeMap::new(), timestamp: chrono::Utc::now() }
}

async fn produce(a: &Args) {
    let pc = partition(a).await;
    let linger = if a.workload == "L1" { 0 } else { 5 };
    let producer = BatchProducerBuilder::new(pc)
        .with_linger(Duration::from_millis(linger))
        .with_compression(compression(a))
        .build(RecordAggregator::new(AGGREGATE_BYTES));
    let value = contract::payload(a.size);
    let meter = Meter::start();
    let mut pending = FuturesUnordered::new();
    let (mut ok, mut failed) = (0usize, 0usize);
    let mut tally = |r: Result<_, rskafka::client::producer::Error>| match r {
        Ok(_) => ok += 1,
        Err(e) => {
            if failed == 0 {
                eprintln!("produce failed: {e}");
            }
            failed += 1
        }
    };
    for _ in 0..a.records {
        while pending.len() >= 100_000 {
            tally(pending.next().await.unwrap());
        }
        pending.push(producer.produce(record(value.clone())));
    }
    while let Some(r) = pending.next().await {
        tally(r);
    }
    let mut sum = Checksum::default();
    for _ in 0..ok {
        sum.add(&value);
    }
    meter.finish(CLIENT, a, ok, ok * a.size, sum, None, &format!(",\"failed\":{failed},\"acks\":\"all\""));
}

async fn consume(a: &Args) {
    let pc = partition(a).await;
    let mut sum = Checksum::default();
    let (mut n, mut bytes, mut offset) = (0usize, 0usize, 0i64);
    let meter = Meter::start();
    let mut idle = Instant::now();
    while n < a.records {
        let (recs, _hw) = pc.fetch_records(offset, 1..52_428_800, 500).await.expect("fetch");
        if recs.is_empty() && idle.elapsed() > Duration::from_secs(30) {
            eprintln!("no record for 30 s after {n}");
            break;
        }
        for r in recs {
            if r.offset < offset {
                continue;
            }
            let v = r.record.value.as_deref().unwrap_or(&[]);
            sum.add(v);
            bytes += v.len();
            n += 1;
            offset = r.offset + 1;
            idle = Instant::now();
        }
    }
    meter.finish(CLIENT, a, n, bytes, sum, None, "");
}

async fn latency(a: &Args) {
    let total = (a.rate * a.duration).round() as usize;
    let pc = partition(a).await;
    let producer = Arc::new(BatchProducerBuilder::new(pc.clone()).with_linger(Duration::ZERO).build(RecordAggregator::new(AGGREGATE_BYTES)));
    // One warm-up record (shorter than 8 bytes) through before the clock starts.
    producer.produce(record(b"w".to_vec())).await.expect("warm-up");
    let (warm, _) = pc.fetch_records(0, 1..52_428_800, 5000).await.expect("fetch");
    let mut offset = warm.last().map_or(0, |r| r.offset + 1);
    let period = Duration::from_secs_f64(1.0 / a.rate);
    let meter = Meter::start();
    let start = tokio::time::Instant::now();
    let std_start = Instant::now() - start.elapsed();
    let size = a.size.max(8);
    let prod = tokio::spawn(async move {
        let mut value = contract::payload(size);
        type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;
        let mut pending: FuturesUnordered<Pending> = FuturesUnordered::new();
        for i in 0..total {
            let at = start + period * i as u32;
            // Keep the deliveries moving while waiting for the next send time.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => break,
                    Some(r) = pending.next(), if !pending.is_empty() => { r.expect("produce"); }
                }
            }
            contract::stamp(&mut value, i as u64);
            let p = producer.clone();
            let rec = record(value.clone());
            pending.push(Box::pin(async move { p.produce(rec).await.map(|_| ()).map_err(|e| e.to_string()) }));
        }
        while let Some(r) = pending.next().await {
            r.expect("produce");
        }
    });
    let mut lat = Vec::with_capacity(total);
    let mut sum = Checksum::default();
    let mut bytes = 0usize;
    let mut idle = Instant::now();
    while lat.len() < total {
        let (recs, _) = pc.fetch_records(offset, 1..52_428_800, 100).await.expect("fetch");
        let now = Instant::now();
        if recs.is_empty() && idle.elapsed() > Duration::from_secs(10) {
            eprintln!("no record for 10 s after {}", lat.len());
            break;
        }
        for r in recs {
            if r.offset < offset {
                continue;
            }
            let v = r.record.value.as_deref().unwrap_or(&[]);
            let i = contract::index_of(v);
            lat.push(now.saturating_duration_since(std_start + period * i as u32).as_secs_f64() * 1e3);
            sum.add(v);
            bytes += v.len();
            offset = r.offset + 1;
            idle = Instant::now();
        }
    }
    prod.await.expect("producer task");
    let n = lat.len();
    let pc = contract::percentiles(&mut lat);
    meter.finish(CLIENT, a, n, bytes, sum, Some(pc), &format!(",\"rate\":{},\"acks\":\"all\"", a.rate));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = contract::parse();
    match a.workload.as_str() {
        "P1" | "P3" | "S1" => produce(&a).await,
        "C1" => consume(&a).await,
        "L1" => latency(&a).await,
        w => contract::die(&format!("rskafka does not support workload {w}")),
    }
}
