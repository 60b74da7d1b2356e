//! `NativeConsumer`: the core consumer behind the kafkajs `Consumer` façade. The façade's run
//! loop pulls one poll at a time (a batch of records grouped by partition, or the rebalance
//! events pending), so handlers run on the JS thread with natural back-pressure: the next poll
//! happens once the previous batch was handled.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::{JsFunction, JsObject};
use napi_derive::napi;
use polykafka::{CommitMode, Consumer, ConsumerConfig, ConsumerEvent, TopicPartition};

use crate::admin::NativeCommitted;
use crate::error::IntoNapi;
use crate::events::{self, EventSink};

#[napi(object)]
pub struct NativeTopicPartition {
    pub topic: String,
    pub partition: i32,
}

#[napi(object)]
pub struct NativeRecordHeader {
    pub key: String,
    pub value: Option<Buffer>,
}

/// The headers of one message of a batch (only messages that have any are listed).
#[napi(object)]
pub struct NativeHeaders {
    pub index: u32,
    pub headers: Vec<NativeRecordHeader>,
}

/// One partition's messages, packed: crossing into JS costs a few objects per batch, not
/// several per message (lib/consumer.js unpacks them into kafkajs's message objects).
#[napi(object)]
pub struct NativeBatch {
    pub topic: String,
    pub partition: i32,
    pub high_watermark: String,
    /// Every message's key then value, back to back (one copy of the payloads).
    pub data: Buffer,
    /// Four numbers per message: offset, timestamp, key length, value length (-1 = null).
    pub meta: Float64Array,
    pub headers: Vec<NativeHeaders>,
}

/// A batch being packed.
struct Packing {
    data: Vec<u8>,
    meta: Vec<f64>,
    headers: Vec<NativeHeaders>,
}

#[napi(object)]
pub struct NativeRebalance {
    /// `assigned`, `revoked` or `lost`.
    pub kind: String,
    pub partitions: Vec<NativeTopicPartition>,
}

#[napi(object)]
pub struct NativePoll {
    pub events: Vec<NativeRebalance>,
    pub batches: Vec<NativeBatch>,
}

#[napi(object)]
pub struct NativeGroupInfo {
    pub member_id: String,
    pub generation_id: i32,
    /// The leader of the last join ('' before one, and with the KIP-848 protocol).
    pub leader_id: String,
    pub is_leader: bool,
    /// The assignor the group chose (`range`, `roundrobin`, ...), '' before a join.
    pub protocol: String,
    /// Milliseconds the last join took (JoinGroup through SyncGroup), 0 when unknown.
    pub join_duration_ms: f64,
}

fn tps(list: &[NativeTopicPartition]) -> Vec<TopicPartition> {
    list.iter().map(|t| TopicPartition::new(t.topic.clone(), t.partition)).collect()
}

fn native_tps(list: Vec<TopicPartition>) -> Vec<NativeTopicPartition> {
    list.into_iter().map(|t| NativeTopicPartition { topic: t.topic, partition: t.partition }).collect()
}

/// An offset as the façade passes it (a decimal string).
pub(crate) fn parse_offset(offset: &str) -> Result<i64> {
    offset.parse().map_err(|_| crate::error::to_napi(polykafka::Error::invalid(format!("invalid offset '{offset}'"))))
}

fn buf(b: Option<bytes::Bytes>) -> Option<Buffer> {
    b.map(|b| Buffer::from(b.to_vec()))
}

#[napi]
pub struct NativeConsumer {
    props: BTreeMap<String, String>,
    consumer: Arc<Mutex<Option<Consumer>>>,
    events: Option<EventSink>,
    pub(crate) dead_letter: crate::dlq::Slot,
}

impl NativeConsumer {
    pub(crate) fn get(&self) -> Result<Consumer> {
        self.consumer
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| crate::error::to_napi(polykafka::Error::closed("the consumer is not started")))
    }
}

#[napi]
impl NativeConsumer {
    /// `on_events` receives the core's instrumentation events (see `events.rs`).
    #[napi(catch_unwind, constructor)]
    pub fn new(env: Env, props: HashMap<String, String>, on_events: Option<JsFunction>) -> Result<Self> {
        let props: BTreeMap<String, String> = props.into_iter().collect();
        ConsumerConfig::from_properties(props.clone()).napi()?;
        Ok(NativeConsumer { props, consumer: Arc::new(Mutex::new(None)), events: events::sink(&env, on_events)?, dead_letter: Default::default() })
    }

    /// Which instrumentation events to report: a mask of kinds with listeners.
    #[napi(catch_unwind)]
    pub fn set_events(&self, mask: u32) {
        events::set_wanted(&self.events, mask);
    }

    /// Creates the core consumer (inside the runtime) and subscribes it to `topics` and to every
    /// topic matching one of `patterns` (regular expressions over whole topic names).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn start(&self, env: Env, topics: Vec<String>, patterns: Vec<String>) -> Result<JsObject> {
        let props = self.props.clone();
        let slot = self.consumer.clone();
        let instrumentation = self.events.as_ref().map(EventSink::instrumentation);
        crate::error::spawn(&env, async move {
            let mut config = ConsumerConfig::from_properties(props).napi()?;
            config.client.instrumentation = instrumentation;
            let consumer = Consumer::new(config).napi()?;
            consumer.subscribe_topics_and_patterns(&topics, &patterns).napi()?;
            *slot.lock().unwrap() = Some(consumer);
            Ok(())
        })
    }

    /// Pending rebalance events (and no records), else up to `max_records` records grouped by
    /// partition in order; waits up to `timeout_ms` for the first.
    #[napi(catch_unwind, ts_return_type = "Promise<NativePoll>")]
    pub fn poll(&self, env: Env, max_records: u32, timeout_ms: u32) -> Result<JsObject> {
        let consumer = self.get()?;
        crate::error::spawn(&env, async move {
            let (events, records) = consumer
                .poll_batch_events(max_records.max(1) as usize, Duration::from_millis(timeout_ms as u64))
                .await
                .napi()?;
            let events = events
                .into_iter()
                .filter_map(|e| {
                    let (kind, list) = match e {
                        ConsumerEvent::Assigned(l) => ("assigned", l),
                        ConsumerEvent::Revoked(l) => ("revoked", l),
                        ConsumerEvent::Lost(l) => ("lost", l),
                        ConsumerEvent::Record(_) | ConsumerEvent::PartitionEof(..) => return None,
                    };
                    Some(NativeRebalance { kind: kind.into(), partitions: native_tps(list) })
                })
                .collect();
            let mut packed: Vec<(Arc<str>, i32, Packing)> = Vec::new();
            let mut index: HashMap<(Arc<str>, i32), usize> = HashMap::new();
            for r in records {
                let i = *index.entry((r.topic.clone(), r.partition)).or_insert_with(|| {
                    packed.push((r.topic.clone(), r.partition, Packing { data: Vec::new(), meta: Vec::new(), headers: Vec::new() }));
                    packed.len() - 1
                });
                let p = &mut packed[i].2;
                let len = |b: &Option<bytes::Bytes>| b.as_ref().map_or(-1.0, |b| b.len() as f64);
                p.meta.extend_from_slice(&[r.offset as f64, r.timestamp as f64, len(&r.key), len(&r.value)]);
                for b in [&r.key, &r.value].into_iter().flatten() {
                    p.data.extend_from_slice(b);
                }
                if !r.headers.is_empty() {
                    let index = (p.meta.len() / 4 - 1) as u32;
                    let headers = r.headers.into_iter().map(|h| NativeRecordHeader { key: h.key, value: buf(h.value) }).collect();
                    p.headers.push(NativeHeaders { index, headers });
                }
            }
            let batches = packed
                .into_iter()
                .map(|(topic, partition, p)| {
                    let high = consumer.cached_watermarks(&TopicPartition::new(&*topic, partition)).map(|(_, h)| h).unwrap_or(-1);
                    NativeBatch {
                        topic: topic.to_string(),
                        partition,
                        high_watermark: high.to_string(),
                        data: Buffer::from(p.data),
                        meta: Float64Array::new(p.meta),
                        headers: p.headers,
                    }
                })
                .collect();
            Ok(NativePoll { events, batches })
        })
    }

    /// Stores offsets (each the next offset to read) for the core's auto-commit (interval,
    /// revocation, close) and `commitStored`. Fails naming the partitions not assigned (any
    /// more), after storing the others.
    #[napi(catch_unwind)]
    pub fn store_offsets(&self, offsets: Vec<NativeCommitted>) -> Result<()> {
        let list = offsets
            .into_iter()
            .map(|o| Ok((TopicPartition::new(o.topic, o.partition), parse_offset(&o.offset)?)))
            .collect::<Result<Vec<_>>>()?;
        self.get()?.store_offsets(&list).napi()
    }

    /// Commits the stored offsets that changed (kafkajs's commit after each batch) and waits
    /// for the answer.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn commit_stored(&self, env: Env) -> Result<JsObject> {
        let consumer = self.get()?;
        crate::error::spawn(&env, async move { consumer.commit(None, CommitMode::Sync).await.map(drop).napi() })
    }

    /// Commits exactly these offsets (each the next offset to read, with its metadata string if
    /// any) and waits for the answer.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn commit(&self, env: Env, offsets: Vec<NativeCommitted>) -> Result<JsObject> {
        let consumer = self.get()?;
        let mut list = Vec::new();
        for o in offsets {
            let n = parse_offset(&o.offset)?;
            list.push((TopicPartition::new(o.topic, o.partition), n, o.metadata));
        }
        crate::error::spawn(&env, async move { consumer.commit_with_metadata(&list).await.napi() })
    }

    #[napi(catch_unwind)]
    pub fn seek(&self, topic: String, partition: i32, offset: String) -> Result<()> {
        let n = parse_offset(&offset)?;
        let tp = TopicPartition::new(topic, partition);
        let c = self.get()?;
        match n {
            -2 => c.seek_to_beginning(&[tp]).napi(),
            -1 => c.seek_to_end(&[tp]).napi(),
            n => c.seek(&tp, n).napi(),
        }
    }

    #[napi(catch_unwind)]
    pub fn pause(&self, partitions: Vec<NativeTopicPartition>) -> Result<()> {
        self.get()?.pause(&tps(&partitions)).napi()
    }

    #[napi(catch_unwind)]
    pub fn resume(&self, partitions: Vec<NativeTopicPartition>) -> Result<()> {
        self.get()?.resume(&tps(&partitions)).napi()
    }

    /// Waits (at most `timeout_ms`) until every assigned partition knows its starting offset
    /// (kafkajs resolves them before GROUP_JOIN); resolves to whether they do.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn wait_positions_known(&self, env: Env, timeout_ms: u32) -> Result<JsObject> {
        let consumer = self.get()?;
        crate::error::spawn(&env, async move { Ok(consumer.wait_positions_known(Duration::from_millis(timeout_ms as u64)).await) })
    }

    #[napi(catch_unwind)]
    pub fn assignment(&self) -> Result<Vec<NativeTopicPartition>> {
        Ok(native_tps(self.get()?.assignment()))
    }

    /// The engine's statistics snapshot (librdkafka's JSON layout), as text.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Result<String> {
        Ok(self.get()?.stats().to_string())
    }

    #[napi(catch_unwind)]
    pub fn group_info(&self) -> Result<NativeGroupInfo> {
        let c = self.get()?;
        match c.group_membership() {
            Ok(m) => Ok(NativeGroupInfo {
                is_leader: m.is_leader(),
                member_id: m.member_id,
                generation_id: m.generation_id,
                leader_id: m.leader_id,
                protocol: m.protocol.unwrap_or_default(),
                join_duration_ms: m.join_duration.map(|d| d.as_millis() as f64).unwrap_or(0.0),
            }),
            Err(_) => Ok(NativeGroupInfo {
                member_id: String::new(),
                generation_id: c.group_generation(),
                leader_id: String::new(),
                is_leader: false,
                protocol: String::new(),
                join_duration_ms: 0.0,
            }),
        }
    }

    /// Leaves the group and stops the consumer's tasks.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> Result<JsObject> {
        events::close(&self.events);
        let consumer = self.consumer.lock().unwrap().take();
        crate::error::spawn(&env, async move {
            if let Some(c) = consumer {
                c.close().await.napi()?;
            }
            Ok(())
        })
    }
}
