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
    let conn = cluster.connection(node).await?;
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
                    Error::check(p.error_code, format!("{context} for {}-{}", t.name.0, p.partition_index))?;
                    out.push(CommittedOffset {
                        partition: TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.metadata.map(|m| m.to_string()),
                    });
                }
            }
        }
    } else {
        Error::check(resp.error_code, &context)?;
        for t in resp.topics {
            for p in t.partitions {
                Error::check(p.error_code, format!("{context} for {}-{}", t.name.0, p.partition_index))?;
                out.push(CommittedOffset {
                    partition: TopicPartition::new(t.name.0.to_string(), p.partition_index),
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.metadata.map(|m| m.to_string()),
                });
            }
        }
    }
    Ok(out)
}
