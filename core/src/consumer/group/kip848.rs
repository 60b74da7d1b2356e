//! The KIP-848 consumer group protocol: one ConsumerGroupHeartbeat loop, the assignor on the
//! broker.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::consumer_group_heartbeat_request::{ConsumerGroupHeartbeatRequest, TopicPartitions};
use kafka_protocol::messages::{GroupId, TopicName};

use kafka_protocol::protocol::StrBytes;

use crate::consumer::{Shared, Subscription};
use super::{
    assign_added, auto_commit, closing, finish_revoke, lose, owned, report_heartbeat, sb, start_revoke, wait_ack, Coordinator, FENCED_MEMBER_EPOCH,
    MIN_AUTO_COMMIT_INTERVAL, UNKNOWN_MEMBER_ID, UNRELEASED_INSTANCE_ID,
};
use crate::error::{self, Error, Result};
use crate::record::TopicPartition;

pub(super) struct Kip848 {
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
    pub(super) fn new(shared: Arc<Shared>) -> Self {
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
        st.group.set_generation(self.epoch);
        st.group.member_id = self.member_id.clone();
        st.group.protocol = Some("consumer".into());
    }

    pub(super) async fn run(mut self) {
        let cfg = self.shared.config.clone();
        let mut next_heartbeat = Instant::now();
        let mut next_commit = Instant::now() + cfg.auto_commit_interval;
        let mut left_at: Option<Instant> = None;
        let mut tried_version = u64::MAX;
        let mut unsupported_reported = false;
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
                // A new subscription heartbeats at once, but once per version: a failed heartbeat still waits its
                // backoff (an error that needs no I/O, such as an API the broker lacks, spun here without yielding).
                if version != self.joined_version && version != tried_version {
                    next_heartbeat = Instant::now();
                }
                if left_at.is_none() && Instant::now() >= next_heartbeat {
                    tried_version = version;
                    match self.heartbeat(&sub, version).await {
                        Ok(again) => {
                            next_heartbeat = if again { Instant::now() } else { Instant::now() + self.interval };
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "consumer group heartbeat failed");
                            self.coord.on_error(&e);
                            if e.code() == error::UNSUPPORTED_VERSION && !unsupported_reported {
                                // No ConsumerGroupHeartbeat on this broker (before 3.7; 3.7-3.9 without
                                // group.coordinator.rebalance.protocols=consumer): poll fails, as the Java client
                                // throws UnsupportedVersionException.
                                unsupported_reported = true;
                                let e = Error::broker(
                                    error::UNSUPPORTED_VERSION,
                                    "the cluster does not support the CONSUMER group protocol (KIP-848): set group.protocol=classic",
                                );
                                self.shared.lock().errors.push_back(e);
                                self.shared.data.notify_waiters();
                            }
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
                None => tracing::debug!(topic_id = %t.topic_id, "assigned a topic not in the metadata yet"),
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
