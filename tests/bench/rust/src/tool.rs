//! Topic chores for the benchmark harness, with the polykafka core:
//!
//! `bench-tool create --topic T [--partitions P]`   create (deleting an older one first)
//! `bench-tool delete --topic T`
//! `bench-tool fill --topic T --records N --size B` write the C1 input (acks=all), print JSON
//! `bench-tool verify --topic T --size B`           read the topic back (read_committed), print
//!     {"records": n, "checksum": s, "other": m}: records whose value has B bytes, their checksum,
//!     and how many other records (warm-up records of L1) there were.
//! `bench-tool fill-indexed --topic T --records N --size B`  the K1/K2 input: record i's value is
//!     the payload with i in its first 8 bytes (big-endian), null keys; prints JSON
//! `bench-tool verify-streams --workload K1|K2 --topic OUT --records N [--keys K]`  reads a streams
//!     case's output topic back (read_committed) and prints {"ok": bool, "records": n, "problem": ..}:
//!     K1 every kept index once (count and sum of the indices in the values' last 8 bytes);
//!     K2 the last count of every key "k<j>" equal to how many of the N indices are j modulo K
//! `bench-tool delete-prefix --topic P`              deletes every topic whose name starts with P
//! `bench-tool create-many --topic P --topics T --partitions N`  creates P-0 .. P-(T-1) (M1)
//! `bench-tool count-prefix --topic P --topics T --partitions N`  prints {"records": n}: the sum of
//!     the end offsets of P-0 .. P-(T-1)
//! `verify` also prints "keyed" (records with a key k<j>) and "misplaced" (of those, how many are not
//! in partition murmur2(key) % --partitions: P4's check that every client partitions like Java)

mod assigned;
mod contract;

use std::time::Duration;

use bytes::Bytes;
use polykafka::admin::{Admin, NewTopic};
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::OffsetSpec;
use polykafka::producer::partitioner::murmur2_partition;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ProducerConfig, ProducerRecord, TopicPartition};

/// Calls `each` with the key and value of every record of `a.topic`'s partitions, from the start
/// to the end (read_committed).
async fn read_back(a: &contract::Args, mut each: impl FnMut(i32, Option<Bytes>, Option<Bytes>)) -> polykafka::Result<()> {
    let c = assigned::assigned_consumer(a)?;
    let tps: Vec<TopicPartition> = (0..a.partitions).map(|p| TopicPartition::new(&a.topic, p)).collect();
    let mut ends = Vec::new();
    for tp in &tps {
        ends.push(c.watermarks(tp, Duration::from_secs(10)).await?.1);
    }
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
        for r in batch {
            each(r.partition, r.key, r.value);
        }
    }
    c.close().await
}

/// Whether a streams case's output is what its input must give, and if not, why.
fn check_streams(a: &contract::Args, out: &[(Option<Bytes>, Option<Bytes>)]) -> (bool, String) {
    let n = a.records as u64;
    match a.workload.as_str() {
        "K1" => {
            let (want_n, want_sum) = contract::streams::k1_expected(n);
            let mut seen = std::collections::HashSet::new();
            let mut sum = 0u64;
            for (_, v) in out {
                let v = v.as_deref().unwrap_or(&[]);
                if v.len() != a.size {
                    return (false, format!("a value of {} bytes, expected {}", v.len(), a.size));
                }
                let i = contract::index_of(&v[v.len() - 8..]);
                if !contract::streams::k1_kept(i) || !seen.insert(i) {
                    return (false, format!("index {i} should not be in the output (filtered out or a duplicate)"));
                }
                sum = sum.wrapping_add(i);
            }
            if seen.len() as u64 != want_n || sum != want_sum {
                return (false, format!("{} records with index sum {sum}, expected {want_n} with sum {want_sum}", seen.len()));
            }
            (true, String::new())
        }
        "K2" => {
            let mut last: std::collections::HashMap<Bytes, i64> = std::collections::HashMap::new();
            for (k, v) in out {
                let (Some(k), Some(v)) = (k, v) else { return (false, "a record without key or value".into()) };
                let Ok(c) = <[u8; 8]>::try_from(&v[..]) else { return (false, format!("a count of {} bytes, expected 8", v.len())) };
                last.insert(k.clone(), i64::from_be_bytes(c));
            }
            let keys = a.keys.min(n);
            if last.len() as u64 != keys {
                return (false, format!("{} keys in the output, expected {keys}", last.len()));
            }
            for j in 0..keys {
                let want = (n / a.keys + u64::from(j < n % a.keys)) as i64;
                let key = contract::streams::k2_key(j, a.keys);
                match last.get(key.as_bytes()) {
                    Some(c) if *c == want => {}
                    got => return (false, format!("key {key}: last count {got:?}, expected {want}")),
                }
            }
            (true, String::new())
        }
        w => (false, format!("verify-streams: unknown workload {w}")),
    }
}

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
        "fill" | "fill-indexed" => {
            let p = Producer::new(ProducerConfig::from_properties([
                ("bootstrap.servers", a.bootstrap.as_str()),
                ("linger.ms", "5"),
                ("batch.size", "1048576"),
                ("acks", "all"),
            ])?)?;
            let indexed = cmd == "fill-indexed";
            let payload = contract::payload(a.size);
            let value_of = |i: usize| -> Bytes {
                let mut v = payload.clone();
                if indexed {
                    contract::stamp(&mut v, i as u64);
                }
                Bytes::from(v)
            };
            let fixed = value_of(0);
            let mut pending = Vec::new();
            let mut sent = 0;
            while sent < a.records {
                let n = 10_000.min(a.records - sent);
                let batch = (sent..sent + n).map(|i| ProducerRecord::new(&a.topic).value(if indexed { value_of(i) } else { fixed.clone() })).collect();
                pending.push(p.send_batch(batch).await?);
                sent += n;
            }
            p.flush(Duration::from_secs(300)).await?;
            let mut sum = contract::Checksum::default();
            let mut i = 0;
            for d in pending {
                for r in d.await {
                    r?;
                    sum.add(&if indexed { value_of(i) } else { fixed.clone() });
                    i += 1;
                }
            }
            println!("{{\"records\":{},\"checksum\":{}}}", a.records, sum.0);
            p.close(Duration::from_secs(10)).await?;
        }
        "create-many" => {
            let names = contract::m1_topics(a);
            let new: Vec<NewTopic> = names.iter().map(|t| NewTopic::new(t, a.partitions, 1)).collect();
            // In slices: one CreateTopics of 10,000 partitions waits for all their leaders at once.
            for chunk in new.chunks(10) {
                for r in admin.create_topics(chunk, false).await? {
                    if let Some(e) = r.error {
                        return Err(e);
                    }
                }
            }
            println!("{{\"topics\":{}}}", names.len());
        }
        "count-prefix" => {
            let tps: Vec<(TopicPartition, OffsetSpec)> = contract::m1_topics(a)
                .iter()
                .flat_map(|t| (0..a.partitions).map(move |p| (TopicPartition::new(t, p), OffsetSpec::Latest)))
                .collect();
            let mut n = 0i64;
            for (tp, r) in admin.list_offsets(&tps, IsolationLevel::ReadUncommitted).await? {
                n += r.map_err(|e| { eprintln!("{tp:?}: {e}"); e })?.offset;
            }
            println!("{{\"records\":{n}}}");
        }
        "delete-prefix" => {
            let names: Vec<String> = admin.list_topics(false).await?.into_iter().filter(|t| t.starts_with(&a.topic)).collect();
            if !names.is_empty() {
                admin.delete_topics(&names.iter().map(String::as_str).collect::<Vec<_>>()).await?;
            }
            println!("{{\"deleted\":{}}}", names.len());
        }
        "verify-streams" => {
            let mut records = Vec::new();
            read_back(a, |_, k, v| records.push((k, v))).await?;
            let (ok, problem) = check_streams(a, &records);
            let problem = problem.replace('"', "'");
            println!("{{\"ok\":{ok},\"records\":{},\"problem\":\"{problem}\"}}", records.len());
        }
        "verify" => {
            let (mut n, mut other, mut keyed, mut misplaced) = (0u64, 0u64, 0u64, 0u64);
            let mut sum = contract::Checksum::default();
            read_back(a, |p, k, v| {
                if let Some(k) = k.as_deref().filter(|k| k.first() == Some(&b'k')) {
                    keyed += 1;
                    if murmur2_partition(k, a.partitions) != p {
                        misplaced += 1;
                    }
                }
                let v = v.as_deref().unwrap_or(&[]);
                if v.len() == a.size {
                    n += 1;
                    sum.add(v);
                } else {
                    other += 1;
                }
            })
            .await?;
            println!("{{\"records\":{n},\"checksum\":{},\"other\":{other},\"keyed\":{keyed},\"misplaced\":{misplaced}}}", sum.0);
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
