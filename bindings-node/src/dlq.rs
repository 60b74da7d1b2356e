//! The `deadLetter*` methods of `NativeConsumer`: the core's retry and dead-letter path for the
//! consumer, behind the `deadLetter` option of the façade's `consumer.run`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::JsObject;
use napi_derive::napi;
use polykafka::consumer::{ConsumerRecord, TimestampType};
use polykafka::dlq::{self, DeadLetterQueue, Failure, Outcome, RetryPolicy};
use polykafka::producer::Producer;
use polykafka::{Consumer, Header, TopicPartition};

use crate::consumer::{parse_offset, NativeConsumer, NativeRecordHeader};
use crate::error::IntoNapi;

/// `consumer.run({ deadLetter })`, in kafkajs's retry words.
#[napi(object)]
pub struct NativeDeadLetterOptions {
    /// The dead-letter topic (default `<topic>-dlq`).
    pub topic: Option<String>,
    pub retries: Option<u32>,
    pub initial_retry_time: Option<f64>,
    pub multiplier: Option<f64>,
    pub max_retry_time: Option<f64>,
    pub retry_topic: Option<String>,
    /// Properties of the producer of the copies (core names); without `bootstrap.servers` it
    /// connects as the consumer does.
    pub producer: Option<HashMap<String, String>>,
}

/// A message as the façade has it.
#[napi(object)]
pub struct NativeDeadLetterRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: String,
    pub timestamp: String,
    pub key: Option<Buffer>,
    pub value: Option<Buffer>,
    pub headers: Vec<NativeRecordHeader>,
}

#[napi(object)]
pub struct NativeDeadLetterOutcome {
    /// `retry` (the partition is paused and moved back to the message), `retryTopic` or
    /// `deadLetter` (written, acknowledged and the offset committed).
    pub kind: String,
    pub after_ms: Option<f64>,
}

fn record_of(r: NativeDeadLetterRecord) -> Result<ConsumerRecord> {
    let bytes = |b: Option<Buffer>| b.map(|b| Bytes::copy_from_slice(&b));
    Ok(ConsumerRecord {
        topic: r.topic.as_str().into(),
        partition: r.partition,
        offset: parse_offset(&r.offset)?,
        timestamp: r.timestamp.parse().unwrap_or(-1),
        timestamp_type: TimestampType::CreateTime,
        leader_epoch: None,
        key: bytes(r.key),
        value: bytes(r.value),
        headers: r.headers.into_iter().map(|h| Header { key: h.key, value: bytes(h.value) }).collect(),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_millis() as f64
}

fn policy_of(options: NativeDeadLetterOptions) -> (RetryPolicy, Vec<(String, String)>) {
    let defaults = RetryPolicy::default();
    let millis = |v: Option<f64>, d: Duration| v.map(|v| Duration::from_millis(v.max(0.0) as u64)).unwrap_or(d);
    let policy = RetryPolicy {
        max_retries: options.retries.unwrap_or(defaults.max_retries),
        initial_backoff: millis(options.initial_retry_time, defaults.initial_backoff),
        multiplier: options.multiplier.unwrap_or(defaults.multiplier),
        max_backoff: millis(options.max_retry_time, defaults.max_backoff),
        dlq_topic: options.topic,
        retry_topic: options.retry_topic,
    };
    (policy, options.producer.unwrap_or_default().into_iter().collect())
}

/// The consumer's dead-letter queue, once `deadLetterStart` made it.
pub(crate) type Slot = Arc<Mutex<Option<Arc<DeadLetterQueue>>>>;

impl NativeConsumer {
    fn dead_letter(&self) -> Result<(Arc<DeadLetterQueue>, Consumer)> {
        let q = self.dead_letter.lock().unwrap().clone();
        let q = q.ok_or_else(|| crate::error::to_napi(polykafka::Error::invalid("deadLetterStart was not called")))?;
        Ok((q, self.get()?))
    }
}

#[napi]
impl NativeConsumer {
    /// Makes the consumer's dead-letter queue (after `start`): its producer connects as the
    /// consumer does unless `options.producer` names `bootstrap.servers`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn dead_letter_start(&self, env: Env, options: NativeDeadLetterOptions) -> Result<JsObject> {
        let consumer = self.get()?;
        let (policy, props) = policy_of(options);
        policy.validate().napi()?;
        let slot = self.dead_letter.clone();
        crate::error::spawn(&env, async move {
            let config = dlq::producer_config_for(consumer.config(), props).napi()?;
            let q = DeadLetterQueue::new(policy, Producer::new(config).napi()?).napi()?;
            *slot.lock().unwrap() = Some(Arc::new(q));
            Ok(())
        })
    }

    /// The handler threw for `record`: retry, retry topic or dead letter (see the outcome).
    #[napi(catch_unwind, ts_return_type = "Promise<NativeDeadLetterOutcome>")]
    pub fn dead_letter_failed(&self, env: Env, record: NativeDeadLetterRecord, error: String, error_type: String) -> Result<JsObject> {
        let (q, c) = self.dead_letter()?;
        let record = record_of(record)?;
        crate::error::spawn(&env, async move {
            let out = q.failed(&c, &record, &Failure::new(error, error_type)).await.napi()?;
            Ok(match out {
                Outcome::Retry { after, .. } => NativeDeadLetterOutcome { kind: "retry".into(), after_ms: Some(ms(after)) },
                Outcome::Republished(_) => NativeDeadLetterOutcome { kind: "retryTopic".into(), after_ms: None },
                Outcome::DeadLettered(_) => NativeDeadLetterOutcome { kind: "deadLetter".into(), after_ms: None },
            })
        })
    }

    /// `record` cannot be decoded: to the dead-letter topic now, bytes untouched.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn dead_letter_undecodable(&self, env: Env, record: NativeDeadLetterRecord, error: String, error_type: String) -> Result<JsObject> {
        let (q, c) = self.dead_letter()?;
        let record = record_of(record)?;
        crate::error::spawn(&env, async move { q.undecodable(&c, &record, &Failure::new(error, error_type)).await.map(drop).napi() })
    }

    #[napi(catch_unwind)]
    pub fn dead_letter_succeeded(&self, topic: String, partition: i32, offset: String) -> Result<()> {
        let (q, c) = self.dead_letter()?;
        q.succeeded(&c, &TopicPartition::new(topic, partition), parse_offset(&offset)?);
        Ok(())
    }

    /// A retry-topic copy not due yet: milliseconds until it is (its partition paused).
    #[napi(catch_unwind)]
    pub fn dead_letter_not_yet_due(&self, record: NativeDeadLetterRecord) -> Result<Option<f64>> {
        let (q, c) = self.dead_letter()?;
        Ok(q.not_yet_due(&c, &record_of(record)?).napi()?.map(ms))
    }

    /// Resumes the partitions whose wait is over; milliseconds until the next is due.
    #[napi(catch_unwind)]
    pub fn dead_letter_resume_due(&self) -> Result<Option<f64>> {
        let (q, c) = self.dead_letter()?;
        Ok(q.resume_due(&c).map(ms))
    }

    #[napi(catch_unwind)]
    pub fn dead_letter_is_waiting(&self, topic: String, partition: i32) -> Result<bool> {
        let (q, c) = self.dead_letter()?;
        Ok(q.is_waiting(&c, &TopicPartition::new(topic, partition)))
    }

    /// Tests only (the kill test): waits `ms` between a copy's acknowledgement and its commit.
    #[napi(catch_unwind)]
    pub fn dead_letter_delay_commits_for_tests(&self, ms: u32) -> Result<()> {
        let (q, _) = self.dead_letter()?;
        q.delay_commits_for_tests(Duration::from_millis(ms.into()));
        Ok(())
    }

    /// Flushes and closes the producer of the copies.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn dead_letter_close(&self, env: Env) -> Result<JsObject> {
        let q = self.dead_letter.lock().unwrap().take();
        crate::error::spawn(&env, async move {
            if let Some(q) = q {
                q.producer().close(Duration::from_secs(30)).await.napi()?;
            }
            Ok(())
        })
    }
}
