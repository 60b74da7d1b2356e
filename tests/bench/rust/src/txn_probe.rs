//! Where the time of a small transaction goes, against a real broker (a probe, not a test).
//!
//! `txn-probe --bootstrap HOST:PORT --topic T [--txns N] [--records R] [--pause-ms P]`
//!
//! Runs N transactions of R records each (begin, send_batch, flush, commit) and prints the
//! median and p90 of each phase: `flush` (AddPartitionsToTxn, waiting while the broker still
//! writes the previous transaction's markers, then Produce) and `commit` (EndTxn). With
//! `--pause-ms P` it sleeps P ms between transactions, so the flush no longer meets the
//! previous markers: the difference between the two runs is what the broker's marker write
//! costs every back-to-back transaction. Then, per API, requests per transaction and round trips.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use polykafka::instrumentation::{Event, EventKind, Instrumentation};
use polykafka::{ProducerConfig, ProducerRecord};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn quantile(v: &mut [Duration], q: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> polykafka::Result<()> {
    let bootstrap = arg("--bootstrap").unwrap_or_else(|| "127.0.0.1:9092".into());
    let topic = arg("--topic").expect("--topic");
    let txns: usize = arg("--txns").map(|s| s.parse().unwrap()).unwrap_or(200);
    let records: usize = arg("--records").map(|s| s.parse().unwrap()).unwrap_or(1000);
    let pause = Duration::from_millis(arg("--pause-ms").map(|s| s.parse().unwrap()).unwrap_or(0));
    let mut config = ProducerConfig::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("transactional.id", &format!("txn-probe-{topic}")),
        ("linger.ms", "5"),
        ("batch.size", "1048576"),
    ])?;
    // Every request's round trip, to say which API the time goes to.
    let requests = Instrumentation::new(1_000_000, || {});
    requests.set_wanted(EventKind::Request.bit());
    config.client.instrumentation = Some(requests.clone());
    let producer = polykafka::producer::Producer::new(config)?;
    producer.init_transactions(Duration::from_secs(30)).await?;
    let value = Bytes::from(vec![b'x'; 100]);
    let (mut flushes, mut commits) = (Vec::new(), Vec::new());
    let start = Instant::now();
    for _ in 0..txns {
        producer.begin_transaction()?;
        let batch = (0..records).map(|_| ProducerRecord::new(&topic).value(value.clone())).collect();
        let done = producer.send_batch(batch).await?;
        let t0 = Instant::now();
        producer.flush(Duration::from_secs(30)).await?;
        let t1 = Instant::now();
        producer.commit_transaction(Duration::from_secs(30)).await?;
        let t2 = Instant::now();
        for r in done.await {
            r?;
        }
        flushes.push(t1 - t0);
        commits.push(t2 - t1);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let elapsed = start.elapsed().as_secs_f64() - pause.as_secs_f64() * txns as f64;
    println!(
        "{txns} txns x {records} records, pause {pause:?}: {:.0} records/s (pauses excluded); flush p50 {:.2} ms p90 {:.2} ms; commit p50 {:.2} ms p90 {:.2} ms",
        (txns * records) as f64 / elapsed,
        quantile(&mut flushes, 0.5),
        quantile(&mut flushes, 0.9),
        quantile(&mut commits, 0.5),
        quantile(&mut commits, 0.9)
    );
    let mut per_api: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for event in requests.drain().events {
        if let Event::Request(info) = event {
            per_api.entry(info.api_name()).or_default().push(info.duration);
        }
    }
    for (api, mut durations) in per_api {
        println!(
            "  {api}: {:.2} per transaction, round trip p50 {:.2} ms p90 {:.2} ms",
            durations.len() as f64 / txns as f64,
            quantile(&mut durations, 0.5),
            quantile(&mut durations, 0.9)
        );
    }
    producer.close(Duration::from_secs(10)).await
}
