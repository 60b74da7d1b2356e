//! rust-rdkafka (librdkafka 2.12, built from source with cmake) benchmark adapter:
//! the contract of tests/bench/README.md. BaseProducer (poll(0) every 1000 sends, poll on a full
//! queue) and BaseConsumer (assigned partitions, from the beginning).

#[path = "../../rust/src/contract.rs"]
mod contract;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::{Args, Checksum, Meter};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

const CLIENT: &str = "rust-rdkafka";

#[derive(Clone, Default)]
struct Counter {
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
}
impl ClientContext for Counter {}
impl ProducerContext for Counter {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        match r {
            Ok(_) => self.ok.fetch_add(1, Ordering::Relaxed),
            Err((e, _)) => {
                if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("delivery failed: {e}");
                }
                0
            }
        };
    }
}

fn producer(a: &Args, extra: &[(&str, String)]) -> BaseProducer<Counter> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &a.bootstrap);
    c.set("queue.buffering.max.messages", "1000000");
    c.set("queue.buffering.max.kbytes", "1048576");
    for (k, v) in contract::producer_settings(a).into_iter().chain(extra.iter().cloned()) {
        c.set(k, v);
    }
    c.create_with_context(Counter::default()).expect("producer")
}

fn consumer(a: &Args) -> BaseConsumer {
    consumer_of(a, std::slice::from_ref(&a.topic))
}

/// A consumer of `a.partitions` partitions of each of `topics` from their start (M1: many topics).
fn consumer_of(a: &Args, topics: &[String]) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &a.bootstrap)
        .set("group.id", format!("bench-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in 0..a.partitions {
            tpl.add_partition_offset(t, p, Offset::Beginning).unwrap();
        }
    }
    c.assign(&tpl).expect("assign");
    c
}

fn send(p: &BaseProducer<Counter>, topic: &str, value: &[u8]) {
    send_keyed(p, topic, None, value)
}

fn send_keyed(p: &BaseProducer<Counter>, topic: &str, key: Option<&[u8]>, value: &[u8]) {
    let mut rec = BaseRecord::<[u8], [u8]>::to(topic).payload(value);
    if let Some(k) = key {
        rec = rec.key(k);
    }
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                rec = r;
                p.poll(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("send: {e}"),
        }
    }
}

fn produce(a: &Args) {
    let t1 = a.workload == "T1";
    let mut extra = if t1 { vec![("transactional.id", format!("bench-{}", a.topic))] } else { vec![] };
    // P4: Java's hash for the keys (librdkafka's default is consistent_random: CRC-32)
    let keys = if a.workload == "P4" { contract::p4_keys() } else { Vec::new() };
    if !keys.is_empty() {
        extra.push(("partitioner", "murmur2_random".into()));
    }
    let p = producer(a, &extra);
    if t1 {
        p.init_transactions(Duration::from_secs(30)).expect("init_transactions");
    }
    let value = contract::payload(a.size);
    let meter = Meter::start();
    for i in 0..a.records {
        if t1 && i % a.txn_size == 0 {
            if i > 0 {
                p.commit_transaction(Duration::from_secs(60)).expect("commit");
            }
            p.begin_transaction().expect("begin");
        }
        send_keyed(&p, &a.topic, keys.get(i % 10_000).map(|k| k.as_bytes()), &value);
        if i % 1000 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    if t1 {
        p.commit_transaction(Duration::from_secs(60)).expect("commit");
    }
    p.flush(Duration::from_secs(300)).expect("flush");
    let ok = p.context().ok.load(Ordering::Relaxed);
    let failed = p.context().failed.load(Ordering::Relaxed);
    let mut sum = Checksum::default();
    for _ in 0..ok {
        sum.add(&value);
    }
    meter.finish(CLIENT, a, ok, ok * a.size, sum, None, &format!(",\"failed\":{failed}"));
}

fn consume(a: &Args) {
    let c = consumer(a);
    let mut sum = Checksum::default();
    let (mut n, mut bytes) = (0, 0);
    let meter = Meter::start();
    let mut idle = Instant::now();
    while n < a.records {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let v = m.payload().unwrap_or(&[]);
                sum.add(v);
                bytes += v.len();
                n += 1;
                idle = Instant::now();
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None if idle.elapsed() > Duration::from_secs(30) => {
                eprintln!("no record for 30 s after {n}");
                break;
            }
            None => {}
        }
    }
    meter.finish(CLIENT, a, n, bytes, sum, None, "");
}

fn latency(a: &Args) {
    let total = (a.rate * a.duration).round() as usize;
    let c = consumer(a);
    let p = producer(a, &[]);
    // Connect both before the clock starts: one warm-up record (shorter than 8 bytes) through.
    send(&p, &a.topic, b"w");
    p.flush(Duration::from_secs(30)).expect("flush");
    let t0 = Instant::now();
    loop {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) if m.payload().map_or(0, |v| v.len()) < 8 => break,
            Some(Err(e)) => panic!("consume: {e}"),
            _ if t0.elapsed() > Duration::from_secs(30) => panic!("the warm-up record did not arrive"),
            _ => {}
        }
    }
    let period = Duration::from_secs_f64(1.0 / a.rate);
    let meter = Meter::start();
    let start = Instant::now();
    let topic = a.topic.clone();
    let size = a.size.max(8);
    let prod = std::thread::spawn(move || {
        let mut value = contract::payload(size);
        for i in 0..total {
            let at = start + period * i as u32;
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            contract::stamp(&mut value, i as u64);
            send(&p, &topic, &value);
            p.poll(Duration::ZERO);
        }
        p.flush(Duration::from_secs(30)).expect("flush");
    });
    let mut lat = Vec::with_capacity(total);
    let mut sum = Checksum::default();
    let mut bytes = 0;
    let mut idle = Instant::now();
    while lat.len() < total {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let now = Instant::now();
                let v = m.payload().unwrap_or(&[]);
                let i = contract::index_of(v);
                lat.push(now.saturating_duration_since(start + period * i as u32).as_secs_f64() * 1e3);
                sum.add(v);
                bytes += v.len();
                idle = Instant::now();
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None if idle.elapsed() > Duration::from_secs(10) => {
                eprintln!("no record for 10 s after {}", lat.len());
                break;
            }
            None => {}
        }
    }
    prod.join().expect("producer thread");
    let n = lat.len();
    let pc = contract::percentiles(&mut lat);
    meter.finish(CLIENT, a, n, bytes, sum, Some(pc), &format!(",\"rate\":{}", a.rate));
}

fn poll_one(c: &BaseConsumer, d: Duration, n: &mut usize, sum: &mut Checksum) {
    match c.poll(d) {
        Some(Ok(m)) => {
            sum.add(m.payload().unwrap_or(&[]));
            *n += 1;
        }
        Some(Err(e)) => panic!("consume: {e}"),
        None => {}
    }
}

/// M1: a producer that sent one record (key k0) to each topic, then poll(1 s) until the end of the idle
/// time; or a consumer assigned every partition (from the beginning), poll(1 s) after poll.
fn idle(a: &Args) {
    let topics = contract::m1_topics(a);
    let value = contract::payload(a.size);
    let mut sum = Checksum::default();
    let mut n = 0;
    let until = |s: f64| Instant::now() + Duration::from_secs_f64(s);
    if a.role == "producer" {
        let p = producer(a, &[("partitioner", "murmur2_random".into())]);
        for t in &topics {
            send_keyed(&p, t, Some(b"k0"), &value);
        }
        p.flush(Duration::from_secs(120)).expect("flush");
        n = p.context().ok.load(Ordering::Relaxed);
        for _ in 0..n {
            sum.add(&value);
        }
        println!("M1 idle start");
        let end = until(a.idle);
        while Instant::now() < end {
            p.poll(end.saturating_duration_since(Instant::now()).min(Duration::from_secs(1)));
        }
        println!("M1 idle end");
        std::thread::sleep(Duration::from_millis(500));
    } else {
        let c = consumer_of(a, &topics);
        while n < a.records {
            poll_one(&c, Duration::from_secs(1), &mut n, &mut sum);
        }
        println!("M1 idle start");
        let end = until(a.idle);
        while Instant::now() < end {
            poll_one(&c, end.saturating_duration_since(Instant::now()).min(Duration::from_secs(1)), &mut n, &mut sum);
        }
        println!("M1 idle end");
        std::thread::sleep(Duration::from_millis(500));
    }
    Meter::start().finish(CLIENT, a, n, n * a.size, sum, None, "");
}

fn main() {
    let a = contract::parse();
    match a.workload.as_str() {
        "P1" | "P2" | "P3" | "P4" | "S1" | "T1" => produce(&a),
        "M1" => idle(&a),
        "C1" => consume(&a),
        "L1" => latency(&a),
        w => contract::die(&format!("unknown workload {w}")),
    }
}
