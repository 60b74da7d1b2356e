//! Prefetching, the consumer's background fetcher: resolves starting positions (committed offset, else
//! `auto.offset.reset`), then keeps one Fetch request in flight per leader for all of that
//! leader's fetchable partitions, and queues the records for poll.
//!
//! A partition is fetchable when it is assigned, not paused nor being revoked, its position is
//! known, no fetch of it is in flight and its queue is empty; no fetch starts while the queues
//! hold `fetch.max.bytes` or more (see the memory note in the module above).

use crate::sync::MutexExt;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::FetchResponse;
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

use super::fetch::{isolation_code, list_offsets, refresh, refresh_and_retry, OffsetSpec};
use super::{no_offset_error, ConsumerRecord, Shared};
use crate::config::{IsolationLevel, OffsetReset};
use crate::error::{self, Error};
use crate::protocol::records::decode_batches;
use crate::record::TopicPartition;

pub(crate) async fn run(shared: Arc<Shared>) {
    let in_flight: Arc<Mutex<HashSet<i32>>> = Arc::new(Mutex::new(HashSet::new()));
    let mut last_refresh = Instant::now() - Duration::from_secs(3600);
    let idle = shared.config.client.retry_backoff.max(Duration::from_millis(20));
    loop {
        if shared.closed.load(std::sync::atomic::Ordering::Acquire) || shared.closing.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let notified = shared.wake_fetcher.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        // 1. Positions to resolve.
        let to_resolve: Vec<(TopicPartition, u64, Option<OffsetReset>)> = {
            let mut st = shared.lock();
            st.assignment
                .iter_mut()
                .filter(|(_, p)| p.fetch_position.is_none() && !p.resolving && p.no_offset.is_none() && !p.revoking)
                .map(|(tp, p)| {
                    p.resolving = true;
                    (tp.clone(), p.epoch, p.reset)
                })
                .collect()
        };
        if !to_resolve.is_empty() {
            shared.spawn_child(resolve(shared.clone(), to_resolve));
        }

        // 2. Fetches, one per leader.
        let meta = shared.cluster.metadata();
        let mut plan: BTreeMap<i32, Vec<(TopicPartition, i64, u64)>> = BTreeMap::new();
        let mut unknown: BTreeSet<String> = BTreeSet::new();
        {
            let mut st = shared.lock();
            if st.buffered_bytes < shared.config.fetch_max_bytes.max(1) as usize {
                let busy = in_flight.locked().clone();
                for (tp, p) in st.assignment.iter_mut() {
                    if p.paused || p.revoking || p.fetching || !p.records.is_empty() || p.no_offset.is_some() {
                        continue;
                    }
                    let Some(pos) = p.fetch_position else { continue };
                    match meta.leader(&tp.topic, tp.partition) {
                        Some(leader) if meta.brokers.contains_key(&leader) => {
                            if !busy.contains(&leader) {
                                p.fetching = true;
                                plan.entry(leader).or_default().push((tp.clone(), pos, p.epoch));
                            }
                        }
                        _ => {
                            unknown.insert(tp.topic.clone());
                        }
                    }
                }
            }
        }
        for (leader, parts) in plan {
            in_flight.locked().insert(leader);
            let task = shared.clone();
            let in_flight = in_flight.clone();
            shared.spawn_child(async move {
                let shared = task;
                let tps: Vec<TopicPartition> = parts.iter().map(|(tp, _, _)| tp.clone()).collect();
                if let Err(e) = fetch_from(&shared, leader, parts).await {
                    tracing::debug!(leader, error = %e, "fetch failed");
                    let topics: Vec<String> = tps.iter().map(|t| t.topic.clone()).collect();
                    if refresh_and_retry(&e) || e.code() == 0 {
                        tokio::time::sleep(shared.config.client.retry_backoff).await;
                        refresh(&shared.cluster, topics).await;
                    }
                }
                {
                    let mut st = shared.lock();
                    for tp in &tps {
                        if let Some(p) = st.assignment.get_mut(tp) {
                            p.fetching = false;
                        }
                    }
                }
                in_flight.locked().remove(&leader);
                shared.wake_fetcher.notify_one();
            });
        }
        if !unknown.is_empty() && last_refresh.elapsed() >= shared.config.client.retry_backoff {
            last_refresh = Instant::now();
            let task = shared.clone();
            shared.spawn_child(async move {
                refresh(&task.cluster, unknown).await;
                task.wake_fetcher.notify_one();
            });
        }
        let _ = tokio::time::timeout(idle.max(Duration::from_millis(100)), notified).await;
    }
}

/// Finds the starting offsets of `parts`: the committed offset of the group when there is one
/// (and no explicit reset was asked), else the reset policy.
async fn resolve(shared: Arc<Shared>, parts: Vec<(TopicPartition, u64, Option<OffsetReset>)>) {
    let cluster = &shared.cluster;
    let mut found: HashMap<TopicPartition, i64> = HashMap::new();
    let mut failed = false;
    if let Some(group) = shared.group_id() {
        let need: Vec<TopicPartition> = parts.iter().filter(|(_, _, r)| r.is_none()).map(|(tp, _, _)| tp.clone()).collect();
        if !need.is_empty() {
            let stable = shared.config.isolation_level == IsolationLevel::ReadCommitted;
            match super::offsets::fetch_committed(cluster, group, Some(&need), stable).await {
                Ok(c) => {
                    for o in c {
                        if o.offset >= 0 {
                            found.insert(o.partition, o.offset);
                        }
                    }
                }
                Err(e) => {
                    e.log_handled("fetching committed offsets failed");
                    failed = true;
                }
            }
        }
    }
    let mut specs = Vec::new();
    let mut no_offset = Vec::new();
    if !failed {
        for (tp, _, reset) in &parts {
            if found.contains_key(tp) {
                continue;
            }
            match reset.unwrap_or(shared.config.auto_offset_reset) {
                OffsetReset::Earliest => specs.push((tp.clone(), OffsetSpec::Earliest)),
                OffsetReset::Latest => specs.push((tp.clone(), OffsetSpec::Latest)),
                OffsetReset::None => no_offset.push(tp.clone()),
            }
        }
    }
    if !specs.is_empty() {
        match list_offsets(cluster, &specs, shared.config.isolation_level).await {
            Ok(res) => {
                for (tp, r) in res {
                    match r {
                        Ok(l) => {
                            found.insert(tp, l.offset);
                        }
                        Err(e) => e.log_handled(&format!("listing offsets of {tp} failed")),
                    }
                }
            }
            Err(e) => e.log_handled("listing offsets failed"),
        }
    }
    if failed || found.len() + no_offset.len() < parts.len() {
        tokio::time::sleep(shared.config.client.retry_backoff).await;
    }
    {
        let mut st = shared.lock();
        for (tp, epoch, _) in &parts {
            let Some(p) = st.assignment.get_mut(tp) else { continue };
            p.resolving = false;
            if p.epoch != *epoch || p.fetch_position.is_some() {
                continue;
            }
            if let Some(&off) = found.get(tp) {
                p.fetch_position = Some(off);
                p.position = Some(off);
                p.reset = None;
            } else if no_offset.contains(tp) {
                p.no_offset = Some(no_offset_error(tp, "no committed offset"));
            }
        }
    }
    shared.wake_fetcher.notify_one();
    shared.data.notify_waiters();
}

/// One Fetch request to `leader` for `parts` (`(partition, offset, epoch)`); the records go to
/// the partitions' queues.
async fn fetch_from(shared: &Shared, leader: i32, parts: Vec<(TopicPartition, i64, u64)>) -> crate::error::Result<()> {
    let cluster = &shared.cluster;
    let config = &shared.config;
    let conn = cluster.connection(leader).await?;
    let meta = cluster.metadata();
    let mut version = conn.versions().version_for::<FetchRequest>()?;
    let mut ids: HashMap<String, [u8; 16]> = HashMap::new();
    for (tp, _, _) in &parts {
        let id = meta.topics.get(&tp.topic).map(|t| t.topic_id).unwrap_or([0; 16]);
        if id == [0; 16] {
            version = version.min(12);
        }
        ids.insert(tp.topic.clone(), id);
    }
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for (tp, offset, _) in &parts {
        let mut p = FetchPartition::default()
            .with_partition(tp.partition)
            .with_fetch_offset(*offset)
            .with_partition_max_bytes(config.max_partition_fetch_bytes);
        if version >= 9 {
            let epoch = meta
                .topics
                .get(&tp.topic)
                .and_then(|t| t.partitions.iter().find(|x| x.partition == tp.partition))
                .map_or(-1, |x| x.leader_epoch);
            p = p.with_current_leader_epoch(epoch);
        }
        topics.entry(tp.topic.as_str()).or_default().push(p);
    }
    let topics: Vec<FetchTopic> = topics
        .into_iter()
        .map(|(t, ps)| {
            let ft = FetchTopic::default().with_partitions(ps);
            if version >= 13 {
                ft.with_topic_id(uuid::Uuid::from_bytes(ids[t]))
            } else {
                ft.with_topic(TopicName(StrBytes::from_string(t.to_string())))
            }
        })
        .collect();
    let mut req = FetchRequest::default()
        .with_max_wait_ms(config.fetch_max_wait.as_millis().min(i32::MAX as u128) as i32)
        .with_min_bytes(config.fetch_min_bytes)
        .with_max_bytes(config.fetch_max_bytes)
        .with_isolation_level(isolation_code(config.isolation_level))
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics);
    if version >= 11 {
        if let Some(rack) = &config.client_rack {
            req = req.with_rack_id(StrBytes::from_string(rack.clone()));
        }
    }
    let asked = std::time::Instant::now();
    let resp: FetchResponse = conn.send_version(&req, version, config.client.request_timeout + config.fetch_max_wait).await?;
    let windows = &shared.cluster.stats().windows;
    windows.fetch_wait_us.record(asked.elapsed().as_micros() as u64);
    conn.throttle(resp.throttle_time_ms);
    Error::check(resp.error_code, format!("fetching from broker {leader}"))?;
    let by_id: HashMap<[u8; 16], String> = ids.iter().map(|(t, id)| (*id, t.clone())).collect();
    let wanted: HashMap<TopicPartition, (i64, u64)> = parts.iter().map(|(tp, o, e)| (tp.clone(), (*o, *e))).collect();
    let mut refresh_topics: BTreeSet<String> = BTreeSet::new();
    let mut any = false;
    for t in resp.responses {
        let name = if version >= 13 {
            match by_id.get(t.topic_id.as_bytes()) {
                Some(n) => n.clone(),
                None => continue,
            }
        } else {
            t.topic.0.to_string()
        };
        let topic: Arc<str> = Arc::from(name.as_str());
        for part in t.partitions {
            let tp = TopicPartition::new(name.clone(), part.partition_index);
            let Some(&(offset, epoch)) = wanted.get(&tp) else { continue };
            let code = part.error_code;
            if code == error::OFFSET_OUT_OF_RANGE {
                let mut st = shared.lock();
                if let Some(p) = st.assignment.get_mut(&tp) {
                    if p.epoch == epoch && p.fetch_position == Some(offset) {
                        match config.auto_offset_reset {
                            OffsetReset::None => {
                                p.no_offset = Some(no_offset_error(
                                    &tp,
                                    &format!(
                                        "offset {offset} is out of range (the log holds {}..{})",
                                        part.log_start_offset, part.high_watermark
                                    ),
                                ))
                            }
                            policy => {
                                tracing::info!(partition = %tp, offset, "offset out of range: resetting to {policy:?}");
                                p.fetch_position = None;
                                p.position = None;
                                p.reset = Some(policy);
                            }
                        }
                    }
                }
                any = true;
                continue;
            }
            if code != 0 {
                let e = Error::broker(code, format!("fetching {tp} at offset {offset}"));
                if refresh_and_retry(&e) {
                    refresh_topics.insert(name.clone());
                } else {
                    tracing::warn!(error = %e, "fetch error");
                    let mut st = shared.lock();
                    st.errors.push_back(e);
                    any = true;
                }
                continue;
            }
            // Decode outside the lock.
            let decoding = std::time::Instant::now();
            let batches = match part.records {
                Some(data) if !data.is_empty() => match decode_batches(data, config.check_crcs) {
                    Ok(d) => d.batches,
                    Err(e) => {
                        shared.lock().errors.push_back(e.context(format!("fetching {tp} at offset {offset}")));
                        any = true;
                        continue;
                    }
                },
                _ => Vec::new(),
            };
            let read_committed = config.isolation_level == IsolationLevel::ReadCommitted;
            let mut upcoming: BTreeSet<(i64, i64)> = part
                .aborted_transactions
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.first_offset, a.producer_id.0))
                .collect();
            let mut aborting: HashSet<i64> = HashSet::new();
            let mut next = offset;
            let mut records = Vec::new();
            let mut key_value_bytes = 0usize;
            for batch in batches {
                if batch.last_offset() < offset {
                    continue;
                }
                if read_committed {
                    while let Some(&(first, pid)) = upcoming.first() {
                        if first > batch.last_offset() {
                            break;
                        }
                        upcoming.pop_first();
                        aborting.insert(pid);
                    }
                }
                next = next.max(batch.last_offset() + 1);
                if batch.control {
                    if batch.control_record().is_some_and(|c| c.abort()) {
                        aborting.remove(&batch.producer_id);
                    }
                    continue;
                }
                if read_committed && batch.transactional && aborting.contains(&batch.producer_id) {
                    continue;
                }
                let leader_epoch = (batch.partition_leader_epoch >= 0).then_some(batch.partition_leader_epoch);
                let tt = batch.timestamp_type;
                for r in batch.records {
                    if r.offset < offset {
                        continue;
                    }
                    key_value_bytes += r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len());
                    records.push(ConsumerRecord {
                        topic: topic.clone(),
                        partition: tp.partition,
                        offset: r.offset,
                        key: r.key,
                        value: r.value,
                        headers: r.headers,
                        timestamp: r.timestamp,
                        timestamp_type: tt,
                        leader_epoch,
                    });
                }
            }
            let bytes: usize = records.iter().map(ConsumerRecord::size).sum();
            shared.cluster.stats().fetched(&tp.topic, tp.partition, records.len(), bytes);
            windows.fetch_read_us.record(decoding.elapsed().as_micros() as u64);
            windows.fetch_msgs.record(records.len() as u64);
            windows.fetch_bytes.record(key_value_bytes as u64);
            let mut st = shared.lock();
            let Some(p) = st.assignment.get_mut(&tp) else { continue };
            if p.epoch != epoch || p.fetch_position != Some(offset) {
                continue; // seeked meanwhile
            }
            p.high_watermark = part.high_watermark;
            p.last_stable_offset = part.last_stable_offset;
            p.log_start_offset = part.log_start_offset;
            p.fetch_position = Some(next);
            // An end reached with nothing new: a poll waiting for the PartitionEof must look.
            let end = if config.isolation_level == IsolationLevel::ReadCommitted { p.last_stable_offset } else { p.high_watermark };
            if config.enable_partition_eof && records.is_empty() && p.records.is_empty() && next == end && p.eof_reported != Some(end) {
                any = true;
            }
            if !records.is_empty() {
                p.records.extend(records);
                p.bytes += bytes;
                st.buffered_bytes += bytes;
                any = true;
            }
        }
    }
    if any {
        shared.data.notify_waiters();
    }
    if !refresh_topics.is_empty() {
        tokio::time::sleep(config.client.retry_backoff).await;
        refresh(cluster, refresh_topics).await;
    }
    Ok(())
}
