//! polykafka (Rust core) benchmark adapter: the contract of tests/bench/README.md.
//!
//! `polykafka-adapter --workload P1|P2|P3|P4|S1|T1|C1|L1|M1 --bootstrap HOST:PORT --topic T
//!     --records N --size B [--partitions N] [--compression C] [--txn-size N] [--rate R --duration S]
//!     [--role producer|consumer --topics T --idle S]`
//!
//! Prints one JSON line. The topic exists already (the harness creates it).

mod assigned;
mod contract;

use std::time::{Duration, Instant};

use bytes::Bytes;
use contract::{Args, Checksum, Meter};
use polykafka::producer::Producer;
use polykafka::{ProducerConfig, ProducerRecord};

const CLIENT: &str = "polykafka-rust";

fn producer(a: &Args, extra: &[(&str, String)]) -> polykafka::Result<Producer> {
    let mut props: Vec<(String, String)> = vec![("bootstrap.servers".into(), a.bootstrap.clone())];
    for (k, v) in contract::producer_settings(a).into_iter().chain(extra.iter().cloned()) {
        props.push((k.to_string(), v));
    }
    Producer::new(ProducerConfig::from_properties(props)?)
}


async fn produce(a: &Args) -> polykafka::Result<()> {
    let transactional = a.workload == "T1";
    let extra = if transactional { vec![("transactional.id", format!("bench-{}", a.topic))] } else { vec![] };
    let producer = producer(a, &extra)?;
    if transactional {
        producer.init_transactions(Duration::from_secs(30)).await?;
    }
    let value = Bytes::from(contract::payload(a.size));
    let mut sum = Checksum::default();
    let chunk = if transactional { a.txn_size } else { 10_000 };
    // P4: keyed k<i % 10000>, the default partitioner (murmur2) spreads them over the partitions.
    let keys: Vec<Bytes> = if a.workload == "P4" { contract::p4_keys().into_iter().map(Bytes::from).collect() } else { Vec::new() };
    let meter = Meter::start();
    let mut sent = 0;
    let mut pending = Vec::new();
    while sent < a.records {
        let n = chunk.min(a.records - sent);
        let records: Vec<ProducerRecord> = if keys.is_empty() {
            (0..n).map(|_| ProducerRecord::new(&a.topic).value(value.clone())).collect()
        } else {
            (sent..sent + n).map(|i| ProducerRecord::new(&a.topic).key(keys[i % keys.len()].clone()).value(value.clone())).collect()
        };
        if transactional {
            producer.begin_transaction()?;
            pending.push(producer.send_batch(records).await?);
            producer.commit_transaction(Duration::from_secs(60)).await?;
        } else {
            pending.push(producer.send_batch(records).await?);
        }
        sent += n;
    }
    producer.flush(Duration::from_secs(300)).await?;
    let mut failed = 0;
    for d in pending {
        for r in d.await {
            match r {
                Ok(_) => sum.add(&value),
                Err(e) => {
                    if failed == 0 {
                        eprintln!("delivery failed: {e}");
                    }
                    failed += 1
                }
            }
        }
    }
    meter.finish(CLIENT, a, a.records - failed, (a.records - failed) * a.size, sum, None, &format!(",\"failed\":{failed}"));
    producer.close(Duration::from_secs(10)).await?;
    Ok(())
}

async fn consume(a: &Args) -> polykafka::Result<()> {
    let c = assigned::assigned_consumer(a)?;
    let mut sum = Checksum::default();
    let (mut n, mut bytes) = (0usize, 0usize);
    let meter = Meter::start();
    while n < a.records {
        let batch = c.poll_batch(100_000, Duration::from_secs(30)).await?;
        if batch.is_empty() {
            eprintln!("no record for 30 s after {n}");
            break;
        }
        for r in &batch {
            let v = r.value.as_deref().unwrap_or(&[]);
            sum.add(v);
            bytes += v.len();
        }
        n += batch.len();
    }
    meter.finish(CLIENT, a, n, bytes, sum, None, "");
    c.close().await?;
    Ok(())
}

async fn latency(a: &Args) -> polykafka::Result<()> {
    let total = (a.rate * a.duration).round() as usize;
    let c = assigned::assigned_consumer(a)?;
    // Fetch once so the consumer is connected and positioned before the clock starts.
    c.poll_batch(1, Duration::from_millis(500)).await?;
    let producer = producer(a, &[])?;
    producer.send(ProducerRecord::new(&a.topic).value(Bytes::new()).partition(0)).await?.await.ok();
    c.poll_batch(10, Duration::from_secs(5)).await?; // the warm-up record
    let meter = Meter::start();
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / a.rate);
    let size = a.size.max(8);
    let topic = a.topic.clone();
    // Paced on a thread of its own with std's sleep, as the other adapters pace: tokio's timer
    // wakes on whole milliseconds, which would make every record up to 1 ms late before the
    // client even sees it (latency is measured from the intended send time).
    let runtime = tokio::runtime::Handle::current();
    let prod = tokio::task::spawn_blocking(move || {
        let mut value = contract::payload(size);
        for i in 0..total {
            let at = start + period * i as u32;
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            contract::stamp(&mut value, i as u64);
            let _ = runtime.block_on(producer.send(ProducerRecord::new(&topic).value(Bytes::copy_from_slice(&value))))?;
        }
        runtime.block_on(async {
            producer.flush(Duration::from_secs(30)).await?;
            producer.close(Duration::from_secs(10)).await
        })
    });
    let mut lat = Vec::with_capacity(total);
    let mut sum = Checksum::default();
    let mut bytes = 0;
    while lat.len() < total {
        let batch = c.poll_batch(10_000, Duration::from_secs(10)).await?;
        if batch.is_empty() {
            eprintln!("no record for 10 s after {}", lat.len());
            break;
        }
        let now = Instant::now();
        for r in &batch {
            let v = r.value.as_deref().unwrap_or(&[]);
            if v.len() < 8 {
                continue; // a warm-up record
            }
            let i = contract::index_of(v);
            let intended = start + period * i as u32;
            lat.push(now.saturating_duration_since(intended).as_secs_f64() * 1e3);
            sum.add(v);
            bytes += v.len();
        }
    }
    prod.await.expect("producer task")?;
    let n = lat.len();
    let p = contract::percentiles(&mut lat);
    meter.finish(CLIENT, a, n, bytes, sum, Some(p), &format!(",\"rate\":{}", a.rate));
    c.close().await?;
    Ok(())
}

/// One poll of up to 1 s, the records counted and summed.
async fn drain(c: &polykafka::consumer::Consumer, n: &mut usize, sum: &mut Checksum) -> polykafka::Result<()> {
    for r in c.poll_batch(10_000, Duration::from_secs(1)).await? {
        sum.add(r.value.as_deref().unwrap_or(&[]));
        *n += 1;
    }
    Ok(())
}

/// M1: a producer that wrote one record to each of the topics, or a consumer assigned all their
/// partitions, idle for `--idle` seconds between two lines the harness samples /proc at.
async fn idle(a: &Args) -> polykafka::Result<()> {
    let topics = contract::m1_topics(a);
    let value = Bytes::from(contract::payload(a.size));
    let mut sum = Checksum::default();
    let mut n = 0;
    let idle = Duration::from_secs_f64(a.idle);
    if a.role == "producer" {
        let producer = producer(a, &[])?;
        let mut pending = Vec::new();
        for t in &topics {
            pending.push(producer.send(ProducerRecord::new(t).key(Bytes::from_static(b"k0")).value(value.clone())).await?);
        }
        producer.flush(Duration::from_secs(120)).await?;
        for d in pending {
            d.await?;
            sum.add(&value);
            n += 1;
        }
        println!("M1 idle start");
        tokio::time::sleep(idle).await;
        println!("M1 idle end");
        tokio::time::sleep(Duration::from_millis(500)).await;
        Meter::start().finish(CLIENT, a, n, n * a.size, sum, None, "");
        producer.close(Duration::from_secs(10)).await?;
    } else {
        let c = assigned::assigned_to(a, &topics)?;
        while n < a.records {
            drain(&c, &mut n, &mut sum).await?;
        }
        println!("M1 idle start");
        let until = Instant::now() + idle;
        while Instant::now() < until {
            drain(&c, &mut n, &mut sum).await?;
        }
        println!("M1 idle end");
        tokio::time::sleep(Duration::from_millis(500)).await;
        Meter::start().finish(CLIENT, a, n, n * a.size, sum, None, "");
        c.close().await?;
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = contract::parse();
    let r = match a.workload.as_str() {
        "P1" | "P2" | "P3" | "P4" | "S1" | "T1" => produce(&a).await,
        "M1" => idle(&a).await,
        "C1" => consume(&a).await,
        "L1" => latency(&a).await,
        w => contract::die(&format!("unknown workload {w}")),
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
