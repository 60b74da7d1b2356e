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
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &a.bootstrap)
        .set("group.id", format!("bench-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..a.partitions {
        tpl.add_partition_offset(&a.topic, p, Offset::Beginning).unwrap();
    }
    c.assign(&tpl).expect("assign");
    c
}

fn send(p: &BaseProducer<Counter>, topic: &str, value: &[u8]) {
    let mut rec = BaseRecord::<(), [u8]>::to(topic).payload(value);
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
    let extra = if t1 { vec![("transactional.id", format!("bench-{}", a.topic))] } else { vec![] };
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
        send(&p, &a.topic, &value);
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

fn main() {
    let a = contract::parse();
    match a.workload.as_str() {
        "P1" | "P2" | "P3" | "S1" | "T1" => produce(&a),
        "C1" => consume(&a),
        "L1" => latency(&a),
        w => contract::die(&format!("unknown workload {w}")),
    }
}
