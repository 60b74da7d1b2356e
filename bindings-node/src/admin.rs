//! `NativeAdmin`: the core admin client behind the kafkajs `Admin` façade. Per-item failures
//! (a topic that already exists, ...) come back as data with the error described as JSON, so the
//! façade can build kafkajs's aggregate errors; whole-call failures reject.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{JsFunction, JsObject};
use napi_derive::napi;
use polykafka::admin::{Admin, AlterConfigOp, ConfigResource, ConfigResourceKind, ConfigSource, NewTopic, OffsetResetSpec};
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::OffsetSpec;
use polykafka::{AdminConfig, TopicPartition};

use crate::error::{describe, IntoNapi};
use crate::events::{self, EventSink};

#[napi(object)]
pub struct NativeConfigEntry {
    pub name: String,
    pub value: String,
}

#[napi(object)]
pub struct NativeNewTopic {
    pub topic: String,
    pub num_partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub config_entries: Option<Vec<NativeConfigEntry>>,
}

/// The outcome for one topic or group: `error` is the core error as JSON, absent on success.
#[napi(object)]
pub struct NativeItemResult {
    pub name: String,
    pub error: Option<String>,
}

#[napi(object)]
pub struct NativeTopicMetadata {
    pub name: String,
    pub partitions: Vec<crate::producer::NativePartitionMetadata>,
}

#[napi(object)]
pub struct NativeBroker {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

#[napi(object)]
pub struct NativeClusterDescription {
    pub brokers: Vec<NativeBroker>,
    pub controller: Option<i32>,
    pub cluster_id: String,
}

#[napi(object)]
pub struct NativeConfigQuery {
    pub r#type: i32,
    pub name: String,
    pub config_names: Option<Vec<String>>,
}

#[napi(object)]
pub struct NativeDescribedEntry {
    pub config_name: String,
    pub config_value: Option<String>,
    pub is_default: bool,
    pub config_source: i32,
    pub is_sensitive: bool,
    pub read_only: bool,
}

#[napi(object)]
pub struct NativeDescribedResource {
    pub resource_type: i32,
    pub resource_name: String,
    pub config_entries: Vec<NativeDescribedEntry>,
}

#[napi(object)]
pub struct NativeAlterResource {
    pub r#type: i32,
    pub name: String,
    pub config_entries: Vec<NativeConfigEntry>,
}

#[napi(object)]
pub struct NativePartitionOffset {
    pub partition: i32,
    pub offset: String,
}

#[napi(object)]
pub struct NativeTopicOffsets {
    pub partition: i32,
    pub offset: String,
    pub high: String,
    pub low: String,
}

#[napi(object)]
pub struct NativeCommitted {
    pub topic: String,
    pub partition: i32,
    pub offset: String,
    /// The commit's metadata string, if any.
    pub metadata: Option<String>,
}

#[napi(object)]
pub struct NativeGroupListing {
    pub group_id: String,
    pub protocol_type: String,
}

#[napi(object)]
pub struct NativeMember {
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
}

#[napi(object)]
pub struct NativeGroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol: String,
    pub protocol_type: String,
    pub members: Vec<NativeMember>,
}

fn resource_kind(code: i32) -> polykafka::Result<ConfigResourceKind> {
    match code {
        2 => Ok(ConfigResourceKind::Topic),
        4 => Ok(ConfigResourceKind::Broker),
        8 => Ok(ConfigResourceKind::BrokerLogger),
        n => Err(polykafka::Error::invalid(format!("unsupported config resource type {n}"))),
    }
}

fn source_code(s: ConfigSource) -> i32 {
    match s {
        ConfigSource::Unknown => 0,
        ConfigSource::DynamicTopic => 1,
        ConfigSource::DynamicBroker => 2,
        ConfigSource::DynamicDefaultBroker => 3,
        ConfigSource::StaticBroker => 4,
        ConfigSource::Default => 5,
        ConfigSource::DynamicBrokerLogger => 6,
        ConfigSource::ClientMetrics => 7,
        ConfigSource::Group => 8,
        ConfigSource::Other(n) => n as i32,
    }
}

/// A metadata request with the client settings of `config`, retried by the core for
/// `timeout_ms` (the façade gives kafkajs's connection timeout plus its retries' waits), on
/// connections of its own that close after.
pub(crate) async fn connect_within(mut config: AdminConfig, timeout_ms: u32) -> polykafka::Result<()> {
    config.default_api_timeout = std::time::Duration::from_millis(timeout_ms as u64);
    let probe = Admin::new(config)?;
    let result = probe.connect().await;
    probe.close().await;
    result
}

fn item(name: String, error: Option<polykafka::Error>) -> NativeItemResult {
    NativeItemResult { name, error: error.map(|e| describe(&e).to_string()) }
}

#[napi]
pub struct NativeAdmin {
    admin: Arc<Admin>,
    events: Option<EventSink>,
}

#[napi]
impl NativeAdmin {
    /// `on_events` receives the core's instrumentation events (see `events.rs`).
    #[napi(catch_unwind, constructor)]
    pub fn new(env: Env, props: HashMap<String, String>, on_events: Option<JsFunction>) -> Result<Self> {
        let props: BTreeMap<String, String> = props.into_iter().collect();
        let events = events::sink(&env, on_events)?;
        let mut config = AdminConfig::from_properties(props).napi()?;
        config.client.instrumentation = events.as_ref().map(EventSink::instrumentation);
        let admin = Admin::new(config).napi()?;
        Ok(NativeAdmin { admin: Arc::new(admin), events })
    }

    /// Which instrumentation events to report: a mask of kinds with listeners.
    #[napi(catch_unwind)]
    pub fn set_events(&self, mask: u32) {
        events::set_wanted(&self.events, mask);
    }

    /// Checks that the cluster answers (kafkajs's `connect`): see [`connect_within`].
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn connect(&self, env: Env, timeout_ms: u32) -> Result<JsObject> {
        let config = self.admin.config().clone();
        crate::error::spawn(&env, async move { connect_within(config, timeout_ms).await.napi() })
    }

    /// Each topic exists (or is created, when `allow.auto.create.topics` is true and the broker
    /// allows it): kafkajs's check at subscribe. A topic being created (LEADER_NOT_AVAILABLE) is
    /// waited for within `default.api.timeout.ms`; any other topic error rejects, naming it.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn check_topics(&self, env: Env, topics: Vec<String>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move { admin.require_topics(&topics).await.napi() })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> Result<JsObject> {
        events::close(&self.events);
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            admin.close().await;
            Ok(())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeItemResult[]>")]
    pub fn create_topics(&self, env: Env, topics: Vec<NativeNewTopic>, validate_only: bool) -> Result<JsObject> {
        let admin = self.admin.clone();
        let topics: Vec<NewTopic> = topics
            .into_iter()
            .map(|t| NewTopic {
                name: t.topic,
                num_partitions: t.num_partitions.unwrap_or(-1),
                replication_factor: t.replication_factor.unwrap_or(-1) as i16,
                configs: t.config_entries.unwrap_or_default().into_iter().map(|e| (e.name, e.value)).collect(),
            })
            .collect();
        crate::error::spawn(&env, async move {
            let results = admin.create_topics(&topics, validate_only).await.napi()?;
            Ok(results.into_iter().map(|r| item(r.name, r.error)).collect::<Vec<_>>())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeItemResult[]>")]
    pub fn delete_topics(&self, env: Env, topics: Vec<String>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            let results = admin.delete_topics(&names).await.napi()?;
            Ok(results.into_iter().map(|r| item(r.name, r.error)).collect::<Vec<_>>())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<string[]>")]
    pub fn list_topics(&self, env: Env) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move { admin.list_topics(true).await.napi() })
    }

    /// Topics and their partitions; all topics when `topics` is absent.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeTopicMetadata[]>")]
    pub fn describe_topics(&self, env: Env, topics: Option<Vec<String>>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let names = match topics {
                Some(t) => t,
                None => admin.list_topics(true).await.napi()?,
            };
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let described = admin.describe_topics(&refs).await.napi()?;
            Ok(described
                .into_iter()
                .map(|t| NativeTopicMetadata {
                    name: t.name,
                    partitions: t
                        .partitions
                        .into_iter()
                        .map(|p| crate::producer::NativePartitionMetadata {
                            partition_error_code: 0,
                            partition_id: p.partition,
                            leader: p.leader,
                            replicas: p.replicas,
                            isr: p.isr,
                            offline_replicas: Vec::new(),
                        })
                        .collect(),
                })
                .collect::<Vec<_>>())
        })
    }

    /// Grows each topic to `count` partitions; one result per topic.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeItemResult[]>")]
    pub fn create_partitions(&self, env: Env, topics: Vec<String>, counts: Vec<i32>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let mut out = Vec::new();
            for (t, n) in topics.into_iter().zip(counts) {
                let r = admin.create_partitions(&t, n).await;
                out.push(item(t, r.err()));
            }
            Ok(out)
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeClusterDescription>")]
    pub fn describe_cluster(&self, env: Env) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let d = admin.describe_cluster().await.napi()?;
            Ok(NativeClusterDescription {
                brokers: d.brokers.into_iter().map(|b| NativeBroker { node_id: b.node_id, host: b.host, port: b.port }).collect(),
                controller: if d.controller_id >= 0 { Some(d.controller_id) } else { None },
                cluster_id: d.cluster_id.unwrap_or_default(),
            })
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeDescribedResource[]>")]
    pub fn describe_configs(&self, env: Env, resources: Vec<NativeConfigQuery>) -> Result<JsObject> {
        let admin = self.admin.clone();
        let mut queries = Vec::new();
        for r in resources {
            queries.push((ConfigResource { kind: resource_kind(r.r#type).napi()?, name: r.name }, r.config_names));
        }
        crate::error::spawn(&env, async move {
            let list: Vec<ConfigResource> = queries.iter().map(|(r, _)| r.clone()).collect();
            let described = admin.describe_configs(&list).await.napi()?;
            Ok(described
                .into_iter()
                .zip(queries)
                .map(|(d, (_, names))| NativeDescribedResource {
                    resource_type: d.resource.kind.code() as i32,
                    resource_name: d.resource.name.clone(),
                    config_entries: d
                        .entries
                        .into_iter()
                        .filter(|e| names.as_ref().map_or(true, |n| n.is_empty() || n.contains(&e.name)))
                        .map(|e| NativeDescribedEntry {
                            config_name: e.name,
                            config_value: e.value,
                            is_default: e.is_default,
                            config_source: source_code(e.source),
                            is_sensitive: e.sensitive,
                            read_only: e.read_only,
                        })
                        .collect(),
                })
                .collect::<Vec<_>>())
        })
    }

    /// Sets the given configs (IncrementalAlterConfigs SET operations).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn alter_configs(&self, env: Env, resources: Vec<NativeAlterResource>) -> Result<JsObject> {
        let admin = self.admin.clone();
        let mut changes = Vec::new();
        for r in resources {
            let resource = ConfigResource { kind: resource_kind(r.r#type).napi()?, name: r.name };
            changes.push((resource, r.config_entries.into_iter().map(|e| AlterConfigOp::set(e.name, e.value)).collect::<Vec<_>>()));
        }
        crate::error::spawn(&env, async move { admin.incremental_alter_configs(&changes).await.napi() })
    }

    /// Deletes records before each offset (-1: the high watermark).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn delete_records(&self, env: Env, topic: String, partitions: Vec<NativePartitionOffset>) -> Result<JsObject> {
        let admin = self.admin.clone();
        let mut offsets = Vec::new();
        for p in partitions {
            let o: i64 = crate::consumer::parse_offset(&p.offset)?;
            offsets.push((TopicPartition::new(topic.clone(), p.partition), o));
        }
        crate::error::spawn(&env, async move {
            admin.delete_records(&offsets).await.napi()?;
            Ok(())
        })
    }

    /// Every partition of `topic` with its low and high watermarks; with `timestamp`, `offset`
    /// is the first offset at or after it (the high watermark when there is none).
    #[napi(catch_unwind, ts_return_type = "Promise<NativeTopicOffsets[]>")]
    pub fn topic_offsets(&self, env: Env, topic: String, timestamp: Option<f64>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let described = admin.describe_topics(&[topic.as_str()]).await.napi()?;
            let partitions: Vec<i32> = described.first().map(|t| t.partitions.iter().map(|p| p.partition).collect()).unwrap_or_default();
            let mut specs = Vec::new();
            for &p in &partitions {
                let tp = TopicPartition::new(topic.clone(), p);
                specs.push((tp.clone(), OffsetSpec::Earliest));
                specs.push((tp.clone(), OffsetSpec::Latest));
                if let Some(t) = timestamp {
                    specs.push((tp, OffsetSpec::Timestamp(t as i64)));
                }
            }
            let listed = admin.list_offsets(&specs, IsolationLevel::ReadUncommitted).await.napi()?;
            let mut found: HashMap<(i32, u8), i64> = HashMap::new();
            for ((_, spec), (tp, r)) in specs.iter().zip(listed) {
                let which = match spec {
                    OffsetSpec::Earliest => 0,
                    OffsetSpec::Latest => 1,
                    _ => 2,
                };
                found.insert((tp.partition, which), r.napi()?.offset);
            }
            Ok(partitions
                .into_iter()
                .map(|p| {
                    let low = found.get(&(p, 0)).copied().unwrap_or(-1);
                    let high = found.get(&(p, 1)).copied().unwrap_or(-1);
                    let at = match found.get(&(p, 2)) {
                        Some(&o) if o >= 0 => o,
                        _ => high,
                    };
                    NativeTopicOffsets { partition: p, offset: at.to_string(), high: high.to_string(), low: low.to_string() }
                })
                .collect::<Vec<_>>())
        })
    }

    /// A group's committed offsets for every partition of `topics` (-1 when none), or for every
    /// partition it has committed when `topics` is absent.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeCommitted[]>")]
    pub fn fetch_offsets(&self, env: Env, group_id: String, topics: Option<Vec<String>>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let wanted: Option<Vec<TopicPartition>> = match &topics {
                None => None,
                Some(t) => {
                    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
                    let described = admin.describe_topics(&refs).await.napi()?;
                    Some(
                        described
                            .iter()
                            .flat_map(|d| d.partitions.iter().map(move |p| TopicPartition::new(d.name.clone(), p.partition)))
                            .collect(),
                    )
                }
            };
            let committed = admin.list_consumer_group_offsets_full(&group_id, wanted.as_deref()).await.napi()?;
            let have: HashMap<TopicPartition, (i64, Option<String>)> =
                committed.into_iter().map(|c| (c.partition, (c.offset, c.metadata))).collect();
            let all: Vec<TopicPartition> = match wanted {
                Some(w) => w,
                None => {
                    let mut k: Vec<TopicPartition> = have.keys().cloned().collect();
                    k.sort();
                    k
                }
            };
            Ok(all
                .into_iter()
                .map(|tp| {
                    let (o, metadata) = have.get(&tp).cloned().unwrap_or((-1, None));
                    NativeCommitted { topic: tp.topic, partition: tp.partition, offset: o.to_string(), metadata }
                })
                .collect::<Vec<_>>())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn set_offsets(&self, env: Env, group_id: String, topic: String, partitions: Vec<NativePartitionOffset>) -> Result<JsObject> {
        let admin = self.admin.clone();
        let mut offsets = Vec::new();
        for p in partitions {
            let o: i64 = crate::consumer::parse_offset(&p.offset)?;
            offsets.push((TopicPartition::new(topic.clone(), p.partition), o));
        }
        crate::error::spawn(&env, async move { admin.alter_consumer_group_offsets(&group_id, &offsets).await.napi() })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn reset_offsets(&self, env: Env, group_id: String, topic: String, earliest: bool) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let described = admin.describe_topics(&[topic.as_str()]).await.napi()?;
            let partitions: Vec<TopicPartition> = described
                .iter()
                .flat_map(|d| d.partitions.iter().map(move |p| TopicPartition::new(d.name.clone(), p.partition)))
                .collect();
            let to = if earliest { OffsetResetSpec::Earliest } else { OffsetResetSpec::Latest };
            admin.reset_consumer_group_offsets(&group_id, &partitions, to).await.napi()?;
            Ok(())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeGroupListing[]>")]
    pub fn list_groups(&self, env: Env) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let groups = admin.list_consumer_groups().await.napi()?;
            Ok(groups
                .into_iter()
                .map(|g| NativeGroupListing { group_id: g.group_id, protocol_type: g.protocol_type })
                .collect::<Vec<_>>())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeGroupDescription[]>")]
    pub fn describe_groups(&self, env: Env, group_ids: Vec<String>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let refs: Vec<&str> = group_ids.iter().map(String::as_str).collect();
            let groups = admin.describe_consumer_groups(&refs).await.napi()?;
            Ok(groups
                .into_iter()
                .map(|g| NativeGroupDescription {
                    group_id: g.group_id,
                    state: g.state,
                    protocol: g.protocol,
                    protocol_type: g.protocol_type,
                    members: g
                        .members
                        .into_iter()
                        .map(|m| NativeMember { member_id: m.member_id, client_id: m.client_id, client_host: m.host })
                        .collect(),
                })
                .collect::<Vec<_>>())
        })
    }

    #[napi(catch_unwind, ts_return_type = "Promise<NativeItemResult[]>")]
    pub fn delete_groups(&self, env: Env, group_ids: Vec<String>) -> Result<JsObject> {
        let admin = self.admin.clone();
        crate::error::spawn(&env, async move {
            let refs: Vec<&str> = group_ids.iter().map(String::as_str).collect();
            let results = admin.delete_consumer_groups(&refs).await.napi()?;
            Ok(results.into_iter().map(|(g, r)| item(g, r.err())).collect::<Vec<_>>())
        })
    }
}
