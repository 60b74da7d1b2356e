//! Topics and partitions: create, delete, list, describe, add partitions.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use kafka_protocol::messages::create_partitions_request::{CreatePartitionsRequest, CreatePartitionsTopic};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig, CreateTopicsRequest};
use kafka_protocol::messages::delete_topics_request::{DeleteTopicState, DeleteTopicsRequest};
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::{MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{ms_until, with_broker_message, Admin};
use crate::error::{self, Error, Result};

/// A topic to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// -1: the broker's `num.partitions`.
    pub num_partitions: i32,
    /// -1: the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Topic configs (`retention.ms`, `cleanup.policy`, ...).
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, num_partitions: i32, replication_factor: i16) -> Self {
        NewTopic { name: name.into(), num_partitions, replication_factor, configs: Vec::new() }
    }
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// The outcome for one topic of a batch operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicResult {
    pub name: String,
    pub error: Option<Error>,
}

/// One partition of a described topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    /// -1 when the partition has no leader right now.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// What [`Admin::describe_topics`] returns for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    /// The topic's UUID, all zeros when the broker does not report it.
    pub topic_id: [u8; 16],
    pub internal: bool,
    /// Sorted by partition number.
    pub partitions: Vec<PartitionInfo>,
}

/// Errors worth another attempt for topic operations. UNKNOWN_TOPIC_OR_PARTITION is not one: the
/// caller named a topic that does not exist.
fn retriable(e: &Error) -> bool {
    e.retriable() && e.code() != error::UNKNOWN_TOPIC_OR_PARTITION
}

fn metadata_request(topics: Option<&[String]>) -> MetadataRequest {
    MetadataRequest::default()
        .with_topics(topics.map(|names| {
            names
                .iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t.clone())))))
                .collect()
        }))
        .with_allow_auto_topic_creation(false)
}

fn describe_from(resp: &MetadataResponse, name: &str) -> Option<Result<TopicDescription>> {
    let t = resp.topics.iter().find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name))?;
    if let Err(e) = Error::check(t.error_code, format!("topic '{name}'")) {
        return Some(Err(e));
    }
    let mut partitions: Vec<PartitionInfo> = t
        .partitions
        .iter()
        .map(|p| PartitionInfo {
            partition: p.partition_index,
            leader: p.leader_id.0,
            replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
            isr: p.isr_nodes.iter().map(|b| b.0).collect(),
        })
        .collect();
    partitions.sort_by_key(|p| p.partition);
    Some(Ok(TopicDescription { name: name.to_string(), topic_id: *t.topic_id.as_bytes(), internal: t.is_internal, partitions }))
}

impl Admin {
    /// Creates topics. Per-topic failures (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, ...)
    /// are in the results; the call fails only when no broker answers in time. Unless
    /// `validate_only`, waits (within the timeout) until metadata shows a leader for every
    /// partition of the created topics, so a producer can use them right away.
    pub async fn create_topics(&self, topics: &[NewTopic], validate_only: bool) -> Result<Vec<TopicResult>> {
        let deadline = Instant::now() + self.timeout();
        let mut results: HashMap<String, Option<Error>> = HashMap::new();
        let mut pending: Vec<&NewTopic> = topics.iter().collect();
        let mut seen = HashSet::new();
        for t in topics {
            if !seen.insert(t.name.as_str()) {
                return Err(Error::invalid(format!("topic '{}' is listed twice", t.name)));
            }
        }
        // Topics answered with a retriable code (NOT_CONTROLLER, ...) are sent again, until the
        // deadline; those still unanswered then get the last error seen.
        let start = Instant::now();
        let mut backoff = self.cluster.config().retry_backoff;
        let mut last_seen: Option<Error> = None;
        loop {
            let attempt = tokio::time::timeout(
                deadline.saturating_duration_since(Instant::now()),
                self.create_topics_once(&pending, validate_only, deadline),
            )
            .await;
            let last = match attempt {
                Ok(Ok(answered)) => {
                    let mut last = None;
                    for (name, err) in answered {
                        match err {
                            Some(e) if retriable(&e) => last = Some(e),
                            other => {
                                results.insert(name, other);
                            }
                        }
                    }
                    pending.retain(|t| !results.contains_key(&t.name));
                    if pending.is_empty() {
                        break;
                    }
                    last.unwrap_or_else(|| Error::protocol("CreateTopics response left out some topics").with_retriable(true))
                }
                Ok(Err(e)) if retriable(&e) => e,
                Ok(Err(e)) => return Err(e),
                // Out of time within an attempt: report what went wrong before, if anything.
                Err(_) => last_seen.take().unwrap_or_else(|| Error::timeout("no answer in time")),
            };
            last_seen = Some(last.clone());
            if Instant::now() + backoff >= deadline {
                let e = last_seen.take().unwrap().context(format!("creating topics: gave up after {} ms", start.elapsed().as_millis()));
                if results.is_empty() {
                    return Err(e);
                }
                for t in &pending {
                    results.insert(t.name.clone(), Some(e.clone()));
                }
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.cluster.config().retry_backoff_max.max(backoff));
        }
        if !validate_only {
            let created: Vec<String> = topics
                .iter()
                .filter(|t| matches!(results.get(&t.name), Some(None)))
                .map(|t| t.name.clone())
                .collect();
            if !created.is_empty() {
                self.wait_for_leaders(&created, None, deadline).await?;
            }
        }
        Ok(topics
            .iter()
            .map(|t| TopicResult { name: t.name.clone(), error: results.remove(&t.name).flatten() })
            .collect())
    }

    /// One CreateTopics request; the broker's answer per topic.
    async fn create_topics_once(&self, topics: &[&NewTopic], validate_only: bool, deadline: Instant) -> Result<Vec<(String, Option<Error>)>> {
        let req = CreateTopicsRequest::default()
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        CreatableTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.name.clone())))
                            .with_num_partitions(t.num_partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )
            .with_timeout_ms(ms_until(deadline))
            .with_validate_only(validate_only);
        let resp = self.cluster.send_any(&req).await?;
        Ok(resp
            .topics
            .into_iter()
            .map(|r| {
                let name = r.name.0.to_string();
                let err = Error::from_code(r.error_code, with_broker_message(format!("creating topic '{name}'"), &r.error_message));
                (name, err)
            })
            .collect())
    }

    /// Creates one topic; TOPIC_ALREADY_EXISTS (and any other failure) is an error.
    pub async fn create_topic(&self, name: &str, num_partitions: i32, replication_factor: i16) -> Result<()> {
        let mut results = self.create_topics(&[NewTopic::new(name, num_partitions, replication_factor)], false).await?;
        match results.pop().and_then(|r| r.error) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Polls metadata until each topic has `expected_partitions` (or, when `None`, at least one)
    /// partitions, every one with a leader. Gives up with a timeout error at `deadline`.
    pub(crate) async fn wait_for_leaders(&self, topics: &[String], expected_partitions: Option<i32>, deadline: Instant) -> Result<()> {
        let poll = self.cluster.config().retry_backoff.clamp(Duration::from_millis(20), Duration::from_millis(500));
        let req = metadata_request(Some(topics));
        let mut waiting: Vec<String> = topics.to_vec();
        loop {
            match self.cluster.send_any(&req).await {
                Ok(resp) => {
                    waiting.retain(|name| {
                        let ready = resp.topics.iter().find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name.as_str())).is_some_and(|t| {
                            t.error_code == 0
                                && !t.partitions.is_empty()
                                && expected_partitions.is_none_or(|n| t.partitions.len() as i32 >= n)
                                && t.partitions.iter().all(|p| p.leader_id.0 >= 0 && p.error_code == 0)
                        });
                        !ready
                    });
                    if waiting.is_empty() {
                        // Keep this client's own cache in step, for a producer sharing it.
                        let _ = self.cluster.refresh_metadata(Some(topics), false).await;
                        return Ok(());
                    }
                }
                Err(e) if e.retriable() => {}
                Err(e) => return Err(e),
            }
            if Instant::now() + poll >= deadline {
                return Err(Error::timeout(format!(
                    "topic(s) {} created, but their partitions have no leader yet",
                    waiting.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
                )));
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Deletes topics. Per-topic failures (UNKNOWN_TOPIC_OR_PARTITION, ...) are in the results.
    /// Waits (within the timeout, without failing) until metadata no longer shows them, so the
    /// names can be created again.
    pub async fn delete_topics(&self, topics: &[&str]) -> Result<Vec<TopicResult>> {
        let deadline = Instant::now() + self.timeout();
        let results: HashMap<String, Option<Error>> = super::retry_until(&self.cluster, deadline, "deleting topics", retriable, |deadline| async move {
            let conn = self.cluster.any_connection().await?;
            let version = conn.versions().version_for::<DeleteTopicsRequest>()?;
            let mut req = DeleteTopicsRequest::default().with_timeout_ms(ms_until(deadline));
            let names = topics.iter().map(|t| TopicName(StrBytes::from_string(t.to_string())));
            if version >= 6 {
                req = req.with_topics(names.map(|n| DeleteTopicState::default().with_name(Some(n))).collect());
            } else {
                req = req.with_topic_names(names.collect());
            }
            let resp = conn.send_version(&req, version, self.cluster.config().request_timeout).await?;
            let mut results = HashMap::new();
            for r in resp.responses {
                let Some(name) = r.name.map(|n| n.0.to_string()) else { continue };
                let err = Error::from_code(r.error_code, with_broker_message(format!("deleting topic '{name}'"), &r.error_message));
                if let Some(e) = &err {
                    if retriable(e) {
                        return Err(e.clone());
                    }
                }
                results.insert(name, err);
            }
            Ok(results)
        })
        .await?;
        let deleted: Vec<String> = topics.iter().filter(|t| matches!(results.get(**t), Some(None))).map(|t| t.to_string()).collect();
        if !deleted.is_empty() {
            let poll = self.cluster.config().retry_backoff.clamp(Duration::from_millis(20), Duration::from_millis(500));
            let req = metadata_request(Some(&deleted));
            while Instant::now() + poll < deadline {
                match self.cluster.send_any(&req).await {
                    Ok(resp) if resp.topics.iter().all(|t| t.error_code == error::UNKNOWN_TOPIC_OR_PARTITION) => break,
                    _ => tokio::time::sleep(poll).await,
                }
            }
        }
        Ok(topics
            .iter()
            .map(|t| TopicResult {
                name: t.to_string(),
                error: results
                    .get(*t)
                    .cloned()
                    .unwrap_or_else(|| Some(Error::protocol(format!("DeleteTopics response does not mention topic '{t}'")))),
            })
            .collect())
    }

    /// The names of all topics, sorted; internal ones (`__consumer_offsets`, ...) only when asked.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<String>> {
        self.retry("listing topics", retriable, |_| async {
            let resp = self.cluster.send_any(&metadata_request(None)).await?;
            let mut names: Vec<String> = resp
                .topics
                .iter()
                .filter(|t| include_internal || !t.is_internal)
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                .collect();
            names.sort();
            Ok(names)
        })
        .await
    }

    /// Describes topics, in the order given. A topic that does not exist is an
    /// UNKNOWN_TOPIC_OR_PARTITION error naming it.
    pub async fn describe_topics(&self, topics: &[&str]) -> Result<Vec<TopicDescription>> {
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.retry("describing topics", retriable, |_| async {
            let resp = self.cluster.send_any(&metadata_request(Some(&names))).await?;
            names
                .iter()
                .map(|name| {
                    describe_from(&resp, name).unwrap_or_else(|| {
                        Err(Error::protocol(format!("the metadata response does not mention topic '{name}'")).with_retriable(true))
                    })
                })
                .collect()
        })
        .await
    }

    /// Grows `topic` to `new_total` partitions, then waits until they all have a leader.
    pub async fn create_partitions(&self, topic: &str, new_total: i32) -> Result<()> {
        let deadline = Instant::now() + self.timeout();
        super::retry_until(&self.cluster, deadline, "creating partitions", retriable, |deadline| async move {
            let req = CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                    .with_count(new_total)
                    .with_assignments(None)])
                .with_timeout_ms(ms_until(deadline));
            let resp = self.cluster.send_any(&req).await?;
            let r = resp
                .results
                .iter()
                .find(|r| r.name.0.as_str() == topic)
                .ok_or_else(|| Error::protocol(format!("CreatePartitions response does not mention topic '{topic}'")))?;
            Error::check(
                r.error_code,
                with_broker_message(format!("creating partitions of topic '{topic}' (to {new_total})"), &r.error_message),
            )
        })
        .await?;
        self.wait_for_leaders(&[topic.to_string()], Some(new_total), deadline).await
    }
}
