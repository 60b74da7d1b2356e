//! A producer batch: the records of one partition sent together, and how their senders learn
//! the outcome.

use crate::sync::MutexExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::error::Result;
use crate::protocol::records::RecordBatchBuilder;
use crate::record::RecordMetadata;

/// Collects the outcomes of many records and completes once, when the last one is known: the
/// batch calls of the bindings cross the language boundary once per batch, not per record.
pub struct GroupCompletion {
    remaining: AtomicUsize,
    results: Mutex<Vec<Option<Result<RecordMetadata>>>>,
    done: Mutex<Option<oneshot::Sender<Vec<Result<RecordMetadata>>>>>,
}

impl GroupCompletion {
    pub(crate) fn new(n: usize) -> (Arc<Self>, oneshot::Receiver<Vec<Result<RecordMetadata>>>) {
        let (tx, rx) = oneshot::channel();
        let group = Arc::new(GroupCompletion {
            remaining: AtomicUsize::new(n),
            results: Mutex::new((0..n).map(|_| None).collect()),
            done: Mutex::new(Some(tx)),
        });
        if n == 0 {
            let _ = group.done.locked().take().map(|tx| tx.send(Vec::new()));
        }
        (group, rx)
    }

    fn set(&self, index: usize, result: Result<RecordMetadata>) {
        self.results.locked()[index] = Some(result);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let results = std::mem::take(&mut *self.results.locked())
                .into_iter()
                .map(|r| r.expect("every record completed"))
                .collect();
            if let Some(tx) = self.done.locked().take() {
                let _ = tx.send(results);
            }
        }
    }
}

/// How a record's sender learns its outcome.
pub enum Completion {
    /// A future per record.
    Oneshot(oneshot::Sender<Result<RecordMetadata>>),
    /// One completion for a batch call.
    Group(Arc<GroupCompletion>, usize),
    /// A function called on the producer's task (bindings queue reports to their own thread).
    Callback(Box<dyn FnOnce(Result<RecordMetadata>) + Send>),
    /// Nobody waits (fire and forget); failures are still logged.
    Ignore,
}

impl Completion {
    pub(crate) fn complete(self, result: Result<RecordMetadata>) {
        match self {
            Completion::Oneshot(tx) => {
                let _ = tx.send(result);
            }
            Completion::Group(group, index) => group.set(index, result),
            Completion::Callback(f) => f(result),
            Completion::Ignore => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "delivery failed");
                }
            }
        }
    }
}

pub(crate) struct PendingRecord {
    pub completion: Completion,
    pub timestamp: i64,
}

/// The records of one partition on their way to the broker.
pub(crate) struct ProducerBatch {
    pub topic: Arc<str>,
    pub partition: i32,
    /// Records being appended; `None` once the batch is built.
    pub builder: Option<RecordBatchBuilder>,
    /// The batch as sent; kept for retries.
    pub built: Option<Bytes>,
    pub records: Vec<PendingRecord>,
    pub created: Instant,
    pub deadline: Instant,
    /// Bytes of `buffer.memory` this batch holds.
    pub memory: usize,
    pub attempts: u32,
    /// Sequence of the first record (idempotence), -1 until assigned.
    pub base_sequence: i32,
    /// A retried batch waits for its backoff.
    pub not_before: Option<Instant>,
    /// An attempt ended without an answer (timeout, lost connection): the broker may have
    /// written it. If such a batch then fails, its sequence numbers cannot simply be reused.
    pub unknown_outcome: bool,
    /// The accumulator's purge generation when the batch first went out (`purge` with
    /// `in_flight` fails the batches sent before it, whatever the broker answers).
    pub sent_gen: Option<u64>,
    /// Records already failed by delivery.timeout.ms while the batch was in flight (taken out
    /// of `records`; they still count for the batch's sequence numbers).
    pub expired_records: usize,
}

impl ProducerBatch {
    pub fn record_count(&self) -> usize {
        self.records.len() + self.expired_records
    }

    pub fn size_in_bytes(&self) -> usize {
        match (&self.builder, &self.built) {
            (Some(b), _) => b.size_in_bytes(),
            (None, Some(bytes)) => bytes.len(),
            _ => 0,
        }
    }
}
