//! The transaction manager: `transactional.id`, InitProducerId with fencing, partitions and
//! consumer offsets added to the transaction, EndTxn.
//!
//! States follow the Java client: `Uninitialized` → `Ready` (after `init_transactions`) →
//! `InTransaction` (after `begin_transaction`) → `Ready` (after commit or abort). An error inside
//! a transaction moves it to `AbortableError`: only `abort_transaction` is allowed then (errors
//! say `txn_requires_abort`). A fenced producer moves to `Fatal` for good.
//!
//! The classic protocol is used (AddPartitionsToTxn v≤3, TxnOffsetCommit after AddOffsetsToTxn,
//! EndTxn v≤4, Produce v≤11), which every Kafka 2.5+ broker, 4.x included, supports.

use crate::consumer::ConsumerGroupMetadata;
use crate::sync::MutexExt;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnRequest, AddPartitionsToTxnTopic};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, EndTxnRequest, GroupId, InitProducerIdRequest, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use crate::cluster::{Cluster, CoordinatorType};
use crate::error::{self, Error, ErrorKind, Result};
use crate::record::TopicPartition;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnState {
    Uninitialized,
    Ready,
    InTransaction,
    AbortableError(Error),
    Fatal(Error),
}

struct Inner {
    state: TxnState,
    /// Partitions added to the current transaction.
    added: HashSet<(Arc<str>, i32)>,
    /// Partitions that got records and still need AddPartitionsToTxn.
    pending: BTreeSet<(Arc<str>, i32)>,
    /// A batch of this transaction failed: the sequence state is reset after the abort.
    needs_epoch_bump: bool,
    /// AddOffsetsToTxn succeeded: the group's offsets partition is part of the transaction.
    offsets_added: bool,
}

pub(crate) struct TransactionManager {
    pub transactional_id: String,
    timeout_ms: i32,
    inner: Mutex<Inner>,
}

fn txn_id(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.to_string()))
}

/// Errors for which a coordinator call is simply tried again (after finding the coordinator
/// again when it moved).
fn coordinator_retriable(code: i16) -> bool {
    matches!(
        code,
        error::COORDINATOR_LOAD_IN_PROGRESS | error::COORDINATOR_NOT_AVAILABLE | error::NOT_COORDINATOR | CONCURRENT_TRANSACTIONS
    ) || kafka_protocol::error::ResponseError::try_from_code(code).map(|e| e.is_retriable()).unwrap_or(false)
}

const CONCURRENT_TRANSACTIONS: i16 = 51;
/// CONCURRENT_TRANSACTIONS answers retried without a pause before falling back to 1 ms pauses.
const IMMEDIATE_CONCURRENT_RETRIES: u32 = 20;
const INVALID_TXN_STATE: i16 = 48;
const TRANSACTION_ABORTABLE: i16 = 120;

impl TransactionManager {
    pub fn new(transactional_id: String, timeout: Duration) -> Self {
        TransactionManager {
            transactional_id,
            timeout_ms: timeout.as_millis().min(i32::MAX as u128) as i32,
            inner: Mutex::new(Inner {
                state: TxnState::Uninitialized,
                added: HashSet::new(),
                pending: BTreeSet::new(),
                needs_epoch_bump: false,
                offsets_added: false,
            }),
        }
    }

    pub fn state(&self) -> TxnState {
        self.inner.locked().state.clone()
    }

    fn set_state(&self, state: TxnState) {
        self.inner.locked().state = state;
    }

    /// `init_transactions` only once, as the Java client (a failed or timed-out one may be
    /// called again).
    pub fn check_can_init(&self) -> Result<()> {
        match self.state_error(&["uninitialized"]) {
            None => Ok(()),
            Some(e) if e.kind() == ErrorKind::InvalidArgument => {
                Err(e.with_message("invalid transaction state: init_transactions() was already called; the producer is initialised"))
            }
            Some(e) => Err(e),
        }
    }

    /// The error a new operation gets in the current state, if any.
    fn state_error(&self, allowed: &[&str]) -> Option<Error> {
        let inner = self.inner.locked();
        let name = match &inner.state {
            TxnState::Fatal(e) => return Some(e.clone()),
            TxnState::AbortableError(e) if !allowed.contains(&"abortable") => {
                return Some(
                    e.clone()
                        .with_txn_requires_abort(true)
                        .context("the transaction failed and must be aborted (abort_transaction)"),
                )
            }
            TxnState::AbortableError(_) => "abortable",
            TxnState::Uninitialized => "uninitialized",
            TxnState::Ready => "ready",
            TxnState::InTransaction => "in_transaction",
        };
        if allowed.contains(&name) {
            None
        } else {
            let hint = match name {
                "uninitialized" => "call init_transactions() first",
                "ready" => "no transaction is in progress: call begin_transaction() first",
                "in_transaction" => "a transaction is already in progress",
                _ => "",
            };
            Some(Error::new(ErrorKind::InvalidArgument, format!("invalid transaction state ({name}): {hint}")))
        }
    }

    /// Checks that a record may be sent now, and notes its partition for AddPartitionsToTxn.
    /// True when the partition is new to the transaction: the sender should add it now, while
    /// the application still queues records (as Java's producer wakes its sender for a new
    /// batch), not when the first batch is ready.
    pub fn on_send(&self, topic: &Arc<str>, partition: i32) -> Result<bool> {
        if let Some(e) = self.state_error(&["in_transaction"]) {
            return Err(e);
        }
        let mut inner = self.inner.locked();
        let key = (topic.clone(), partition);
        Ok(!inner.added.contains(&key) && inner.pending.insert(key))
    }

    /// True when records of this partition may be sent (it is part of the transaction).
    pub fn can_send(&self, topic: &Arc<str>, partition: i32) -> bool {
        self.inner.locked().added.contains(&(topic.clone(), partition))
    }

    pub fn has_pending_partitions(&self) -> bool {
        !self.inner.locked().pending.is_empty()
    }

    /// A batch of the current transaction failed for good.
    pub fn on_batch_failed(&self, e: &Error) {
        let mut inner = self.inner.locked();
        inner.needs_epoch_bump = true;
        match inner.state {
            TxnState::InTransaction => {
                inner.state = if e.fatal() { TxnState::Fatal(e.clone()) } else { TxnState::AbortableError(e.clone()) }
            }
            TxnState::AbortableError(_) if e.fatal() => inner.state = TxnState::Fatal(e.clone()),
            _ => {}
        }
    }

    async fn coordinator(&self, cluster: &Cluster) -> Result<i32> {
        cluster.coordinator(CoordinatorType::Transaction, &self.transactional_id).await
    }

    /// Runs one coordinator request until it succeeds, fails for good, or `deadline` passes.
    async fn with_coordinator<T, F, Fut>(&self, cluster: &Cluster, deadline: Instant, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut(i32) -> Fut,
        Fut: std::future::Future<Output = Result<std::result::Result<T, i16>>>,
    {
        let mut backoff = cluster.config().retry_backoff;
        let mut concurrent_retries = 0u32;
        loop {
            let attempt = async {
                let node = self.coordinator(cluster).await?;
                call(node).await
            };
            let err = match tokio::time::timeout_at(deadline, attempt).await {
                Err(_) => return Err(Error::timeout(format!("{what} did not complete in time"))),
                Ok(Ok(Ok(v))) => return Ok(v),
                Ok(Ok(Err(code))) => {
                    let e = Error::broker(code, format!("{what} for transactional.id '{}'", self.transactional_id));
                    if matches!(code, error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) {
                        cluster.forget_coordinator(CoordinatorType::Transaction, &self.transactional_id);
                    }
                    if !coordinator_retriable(code) {
                        return Err(e);
                    }
                    e
                }
                Ok(Err(e)) if e.retriable() => {
                    cluster.forget_coordinator(CoordinatorType::Transaction, &self.transactional_id);
                    e
                }
                Ok(Err(e)) => return Err(e),
            };
            if Instant::now() + backoff >= deadline {
                return Err(err.context(format!("{what} did not complete in time")));
            }
            tracing::debug!(error = %err, "{what}: retrying");
            if err.code() == CONCURRENT_TRANSACTIONS {
                // The previous transaction's markers are being written: this clears in a
                // millisecond or two. The timer's 1 ms granularity would add up to 2 ms to every
                // transaction, so the first retries go at once (paced by the round trip), then
                // every millisecond.
                concurrent_retries += 1;
                if concurrent_retries <= IMMEDIATE_CONCURRENT_RETRIES {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                continue;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(cluster.config().retry_backoff_max);
        }
    }

    /// InitProducerId for the transactional id: fences older producers with the same id.
    /// `current` is (pid, epoch) for an epoch bump of this producer, or (-1, -1).
    pub async fn init_producer_id(&self, cluster: &Cluster, current: (i64, i16), timeout: Duration) -> Result<(i64, i16)> {
        let deadline = Instant::now() + timeout;
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(txn_id(&self.transactional_id)))
            .with_transaction_timeout_ms(self.timeout_ms)
            .with_producer_id(ProducerId(current.0))
            .with_producer_epoch(current.1);
        let result = self
            .with_coordinator(cluster, deadline, "InitProducerId", |node| {
                let req = req.clone();
                async move {
                    let conn = cluster.connection(node).await?;
                    let version = conn.versions().pick(22, 0, 4)?;
                    let resp = conn.send_version(&req, version, cluster.config().request_timeout).await?;
                    Ok(if resp.error_code == 0 { Ok((resp.producer_id.0, resp.producer_epoch)) } else { Err(resp.error_code) })
                }
            })
            .await;
        match result {
            Ok(pid) => {
                let mut inner = self.inner.locked();
                inner.state = TxnState::Ready;
                inner.needs_epoch_bump = false;
                inner.offsets_added = false;
                inner.added.clear();
                inner.pending.clear();
                Ok(pid)
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Fencing errors are fatal; others keep the state.
    fn classify(&self, e: Error) -> Error {
        if matches!(e.code(), error::PRODUCER_FENCED | error::INVALID_PRODUCER_EPOCH) || e.fatal() {
            let e = e.with_fatal(true).with_kind(ErrorKind::Fatal).context(format!(
                "the producer with transactional.id '{}' was fenced by a newer instance",
                self.transactional_id
            ));
            self.set_state(TxnState::Fatal(e.clone()));
            return e;
        }
        e
    }

    pub fn begin(&self) -> Result<()> {
        if let Some(e) = self.state_error(&["ready"]) {
            return Err(e);
        }
        self.set_state(TxnState::InTransaction);
        Ok(())
    }

    /// Sends AddPartitionsToTxn for the partitions that got records since the last call.
    pub async fn add_pending_partitions(&self, cluster: &Cluster, pid: (i64, i16), timeout: Duration) -> Result<()> {
        let pending: Vec<(Arc<str>, i32)> = self.inner.locked().pending.iter().cloned().collect();
        if pending.is_empty() {
            return Ok(());
        }
        let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
        for (topic, partition) in &pending {
            let name = TopicName(StrBytes::from_string(topic.to_string()));
            match topics.iter_mut().find(|t| t.name == name) {
                Some(t) => t.partitions.push(*partition),
                None => topics.push(AddPartitionsToTxnTopic::default().with_name(name).with_partitions(vec![*partition])),
            }
        }
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn_id(&self.transactional_id))
            .with_v3_and_below_producer_id(ProducerId(pid.0))
            .with_v3_and_below_producer_epoch(pid.1)
            .with_v3_and_below_topics(topics);
        let deadline = Instant::now() + timeout;
        let result = self
            .with_coordinator(cluster, deadline, "AddPartitionsToTxn", |node| {
                let req = req.clone();
                async move {
                    let conn = cluster.connection(node).await?;
                    let version = conn.versions().pick(24, 0, 3)?;
                    let resp = conn.send_version(&req, version, cluster.config().request_timeout).await?;
                    // The first real error of any partition; OPERATION_NOT_ATTEMPTED only
                    // follows another partition's error.
                    let code = resp
                        .results_by_topic_v3_and_below
                        .iter()
                        .flat_map(|t| t.results_by_partition.iter())
                        .map(|p| p.partition_error_code)
                        .filter(|c| *c != 0 && *c != 55)
                        .max_by_key(|c| coordinator_retriable(*c))
                        .unwrap_or(0);
                    Ok(if code == 0 { Ok(()) } else { Err(code) })
                }
            })
            .await;
        match result {
            Ok(()) => {
                let mut inner = self.inner.locked();
                for key in pending {
                    inner.pending.remove(&key);
                    inner.added.insert(key);
                }
                Ok(())
            }
            Err(e) => {
                let e = self.classify(e);
                self.on_batch_failed(&e);
                Err(e)
            }
        }
    }

    /// AddOffsetsToTxn then TxnOffsetCommit to the group coordinator.
    pub async fn send_offsets(
        &self,
        cluster: &Cluster,
        pid: (i64, i16),
        offsets: &[(TopicPartition, i64)],
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        if let Some(e) = self.state_error(&["in_transaction"]) {
            return Err(e);
        }
        let deadline = Instant::now() + timeout;
        let add = AddOffsetsToTxnRequest::default()
            .with_transactional_id(txn_id(&self.transactional_id))
            .with_producer_id(ProducerId(pid.0))
            .with_producer_epoch(pid.1)
            .with_group_id(GroupId(StrBytes::from_string(group.group_id.clone())));
        let added = self
            .with_coordinator(cluster, deadline, "AddOffsetsToTxn", |node| {
                let add = add.clone();
                async move {
                    let conn = cluster.connection(node).await?;
                    let version = conn.versions().pick(25, 0, 3)?;
                    let resp = conn.send_version(&add, version, cluster.config().request_timeout).await?;
                    Ok(if resp.error_code == 0 { Ok(()) } else { Err(resp.error_code) })
                }
            })
            .await;
        if let Err(e) = added {
            let e = self.classify(e);
            self.on_batch_failed(&e);
            return Err(e);
        }
        self.inner.locked().offsets_added = true;
        let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
        for (tp, offset) in offsets {
            let name = TopicName(StrBytes::from_string(tp.topic.clone()));
            let part = TxnOffsetCommitRequestPartition::default()
                .with_partition_index(tp.partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1);
            match topics.iter_mut().find(|t| t.name == name) {
                Some(t) => t.partitions.push(part),
                None => topics.push(TxnOffsetCommitRequestTopic::default().with_name(name).with_partitions(vec![part])),
            }
        }
        let commit = TxnOffsetCommitRequest::default()
            .with_transactional_id(txn_id(&self.transactional_id))
            .with_group_id(GroupId(StrBytes::from_string(group.group_id.clone())))
            .with_producer_id(ProducerId(pid.0))
            .with_producer_epoch(pid.1)
            .with_generation_id(group.generation_id)
            .with_member_id(StrBytes::from_string(group.member_id.clone()))
            .with_group_instance_id(group.group_instance_id.clone().map(StrBytes::from_string))
            .with_topics(topics);
        let mut backoff = cluster.config().retry_backoff;
        loop {
            let attempt = async {
                let node = cluster.coordinator(CoordinatorType::Group, &group.group_id).await?;
                let conn = cluster.coordinator_connection(node).await?;
                let version = conn.versions().pick(28, 0, 4)?;
                let resp = conn.send_version(&commit, version, cluster.config().request_timeout).await?;
                Ok::<_, Error>(
                    resp.topics.iter().flat_map(|t| t.partitions.iter()).map(|p| p.error_code).find(|c| *c != 0).unwrap_or(0),
                )
            };
            let err = match tokio::time::timeout_at(deadline, attempt).await {
                Err(_) => return Err(Error::timeout("TxnOffsetCommit did not complete in time")),
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(code)) => {
                    let e = Error::broker(code, format!("TxnOffsetCommit for group '{}'", group.group_id));
                    if matches!(code, error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) {
                        cluster.forget_coordinator(CoordinatorType::Group, &group.group_id);
                    }
                    if !coordinator_retriable(code) {
                        // A zombie consumer (stale generation) or a fenced producer.
                        let e = self.classify(e);
                        self.on_batch_failed(&e);
                        return Err(e.with_txn_requires_abort(true));
                    }
                    e
                }
                Ok(Err(e)) if e.retriable() => {
                    cluster.forget_coordinator(CoordinatorType::Group, &group.group_id);
                    e
                }
                Ok(Err(e)) => return Err(e),
            };
            if Instant::now() + backoff >= deadline {
                return Err(err.context("TxnOffsetCommit did not complete in time"));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(cluster.config().retry_backoff_max);
        }
    }

    /// Checks the state before commit (`commit` true) or abort.
    pub fn check_end(&self, commit: bool) -> Result<()> {
        let allowed: &[&str] = if commit { &["in_transaction"] } else { &["in_transaction", "abortable"] };
        match self.state_error(allowed) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// EndTxn. The partitions of the transaction are forgotten afterwards.
    pub async fn end(&self, cluster: &Cluster, pid: (i64, i16), commit: bool, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let nothing_added = {
            let inner = self.inner.locked();
            inner.added.is_empty() && !inner.offsets_added
        };
        // An empty transaction needs no EndTxn: the coordinator never heard of it.
        let result = if nothing_added {
            Ok(())
        } else {
            let req = EndTxnRequest::default()
                .with_transactional_id(txn_id(&self.transactional_id))
                .with_producer_id(ProducerId(pid.0))
                .with_producer_epoch(pid.1)
                .with_committed(commit);
            let what = if commit { "EndTxn (commit)" } else { "EndTxn (abort)" };
            self.with_coordinator(cluster, deadline, what, |node| {
                let req = req.clone();
                async move {
                    let conn = cluster.connection(node).await?;
                    let version = conn.versions().pick(26, 0, 4)?;
                    let resp = conn.send_version(&req, version, cluster.config().request_timeout).await?;
                    Ok(if resp.error_code == 0 { Ok(()) } else { Err(resp.error_code) })
                }
            })
            .await
        };
        match result {
            Ok(()) => {
                let mut inner = self.inner.locked();
                inner.state = TxnState::Ready;
                inner.added.clear();
                inner.pending.clear();
                inner.offsets_added = false;
                Ok(())
            }
            Err(e) => {
                let e = self.classify(e);
                if commit && !e.fatal() && matches!(e.code(), INVALID_TXN_STATE | TRANSACTION_ABORTABLE) {
                    self.set_state(TxnState::AbortableError(e.clone()));
                    return Err(e.with_txn_requires_abort(true));
                }
                Err(e)
            }
        }
    }

    /// True when the sequence state must be reset (epoch bump) before the next transaction.
    pub fn take_needs_epoch_bump(&self) -> bool {
        std::mem::take(&mut self.inner.locked().needs_epoch_bump)
    }
}
