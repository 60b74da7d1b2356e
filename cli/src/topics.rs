//! `topics list|describe|create|delete|alter`.

use polykafka::admin::{Admin, AlterConfigOp, ConfigResource, NewTopic};
use polykafka::consumer::fetch::OffsetSpec;
use polykafka::config::IsolationLevel;
use polykafka::TopicPartition;
use serde_json::json;

use crate::args::{Connection, OutputFormat, TopicsCommand};
use crate::output::{self, Failure};
use crate::settings::Settings;

/// An admin client for `command`, with the broker list for messages.
pub fn admin(conn: &Connection, command: &str) -> Result<(Admin, String), Failure> {
    let s = Settings::load(conn)?;
    let cfg = s.admin(command)?;
    let at = output::at(s.bootstrap()?);
    Ok((Admin::new(cfg).map_err(Failure::Config)?, at))
}

/// KEY=VALUE arguments.
pub fn key_values(items: &[String], what: &str) -> Result<Vec<(String, String)>, Failure> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Failure::Usage(format!("{what} '{kv}': expected KEY=VALUE")))
        })
        .collect()
}

pub async fn run(conn: &Connection, cmd: TopicsCommand) -> Result<(), Failure> {
    match cmd {
        TopicsCommand::List { internal, out } => {
            let (admin, at) = admin(conn, "topics list")?;
            let names = admin.list_topics(internal).await.map_err(Failure::kafka(format!("listing topics {at}")))?;
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let descs = if refs.is_empty() {
                Vec::new()
            } else {
                admin.describe_topics(&refs).await.map_err(Failure::kafka(format!("describing topics {at}")))?
            };
            admin.close().await;
            match out.output {
                OutputFormat::Json => output::print_json(&json!(descs
                    .iter()
                    .map(|d| json!({"name": d.name, "partitions": d.partitions.len(), "internal": d.internal}))
                    .collect::<Vec<_>>())),
                OutputFormat::Table => output::print_table(
                    &["TOPIC", "PARTITIONS", "REPLICAS"],
                    descs
                        .iter()
                        .map(|d| {
                            let rf = d.partitions.first().map_or(0, |p| p.replicas.len());
                            vec![d.name.clone(), d.partitions.len().to_string(), rf.to_string()]
                        })
                        .collect(),
                    &[1, 2],
                ),
            }
        }
        TopicsCommand::Describe { topics, out } => {
            let (admin, at) = admin(conn, "topics describe")?;
            let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
            let descs = admin.describe_topics(&refs).await.map_err(Failure::kafka(format!("describing topics {at}")))?;
            let mut queries = Vec::new();
            for d in &descs {
                for p in &d.partitions {
                    let tp = TopicPartition::new(&d.name, p.partition);
                    queries.push((tp.clone(), OffsetSpec::Earliest));
                    queries.push((tp, OffsetSpec::Latest));
                }
            }
            let offsets = admin
                .list_offsets(&queries, IsolationLevel::ReadUncommitted)
                .await
                .map_err(Failure::kafka(format!("listing offsets {at}")))?;
            admin.close().await;
            let mut found = offsets.into_iter().map(|(_, r)| r.map(|o| o.offset).unwrap_or(-1));
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for d in &descs {
                let mut parts = Vec::new();
                for p in &d.partitions {
                    let (start, end) = (found.next().unwrap_or(-1), found.next().unwrap_or(-1));
                    let list = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
                    rows.push(vec![
                        d.name.clone(),
                        p.partition.to_string(),
                        p.leader.to_string(),
                        list(&p.replicas),
                        list(&p.isr),
                        start.to_string(),
                        end.to_string(),
                    ]);
                    parts.push(json!({"partition": p.partition, "leader": p.leader, "replicas": p.replicas, "isr": p.isr,
                        "start_offset": start, "end_offset": end}));
                }
                js.push(json!({"name": d.name, "internal": d.internal, "partitions": parts}));
            }
            match out.output {
                OutputFormat::Json => output::print_json(&json!(js)),
                OutputFormat::Table => {
                    output::print_table(&["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "START", "END"], rows, &[1, 2, 5, 6])
                }
            }
        }
        TopicsCommand::Create { topics, partitions, replication_factor, configs, if_not_exists } => {
            let configs = key_values(&configs, "--config")?;
            let (admin, at) = admin(conn, "topics create")?;
            let new: Vec<NewTopic> = topics
                .iter()
                .map(|t| {
                    let mut n = NewTopic::new(t, partitions.unwrap_or(-1), replication_factor.unwrap_or(-1));
                    n.configs = configs.clone();
                    n
                })
                .collect();
            let results = admin.create_topics(&new, false).await.map_err(Failure::kafka(format!("creating topics {at}")))?;
            admin.close().await;
            for r in results {
                match r.error {
                    None => eprintln!("created topic '{}'", r.name),
                    Some(e) if if_not_exists && e.code() == polykafka::error::TOPIC_ALREADY_EXISTS => {
                        eprintln!("topic '{}' already exists", r.name)
                    }
                    Some(e) => return Err(Failure::Kafka(format!("creating topic '{}' {at}", r.name), e)),
                }
            }
            Ok(())
        }
        TopicsCommand::Delete { topics } => {
            let (admin, at) = admin(conn, "topics delete")?;
            let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
            let results = admin.delete_topics(&refs).await.map_err(Failure::kafka(format!("deleting topics {at}")))?;
            admin.close().await;
            for r in results {
                match r.error {
                    None => eprintln!("deleted topic '{}'", r.name),
                    Some(e) => return Err(Failure::Kafka(format!("deleting topic '{}' {at}", r.name), e)),
                }
            }
            Ok(())
        }
        TopicsCommand::Alter { topic, partitions, configs, delete_configs } => {
            if partitions.is_none() && configs.is_empty() && delete_configs.is_empty() {
                return Err(Failure::Usage("topics alter: nothing to change (give --partitions, --config or --delete-config)".into()));
            }
            let mut ops: Vec<AlterConfigOp> =
                key_values(&configs, "--config")?.into_iter().map(|(k, v)| AlterConfigOp::set(k, v)).collect();
            ops.extend(delete_configs.iter().map(AlterConfigOp::delete));
            let (admin, at) = admin(conn, "topics alter")?;
            if let Some(n) = partitions {
                admin
                    .create_partitions(&topic, n)
                    .await
                    .map_err(Failure::kafka(format!("growing topic '{topic}' to {n} partitions {at}")))?;
                eprintln!("topic '{topic}' now has {n} partitions");
            }
            if !ops.is_empty() {
                admin
                    .incremental_alter_configs(&[(ConfigResource::topic(&topic), ops)])
                    .await
                    .map_err(Failure::kafka(format!("altering configs of topic '{topic}' {at}")))?;
                eprintln!("configs of topic '{topic}' changed");
            }
            admin.close().await;
            Ok(())
        }
    }
}
