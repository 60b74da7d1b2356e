//! Committed offsets of a consumer group (OffsetFetch), shared by the consumer and the admin.

use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics};
use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::cluster::{Cluster, CoordinatorType};
use crate::error::{self, Error, Result};
use crate::record::TopicPartition;

/// An offset committed by a group: the next offset to read, -1 when nothing is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    pub partition: TopicPartition,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// The offsets `group` committed, for `partitions` (all the group's partitions when `None`).
/// `require_stable` waits for pending transactional commits (KIP-447), as a read_committed
/// consumer needs.
pub async fn fetch_committed(
    cluster: &Cluster,
    group: &str,
    partitions: Option<&[TopicPartition]>,
    require_stable: bool,
) -> Result<Vec<CommittedOffset>> {
    // Retriable errors (a moving coordinator, offsets pending in a transaction) are retried
    // within request.timeout.ms.
    let deadline = tokio::time::Instant::now() + cluster.config().request_timeout;
    let mut backoff = cluster.config().retry_backoff;
    loop {
        let result = fetch_once(cluster, group, partitions, require_stable).await;
        match result {
            Err(e) if e.retriable() && tokio::time::Instant::now() + backoff < deadline => {
                if matches!(e.code(), error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) || e.code() == 0 {
                    cluster.forget_coordinator(CoordinatorType::Group, group);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(cluster.config().retry_backoff_max);
            }
            other => return other,
        }
    }
}

fn by_topic(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut topics: Vec<(String, Vec<i32>)> = Vec::new();
    for tp in partitions {
        match topics.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, ps)) => ps.push(tp.partition),
            None => topics.push((tp.topic.clone(), vec![tp.partition])),
        }
    }
    topics
}

async fn fetch_once(
    cluster: &Cluster,
    group: &str,
    partitions: Option<&[TopicPartition]>,
    require_stable: bool,
) -> Result<Vec<CommittedOffset>> {
    let node = cluster.coordinator(CoordinatorType::Group, group).await?;
    let conn = cluster.coordinator_connection(node).await?;
    let version = conn.versions().version_for::<OffsetFetchRequest>()?;
    let group_id = GroupId(StrBytes::from_string(group.to_string()));
    let topics = partitions.map(by_topic);
    let mut req = OffsetFetchRequest::default().with_require_stable(require_stable && version >= 7);
    if version >= 8 {
        let topics = topics.map(|ts| {
            ts.into_iter()
                .map(|(t, ps)| OffsetFetchRequestTopics::default().with_name(TopicName(StrBytes::from_string(t))).with_partition_indexes(ps))
                .collect()
        });
        req = req.with_groups(vec![OffsetFetchRequestGroup::default().with_group_id(group_id).with_topics(topics)]);
    } else {
        let topics = topics.map(|ts| {
            ts.into_iter()
                .map(|(t, ps)| OffsetFetchRequestTopic::default().with_name(TopicName(StrBytes::from_string(t))).with_partition_indexes(ps))
                .collect()
        });
        req = req.with_group_id(group_id).with_topics(topics);
    }
    let resp = conn.send_version(&req, version, cluster.config().request_timeout).await?;
    let context = format!("fetching the committed offsets of group '{group}'");
    let mut out = Vec::new();
    if version >= 8 {
        for g in resp.groups {
            Error::check(g.error_code, &context)?;
            for t in g.topics {
                for p in t.partitions {
                    out.push(committed(&context, &t.name.0, p.partition_index, p.error_code, p.committed_offset, p.committed_leader_epoch, p.metadata)?);
                }
            }
        }
    } else {
        Error::check(resp.error_code, &context)?;
        for t in resp.topics {
            for p in t.partitions {
                out.push(committed(&context, &t.name.0, p.partition_index, p.error_code, p.committed_offset, p.committed_leader_epoch, p.metadata)?);
            }
        }
    }
    Ok(out)
}

/// Commits `offsets` (`(partition, next offset, leader epoch)`) for the consumer's group under
/// its current generation (classic) or member epoch (KIP-848); a manually assigned consumer
/// commits as generation -1 with no member id. Coordinator moves are retried within
/// `default.api.timeout.ms`; a fenced generation is a non-retriable broker error
/// (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, REBALANCE_IN_PROGRESS).
pub(crate) async fn commit(shared: &super::Shared, offsets: &[(TopicPartition, i64, i32)]) -> Result<()> {
    commit_with_metadata(shared, offsets, None).await
}

/// [`commit`] with a metadata string per offset (`metadata[i]` goes with `offsets[i]`; `None`:
/// no metadata, as Kafka stores for commits without).
pub(crate) async fn commit_with_metadata(shared: &super::Shared, offsets: &[(TopicPartition, i64, i32)], metadata: Option<&[Option<String>]>) -> Result<()> {
    let group = shared.group_id().ok_or_else(|| Error::invalid("commit needs 'group.id'"))?.to_string();
    let cluster = &shared.cluster;
    let deadline = tokio::time::Instant::now() + shared.config.default_api_timeout;
    let mut backoff = cluster.config().retry_backoff;
    loop {
        let (generation, member_id) = {
            let st = shared.lock();
            if matches!(st.subscription, super::Subscription::Manual | super::Subscription::None) {
                (-1, String::new())
            } else {
                (st.group.generation, st.group.member_id.clone())
            }
        };
        let result = commit_offsets_with_metadata(cluster, &group, generation, &member_id, shared.config.group_instance_id.as_deref(), offsets, metadata).await;
        match result {
            Ok(()) => {
                let mut st = shared.lock();
                for (tp, off, _) in offsets {
                    st.last_committed.insert(tp.clone(), *off);
                }
                return Ok(());
            }
            Err(e)
                if (e.retriable() || matches!(e.code(), error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE | error::COORDINATOR_LOAD_IN_PROGRESS))
                    && !matches!(e.code(), 27 /* REBALANCE_IN_PROGRESS */ | 22 | 25 | 110)
                    && tokio::time::Instant::now() + backoff < deadline =>
            {
                if matches!(e.code(), error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) || e.code() == 0 {
                    cluster.forget_coordinator(CoordinatorType::Group, &group);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(cluster.config().retry_backoff_max);
            }
            Err(e) => return Err(e),
        }
    }
}

/// One OffsetCommit of `offsets` (`(partition, next offset, leader epoch)`) for `group` at its
/// coordinator; generation -1 and an empty member id commit as a non-member (admin, manual
/// assignment).
pub(crate) async fn commit_offsets(
    cluster: &Cluster,
    group: &str,
    generation: i32,
    member_id: &str,
    instance_id: Option<&str>,
    offsets: &[(TopicPartition, i64, i32)],
) -> Result<()> {
    commit_offsets_with_metadata(cluster, group, generation, member_id, instance_id, offsets, None).await
}

/// [`commit_offsets`] with a metadata string per offset (see [`commit_with_metadata`]).
pub(crate) async fn commit_offsets_with_metadata(
    cluster: &Cluster,
    group: &str,
    generation: i32,
    member_id: &str,
    instance_id: Option<&str>,
    offsets: &[(TopicPartition, i64, i32)],
    metadata: Option<&[Option<String>]>,
) -> Result<()> {
    use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic};
    let node = cluster.coordinator(CoordinatorType::Group, group).await?;
    let conn = cluster.coordinator_connection(node).await?;
    let version = conn.versions().pick(8, 2, 9)?;
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (i, (tp, off, epoch)) in offsets.iter().enumerate() {
        let meta = metadata.and_then(|m| m.get(i).cloned().flatten());
        let mut part = OffsetCommitRequestPartition::default()
            .with_partition_index(tp.partition)
            .with_committed_offset(*off)
            .with_committed_leader_epoch(*epoch);
        if let Some(m) = meta {
            part = part.with_committed_metadata(Some(StrBytes::from_string(m)));
        }
        match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
            Some(t) => t.partitions.push(part),
            None => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![part]),
            ),
        }
    }
    let mut req = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_topics(topics);
    if version >= 7 {
        req = req.with_group_instance_id(instance_id.map(|i| StrBytes::from_string(i.to_string())));
    }
    if version <= 4 {
        req = req.with_retention_time_ms(-1);
    }
    let resp = conn.send_version(&req, version, cluster.config().request_timeout).await?;
    for t in resp.topics {
        for p in t.partitions {
            Error::check(p.error_code, format!("committing the offset of {}-{} for group '{group}' (generation {generation})", t.name.0, p.partition_index))?;
        }
    }
    Ok(())
}

/// One partition's entry of an OffsetFetch response (both response layouts).
fn committed(
    context: &str,
    topic: &StrBytes,
    partition: i32,
    error_code: i16,
    offset: i64,
    leader_epoch: i32,
    metadata: Option<StrBytes>,
) -> Result<CommittedOffset> {
    Error::check(error_code, format!("{context} for {topic}-{partition}"))?;
    Ok(CommittedOffset {
        partition: TopicPartition::new(topic.to_string(), partition),
        offset,
        leader_epoch,
        metadata: metadata.map(|m| m.to_string()),
    })
}
