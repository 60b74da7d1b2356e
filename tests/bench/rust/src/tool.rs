//! Topic chores for the benchmark harness, with the polykafka core:
//!
//! `bench-tool create --topic T [--partitions P]`   create (deleting an older one first)
//! `bench-tool delete --topic T`
//! `bench-tool fill --topic T --records N --size B` write the C1 input (acks=all), print JSON
//! `bench-tool verify --topic T --size B`           read the topic back (read_committed), print
//!     {"records": n, "checksum": s, "other": m}: records whose value has B bytes, their checksum,
//!     and how many other records (warm-up records of L1) there were.

mod contract;

use std::time::Duration;

use bytes::Bytes;
use polykafka::admin::Admin;
use polykafka::consumer::Consumer;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

async fn run(cmd: &str, a: &contract::Args) -> polykafka::Result<()> {
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", a.bootstrap.as_str())])?)?;
    match cmd {
        "create" => {
            let _ = admin.delete_topics(&[a.topic.as_str()]).await;
            let mut tries = 0;
            loop {
                match admin.create_topic(&a.topic, a.partitions, 1).await {
                    Ok(()) => break,
                    Err(e) if tries < 50 => {
                        tries += 1;
                        if tries == 1 {
                            eprintln!("create {}: {e}; retrying", a.topic);
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        "delete" => {
            admin.delete_topics(&[a.topic.as_str()]).await?;
        }
        "fill" => {
            let p = Producer::new(ProducerConfig::from_properties([
                ("bootstrap.servers", a.bootstrap.as_str()),
                ("linger.ms", "5"),
                ("batch.size", "1048576"),
                ("acks", "all"),
            ])?)?;
            let value = Bytes::from(contract::payload(a.size));
            let mut pending = Vec::new();
            let mut sent = 0;
            while sent < a.records {
                let n = 10_000.min(a.records - sent);
                pending.push(p.send_batch((0..n).map(|_| ProducerRecord::new(&a.topic).value(value.clone())).collect()).await?);
                sent += n;
            }
            p.flush(Duration::from_secs(300)).await?;
            let mut sum = contract::Checksum::default();
            for d in pending {
                for r in d.await {
                    r?;
                    sum.add(&value);
                }
            }
            println!("{{\"records\":{},\"checksum\":{}}}", a.records, sum.0);
            p.close(Duration::from_secs(10)).await?;
        }
        "verify" => {
            let c = Consumer::new(ConsumerConfig::from_properties([
                ("bootstrap.servers", a.bootstrap.as_str()),
                ("auto.offset.reset", "earliest"),
                ("enable.auto.commit", "false"),
                ("isolation.level", "read_committed"),
            ])?)?;
            let tps: Vec<TopicPartition> = (0..a.partitions).map(|p| TopicPartition::new(&a.topic, p)).collect();
            c.assign(&tps)?;
            let mut ends = Vec::new();
            for tp in &tps {
                ends.push(c.watermarks(tp, Duration::from_secs(10)).await?.1);
            }
            let (mut n, mut other) = (0u64, 0u64);
            let mut sum = contract::Checksum::default();
            loop {
                let mut done = true;
                for (tp, end) in tps.iter().zip(&ends) {
                    if c.position(tp)?.unwrap_or(0) < *end {
                        done = false;
                    }
                }
                if done {
                    break;
                }
                let batch = c.poll_batch(100_000, Duration::from_secs(2)).await?;
                if batch.is_empty() {
                    // The rest are control records (transaction markers), or nothing more comes.
                    break;
                }
                for r in &batch {
                    let v = r.value.as_deref().unwrap_or(&[]);
                    if v.len() == a.size {
                        n += 1;
                        sum.add(v);
                    } else {
                        other += 1;
                    }
                }
            }
            println!("{{\"records\":{n},\"checksum\":{},\"other\":{other}}}", sum.0);
            c.close().await?;
        }
        c => contract::die(&format!("unknown command {c}")),
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    // contract::parse reads std::env::args; the command word is taken out by re-exec style parsing.
    let a = contract::parse_from(args.collect());
    if let Err(e) = run(&cmd, &a).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
