//! The sender: one task per producer that drains ready batches into Produce requests, one
//! request per leader at a time in sequence order, and settles each batch from the response:
//! delivered, retried (in order, with the same sequence numbers), split, or failed.

use crate::sync::MutexExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_protocol::messages::{ProduceResponse, TopicName, TransactionalId};
use kafka_protocol::protocol::StrBytes;

use super::accumulator::{seq_add, seq_not_after, Accumulator, State};
use super::batch::ProducerBatch;
use super::Inner;
use crate::config::Acks;
use crate::error::{self, Error, ErrorKind, Result};
use crate::protocol::records::{self, BatchAttributes, RecordBatchBuilder};
use crate::record::RecordMetadata;

/// Produce v3..=12: record batches v2, topics by name.
const PRODUCE_MIN: i16 = 3;
const PRODUCE_MAX: i16 = 12;

/// What became of a batch after a Produce attempt.
enum Outcome {
    Delivered { base_offset: i64, log_append_time: i64 },
    Retry(Error),
    /// The broker found the batch too large: send its records one by one.
    Split(Error),
    Failed(Error),
}

pub(crate) async fn run(inner: Arc<Inner>) {
    let acc = &inner.accumulator;
    loop {
        if let Err(e) = inner.ensure_producer_id().await {
            if e.fatal() || !e.retriable() {
                fail_everything(&inner, e);
            } else {
                e.log_handled("InitProducerId failed; retrying");
                tokio::time::sleep(inner.config.client.retry_backoff).await;
            }
            if acc.state.locked().closing && acc.outstanding.load(std::sync::atomic::Ordering::Acquire) == 0 {
                return;
            }
            continue;
        }
        if inner.txn.is_none() && epoch_bump_due(&inner) {
            if let Err(e) = bump_epoch(&inner).await {
                e.log_handled("bumping the idempotent producer's epoch failed; retrying");
                tokio::time::sleep(inner.config.client.retry_backoff).await;
            }
        }
        if let Some(txn) = &inner.txn {
            if txn.has_pending_partitions() {
                let pid = inner.producer_id();
                if let Err(e) = txn.add_pending_partitions(&inner.cluster, pid, inner.config.client.request_timeout).await {
                    tracing::warn!(error = %e, "AddPartitionsToTxn failed");
                    fail_queued(&inner, e);
                }
            }
        }
        let notified = acc.wakeup.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let mut drained = drain(&inner);
        if inner.needs_metadata.swap(false, std::sync::atomic::Ordering::AcqRel) {
            drained.need_metadata = true;
        }
        if drained.need_metadata {
            let topics: Vec<String> = drained.unknown_leaders.clone();
            let cluster = inner.cluster.clone();
            // Refresh without holding up the batches that can go now.
            tokio::spawn(async move {
                if let Err(e) = cluster.refresh_metadata(Some(&topics), false).await {
                    tracing::debug!(error = %e, "metadata refresh failed");
                }
            });
        }
        for (node, batches) in drained.ready {
            send_to_node(&inner, node, batches).await;
        }
        if drained.done {
            return;
        }
        let wait = drained.next_check.unwrap_or(Duration::from_millis(100)).min(Duration::from_millis(100));
        if drained.need_metadata {
            // Leaders unknown: look again soon, when the refresh has landed.
            let wait = wait.min(inner.config.client.retry_backoff);
            tokio::select! { _ = &mut notified => {}, _ = tokio::time::sleep(wait) => {} }
        } else if !drained.more_ready {
            tokio::select! { _ = &mut notified => {}, _ = tokio::time::sleep(wait) => {} }
        }
    }
}

struct Drained {
    ready: HashMap<i32, Vec<ProducerBatch>>,
    next_check: Option<Duration>,
    need_metadata: bool,
    unknown_leaders: Vec<String>,
    more_ready: bool,
    done: bool,
}

/// An epoch bump is wanted and nothing is in flight any more.
fn epoch_bump_due(inner: &Inner) -> bool {
    let state = inner.accumulator.state.locked();
    state.needs_epoch_bump && state.topics.values().all(|qs| qs.iter().all(|q| q.in_flight == 0))
}

/// KIP-360 for the idempotent producer: a new epoch (or, from an older broker, a new producer
/// id), then every partition's sequence starts at 0; the batches still queued with sequence
/// numbers are renumbered under the new epoch, in order.
async fn bump_epoch(inner: &Inner) -> Result<()> {
    let pid = inner.new_idempotent_epoch().await?;
    let mut guard = inner.accumulator.state.locked();
    let state: &mut State = &mut guard;
    for q in state.topics.values_mut().flat_map(|qs| qs.iter_mut()) {
        q.renumber(0, pid.0, pid.1)?;
        q.last_acked = -1;
        q.resequence = false;
        q.hold = false;
    }
    state.needs_epoch_bump = false;
    tracing::info!(producer_id = pid.0, epoch = pid.1, "idempotent producer epoch bumped after a batch with an unknown outcome failed");
    Ok(())
}

/// Takes the batches that can be sent now, grouped by leader.
fn drain(inner: &Inner) -> Drained {
    let acc = &inner.accumulator;
    let config = &inner.config;
    let metadata = inner.cluster.metadata();
    let now = Instant::now();
    let idempotent = config.enable_idempotence;
    let max_in_flight = config.max_in_flight;
    let mut expired: Vec<ProducerBatch> = Vec::new();
    let mut out = Drained { ready: HashMap::new(), next_check: None, need_metadata: false, unknown_leaders: Vec::new(), more_ready: false, done: false };
    let mut request_bytes: HashMap<i32, usize> = HashMap::new();
    {
        let mut guard = acc.state.locked();
        let state: &mut State = &mut guard;
        let flushing = state.flushing > 0 || state.closing;
        let send_now_upto = state.send_now_upto;
        let (pid, epoch) = inner.producer_id();
        let mut bump = false;
        // Nothing goes out until a pending epoch bump is done (the sender's loop does it).
        let hold_all = state.needs_epoch_bump;
        for (topic, queues) in state.topics.iter_mut() {
            for (partition, q) in queues.iter_mut().enumerate() {
                // Batches waiting past their delivery deadline fail, in flight or not.
                while let Some(b) = q.batches.front() {
                    if b.deadline > now {
                        break;
                    }
                    let b = q.batches.pop_front().unwrap();
                    if b.base_sequence >= 0 && q.sequenced_batch_failed(b.unknown_outcome, inner.txn.is_some()) {
                        bump = true;
                    }
                    expired.push(b);
                }
                let Some(head) = q.batches.front() else { continue };
                if hold_all {
                    continue;
                }
                if let Some(txn) = &inner.txn {
                    if !txn.can_send(topic, partition as i32) {
                        continue;
                    }
                }
                if let Some(wait) = head.not_before.and_then(|t| t.checked_duration_since(now)) {
                    out.next_check = Some(out.next_check.map_or(wait, |c: Duration| c.min(wait)));
                    continue;
                }
                let linger_left = (head.created + config.linger).checked_duration_since(now);
                let ready = flushing
                    || send_now_upto.is_some_and(|t| head.created <= t)
                    || q.batches.len() > 1 || linger_left.is_none() || head.builder.as_ref().map(|b| b.size_in_bytes() >= config.batch_size || b.len() >= config.batch_max_records).unwrap_or(true);
                if !ready {
                    let left = linger_left.unwrap_or_default();
                    out.next_check = Some(out.next_check.map_or(left, |c: Duration| c.min(left)));
                    continue;
                }
                if q.in_flight >= max_in_flight || ((q.resequence || q.hold) && q.in_flight > 0) {
                    continue;
                }
                // Until the broker has acknowledged one batch of this producer on a partition it
                // keeps no sequence for it and accepts any first sequence: a second batch sent
                // while the first fails (NOT_LEADER on a topic just created) would be written
                // over the gap, and the first could never follow. One batch at a time until then.
                if idempotent && q.last_acked < 0 && q.in_flight > 0 {
                    continue;
                }
                q.hold = false;
                let Some(leader) = metadata.leader(topic, partition as i32) else {
                    out.need_metadata = true;
                    out.unknown_leaders.push(topic.to_string());
                    continue;
                };
                let node_busy = state.node_in_flight.get(&leader).copied().unwrap_or(0);
                if node_busy >= max_in_flight && !out.ready.contains_key(&leader) {
                    continue;
                }
                let size = head.size_in_bytes();
                let used = request_bytes.entry(leader).or_insert(0);
                if *used > 0 && *used + size > config.max_request_size {
                    out.more_ready = true;
                    continue;
                }
                *used += size;
                if idempotent && q.resequence {
                    // Renumber from the last acknowledged sequence: a failed batch left a gap.
                    if let Err(e) = q.renumber(seq_add(q.last_acked, 1), pid, epoch) {
                        tracing::warn!(error = %e, "renumbering queued batches failed");
                    }
                    q.resequence = false;
                }
                let mut batch = q.batches.pop_front().unwrap();
                if let Some(b) = &batch.builder {
                    // Up at once, down slowly: a full batch and the remainder of a call
                    // alternate in a steady stream.
                    let size = b.size_in_bytes();
                    q.size_hint = if size >= q.size_hint { size } else { q.size_hint - (q.size_hint - size) / 8 };
                }
                if batch.attempts == 0 {
                    acc.stats.windows.batch_queue_us.record(micros(now.saturating_duration_since(batch.created)));
                }
                if idempotent && batch.base_sequence < 0 {
                    batch.base_sequence = q.next_sequence;
                    q.next_sequence = seq_add(q.next_sequence, batch.record_count() as i32);
                }
                q.in_flight += 1;
                batch.sent_gen.get_or_insert(acc.purge_gen.load(std::sync::atomic::Ordering::Acquire));
                if !q.batches.is_empty() {
                    out.more_ready = true;
                }
                out.ready.entry(leader).or_default().push(batch);
            }
        }
        if bump {
            state.needs_epoch_bump = true;
        }
        for node in out.ready.keys() {
            *state.node_in_flight.entry(*node).or_insert(0) += 1;
        }
        let empty = state.topics.values().all(|qs| qs.iter().all(|q| q.batches.is_empty() && q.in_flight == 0));
        out.done = state.closing && empty && out.ready.is_empty();
    }
    for b in expired {
        let err = Error::timeout(format!(
            "delivery.timeout.ms ({:?}) expired for {} record(s) to {}-{} after {} attempt(s)",
            config.delivery_timeout,
            b.record_count(),
            b.topic,
            b.partition,
            b.attempts
        ));
        if let Some(txn) = &inner.txn {
            txn.on_batch_failed(&err);
        }
        finish(acc, b, Err(err));
    }
    out
}

/// Builds the wire form of a batch (once; retries reuse it).
fn build(inner: &Inner, batch: &mut ProducerBatch) -> Result<Bytes> {
    if let Some(built) = &batch.built {
        return Ok(built.clone());
    }
    let (producer_id, producer_epoch) = inner.producer_id();
    let attrs = BatchAttributes {
        compression: inner.config.compression,
        compression_level: inner.config.compression_level,
        producer_id: if batch.base_sequence >= 0 { producer_id } else { -1 },
        producer_epoch: if batch.base_sequence >= 0 { producer_epoch } else { -1 },
        base_sequence: batch.base_sequence,
        transactional: inner.config.transactional_id.is_some(),
        partition_leader_epoch: -1,
    };
    let builder = batch.builder.take().expect("an unbuilt batch has its builder");
    let bytes = builder.finish(&attrs)?;
    batch.built = Some(bytes.clone());
    Ok(bytes)
}

async fn send_to_node(inner: &Arc<Inner>, node: i32, mut batches: Vec<ProducerBatch>) {
    let mut topic_data: Vec<TopicProduceData> = Vec::new();
    let mut failed = Vec::new();
    let mut kept = Vec::with_capacity(batches.len());
    let windows = &inner.accumulator.stats.windows;
    let now = Instant::now();
    for mut batch in batches.drain(..) {
        let first = batch.attempts == 0;
        if first {
            windows.batch_us.record(micros(now.saturating_duration_since(batch.created)));
            windows.batch_msgs.record(batch.record_count() as u64);
        } else {
            windows.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match build(inner, &mut batch) {
            Ok(bytes) => {
                if first {
                    windows.batch_bytes.record(bytes.len() as u64);
                }
                let name = TopicName(StrBytes::from_string(batch.topic.to_string()));
                let part = PartitionProduceData::default().with_index(batch.partition).with_records(Some(bytes));
                match topic_data.iter_mut().find(|t| t.name == name) {
                    Some(t) => t.partition_data.push(part),
                    None => topic_data.push(TopicProduceData::default().with_name(name).with_partition_data(vec![part])),
                }
                batch.attempts += 1;
                kept.push(batch);
            }
            Err(e) => failed.push((batch, e)),
        }
    }
    for (batch, e) in failed {
        settle(inner, None, batch, Outcome::Failed(e));
    }
    let batches = kept;
    if batches.is_empty() {
        release_node(inner, node);
        return;
    }
    let request_timeout = inner.config.client.request_timeout;
    let req = ProduceRequest::default()
        .with_transactional_id(inner.config.transactional_id.as_ref().map(|t| TransactionalId(StrBytes::from_string(t.clone()))))
        .with_acks(inner.config.acks.as_i16())
        .with_timeout_ms(request_timeout.as_millis().min(i32::MAX as u128) as i32)
        .with_topic_data(topic_data);

    let conn = match inner.cluster.connection(node).await {
        Ok(c) => c,
        Err(e) => {
            release_node(inner, node);
            return settle_all(inner, node, batches, &e);
        }
    };
    // Transactions use the classic protocol: Produce v12+ would mean KIP-890's implicit adds.
    let max = if inner.txn.is_some() { PRODUCE_MAX.min(11) } else { PRODUCE_MAX };
    let version = match conn.versions().pick(0, PRODUCE_MIN, max) {
        Ok(v) => v,
        Err(e) => {
            release_node(inner, node);
            return settle_all(inner, node, batches, &e);
        }
    };
    if inner.config.acks == Acks::None {
        let res = conn.send_no_response(&req, version).await;
        release_node(inner, node);
        for b in batches {
            let outcome = match &res {
                Ok(()) => Outcome::Delivered { base_offset: -1, log_append_time: -1 },
                Err(e) => classify_error(e),
            };
            settle(inner, None, b, outcome);
        }
        return;
    }
    // The request is written here, in drain order; the response is awaited on its own task so
    // the next requests can go out meanwhile.
    let sent_at = Instant::now();
    let in_flight = match conn.start(&req, version).await {
        Ok(f) => f,
        Err(e) => {
            release_node(inner, node);
            // Part of the request may have gone out.
            return settle_all(inner, node, unknown(batches), &e);
        }
    };
    let inner = inner.clone();
    tokio::spawn(async move {
        let mut batches = batches;
        let wait = in_flight.wait(&conn, request_timeout + Duration::from_secs(5));
        tokio::pin!(wait);
        // delivery.timeout.ms bounds a record's wait for its outcome in flight too (as the Java
        // client's expired in-flight batches): its records fail then, as unknown outcomes, and
        // the answer, when it comes, only settles the bookkeeping (sequences, in-flight counts).
        let resp = loop {
            let next = batches.iter().filter(|b| !b.records.is_empty()).map(|b| b.deadline).min();
            tokio::select! {
                resp = &mut wait => break resp,
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now).into()), if next.is_some() => {
                    expire_in_flight(&inner, &mut batches);
                }
            }
        };
        release_node(&inner, node);
        match resp {
            Ok(resp) => {
                conn.throttle(resp.throttle_time_ms);
                let windows = &inner.accumulator.stats.windows;
                windows.produce_us.record(micros(sent_at.elapsed()));
                windows.throttle_ms.record(resp.throttle_time_ms.max(0) as u64);
                settle_response(&inner, node, batches, resp)
            }
            Err(e) => settle_all(&inner, node, unknown(batches), &e),
        }
        inner.accumulator.wakeup.notify_one();
    });
}

/// Fails the records of in-flight batches past their delivery deadline with a timeout (the
/// broker may still write them: their outcome is unknown). The batches stay in flight, empty,
/// until their request ends; they are never sent again.
fn expire_in_flight(inner: &Inner, batches: &mut [ProducerBatch]) {
    let now = Instant::now();
    for b in batches.iter_mut().filter(|b| b.deadline <= now && !b.records.is_empty()) {
        let err = Error::timeout(format!(
            "delivery.timeout.ms ({:?}) expired for {} record(s) to {}-{} while their Produce request was in flight (the broker may still write them)",
            inner.config.delivery_timeout,
            b.record_count(),
            b.topic,
            b.partition
        ));
        b.unknown_outcome = true;
        if let Some(txn) = &inner.txn {
            txn.on_batch_failed(&err);
        }
        let n = b.records.len();
        for r in b.records.drain(..) {
            r.completion.complete(Err(err.clone()));
        }
        b.expired_records = n;
        inner.accumulator.completed(n);
    }
}

/// Marks batches whose request went out but got no answer: the broker may have written them.
fn unknown(mut batches: Vec<ProducerBatch>) -> Vec<ProducerBatch> {
    for b in batches.iter_mut() {
        b.unknown_outcome = true;
    }
    batches
}

fn release_node(inner: &Inner, node: i32) {
    let mut state = inner.accumulator.state.locked();
    if let Some(n) = state.node_in_flight.get_mut(&node) {
        *n = n.saturating_sub(1);
    }
}

fn settle_all(inner: &Arc<Inner>, node: i32, batches: Vec<ProducerBatch>, e: &Error) {
    for b in batches {
        settle(inner, Some(node), b, classify_error(e));
    }
    inner.accumulator.wakeup.notify_one();
}

fn classify_error(e: &Error) -> Outcome {
    if e.retriable() {
        Outcome::Retry(e.clone())
    } else {
        Outcome::Failed(e.clone())
    }
}

fn settle_response(inner: &Arc<Inner>, node: i32, batches: Vec<ProducerBatch>, resp: ProduceResponse) {
    let mut results: HashMap<(String, i32), (i16, i64, i64, Option<String>)> = HashMap::new();
    for t in resp.responses {
        for p in t.partition_responses {
            let message = p.error_message.map(|m| m.to_string()).or_else(|| {
                p.record_errors.first().and_then(|r| r.batch_index_error_message.as_ref().map(|m| m.to_string()))
            });
            results.insert((t.name.0.to_string(), p.index), (p.error_code, p.base_offset, p.log_append_time_ms, message));
        }
    }
    let idempotent = inner.config.enable_idempotence;
    for b in batches {
        let outcome = match results.get(&(b.topic.to_string(), b.partition)) {
            None => Outcome::Retry(Error::protocol(format!("the Produce response has no result for {}-{}", b.topic, b.partition)).with_retriable(true)),
            Some(&(code, base_offset, log_append_time, ref message)) => {
                let context = format!(
                    "producing to {}-{}{}",
                    b.topic,
                    b.partition,
                    message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
                );
                match code {
                    0 => Outcome::Delivered { base_offset, log_append_time },
                    // Already written by an earlier attempt whose response was lost.
                    error::DUPLICATE_SEQUENCE_NUMBER => Outcome::Delivered { base_offset: -1, log_append_time: -1 },
                    error::MESSAGE_TOO_LARGE if b.record_count() > 1 => Outcome::Split(Error::broker(code, context)),
                    // An earlier batch of this partition failed and is being retried: this one
                    // goes again after it.
                    error::OUT_OF_ORDER_SEQUENCE_NUMBER | error::UNKNOWN_PRODUCER_ID if idempotent => {
                        Outcome::Retry(Error::broker(code, context).with_retriable(true))
                    }
                    error::INVALID_PRODUCER_EPOCH | error::PRODUCER_FENCED => Outcome::Failed(
                        Error::broker(code, format!("{context}: the producer was fenced by a newer instance with the same id"))
                            .with_fatal(true)
                            .with_kind(ErrorKind::Fatal),
                    ),
                    _ => {
                        let e = Error::broker(code, context);
                        if e.retriable() {
                            Outcome::Retry(e)
                        } else {
                            Outcome::Failed(e)
                        }
                    }
                }
            }
        };
        settle(inner, Some(node), b, outcome);
    }
}

/// Applies an outcome to a batch that was in flight (`node` is where it went).
fn settle(inner: &Inner, node: Option<i32>, mut batch: ProducerBatch, outcome: Outcome) {
    let acc = &inner.accumulator;
    let idempotent = inner.config.enable_idempotence;
    let result = {
        let mut state = acc.state.locked();
        let q = state.queue(&batch.topic, batch.partition);
        q.in_flight = q.in_flight.saturating_sub(1);
        // A batch whose fate was unknown (lost connection, timeout) is already written if the
        // broker acknowledged a later sequence of this partition: it could not have accepted
        // that one over a gap. Resending it would only be refused (or, out of the broker's
        // five-batch window, reported out of order).
        let last_seq = seq_add(batch.base_sequence, batch.record_count() as i32 - 1);
        let outcome = match outcome {
            Outcome::Retry(_) if idempotent && batch.base_sequence >= 0 && q.last_acked >= 0 && seq_not_after(last_seq, q.last_acked) => {
                Outcome::Delivered { base_offset: -1, log_append_time: -1 }
            }
            other => other,
        };
        match outcome {
            Outcome::Delivered { base_offset, log_append_time } => {
                if batch.base_sequence >= 0 {
                    let last = seq_add(batch.base_sequence, batch.record_count() as i32 - 1);
                    if q.last_acked == -1 || !seq_not_after(last, q.last_acked) {
                        q.last_acked = last;
                    }
                }
                Some(Ok((base_offset, log_append_time)))
            }
            Outcome::Retry(e) if Instant::now() < batch.deadline && batch.attempts <= inner.config.retries => {
                tracing::debug!(topic = %batch.topic, partition = batch.partition, attempt = batch.attempts, error = %e, "retrying batch");
                // Its outcome is unknown: it goes again with the same sequence numbers (the
                // broker drops a duplicate), in order, once nothing of this partition is in
                // flight. Renumbering it could write it twice.
                q.hold = true;
                let backoff = inner.config.client.retry_backoff * 2u32.saturating_pow(batch.attempts.saturating_sub(1).min(10));
                batch.not_before = Some(Instant::now() + backoff.min(inner.config.client.retry_backoff_max));
                q.requeue(batch);
                drop(state);
                if node.is_some() {
                    inner.needs_metadata.store(true, std::sync::atomic::Ordering::Release);
                }
                return;
            }
            // Records already failed in flight are never sent again.
            Outcome::Split(e) if batch.expired_records > 0 => {
                if idempotent && batch.base_sequence >= 0 && q.sequenced_batch_failed(true, inner.txn.is_some()) {
                    state.needs_epoch_bump = true;
                }
                Some(Err(e))
            }
            Outcome::Split(e) => {
                match split(inner, &batch) {
                    Ok(parts) => {
                        tracing::info!(topic = %batch.topic, partition = batch.partition, records = batch.record_count(), "splitting a batch the broker found too large");
                        let mut parts = parts;
                        for (i, part) in parts.iter_mut().enumerate() {
                            part.base_sequence = if batch.base_sequence >= 0 { seq_add(batch.base_sequence, i as i32) } else { -1 };
                        }
                        // The records and their memory move to the single-record batches.
                        for (part, record) in parts.iter_mut().zip(batch.records.drain(..)) {
                            part.records.push(record);
                        }
                        let per_record = batch.memory / parts.len().max(1);
                        let mut rest = batch.memory;
                        for part in parts.iter_mut() {
                            part.memory = per_record.min(rest);
                            rest -= part.memory;
                        }
                        if let Some(last) = parts.last_mut() {
                            last.memory += rest;
                        }
                        if idempotent {
                            q.resequence = true;
                        }
                        for part in parts.into_iter().rev() {
                            q.batches.push_front(part);
                        }
                        return;
                    }
                    Err(_) => Some(Err(e)),
                }
            }
            // Out of retries or time, or a failure no retry can fix.
            Outcome::Retry(e) | Outcome::Failed(e) => {
                if let Some(txn) = &inner.txn {
                    txn.on_batch_failed(&e);
                }
                if idempotent && batch.base_sequence >= 0 {
                    // The sequence has a gap now: renumber what follows before sending it.
                    if q.sequenced_batch_failed(batch.unknown_outcome, inner.txn.is_some()) {
                        state.needs_epoch_bump = true;
                    }
                }
                Some(Err(e))
            }
        }
    };
    if let Some(result) = result {
        complete(acc, &mut batch, result);
    }
}

/// Re-encodes a built batch as one batch per record (same order, same timestamps).
fn split(inner: &Inner, batch: &ProducerBatch) -> Result<Vec<ProducerBatch>> {
    let built = batch.built.clone().ok_or_else(|| Error::invalid("batch was never built"))?;
    let decoded = records::decode_batch(built, false)?;
    let now = Instant::now();
    let _ = inner;
    decoded
        .records
        .into_iter()
        .map(|r| {
            let mut builder = RecordBatchBuilder::new(r.timestamp);
            builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers)?;
            Ok(ProducerBatch {
                topic: batch.topic.clone(),
                partition: batch.partition,
                builder: Some(builder),
                built: None,
                records: Vec::new(),
                created: now,
                deadline: batch.deadline,
                memory: 0,
                attempts: batch.attempts,
                base_sequence: -1,
                not_before: None,
                unknown_outcome: batch.unknown_outcome,
                sent_gen: batch.sent_gen,
                expired_records: 0,
            })
        })
        .collect()
}

fn complete(acc: &Accumulator, batch: &mut ProducerBatch, mut result: Result<(i64, i64)>) {
    let n = batch.records.len();
    if batch.sent_gen.is_some_and(|g| g < acc.purge_gen.load(std::sync::atomic::Ordering::Acquire)) {
        result = Err(Error::purged(true));
    }
    // Counted before the records complete: whoever waits for them sees them in the statistics.
    acc.stats.produced(&batch.topic, batch.partition, n, batch.memory, result.as_ref().err().map(|e| e.name()).as_deref());
    for (i, record) in batch.records.drain(..).enumerate() {
        let r = match &result {
            Ok((base_offset, log_append_time)) => Ok(RecordMetadata {
                topic: batch.topic.to_string(),
                partition: batch.partition,
                offset: if *base_offset >= 0 { base_offset + i as i64 } else { -1 },
                timestamp: if *log_append_time >= 0 { *log_append_time } else { record.timestamp },
            }),
            Err(e) => Err(e.clone()),
        };
        record.completion.complete(r);
    }
    acc.release(std::mem::take(&mut batch.memory));
    acc.completed(n);
}

/// Completes a batch that never went out (or must not go again).
fn finish(acc: &Accumulator, mut batch: ProducerBatch, result: Result<(i64, i64)>) {
    complete(acc, &mut batch, result);
}

/// Fails every record waiting in the queues (not those in flight): an aborted transaction, or
/// partitions that could not join the transaction.
pub(crate) fn fail_queued(inner: &Inner, e: Error) {
    let acc = &inner.accumulator;
    let batches: Vec<ProducerBatch> = {
        let mut state = acc.state.locked();
        let mut out = Vec::new();
        for q in state.topics.values_mut().flat_map(|qs| qs.iter_mut()) {
            if q.batches.iter().any(|b| b.base_sequence >= 0) {
                q.resequence = true;
            }
            out.extend(q.batches.drain(..));
        }
        out
    };
    // Only batches that had sequence numbers leave a gap the next transaction must not see.
    if batches.iter().any(|b| b.base_sequence >= 0) {
        if let Some(txn) = &inner.txn {
            txn.on_batch_failed(&e);
        }
    }
    for b in batches {
        finish(acc, b, Err(e.clone()));
    }
}

/// Fails every queued record: the producer cannot go on (fenced, or closing by force).
pub(crate) fn fail_everything(inner: &Inner, e: Error) {
    let acc = &inner.accumulator;
    let batches: Vec<ProducerBatch> = {
        let mut state = acc.state.locked();
        state.topics.values_mut().flat_map(|qs| qs.iter_mut().flat_map(|q| q.batches.drain(..))).collect()
    };
    for b in batches {
        finish(acc, b, Err(e.clone()));
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}
