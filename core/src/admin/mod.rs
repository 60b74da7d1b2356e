//! The admin client: topics, partitions, configs, records (groups come later).
//!
//! [`Admin`] owns a [`Cluster`]. Every operation is bounded by `default.api.timeout.ms`: inside
//! that bound, retriable failures (a broker that cannot be reached, NOT_CONTROLLER,
//! LEADER_NOT_AVAILABLE, a request timeout, ...) are retried after `retry.backoff.ms`, doubling up
//! to `retry.backoff.max.ms`. When the bound passes, the last error is returned (with the time
//! spent in its message), or a timeout error when no attempt finished.
//!
//! In KRaft (Kafka 4) topic and config changes go to any broker, which forwards them to the
//! controller; broker-level configs go to the broker they are about.
//!
//! Group operations (list, describe, delete groups, their offsets) will be added as another file
//! of this module, on the same [`Admin::retry`] and request helpers.

mod configs;
mod groups;
mod records;
mod topics;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::describe_cluster_request::DescribeClusterRequest;
use kafka_protocol::messages::metadata_request::MetadataRequest;

pub use configs::{AlterConfigOp, AlterConfigOpType, ConfigDescription, ConfigEntry, ConfigResource, ConfigResourceKind, ConfigSource};
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

    /// The cluster this client talks to (metadata cache and connections).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    pub fn config(&self) -> &AdminConfig {
        &self.config
    }

    /// The bound of every operation: `default.api.timeout.ms`.
    pub fn timeout(&self) -> Duration {
        self.config.default_api_timeout
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

/// Runs `attempt` (given the deadline) until it succeeds, fails with an error `should_retry`
/// refuses, or `deadline` passes; sleeps `retry.backoff.ms` (doubling up to
/// `retry.backoff.max.ms`) between attempts.
pub(crate) async fn retry_until<T, F, Fut>(
    cluster: &Cluster,
    deadline: Instant,
    what: &str,
    should_retry: impl Fn(&Error) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(Instant) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let mut backoff = cluster.config().retry_backoff;
    let backoff_max = cluster.config().retry_backoff_max.max(backoff);
    let mut last: Option<Error> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(gave_up(what, last, start.elapsed()));
        }
        match tokio::time::timeout(remaining, attempt(deadline)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) if should_retry(&e) => {
                tracing::debug!(error = %e, "{what}: retrying");
                last = Some(e);
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(gave_up(what, last, start.elapsed())),
        }
        if Instant::now() + backoff >= deadline {
            return Err(gave_up(what, last, start.elapsed()));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(backoff_max);
    }
}

fn gave_up(what: &str, last: Option<Error>, elapsed: Duration) -> Error {
    match last {
        Some(e) => e.context(format!("{what}: gave up after {} ms", elapsed.as_millis())),
        None => Error::timeout(format!("{what} timed out after {} ms", elapsed.as_millis())),
    }
}

/// `context`, followed by the broker's own message when it sent one.
pub(crate) fn with_broker_message(context: impl std::fmt::Display, message: &Option<kafka_protocol::protocol::StrBytes>) -> String {
    match message.as_deref() {
        Some(m) if !m.is_empty() => format!("{context}: {m}"),
        _ => context.to_string(),
    }
}

/// Milliseconds left until `deadline`, as the `timeout_ms` of a request (at least 1).
pub(crate) fn ms_until(deadline: Instant) -> i32 {
    deadline.saturating_duration_since(Instant::now()).as_millis().clamp(1, i32::MAX as u128) as i32
}

/// Runs futures concurrently and collects their outputs in order.
pub(crate) async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    // Sequential awaiting of pinned futures would serialise them; poll them together instead.
    let mut slots: Vec<Option<F::Output>> = (0..handles.len()).map(|_| None).collect();
    let mut handles: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, h) in handles.iter_mut().enumerate() {
            if let Some(fut) = h {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        slots[i] = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.extend(slots.into_iter().map(|s| s.expect("every future completed")));
    outputs
}
