//! Soak and memory (#22), the Rust program of tests/soak/run and its "broker goes away and comes back" check.
//!
//! `soak BOOTSTRAP TOPIC GROUP RECORDS CHUNK`: produces CHUNK records (key, ~150-byte value, a `seq` header),
//! consumes them back in its group, commits, repeats until RECORDS went both ways; prints `progress N` after each
//! chunk and `ok N` at the end, or `FAIL ...` (exit 2) when a record is missing, doubled, out of order or damaged
//! (tests/soak/run samples its RSS, fds and threads meanwhile).
//!
//! `soak comeback [--cycles N] [--outage-ms M]`: starts a one-node cluster (`soak-comeback`, port base 10792 or
//! SOAK_COMEBACK_PORT_BASE) whose proxied listener goes through the fault proxy, and one idempotent producer
//! that keeps producing through N cycles of the broker going away (odd cycles: every connection reset and new
//! ones refused; even cycles: a black hole past the producer's wait for a response) and coming back. After each cycle,
//! once every record sent so far is acknowledged, it samples its own open fds, threads, tokio tasks and RSS;
//! fails when fds, threads or tasks end above their level after the first cycle, when RSS grew by more than
//! --max-rss-growth-mb, or when an acknowledged record is missing or doubled in the partition.

use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::consumer::{CommitMode, Consumer};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};
use polykafka_system_tests::proxy::Faults;
use polykafka_system_tests::{idempotent_producer, numbers_in, unique, TestCluster};

const SEND: usize = 1000;

fn fail(msg: String) -> ! {
    println!("FAIL {msg}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    polykafka_system_tests::init_logs();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("comeback") {
        return comeback(&args[1..]).await;
    }
    if args.len() != 5 {
        eprintln!("usage: soak BOOTSTRAP TOPIC GROUP RECORDS CHUNK | soak comeback [--cycles N] [--outage-ms M]");
        std::process::exit(64);
    }
    let (boot, topic, group) = (&args[0], &args[1], &args[2]);
    let total: usize = args[3].parse().expect("RECORDS");
    let chunk: usize = args[4].parse().expect("CHUNK");
    soak(boot, topic, group, total, chunk).await;
}

async fn soak(boot: &str, topic: &str, group: &str, total: usize, chunk: usize) {
    let pad = "x".repeat(130);
    let producer = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", boot), ("linger.ms", "5")]).unwrap())
        .unwrap_or_else(|e| fail(format!("producer: {e}")));
    let consumer = Consumer::new(
        ConsumerConfig::from_properties([
            ("bootstrap.servers", boot),
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
        ])
        .unwrap(),
    )
    .unwrap_or_else(|e| fail(format!("consumer: {e}")));
    let mut expected = 0usize;
    while expected < total {
        let end = (expected + chunk).min(total);
        for start in (expected..end).step_by(SEND) {
            let records = (start..(start + SEND).min(end))
                .map(|seq| {
                    ProducerRecord::new(topic)
                        .key(format!("key-{}", seq % 100))
                        .value(format!("{seq:012}|{pad}"))
                        .header("seq", seq.to_string())
                })
                .collect();
            let delivery = producer.send_batch(records).await.unwrap_or_else(|e| fail(format!("send_batch at {start}: {e}")));
            if let Some(e) = delivery.await.into_iter().find_map(Result::err) {
                fail(format!("delivery at {start}: {e}"));
            }
        }
        if expected == 0 {
            // Subscribed once the producer made the topic (auto-created), so the group assigns its partition at once.
            consumer.subscribe(&[topic.to_string()]).unwrap_or_else(|e| fail(format!("subscribe: {e}")));
        }
        let mut idle = Instant::now();
        let mut next_offset = -1;
        while expected < end {
            let records = consumer.poll_batch(1000, Duration::from_secs(1)).await.unwrap_or_else(|e| fail(format!("poll: {e}")));
            if records.is_empty() && idle.elapsed() > Duration::from_secs(60) {
                fail(format!("nothing consumed for 60 s at {expected} (chunk ends at {end})"));
            }
            for r in &records {
                idle = Instant::now();
                let value = r.value.as_deref().unwrap_or_default();
                let seq: usize = std::str::from_utf8(&value[..12.min(value.len())]).ok().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
                if seq != expected {
                    fail(format!("read {seq}, expected {expected}"));
                }
                let key_ok = r.key.as_deref() == Some(format!("key-{}", seq % 100).as_bytes());
                let header_ok = r.headers.len() == 1
                    && r.headers[0].key == "seq"
                    && r.headers[0].value.as_deref() == Some(seq.to_string().as_bytes());
                if !key_ok || !header_ok || value.len() != 143 {
                    fail(format!("record {seq} damaged: key {:?} headers {:?} value length {}", r.key, r.headers, value.len()));
                }
                expected += 1;
                next_offset = r.offset + 1;
            }
        }
        if expected != end {
            fail(format!("read past the chunk: {expected} > {end}"));
        }
        let offsets = [(TopicPartition::new(topic, 0), next_offset)];
        consumer.commit(Some(&offsets), CommitMode::Sync).await.unwrap_or_else(|e| fail(format!("commit: {e}")));
        println!("progress {expected}");
    }
    consumer.close().await.unwrap_or_else(|e| fail(format!("consumer close: {e}")));
    producer.close(Duration::from_secs(10)).await.unwrap_or_else(|e| fail(format!("producer close: {e}")));
    println!("ok {expected}");
}

/// Open fds, threads and RSS (MB) of this process.
fn own_figures() -> (usize, usize, f64) {
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0.0)
    };
    (fds, field("Threads:") as usize, field("VmRSS:") / 1024.0)
}

async fn comeback(args: &[String]) {
    let mut cycles = 20usize;
    let mut outage = Duration::from_millis(2000);
    let mut max_rss_growth = 8.0f64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| fail(format!("{a} needs a value"))).clone();
        match a.as_str() {
            "--cycles" => cycles = value().parse().expect("--cycles N"),
            "--outage-ms" => outage = Duration::from_millis(value().parse().expect("--outage-ms M")),
            "--max-rss-growth-mb" => max_rss_growth = value().parse().expect("--max-rss-growth-mb X"),
            other => fail(format!("unknown argument {other}")),
        }
    }
    let cluster = TestCluster::start_proxied("soak-comeback", 1, 10792, 20);
    let direct = cluster.bootstrap();
    let proxies = cluster.proxies().await;
    let proxy = &proxies[0];
    let topic = unique("soak-comeback");
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", direct.as_str())]).unwrap()).unwrap();
    admin.create_topic(&topic, 1, 1).await.unwrap();
    let producer = idempotent_producer(&cluster.proxy_bootstrap(), "1000", &[("retry.backoff.ms", "50"), ("reconnect.backoff.ms", "20")]);
    let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let started = Instant::now();
    let mut next = 0usize;
    let mut baseline = None;
    let mut rows = Vec::new();
    let mut failures = 0usize;
    let mut not_reconnected = Vec::new();
    for cycle in 0..=cycles {
        // Cycle 0: no outage, the level every later cycle comes back to is measured after cycle 1.
        let fault: Option<Faults> = if cycle == 0 {
            None
        } else if cycle % 2 == 1 {
            Some(Faults { refuse: true, ..Faults::default() })
        } else {
            Some(Faults { black_hole: true, ..Faults::default() })
        };
        let mut deliveries = Vec::new();
        let send = |from: usize| {
            (from..from + 200).map(|i| ProducerRecord::new(&topic).partition(0).value(i.to_string())).collect::<Vec<_>>()
        };
        for _ in 0..5 {
            deliveries.push(producer.send_batch(send(next)).await.expect("queued"));
            next += 200;
        }
        let before = proxy.counts();
        if let Some(f) = fault.clone() {
            let refuse = f.refuse;
            // A black hole lasts past the time the producer waits for a Produce response (request.timeout.ms, 1 s
            // here, plus 5 s in core/src/producer/sender.rs), so that it gives up the connection and opens another.
            let outage = if refuse { outage } else { outage.max(Duration::from_millis(6500)) };
            proxy.set(f);
            if refuse {
                proxy.reset_all();
            }
            // The producer keeps producing while the broker is away.
            let away = Instant::now();
            while away.elapsed() < outage {
                deliveries.push(producer.send_batch(send(next)).await.expect("queued"));
                next += 200;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            proxy.set(Faults::default());
        }
        for d in deliveries {
            failures += d.await.into_iter().filter(Result::is_err).count();
        }
        // Idle connections and finished tasks are let go: a short settle before sampling (figures are compared
        // below, not timed).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (fds, threads, rss) = own_figures();
        let row = (cycle, fds, threads, tasks(), rss, next);
        // The outage was one for the producer: it had to open a new connection through the proxy to finish.
        let after = proxy.counts();
        if fault.is_some() && after.accepted <= before.accepted {
            not_reconnected.push(cycle);
        }
        println!(
            "cycle {cycle}: acknowledged {next}, fds {fds}, threads {threads}, tasks {}, rss {rss:.1} MB; proxy: {} connections \
             accepted, {} refused, {} reset",
            row.3,
            after.accepted - before.accepted,
            after.refused - before.refused,
            after.resets - before.resets
        );
        if cycle == 1 {
            baseline = Some(row);
        }
        rows.push(row);
    }
    let (_, fds0, threads0, tasks0, rss0, _) = baseline.expect("at least one cycle");
    let last = *rows.last().unwrap();
    // The level at the end of the run: the lowest of the last three cycles (a connection or a task on its way
    // out at one sample does not count; one that stays does).
    let tail = &rows[rows.len().saturating_sub(3)..];
    let fds_end = tail.iter().map(|r| r.1).min().unwrap();
    let threads_end = tail.iter().map(|r| r.2).min().unwrap();
    let tasks_end = tail.iter().map(|r| r.3).min().unwrap();
    let mut problems = Vec::new();
    if !not_reconnected.is_empty() {
        problems.push(format!("no new connection after the outages of cycles {not_reconnected:?}: the fault did not reach the producer"));
    }
    if failures > 0 {
        problems.push(format!("{failures} records failed"));
    }
    if fds_end > fds0 {
        problems.push(format!("fds {fds0} -> {fds_end}"));
    }
    if threads_end > threads0 {
        problems.push(format!("threads {threads0} -> {threads_end}"));
    }
    if tasks_end > tasks0 {
        problems.push(format!("tokio tasks {tasks0} -> {tasks_end}"));
    }
    if last.4 - rss0 > max_rss_growth {
        problems.push(format!("RSS {rss0:.1} -> {:.1} MB", last.4));
    }
    producer.close(Duration::from_secs(10)).await.unwrap();
    let values = numbers_in(&direct, &topic, 0).await;
    let expected: Vec<usize> = (0..next).collect();
    if values != expected {
        let dup = values.len() as i64 - next as i64;
        problems.push(format!("the partition holds {} records for {next} acknowledged ({dup:+}), not each once in order", values.len()));
    }
    let figures = format!(
        "{cycles} outages (refused connections for {} ms, black holes of at least 6.5 s) in {:.0} s, {next} records acknowledged and read back once each; fds {fds0} -> {}, \
         threads {threads0} -> {}, tokio tasks {tasks0} -> {}, RSS {rss0:.1} -> {:.1} MB",
        outage.as_millis(),
        started.elapsed().as_secs_f64(),
        last.1,
        last.2,
        last.3,
        last.4
    );
    if problems.is_empty() {
        println!("comeback: ok: {figures}");
    } else {
        println!("comeback: FAILED ({}): {figures}", problems.join("; "));
        drop(cluster);
        std::process::exit(1);
    }
}
