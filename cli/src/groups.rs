//! `groups list|describe|delete`, `offsets reset` and `lag [--watch]`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use polykafka::admin::{Admin, GroupDescription};
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::OffsetSpec;
use polykafka::TopicPartition;
use serde_json::json;

use crate::args::{Connection, GroupsCommand, LagArgs, OffsetsCommand, OutputFormat, ResetArgs};
use crate::output::{self, Failure};
use crate::topics::admin;

pub async fn run_groups(conn: &Connection, cmd: GroupsCommand) -> Result<(), Failure> {
    match cmd {
        GroupsCommand::List { out } => {
            let (admin, at) = admin(conn, "groups list")?;
            let groups = admin.list_consumer_groups().await.map_err(Failure::kafka(format!("listing groups {at}")))?;
            admin.close().await;
            match out.output {
                OutputFormat::Json => output::print_json(&json!(groups
                    .iter()
                    .map(|g| json!({"group": g.group_id, "state": g.state, "type": g.group_type, "protocol_type": g.protocol_type}))
                    .collect::<Vec<_>>())),
                OutputFormat::Table => output::print_table(
                    &["GROUP", "STATE", "TYPE", "PROTOCOL-TYPE"],
                    groups.iter().map(|g| vec![g.group_id.clone(), g.state.clone(), g.group_type.clone(), g.protocol_type.clone()]).collect(),
                    &[],
                ),
            }
        }
        GroupsCommand::Describe { groups, out } => {
            let (admin, at) = admin(conn, "groups describe")?;
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for group in &groups {
                let d = describe(&admin, group, &at).await?;
                let committed = admin
                    .list_consumer_group_offsets(group, None)
                    .await
                    .map_err(Failure::kafka(format!("fetching the offsets of group '{group}' {at}")))?;
                let mut parts: BTreeMap<TopicPartition, (i64, Option<usize>)> =
                    committed.into_iter().map(|(tp, o)| (tp, (o, None))).collect();
                for (i, m) in d.members.iter().enumerate() {
                    for tp in &m.assignment {
                        parts.entry(tp.clone()).or_insert((-1, None)).1 = Some(i);
                    }
                }
                let ends = end_offsets(&admin, parts.keys().cloned().collect(), &at).await?;
                let mut pjs = Vec::new();
                for (tp, (off, member)) in &parts {
                    let end = ends.get(tp).copied().unwrap_or(-1);
                    let lag = if *off >= 0 && end >= 0 { Some((end - off).max(0)) } else { None };
                    let m = member.map(|i| &d.members[i]);
                    let dash = || "-".to_string();
                    rows.push(vec![
                        group.clone(),
                        tp.topic.clone(),
                        tp.partition.to_string(),
                        if *off >= 0 { off.to_string() } else { dash() },
                        end.to_string(),
                        lag.map_or_else(dash, |l| l.to_string()),
                        m.map_or_else(dash, |m| m.member_id.clone()),
                        m.map_or_else(dash, |m| m.host.clone()),
                        m.map_or_else(dash, |m| m.client_id.clone()),
                    ]);
                    pjs.push(json!({"topic": tp.topic, "partition": tp.partition, "committed": if *off >= 0 { Some(off) } else { None },
                        "end": end, "lag": lag, "member": m.map(|m| &m.member_id)}));
                }
                let members: Vec<_> = d
                    .members
                    .iter()
                    .map(|m| json!({"member_id": m.member_id, "instance_id": m.group_instance_id, "client_id": m.client_id,
                        "host": m.host, "assignment": m.assignment.iter().map(|tp| json!({"topic": tp.topic, "partition": tp.partition})).collect::<Vec<_>>()}))
                    .collect();
                js.push(json!({"group": group, "state": d.state, "type": d.group_type, "protocol": d.protocol,
                    "coordinator": d.coordinator, "members": members, "partitions": pjs}));
                if out.output == OutputFormat::Table {
                    eprintln!("group '{group}': {} ({}, {} members, coordinator {})", d.state, d.group_type, d.members.len(), d.coordinator);
                }
            }
            admin.close().await;
            match out.output {
                OutputFormat::Json => output::print_json(&json!(js)),
                OutputFormat::Table => output::print_table(
                    &["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"],
                    rows,
                    &[2, 3, 4, 5],
                ),
            }
        }
        GroupsCommand::Delete { groups } => {
            let (admin, at) = admin(conn, "groups delete")?;
            let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
            let results = admin.delete_consumer_groups(&refs).await.map_err(Failure::kafka(format!("deleting groups {at}")))?;
            admin.close().await;
            for (g, r) in results {
                match r {
                    Ok(()) => eprintln!("deleted group '{g}'"),
                    Err(e) => return Err(Failure::Kafka(format!("deleting group '{g}' {at}"), e)),
                }
            }
            Ok(())
        }
    }
}

fn no_group(group: &str, at: &str) -> Failure {
    Failure::Io(format!("consumer group '{group}' does not exist {at} (GROUP_ID_NOT_FOUND)"))
}

async fn describe(admin: &Admin, group: &str, at: &str) -> Result<GroupDescription, Failure> {
    describe_if_any(admin, group, at).await?.ok_or_else(|| no_group(group, at))
}

/// The group's description, `None` when it does not exist (GROUP_ID_NOT_FOUND, or Dead).
async fn describe_if_any(admin: &Admin, group: &str, at: &str) -> Result<Option<GroupDescription>, Failure> {
    let d = match admin.describe_consumer_groups(&[group]).await {
        Err(e) if e.code() == 69 => return Ok(None),
        r => r.map_err(Failure::kafka(format!("describing group '{group}' {at}")))?,
    };
    Ok(d.into_iter().next().filter(|d| d.state != "Dead"))
}

/// Offsets of `spec` for each partition; a partition's error fails, naming it.
async fn offsets(admin: &Admin, tps: Vec<TopicPartition>, spec: OffsetSpec, at: &str) -> Result<BTreeMap<TopicPartition, i64>, Failure> {
    if tps.is_empty() {
        return Ok(BTreeMap::new());
    }
    let queries: Vec<_> = tps.into_iter().map(|tp| (tp, spec)).collect();
    let found = admin.list_offsets(&queries, IsolationLevel::ReadUncommitted).await.map_err(Failure::kafka(format!("listing offsets {at}")))?;
    found
        .into_iter()
        .map(|(tp, r)| match r {
            Ok(o) => Ok((tp, o.offset)),
            Err(e) => Err(Failure::Kafka(format!("listing offsets of {tp} {at}"), e)),
        })
        .collect()
}

async fn end_offsets(admin: &Admin, tps: Vec<TopicPartition>, at: &str) -> Result<BTreeMap<TopicPartition, i64>, Failure> {
    offsets(admin, tps, OffsetSpec::Latest, at).await
}

/// `--topic T` or `--topic T:0,2`: the partitions named, or all of the topic's.
async fn topic_partitions(admin: &Admin, specs: &[String], at: &str) -> Result<Vec<TopicPartition>, Failure> {
    let mut out = Vec::new();
    for spec in specs {
        match spec.split_once(':') {
            Some((t, ps)) => {
                for p in ps.split(',') {
                    let p: i32 = p.trim().parse().map_err(|_| Failure::Usage(format!("--topic {spec}: '{p}' is not a partition number")))?;
                    out.push(TopicPartition::new(t, p));
                }
            }
            None => {
                let d = admin.describe_topics(&[spec.as_str()]).await.map_err(Failure::kafka(format!("describing topic '{spec}' {at}")))?;
                for desc in d {
                    out.extend(desc.partitions.iter().map(|p| TopicPartition::new(&desc.name, p.partition)));
                }
            }
        }
    }
    Ok(out)
}

pub async fn run_offsets(conn: &Connection, cmd: OffsetsCommand) -> Result<(), Failure> {
    let OffsetsCommand::Reset(a) = cmd;
    reset(conn, a).await
}

async fn reset(conn: &Connection, a: ResetArgs) -> Result<(), Failure> {
    let time = match (&a.to_timestamp, &a.to_datetime) {
        (Some(ms), _) => Some(*ms),
        (_, Some(dt)) => Some(parse_datetime(dt).map_err(|e| Failure::Usage(format!("--to-datetime {dt}: {e}")))?),
        _ => None,
    };
    let (admin, at) = admin(conn, "offsets reset")?;
    let group = a.group.as_str();
    // A group that does not exist yet can be given offsets (it starts from them).
    let d = describe_if_any(&admin, group, &at).await?;
    if let Some(d) = d.filter(|d| a.execute && d.state != "Empty") {
        admin.close().await;
        return Err(Failure::Usage(format!(
            "assignments can only be reset if the group '{group}' is inactive, but the current state is {} ({} members) {at}",
            d.state,
            d.members.len()
        )));
    }
    let committed: BTreeMap<TopicPartition, i64> = admin
        .list_consumer_group_offsets(group, None)
        .await
        .map_err(Failure::kafka(format!("fetching the offsets of group '{group}' {at}")))?
        .into_iter()
        .filter(|(_, o)| *o >= 0)
        .collect();
    let tps: Vec<TopicPartition> = if a.all_topics {
        if committed.is_empty() {
            admin.close().await;
            return Err(Failure::Usage(format!("group '{group}' has no committed offsets: name the topics with --topic")));
        }
        committed.keys().cloned().collect()
    } else {
        topic_partitions(&admin, &a.topics, &at).await?
    };
    let earliest = offsets(&admin, tps.clone(), OffsetSpec::Earliest, &at).await?;
    let latest = offsets(&admin, tps.clone(), OffsetSpec::Latest, &at).await?;
    let clamp = |tp: &TopicPartition, o: i64| o.clamp(earliest[tp], latest[tp]);
    let mut plan: Vec<(TopicPartition, i64)> = Vec::new();
    if a.to_earliest {
        plan = tps.iter().map(|tp| (tp.clone(), earliest[tp])).collect();
    } else if a.to_latest {
        plan = tps.iter().map(|tp| (tp.clone(), latest[tp])).collect();
    } else if let Some(o) = a.to_offset {
        plan = tps.iter().map(|tp| (tp.clone(), clamp(tp, o))).collect();
    } else if let Some(t) = time {
        let at_time = offsets(&admin, tps.clone(), OffsetSpec::Timestamp(t), &at).await?;
        plan = tps.iter().map(|tp| (tp.clone(), if at_time[tp] < 0 { latest[tp] } else { at_time[tp] })).collect();
    } else if let Some(n) = a.shift_by {
        for tp in &tps {
            let Some(&c) = committed.get(tp) else {
                admin.close().await;
                return Err(Failure::Usage(format!("--shift-by: group '{group}' has no committed offset for {tp}")));
            };
            plan.push((tp.clone(), clamp(tp, c.saturating_add(n))));
        }
    }
    if a.execute {
        admin
            .alter_consumer_group_offsets(group, &plan)
            .await
            .map_err(Failure::kafka(format!("committing the new offsets of group '{group}' {at}")))?;
    }
    admin.close().await;
    match a.out.output {
        OutputFormat::Json => output::print_json(&json!({"group": group, "executed": a.execute,
            "offsets": plan.iter().map(|(tp, o)| json!({"topic": tp.topic, "partition": tp.partition, "new_offset": o,
                "previous": committed.get(tp)})).collect::<Vec<_>>()})),
        OutputFormat::Table => {
            output::print_table(
                &["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
                plan.iter().map(|(tp, o)| vec![group.to_string(), tp.topic.clone(), tp.partition.to_string(), o.to_string()]).collect(),
                &[2, 3],
            )?;
            if !a.execute {
                eprintln!("(dry run: nothing changed; add --execute to apply)");
            }
            Ok(())
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM|-HH:MM]` to ms since the epoch (UTC without a zone).
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || "expected YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM]".to_string();
    let (date, rest) = s.split_once('T').ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 {
        return Err(bad());
    }
    let num = |x: &str| x.parse::<i64>().map_err(|_| bad());
    let (y, mo, da) = (num(d[0])?, num(d[1])?, num(d[2])?);
    let (time, offset_min) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|&i| i >= 8) {
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = z[1..].split_once(':').ok_or_else(bad)?;
        (t, sign * (num(h)? * 60 + num(m)?))
    } else {
        (rest, 0)
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<&str> = hms.split(':').collect();
    if t.len() != 3 || !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return Err(bad());
    }
    let (h, mi, se) = (num(t[0])?, num(t[1])?, num(t[2])?);
    if h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let ms = num(&format!("{frac:0<3}")[..3])?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 86_400 + h * 3600 + mi * 60 + se) - offset_min * 60) * 1000 + ms)
}

pub async fn run_lag(conn: &Connection, a: LagArgs) -> Result<(), Failure> {
    if !(a.interval > 0.0) || !a.interval.is_finite() {
        return Err(Failure::Usage(format!("--interval {}: must be a positive number of seconds", a.interval)));
    }
    let (admin, at) = admin(conn, "lag")?;
    let tty = std::io::stdout().is_terminal();
    loop {
        let d = describe(&admin, &a.group, &at).await?;
        let lag = admin.consumer_group_lag(&a.group).await.map_err(Failure::kafka(format!("computing the lag of group '{}' {at}", a.group)))?;
        let total: i64 = lag.iter().map(|l| l.lag).sum();
        match a.out.output {
            OutputFormat::Json => {
                let v = json!({"group": a.group, "state": d.state, "members": d.members.len(), "total_lag": total,
                    "partitions": lag.iter().map(|l| json!({"topic": l.partition.topic, "partition": l.partition.partition,
                        "committed": l.committed, "end": l.high_watermark, "lag": l.lag})).collect::<Vec<_>>()});
                // One object per line while watching, so a script can read them as they come.
                let text = if a.watch { v.to_string() + "\n" } else { serde_json::to_string_pretty(&v).unwrap_or_default() + "\n" };
                output::write_stdout(&text)?;
            }
            OutputFormat::Table => {
                let mut rows: Vec<Vec<String>> = lag
                    .iter()
                    .map(|l| vec![l.partition.topic.clone(), l.partition.partition.to_string(), l.committed.to_string(), l.high_watermark.to_string(), l.lag.to_string()])
                    .collect();
                let ends: i64 = lag.iter().map(|l| l.high_watermark).sum();
                let done: i64 = lag.iter().map(|l| l.committed).sum();
                rows.push(vec!["TOTAL".into(), String::new(), done.to_string(), ends.to_string(), total.to_string()]);
                let table = output::render_table(&["TOPIC", "PARTITION", "COMMITTED", "END", "LAG"], rows, &[1, 2, 3, 4], tty && output::colour_allowed());
                let title = format!("group '{}': {}, {} members, lag {total}{}", a.group, d.state, d.members.len(), if a.watch { format!("  (every {}s, Ctrl-C to stop)", a.interval) } else { String::new() });
                let clear = if a.watch && tty { "\x1b[H\x1b[2J" } else { "" };
                output::write_stdout(&format!("{clear}{title}\n{table}\n{}", if a.watch && !tty { "\n" } else { "" }))?;
            }
        }
        if !a.watch {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(a.interval)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    admin.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn datetimes_parse_to_epoch_ms() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_datetime("2026-12-06T06:30:00.123Z"), Ok(1_796_538_600_123));
        assert_eq!(parse_datetime("2026-12-06T07:30:00+01:00"), Ok(1_796_538_600_000));
        assert_eq!(parse_datetime("2000-02-29T12:00:00"), Ok(951_825_600_000));
        assert!(parse_datetime("2026-13-01T00:00:00").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }
}
