//! Low-level reads: ListOffsets and Fetch of one partition, on a [`Cluster`].
//!
//! These calls keep no state between calls (no fetch session, no positions): the consumer builds
//! on them. Each sends to the partition's leader and, on a leader change (NOT_LEADER_OR_FOLLOWER,
//! LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH, ...), an unknown topic or a broken connection,
//! refreshes metadata and tries again until its timeout passes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

use crate::cluster::Cluster;
use crate::config::IsolationLevel;
use crate::error::{self, Error, Result};
use crate::protocol::records::{decode_batches, Record, RecordBatch};
use crate::record::TopicPartition;

/// Which offset [`list_offsets`] looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (high watermark; last stable offset under read_committed).
    Latest,
    /// The first offset whose timestamp is at or after this one (ms since the epoch); offset -1
    /// when there is none.
    Timestamp(i64),
    /// The offset and timestamp of the record with the highest timestamp (ListOffsets v7+).
    MaxTimestamp,
}

impl OffsetSpec {
    /// The `timestamp` field of ListOffsets: a time or one of the special values.
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Latest => -1,
            OffsetSpec::Earliest => -2,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
    fn min_version(self) -> i16 {
        match self {
            OffsetSpec::MaxTimestamp => 7,
            _ => 1,
        }
    }
}

/// What [`list_offsets`] found for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedOffset {
    /// -1 when no record matches a [`OffsetSpec::Timestamp`].
    pub offset: i64,
    /// -1 unless the spec is a timestamp (or max timestamp).
    pub timestamp: i64,
    /// -1 when unknown.
    pub leader_epoch: i32,
}

pub(crate) fn isolation_code(isolation: IsolationLevel) -> i8 {
    match isolation {
        IsolationLevel::ReadUncommitted => 0,
        IsolationLevel::ReadCommitted => 1,
    }
}

/// Errors after which the leader is looked up again and the request retried.
pub(crate) fn refresh_and_retry(e: &Error) -> bool {
    matches!(
        e.code(),
        error::NOT_LEADER_OR_FOLLOWER
            | error::LEADER_NOT_AVAILABLE
            | error::UNKNOWN_TOPIC_OR_PARTITION
            | error::REQUEST_TIMED_OUT
            | 13 // NETWORK_EXCEPTION
            | 56 // KAFKA_STORAGE_ERROR
            | 74 // FENCED_LEADER_EPOCH
            | 75 // UNKNOWN_LEADER_EPOCH
            | 78 // OFFSET_NOT_AVAILABLE
            | 100 // UNKNOWN_TOPIC_ID
            | 103 // INCONSISTENT_TOPIC_ID
    ) || (e.code() == 0 && e.retriable())
}

/// The leader of `tp` from metadata (fetched if needed), and its leader epoch.
async fn leader_of(cluster: &Cluster, tp: &TopicPartition) -> Result<(i32, i32, [u8; 16])> {
    let topic = cluster.topic(&tp.topic).await?;
    let p = topic
        .partitions
        .iter()
        .find(|p| p.partition == tp.partition)
        .ok_or_else(|| Error::broker(error::UNKNOWN_TOPIC_OR_PARTITION, format!("partition {tp} does not exist")))?;
    if p.leader < 0 {
        return Err(Error::broker(error::LEADER_NOT_AVAILABLE, format!("{tp} has no leader")));
    }
    Ok((p.leader, p.leader_epoch, topic.topic_id))
}

pub(crate) async fn refresh(cluster: &Cluster, topics: impl IntoIterator<Item = String>) {
    let mut topics: Vec<String> = topics.into_iter().collect();
    topics.sort();
    topics.dedup();
    if let Err(e) = cluster.refresh_metadata(Some(&topics), false).await {
        tracing::debug!(error = %e, "metadata refresh failed");
    }
}

/// Looks up offsets, one ListOffsets request per leader, within `request.timeout.ms`. See
/// [`list_offsets_within`].
pub async fn list_offsets(
    cluster: &Cluster,
    partitions: &[(TopicPartition, OffsetSpec)],
    isolation: IsolationLevel,
) -> Result<Vec<(TopicPartition, Result<ListedOffset>)>> {
    list_offsets_within(cluster, partitions, isolation, cluster.config().request_timeout).await
}

/// Looks up offsets: partitions are grouped by leader, one ListOffsets request per broker, sent
/// concurrently. Leader changes, unknown topics or partitions and connection failures are
/// retried after a metadata refresh until `timeout` passes; then each partition still failing
/// gets its last error. The results are in the order given, one per partition.
pub async fn list_offsets_within(
    cluster: &Cluster,
    partitions: &[(TopicPartition, OffsetSpec)],
    isolation: IsolationLevel,
    timeout: Duration,
) -> Result<Vec<(TopicPartition, Result<ListedOffset>)>> {
    let deadline = Instant::now() + timeout;
    let mut done: HashMap<usize, Result<ListedOffset>> = HashMap::new();
    let mut last_err: HashMap<usize, Error> = HashMap::new();
    let mut backoff = cluster.config().retry_backoff;
    loop {
        let todo: Vec<usize> = (0..partitions.len()).filter(|i| !done.contains_key(i)).collect();
        if todo.is_empty() {
            break;
        }
        // Group by leader.
        let mut by_leader: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for &i in &todo {
            let tp = &partitions[i].0;
            // Bounded by the deadline: a cluster that cannot be reached must not hold the call.
            let leader = match tokio::time::timeout_at(deadline.into(), leader_of(cluster, tp)).await {
                Ok(r) => r,
                Err(_) => Err(Error::timeout(format!("no metadata for {tp} within {} ms", timeout.as_millis()))),
            };
            match leader {
                Ok((leader, _, _)) => by_leader.entry(leader).or_default().push(i),
                Err(e) if refresh_and_retry(&e) => {
                    last_err.insert(i, e);
                }
                Err(e) => {
                    done.insert(i, Err(e));
                }
            }
        }
        let sends = by_leader.into_iter().map(|(leader, indexes)| async move {
            let res = list_offsets_on(cluster, leader, partitions, &indexes, isolation, deadline).await;
            (indexes, res)
        });
        for (indexes, res) in crate::cluster::request::join_all(sends).await {
            match res {
                Ok(answers) => {
                    for (i, r) in answers {
                        match r {
                            Err(e) if refresh_and_retry(&e) => {
                                last_err.insert(i, e);
                            }
                            other => {
                                done.insert(i, other);
                            }
                        }
                    }
                }
                Err(e) if refresh_and_retry(&e) => {
                    for i in indexes {
                        last_err.insert(i, e.clone());
                    }
                }
                Err(e) => {
                    for i in indexes {
                        done.insert(i, Err(e.clone()));
                    }
                }
            }
        }
        let failing: Vec<usize> = (0..partitions.len()).filter(|i| !done.contains_key(i)).collect();
        if failing.is_empty() {
            break;
        }
        if Instant::now() + backoff >= deadline {
            for i in failing {
                let e = last_err
                    .remove(&i)
                    .unwrap_or_else(|| Error::timeout(format!("listing offsets of {}", partitions[i].0)));
                done.insert(i, Err(e.context(format!("gave up after {} ms", timeout.as_millis()))));
            }
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(cluster.config().retry_backoff_max.max(backoff));
        let _ = tokio::time::timeout_at(deadline.into(), refresh(cluster, failing.iter().map(|&i| partitions[i].0.topic.clone()))).await;
    }
    Ok(partitions
        .iter()
        .enumerate()
        .map(|(i, (tp, _))| (tp.clone(), done.remove(&i).expect("every partition has a result")))
        .collect())
}

/// ListOffsets to `leader` for `partitions[indexes]`: one request, or more when a partition is
/// asked for more than once (a request may name each partition only once).
async fn list_offsets_on(
    cluster: &Cluster,
    leader: i32,
    partitions: &[(TopicPartition, OffsetSpec)],
    indexes: &[usize],
    isolation: IsolationLevel,
    deadline: Instant,
) -> Result<Vec<(usize, Result<ListedOffset>)>> {
    let mut rounds: Vec<(HashSet<&TopicPartition>, Vec<usize>)> = Vec::new();
    for &i in indexes {
        let tp = &partitions[i].0;
        match rounds.iter_mut().find(|(seen, _)| !seen.contains(tp)) {
            Some((seen, round)) => {
                seen.insert(tp);
                round.push(i);
            }
            None => rounds.push((HashSet::from([tp]), vec![i])),
        }
    }
    if rounds.len() == 1 {
        return list_offsets_request(cluster, leader, partitions, indexes, isolation, deadline).await;
    }
    let mut out = Vec::new();
    for (_, round) in rounds {
        out.extend(list_offsets_request(cluster, leader, partitions, &round, isolation, deadline).await?);
    }
    Ok(out)
}

/// One ListOffsets request to `leader` for `partitions[indexes]` (each partition once).
async fn list_offsets_request(
    cluster: &Cluster,
    leader: i32,
    partitions: &[(TopicPartition, OffsetSpec)],
    indexes: &[usize],
    isolation: IsolationLevel,
    deadline: Instant,
) -> Result<Vec<(usize, Result<ListedOffset>)>> {
    let conn = cluster.connection(leader).await?;
    let version = conn.versions().version_for::<ListOffsetsRequest>()?;
    let mut out = Vec::new();
    let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
    for &i in indexes {
        let (tp, spec) = &partitions[i];
        if version < spec.min_version() {
            out.push((
                i,
                Err(Error::broker(
                    error::UNSUPPORTED_VERSION,
                    format!("listing {spec:?} offsets of {tp}: the broker supports ListOffsets up to v{version}"),
                )),
            ));
            continue;
        }
        let leader_epoch = cluster
            .metadata()
            .topics
            .get(&tp.topic)
            .and_then(|t| t.partitions.iter().find(|p| p.partition == tp.partition).map(|p| p.leader_epoch))
            .unwrap_or(-1);
        let mut p = ListOffsetsPartition::default().with_partition_index(tp.partition).with_timestamp(spec.timestamp());
        if version >= 4 {
            p = p.with_current_leader_epoch(leader_epoch);
        }
        topics.entry(tp.topic.as_str()).or_default().push(p);
    }
    if topics.is_empty() {
        return Ok(out);
    }
    let mut req = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_isolation_level(isolation_code(isolation))
        .with_topics(
            topics
                .into_iter()
                .map(|(t, parts)| ListOffsetsTopic::default().with_name(TopicName(StrBytes::from_string(t.to_string()))).with_partitions(parts))
                .collect(),
        );
    if version >= 10 {
        req = req.with_timeout_ms(crate::cluster::request::ms_until(deadline));
    }
    let resp = conn.send_version(&req, version, cluster.config().request_timeout).await?;
    let mut answers: HashMap<(String, i32), Result<ListedOffset>> = HashMap::new();
    for t in resp.topics {
        for p in t.partitions {
            let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
            let r = Error::check(p.error_code, format!("listing offsets of {tp}")).map(|_| ListedOffset {
                offset: p.offset,
                timestamp: p.timestamp,
                leader_epoch: p.leader_epoch,
            });
            answers.insert((tp.topic, tp.partition), r);
        }
    }
    for &i in indexes {
        if out.iter().any(|(j, _)| *j == i) {
            continue;
        }
        let tp = &partitions[i].0;
        let r = answers.get(&(tp.topic.clone(), tp.partition)).cloned().unwrap_or_else(|| {
            Err(Error::protocol(format!("the ListOffsets response does not mention {tp}")).with_retriable(true))
        });
        out.push((i, r));
    }
    Ok(out)
}

/// How [`fetch`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchOptions {
    /// How long the broker may wait for `min_bytes` (`fetch.max.wait.ms`).
    pub max_wait: Duration,
    /// `fetch.min.bytes`.
    pub min_bytes: i32,
    /// `fetch.max.bytes`.
    pub max_bytes: i32,
    /// `max.partition.fetch.bytes`. The broker returns at least one whole batch even if larger.
    pub partition_max_bytes: i32,
    pub isolation: IsolationLevel,
    /// `check.crcs`: verify each batch's CRC.
    pub check_crcs: bool,
    /// The bound of one [`fetch`] call, retries included.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 52_428_800,
            partition_max_bytes: 1_048_576,
            isolation: IsolationLevel::ReadUncommitted,
            check_crcs: true,
            timeout: Duration::from_secs(30),
        }
    }
}

impl FetchOptions {
    /// The fetch settings of a consumer config.
    pub fn from_consumer(config: &crate::config::ConsumerConfig) -> Self {
        FetchOptions {
            max_wait: config.fetch_max_wait,
            min_bytes: config.fetch_min_bytes,
            max_bytes: config.fetch_max_bytes,
            partition_max_bytes: config.max_partition_fetch_bytes,
            isolation: config.isolation_level,
            check_crcs: config.check_crcs,
            timeout: config.default_api_timeout,
        }
    }
}

/// What [`fetch`] returns for the partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedPartition {
    pub high_watermark: i64,
    /// -1 when the broker does not know.
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// `(producer_id, first_offset)` of the aborted transactions within the fetched range
    /// (read_committed only).
    pub aborted_transactions: Vec<(i64, i64)>,
    /// Whole batches, except that records before the requested offset are dropped (the broker
    /// returns the batch containing the offset from its start). Control batches are included.
    pub batches: Vec<RecordBatch>,
}

impl FetchedPartition {
    /// The offset to fetch next: after the last batch, or `from` when there was none.
    pub fn next_offset(&self, from: i64) -> i64 {
        self.batches.last().map(|b| b.last_offset() + 1).unwrap_or(from).max(from)
    }
}

/// Fetches `tp` from `offset` at its leader (Fetch at the highest version both sides support;
/// v13+ names the topic by its id). OFFSET_OUT_OF_RANGE is an error naming the partition and the
/// offset; leader changes are retried after a metadata refresh within `opts.timeout`.
pub async fn fetch(cluster: &Cluster, tp: &TopicPartition, offset: i64, opts: &FetchOptions) -> Result<FetchedPartition> {
    let deadline = Instant::now() + opts.timeout;
    crate::cluster::request::retry_until(cluster, deadline, &format!("fetching {tp} at offset {offset}"), refresh_and_retry, |_| async move {
            match fetch_once(cluster, tp, offset, opts).await {
                Ok(f) => Ok(f),
                Err(e) => {
                    if refresh_and_retry(&e) {
                        refresh(cluster, [tp.topic.clone()]).await;
                    }
                    Err(e)
                }
            }
    })
    .await
}

async fn fetch_once(cluster: &Cluster, tp: &TopicPartition, offset: i64, opts: &FetchOptions) -> Result<FetchedPartition> {
    let (leader, leader_epoch, topic_id) = leader_of(cluster, tp).await?;
    let conn = cluster.connection(leader).await?;
    let mut version = conn.versions().version_for::<FetchRequest>()?;
    let by_id = topic_id != [0u8; 16];
    if !by_id {
        // Without a topic id from metadata, stay on the versions that name topics.
        version = version.min(12);
    }
    let mut topic = FetchTopic::default().with_partitions(vec![{
        let mut p = FetchPartition::default()
            .with_partition(tp.partition)
            .with_fetch_offset(offset)
            .with_partition_max_bytes(opts.partition_max_bytes);
        if version >= 9 {
            p = p.with_current_leader_epoch(leader_epoch);
        }
        p
    }]);
    if version >= 13 {
        topic = topic.with_topic_id(uuid::Uuid::from_bytes(topic_id));
    } else {
        topic = topic.with_topic(TopicName(StrBytes::from_string(tp.topic.clone())));
    }
    let req = FetchRequest::default()
        .with_max_wait_ms(opts.max_wait.as_millis().min(i32::MAX as u128) as i32)
        .with_min_bytes(opts.min_bytes)
        .with_max_bytes(opts.max_bytes)
        .with_isolation_level(isolation_code(opts.isolation))
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![topic]);
    let resp = conn.send_version(&req, version, cluster.config().request_timeout + opts.max_wait).await?;
    conn.throttle(resp.throttle_time_ms);
    let context = format!("fetching {tp} at offset {offset}");
    Error::check(resp.error_code, &context)?;
    let part = resp
        .responses
        .into_iter()
        .filter(|t| if version >= 13 { *t.topic_id.as_bytes() == topic_id } else { t.topic.0.as_str() == tp.topic })
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == tp.partition)
        .ok_or_else(|| Error::protocol(format!("the Fetch response does not mention {tp}")).with_retriable(true))?;
    if part.error_code == error::OFFSET_OUT_OF_RANGE {
        let range = if part.log_start_offset >= 0 && part.high_watermark >= 0 {
            format!(" (the log holds {}..{})", part.log_start_offset, part.high_watermark)
        } else {
            String::new()
        };
        return Err(Error::broker(part.error_code, format!("{context}{range}")));
    }
    Error::check(part.error_code, &context)?;
    let mut batches = match part.records {
        Some(data) if !data.is_empty() => decode_batches(data, opts.check_crcs).map_err(|e| e.context(&context))?.batches,
        _ => Vec::new(),
    };
    // The broker sends whole batches: drop what precedes the requested offset.
    batches.retain(|b| b.last_offset() >= offset);
    if let Some(first) = batches.first_mut() {
        if first.base_offset < offset && !first.control {
            first.records.retain(|r| r.offset >= offset);
        }
    }
    let mut aborted: Vec<(i64, i64)> = part
        .aborted_transactions
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    aborted.sort_by_key(|&(pid, first)| (first, pid));
    Ok(FetchedPartition {
        high_watermark: part.high_watermark,
        last_stable_offset: part.last_stable_offset,
        log_start_offset: part.log_start_offset,
        aborted_transactions: aborted,
        batches,
    })
}

/// Reads the records of `tp` in `[from, to_exclusive)`, fetching until `to_exclusive` is reached.
/// Control batches are skipped and, under read_committed, so are the records of aborted
/// transactions. Fails with a timeout error when no progress is made for `request.timeout.ms`
/// (`to_exclusive` beyond what the partition holds, for instance).
pub async fn read_all(
    cluster: &Cluster,
    tp: &TopicPartition,
    from: i64,
    to_exclusive: i64,
    isolation: IsolationLevel,
) -> Result<Vec<Record>> {
    let opts = FetchOptions { isolation, max_wait: Duration::from_millis(200), timeout: cluster.config().request_timeout, ..Default::default() };
    let stall = cluster.config().request_timeout;
    let mut pos = from;
    let mut out = Vec::new();
    // Aborted transactions not yet reached, those in progress (by producer), those finished.
    let mut upcoming: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut seen: HashSet<(i64, i64)> = HashSet::new();
    let mut aborting: HashSet<i64> = HashSet::new();
    let mut last_progress = Instant::now();
    while pos < to_exclusive {
        let f = fetch(cluster, tp, pos, &opts).await?;
        if isolation == IsolationLevel::ReadCommitted {
            for &(pid, first) in &f.aborted_transactions {
                if seen.insert((pid, first)) {
                    upcoming.insert((first, pid));
                }
            }
        }
        let before = pos;
        for batch in &f.batches {
            if batch.base_offset >= to_exclusive {
                break;
            }
            if isolation == IsolationLevel::ReadCommitted {
                // Transactions whose first offset is reached are aborted from here on.
                while let Some(&(first, pid)) = upcoming.first() {
                    if first > batch.last_offset() {
                        break;
                    }
                    upcoming.pop_first();
                    aborting.insert(pid);
                }
            }
            if batch.control {
                if batch.control_record().is_some_and(|c| c.abort()) {
                    aborting.remove(&batch.producer_id);
                }
            } else if !(isolation == IsolationLevel::ReadCommitted && batch.transactional && aborting.contains(&batch.producer_id)) {
                out.extend(batch.records.iter().filter(|r| r.offset >= pos && r.offset < to_exclusive).cloned());
            }
            pos = pos.max(batch.last_offset() + 1);
        }
        if pos > before {
            last_progress = Instant::now();
        } else if last_progress.elapsed() >= stall {
            let end = if isolation == IsolationLevel::ReadCommitted { f.last_stable_offset } else { f.high_watermark };
            return Err(Error::timeout(format!(
                "reading {tp} up to offset {to_exclusive}: no progress at offset {pos} for {} ms (end offset {end})",
                stall.as_millis()
            )));
        }
    }
    Ok(out)
}
