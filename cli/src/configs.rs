//! `configs get|set` for topics and brokers.

use polykafka::admin::{AlterConfigOp, ConfigResource, ConfigSource};
use serde_json::json;

use crate::args::{Connection, ConfigsCommand, OutputFormat, ResourceType};
use crate::output::{self, Failure};
use crate::topics::{admin, key_values};

fn resource(kind: ResourceType, name: &str) -> Result<ConfigResource, Failure> {
    Ok(match kind {
        ResourceType::Topic => ConfigResource::topic(name),
        ResourceType::Broker => {
            let id: i32 = name.parse().map_err(|_| Failure::Usage(format!("broker '{name}': expected a node id (a number)")))?;
            ConfigResource::broker(id)
        }
    })
}

fn source_name(s: ConfigSource) -> String {
    match s {
        ConfigSource::DynamicTopic => "topic".into(),
        ConfigSource::DynamicBroker => "dynamic broker".into(),
        ConfigSource::DynamicDefaultBroker => "dynamic default broker".into(),
        ConfigSource::StaticBroker => "static broker".into(),
        ConfigSource::Default => "default".into(),
        ConfigSource::DynamicBrokerLogger => "broker logger".into(),
        ConfigSource::ClientMetrics => "client metrics".into(),
        ConfigSource::Group => "group".into(),
        ConfigSource::Unknown => "unknown".into(),
        ConfigSource::Other(c) => format!("source {c}"),
    }
}

pub async fn run(conn: &Connection, cmd: ConfigsCommand) -> Result<(), Failure> {
    match cmd {
        ConfigsCommand::Get { resource: kind, name, keys, all, out } => {
            let res = resource(kind, &name)?;
            let (admin, at) = admin(conn, "configs get")?;
            // A broker resource is reached through the metadata cache (the core does not load
            // it for describe_configs by itself).
            admin.connect().await.map_err(Failure::kafka(format!("connecting {at}")))?;
            let descs = admin
                .describe_configs(std::slice::from_ref(&res))
                .await
                .map_err(Failure::kafka(format!("describing configs of {res} {at}")))?;
            admin.close().await;
            let desc = descs.into_iter().next().ok_or_else(|| Failure::Io(format!("no configs returned for {res}")))?;
            for k in &keys {
                if desc.get(k).is_none() {
                    return Err(Failure::Usage(format!("{res} has no config '{k}'")));
                }
            }
            let entries: Vec<_> = desc
                .entries
                .iter()
                .filter(|e| if keys.is_empty() { all || !e.is_default } else { keys.contains(&e.name) })
                .collect();
            let shown = |e: &polykafka::admin::ConfigEntry| {
                if e.sensitive { "(sensitive)".to_string() } else { e.value.clone().unwrap_or_else(|| "(null)".into()) }
            };
            match out.output {
                OutputFormat::Json => output::print_json(&json!(entries
                    .iter()
                    .map(|e| json!({"name": e.name, "value": if e.sensitive { None } else { e.value.clone() },
                        "sensitive": e.sensitive, "read_only": e.read_only, "default": e.is_default, "source": source_name(e.source)}))
                    .collect::<Vec<_>>())),
                OutputFormat::Table => output::print_table(
                    &["KEY", "VALUE", "SOURCE"],
                    entries.iter().map(|e| vec![e.name.clone(), shown(e), source_name(e.source)]).collect(),
                    &[],
                ),
            }
        }
        ConfigsCommand::Set { resource: kind, name, values, delete } => {
            if values.is_empty() && delete.is_empty() {
                return Err(Failure::Usage("configs set: nothing to change (give KEY=VALUE or --delete KEY)".into()));
            }
            let res = resource(kind, &name)?;
            let mut ops: Vec<AlterConfigOp> =
                key_values(&values, "config")?.into_iter().map(|(k, v)| AlterConfigOp::set(k, v)).collect();
            ops.extend(delete.iter().map(AlterConfigOp::delete));
            let (admin, at) = admin(conn, "configs set")?;
            admin.connect().await.map_err(Failure::kafka(format!("connecting {at}")))?;
            admin
                .incremental_alter_configs(&[(res.clone(), ops)])
                .await
                .map_err(Failure::kafka(format!("altering configs of {res} {at}")))?;
            admin.close().await;
            eprintln!("configs of {res} changed");
            Ok(())
        }
    }
}
