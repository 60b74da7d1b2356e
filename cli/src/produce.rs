//! `produce TOPIC [FILES]`: records from stdin, files (split by a delimiter, with an optional key
//! delimiter) or a generator (`--count`, `--size`), at an optional `--rate`.

use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use polykafka::producer::{Completion, Producer};
use polykafka::{Error, ProducerRecord, RecordMetadata};
use serde_json::json;

use crate::args::{Compression, Connection, ProduceArgs};
use crate::output::{self, Failure};
use crate::settings::Settings;

/// Outcomes of the records sent so far.
#[derive(Default)]
pub struct Outcomes {
    pub delivered: u64,
    pub failed: u64,
    pub first_error: Option<Error>,
}

pub type Shared = Arc<Mutex<Outcomes>>;

/// A completion that counts into `outcomes` and hands the result to `then` (perf's latency).
pub fn completion(outcomes: &Shared, then: impl FnOnce(&Result<RecordMetadata, Error>) + Send + 'static) -> Completion {
    let outcomes = outcomes.clone();
    Completion::Callback(Box::new(move |r| {
        then(&r);
        let mut o = outcomes.lock().unwrap_or_else(|p| p.into_inner());
        match r {
            Ok(_) => o.delivered += 1,
            Err(e) => {
                o.failed += 1;
                o.first_error.get_or_insert(e);
            }
        }
    }))
}

/// `\n`, `\t`, `\r`, `\0`, `\\` and `\xHH` in a delimiter or format string.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = s.get(i + 1..i + 3).ok_or_else(|| format!("'{s}': \\x needs two hex digits"))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("'{s}': \\x{hex} is not hex"))?);
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Splits records on `delim` from the inputs (stdin when none), on a thread, into a channel.
fn spawn_reader(files: Vec<std::path::PathBuf>, delim: u8, tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, String>>) {
    std::thread::spawn(move || {
        let mut inputs: Vec<(String, Box<dyn Read + Send>)> = Vec::new();
        if files.is_empty() {
            inputs.push(("stdin".into(), Box::new(std::io::stdin())));
        }
        for f in files {
            match std::fs::File::open(&f) {
                Ok(file) => inputs.push((f.display().to_string(), Box::new(file))),
                Err(e) => {
                    let _ = tx.blocking_send(Err(format!("cannot open {}: {e}", f.display())));
                    return;
                }
            }
        }
        for (name, input) in inputs {
            let mut r = BufReader::with_capacity(1 << 16, input);
            loop {
                let mut rec = Vec::new();
                match r.read_until(delim, &mut rec) {
                    Ok(0) => break,
                    Ok(_) => {
                        if rec.last() == Some(&delim) {
                            rec.pop();
                        }
                        if delim == b'\n' && rec.last() == Some(&b'\r') {
                            rec.pop();
                        }
                        if tx.blocking_send(Ok(rec)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(format!("cannot read {name}: {e}")));
                        return;
                    }
                }
            }
        }
    });
}

/// Generated values: `size` random capital letters, as Kafka's perf tool makes them.
pub fn payload(size: usize) -> Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'A' + (x % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

pub fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => "zstd",
    }
}

pub async fn run(conn: &Connection, a: ProduceArgs) -> Result<(), Failure> {
    if a.count.is_some() && !a.files.is_empty() {
        return Err(Failure::Usage("produce: --count generates records; it does not go with input files".into()));
    }
    if let Some(r) = a.rate {
        if !(r > 0.0) || !r.is_finite() {
            return Err(Failure::Usage(format!("--rate {r}: must be a positive number of records per second")));
        }
    }
    let delim = unescape(&a.delimiter).map_err(|e| Failure::Usage(format!("-D {e}")))?;
    let [delim] = delim[..] else {
        return Err(Failure::Usage(format!("-D '{}': the record delimiter must be one byte", a.delimiter)));
    };
    let key_delim = match &a.key_delimiter {
        Some(k) => {
            let k = unescape(k).map_err(|e| Failure::Usage(format!("-K {e}")))?;
            if k.is_empty() {
                return Err(Failure::Usage("-K: the key delimiter is empty".into()));
            }
            Some(k)
        }
        None => None,
    };
    let headers = crate::topics::key_values(&a.headers, "-H")?;
    let mut extra: Vec<(&str, String)> = Vec::new();
    if let Some(c) = a.compression {
        extra.push(("compression.type", compression_name(c).into()));
    }
    if let Some(acks) = &a.acks {
        extra.push(("acks", acks.clone()));
    }
    if let Some(i) = a.idempotence {
        extra.push(("enable.idempotence", i.to_string()));
    }
    let settings = Settings::load(conn)?;
    // A mistyped topic name is an error, not a new topic (unless asked with -X).
    if settings.get("allow.auto.create.topics").is_none() {
        extra.push(("allow.auto.create.topics", "false".into()));
    }
    let at = output::at(settings.bootstrap()?);
    let producer = Producer::new(settings.producer(&extra, "produce")?).map_err(Failure::Config)?;
    let topic = a.topic.clone();
    // An unknown topic fails here, naming it, before any input is read.
    producer.partition_count(&topic, true).await.map_err(Failure::kafka(format!("topic '{topic}' {at}")))?;

    let bar = if !a.quiet && std::io::stderr().is_terminal() {
        let b = match a.count {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let template = if a.count.is_some() {
            "{bar:30} {pos}/{len} records, {per_sec}, {eta} left"
        } else {
            "{spinner} {pos} records, {per_sec}"
        };
        b.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        b.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        b
    } else {
        ProgressBar::hidden()
    };

    let outcomes: Shared = Arc::default();
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut bytes: u64 = 0;
    let build = |value: Bytes, key: Option<Bytes>| {
        let mut r = ProducerRecord::new(&topic).value(value);
        r.key = key;
        if let Some(p) = a.partition {
            r = r.partition(p);
        }
        for (k, v) in &headers {
            r = r.header(k, v.clone().into_bytes());
        }
        r
    };
    let pace = |sent: u64| async move {
        if let Some(rate) = a.rate {
            let due = start + Duration::from_secs_f64(sent as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
    };
    let mut failure = None;
    if let Some(n) = a.count {
        let value = payload(a.size);
        while sent < n {
            pace(sent).await;
            let r = build(value.clone(), None);
            if let Err(e) = producer.send_with(r, completion(&outcomes, |_| {}), true).await {
                failure = Some(Failure::Kafka(format!("producing to topic '{topic}' {at}"), e));
                break;
            }
            sent += 1;
            bytes += a.size as u64;
            bar.set_position(sent);
        }
    } else {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
        spawn_reader(a.files.clone(), delim, tx);
        while let Some(rec) = rx.recv().await {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    failure = Some(Failure::Io(e));
                    break;
                }
            };
            pace(sent).await;
            bytes += rec.len() as u64;
            let (key, value) = match &key_delim {
                Some(kd) => match rec.windows(kd.len()).position(|w| w == &kd[..]) {
                    Some(i) => (Some(Bytes::copy_from_slice(&rec[..i])), Bytes::copy_from_slice(&rec[i + kd.len()..])),
                    None => (None, Bytes::from(rec)),
                },
                None => (None, Bytes::from(rec)),
            };
            if let Err(e) = producer.send_with(build(value, key), completion(&outcomes, |_| {}), true).await {
                failure = Some(Failure::Kafka(format!("producing to topic '{topic}' {at}"), e));
                break;
            }
            sent += 1;
            bar.set_position(sent);
        }
    }
    let closed = producer.close(Duration::from_secs(30)).await;
    bar.finish_and_clear();
    let o = outcomes.lock().unwrap_or_else(|p| p.into_inner());
    let secs = start.elapsed().as_secs_f64();
    if a.output == Some(crate::args::OutputFormat::Json) {
        output::print_json(&json!({"topic": topic, "sent": sent, "delivered": o.delivered, "failed": o.failed,
            "bytes": bytes, "seconds": secs}))?;
    } else if !a.quiet && std::io::stderr().is_terminal() {
        eprintln!("{} records ({bytes} bytes) delivered to '{topic}' in {secs:.2}s", o.delivered);
    }
    if let Some(f) = failure {
        return Err(f);
    }
    if let Some(e) = &o.first_error {
        return Err(Failure::Kafka(format!("{} of {sent} records to topic '{topic}' failed {at}", o.failed), e.clone()));
    }
    closed.map_err(Failure::kafka(format!("delivering to topic '{topic}' {at}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn escapes() {
        assert_eq!(unescape("\\n").unwrap(), b"\n");
        assert_eq!(unescape("a\\tb\\x41\\0\\\\").unwrap(), b"a\tbA\0\\");
        assert_eq!(unescape(":").unwrap(), b":");
        assert!(unescape("\\xZZ").is_err());
    }
}
