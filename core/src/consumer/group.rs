//! Group membership, on its own task: the classic protocol (FindCoordinator, JoinGroup with
//! KIP-394's member-id retry, SyncGroup with a client-side assignor, Heartbeat, LeaveGroup) and
//! the KIP-848 consumer protocol (ConsumerGroupHeartbeat, assignor on the broker).
//!
//! The task talks to the coordinator over its own connection, so a JoinGroup long poll does not
//! hold up fetches or commits on the shared one. Revocations are events the application sees in
//! poll; the task waits (bounded by the rebalance timeout, heartbeating meanwhile) until the
//! application polls again, auto-commits the revoked partitions, then drops them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::consumer_group_heartbeat_request::{ConsumerGroupHeartbeatRequest, TopicPartitions};
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::assignor::{self, Subscription as MemberSubscription};
use super::{ConsumerEvent, Shared, Subscription};
use crate::cluster::CoordinatorType;
use crate::config::AssignorKind;
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
        let conn = Connection::connect(&format!("{}:{}", b.host, b.port), node, cluster.config(), self.security.as_ref().unwrap()).await?;
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

// ---------------------------------------------------------------------------------------------
// Classic protocol
// ---------------------------------------------------------------------------------------------

struct Classic {
    shared: Arc<Shared>,
    coord: Coordinator,
    member_id: String,
    generation: i32,
    protocol: Option<AssignorKind>,
    need_join: bool,
    joined_version: u64,
    joined_topics: BTreeSet<String>,
    joined_counts: HashMap<String, i32>,
    last_full_refresh: Instant,
    last_meta_check: Instant,
    /// Left the group because the application stopped polling; rejoin on its next poll.
    left_at: Option<Instant>,
    /// The leader the coordinator named in the last JoinGroup response.
    leader_id: String,
    /// How long the last completed join (JoinGroup through SyncGroup) took.
    join_duration: Option<Duration>,
}

impl Classic {
    fn new(shared: Arc<Shared>) -> Self {
        let group = shared.group_id().unwrap().to_string();
        Classic {
            coord: Coordinator { shared: shared.clone(), group, conn: None, security: None },
            shared,
            member_id: String::new(),
            generation: -1,
            protocol: None,
            need_join: true,
            joined_version: u64::MAX,
            joined_topics: BTreeSet::new(),
            joined_counts: HashMap::new(),
            last_full_refresh: Instant::now() - Duration::from_secs(3600),
            last_meta_check: Instant::now(),
            left_at: None,
            leader_id: String::new(),
            join_duration: None,
        }
    }

    fn group(&self) -> &str {
        &self.coord.group
    }

    fn cooperative(&self) -> bool {
        self.protocol.is_some_and(assignor::is_cooperative)
    }

    async fn run(mut self) {
        let cfg = self.shared.config.clone();
        let mut next_heartbeat = Instant::now() + cfg.heartbeat_interval;
        let mut next_commit = Instant::now() + cfg.auto_commit_interval;
        loop {
            if closing(&self.shared) {
                self.leave("the consumer is closing").await;
                return;
            }
            let (sub, version, last_poll) = {
                let st = self.shared.lock();
                (st.subscription.clone(), st.subscription_version, st.last_poll)
            };
            let grouped = matches!(sub, Subscription::Topics(_) | Subscription::Pattern(..));
            if !grouped {
                if self.generation >= 0 || !self.member_id.is_empty() {
                    self.leave("unsubscribed").await;
                }
            } else {
                // The application stopped polling: leave, rejoin when it polls again.
                if let Some(left) = self.left_at {
                    if last_poll > left {
                        self.left_at = None;
                        self.need_join = true;
                    }
                } else if self.generation >= 0 && last_poll.elapsed() > cfg.max_poll_interval {
                    tracing::warn!(group = self.group(), "max.poll.interval.ms passed without a poll: leaving the group");
                    self.leave("consumer poll timeout has expired").await;
                    lose(&self.shared, &owned(&self.shared));
                    self.left_at = Some(Instant::now());
                }
                if self.left_at.is_none() {
                    let topics = subscribed_topics(&self.shared, &sub, &mut self.last_full_refresh).await;
                    if version != self.joined_version || topics != self.joined_topics {
                        self.need_join = true;
                    }
                    if self.last_meta_check.elapsed() >= self.shared.cluster.config().metadata_max_age {
                        self.last_meta_check = Instant::now();
                        let list: Vec<String> = topics.iter().cloned().collect();
                        if !list.is_empty() {
                            let _ = self.shared.cluster.refresh_metadata(Some(&list), false).await;
                        }
                        if partition_counts(&self.shared, &topics) != self.joined_counts && self.generation >= 0 {
                            tracing::info!(group = self.group(), "partition counts changed: rejoining");
                            self.need_join = true;
                        }
                    }
                    if self.need_join {
                        match self.join(topics.clone(), version).await {
                            Ok(()) => {
                                next_heartbeat = Instant::now() + cfg.heartbeat_interval;
                            }
                            Err(e) => {
                                tracing::warn!(group = self.group(), error = %e, "joining the group failed");
                                self.coord.on_error(&e);
                                if e.code() == FENCED_INSTANCE_ID || e.kind() == crate::error::ErrorKind::Authorization {
                                    self.shared.lock().errors.push_back(e);
                                    self.shared.data.notify_waiters();
                                }
                                tokio::time::sleep(cfg.client.retry_backoff.max(Duration::from_millis(200))).await;
                            }
                        }
                        continue;
                    }
                }
            }
            let now = Instant::now();
            if now >= next_heartbeat {
                if grouped && self.generation >= 0 && self.left_at.is_none() {
                    self.heartbeat().await;
                }
                next_heartbeat = Instant::now() + cfg.heartbeat_interval;
            }
            if cfg.enable_auto_commit && Instant::now() >= next_commit {
                if !grouped || self.generation >= 0 {
                    auto_commit(&self.shared).await;
                }
                // auto.commit.interval.ms=0 (Java: commit at every poll) would spin this loop:
                // the engine commits changed offsets at most every MIN_AUTO_COMMIT_INTERVAL.
                next_commit = Instant::now() + cfg.auto_commit_interval.max(MIN_AUTO_COMMIT_INTERVAL);
            }
            let mut wake = next_heartbeat.min(if cfg.enable_auto_commit { next_commit } else { next_heartbeat });
            if grouped && matches!(sub, Subscription::Pattern(..)) {
                wake = wake.min(self.last_full_refresh + self.shared.cluster.config().metadata_max_age);
            }
            wake = wake.min(Instant::now() + Duration::from_secs(1));
            let notified = self.shared.wake_group.notified();
            let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(wake.max(Instant::now())), notified).await;
        }
    }

    async fn heartbeat(&mut self) {
        match self.send_heartbeat().await {
            Ok(0) => {}
            Ok(REBALANCE_IN_PROGRESS) => {
                tracing::debug!(group = self.group(), "rebalance in progress: rejoining");
                self.need_join = true;
            }
            Ok(code @ (ILLEGAL_GENERATION | UNKNOWN_MEMBER_ID | FENCED_INSTANCE_ID)) => {
                tracing::info!(group = self.group(), code, "fenced by the coordinator: partitions lost, rejoining");
                if code == UNKNOWN_MEMBER_ID {
                    self.member_id.clear();
                }
                self.generation = -1;
                self.set_group_info();
                lose(&self.shared, &owned(&self.shared));
                self.need_join = true;
            }
            Ok(code) => {
                let e = Error::broker(code, "heartbeat");
                self.coord.on_error(&e);
            }
            Err(e) => {
                tracing::debug!(error = %e, "heartbeat failed");
                self.coord.on_error(&e);
            }
        }
    }

    async fn send_heartbeat(&mut self) -> Result<i16> {
        let conn = self.coord.get().await?;
        let version = conn.versions().version_for::<HeartbeatRequest>()?;
        let mut req = HeartbeatRequest::default()
            .with_group_id(GroupId(sb(self.group())))
            .with_generation_id(self.generation)
            .with_member_id(sb(&self.member_id));
        if version >= 3 {
            req = req.with_group_instance_id(self.shared.config.group_instance_id.clone().map(StrBytes::from_string));
        }
        let resp = conn.send_version(&req, version, self.shared.config.client.request_timeout).await?;
        if resp.error_code == 0 {
            report_heartbeat(&self.shared, &self.member_id, self.generation);
        }
        Ok(resp.error_code)
    }

    fn set_group_info(&self) {
        let mut st = self.shared.lock();
        st.group.generation = self.generation;
        st.group.member_id = self.member_id.clone();
        st.group.protocol = self.protocol.map(|k| assignor::protocol_name(k).to_string());
        st.group.leader_id = self.leader_id.clone();
        st.group.join_duration = self.join_duration;
    }

    /// Revokes `tps`: event, wait for the application (heartbeating), auto-commit, drop.
    async fn revoke(&mut self, tps: Vec<TopicPartition>) {
        if tps.is_empty() {
            return;
        }
        let id = start_revoke(&self.shared, &tps);
        let deadline = Instant::now() + self.shared.rebalance_timeout();
        while !wait_ack(&self.shared, id, deadline, self.shared.config.heartbeat_interval).await {
            if self.generation >= 0 {
                let _ = self.send_heartbeat().await;
            }
        }
        finish_revoke(&self.shared, &tps).await;
    }

    async fn join(&mut self, topics: BTreeSet<String>, version: u64) -> Result<()> {
        let started = Instant::now();
        let cfg = self.shared.config.clone();
        // Eager protocols give everything up before joining.
        let mine = owned(&self.shared);
        if !self.cooperative() && !mine.is_empty() {
            self.revoke(mine).await;
        }
        let owned_now = owned(&self.shared);
        let counts = partition_counts(&self.shared, &topics);
        let meta = assignor::encode_subscription(&MemberSubscription {
            topics: topics.iter().cloned().collect(),
            owned: owned_now.clone(),
            generation: self.generation,
            rack: cfg.client_rack.clone(),
            user_data: None,
        })?;
        let protocols: Vec<JoinGroupRequestProtocol> = cfg
            .assignors
            .iter()
            .map(|k| JoinGroupRequestProtocol::default().with_name(StrBytes::from_static_str(assignor::protocol_name(*k))).with_metadata(meta.clone()))
            .collect();
        let rebalance_timeout = self.shared.rebalance_timeout();
        let mut attempts = 0;
        let resp = loop {
            attempts += 1;
            if attempts > 10 {
                return Err(Error::timeout("JoinGroup: too many retries"));
            }
            if closing(&self.shared) {
                return Ok(());
            }
            let conn = self.coord.get().await?;
            let v = conn.versions().version_for::<JoinGroupRequest>()?;
            let mut req = JoinGroupRequest::default()
                .with_group_id(GroupId(sb(self.group())))
                .with_session_timeout_ms(cfg.session_timeout.as_millis() as i32)
                .with_rebalance_timeout_ms(rebalance_timeout.as_millis() as i32)
                .with_member_id(sb(&self.member_id))
                .with_protocol_type(StrBytes::from_static_str("consumer"))
                .with_protocols(protocols.clone());
            if v >= 5 {
                req = req.with_group_instance_id(cfg.group_instance_id.clone().map(StrBytes::from_string));
            }
            if v >= 8 {
                req = req.with_reason(Some(StrBytes::from_static_str("joining")));
            }
            // A JoinGroup can wait for the whole rebalance: a closing consumer stops waiting.
            let resp = tokio::select! {
                r = conn.send_version(&req, v, rebalance_timeout + cfg.client.request_timeout) => r?,
                _ = until_closing(&self.shared) => return Ok(()),
            };
            match resp.error_code {
                0 => break resp,
                MEMBER_ID_REQUIRED => {
                    self.member_id = resp.member_id.to_string();
                }
                UNKNOWN_MEMBER_ID => {
                    self.member_id.clear();
                }
                REBALANCE_IN_PROGRESS | error::COORDINATOR_LOAD_IN_PROGRESS => {
                    tokio::time::sleep(cfg.client.retry_backoff).await;
                }
                code => return Err(Error::broker(code, format!("JoinGroup of group '{}'", self.group()))),
            }
        };
        self.generation = resp.generation_id;
        self.member_id = resp.member_id.to_string();
        let protocol_name = resp.protocol_name.as_ref().map(|p| p.to_string()).unwrap_or_default();
        self.protocol = assignor::kind_for_name(&protocol_name);
        let is_leader = resp.leader == resp.member_id;
        self.leader_id = resp.leader.to_string();
        tracing::debug!(group = self.group(), generation = self.generation, member = %self.member_id, protocol = %protocol_name, is_leader, "joined");
        let assignments = if is_leader && !resp.skip_assignment {
            self.leader_assign(&resp.members, &protocol_name).await?
        } else {
            Vec::new()
        };
        let conn = self.coord.get().await?;
        let v = conn.versions().version_for::<SyncGroupRequest>()?;
        let mut req = SyncGroupRequest::default()
            .with_group_id(GroupId(sb(self.group())))
            .with_generation_id(self.generation)
            .with_member_id(sb(&self.member_id))
            .with_assignments(assignments);
        if v >= 3 {
            req = req.with_group_instance_id(cfg.group_instance_id.clone().map(StrBytes::from_string));
        }
        if v >= 5 {
            req = req.with_protocol_type(Some(StrBytes::from_static_str("consumer"))).with_protocol_name(Some(sb(&protocol_name)));
        }
        let sync = conn.send_version(&req, v, rebalance_timeout + cfg.client.request_timeout).await?;
        match sync.error_code {
            0 => {}
            REBALANCE_IN_PROGRESS => {
                self.need_join = true;
                return Ok(());
            }
            code @ (UNKNOWN_MEMBER_ID | ILLEGAL_GENERATION) => {
                if code == UNKNOWN_MEMBER_ID {
                    self.member_id.clear();
                }
                self.generation = -1;
                lose(&self.shared, &owned(&self.shared));
                self.need_join = true;
                return Ok(());
            }
            code => return Err(Error::broker(code, format!("SyncGroup of group '{}'", self.group()))),
        }
        let new = assignor::decode_assignment(sync.assignment)?;
        self.need_join = false;
        self.joined_version = version;
        self.joined_topics = topics;
        self.joined_counts = counts;
        self.join_duration = Some(started.elapsed());
        self.set_group_info();
        let current = owned(&self.shared);
        let new_set: BTreeSet<&TopicPartition> = new.iter().collect();
        let revoked: Vec<TopicPartition> = current.iter().filter(|tp| !new_set.contains(tp)).cloned().collect();
        let added: Vec<TopicPartition> = new.iter().filter(|tp| !current.contains(tp)).cloned().collect();
        if self.cooperative() {
            if !revoked.is_empty() {
                self.revoke(revoked).await;
                // Second phase: the revoked partitions can now go to their new owners.
                self.need_join = true;
            }
            assign_added(&self.shared, &added, true);
        } else {
            // Eager: everything was revoked before the join.
            if !revoked.is_empty() {
                self.revoke(revoked).await;
            }
            assign_added(&self.shared, &new, true);
        }
        Ok(())
    }

    async fn leader_assign(
        &mut self,
        members: &[kafka_protocol::messages::join_group_response::JoinGroupResponseMember],
        protocol: &str,
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let kind = assignor::kind_for_name(protocol).ok_or_else(|| Error::protocol(format!("the group chose unknown assignor '{protocol}'")))?;
        let mut subs: BTreeMap<String, MemberSubscription> = BTreeMap::new();
        for m in members {
            subs.insert(m.member_id.to_string(), assignor::decode_subscription(m.metadata.clone())?);
        }
        let topics: Vec<String> = subs.values().flat_map(|s| s.topics.iter().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
        if !topics.is_empty() {
            if let Err(e) = self.shared.cluster.refresh_metadata(Some(&topics), false).await {
                tracing::warn!(error = %e, "metadata refresh before assigning failed");
            }
        }
        let counts = partition_counts(&self.shared, &topics.iter().cloned().collect());
        let plan = assignor::assign(kind, &subs, &counts);
        plan.into_iter()
            .map(|(m, tps)| Ok(SyncGroupRequestAssignment::default().with_member_id(sb(&m)).with_assignment(assignor::encode_assignment(&tps)?)))
            .collect()
    }

    async fn leave(&mut self, reason: &str) {
        if self.member_id.is_empty() {
            return;
        }
        if self.shared.config.group_instance_id.is_some() && closing(&self.shared) {
            // Static members do not leave on close: the session timeout decides.
            return;
        }
        let result = async {
            let conn = self.coord.get().await?;
            let v = conn.versions().version_for::<LeaveGroupRequest>()?;
            let mut req = LeaveGroupRequest::default().with_group_id(GroupId(sb(self.group())));
            if v >= 3 {
                let mut m = MemberIdentity::default()
                    .with_member_id(sb(&self.member_id))
                    .with_group_instance_id(self.shared.config.group_instance_id.clone().map(StrBytes::from_string));
                if v >= 5 {
                    m = m.with_reason(Some(sb(reason)));
                }
                req = req.with_members(vec![m]);
            } else {
                req = req.with_member_id(sb(&self.member_id));
            }
            let resp = conn.send_version(&req, v, self.shared.config.client.request_timeout).await?;
            Error::check(resp.error_code, "LeaveGroup")
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "LeaveGroup failed");
        }
        self.member_id.clear();
        self.generation = -1;
        self.leader_id.clear();
        self.set_group_info();
    }
}

// ---------------------------------------------------------------------------------------------
// KIP-848 consumer protocol
// ---------------------------------------------------------------------------------------------

struct Kip848 {
    shared: Arc<Shared>,
    coord: Coordinator,
    member_id: String,
    epoch: i32,
    interval: Duration,
    joined_version: u64,
}

fn random_member_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..22).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

impl Kip848 {
    fn new(shared: Arc<Shared>) -> Self {
        let group = shared.group_id().unwrap().to_string();
        Kip848 {
            coord: Coordinator { shared: shared.clone(), group, conn: None, security: None },
            interval: shared.config.heartbeat_interval,
            shared,
            member_id: random_member_id(),
            epoch: 0,
            joined_version: u64::MAX,
        }
    }

    fn set_group_info(&self) {
        let mut st = self.shared.lock();
        st.group.generation = self.epoch;
        st.group.member_id = self.member_id.clone();
        st.group.protocol = Some("consumer".into());
    }

    async fn run(mut self) {
        let cfg = self.shared.config.clone();
        let mut next_heartbeat = Instant::now();
        let mut next_commit = Instant::now() + cfg.auto_commit_interval;
        let mut left_at: Option<Instant> = None;
        loop {
            if closing(&self.shared) {
                self.leave().await;
                return;
            }
            let (sub, version, last_poll) = {
                let st = self.shared.lock();
                (st.subscription.clone(), st.subscription_version, st.last_poll)
            };
            let grouped = matches!(sub, Subscription::Topics(_) | Subscription::Pattern(..));
            if !grouped {
                if self.epoch > 0 {
                    self.leave().await;
                }
            } else {
                if let Some(l) = left_at {
                    if last_poll > l {
                        left_at = None;
                        next_heartbeat = Instant::now();
                    }
                } else if self.epoch > 0 && last_poll.elapsed() > cfg.max_poll_interval {
                    tracing::warn!("max.poll.interval.ms passed without a poll: leaving the group");
                    self.leave().await;
                    lose(&self.shared, &owned(&self.shared));
                    left_at = Some(Instant::now());
                }
                if version != self.joined_version {
                    next_heartbeat = Instant::now();
                }
                if left_at.is_none() && Instant::now() >= next_heartbeat {
                    match self.heartbeat(&sub, version).await {
                        Ok(again) => {
                            next_heartbeat = if again { Instant::now() } else { Instant::now() + self.interval };
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "consumer group heartbeat failed");
                            self.coord.on_error(&e);
                            next_heartbeat = Instant::now() + cfg.client.retry_backoff.max(Duration::from_millis(200));
                        }
                    }
                    continue;
                }
            }
            if cfg.enable_auto_commit && Instant::now() >= next_commit {
                if !grouped || self.epoch > 0 {
                    auto_commit(&self.shared).await;
                }
                next_commit = Instant::now() + cfg.auto_commit_interval.max(MIN_AUTO_COMMIT_INTERVAL);
            }
            let mut wake = next_heartbeat.min(Instant::now() + Duration::from_secs(1));
            if cfg.enable_auto_commit {
                wake = wake.min(next_commit);
            }
            let notified = self.shared.wake_group.notified();
            let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(wake.max(Instant::now())), notified).await;
        }
    }

    /// Topic ids of owned partitions (from metadata).
    fn owned_ids(&self, tps: &[TopicPartition]) -> Vec<TopicPartitions> {
        let meta = self.shared.cluster.metadata();
        let mut by: BTreeMap<[u8; 16], Vec<i32>> = BTreeMap::new();
        for tp in tps {
            if let Some(t) = meta.topics.get(&tp.topic) {
                by.entry(t.topic_id).or_default().push(tp.partition);
            }
        }
        by.into_iter().map(|(id, ps)| TopicPartitions::default().with_topic_id(uuid::Uuid::from_bytes(id)).with_partitions(ps)).collect()
    }

    async fn send(&mut self, sub: &Subscription, epoch: i32, owned_now: &[TopicPartition]) -> Result<kafka_protocol::messages::ConsumerGroupHeartbeatResponse> {
        let cfg = &self.shared.config;
        let conn = self.coord.get().await?;
        let v = conn.versions().version_for::<ConsumerGroupHeartbeatRequest>()?;
        let mut req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(sb(&self.coord.group)))
            .with_member_id(sb(&self.member_id))
            .with_member_epoch(epoch)
            .with_instance_id(cfg.group_instance_id.clone().map(StrBytes::from_string))
            .with_rack_id(cfg.client_rack.clone().map(StrBytes::from_string))
            .with_rebalance_timeout_ms(self.shared.rebalance_timeout().as_millis() as i32)
            .with_server_assignor(cfg.group_remote_assignor.clone().map(StrBytes::from_string));
        match sub {
            Subscription::Topics(t) => {
                req = req.with_subscribed_topic_names(Some(t.iter().map(|n| TopicName(sb(n))).collect()));
            }
            Subscription::Pattern(_, p) => {
                req = req.with_subscribed_topic_regex(Some(sb(p)));
            }
            _ => {
                req = req.with_subscribed_topic_names(Some(Vec::new()));
            }
        }
        if epoch >= 0 {
            req = req.with_topic_partitions(Some(self.owned_ids(owned_now)));
        }
        let resp = conn.send_version(&req, v, cfg.client.request_timeout).await?;
        // A member's heartbeat; not its join (epoch 0) or its leave (negative epochs).
        if epoch > 0 && resp.error_code == 0 {
            let member = resp.member_id.as_deref().filter(|m| !m.is_empty()).unwrap_or(&self.member_id);
            report_heartbeat(&self.shared, member, resp.member_epoch);
        }
        Ok(resp)
    }

    /// One heartbeat and the reconciliation it asks for. True when another heartbeat should be
    /// sent at once (to acknowledge a new assignment).
    async fn heartbeat(&mut self, sub: &Subscription, version: u64) -> Result<bool> {
        let owned_now = owned(&self.shared);
        let resp = self.send(sub, self.epoch, &owned_now).await?;
        match resp.error_code {
            0 => {}
            FENCED_MEMBER_EPOCH | UNKNOWN_MEMBER_ID => {
                tracing::info!(code = resp.error_code, "fenced by the group coordinator: partitions lost, rejoining");
                self.epoch = 0;
                self.set_group_info();
                lose(&self.shared, &owned_now);
                return Ok(true);
            }
            UNRELEASED_INSTANCE_ID | error::COORDINATOR_LOAD_IN_PROGRESS => {
                return Err(Error::broker(resp.error_code, "ConsumerGroupHeartbeat").with_retriable(true));
            }
            code => {
                let e = Error::broker(code, crate::cluster::request::with_broker_message("ConsumerGroupHeartbeat", &resp.error_message));
                if !e.retriable() && !matches!(code, error::NOT_COORDINATOR | error::COORDINATOR_NOT_AVAILABLE) {
                    self.shared.lock().errors.push_back(e.clone());
                    self.shared.data.notify_waiters();
                }
                return Err(e);
            }
        }
        if let Some(m) = &resp.member_id {
            if !m.is_empty() {
                self.member_id = m.to_string();
            }
        }
        self.epoch = resp.member_epoch;
        if resp.heartbeat_interval_ms > 0 {
            self.interval = Duration::from_millis(resp.heartbeat_interval_ms as u64);
        }
        self.joined_version = version;
        self.set_group_info();
        let Some(assignment) = resp.assignment else { return Ok(false) };
        // Topic ids to names; unknown ids need fresh metadata.
        let mut names: HashMap<[u8; 16], String> =
            self.shared.cluster.metadata().topics.values().map(|t| (t.topic_id, t.name.clone())).collect();
        if assignment.topic_partitions.iter().any(|t| !names.contains_key(t.topic_id.as_bytes())) {
            let _ = self.shared.cluster.refresh_metadata(None, false).await;
            names = self.shared.cluster.metadata().topics.values().map(|t| (t.topic_id, t.name.clone())).collect();
        }
        let mut target: Vec<TopicPartition> = Vec::new();
        for t in &assignment.topic_partitions {
            match names.get(t.topic_id.as_bytes()) {
                Some(n) => target.extend(t.partitions.iter().map(|&p| TopicPartition::new(n.clone(), p))),
                None => tracing::warn!(topic_id = %t.topic_id, "assigned a topic not in the metadata yet"),
            }
        }
        self.shared.cluster.add_interest(target.iter().map(|tp| tp.topic.as_str()));
        let revoked: Vec<TopicPartition> = owned_now.iter().filter(|tp| !target.contains(tp)).cloned().collect();
        let added: Vec<TopicPartition> = target.iter().filter(|tp| !owned_now.contains(tp)).cloned().collect();
        if !revoked.is_empty() {
            let id = start_revoke(&self.shared, &revoked);
            let deadline = Instant::now() + self.shared.rebalance_timeout();
            while !wait_ack(&self.shared, id, deadline, self.interval).await {
                // Keep the membership alive meanwhile (still owning the revoked partitions).
                let owned_still = owned(&self.shared);
                if let Ok(r) = self.send(sub, self.epoch, &owned_still).await {
                    if r.error_code == 0 {
                        self.epoch = r.member_epoch;
                    }
                }
            }
            finish_revoke(&self.shared, &revoked).await;
        }
        if !added.is_empty() || revoked.is_empty() {
            assign_added(&self.shared, &added, true);
        }
        Ok(true)
    }

    async fn leave(&mut self) {
        if self.epoch <= 0 {
            return;
        }
        let epoch = if self.shared.config.group_instance_id.is_some() { -2 } else { -1 };
        let sub = self.shared.lock().subscription.clone();
        if let Err(e) = self.send(&sub, epoch, &[]).await {
            tracing::debug!(error = %e, "leaving the group failed");
        }
        self.epoch = 0;
        self.set_group_info();
    }
}
