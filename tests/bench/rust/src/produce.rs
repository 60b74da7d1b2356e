//! Producer throughput of the Rust core against a real broker. Prints one JSON line per run.
//!
//! `produce-bench --bootstrap 127.0.0.1:9092 --mode idempotent|transactional|acks1 \
//!     [--records 1000000] [--size 100] [--txn-size 1000] [--compression none]`
//!
//! Client CPU is read from /proc/self/stat (user+sys of this process).

use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ProducerConfig, ProducerRecord};

struct Args {
    bootstrap: String,
    mode: String,
    records: usize,
    size: usize,
    txn_size: usize,
    compression: String,
}

fn parse() -> Args {
    let mut a = Args {
        bootstrap: std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        mode: "idempotent".into(),
        records: 1_000_000,
        size: 100,
        txn_size: 1000,
        compression: "none".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--bootstrap" => a.bootstrap = value,
            "--mode" => a.mode = value,
            "--records" => a.records = value.parse().expect("--records N"),
            "--size" => a.size = value.parse().expect("--size BYTES"),
            "--txn-size" => a.txn_size = value.parse().expect("--txn-size N"),
            "--compression" => a.compression = value,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> polykafka::Result<()> {
    let a = parse();
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", a.bootstrap.as_str())])?)?;
    let topic = format!("bench-{}-{}", a.mode, std::process::id());
    admin.create_topic(&topic, 3, 1).await?;

    let mut props = vec![
        ("bootstrap.servers".to_string(), a.bootstrap.clone()),
        ("linger.ms".to_string(), "5".to_string()),
        ("batch.size".to_string(), "262144".to_string()),
        ("compression.type".to_string(), a.compression.clone()),
    ];
    match a.mode.as_str() {
        "idempotent" => {}
        "acks1" => props.push(("acks".into(), "1".into())),
        "transactional" => props.push(("transactional.id".into(), format!("bench-{}", std::process::id()))),
        m => panic!("unknown mode {m}"),
    }
    let producer = Producer::new(ProducerConfig::from_properties(props)?)?;
    let transactional = a.mode == "transactional";
    if transactional {
        producer.init_transactions(Duration::from_secs(30)).await?;
    }
    let value = vec![b'x'; a.size];
    let chunk = if transactional { a.txn_size } else { 10_000 };
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut sent = 0;
    let mut pending = Vec::new();
    // Seconds spent queueing, delivering and committing (transactional mode).
    let mut phases = [0f64; 3];
    while sent < a.records {
        let n = chunk.min(a.records - sent);
        let records: Vec<ProducerRecord> = (0..n).map(|_| ProducerRecord::new(&topic).value(value.clone())).collect();
        if transactional {
            producer.begin_transaction()?;
            let t0 = Instant::now();
            let delivery = producer.send_batch(records).await?;
            let t1 = Instant::now();
            producer.flush(Duration::from_secs(60)).await?;
            let t2 = Instant::now();
            producer.commit_transaction(Duration::from_secs(60)).await?;
            phases[0] += (t1 - t0).as_secs_f64();
            phases[1] += (t2 - t1).as_secs_f64();
            phases[2] += t2.elapsed().as_secs_f64();
            let failed = delivery.await.into_iter().filter(|r| r.is_err()).count();
            assert_eq!(failed, 0, "records failed in a committed transaction");
        } else {
            pending.push(producer.send_batch(records).await?);
        }
        sent += n;
    }
    producer.flush(Duration::from_secs(120)).await?;
    let mut failed = 0;
    for d in pending {
        failed += d.await.into_iter().filter(|r| r.is_err()).count();
    }
    let secs = start.elapsed().as_secs_f64();
    if transactional {
        let n = (a.records / a.txn_size).max(1) as f64;
        eprintln!(
            "per transaction: queue {:.2} ms, deliver {:.2} ms, commit {:.2} ms",
            phases[0] / n * 1e3,
            phases[1] / n * 1e3,
            phases[2] / n * 1e3
        );
    }
    let cpu = cpu_seconds() - cpu0;
    producer.close(Duration::from_secs(10)).await?;
    admin.delete_topics(&[topic.as_str()]).await?;
    println!(
        "{{\"client\":\"polykafka-rust\",\"mode\":\"{}\",\"records\":{},\"size\":{},\"txn_size\":{},\"compression\":\"{}\",\"failed\":{},\"seconds\":{:.3},\"records_per_s\":{:.0},\"mb_per_s\":{:.2},\"cpu_s_per_million\":{:.3}}}",
        a.mode,
        a.records,
        a.size,
        if transactional { a.txn_size } else { 0 },
        a.compression,
        failed,
        secs,
        a.records as f64 / secs,
        (a.records * a.size) as f64 / secs / 1e6,
        cpu / a.records as f64 * 1e6
    );
    Ok(())
}
