//! A snapshot of cluster metadata: brokers, topics, partitions and their leaders.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::MetadataResponse;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerMeta {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMeta {
    pub partition: i32,
    /// -1 when the partition has no leader right now.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    pub error_code: i16,
}

#[derive(Clone, Debug)]
pub struct TopicMeta {
    pub name: String,
    /// The name again, shared: every batch of the topic refers to it without copying.
    pub shared_name: Arc<str>,
    pub topic_id: [u8; 16],
    pub internal: bool,
    pub error_code: i16,
    /// Indexed by partition number.
    pub partitions: Vec<PartitionMeta>,
    /// Partitions whose leader is known.
    pub available: Vec<i32>,
}

#[derive(Clone, Debug)]
pub struct Metadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: HashMap<i32, BrokerMeta>,
    pub topics: HashMap<String, Arc<TopicMeta>>,
    pub fetched_at: Instant,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            cluster_id: None,
            controller_id: -1,
            brokers: HashMap::new(),
            topics: HashMap::new(),
            // "Never fetched": old enough that any max age has passed.
            fetched_at: Instant::now() - Duration::from_secs(10 * 365 * 24 * 3600),
        }
    }
}

impl Metadata {
    pub fn age(&self) -> Duration {
        self.fetched_at.elapsed()
    }

    /// Builds a snapshot from a response. Topics the response does not mention are kept from
    /// `previous` unless the request asked for all topics.
    pub(crate) fn from_response(resp: MetadataResponse, all_topics: bool, previous: &Metadata) -> Metadata {
        let brokers = resp
            .brokers
            .into_iter()
            .map(|b| {
                (
                    b.node_id.0,
                    BrokerMeta {
                        node_id: b.node_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        let mut topics = if all_topics { HashMap::new() } else { previous.topics.clone() };
        for t in resp.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else { continue };
            let mut partitions: Vec<PartitionMeta> = t
                .partitions
                .into_iter()
                .map(|p| PartitionMeta {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                    offline_replicas: p.offline_replicas.iter().map(|b| b.0).collect(),
                    error_code: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            let available = partitions.iter().filter(|p| p.leader >= 0).map(|p| p.partition).collect();
            topics.insert(
                name.clone(),
                Arc::new(TopicMeta {
                    shared_name: Arc::from(name.as_str()),
                    name,
                    topic_id: *t.topic_id.as_bytes(),
                    internal: t.is_internal,
                    error_code: t.error_code,
                    partitions,
                    available,
                }),
            );
        }
        Metadata {
            cluster_id: resp.cluster_id.map(|c| c.to_string()),
            controller_id: resp.controller_id.0,
            brokers,
            topics,
            fetched_at: Instant::now(),
        }
    }

    /// The leader of `topic`/`partition`, if known.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let t = self.topics.get(topic)?;
        let p = t.partitions.get(partition as usize)?;
        (p.leader >= 0).then_some(p.leader)
    }
}
