//! The streams cases (K1, K2) with the polykafka core's streams runtime and Rust closures:
//! the contract of tests/bench/README.md ("Streams cases").
//!
//! `streams-adapter --workload K1|K2 --bootstrap HOST:PORT --topic T --records N --size B [--keys K]`
//!
//! Reads T (filled by the harness), writes T-out; application.id `bench-T`. The measured window
//! runs from the first record a user function sees to the return of `close()` (its last commit);
//! `startup_s` (start() to that first record: joining the group, creating internal topics) is
//! printed beside it.

mod contract;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use contract::streams::{k1_expected, k1_kept, k1_map, k2_key};
use polykafka::streams::{AggregateKind, ClosureFunctions, KafkaStreams, StreamRecord, StreamsConfig, TopologyBuilder};

const CLIENT: &str = "polykafka-rust-streams";

/// When the first record reached a user function, with the process CPU then.
static FIRST: OnceLock<(Instant, f64)> = OnceLock::new();

fn first_seen() {
    FIRST.get_or_init(|| (Instant::now(), contract::usage().0));
}

fn main() {
    let a = contract::parse();
    let out = format!("{}-out", a.topic);
    let n = a.records as u64;
    let done = Arc::new(AtomicBool::new(false));
    let mut b = TopologyBuilder::new();
    let mut fns = ClosureFunctions::new();
    let src = b.source(&[&a.topic]).unwrap_or_else(|e| contract::die(&e.to_string()));
    match a.workload.as_str() {
        "K1" => {
            let filter = b.user(src).unwrap();
            let map = b.user(filter).unwrap();
            b.sink(map, &out).unwrap();
            fns.filter(filter, |r| {
                first_seen();
                r.value.as_deref().is_some_and(|v| k1_kept(contract::index_of(v)))
            });
            let want = k1_expected(n).0;
            let (seen, done) = (AtomicU64::new(0), done.clone());
            fns.map(map, move |r| {
                if seen.fetch_add(1, Ordering::Relaxed) + 1 == want {
                    done.store(true, Ordering::Release);
                }
                StreamRecord { value: r.value.as_deref().map(|v| Bytes::from(k1_map(v))), ..r.clone() }
            });
        }
        "K2" => {
            let select = b.user(src).unwrap();
            let rep = b.repartition(select, "by-key").unwrap();
            let count = b.aggregate(rep, "counts", AggregateKind::Count, None).unwrap();
            let table = b.to_stream(count).unwrap();
            let peek = b.user(table).unwrap();
            b.sink(peek, &out).unwrap();
            let keys = a.keys;
            fns.map(select, move |r| {
                first_seen();
                let i = contract::index_of(r.value.as_deref().unwrap_or(&[0; 8]));
                StreamRecord { key: Some(Bytes::from(k2_key(i, keys))), ..r.clone() }
            });
            // The sum of the latest count of every key reaches N when every record was counted.
            let (last, total, done) = (Mutex::new(HashMap::<Bytes, i64>::new()), AtomicU64::new(0), done.clone());
            fns.map(peek, move |r| {
                let c = i64::from_be_bytes(r.value.as_deref().and_then(|v| v.try_into().ok()).unwrap_or([0; 8]));
                let before = last.lock().unwrap().insert(r.key.clone().unwrap_or_default(), c).unwrap_or(0);
                let t = total.fetch_add((c - before) as u64, Ordering::Relaxed).wrapping_add((c - before) as u64);
                if t == n {
                    done.store(true, Ordering::Release);
                }
                r.clone()
            });
        }
        w => contract::die(&format!("streams-adapter: unknown workload {w} (K1 or K2)")),
    }
    let topology = b.build().unwrap_or_else(|e| contract::die(&e.to_string()));
    let config = StreamsConfig::from_properties([
        ("application.id", format!("bench-{}", a.topic)),
        ("bootstrap.servers", a.bootstrap.clone()),
        ("commit.interval.ms", "1000".into()),
        ("auto.offset.reset", "earliest".into()),
    ])
    .unwrap_or_else(|e| contract::die(&e.to_string()));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let streams = KafkaStreams::new(topology, Arc::new(fns), config, rt.handle().clone()).unwrap_or_else(|e| contract::die(&e.to_string()));
    let started = Instant::now();
    streams.start().unwrap_or_else(|e| contract::die(&e.to_string()));
    let deadline = started + Duration::from_secs(900);
    while !done.load(Ordering::Acquire) {
        if let Some(f) = streams.failure() {
            contract::die(&format!("the streams application failed: {f}"));
        }
        if Instant::now() > deadline {
            contract::die("not done after 900 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if !streams.close(Duration::from_secs(60)) {
        contract::die("close() did not finish within 60 s");
    }
    let (t0, cpu0) = *FIRST.get().expect("a user function ran");
    let seconds = t0.elapsed().as_secs_f64();
    let (cpu, rss) = contract::usage();
    println!(
        "{{\"client\":\"{}\",\"workload\":\"{}\",\"records\":{n},\"bytes\":{},\"seconds\":{seconds:.6},\"cpu_s\":{:.4},\"rss_kb\":{rss},\"checksum\":null,\"latency_ms\":null,\"startup_s\":{:.3}}}",
        a.client.as_deref().unwrap_or(CLIENT),
        a.workload,
        n * a.size as u64,
        cpu - cpu0,
        (t0 - started).as_secs_f64()
    );
}
