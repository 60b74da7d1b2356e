//! The classic group protocol: FindCoordinator, JoinGroup (with KIP-394's member-id retry),
//! SyncGroup with the client-side assignor, Heartbeat and LeaveGroup.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::GroupId;

use kafka_protocol::protocol::StrBytes;

use crate::consumer::assignor::{self, Subscription as MemberSubscription};
use crate::consumer::{Shared, Subscription};
use super::{
    assign_added, auto_commit, closing, finish_revoke, lose, owned, partition_counts, report_heartbeat, sb, start_revoke, subscribed_topics, until_closing,
    wait_ack, Coordinator, FENCED_INSTANCE_ID, ILLEGAL_GENERATION, MEMBER_ID_REQUIRED, MIN_AUTO_COMMIT_INTERVAL, REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
};
use crate::config::AssignorKind;
use crate::error::{self, Error, Result};
use crate::record::TopicPartition;

pub(super) struct Classic {
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
    /// When the request of the last successful heartbeat (or SyncGroup) was sent: the coordinator's session
    /// timer for this member started no earlier. Without a success for session.timeout.ms from there, the
    /// coordinator has expired the member and may have given its partitions to another: they are lost here
    /// (as librdkafka does), before any other member can be assigned them.
    session_from: Instant,
}

impl Classic {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
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
            session_from: Instant::now(),
        }
    }

    fn group(&self) -> &str {
        &self.coord.group
    }

    fn cooperative(&self) -> bool {
        self.protocol.is_some_and(assignor::is_cooperative)
    }

    pub(super) async fn run(mut self) {
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
                        // The leader made the assignment from these counts, so it alone watches them
                        // (as the Java client's assignment snapshot): a follower's metadata may lag.
                        let leader = !self.member_id.is_empty() && self.leader_id == self.member_id;
                        if leader && self.generation >= 0 && partition_counts(&self.shared, &topics) != self.joined_counts {
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
                                e.log_handled(&format!("joining the group {} failed", self.group()));
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
        let expiry = self.session_from + self.shared.config.session_timeout;
        let Ok(result) = tokio::time::timeout_at(expiry.into(), self.send_heartbeat()).await else {
            self.session_expired();
            return;
        };
        if result.is_err() && Instant::now() >= expiry {
            self.session_expired();
            return;
        }
        match result {
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
                self.lose_membership(&owned(&self.shared));
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

    /// No successful heartbeat for session.timeout.ms: the coordinator has expired this member.
    fn session_expired(&mut self) {
        let owned = owned(&self.shared);
        tracing::warn!(
            group = self.group(),
            partitions = owned.len(),
            "no successful heartbeat within session.timeout.ms: the group session timed out, partitions lost, rejoining"
        );
        self.lose_membership(&owned);
    }

    /// Out of the generation (fenced, or its session expired): `owned` is lost, the member rejoins.
    fn lose_membership(&mut self, owned: &[TopicPartition]) {
        self.generation = -1;
        self.set_group_info();
        lose(&self.shared, owned);
        self.need_join = true;
    }

    async fn send_heartbeat(&mut self) -> Result<i16> {
        let sent = Instant::now();
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
        // The coordinator completes a heartbeat that it answers with REBALANCE_IN_PROGRESS too.
        if resp.error_code == 0 || resp.error_code == REBALANCE_IN_PROGRESS {
            self.session_from = sent;
        }
        if resp.error_code == 0 {
            report_heartbeat(&self.shared, &self.member_id, self.generation);
        }
        Ok(resp.error_code)
    }

    fn set_group_info(&self) {
        let mut st = self.shared.lock();
        st.group.set_generation(self.generation);
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
        let sync_sent = Instant::now();
        let sync = conn.send_version(&req, v, rebalance_timeout + cfg.client.request_timeout).await?;
        match sync.error_code {
            0 => self.session_from = sync_sent,
            REBALANCE_IN_PROGRESS => {
                self.need_join = true;
                return Ok(());
            }
            code @ (UNKNOWN_MEMBER_ID | ILLEGAL_GENERATION) => {
                if code == UNKNOWN_MEMBER_ID {
                    self.member_id.clear();
                }
                // The generation published to the application (group metadata for transactions)
                // goes back to -1 with it, as when a heartbeat is fenced.
                self.lose_membership(&owned(&self.shared));
                return Ok(());
            }
            code => return Err(Error::broker(code, format!("SyncGroup of group '{}'", self.group()))),
        }
        let new = assignor::decode_assignment(sync.assignment)?;
        self.need_join = false;
        self.joined_version = version;
        self.joined_topics = topics;
        // The counts the assignment was made with: the metadata now, after the leader's refresh for assigning (a
        // snapshot taken before the join lacked a topic the metadata did not know yet, and the first periodic
        // check rejoined for nothing, handing out the records read since the last commit again).
        self.joined_counts = partition_counts(&self.shared, &self.joined_topics);
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
                e.log_handled("metadata refresh before assigning failed");
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
