//! Configs of topics and brokers: describe, incremental alter.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_request::{DescribeConfigsRequest, DescribeConfigsResource};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::{with_broker_message, Admin};
use crate::error::{Error, Result};

/// The kind of resource a config belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigResourceKind {
    Topic,
    /// A broker, named by its node id; an empty name is the cluster-wide default.
    Broker,
    /// A broker's log4j loggers, named by the broker's node id.
    BrokerLogger,
}

impl ConfigResourceKind {
    pub fn code(self) -> i8 {
        match self {
            ConfigResourceKind::Topic => 2,
            ConfigResourceKind::Broker => 4,
            ConfigResourceKind::BrokerLogger => 8,
        }
    }
    fn name(self) -> &'static str {
        match self {
            ConfigResourceKind::Topic => "topic",
            ConfigResourceKind::Broker => "broker",
            ConfigResourceKind::BrokerLogger => "broker logger",
        }
    }
}

/// A topic or a broker whose configs are described or altered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigResource {
    pub kind: ConfigResourceKind,
    pub name: String,
}

impl ConfigResource {
    pub fn topic(name: impl Into<String>) -> Self {
        ConfigResource { kind: ConfigResourceKind::Topic, name: name.into() }
    }
    pub fn broker(node_id: i32) -> Self {
        ConfigResource { kind: ConfigResourceKind::Broker, name: node_id.to_string() }
    }

    /// The broker a request about this resource must go to: broker resources go to that broker.
    fn target(&self) -> Option<i32> {
        match self.kind {
            ConfigResourceKind::Topic => None,
            ConfigResourceKind::Broker | ConfigResourceKind::BrokerLogger => self.name.parse().ok(),
        }
    }
}

impl std::fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}'", self.kind.name(), self.name)
    }
}

/// Where a config's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    Unknown,
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    DynamicBrokerLogger,
    ClientMetrics,
    Group,
    Other(i8),
}

impl ConfigSource {
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => ConfigSource::Unknown,
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            7 => ConfigSource::ClientMetrics,
            8 => ConfigSource::Group,
            other => ConfigSource::Other(other),
        }
    }
}

/// One config of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for sensitive configs and configs without a value.
    pub value: Option<String>,
    pub read_only: bool,
    /// The value is the default (source DEFAULT).
    pub is_default: bool,
    pub sensitive: bool,
    pub source: ConfigSource,
}

/// The configs of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigDescription {
    pub resource: ConfigResource,
    /// Sorted by name.
    pub entries: Vec<ConfigEntry>,
}

impl ConfigDescription {
    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&ConfigEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// How [`AlterConfigOp`] changes a config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterConfigOpType {
    Set,
    /// Back to the default.
    Delete,
    /// Adds to a list config.
    Append,
    /// Removes from a list config.
    Subtract,
}

impl AlterConfigOpType {
    pub fn code(self) -> i8 {
        match self {
            AlterConfigOpType::Set => 0,
            AlterConfigOpType::Delete => 1,
            AlterConfigOpType::Append => 2,
            AlterConfigOpType::Subtract => 3,
        }
    }
}

/// One change of [`Admin::incremental_alter_configs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterConfigOp {
    pub name: String,
    pub value: Option<String>,
    pub op: AlterConfigOpType,
}

impl AlterConfigOp {
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> Self {
        AlterConfigOp { name: name.into(), value: Some(value.into()), op: AlterConfigOpType::Set }
    }
    pub fn delete(name: impl Into<String>) -> Self {
        AlterConfigOp { name: name.into(), value: None, op: AlterConfigOpType::Delete }
    }
}

fn retriable(e: &Error) -> bool {
    e.retriable() && e.code() != crate::error::UNKNOWN_TOPIC_OR_PARTITION
}

/// Splits resources by the broker their requests go to (`None`: any broker), keeping each
/// resource's index in the input.
fn by_target<T>(items: &[T], resource: impl Fn(&T) -> &ConfigResource) -> BTreeMap<Option<i32>, Vec<usize>> {
    let mut groups: BTreeMap<Option<i32>, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        groups.entry(resource(item).target()).or_default().push(i);
    }
    groups
}

impl Admin {
    /// The configs of topics and brokers, in the order given. A resource that does not exist
    /// (an unknown topic) is an error naming it.
    pub async fn describe_configs(&self, resources: &[ConfigResource]) -> Result<Vec<ConfigDescription>> {
        let mut out: Vec<Option<ConfigDescription>> = vec![None; resources.len()];
        for (target, indexes) in by_target(resources, |r| r) {
            let descs = self
                .retry("describing configs", retriable, |_| {
                    let indexes = &indexes;
                    async move {
                        let req = DescribeConfigsRequest::default().with_resources(
                            indexes
                                .iter()
                                .map(|&i| {
                                    DescribeConfigsResource::default()
                                        .with_resource_type(resources[i].kind.code())
                                        .with_resource_name(StrBytes::from_string(resources[i].name.clone()))
                                        .with_configuration_keys(None)
                                })
                                .collect(),
                        );
                        let resp = match target {
                            Some(node) => self.cluster.send_to(node, &req).await?,
                            None => self.cluster.send_any(&req).await?,
                        };
                        let mut descs = Vec::new();
                        for &i in indexes {
                            let resource = &resources[i];
                            let r = resp
                                .results
                                .iter()
                                .find(|r| r.resource_type == resource.kind.code() && r.resource_name.as_str() == resource.name)
                                .ok_or_else(|| Error::protocol(format!("DescribeConfigs response does not mention {resource}")))?;
                            Error::check(r.error_code, with_broker_message(format!("describing configs of {resource}"), &r.error_message))?;
                            let mut entries: Vec<ConfigEntry> = r
                                .configs
                                .iter()
                                .map(|c| {
                                    let source = ConfigSource::from_code(c.config_source);
                                    ConfigEntry {
                                        name: c.name.to_string(),
                                        value: c.value.as_ref().map(|v| v.to_string()),
                                        read_only: c.read_only,
                                        is_default: source == ConfigSource::Default,
                                        sensitive: c.is_sensitive,
                                        source,
                                    }
                                })
                                .collect();
                            entries.sort_by(|a, b| a.name.cmp(&b.name));
                            descs.push((i, ConfigDescription { resource: resource.clone(), entries }));
                        }
                        Ok(descs)
                    }
                })
                .await?;
            for (i, d) in descs {
                out[i] = Some(d);
            }
        }
        Ok(out.into_iter().map(|d| d.expect("every resource was described")).collect())
    }

    /// Changes configs. The first resource the broker refuses fails the call with the broker's
    /// error (INVALID_CONFIG for a key that does not exist, naming it); the others may have been
    /// changed.
    pub async fn incremental_alter_configs(&self, changes: &[(ConfigResource, Vec<AlterConfigOp>)]) -> Result<()> {
        for (target, indexes) in by_target(changes, |(r, _)| r) {
            self.retry("altering configs", retriable, |_| {
                let indexes = &indexes;
                async move {
                    let req = IncrementalAlterConfigsRequest::default().with_resources(
                        indexes
                            .iter()
                            .map(|&i| {
                                let (resource, ops) = &changes[i];
                                AlterConfigsResource::default()
                                    .with_resource_type(resource.kind.code())
                                    .with_resource_name(StrBytes::from_string(resource.name.clone()))
                                    .with_configs(
                                        ops.iter()
                                            .map(|op| {
                                                AlterableConfig::default()
                                                    .with_name(StrBytes::from_string(op.name.clone()))
                                                    .with_config_operation(op.op.code())
                                                    .with_value(op.value.clone().map(StrBytes::from_string))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    );
                    let resp = match target {
                        Some(node) => self.cluster.send_to(node, &req).await?,
                        None => self.cluster.send_any(&req).await?,
                    };
                    for &i in indexes {
                        let (resource, ops) = &changes[i];
                        let r = resp
                            .responses
                            .iter()
                            .find(|r| r.resource_type == resource.kind.code() && r.resource_name.as_str() == resource.name)
                            .ok_or_else(|| Error::protocol(format!("IncrementalAlterConfigs response does not mention {resource}")))?;
                        let keys = ops.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ");
                        Error::check(
                            r.error_code,
                            with_broker_message(format!("altering configs of {resource} ({keys})"), &r.error_message),
                        )?;
                    }
                    Ok(())
                }
            })
            .await?;
        }
        Ok(())
    }
}
