//! The admin client: topics, partitions, configs, records, consumer groups and their offsets.
//!
//! [`Admin`] owns a [`Cluster`]. Every operation is bounded by `default.api.timeout.ms`: inside
//! that bound, retriable failures (a broker that cannot be reached, NOT_CONTROLLER,
//! LEADER_NOT_AVAILABLE, a request timeout, ...) are retried after `retry.backoff.ms`, doubling up
//! to `retry.backoff.max.ms`. When the bound passes, the last error is returned (with the time
//! spent in its message), or a timeout error when no attempt finished.
//!
//! In KRaft (Kafka 4) topic and config changes go to any broker, which forwards them to the
//! controller; broker-level configs go to the broker they are about.

mod configs;
mod delete_records;
mod groups;
mod offsets;
mod topics;

pub(crate) use crate::cluster::request::{join_all, ms_until, retry_until, with_broker_message};

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::describe_cluster_request::DescribeClusterRequest;
use kafka_protocol::messages::metadata_request::MetadataRequest;

pub use configs::{AlterConfigOp, AlterConfigOpType, ConfigDescription, ConfigEntry, ConfigResource, ConfigResourceKind, ConfigSource};
pub use groups::{GroupDescription, GroupListing, MemberDescription, OffsetResetSpec, PartitionLag};
pub use topics::{NewTopic, PartitionInfo, TopicDescription, TopicResult};

pub use crate::cluster::BrokerMeta;
use crate::cluster::Cluster;
use crate::config::AdminConfig;
use crate::error::{Error, Result};

/// What [`Admin::describe_cluster`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    /// -1 when the broker does not say (in KRaft, brokers report a random broker here, as the
    /// controllers are not reachable by clients).
    pub controller_id: i32,
    /// Sorted by node id.
    pub brokers: Vec<BrokerMeta>,
}

/// The admin client.
pub struct Admin {
    cluster: Arc<Cluster>,
    config: AdminConfig,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Admin({:?})", self.cluster)
    }
}

impl Admin {
    /// Prepares the client; no connection is made until the first operation.
    pub fn new(config: AdminConfig) -> Result<Admin> {
        let cluster = Cluster::new(config.client.clone())?;
        Ok(Admin { cluster, config })
    }

    /// The cluster this client talks to (metadata cache and connections): for the engine's own
    /// tests, not for bindings, which use the client's methods.
    #[doc(hidden)]
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Makes sure one broker can be reached (an open connection counts): one attempt per known
    /// broker, then per bootstrap server, no retry; the last connection error when none answers.
    /// For APIs that report an unreachable cluster at once (kafka-go's dial error).
    pub async fn connect_once(&self) -> Result<()> {
        self.cluster().any_connection().await.map(|_| ())
    }

    pub fn config(&self) -> &AdminConfig {
        &self.config
    }

    /// The bound of every operation: `default.api.timeout.ms`.
    pub fn timeout(&self) -> Duration {
        self.config.default_api_timeout
    }

    /// Checks that the cluster answers: a metadata request to any broker, within
    /// `default.api.timeout.ms` (kafkajs's `connect()`).
    pub async fn connect(&self) -> Result<()> {
        self.retry("connecting", |e| e.retriable(), |_| async { self.cluster.refresh_metadata(Some(&[]), false).await.map(|_| ()) })
            .await
    }

    /// Waits until each topic exists with partitions, within `default.api.timeout.ms`: a topic
    /// being created (LEADER_NOT_AVAILABLE) is waited for; a topic that does not exist (and
    /// would not be created: `allow.auto.create.topics`) or any other error fails, naming it.
    /// kafkajs's check of the topics at `subscribe`.
    pub async fn require_topics(&self, topics: &[String]) -> Result<()> {
        for topic in topics {
            self.retry(
                &format!("metadata of topic '{topic}'"),
                |e| e.code() == crate::error::LEADER_NOT_AVAILABLE || e.kind() == crate::error::ErrorKind::Connection,
                |_| async { self.cluster.topic(topic).await.map(|_| ()) },
            )
            .await?;
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.cluster.close().await;
    }

    /// Runs `attempt` until it succeeds, fails with an error `should_retry` refuses, or
    /// `default.api.timeout.ms` passes. `what` names the operation in errors.
    pub(crate) async fn retry<T, F, Fut>(&self, what: &str, should_retry: impl Fn(&Error) -> bool, attempt: F) -> Result<T>
    where
        F: FnMut(Instant) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        retry_until(&self.cluster, Instant::now() + self.timeout(), what, should_retry, attempt).await
    }

    /// The cluster id, the controller and the brokers.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        self.retry("describing the cluster", Error::retriable, |_| async {
            let conn = self.cluster.any_connection().await?;
            if conn.versions().version_for::<DescribeClusterRequest>().is_ok() {
                let resp = conn.send(&DescribeClusterRequest::default()).await?;
                Error::check(resp.error_code, with_broker_message("describing the cluster", &resp.error_message))?;
                let mut brokers: Vec<BrokerMeta> = resp
                    .brokers
                    .into_iter()
                    .map(|b| BrokerMeta {
                        node_id: b.broker_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.map(|r| r.to_string()),
                    })
                    .collect();
                brokers.sort_by_key(|b| b.node_id);
                Ok(ClusterDescription {
                    cluster_id: Some(resp.cluster_id.to_string()),
                    controller_id: resp.controller_id.0,
                    brokers,
                })
            } else {
                // Brokers older than 2.8: the metadata response has the same facts.
                let resp = conn.send(&MetadataRequest::default().with_topics(Some(vec![]))).await?;
                let mut brokers: Vec<BrokerMeta> = resp
                    .brokers
                    .into_iter()
                    .map(|b| BrokerMeta { node_id: b.node_id.0, host: b.host.to_string(), port: b.port, rack: b.rack.map(|r| r.to_string()) })
                    .collect();
                brokers.sort_by_key(|b| b.node_id);
                Ok(ClusterDescription {
                    cluster_id: resp.cluster_id.map(|c| c.to_string()),
                    controller_id: resp.controller_id.0,
                    brokers,
                })
            }
        })
        .await
    }
}

