//! `StreamsConfig`: Kafka Streams' properties, and the client configurations derived from them.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{keys, AdminConfig, ConsumerConfig, ProducerConfig, Role};
use crate::error::{Error, Result};

/// What happens to a record whose key or value cannot be deserialized
/// (`default.deserialization.exception.handler`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeserializationHandler {
    /// `LogAndFailExceptionHandler` (Kafka Streams' default): the processing stops with an error.
    LogAndFail,
    /// `LogAndContinueExceptionHandler`: the record is logged, counted and skipped.
    LogAndContinue,
}

/// `processing.guarantee`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessingGuarantee {
    /// Outputs flushed, then offsets committed: after a crash, records since the last commit are
    /// processed again (their outputs and store updates repeated).
    AtLeastOnce,
    /// Kafka Streams' `exactly_once_v2`: one transactional producer per stream thread; outputs,
    /// changelog records and the input offsets of a commit interval are one transaction; the
    /// consumers read committed records only.
    ExactlyOnceV2,
}

/// A parsed streams configuration. Keys the runtime sets itself (`group.id`,
/// `enable.auto.commit`, `transactional.id`) and keys it does not implement are errors naming the
/// key; client keys go to the clients they apply to (a `consumer.`, `producer.` or `admin.`
/// prefix sends a key to that client only).
#[derive(Clone, Debug)]
pub struct StreamsConfig {
    pub application_id: String,
    pub processing_guarantee: ProcessingGuarantee,
    /// `commit.interval.ms`: 30 s by default, 100 ms under exactly_once_v2 (as Kafka Streams).
    pub commit_interval: Duration,
    /// Records taken from the consumer per poll (`max.poll.records`, Kafka Streams' default 1000).
    pub max_poll_records: usize,
    /// `max.task.idle.ms` (KIP-695): how long a task reading several partitions waits for one
    /// that is caught up but empty before it goes on without it; `None` for -1 (never waits, not
    /// even for data known to be on the broker). Default 0.
    pub max_task_idle: Option<Duration>,
    /// `buffered.records.per.partition`: polled records waiting to be processed per partition
    /// above which the partition is paused (default 1000).
    pub buffered_records_per_partition: usize,
    /// `replication.factor` of the internal topics (-1: the broker's default).
    pub replication_factor: i16,
    pub deserialization_handler: DeserializationHandler,
    /// `errors.dead.letter.queue.topic.name` (KIP-1034): records that fail deserialization are
    /// also written there, raw, with headers naming the error and the source record.
    pub dead_letter_topic: Option<String>,
    /// `state.dir`: where the instance keeps its state stores and their checkpoint (Kafka
    /// Streams' default: `<temporary directory>/kafka-streams`).
    pub state_dir: std::path::PathBuf,
    /// `statestore.cache.max.bytes` (or its older name `cache.max.bytes.buffering`): memory for
    /// the stores' cache of entries (default 10 MiB); see [`super::store`].
    pub cache_max_bytes: usize,
    /// `default.timestamp.extractor`: the built-in extractor of the sources not given their own,
    /// and of repartition topics (Kafka Streams' class names, with or without the package).
    pub default_timestamp_extractor: super::TimestampExtractor,
    pub consumer: ConsumerConfig,
    /// Under exactly_once_v2 without `transactional.id`: the runtime derives it per stream thread.
    pub producer: ProducerConfig,
    /// For the changelog restore: assigned partitions, no group.
    pub restore_consumer: ConsumerConfig,
    pub admin: AdminConfig,
}

const STREAMS_KEYS: &[&str] = &[
    "application.id",
    "commit.interval.ms",
    "processing.guarantee",
    "num.stream.threads",
    "replication.factor",
    "default.deserialization.exception.handler",
    "deserialization.exception.handler",
    "errors.dead.letter.queue.topic.name",
    "max.poll.records",
    "max.task.idle.ms",
    "buffered.records.per.partition",
    "state.dir",
    "statestore.cache.max.bytes",
    "cache.max.bytes.buffering",
    "default.timestamp.extractor",
];

/// Set by the runtime: a value given for them would be ignored, so it is refused.
const RESERVED: &[&str] = &["group.id", "enable.auto.commit", "transactional.id", "enable.auto.offset.store"];

impl StreamsConfig {
    pub fn from_properties<I, K, V>(props: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map: BTreeMap<String, String> = props.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let mut consumer: BTreeMap<String, String> = BTreeMap::new();
        let mut producer: BTreeMap<String, String> = BTreeMap::new();
        let mut admin: BTreeMap<String, String> = BTreeMap::new();
        let mut own: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, value) in &map {
            if STREAMS_KEYS.contains(&key.as_str()) {
                own.insert(key, value.trim());
                continue;
            }
            let (targets, bare): (&[u8], &str) = if let Some(k) = key.strip_prefix("consumer.") {
                (&[0], k)
            } else if let Some(k) = key.strip_prefix("producer.") {
                (&[1], k)
            } else if let Some(k) = key.strip_prefix("admin.") {
                (&[2], k)
            } else {
                (&[], key.as_str())
            };
            if RESERVED.contains(&bare) {
                return Err(Error::config(format!(
                    "configuration key '{key}' is set by the streams runtime (group.id is application.id; commits and transactions are the runtime's)"
                )));
            }
            let Some((_, role)) = keys().iter().find(|(k, _)| *k == bare) else {
                return Err(Error::config(format!("unknown configuration key '{key}' for streams")));
            };
            let targets: Vec<u8> = if !targets.is_empty() {
                targets.to_vec()
            } else {
                match role {
                    Role::Common => vec![0, 1, 2],
                    Role::Consumer => vec![0],
                    Role::Producer => vec![1],
                }
            };
            for t in targets {
                let m = match t {
                    0 => &mut consumer,
                    1 => &mut producer,
                    _ => &mut admin,
                };
                m.insert(bare.to_string(), value.clone());
            }
        }
        let application_id = own
            .get("application.id")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::config("configuration key 'application.id' is required for streams"))?
            .to_string();
        if !application_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(Error::config(format!(
                "invalid value '{application_id}' for 'application.id': only letters, digits, '.', '_' and '-' (it prefixes topic names)"
            )));
        }
        let processing_guarantee = match own.get("processing.guarantee").copied().unwrap_or("at_least_once") {
            "at_least_once" => ProcessingGuarantee::AtLeastOnce,
            "exactly_once_v2" => ProcessingGuarantee::ExactlyOnceV2,
            other => {
                return Err(Error::config(format!(
                    "invalid value '{other}' for 'processing.guarantee': expected at_least_once or exactly_once_v2"
                )))
            }
        };
        let eos = processing_guarantee == ProcessingGuarantee::ExactlyOnceV2;
        if eos {
            // Settings that contradict exactly_once_v2 are refused (Kafka Streams overrides some
            // with a warning; here a value given is never ignored).
            if let Some(v) = consumer.get("isolation.level").filter(|v| v.trim() != "read_committed") {
                return Err(Error::config(format!(
                    "isolation.level={v} contradicts processing.guarantee=exactly_once_v2 (its consumers read committed records only)"
                )));
            }
            if let Some(v) = producer.get("enable.idempotence").filter(|v| v.trim() != "true") {
                return Err(Error::config(format!(
                    "enable.idempotence={v} contradicts processing.guarantee=exactly_once_v2 (its producer is transactional, hence idempotent)"
                )));
            }
        }
        match own.get("num.stream.threads").copied().unwrap_or("1") {
            "1" => {}
            other => {
                return Err(Error::config(format!(
                    "num.stream.threads={other}: only 1 stream thread per instance is implemented; start more instances to scale out"
                )))
            }
        }
        let int = |key: &str, default: i64, min: i64, max: i64| -> Result<i64> {
            match own.get(key) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().ok().filter(|n| *n >= min && *n <= max).ok_or_else(|| {
                    Error::config(format!("invalid value '{v}' for configuration key '{key}': expected an integer from {min} to {max}"))
                }),
            }
        };
        let commit_interval = Duration::from_millis(int("commit.interval.ms", if eos { 100 } else { 30_000 }, 0, i32::MAX as i64)? as u64);
        let max_poll_records = int("max.poll.records", 1000, 1, 1_000_000)? as usize;
        let max_task_idle = match int("max.task.idle.ms", 0, -1, i64::MAX)? {
            -1 => None,
            ms => Some(Duration::from_millis(ms as u64)),
        };
        let buffered_records_per_partition = int("buffered.records.per.partition", 1000, 1, i32::MAX as i64)? as usize;
        let replication_factor = int("replication.factor", -1, -1, i16::MAX as i64)? as i16;
        if replication_factor == 0 {
            return Err(Error::config("invalid value '0' for 'replication.factor': expected -1 or at least 1"));
        }
        let handler_key = if own.contains_key("deserialization.exception.handler") {
            "deserialization.exception.handler"
        } else {
            "default.deserialization.exception.handler"
        };
        let deserialization_handler = match own.get(handler_key).copied() {
            None | Some("log_and_fail") | Some("org.apache.kafka.streams.errors.LogAndFailExceptionHandler") => {
                DeserializationHandler::LogAndFail
            }
            Some("log_and_continue") | Some("org.apache.kafka.streams.errors.LogAndContinueExceptionHandler") => {
                DeserializationHandler::LogAndContinue
            }
            Some(other) => {
                return Err(Error::config(format!(
                    "invalid value '{other}' for '{handler_key}': expected log_and_fail or log_and_continue (or their Kafka Streams class names)"
                )))
            }
        };
        let state_dir = match own.get("state.dir").copied() {
            Some("") => return Err(Error::config("invalid value '' for 'state.dir': expected a directory")),
            Some(d) => std::path::PathBuf::from(d),
            None => std::env::temp_dir().join("kafka-streams"),
        };
        let cache_key = if own.contains_key("statestore.cache.max.bytes") { "statestore.cache.max.bytes" } else { "cache.max.bytes.buffering" };
        let cache_max_bytes = int(cache_key, super::store::DEFAULT_CACHE_MAX_BYTES as i64, 0, i64::MAX)? as usize;
        let default_timestamp_extractor = match own.get("default.timestamp.extractor").copied() {
            None => super::TimestampExtractor::default(),
            Some(name) => super::TimestampExtractor::from_name(name).ok_or_else(|| {
                Error::config(format!(
                    "invalid value '{name}' for 'default.timestamp.extractor': expected FailOnInvalidTimestamp, LogAndSkipOnInvalidTimestamp, UsePartitionTimeOnInvalidTimestamp or WallclockTimestampExtractor (a function of your own goes to the source, as Consumed.withTimestampExtractor)"
                ))
            })?,
        };
        let dead_letter_topic = own.get("errors.dead.letter.queue.topic.name").filter(|v| !v.is_empty()).map(|v| v.to_string());

        let mut group_consumer = consumer.clone();
        group_consumer.insert("group.id".into(), application_id.clone());
        group_consumer.insert("enable.auto.commit".into(), "false".into());
        group_consumer.entry("auto.offset.reset".into()).or_insert_with(|| "earliest".into());
        group_consumer.entry("client.id".into()).or_insert_with(|| format!("{application_id}-consumer"));
        let mut restore = consumer;
        restore.remove("group.instance.id");
        restore.remove("partition.assignment.strategy");
        restore.remove("group.protocol");
        restore.insert("enable.auto.commit".into(), "false".into());
        restore.entry("client.id".into()).or_insert_with(|| format!("{application_id}-restore-consumer"));
        producer.entry("client.id".into()).or_insert_with(|| format!("{application_id}-producer"));
        if eos {
            for c in [&mut group_consumer, &mut restore] {
                c.insert("isolation.level".into(), "read_committed".into());
            }
            // Kafka Streams' default under exactly_once_v2: a crashed instance's open
            // transaction blocks read_committed readers of its partitions until it times out.
            producer.entry("transaction.timeout.ms".into()).or_insert_with(|| "10000".into());
            // A placeholder checked now (a transactional producer's settings); the stream thread
            // sets its own id (application.id, process id, thread index) when it starts.
            producer.insert("transactional.id".into(), format!("{application_id}-config-check"));
        }
        let producer = ProducerConfig::from_properties(producer)?;
        if eos && commit_interval >= producer.transaction_timeout {
            return Err(Error::config(format!(
                "commit.interval.ms={} must be below transaction.timeout.ms={} under exactly_once_v2 (a transaction spans a commit interval; the broker aborts it at the timeout)",
                commit_interval.as_millis(),
                producer.transaction_timeout.as_millis()
            )));
        }
        Ok(StreamsConfig {
            application_id,
            processing_guarantee,
            commit_interval,
            max_poll_records,
            max_task_idle,
            buffered_records_per_partition,
            replication_factor,
            deserialization_handler,
            dead_letter_topic,
            state_dir,
            cache_max_bytes,
            default_timestamp_extractor,
            consumer: ConsumerConfig::from_properties(group_consumer)?,
            producer,
            restore_consumer: ConsumerConfig::from_properties(restore)?,
            admin: AdminConfig::from_properties(admin)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each (key, value) added to `base` is refused with an error saying `says`.
    fn assert_refused(base: &[(&str, &str)], cases: &[(&str, &str, &str)]) {
        for (k, v, says) in cases {
            let e = StreamsConfig::from_properties(base.iter().copied().chain([(*k, *v)])).unwrap_err();
            assert!(e.message().contains(says), "{k}={v}: {e}");
        }
    }

    #[test]
    fn requires_application_id_and_refuses_what_it_would_ignore() {
        let e = StreamsConfig::from_properties([("bootstrap.servers", "127.0.0.1:1")]).unwrap_err();
        assert!(e.message().contains("application.id"), "{e}");
        let base = [("bootstrap.servers", "127.0.0.1:1"), ("application.id", "app")];
        assert_refused(&base, &[
            ("group.id", "g", "set by the streams runtime"),
            ("transactional.id", "t", "set by the streams runtime"),
            ("producer.transactional.id", "t", "set by the streams runtime"),
            ("processing.guarantee", "sometimes", "invalid value"),
            ("num.stream.threads", "2", "only 1"),
            ("state.cleanup.delay.ms", "600000", "unknown configuration key 'state.cleanup.delay.ms'"),
            ("state.dir", "", "invalid value '' for 'state.dir'"),
            ("statestore.cache.max.bytes", "-1", "invalid value '-1'"),
            ("commit.interval.ms", "-5", "invalid value"),
            ("default.deserialization.exception.handler", "Mine", "invalid value"),
            ("max.task.idle.ms", "-2", "invalid value '-2' for configuration key 'max.task.idle.ms'"),
            ("buffered.records.per.partition", "0", "invalid value '0'"),
            ("default.timestamp.extractor", "com.example.MyExtractor", "invalid value 'com.example.MyExtractor' for 'default.timestamp.extractor'"),
        ]);
        let defaults = StreamsConfig::from_properties(base).unwrap();
        assert_eq!((defaults.max_task_idle, defaults.buffered_records_per_partition), (Some(Duration::ZERO), 1000));
        assert_eq!((defaults.state_dir.clone(), defaults.cache_max_bytes), (std::env::temp_dir().join("kafka-streams"), 10 * 1024 * 1024));
        let old_name = StreamsConfig::from_properties(base.iter().copied().chain([("cache.max.bytes.buffering", "1024"), ("state.dir", "/var/x")])).unwrap();
        assert_eq!((old_name.cache_max_bytes, old_name.state_dir.to_str()), (1024, Some("/var/x")));
        let never = StreamsConfig::from_properties(base.iter().copied().chain([("max.task.idle.ms", "-1")])).unwrap();
        assert_eq!(never.max_task_idle, None);
        let ok = StreamsConfig::from_properties(base.iter().copied().chain([
            ("commit.interval.ms", "100"),
            ("consumer.fetch.max.wait.ms", "50"),
            ("linger.ms", "1"),
            ("default.deserialization.exception.handler", "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler"),
            ("default.timestamp.extractor", "org.apache.kafka.streams.processor.WallclockTimestampExtractor"),
        ]))
        .unwrap();
        assert_eq!(ok.default_timestamp_extractor, super::super::TimestampExtractor::WallclockTimestampExtractor);
        assert_eq!(defaults.default_timestamp_extractor, super::super::TimestampExtractor::FailOnInvalidTimestamp);
        assert_eq!(ok.commit_interval, Duration::from_millis(100));
        assert_eq!(ok.deserialization_handler, DeserializationHandler::LogAndContinue);
        assert_eq!(ok.consumer.group_id.as_deref(), Some("app"));
        assert_eq!(ok.processing_guarantee, ProcessingGuarantee::AtLeastOnce);
        assert!(ok.producer.transactional_id.is_none());
    }

    #[test]
    fn exactly_once_v2_reads_committed_and_refuses_contradictions() {
        use crate::config::IsolationLevel;
        let base = [("bootstrap.servers", "127.0.0.1:1"), ("application.id", "app"), ("processing.guarantee", "exactly_once_v2")];
        let eos = StreamsConfig::from_properties(base).unwrap();
        assert_eq!(eos.processing_guarantee, ProcessingGuarantee::ExactlyOnceV2);
        assert_eq!(eos.commit_interval, Duration::from_millis(100));
        assert_eq!(eos.consumer.isolation_level, IsolationLevel::ReadCommitted);
        assert_eq!(eos.restore_consumer.isolation_level, IsolationLevel::ReadCommitted);
        assert!(eos.producer.transactional_id.is_some());
        assert_eq!(eos.producer.transaction_timeout, Duration::from_secs(10));
        assert_refused(&base, &[
            ("isolation.level", "read_uncommitted", "contradicts processing.guarantee=exactly_once_v2"),
            ("consumer.isolation.level", "read_uncommitted", "contradicts"),
            ("enable.idempotence", "false", "contradicts processing.guarantee=exactly_once_v2"),
            ("acks", "1", "requires acks=all"),
            ("commit.interval.ms", "10000", "must be below transaction.timeout.ms=10000"),
        ]);
        let ok = StreamsConfig::from_properties(
            base.iter().copied().chain([("isolation.level", "read_committed"), ("commit.interval.ms", "1000"), ("transaction.timeout.ms", "30000")]),
        )
        .unwrap();
        assert_eq!(ok.commit_interval, Duration::from_millis(1000));
        assert_eq!(ok.producer.transaction_timeout, Duration::from_secs(30));
    }
}
