//! The accumulator: per-partition queues of batches, bounded by `buffer.memory`.
//!
//! Appending a record takes its size from the memory budget (waiting up to `max.block.ms`),
//! then adds it to the last open batch of its partition. The [`Sender`](super::sender) drains
//! batches that are full, lingered long enough, or flushed, and gives the memory back when their
//! records complete. Per partition it keeps the idempotence bookkeeping: next sequence, last
//! acknowledged sequence, batches in flight.

use crate::sync::MutexExt;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::{Notify, Semaphore};

use super::batch::{Completion, PendingRecord, ProducerBatch};
use crate::config::ProducerConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::records::{self, RecordBatchBuilder};
use crate::record::Header;

/// Bytes a batch takes beyond its records.
pub(crate) const BATCH_OVERHEAD: usize = 61;

#[derive(Default)]
pub(crate) struct PartitionQueue {
    pub batches: VecDeque<ProducerBatch>,
    pub in_flight: usize,
    /// Sequence the next new batch gets.
    pub next_sequence: i32,
    /// Last sequence the broker acknowledged, -1 before any.
    pub last_acked: i32,
    /// Set after a batch failed for good (a gap in the sequence numbers): nothing is sent until
    /// the batches in flight are back, then queued batches are renumbered from
    /// `last_acked + 1` and resent in order.
    pub resequence: bool,
    /// Set after a retriable failure: nothing is sent until the batches in flight are back,
    /// then queued batches go again in order with the sequence numbers they had.
    pub hold: bool,
    /// The size batches reach (set when one is found full, raised at once and lowered by an
    /// eighth of the difference when one is taken to be sent): a new batch starts with that
    /// capacity (at most batch.size), so a steady stream does not grow each batch's buffer by
    /// doubling (one more copy of every byte); a slower stream's smaller batches bring it down.
    pub size_hint: usize,
}

impl PartitionQueue {
    fn new() -> Self {
        PartitionQueue { last_acked: -1, ..Default::default() }
    }

    /// Bookkeeping for a batch with sequence numbers that failed for good. True when the
    /// producer's epoch must be bumped instead: the broker may have written the batch
    /// (`unknown_outcome`), so its sequence numbers cannot go to the next one.
    pub fn sequenced_batch_failed(&mut self, unknown_outcome: bool, transactional: bool) -> bool {
        if unknown_outcome && !transactional {
            return true;
        }
        // The broker never wrote it: renumber what follows from the last acknowledged one.
        self.resequence = true;
        false
    }

    /// Numbers the queued batches that have sequence numbers from `first` on, in order, and
    /// stamps producer id, epoch and sequence into those already built. A batch whose bytes
    /// cannot be rewritten keeps them, and the error is returned.
    pub fn renumber(&mut self, first: i32, producer_id: i64, epoch: i16) -> Result<()> {
        let mut seq = first;
        let mut result = Ok(());
        for b in self.batches.iter_mut().filter(|b| b.base_sequence >= 0) {
            b.base_sequence = seq;
            if let Some(built) = &b.built {
                let mut bytes = BytesMut::from(&built[..]);
                match records::rewrite_producer_state(&mut bytes, producer_id, epoch, seq) {
                    Ok(()) => b.built = Some(bytes.freeze()),
                    Err(e) => result = Err(e),
                }
            }
            seq = seq_add(seq, b.record_count() as i32);
        }
        self.next_sequence = seq;
        result
    }

    /// Puts a batch back for a retry, keeping batches that have sequences in sequence order
    /// and ahead of new ones.
    pub fn requeue(&mut self, batch: ProducerBatch) {
        let pos = self
            .batches
            .iter()
            .position(|b| b.base_sequence < 0 || (batch.base_sequence >= 0 && b.base_sequence > batch.base_sequence))
            .unwrap_or(self.batches.len());
        self.batches.insert(pos, batch);
    }
}

/// Sequence arithmetic as the broker and the Java client count: after `i32::MAX` comes 0.
pub(crate) fn seq_add(seq: i32, n: i32) -> i32 {
    if seq > i32::MAX - n {
        n - (i32::MAX - seq) - 1
    } else {
        seq + n
    }
}

/// `a` is `b` or comes before it, in the wrapping sequence space (within half of it).
pub(crate) fn seq_not_after(a: i32, b: i32) -> bool {
    let span = 1i64 << 31;
    (b as i64 - a as i64).rem_euclid(span) < span / 2
}

#[cfg(test)]
mod seq_tests {
    use super::{seq_add, seq_not_after};

    #[test]
    fn sequences_wrap_to_zero_after_i32_max() {
        assert_eq!(seq_add(5, 10), 15);
        assert_eq!(seq_add(i32::MAX - 2, 2), i32::MAX);
        assert_eq!(seq_add(i32::MAX - 2, 3), 0);
        assert_eq!(seq_add(i32::MAX, 1), 0);
        assert_eq!(seq_add(i32::MAX - 1, 10), 8);
        assert_eq!(seq_add(-1, 1), 0);
    }

    #[test]
    fn order_across_the_wrap() {
        assert!(seq_not_after(3, 3));
        assert!(seq_not_after(3, 4));
        assert!(!seq_not_after(4, 3));
        assert!(seq_not_after(i32::MAX - 5, 2));
        assert!(!seq_not_after(2, i32::MAX - 5));
    }
}

pub(crate) struct State {
    pub topics: HashMap<Arc<str>, Vec<PartitionQueue>>,
    /// Requests in flight per broker.
    pub node_in_flight: HashMap<i32, usize>,
    /// > 0 while someone flushes: every batch is ready at once.
    pub flushing: usize,
    /// Batches created at or before this instant are ready at once ([`send_now`]); later ones
    /// linger as usual.
    ///
    /// [`send_now`]: crate::producer::Producer::send_now
    pub send_now_upto: Option<std::time::Instant>,
    pub closing: bool,
    /// Idempotent producer: a batch the broker may have written failed, so its sequence
    /// numbers cannot be given to the next batch (the broker would take that one for a
    /// duplicate). Nothing is sent until the batches in flight are back and the epoch is
    /// bumped (KIP-360); every partition's sequence then starts over.
    pub needs_epoch_bump: bool,
}

impl State {
    pub fn queue(&mut self, topic: &Arc<str>, partition: i32) -> &mut PartitionQueue {
        let queues = self.topics.entry(topic.clone()).or_default();
        let p = partition as usize;
        if queues.len() <= p {
            queues.resize_with(p + 1, PartitionQueue::new);
        }
        &mut queues[p]
    }
}

pub(crate) struct Accumulator {
    pub state: Mutex<State>,
    pub memory: Semaphore,
    pub buffer_memory: usize,
    /// Wakes the sender: a batch filled up, a flush started, a response came back.
    pub wakeup: Notify,
    /// Records appended and not yet completed.
    pub outstanding: AtomicUsize,
    /// Signalled when `outstanding` drops to zero.
    pub drained: Notify,
    /// Incremented by every purge of records in flight (see `ProducerBatch::sent_gen`).
    pub purge_gen: std::sync::atomic::AtomicU64,
    batch_size: usize,
    batch_max_records: usize,
    /// `queue.buffering.max.messages`; `usize::MAX` for no bound.
    pub max_records: usize,
    max_request_size: usize,
    max_block: Duration,
    delivery_timeout: Duration,
    /// Where deliveries are counted.
    pub(crate) stats: Arc<crate::stats::Stats>,
}

impl Accumulator {
    pub fn new(config: &ProducerConfig) -> Self {
        Accumulator {
            state: Mutex::new(State { topics: HashMap::new(), node_in_flight: HashMap::new(), flushing: 0, send_now_upto: None, closing: false, needs_epoch_bump: false }),
            memory: Semaphore::new(config.buffer_memory),
            buffer_memory: config.buffer_memory,
            wakeup: Notify::new(),
            outstanding: AtomicUsize::new(0),
            drained: Notify::new(),
            purge_gen: Default::default(),
            batch_size: config.batch_size,
            batch_max_records: config.batch_max_records,
            max_records: config.max_queued_records,
            max_request_size: config.max_request_size,
            max_block: config.max_block,
            delivery_timeout: config.delivery_timeout,
            stats: Arc::new(crate::stats::Stats::new(&config.client.client_id, Duration::ZERO)),
        }
    }

    /// Counts deliveries into `stats` (the client's) instead of a statistics object of its own.
    pub fn with_stats(mut self, stats: Arc<crate::stats::Stats>) -> Self {
        self.stats = stats;
        self
    }

    /// Records not yet delivered (or failed), and the memory they hold: librdkafka's
    /// `msg_cnt` and `msg_size`.
    pub fn queued(&self) -> (usize, usize) {
        (self.outstanding.load(Ordering::Relaxed), self.buffer_memory.saturating_sub(self.memory.available_permits()))
    }

    /// Checks a record's size against `max.request.size` and `buffer.memory`; returns the
    /// memory it needs.
    pub fn check_size(&self, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header]) -> Result<usize> {
        let size = RecordBatchBuilder::record_size(0, 0, key, value, headers) + BATCH_OVERHEAD;
        if size > self.max_request_size {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                format!("the record is {size} bytes, larger than max.request.size ({})", self.max_request_size),
            ));
        }
        if size > self.buffer_memory {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                format!("the record is {size} bytes, larger than buffer.memory ({})", self.buffer_memory),
            ));
        }
        Ok(size)
    }

    /// Takes `bytes` from the memory budget, waiting up to `max.block.ms` (`block`) or not at all.
    pub async fn reserve(&self, bytes: usize, block: bool) -> Result<()> {
        // Memory free now: no timer (this runs per record).
        if self.try_reserve(bytes) {
            return Ok(());
        }
        let n = bytes as u32;
        let permit = if block {
            match tokio::time::timeout(self.max_block, self.memory.acquire_many(n)).await {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(Error::closed("the producer is closed")),
                Err(_) => return Err(self.queue_full()),
            }
        } else {
            match self.memory.try_acquire_many(n) {
                Ok(p) => p,
                Err(tokio::sync::TryAcquireError::Closed) => return Err(Error::closed("the producer is closed")),
                Err(tokio::sync::TryAcquireError::NoPermits) => return Err(self.queue_full()),
            }
        };
        permit.forget();
        Ok(())
    }

    /// The error of a record that finds the buffer full and must not wait.
    pub fn queue_full_now(&self) -> Error {
        Error::new(
            ErrorKind::QueueFull,
            format!("the producer's buffer ({} bytes, buffer.memory) is full", self.buffer_memory),
        )
        .with_retriable(true)
    }

    fn queue_full(&self) -> Error {
        Error::new(
            ErrorKind::QueueFull,
            format!(
                "the producer's buffer ({} bytes, buffer.memory) is full and did not drain within max.block.ms ({:?})",
                self.buffer_memory, self.max_block
            ),
        )
        .with_retriable(true)
    }

    /// Takes `bytes` from the memory budget if they are free now.
    pub fn try_reserve(&self, bytes: usize) -> bool {
        match self.memory.try_acquire_many(bytes as u32) {
            Ok(p) => {
                p.forget();
                true
            }
            Err(_) => false,
        }
    }

    pub fn release(&self, bytes: usize) {
        self.memory.add_permits(bytes);
    }

    /// Appends one record whose memory is already reserved. Returns true when the sender should
    /// look now: a batch filled up, or a new one started (its linger deadline is new).
    #[allow(clippy::too_many_arguments)]
    pub fn append(
        &self,
        state: &mut State,
        topic: &Arc<str>,
        partition: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        memory: usize,
        completion: Completion,
    ) -> Result<bool, (Error, Completion)> {
        if state.closing {
            return Err((Error::closed("the producer is closed"), completion));
        }
        let batch_size = self.batch_size;
        let delivery_timeout = self.delivery_timeout;
        let queue = state.queue(topic, partition);
        let fits = match queue.batches.back() {
            Some(ProducerBatch { builder: Some(b), .. }) => {
                let delta = (timestamp - b.base_timestamp()).abs();
                let fits = b.len() < self.batch_max_records
                    && b.size_in_bytes() + RecordBatchBuilder::record_size(b.len() as i32, delta, key, value, headers) <= batch_size;
                if !fits {
                    queue.size_hint = queue.size_hint.max(b.size_in_bytes());
                }
                fits
            }
            _ => false,
        };
        if !fits {
            let capacity = batch_size.min(memory.max(1024) * 2).max(memory).max(queue.size_hint.min(batch_size));
            let now = Instant::now();
            queue.batches.push_back(ProducerBatch {
                topic: topic.clone(),
                partition,
                builder: Some(RecordBatchBuilder::with_capacity(timestamp, capacity)),
                built: None,
                records: Vec::new(),
                created: now,
                deadline: now + delivery_timeout,
                memory: 0,
                attempts: 0,
                base_sequence: -1,
                not_before: None,
                unknown_outcome: false,
                sent_gen: None,
                expired_records: 0,
            });
        }
        let batch = queue.batches.back_mut().expect("a batch was just ensured");
        if let Err(e) = batch.builder.as_mut().expect("the last batch is open").append(timestamp, key, value, headers) {
            if batch.records.is_empty() {
                queue.batches.pop_back();
            }
            return Err((e, completion));
        }
        batch.records.push(PendingRecord { completion, timestamp });
        batch.memory += memory;
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        let full = batch.builder.as_ref().map(|b| b.size_in_bytes() >= batch_size || b.len() >= self.batch_max_records).unwrap_or(true);
        // A new batch wakes the sender too, so it sleeps until this batch's linger ends.
        Ok(full || !fits)
    }

    /// Starts every partition's sequence numbers over (a new producer id or epoch).
    pub fn reset_sequences(&self) {
        let mut state = self.state.locked();
        for q in state.topics.values_mut().flat_map(|qs| qs.iter_mut()) {
            q.next_sequence = 0;
            q.last_acked = -1;
            q.resequence = false;
            q.hold = false;
        }
    }

    /// Resolves once every record appended so far has completed.
    pub async fn wait_drained(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.outstanding.load(Ordering::Acquire) == 0 {
                return;
            }
            drained.await;
        }
    }

    /// Marks `n` records complete.
    pub fn completed(&self, n: usize) {
        if n > 0 && self.outstanding.fetch_sub(n, Ordering::AcqRel) == n {
            self.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;

    fn accumulator(props: &[(&str, &str)]) -> Accumulator {
        let mut all = vec![("bootstrap.servers", "127.0.0.1:1")];
        all.extend_from_slice(props);
        Accumulator::new(&ProducerConfig::from_properties(all).unwrap())
    }

    fn append_n(acc: &Accumulator, n: usize) -> Vec<bool> {
        let topic: Arc<str> = Arc::from("t");
        let mut state = acc.state.locked();
        (0..n)
            .map(|i| acc.append(&mut state, &topic, 0, 1_000, None, Some(format!("v{i}").as_bytes()), &[], 100, Completion::Ignore).ok().unwrap())
            .collect()
    }

    #[test]
    fn batch_num_messages_bounds_a_batch() {
        let acc = accumulator(&[("batch.num.messages", "3")]);
        let ready = append_n(&acc, 10);
        let state = acc.state.locked();
        let counts: Vec<usize> = state.topics["t"][0].batches.iter().map(|b| b.records.len()).collect();
        assert_eq!(counts, vec![3, 3, 3, 1]);
        // The third record of a batch makes it ready.
        assert!(ready[2] && ready[5] && ready[8]);
    }

    #[test]
    fn without_batch_num_messages_batch_size_alone_bounds() {
        let acc = accumulator(&[]);
        append_n(&acc, 10);
        let state = acc.state.locked();
        assert_eq!(state.topics["t"][0].batches.len(), 1);
    }

    #[test]
    fn bad_values_are_config_errors_naming_the_key() {
        for key in ["batch.num.messages", "queue.buffering.max.messages"] {
            let e = ProducerConfig::from_properties([("bootstrap.servers", "x:1"), (key, "0")]).unwrap_err();
            assert!(e.message().contains(key), "{e}");
        }
    }
}
