//! Records that wait for their topic's metadata inside the producer, so that a send that must
//! not block (confluent-kafka's `produce()`) returns at once even when the topic is not known
//! yet or no broker answers.
//!
//! A record whose topic is not in the metadata cache takes its memory from the budget now (a
//! full buffer is a `QueueFull` error, as for any record) and joins its topic's waiting list.
//! One task per topic looks the topic up, retrying with backoff, until the first waiting
//! record's deadline: the earlier of `max.block.ms` (librdkafka's
//! `topic.metadata.propagation.max.ms`) and `delivery.timeout.ms` (librdkafka's
//! `message.timeout.ms`). Then it appends every waiting record of the topic, in order, or fails
//! each through its completion. Later records of a topic that has a waiting list join the list,
//! so a topic's records keep their order.

use crate::sync::MutexExt;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::batch::Completion;
use super::Inner;
use crate::cluster::TopicMeta;
use crate::error::{Error, UNKNOWN_TOPIC_OR_PARTITION};
use crate::record::ProducerRecord;

/// One record waiting for its topic's metadata; its memory is reserved.
pub(crate) struct Waiting {
    pub record: ProducerRecord,
    pub completion: Completion,
    pub memory: usize,
    pub timestamp: i64,
    pub deadline: Instant,
}

#[derive(Default)]
pub(crate) struct WaitingRoom {
    topics: Mutex<HashMap<String, Vec<Waiting>>>,
    /// Topics with a waiting list; 0 lets a send skip the lock.
    topic_count: std::sync::atomic::AtomicUsize,
    /// Records waiting, in every list.
    records: std::sync::atomic::AtomicUsize,
    /// Signalled whenever `records` drops to zero.
    emptied: Notify,
}

impl WaitingRoom {
    /// Records waiting for metadata.
    pub fn len(&self) -> usize {
        self.records.load(Ordering::Acquire)
    }

    /// Whether some topic has a waiting list (cheap; no lock).
    pub fn any(&self) -> bool {
        self.topic_count.load(Ordering::Acquire) > 0
    }

    /// Adds `w` to its topic's list, making the list if there is none: then returns true, and
    /// the caller spawns [`resolve`] for the topic.
    pub fn join(&self, w: Waiting) -> bool {
        let mut topics = self.topics.locked();
        self.records.fetch_add(1, Ordering::AcqRel);
        if let Some(list) = topics.get_mut(&w.record.topic) {
            list.push(w);
            return false;
        }
        topics.insert(w.record.topic.clone(), vec![w]);
        self.topic_count.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Whether `topic` has a waiting list now.
    pub fn has(&self, topic: &str) -> bool {
        self.any() && self.topics.locked().contains_key(topic)
    }

    /// Takes the records of `topic` that `keep` does not keep, leaving the others waiting; the
    /// list is removed when nothing is left. `keep` runs under the lock, so no record can join
    /// in between (the caller appends the taken ones there, before later sends).
    fn take_where(&self, topic: &str, mut take: impl FnMut(&Waiting) -> bool, mut with: impl FnMut(Vec<Waiting>)) {
        let mut topics = self.topics.locked();
        let Some(list) = topics.get_mut(topic) else {
            return with(Vec::new());
        };
        let (taken, kept): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(list).into_iter().partition(|w| take(w));
        let n = taken.len();
        let emptied = kept.is_empty();
        if emptied {
            topics.remove(topic);
        } else {
            *list = kept;
        }
        // Counted down after the caller handled them, still under the lock: a flush never sees
        // zero in between, and a send that checks `any()` meanwhile goes on to `has()`, which
        // waits for the lock, so it cannot append ahead of the records being appended here.
        with(taken);
        if emptied {
            self.topic_count.fetch_sub(1, Ordering::AcqRel);
        }
        self.done(n);
    }

    fn done(&self, n: usize) {
        if n > 0 && self.records.fetch_sub(n, Ordering::AcqRel) == n {
            self.emptied.notify_waiters();
        }
    }

    /// Takes every waiting record of every topic (purge, close).
    pub fn take_all(&self) -> Vec<Waiting> {
        let mut topics = self.topics.locked();
        let all: Vec<Waiting> = topics.drain().flat_map(|(_, l)| l).collect();
        self.topic_count.store(0, Ordering::Release);
        drop(topics);
        self.done(all.len());
        all
    }

    /// Resolves once no record waits for metadata.
    pub async fn wait_empty(&self) {
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            emptied.await;
        }
    }
}

/// Fails one waiting record: its memory goes back, its completion gets `e`.
pub(crate) fn fail(inner: &Inner, w: Waiting, e: Error) {
    inner.accumulator.release(w.memory);
    w.completion.complete(Err(e));
}

/// The task that looks up `topic` for its waiting records, then appends or fails them.
pub(crate) async fn resolve(inner: Arc<Inner>, topic: String) {
    let mut backoff = inner.config.client.retry_backoff;
    let mut last: Option<Error> = None;
    loop {
        let Some(deadline) = earliest_deadline(&inner, &topic) else {
            return; // purged meanwhile
        };
        let attempt = tokio::time::timeout_at(deadline, inner.cluster.topic(&topic)).await;
        match attempt {
            Ok(Ok(meta)) => {
                append_all(&inner, &topic, &meta);
                return;
            }
            Ok(Err(e)) if !e.retriable() => {
                fail_where(&inner, &topic, |_| true, &e);
                return;
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => {}
        }
        // Records whose time is up fail; the others wait for the next attempt.
        let now = Instant::now();
        if now >= deadline {
            let err = timed_out(&inner, &topic, last.clone());
            fail_where(&inner, &topic, |w| w.deadline <= now, &err);
        }
        let Some(next) = earliest_deadline(&inner, &topic) else {
            return;
        };
        tokio::time::sleep_until(next.min(Instant::now() + backoff)).await;
        backoff = (backoff * 2).min(inner.config.client.retry_backoff_max);
    }
}

fn earliest_deadline(inner: &Inner, topic: &str) -> Option<Instant> {
    let topics = inner.waiting.topics.locked();
    topics.get(topic).and_then(|l| l.iter().map(|w| w.deadline).min())
}

/// How long a record may wait for its topic's metadata.
pub(crate) fn max_wait(inner: &Inner) -> Duration {
    inner.config.max_block.min(inner.config.delivery_timeout)
}

/// The error of a record whose wait for metadata ran out: unknown topic when the brokers said
/// so, a timeout (a delivery timeout, as librdkafka's `_MSG_TIMED_OUT`) otherwise.
fn timed_out(inner: &Inner, topic: &str, last: Option<Error>) -> Error {
    let waited = max_wait(inner);
    match last {
        Some(e) if e.code() == UNKNOWN_TOPIC_OR_PARTITION => e.with_retriable(false).with_message(format!(
            "topic '{topic}' does not exist{} (waited {waited:?} for it to appear)",
            if inner.config.client.allow_auto_create_topics { "" } else { " and allow.auto.create.topics is false" }
        )),
        Some(e) => Error::timeout(format!(
            "no metadata for topic '{topic}' within {waited:?} (the lesser of max.block.ms and delivery.timeout.ms); last error: {e}"
        )),
        None => Error::timeout(format!(
            "no metadata for topic '{topic}' within {waited:?} (the lesser of max.block.ms and delivery.timeout.ms)"
        )),
    }
}

fn fail_where(inner: &Inner, topic: &str, which: impl FnMut(&Waiting) -> bool, e: &Error) {
    inner.waiting.take_where(topic, which, |taken| {
        for w in taken {
            fail(inner, w, e.clone());
        }
    });
}

/// Appends every waiting record of `topic`, in order, under the waiting room's lock (a send
/// that comes later finds no list and appends after them).
fn append_all(inner: &Arc<Inner>, topic: &str, meta: &Arc<TopicMeta>) {
    let producer = super::Producer { inner: inner.clone() };
    inner.waiting.take_where(topic, |_| true, |taken| {
        for w in taken {
            let partition = producer
                .partition_for(&w.record, meta)
                .and_then(|p| producer.join_transaction(&meta.shared_name, p).map(|()| p));
            match partition {
                Err(e) => fail(inner, w, e),
                Ok(p) => {
                    // `append_reserved` gives the memory back itself when it fails.
                    if let Err((e, completion)) =
                        producer.append_reserved(&w.record, &meta.shared_name, p, w.timestamp, w.memory, w.completion)
                    {
                        completion.complete(Err(e));
                    }
                }
            }
        }
    });
}
