//! `NativeProducer`: the core producer behind the kafkajs `Producer` façade.
//!
//! kafkajs takes `acks` and `compression` per `send`; the core takes them per producer. One
//! core producer is made lazily for each (acks, compression) pair a program uses (most use one);
//! all of them send through the first one's connections (`Producer::sharing_connections`), so a
//! kafkajs producer holds one connection pool, as in kafkajs.
//! A `send` of many messages is one native call: the messages are copied into core records on
//! the JS thread, queued with one group completion, and the call resolves once with one result
//! per partition, like kafkajs's produce response.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::{JsFunction, JsObject};
use napi_derive::napi;
use polykafka::producer::{Producer, TxnState};
use polykafka::{AdminConfig, Header, Instrumentation, ProducerConfig, ProducerRecord};

use crate::error::IntoNapi;
use crate::events::{self, EventSink};

#[napi(object)]
pub struct NativeHeader {
    pub key: String,
    pub value: Option<Either<Buffer, String>>,
}

#[napi(object)]
pub struct NativeMessage {
    pub key: Option<Either<Buffer, String>>,
    pub value: Option<Either<Buffer, String>>,
    pub partition: Option<i32>,
    pub headers: Option<Vec<NativeHeader>>,
    /// Epoch milliseconds.
    pub timestamp: Option<f64>,
}

#[napi(object)]
pub struct NativeTopicMessages {
    pub topic: String,
    pub messages: Vec<NativeMessage>,
}

/// One partition of a produce, as kafkajs reports it (offsets as strings).
#[napi(object)]
pub struct NativePartitionResult {
    pub topic_name: String,
    pub partition: i32,
    pub error_code: i32,
    pub base_offset: String,
    pub log_append_time: String,
    pub log_start_offset: String,
}

#[napi(object)]
pub struct NativePartitionMetadata {
    pub partition_error_code: i32,
    pub partition_id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

pub(crate) fn bytes_of(v: Option<Either<Buffer, String>>) -> Option<Bytes> {
    match v? {
        Either::A(buf) => Some(Bytes::copy_from_slice(&buf)),
        Either::B(s) => Some(Bytes::from(s.into_bytes())),
    }
}

type Key = (i16, u8);

struct Shared {
    props: BTreeMap<String, String>,
    producers: Mutex<HashMap<Key, Producer>>,
    /// With a `transactional.id`: the one transactional producer. kafkajs lets such a producer
    /// also send outside a transaction; those sends go through `producers` (no transactional id).
    txn: Mutex<Option<Producer>>,
    /// The first core producer made: the others share its connections and metadata.
    first: Mutex<Option<Producer>>,
    instrumentation: Option<Instrumentation>,
}

impl Shared {
    /// A core producer configured by `props`, reporting to the façade's events, on the first
    /// producer's connections (it becomes the first when there is none).
    fn make(&self, props: BTreeMap<String, String>) -> polykafka::Result<Producer> {
        let mut config = ProducerConfig::from_properties(props)?;
        config.client.instrumentation = self.instrumentation.clone();
        let mut first = self.first.lock().unwrap();
        match first.as_ref() {
            Some(f) => Producer::sharing_connections(config, f),
            None => {
                let p = Producer::new(config)?;
                *first = Some(p.clone());
                Ok(p)
            }
        }
    }

    /// A producer for requests that do not depend on acks or compression (made on first use).
    fn any(&self, default_acks: i16) -> polykafka::Result<Producer> {
        let first = self.first.lock().unwrap().clone();
        match first {
            Some(p) => Ok(p),
            None => self.producer(default_acks, 0),
        }
    }

    /// The core producer for `acks` and `compression`, made on first use. Must run inside
    /// the runtime: the producer spawns its sender task there.
    fn producer(&self, acks: i16, compression: u8) -> polykafka::Result<Producer> {
        if let Some(txn) = self.txn.lock().unwrap().as_ref() {
            if matches!(txn.transaction_state(), Some(TxnState::InTransaction)) {
                return Ok(txn.clone());
            }
        }
        let mut producers = self.producers.lock().unwrap();
        if let Some(p) = producers.get(&(acks, compression)) {
            return Ok(p.clone());
        }
        let mut props = self.props.clone();
        if props.remove("transactional.id").is_some() && acks != -1 {
            props.insert("enable.idempotence".into(), "false".into());
        }
        props.insert("acks".into(), acks.to_string());
        let codec = match compression {
            0 => "none",
            1 => "gzip",
            2 => "snappy",
            3 => "lz4",
            4 => "zstd",
            n => return Err(polykafka::Error::invalid(format!("unknown compression codec {n}"))),
        };
        props.insert("compression.type".into(), codec.into());
        let producer = self.make(props)?;
        producers.insert((acks, compression), producer.clone());
        Ok(producer)
    }

    /// The transactional producer, made on first use.
    fn transactional(&self) -> polykafka::Result<Producer> {
        let mut txn = self.txn.lock().unwrap();
        if let Some(p) = txn.as_ref() {
            return Ok(p.clone());
        }
        let producer = self.make(self.props.clone())?;
        *txn = Some(producer.clone());
        Ok(producer)
    }

    fn all(&self) -> Vec<Producer> {
        let mut all: Vec<Producer> = self.producers.lock().unwrap().drain().map(|(_, p)| p).collect();
        all.extend(self.txn.lock().unwrap().take());
        self.first.lock().unwrap().take();
        all
    }
}

#[napi]
pub struct NativeProducer {
    shared: Arc<Shared>,
    default_acks: i16,
    events: Option<EventSink>,
}

#[napi]
impl NativeProducer {
    /// `props` are the core's Java-style properties, translated by `lib/config.js`;
    /// `on_events` receives the core's instrumentation events (see `events.rs`).
    #[napi(catch_unwind, constructor)]
    pub fn new(env: Env, props: HashMap<String, String>, on_events: Option<JsFunction>) -> Result<Self> {
        let props: BTreeMap<String, String> = props.into_iter().collect();
        // Validate now, so a bad option fails at `kafka.producer()` like kafkajs.
        let config = ProducerConfig::from_properties(props.clone()).napi()?;
        let events = events::sink(&env, on_events)?;
        let instrumentation = events.as_ref().map(EventSink::instrumentation);
        Ok(NativeProducer {
            default_acks: config.acks.as_i16(),
            shared: Arc::new(Shared {
                props, producers: Mutex::new(HashMap::new()),
                txn: Mutex::new(None),
                first: Mutex::new(None),
                instrumentation,
            }),
            events,
        })
    }

    /// Which instrumentation events to report: a mask of kinds with listeners.
    #[napi(catch_unwind)]
    pub fn set_events(&self, mask: u32) {
        events::set_wanted(&self.events, mask);
    }

    /// The engine's statistics snapshot (librdkafka's JSON layout, as text). The core producers
    /// of every acks/compression pair share the first one's connections and statistics, so one
    /// snapshot counts all this producer's sends; None before connect() made the first.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Result<Option<String>> {
        let first = self.shared.first.lock().unwrap().clone();
        Ok(first.map(|p| p.stats().to_string()))
    }

    /// Connects to the cluster: a metadata request with `admin_props` (the same client
    /// settings) retried for `timeout_ms`, so an unreachable cluster or bad credentials fail
    /// here, as in kafkajs; then the first producer, and the transactional one's producer id.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn connect(&self, env: Env, admin_props: HashMap<String, String>, timeout_ms: u32) -> Result<JsObject> {
        let mut config = AdminConfig::from_properties(admin_props.into_iter().collect::<BTreeMap<_, _>>()).napi()?;
        config.client.instrumentation = self.shared.instrumentation.clone();
        let shared = self.shared.clone();
        let acks = self.default_acks;
        crate::error::spawn(&env, async move {
            crate::admin::connect_within(config, timeout_ms).await.napi()?;
            shared.producer(acks, 0).napi()?;
            if shared.props.contains_key("transactional.id") {
                let txn = shared.transactional().napi()?;
                if matches!(txn.transaction_state(), Some(TxnState::Uninitialized)) {
                    txn.init_transactions(txn.config().transaction_timeout.max(Duration::from_secs(30))).await.napi()?;
                }
            }
            Ok(())
        })
    }

    /// Sends the messages of every topic with one completion. Resolves to one result per
    /// partition written (the lowest offset of this call in it), or rejects with the first error.
    #[napi(catch_unwind, ts_return_type = "Promise<NativePartitionResult[]>")]
    pub fn send(&self, env: Env, topic_messages: Vec<NativeTopicMessages>, acks: i32, compression: u32) -> Result<JsObject> {
        let mut records = Vec::with_capacity(topic_messages.iter().map(|t| t.messages.len()).sum());
        for tm in topic_messages {
            let topic: Arc<str> = Arc::from(tm.topic.as_str());
            for m in tm.messages {
                records.push(ProducerRecord {
                    topic: topic.to_string(),
                    partition: m.partition,
                    key: bytes_of(m.key),
                    value: bytes_of(m.value),
                    headers: m
                        .headers
                        .unwrap_or_default()
                        .into_iter()
                        .map(|h| Header { key: h.key, value: bytes_of(h.value) })
                        .collect(),
                    timestamp: m.timestamp.map(|t| t as i64),
                });
            }
        }
        let shared = self.shared.clone();
        crate::error::spawn(&env, async move {
            let producer = shared.producer(acks as i16, compression as u8).napi()?;
            let results = producer.send_batch(records).await.napi()?.await;
            let mut by_partition: Vec<((String, i32), i64)> = Vec::new();
            let mut index: HashMap<(String, i32), usize> = HashMap::new();
            for r in results {
                let meta = r.napi()?;
                let key = (meta.topic, meta.partition);
                match index.get(&key) {
                    Some(&i) => {
                        let slot = &mut by_partition[i].1;
                        if meta.offset >= 0 && (*slot < 0 || meta.offset < *slot) {
                            *slot = meta.offset;
                        }
                    }
                    None => {
                        index.insert(key.clone(), by_partition.len());
                        by_partition.push((key, meta.offset));
                    }
                }
            }
            Ok(by_partition
                .into_iter()
                .map(|((topic_name, partition), offset)| NativePartitionResult {
                    topic_name,
                    partition,
                    error_code: 0,
                    base_offset: offset.to_string(),
                    log_append_time: "-1".into(),
                    log_start_offset: "-1".into(),
                })
                .collect::<Vec<_>>())
        })
    }

    /// The number of partitions of `topic`, for partitioners written in JS (one call per send
    /// and topic); waits up to `max.block.ms` while the topic is being created.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn partition_count(&self, env: Env, topic: String) -> Result<JsObject> {
        let shared = self.shared.clone();
        let acks = self.default_acks;
        crate::error::spawn(&env, async move {
            let producer = shared.any(acks).napi()?;
            Ok(producer.partition_count(&topic, false).await.napi()? as u32)
        })
    }

    fn transactional(&self) -> Result<Producer> {
        self.shared.transactional().napi()
    }

    #[napi(catch_unwind)]
    pub fn begin_transaction(&self) -> Result<()> {
        self.transactional()?.begin_transaction().napi()
    }

    /// Adds a group's offsets (the next offsets to read) to the running transaction.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn send_offsets(&self, env: Env, group_id: String, offsets: Vec<crate::admin::NativeCommitted>) -> Result<JsObject> {
        let producer = self.transactional()?;
        let mut list = Vec::new();
        for o in offsets {
            let n: i64 = crate::consumer::parse_offset(&o.offset)?;
            list.push((polykafka::TopicPartition::new(o.topic, o.partition), n));
        }
        crate::error::spawn(&env, async move {
            let group = polykafka::producer::ConsumerGroupMetadata::for_group(group_id);
            let timeout = producer.config().client.request_timeout * 2;
            producer.send_offsets_to_transaction(&list, &group, timeout).await.napi()
        })
    }

    /// Commits (`commit` true) or aborts the running transaction.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn end_transaction(&self, env: Env, commit: bool) -> Result<JsObject> {
        let producer = self.transactional()?;
        crate::error::spawn(&env, async move {
            let timeout = producer.config().transaction_timeout.max(Duration::from_secs(30));
            if commit {
                producer.commit_transaction(timeout).await.napi()
            } else {
                producer.abort_transaction(timeout).await.napi()
            }
        })
    }

    /// Delivers what is queued (at most `timeout_ms`), then closes every connection.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env, timeout_ms: u32) -> Result<JsObject> {
        events::close(&self.events);
        let producers = self.shared.all();
        crate::error::spawn(&env, async move {
            let mut first = Ok(());
            for p in producers {
                let r = p.close(Duration::from_millis(timeout_ms as u64)).await;
                if first.is_ok() {
                    first = r;
                }
            }
            first.napi()
        })
    }
}
