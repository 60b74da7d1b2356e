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

#[napi(object)]
pub struct NativeRecord {
    pub key: Option<Buffer>,
    pub value: Option<Buffer>,
    pub timestamp: String,
    pub offset: String,
    pub headers: Vec<NativeRecordHeader>,
}

#[napi(object)]
pub struct NativeBatch {
    pub topic: String,
    pub partition: i32,
    pub high_watermark: String,
    pub messages: Vec<NativeRecord>,
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
}

fn tps(list: &[NativeTopicPartition]) -> Vec<TopicPartition> {
    list.iter().map(|t| TopicPartition::new(t.topic.clone(), t.partition)).collect()
}

fn native_tps(list: Vec<TopicPartition>) -> Vec<NativeTopicPartition> {
    list.into_iter().map(|t| NativeTopicPartition { topic: t.topic, partition: t.partition }).collect()
}

fn buf(b: Option<bytes::Bytes>) -> Option<Buffer> {
    b.map(|b| Buffer::from(b.to_vec()))
}

#[napi]
pub struct NativeConsumer {
    props: BTreeMap<String, String>,
    consumer: Arc<Mutex<Option<Consumer>>>,
    events: Option<EventSink>,
}

impl NativeConsumer {
    fn get(&self) -> Result<Consumer> {
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
    #[napi(constructor)]
    pub fn new(env: Env, props: HashMap<String, String>, on_events: Option<JsFunction>) -> Result<Self> {
        let props: BTreeMap<String, String> = props.into_iter().collect();
        ConsumerConfig::from_properties(props.clone()).napi()?;
        Ok(NativeConsumer { props, consumer: Arc::new(Mutex::new(None)), events: events::sink(&env, on_events)? })
    }

    /// Which instrumentation events to report: a mask of kinds with listeners.
    #[napi]
    pub fn set_events(&self, mask: u32) {
        events::set_wanted(&self.events, mask);
    }

    /// Creates the core consumer (inside the runtime) and subscribes it: to `topics`, or to
    /// `pattern` (a regular expression over whole topic names) when given.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn start(&self, env: Env, topics: Vec<String>, pattern: Option<String>) -> Result<JsObject> {
        let props = self.props.clone();
        let slot = self.consumer.clone();
        let instrumentation = self.events.as_ref().map(EventSink::instrumentation);
        env.spawn_future(async move {
            let mut config = ConsumerConfig::from_properties(props).napi()?;
            config.client.instrumentation = instrumentation;
            let consumer = Consumer::new(config).napi()?;
            match pattern {
                Some(p) => consumer.subscribe_pattern(&p).napi()?,
                None => consumer.subscribe(&topics).napi()?,
            }
            *slot.lock().unwrap() = Some(consumer);
            Ok(())
        })
    }

    /// Pending rebalance events (and no records), else up to `max_records` records grouped by
    /// partition in order; waits up to `timeout_ms` for the first.
    #[napi(ts_return_type = "Promise<NativePoll>")]
    pub fn poll(&self, env: Env, max_records: u32, timeout_ms: u32) -> Result<JsObject> {
        let consumer = self.get()?;
        env.spawn_future(async move {
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
                        ConsumerEvent::Record(_) => return None,
                    };
                    Some(NativeRebalance { kind: kind.into(), partitions: native_tps(list) })
                })
                .collect();
            let mut batches: Vec<NativeBatch> = Vec::new();
            let mut index: HashMap<(Arc<str>, i32), usize> = HashMap::new();
            for r in records {
                let key = (r.topic.clone(), r.partition);
                let i = *index.entry(key).or_insert_with(|| {
                    let tp = TopicPartition::new(&*r.topic, r.partition);
                    let high = consumer.cached_watermarks(&tp).map(|(_, h)| h).unwrap_or(-1);
                    batches.push(NativeBatch {
                        topic: r.topic.to_string(),
                        partition: r.partition,
                        high_watermark: high.to_string(),
                        messages: Vec::new(),
                    });
                    batches.len() - 1
                });
                batches[i].messages.push(NativeRecord {
                    key: buf(r.key),
                    value: buf(r.value),
                    timestamp: r.timestamp.to_string(),
                    offset: r.offset.to_string(),
                    headers: r.headers.into_iter().map(|h| NativeRecordHeader { key: h.key, value: buf(h.value) }).collect(),
                });
            }
            Ok(NativePoll { events, batches })
        })
    }

    /// Commits exactly these offsets (each the next offset to read) and waits for the answer.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit(&self, env: Env, offsets: Vec<NativeCommitted>) -> Result<JsObject> {
        let consumer = self.get()?;
        let mut list = Vec::new();
        for o in offsets {
            let n: i64 = o.offset.parse().map_err(|_| Error::from_reason(format!("invalid offset '{}'", o.offset)))?;
            list.push((TopicPartition::new(o.topic, o.partition), n));
        }
        env.spawn_future(async move { consumer.commit(Some(&list), CommitMode::Sync).await.napi() })
    }

    #[napi]
    pub fn seek(&self, topic: String, partition: i32, offset: String) -> Result<()> {
        let n: i64 = offset.parse().map_err(|_| Error::from_reason(format!("invalid offset '{offset}'")))?;
        let tp = TopicPartition::new(topic, partition);
        let c = self.get()?;
        match n {
            -2 => c.seek_to_beginning(&[tp]).napi(),
            -1 => c.seek_to_end(&[tp]).napi(),
            n => c.seek(&tp, n).napi(),
        }
    }

    #[napi]
    pub fn pause(&self, partitions: Vec<NativeTopicPartition>) -> Result<()> {
        self.get()?.pause(&tps(&partitions)).napi()
    }

    #[napi]
    pub fn resume(&self, partitions: Vec<NativeTopicPartition>) -> Result<()> {
        self.get()?.resume(&tps(&partitions)).napi()
    }

    #[napi]
    pub fn assignment(&self) -> Result<Vec<NativeTopicPartition>> {
        Ok(native_tps(self.get()?.assignment()))
    }

    #[napi]
    pub fn group_info(&self) -> Result<NativeGroupInfo> {
        let c = self.get()?;
        match c.group_metadata() {
            Ok(m) => Ok(NativeGroupInfo { member_id: m.member_id, generation_id: m.generation_id }),
            Err(_) => Ok(NativeGroupInfo { member_id: String::new(), generation_id: c.group_generation() }),
        }
    }

    /// Leaves the group and stops the consumer's tasks.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> Result<JsObject> {
        events::close(&self.events);
        let consumer = self.consumer.lock().unwrap().take();
        env.spawn_future(async move {
            if let Some(c) = consumer {
                c.close().await.napi()?;
            }
            Ok(())
        })
    }
}
