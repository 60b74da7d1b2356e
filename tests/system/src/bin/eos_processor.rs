//! A consume-transform-produce loop with exactly-once semantics: reads `input`, writes
//! `out-<value>` to `output`, and commits its consumer offsets inside the same transaction.
//! Stops when no record arrived for `--idle-ms`. Any error ends the process with status 1:
//! the test restarts it, as an orchestrator would.
//!
//! `eos-processor BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [--idle-ms 5000]`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use polykafka::consumer::Consumer;
use polykafka::producer::Producer;
use polykafka::{ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

const T: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("eos-processor: {e}");
        std::process::exit(1);
    }
}

async fn run() -> polykafka::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, input, output, group, txn_id] = [0, 1, 2, 3, 4].map(|i| args.get(i).cloned().expect("BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID"));
    let idle = Duration::from_millis(
        args.iter().position(|a| a == "--idle-ms").and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(5000),
    );

    let consumer = Consumer::new(ConsumerConfig::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("group.id", group.as_str()),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        ("isolation.level", "read_committed"),
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "1000"),
    ])?)?;
    consumer.subscribe(&[input.clone()])?;
    let producer = Producer::new(ProducerConfig::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("transactional.id", txn_id.as_str()),
        ("transaction.timeout.ms", "15000"),
    ])?)?;
    producer.init_transactions(T).await?;

    let mut last_record = Instant::now();
    let mut processed = 0usize;
    loop {
        let records = consumer.poll_batch(500, Duration::from_millis(500)).await?;
        if records.is_empty() {
            if last_record.elapsed() > idle {
                break;
            }
            continue;
        }
        last_record = Instant::now();
        producer.begin_transaction()?;
        let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        let mut out = Vec::with_capacity(records.len());
        for r in &records {
            let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string();
            let mut rec = ProducerRecord::new(&output).value(format!("out-{value}"));
            rec.key = r.key.clone();
            out.push(rec);
            next.insert(TopicPartition::new(r.topic.to_string(), r.partition), r.offset + 1);
        }
        let delivery = producer.send_batch(out).await?;
        let offsets: Vec<(TopicPartition, i64)> = next.into_iter().collect();
        producer.send_offsets_to_transaction(&offsets, &consumer.group_metadata()?, T).await?;
        producer.commit_transaction(T).await?;
        if let Some(e) = delivery.await.into_iter().find_map(|r| r.err()) {
            return Err(e);
        }
        processed += records.len();
    }
    eprintln!("eos-processor: idle, processed {processed} records");
    consumer.close().await?;
    producer.close(T).await?;
    Ok(())
}
