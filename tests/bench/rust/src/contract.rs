//! The adapter contract of `tests/bench/README.md`, shared by the Rust adapters: command line,
//! payload, checksum, latency percentiles and the one JSON result line.
#![allow(dead_code)]

use std::time::Instant;

pub struct Args {
    pub workload: String,
    pub bootstrap: String,
    pub topic: String,
    pub records: usize,
    pub size: usize,
    pub partitions: i32,
    pub compression: String,
    pub txn_size: usize,
    pub rate: f64,
    pub duration: f64,
    pub client: Option<String>,
    /// K2: how many distinct keys the records are grouped into.
    pub keys: u64,
    /// M1: how many topics (`<topic>-0` .. `<topic>-(topics-1)`), each of `partitions` partitions.
    pub topics: usize,
    /// M1: `producer` or `consumer`.
    pub role: String,
    /// M1: seconds the client stays idle between the `M1 idle start` and `M1 idle end` lines.
    pub idle: f64,
}

pub fn parse() -> Args {
    parse_from(std::env::args().skip(1).collect())
}

pub fn parse_from(args: Vec<String>) -> Args {
    let mut a = Args {
        workload: "P1".into(),
        bootstrap: std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        topic: String::new(),
        records: 1_000_000,
        size: 100,
        partitions: 1,
        compression: "none".into(),
        txn_size: 1000,
        rate: 1000.0,
        duration: 30.0,
        client: None,
        keys: 10_000,
        topics: 1,
        role: "producer".into(),
        idle: 30.0,
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| die(&format!("{flag} needs a value")));
        let num = |v: &str| v.parse::<f64>().unwrap_or_else(|_| die(&format!("{flag}: not a number: {v}")));
        match flag.as_str() {
            "--workload" => a.workload = value,
            "--bootstrap" => a.bootstrap = value,
            "--topic" => a.topic = value,
            "--records" => a.records = num(&value) as usize,
            "--size" => a.size = num(&value) as usize,
            "--partitions" => a.partitions = num(&value) as i32,
            "--compression" => a.compression = value,
            "--txn-size" => a.txn_size = num(&value) as usize,
            "--rate" => a.rate = num(&value),
            "--duration" => a.duration = num(&value),
            "--client" => a.client = Some(value),
            "--keys" => a.keys = num(&value) as u64,
            "--topics" => a.topics = num(&value) as usize,
            "--role" => a.role = value,
            "--idle" => a.idle = num(&value),
            other => die(&format!("unknown flag {other}")),
        }
    }
    if a.topic.is_empty() {
        die("--topic is required");
    }
    a
}

pub fn die(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}

/// The value of every produced record: `size` bytes of lower-case letters,
/// byte i = b'a' + (i*31 + 7) % 26.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + ((i * 31 + 7) % 26) as u8).collect()
}

/// Order-independent checksum of a set of values: the sum of their CRC-32 (IEEE, zlib's),
/// modulo 2^64.
#[derive(Default, Clone, Copy)]
pub struct Checksum(pub u64);

impl Checksum {
    pub fn add(&mut self, value: &[u8]) {
        self.0 = self.0.wrapping_add(crc32fast::hash(value) as u64);
    }
}

/// user+sys CPU seconds (all threads) and peak RSS (KiB) of this process so far: getrusage.
pub fn usage() -> (f64, u64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_maxrss as u64)
}

/// Times the measured window and prints the result line.
pub struct Meter {
    start: Instant,
    cpu0: f64,
}

impl Meter {
    pub fn start() -> Meter {
        Meter { start: Instant::now(), cpu0: usage().0 }
    }

    pub fn finish(self, client: &str, a: &Args, records: usize, bytes: usize, checksum: Checksum, latency: Option<[f64; 3]>, extra: &str) {
        let seconds = self.start.elapsed().as_secs_f64();
        let (cpu, rss) = usage();
        let latency = match latency {
            Some([p50, p99, p999]) => format!("{{\"p50\":{p50:.3},\"p99\":{p99:.3},\"p999\":{p999:.3}}}"),
            None => "null".into(),
        };
        println!(
            "{{\"client\":\"{}\",\"workload\":\"{}\",\"records\":{records},\"bytes\":{bytes},\"seconds\":{seconds:.6},\"cpu_s\":{:.4},\"rss_kb\":{rss},\"checksum\":{},\"latency_ms\":{latency}{extra}}}",
            a.client.as_deref().unwrap_or(client),
            a.workload,
            cpu - self.cpu0,
            checksum.0
        );
    }
}

/// p50, p99 and p99.9 of latencies in ms (sorted in place), nearest rank.
pub fn percentiles(lat: &mut [f64]) -> [f64; 3] {
    if lat.is_empty() {
        return [0.0; 3];
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| lat[(((lat.len() as f64) * q).ceil() as usize).clamp(1, lat.len()) - 1];
    [at(0.50), at(0.99), at(0.999)]
}

/// L1: the record index is written big-endian in the first 8 bytes of the value.
pub fn stamp(value: &mut [u8], index: u64) {
    value[..8].copy_from_slice(&index.to_be_bytes());
}

pub fn index_of(value: &[u8]) -> u64 {
    u64::from_be_bytes(value[..8].try_into().unwrap())
}

/// The producer settings of a workload, as Kafka property names (the same for every client).
pub fn producer_settings(a: &Args) -> Vec<(&'static str, String)> {
    let mut p = vec![("batch.size", "1048576".to_string()), ("compression.type", "none".to_string())];
    match a.workload.as_str() {
        "P1" | "P3" => {
            p.extend([("acks", "1".into()), ("enable.idempotence", "false".into()), ("linger.ms", "5".into())]);
        }
        "P2" => p.extend([("acks", "all".into()), ("enable.idempotence", "true".into()), ("linger.ms", "5".into())]),
        "S1" => {
            p.extend([("acks", "1".into()), ("enable.idempotence", "false".into()), ("linger.ms", "5".into())]);
            p[1].1 = a.compression.clone();
        }
        "P4" | "M1" => p.extend([("acks", "all".into()), ("enable.idempotence", "true".into()), ("linger.ms", "5".into())]),
        "T1" => p.extend([("acks", "all".into()), ("enable.idempotence", "true".into()), ("linger.ms", "5".into())]),
        "L1" => p.extend([("acks", "1".into()), ("enable.idempotence", "false".into()), ("linger.ms", "0".into())]),
        w => die(&format!("no producer settings for workload {w}")),
    }
    p
}

/// P4: the key of record i, "k<i % 10000>" (all of them, built once).
pub fn p4_keys() -> Vec<String> {
    (0..10_000).map(|j| format!("k{j}")).collect()
}

/// M1: the names of the topics, `<topic>-<j>`.
pub fn m1_topics(a: &Args) -> Vec<String> {
    (0..a.topics).map(|j| format!("{}-{j}", a.topic)).collect()
}

/// The streams cases (K1, K2): expected outputs, shared by the Rust adapter and `bench-tool`.
pub mod streams {
    /// K1 keeps the records whose index is not a multiple of 4.
    pub fn k1_kept(index: u64) -> bool {
        index % 4 != 0
    }

    /// K1: how many records pass the filter, and the sum of their indices.
    pub fn k1_expected(records: u64) -> (u64, u64) {
        (0..records).filter(|i| k1_kept(*i)).fold((0, 0), |(n, s), i| (n + 1, s.wrapping_add(i)))
    }

    /// K1's map_values: the value rotated by 8 bytes (the index moves to the end).
    pub fn k1_map(value: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(value.len());
        v.extend_from_slice(&value[8..]);
        v.extend_from_slice(&value[..8]);
        v
    }

    /// K2's grouping key of the record with this index: "k<index % keys>".
    pub fn k2_key(index: u64, keys: u64) -> String {
        format!("k{}", index % keys)
    }
}
