//! `perf produce|consume`: the knobs and the printed lines of Kafka's
//! kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh, so results compare side by side.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use polykafka::config::Role;
use polykafka::producer::Producer;
use polykafka::{Consumer, ProducerRecord};

use crate::args::{Connection, PerfCommand, PerfConsumeArgs, PerfProduceArgs};
use crate::output::{self, Failure};
use crate::produce::{completion, payload, Shared};
use crate::settings::{parse_properties, Settings};

const MB: f64 = 1024.0 * 1024.0;

pub async fn run(conn: &Connection, cmd: PerfCommand) -> Result<(), Failure> {
    match cmd {
        PerfCommand::Produce(a) => produce(conn, a).await,
        PerfCommand::Consume(a) => consume(conn, a).await,
    }
}

/// The client settings of a tool: `--producer-props`/`--producer.config` go through -X's checks.
fn with_tool_props(conn: &Connection, file: Option<&std::path::Path>, props: &[String]) -> Result<Connection, Failure> {
    let mut c = conn.clone();
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", f.display())))?;
        c.properties.extend(parse_properties(&text).into_iter().map(|(k, v)| format!("{k}={v}")));
    }
    c.properties.extend(props.iter().cloned());
    Ok(c)
}

/// Latency statistics of kafka-producer-perf-test (Stats in ProducerPerformance.java): totals,
/// a window printed every 5 s, and sampled latencies for the percentiles.
struct Stats {
    start: Instant,
    count: u64,
    bytes: u64,
    max_latency: u64,
    total_latency: u64,
    sampling: u64,
    latencies: Vec<u32>,
    window_start: Instant,
    window_count: u64,
    window_bytes: u64,
    window_max: u64,
    window_total: u64,
}

impl Stats {
    fn new(num_records: u64) -> Stats {
        let now = Instant::now();
        Stats {
            start: now,
            count: 0,
            bytes: 0,
            max_latency: 0,
            total_latency: 0,
            sampling: (num_records / num_records.clamp(1, 500_000)).max(1),
            latencies: Vec::new(),
            window_start: now,
            window_count: 0,
            window_bytes: 0,
            window_max: 0,
            window_total: 0,
        }
    }

    fn record(&mut self, latency_ms: u64, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
        self.total_latency += latency_ms;
        self.max_latency = self.max_latency.max(latency_ms);
        self.window_count += 1;
        self.window_bytes += bytes;
        self.window_total += latency_ms;
        self.window_max = self.window_max.max(latency_ms);
        if self.count % self.sampling == 0 {
            self.latencies.push(latency_ms as u32);
        }
        if self.window_start.elapsed() >= Duration::from_secs(5) {
            let secs = self.window_start.elapsed().as_secs_f64();
            println!(
                "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
                self.window_count,
                self.window_count as f64 / secs,
                self.window_bytes as f64 / MB / secs,
                self.window_total as f64 / self.window_count as f64,
                self.window_max as f64
            );
            self.window_start = Instant::now();
            (self.window_count, self.window_bytes, self.window_max, self.window_total) = (0, 0, 0, 0);
        }
    }

    fn total_line(&mut self) -> String {
        let secs = self.start.elapsed().as_secs_f64();
        self.latencies.sort_unstable();
        let pct = |p: f64| -> u32 {
            if self.latencies.is_empty() {
                0
            } else {
                self.latencies[((p * self.latencies.len() as f64) as usize).min(self.latencies.len() - 1)]
            }
        };
        format!(
            "{} records sent, {:.6} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            self.count as f64 / secs,
            self.bytes as f64 / MB / secs,
            if self.count == 0 { 0.0 } else { self.total_latency as f64 / self.count as f64 },
            self.max_latency as f64,
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999)
        )
    }
}

async fn produce(conn: &Connection, a: PerfProduceArgs) -> Result<(), Failure> {
    let payloads: Vec<Bytes> = match (&a.payload_file, a.record_size) {
        (Some(f), _) => {
            let text = std::fs::read_to_string(f).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", f.display())))?;
            let lines: Vec<Bytes> = text.lines().filter(|l| !l.is_empty()).map(|l| Bytes::copy_from_slice(l.as_bytes())).collect();
            if lines.is_empty() {
                return Err(Failure::Usage(format!("{}: no payloads in the file", f.display())));
            }
            lines
        }
        (None, Some(size)) => vec![payload(size)],
        (None, None) => return Err(Failure::Usage("give --record-size or --payload-file".into())),
    };
    let c = with_tool_props(conn, a.producer_config.as_deref(), &a.producer_props)?;
    let settings = Settings::load(&c)?;
    let at = output::at(settings.bootstrap()?);
    let producer = Producer::new(settings.producer(&[], "perf produce")?).map_err(Failure::Config)?;
    producer.partition_count(&a.topic, true).await.map_err(Failure::kafka(format!("topic '{}' {at}", a.topic)))?;
    let stats = Arc::new(Mutex::new(Stats::new(a.num_records)));
    let outcomes: Shared = Arc::default();
    let start = Instant::now();
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..a.num_records {
        if a.throughput > 0.0 {
            let due = start + Duration::from_secs_f64(i as f64 / a.throughput);
            tokio::time::sleep_until(due.into()).await;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let value = payloads[(rng % payloads.len() as u64) as usize].clone();
        let size = value.len() as u64;
        let sent_at = Instant::now();
        let st = stats.clone();
        let done = completion(&outcomes, move |r| {
            if r.is_ok() {
                st.lock().unwrap_or_else(|p| p.into_inner()).record(sent_at.elapsed().as_millis() as u64, size);
            }
        });
        producer
            .send_with(ProducerRecord::new(&a.topic).value(value), done, true)
            .await
            .map_err(Failure::kafka(format!("producing to topic '{}' {at}", a.topic)))?;
    }
    let closed = producer.close(Duration::from_secs(60)).await;
    let line = stats.lock().unwrap_or_else(|p| p.into_inner()).total_line();
    output::write_stdout(&format!("{line}\n"))?;
    let o = outcomes.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = &o.first_error {
        return Err(Failure::Kafka(format!("{} records to topic '{}' failed {at}", o.failed, a.topic), e.clone()));
    }
    closed.map_err(Failure::kafka(format!("flushing to topic '{}' {at}", a.topic)))
}

/// `yyyy-MM-dd HH:mm:ss:SSS` in UTC (Java's SimpleDateFormat in the tool uses the JVM's zone;
/// the tests run in UTC).
fn java_time(t: SystemTime) -> String {
    let ms = t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}:{:03}", rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000)
}

const CONSUMER_HEADER: &str = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

async fn consume(conn: &Connection, a: PerfConsumeArgs) -> Result<(), Failure> {
    let c = with_tool_props(conn, a.consumer_config.as_deref(), &a.command_property)?;
    let settings = Settings::load(&c)?;
    let at = output::at(settings.bootstrap()?);
    let group = a.group.clone().unwrap_or_else(|| format!("perf-consumer-{}", std::process::id()));
    let reset = if a.from_latest { "latest" } else { "earliest" };
    let cfg = settings.consumer(&[("group.id", group.clone()), ("auto.offset.reset", reset.into())], "perf consume")?;
    let admin = polykafka::admin::Admin::new(settings.admin_beside(&[Role::Consumer], "perf consume")?).map_err(Failure::Config)?;
    admin.describe_topics(&[a.topic.as_str()]).await.map_err(Failure::kafka(format!("topic '{}' {at}", a.topic)))?;
    admin.close().await;
    let consumer = Consumer::new(cfg).map_err(Failure::Config)?;
    consumer.subscribe(std::slice::from_ref(&a.topic)).map_err(Failure::kafka("subscribing"))?;
    if !a.hide_header {
        if a.show_detailed_stats {
            output::write_stdout("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n")?;
        } else {
            output::write_stdout(&format!("{CONSUMER_HEADER}\n"))?;
        }
    }
    let start_wall = SystemTime::now();
    let start = Instant::now();
    let mut joined: Option<Instant> = None;
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut last_record = Instant::now();
    let mut last_report = (Instant::now(), 0u64, 0u64);
    let timeout = Duration::from_millis(a.timeout);
    while count < a.messages {
        let (events, records) = consumer
            .poll_batch_events(10_000, Duration::from_millis(100))
            .await
            .map_err(Failure::kafka(format!("consuming topic '{}' {at}", a.topic)))?;
        if joined.is_none() && events.iter().any(|e| matches!(e, polykafka::ConsumerEvent::Assigned(_))) {
            joined = Some(Instant::now());
        }
        if records.is_empty() {
            if last_record.elapsed() > timeout {
                break;
            }
            continue;
        }
        last_record = Instant::now();
        for r in &records {
            count += 1;
            bytes += r.value.as_ref().map_or(0, |v| v.len()) as u64 + r.key.as_ref().map_or(0, |k| k.len()) as u64;
            if count >= a.messages {
                break;
            }
        }
        if a.show_detailed_stats && last_report.0.elapsed() >= Duration::from_millis(a.reporting_interval) {
            let secs = last_report.0.elapsed().as_secs_f64();
            let (mb, n) = ((bytes - last_report.2) as f64 / MB, count - last_report.1);
            output::write_stdout(&format!(
                "{}, 0, {:.4}, {:.4}, {}, {:.4}, 0, {}, {:.4}, {:.4}\n",
                java_time(SystemTime::now()),
                bytes as f64 / MB,
                mb / secs,
                count,
                n as f64 / secs,
                (secs * 1000.0) as u64,
                mb / secs,
                n as f64 / secs
            ))?;
            last_report = (Instant::now(), count, bytes);
        }
    }
    let end_wall = SystemTime::now();
    let elapsed = start.elapsed().as_secs_f64();
    let rebalance_ms = joined.map_or(0, |j| (j - start).as_millis() as u64);
    let fetch_secs = (elapsed - rebalance_ms as f64 / 1000.0).max(1e-9);
    let mb = bytes as f64 / MB;
    let _ = consumer.close().await;
    if count < a.messages {
        eprintln!("WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded.", a.timeout);
    }
    if !a.show_detailed_stats {
        output::write_stdout(&format!(
            "{}, {}, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}\n",
            java_time(start_wall),
            java_time(end_wall),
            mb,
            mb / elapsed,
            count,
            count as f64 / elapsed,
            rebalance_ms,
            (fetch_secs * 1000.0) as u64,
            mb / fetch_secs,
            count as f64 / fetch_secs
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_times() {
        assert_eq!(java_time(UNIX_EPOCH), "1970-01-01 00:00:00:000");
        assert_eq!(java_time(UNIX_EPOCH + Duration::from_millis(1_796_538_600_123)), "2026-12-06 06:30:00:123");
    }
}
