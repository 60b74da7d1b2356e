//! Consumer group administration: list, describe (classic and KIP-848 groups), committed
//! offsets, alter and reset offsets, delete, and lag.

use std::collections::BTreeMap;

use kafka_protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::GroupId;
use kafka_protocol::protocol::StrBytes;

use super::Admin;
use crate::cluster::CoordinatorType;
use crate::consumer::fetch::{list_offsets_within, OffsetSpec};
use crate::consumer::offsets::{commit_offsets, fetch_committed};
use crate::config::IsolationLevel;
use crate::error::{self, Error, Result};
use crate::record::TopicPartition;

const GROUP_ID_NOT_FOUND: i16 = 69;

/// A group as ListGroups reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    /// "consumer" for consumer groups (both protocols), "" for others.
    pub protocol_type: String,
    /// "Stable", "Empty", "PreparingRebalance", ... (empty when the broker does not say).
    pub state: String,
    /// "classic" or "consumer" (empty before Kafka 3.8).
    pub group_type: String,
}

/// One member of a described group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartition>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    /// The assignor: the classic protocol's chosen one, or the KIP-848 server assignor.
    pub protocol: String,
    /// "classic" or "consumer".
    pub group_type: String,
    pub coordinator: i32,
    pub members: Vec<MemberDescription>,
}

/// Committed offset, end offset and their difference for one partition of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    pub partition: TopicPartition,
    pub committed: i64,
    pub high_watermark: i64,
    /// `high_watermark - committed`, never negative.
    pub lag: i64,
}

/// Where [`Admin::reset_consumer_group_offsets`] moves a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetResetSpec {
    Earliest,
    Latest,
    /// The first offset at or after this time (ms); the end when there is none.
    Timestamp(i64),
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn coordinator_moved(e: &Error) -> bool {
    e.retriable() || matches!(e.code(), error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE | error::COORDINATOR_LOAD_IN_PROGRESS)
}

impl Admin {
    /// The offsets a group committed: for `partitions` (-1 where nothing is committed), or for
    /// every partition it committed when `None`. For named partitions, offsets still pending in
    /// a transaction are waited for (require_stable), so the answer is what a read_committed
    /// consumer would start from.
    pub async fn list_consumer_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let offsets = fetch_committed(self.cluster(), group, partitions, true).await?;
        Ok(offsets.into_iter().map(|c| (c.partition, c.offset)).collect())
    }

    /// Every group of the cluster (ListGroups to each broker).
    pub async fn list_consumer_groups(&self) -> Result<Vec<GroupListing>> {
        let meta = self.cluster().refresh_metadata(Some(&[]), false).await?;
        let mut brokers: Vec<i32> = meta.brokers.keys().copied().collect();
        brokers.sort_unstable();
        let mut out = Vec::new();
        for b in brokers {
            let groups = self
                .retry("listing groups", Error::retriable, |_| async move {
                    let conn = self.cluster().connection(b).await?;
                    let resp = conn.send(&ListGroupsRequest::default()).await?;
                    Error::check(resp.error_code, format!("listing the groups of broker {b}"))?;
                    Ok(resp.groups)
                })
                .await?;
            out.extend(groups.into_iter().map(|g| GroupListing {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: g.group_state.to_string(),
                group_type: g.group_type.to_string(),
            }));
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(out)
    }

    /// Describes groups: state, protocol, members with their client id, host and assignment.
    /// KIP-848 groups are described with ConsumerGroupDescribe, classic ones with DescribeGroups.
    pub async fn describe_consumer_groups(&self, groups: &[&str]) -> Result<Vec<GroupDescription>> {
        let mut out = Vec::new();
        for &group in groups {
            let d = self
                .retry(&format!("describing group '{group}'"), coordinator_moved, |_| async move {
                    let r = self.describe_one(group).await;
                    if let Err(e) = &r {
                        if coordinator_moved(e) {
                            self.cluster().forget_coordinator(CoordinatorType::Group, group);
                        }
                    }
                    r
                })
                .await?;
            out.push(d);
        }
        Ok(out)
    }

    async fn describe_one(&self, group: &str) -> Result<GroupDescription> {
        let node = self.cluster().coordinator(CoordinatorType::Group, group).await?;
        let conn = self.cluster().connection(node).await?;
        if conn.versions().version_for::<ConsumerGroupDescribeRequest>().is_ok() {
            let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(sb(group))]);
            let resp = conn.send(&req).await?;
            if let Some(g) = resp.groups.into_iter().next() {
                if g.error_code == 0 {
                    return Ok(GroupDescription {
                        group_id: group.to_string(),
                        state: g.group_state.to_string(),
                        protocol_type: "consumer".into(),
                        protocol: g.assignor_name.to_string(),
                        group_type: "consumer".into(),
                        coordinator: node,
                        members: g
                            .members
                            .into_iter()
                            .map(|m| {
                                let mut assignment: Vec<TopicPartition> = m
                                    .assignment
                                    .topic_partitions
                                    .iter()
                                    .flat_map(|t| t.partitions.iter().map(move |&p| TopicPartition::new(t.topic_name.0.to_string(), p)))
                                    .collect();
                                assignment.sort();
                                MemberDescription {
                                    member_id: m.member_id.to_string(),
                                    group_instance_id: m.instance_id.map(|i| i.to_string()),
                                    client_id: m.client_id.to_string(),
                                    host: m.client_host.to_string(),
                                    assignment,
                                }
                            })
                            .collect(),
                    });
                }
                if g.error_code != GROUP_ID_NOT_FOUND {
                    Error::check(g.error_code, super::with_broker_message(format!("describing group '{group}'"), &g.error_message))?;
                }
            }
        }
        let resp = conn.send(&DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))])).await?;
        let g = resp.groups.into_iter().next().ok_or_else(|| Error::protocol("DescribeGroups returned no group"))?;
        Error::check(g.error_code, super::with_broker_message(format!("describing group '{group}'"), &g.error_message))?;
        let consumer = g.protocol_type.as_str() == "consumer";
        let members = g
            .members
            .into_iter()
            .map(|m| {
                let assignment = if consumer {
                    crate::consumer::assignor::decode_assignment(m.member_assignment.clone()).unwrap_or_default()
                } else {
                    Vec::new()
                };
                MemberDescription {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment,
                }
            })
            .collect();
        Ok(GroupDescription {
            group_id: group.to_string(),
            state: g.group_state.to_string(),
            protocol_type: g.protocol_type.to_string(),
            protocol: g.protocol_data.to_string(),
            group_type: "classic".into(),
            coordinator: node,
            members,
        })
    }

    /// Sets committed offsets of a group that has no active members (as the Java admin; an
    /// active classic group refuses with UNKNOWN_MEMBER_ID).
    pub async fn alter_consumer_group_offsets(&self, group: &str, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        let list: Vec<(TopicPartition, i64, i32)> = offsets.iter().map(|(tp, o)| (tp.clone(), *o, -1)).collect();
        self.retry(&format!("altering the offsets of group '{group}'"), coordinator_moved, |_| {
            let list = list.clone();
            async move {
                let r = commit_offsets(self.cluster(), group, -1, "", None, &list).await;
                if let Err(e) = &r {
                    if coordinator_moved(e) {
                        self.cluster().forget_coordinator(CoordinatorType::Group, group);
                    }
                }
                r
            }
        })
        .await
    }

    /// Moves a group's committed offsets of `partitions` to the earliest, the latest, or the
    /// offset of a time. Returns the offsets set.
    pub async fn reset_consumer_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        to: OffsetResetSpec,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let spec = match to {
            OffsetResetSpec::Earliest => OffsetSpec::Earliest,
            OffsetResetSpec::Latest => OffsetSpec::Latest,
            OffsetResetSpec::Timestamp(t) => OffsetSpec::Timestamp(t),
        };
        let mut queries: Vec<(TopicPartition, OffsetSpec)> = partitions.iter().map(|tp| (tp.clone(), spec)).collect();
        if matches!(spec, OffsetSpec::Timestamp(_)) {
            queries.extend(partitions.iter().map(|tp| (tp.clone(), OffsetSpec::Latest)));
        }
        let found = list_offsets_within(self.cluster(), &queries, IsolationLevel::ReadUncommitted, self.timeout()).await?;
        let n = partitions.len();
        let mut offsets = Vec::new();
        for (i, (tp, r)) in found.iter().take(n).enumerate() {
            let mut off = r.clone()?.offset;
            if off < 0 {
                off = found[n + i].1.clone()?.offset;
            }
            offsets.push((tp.clone(), off));
        }
        self.alter_consumer_group_offsets(group, &offsets).await?;
        Ok(offsets)
    }

    /// Deletes groups (they must be empty). One result per group, in order.
    pub async fn delete_consumer_groups(&self, groups: &[&str]) -> Result<Vec<(String, Result<()>)>> {
        let mut out = Vec::new();
        for &group in groups {
            let r = self
                .retry(&format!("deleting group '{group}'"), coordinator_moved, |_| async move {
                    let node = self.cluster().coordinator(CoordinatorType::Group, group).await?;
                    let resp = self.cluster().send_to(node, &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))])).await?;
                    let code = resp.results.first().map_or(0, |r| r.error_code);
                    let r = Error::check(code, format!("deleting group '{group}'"));
                    if let Err(e) = &r {
                        if coordinator_moved(e) {
                            self.cluster().forget_coordinator(CoordinatorType::Group, group);
                        }
                    }
                    r
                })
                .await;
            out.push((group.to_string(), r));
        }
        Ok(out)
    }

    /// The lag of every partition `group` committed: high watermark − committed offset.
    pub async fn consumer_group_lag(&self, group: &str) -> Result<Vec<PartitionLag>> {
        let committed = fetch_committed(self.cluster(), group, None, false).await?;
        let committed: BTreeMap<TopicPartition, i64> = committed.into_iter().filter(|c| c.offset >= 0).map(|c| (c.partition, c.offset)).collect();
        let queries: Vec<(TopicPartition, OffsetSpec)> = committed.keys().map(|tp| (tp.clone(), OffsetSpec::Latest)).collect();
        let ends = list_offsets_within(self.cluster(), &queries, IsolationLevel::ReadUncommitted, self.timeout()).await?;
        ends.into_iter()
            .map(|(tp, r)| {
                let hw = r?.offset;
                let c = committed[&tp];
                Ok(PartitionLag { partition: tp, committed: c, high_watermark: hw, lag: (hw - c).max(0) })
            })
            .collect()
    }
}
