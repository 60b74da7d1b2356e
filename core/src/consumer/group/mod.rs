//! Group membership, on its own task: the classic protocol (FindCoordinator, JoinGroup with
//! KIP-394's member-id retry, SyncGroup with a client-side assignor, Heartbeat, LeaveGroup) and
//! the KIP-848 consumer protocol (ConsumerGroupHeartbeat, assignor on the broker).
//!
//! The task talks to the coordinator over its own connection, so a JoinGroup long poll does not
//! hold up fetches or commits on the shared one. Revocations are events the application sees in
//! poll; the task waits (bounded by the rebalance timeout, heartbeating meanwhile) until the
//! application polls again, auto-commits the revoked partitions, then drops them.
//!
//! This module holds what both protocols share (the coordinator connection, revocation and
//! assignment bookkeeping, auto-commit, the subscribed topics); `classic` and `kip848` hold one
//! protocol each.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::protocol::StrBytes;

use super::{ConsumerEvent, Shared, Subscription};
use crate::cluster::CoordinatorType;
use crate::error::{self, Error, Result};
use crate::instrumentation::{self, Event, EventKind};
use crate::net::{Connection, Security};
use crate::record::TopicPartition;

/// The shortest interval between two auto-commits (see `auto.commit.interval.ms`).
const MIN_AUTO_COMMIT_INTERVAL: Duration = Duration::from_millis(10);

const REBALANCE_IN_PROGRESS: i16 = 27;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;
const FENCED_MEMBER_EPOCH: i16 = 110;
const UNRELEASED_INSTANCE_ID: i16 = 111;

mod classic;
mod kip848;

use classic::Classic;
use kip848::Kip848;

pub(crate) async fn run(shared: Arc<Shared>) {
    if super::is_group_protocol_consumer(&shared.config) {
        Kip848::new(shared).run().await
    } else {
        Classic::new(shared).run().await
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn closing(shared: &Shared) -> bool {
    shared.closing.load(Ordering::Acquire) || shared.closed.load(Ordering::Acquire)
}

/// Resolves once the consumer starts closing.
async fn until_closing(shared: &Shared) {
    while !closing(shared) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reports a successful heartbeat of member `member_id` in `generation` (the member epoch with
/// the KIP-848 protocol) to the client's instrumentation.
fn report_heartbeat(shared: &Shared, member_id: &str, generation: i32) {
    instrumentation::report(shared.config.client.instrumentation.as_ref(), EventKind::Heartbeat, || Event::Heartbeat {
        group_id: shared.group_id().unwrap_or_default().to_string(),
        member_id: member_id.to_string(),
        generation_id: generation,
    });
}

/// The coordinator and a connection of the group task's own.
struct Coordinator {
    shared: Arc<Shared>,
    group: String,
    conn: Option<Arc<Connection>>,
    security: Option<Security>,
}

impl Coordinator {
    async fn get(&mut self) -> Result<Arc<Connection>> {
        if let Some(c) = &self.conn {
            if !c.is_broken() {
                return Ok(c.clone());
            }
        }
        self.conn = None;
        let cluster = &self.shared.cluster;
        let node = cluster.coordinator(CoordinatorType::Group, &self.group).await?;
        let meta = cluster.metadata();
        let b = meta
            .brokers
            .get(&node)
            .ok_or_else(|| Error::connection(format!("coordinator {node} is not in the metadata")))?;
        if self.security.is_none() {
            self.security = Some(Security::new(cluster.config())?);
        }
        let addr = format!("{}:{}", b.host, b.port);
        let conn = Connection::connect_counted(&addr, node, cluster.config(), self.security.as_ref().unwrap(), cluster.stats().broker(&addr, node)).await?;
        self.shared.lock().group.coordinator = Some(node);
        self.conn = Some(conn.clone());
        Ok(conn)
    }

    fn reset(&mut self) {
        self.conn = None;
        self.shared.cluster.forget_coordinator(CoordinatorType::Group, &self.group);
    }

    /// Drops the coordinator on errors that say it moved.
    fn on_error(&mut self, e: &Error) {
        if matches!(e.code(), error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) || e.code() == 0 {
            self.reset();
        }
    }
}

/// Waits until the application has seen event `id` (it polled again), `deadline` passed or the
/// consumer is closing, but at most `step`. True when done waiting.
async fn wait_ack(shared: &Shared, id: u64, deadline: Instant, step: Duration) -> bool {
    let until = (Instant::now() + step).min(deadline);
    loop {
        let notified = shared.wake_group.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let st = shared.lock();
            if st.acked >= id {
                return true;
            }
        }
        if closing(shared) || Instant::now() >= deadline {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(until), notified).await;
    }
}

/// Starts a revocation: marks the partitions, queues the event. Returns the event id.
fn start_revoke(shared: &Shared, tps: &[TopicPartition]) -> u64 {
    let mut st = shared.lock();
    for tp in tps {
        if let Some(p) = st.assignment.get_mut(tp) {
            p.revoking = true;
        }
    }
    let id = st.push_event(ConsumerEvent::Revoked(tps.to_vec()));
    drop(st);
    shared.data.notify_waiters();
    id
}

/// Ends a revocation: auto-commits the delivered positions, drops the partitions.
async fn finish_revoke(shared: &Shared, tps: &[TopicPartition]) {
    if shared.config.enable_auto_commit {
        let list = shared.lock().to_commit(Some(tps));
        let list: Vec<_> = {
            let st = shared.lock();
            list.into_iter().filter(|(tp, o, _)| st.last_committed.get(tp) != Some(o)).collect()
        };
        if !list.is_empty() {
            if let Err(e) = super::offsets::commit(shared, &list).await {
                tracing::warn!(error = %e, "auto-commit of revoked partitions failed");
            }
        }
    }
    shared.lock().remove_partitions(tps);
    shared.wake_fetcher.notify_one();
}

fn lose(shared: &Shared, tps: &[TopicPartition]) {
    if tps.is_empty() {
        return;
    }
    let mut st = shared.lock();
    st.remove_partitions(tps);
    st.push_event(ConsumerEvent::Lost(tps.to_vec()));
    drop(st);
    shared.data.notify_waiters();
}

fn assign_added(shared: &Shared, added: &[TopicPartition], always_event: bool) {
    let mut st = shared.lock();
    st.add_partitions(added);
    if always_event || !added.is_empty() {
        st.push_event(ConsumerEvent::Assigned(added.to_vec()));
    }
    drop(st);
    shared.data.notify_waiters();
    shared.wake_fetcher.notify_one();
}

fn owned(shared: &Shared) -> Vec<TopicPartition> {
    shared.lock().assignment.keys().cloned().collect()
}

/// Auto-commit of delivered positions that changed since the last commit.
async fn auto_commit(shared: &Shared) {
    let list: Vec<_> = {
        let st = shared.lock();
        st.to_commit(None).into_iter().filter(|(tp, o, _)| st.last_committed.get(tp) != Some(o)).collect()
    };
    if list.is_empty() {
        return;
    }
    if let Err(e) = super::offsets::commit(shared, &list).await {
        tracing::warn!(error = %e, "auto-commit failed");
    }
}

/// The topics the subscription names now: a pattern is matched against all topics (refreshed
/// when older than `metadata.max.age.ms`).
async fn subscribed_topics(shared: &Shared, sub: &Subscription, last_full: &mut Instant) -> BTreeSet<String> {
    match sub {
        Subscription::Topics(t) => t.clone(),
        Subscription::Pattern(re, _) => {
            let cluster = &shared.cluster;
            if last_full.elapsed() >= cluster.config().metadata_max_age {
                *last_full = Instant::now();
                if let Err(e) = cluster.refresh_metadata(None, false).await {
                    tracing::debug!(error = %e, "metadata refresh failed");
                }
            }
            let topics: BTreeSet<String> =
                cluster.metadata().topics.values().filter(|t| !t.internal && re.is_match(&t.name)).map(|t| t.name.clone()).collect();
            cluster.add_interest(topics.iter().map(String::as_str));
            topics
        }
        _ => BTreeSet::new(),
    }
}

fn partition_counts(shared: &Shared, topics: &BTreeSet<String>) -> HashMap<String, i32> {
    let meta = shared.cluster.metadata();
    topics
        .iter()
        .filter_map(|t| meta.topics.get(t).filter(|m| m.error_code == 0 && !m.partitions.is_empty()).map(|m| (t.clone(), m.partitions.len() as i32)))
        .collect()
}
