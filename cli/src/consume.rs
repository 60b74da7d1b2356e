//! `consume TOPIC...`: from a group (subscribe) or from assigned partitions at chosen offsets,
//! printing values, kcat format strings, or JSON lines; `-c`, `-e`, `--idle-timeout`, Ctrl-C end it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::config::{IsolationLevel, Role};
use polykafka::consumer::fetch::OffsetSpec;
use polykafka::consumer::TimestampType;
use polykafka::{Consumer, ConsumerEvent, ConsumerRecord, StartOffset, TopicPartition};
use serde_json::json;

use crate::args::{ConsumeArgs, Connection};
use crate::decode::{Decoder, Shown};
use crate::format::{self, Token};
use crate::output::{self, Failure};
use crate::settings::Settings;

/// Where to start (`-o`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Beginning,
    End,
    Stored,
    Offset(i64),
    FromEnd(i64),
    Time(i64),
}

pub fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "beginning" | "earliest" => return Ok(Start::Beginning),
        "end" | "latest" => return Ok(Start::End),
        "stored" => return Ok(Start::Stored),
        _ => {}
    }
    let bad = || format!("-o {s}: expected beginning, end, stored, an offset, -N or @TIMESTAMP_MS");
    if let Some(t) = s.strip_prefix('@').or_else(|| s.strip_prefix("s@")) {
        return t.parse().map(Start::Time).map_err(|_| bad());
    }
    let n: i64 = s.parse().map_err(|_| bad())?;
    Ok(if n < 0 { Start::FromEnd(-n) } else { Start::Offset(n) })
}

enum Output {
    Plain(Option<Vec<u8>>),
    Format(Vec<Token>),
    Json,
}

pub async fn run(conn: &Connection, a: ConsumeArgs) -> Result<(), Failure> {
    let start = a.offset.as_deref().map(parse_start).transpose().map_err(Failure::Usage)?;
    let out = if a.json {
        Output::Json
    } else if let Some(f) = &a.format {
        Output::Format(format::parse(f).map_err(|e| Failure::Usage(format!("-f {e}")))?)
    } else {
        let kd = a.key_delimiter.as_deref().map(crate::produce::unescape).transpose().map_err(|e| Failure::Usage(format!("-K {e}")))?;
        Output::Plain(kd)
    };
    let settings = Settings::load(conn)?;
    let at = output::at(settings.bootstrap()?);
    let registry = a.registry.clone().or_else(|| std::env::var("SCHEMA_REGISTRY_URL").ok().filter(|u| !u.is_empty())).or_else(|| settings.registry_url().map(str::to_string));
    let mut decoder = Decoder::new(a.key_format, a.value_format, registry.as_deref(), a.json)?;
    let show_key = match &out {
        Output::Json => true,
        Output::Format(t) => format::uses_key(t),
        Output::Plain(kd) => kd.is_some(),
    };

    let mut extra: Vec<(&str, String)> = Vec::new();
    if a.exit_at_end {
        extra.push(("enable.partition.eof", "true".into()));
    }
    if a.read_committed {
        extra.push(("isolation.level", "read_committed".into()));
    }
    match (&a.group, start) {
        (Some(g), s) => {
            extra.push(("group.id", g.clone()));
            match s {
                None | Some(Start::Stored) => {}
                Some(Start::Beginning) => extra.push(("auto.offset.reset", "earliest".into())),
                Some(Start::End) => extra.push(("auto.offset.reset", "latest".into())),
                Some(other) => {
                    return Err(Failure::Usage(format!(
                        "-o {other:?}: with a group (-g) the start is the group's committed offset; only beginning/end (for partitions without one) apply"
                    )))
                }
            }
        }
        (None, Some(Start::Stored)) => return Err(Failure::Usage("-o stored needs a group (-g)".into())),
        (None, _) => extra.push(("enable.auto.commit", "false".into())),
    }
    if settings.get("allow.auto.create.topics").is_none() {
        extra.push(("allow.auto.create.topics", "false".into()));
    }
    let cfg = settings.consumer(&extra, "consume")?;
    let admin = Admin::new(settings.admin_beside(&[Role::Consumer], "consume")?).map_err(Failure::Config)?;
    // Unknown topics fail now, naming them.
    let refs: Vec<&str> = a.topics.iter().map(String::as_str).collect();
    let topics = admin.describe_topics(&refs).await.map_err(Failure::kafka(format!("describing topics {at}")))?;
    let consumer = Consumer::new(cfg).map_err(Failure::Config)?;
    let mut assigned: BTreeSet<TopicPartition> = BTreeSet::new();
    if a.group.is_some() {
        consumer.subscribe(&a.topics).map_err(Failure::kafka("subscribing"))?;
    } else {
        let mut tps = Vec::new();
        for d in &topics {
            for p in &d.partitions {
                if a.partitions.is_empty() || a.partitions.contains(&p.partition) {
                    tps.push(TopicPartition::new(&d.name, p.partition));
                }
            }
        }
        for p in &a.partitions {
            if !tps.iter().any(|tp| tp.partition == *p) {
                return Err(Failure::Usage(format!("partition {p} does not exist in {}", a.topics.join(", "))));
            }
        }
        let starts = start_offsets(&admin, &tps, start.unwrap_or(Start::Beginning), &at, a.read_committed).await?;
        consumer.assign_at(&starts).map_err(Failure::kafka("assigning partitions"))?;
        assigned = tps.into_iter().collect();
    }
    admin.close().await;

    let mut at_end: BTreeSet<TopicPartition> = BTreeSet::new();
    let mut printed: u64 = 0;
    let mut last_record = Instant::now();
    let idle = a.idle_timeout.map(Duration::from_secs_f64);
    let mut buf = Vec::with_capacity(1 << 16);
    let mut result = Ok(());
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    'outer: loop {
        if a.count.is_some_and(|c| printed >= c) {
            break;
        }
        if a.exit_at_end && !assigned.is_empty() && assigned.iter().all(|tp| at_end.contains(tp)) {
            break;
        }
        if idle.is_some_and(|i| last_record.elapsed() >= i) {
            break;
        }
        let polled = tokio::select! {
            r = consumer.poll_batch_events(batch_size(a.count, printed), Duration::from_millis(200)) => r,
            _ = &mut ctrl_c => break,
        };
        let (events, records) = match polled {
            Ok(x) => x,
            Err(e) => {
                result = Err(Failure::Kafka(format!("consuming {} {at}", a.topics.join(", ")), e));
                break;
            }
        };
        for ev in events {
            match ev {
                ConsumerEvent::Assigned(tps) => assigned.extend(tps),
                ConsumerEvent::Revoked(tps) | ConsumerEvent::Lost(tps) => {
                    for tp in tps {
                        assigned.remove(&tp);
                        at_end.remove(&tp);
                    }
                }
                ConsumerEvent::PartitionEof(tp, _) => {
                    at_end.insert(tp);
                }
                ConsumerEvent::Record(_) => {}
            }
        }
        for r in &records {
            at_end.remove(&r.topic_partition());
        }
        if !records.is_empty() {
            last_record = Instant::now();
        }
        for r in records {
            if a.count.is_some_and(|c| printed >= c) {
                break;
            }
            if let Err(f) = write_record(&out, &mut decoder, show_key, &r, &mut buf).await {
                result = Err(f);
                break 'outer;
            }
            printed += 1;
        }
        // Records past the end marker arrive in later polls: the partition is only at its end
        // after the core says so again.
        if !buf.is_empty() {
            write_bytes(&buf)?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        write_bytes(&buf)?;
    }
    let closed = consumer.close().await;
    result?;
    closed.map_err(Failure::kafka(format!("closing the consumer {at}")))
}

/// At most the records still wanted: a group commits what the consumer delivered.
fn batch_size(count: Option<u64>, printed: u64) -> usize {
    count.map_or(2000, |c| c.saturating_sub(printed).clamp(1, 2000) as usize)
}

fn write_bytes(b: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(b).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Io(format!("cannot write to stdout: {e}"))),
    }
}

async fn write_record(out: &Output, decoder: &mut Decoder, show_key: bool, r: &ConsumerRecord, buf: &mut Vec<u8>) -> Result<(), Failure> {
    let key = if show_key { decoder.key(r).await? } else { Shown::Null };
    let value = decoder.value(r).await?;
    match out {
        Output::Plain(kd) => {
            if let Some(kd) = kd {
                buf.extend_from_slice(key.bytes());
                buf.extend_from_slice(kd);
            }
            buf.extend_from_slice(value.bytes());
            buf.push(b'\n');
        }
        Output::Format(tokens) => format::render(tokens, r, &key, &value, buf),
        Output::Json => {
            let (k, ke) = key.json();
            let (v, ve) = value.json();
            let headers: Vec<_> = r
                .headers
                .iter()
                .map(|h| match h.value.as_deref().map(std::str::from_utf8) {
                    None => json!({"key": h.key, "value": null}),
                    Some(Ok(s)) => json!({"key": h.key, "value": s}),
                    Some(Err(_)) => {
                        use base64::Engine as _;
                        json!({"key": h.key, "value_base64": base64::engine::general_purpose::STANDARD.encode(h.value.as_deref().unwrap_or_default())})
                    }
                })
                .collect();
            let mut obj = json!({
                "topic": &*r.topic, "partition": r.partition, "offset": r.offset, "timestamp": r.timestamp,
                "timestamp_type": match r.timestamp_type { TimestampType::CreateTime => "CreateTime", TimestampType::LogAppendTime => "LogAppendTime" },
                "key": k, "value": v, "headers": headers,
            });
            if let Some(e) = ke {
                obj["key_encoding"] = json!(e);
            }
            if let Some(e) = ve {
                obj["value_encoding"] = json!(e);
            }
            buf.extend_from_slice(obj.to_string().as_bytes());
            buf.push(b'\n');
        }
    }
    Ok(())
}

/// The start of each partition for `start` (no group).
async fn start_offsets(admin: &Admin, tps: &[TopicPartition], start: Start, at: &str, committed: bool) -> Result<Vec<(TopicPartition, StartOffset)>, Failure> {
    let iso = if committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted };
    let list = |spec: OffsetSpec| async move {
        let q: Vec<_> = tps.iter().map(|tp| (tp.clone(), spec)).collect();
        let found = admin.list_offsets(&q, iso).await.map_err(Failure::kafka(format!("listing offsets {at}")))?;
        found
            .into_iter()
            .map(|(tp, r)| r.map(|o| o.offset).map_err(|e| Failure::Kafka(format!("listing offsets of {tp} {at}"), e)))
            .collect::<Result<Vec<i64>, Failure>>()
    };
    Ok(match start {
        Start::Beginning => tps.iter().map(|tp| (tp.clone(), StartOffset::Beginning)).collect(),
        Start::End => tps.iter().map(|tp| (tp.clone(), StartOffset::End)).collect(),
        Start::Stored => tps.iter().map(|tp| (tp.clone(), StartOffset::Default)).collect(),
        Start::Offset(o) => tps.iter().map(|tp| (tp.clone(), StartOffset::Offset(o))).collect(),
        Start::FromEnd(n) => {
            let (lo, hi) = (list(OffsetSpec::Earliest).await?, list(OffsetSpec::Latest).await?);
            tps.iter().enumerate().map(|(i, tp)| (tp.clone(), StartOffset::Offset((hi[i] - n).max(lo[i])))).collect()
        }
        Start::Time(t) => {
            let found = list(OffsetSpec::Timestamp(t)).await?;
            tps.iter().zip(found).map(|(tp, o)| (tp.clone(), if o < 0 { StartOffset::End } else { StartOffset::Offset(o) })).collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{parse_start, Start};

    #[test]
    fn kcat_offsets_parse() {
        assert_eq!(parse_start("beginning"), Ok(Start::Beginning));
        assert_eq!(parse_start("end"), Ok(Start::End));
        assert_eq!(parse_start("stored"), Ok(Start::Stored));
        assert_eq!(parse_start("42"), Ok(Start::Offset(42)));
        assert_eq!(parse_start("-10"), Ok(Start::FromEnd(10)));
        assert_eq!(parse_start("@1700000000000"), Ok(Start::Time(1_700_000_000_000)));
        assert_eq!(parse_start("s@5"), Ok(Start::Time(5)));
        assert!(parse_start("soon").is_err());
    }
}
