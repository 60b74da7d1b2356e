//! The cluster as a client sees it: the metadata cache and one connection per broker.
//!
//! [`Cluster`] bootstraps from `bootstrap.servers`, keeps the latest metadata (refreshed on
//! demand, on leader errors by the callers, and when older than `metadata.max.age.ms`), and
//! hands out ready [`Connection`]s by node id, reconnecting with exponential backoff.

mod metadata;
pub(crate) mod request;

use crate::instrumentation::{ConnectionState, Event, EventKind};
use crate::sync::{MutexExt, RwLockExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::{Request, StrBytes};
use rand::Rng;

pub use metadata::{BrokerMeta, Metadata, PartitionMeta, TopicMeta};

use crate::config::ClientConfig;
use crate::error::{self, Error, ErrorKind, Result};
use crate::net::{Connection, Security};

/// Which coordinator FindCoordinator looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoordinatorType {
    Group = 0,
    Transaction = 1,
}

struct NodeSlot {
    node_id: i32,
    addr: Mutex<String>,
    conn: tokio::sync::Mutex<Option<Arc<Connection>>>,
    failures: AtomicU32,
    next_attempt: Mutex<Option<Instant>>,
}

impl NodeSlot {
    fn new(node_id: i32, addr: String) -> Arc<Self> {
        Arc::new(NodeSlot {
            node_id,
            addr: Mutex::new(addr),
            conn: tokio::sync::Mutex::new(None),
            failures: AtomicU32::new(0),
            next_attempt: Mutex::new(None),
        })
    }
}

pub struct Cluster {
    config: ClientConfig,
    security: Security,
    metadata: RwLock<Arc<Metadata>>,
    nodes: Mutex<HashMap<i32, Arc<NodeSlot>>>,
    /// Second connections to brokers acting as coordinators: commits and offset fetches must
    /// not queue behind a long-poll Fetch (a broker answers one connection's requests in order).
    coordinator_nodes: Mutex<HashMap<i32, Arc<NodeSlot>>>,
    bootstrap: Vec<Arc<NodeSlot>>,
    /// Topics this client uses: refreshed together so one refresh serves all.
    interest: Mutex<std::collections::BTreeSet<String>>,
    refresh: tokio::sync::Mutex<()>,
    coordinators: Mutex<HashMap<(CoordinatorType, String), i32>>,
    round_robin: AtomicUsize,
    stats: Arc<crate::stats::Stats>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cluster({:?})", self.config.bootstrap_servers)
    }
}

impl Cluster {
    /// Prepares the client; no connection is made until the first request.
    pub fn new(config: ClientConfig) -> Result<Arc<Cluster>> {
        let security = Security::new(&config)?;
        let bootstrap = config
            .bootstrap_servers
            .iter()
            .enumerate()
            .map(|(i, addr)| NodeSlot::new(-1 - i as i32, addr.clone()))
            .collect();
        Ok(Arc::new(Cluster {
            stats: Arc::new(crate::stats::Stats::new(&config.client_id, config.statistics_interval)),
            config,
            security,
            metadata: RwLock::new(Arc::new(Metadata::default())),
            nodes: Mutex::new(HashMap::new()),
            coordinator_nodes: Mutex::new(HashMap::new()),
            bootstrap,
            interest: Mutex::new(Default::default()),
            refresh: tokio::sync::Mutex::new(()),
            coordinators: Mutex::new(HashMap::new()),
            round_robin: AtomicUsize::new(0),
        }))
    }

    /// The client's statistics (shared by every client of this connection pool).
    pub fn stats(&self) -> &Arc<crate::stats::Stats> {
        &self.stats
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The latest metadata (possibly empty before the first refresh).
    pub fn metadata(&self) -> Arc<Metadata> {
        self.metadata.read_locked().clone()
    }

    fn backoff(&self, failures: u32) -> Duration {
        let base = self.config.reconnect_backoff.as_millis() as f64;
        let max = self.config.reconnect_backoff_max.as_millis() as f64;
        let exp = (base * 2f64.powi(failures.saturating_sub(1).min(30) as i32)).min(max);
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        Duration::from_millis((exp * jitter) as u64)
    }

    async fn connect_slot(&self, slot: &NodeSlot) -> Result<Arc<Connection>> {
        let mut guard = slot.conn.lock().await;
        if let Some(conn) = guard.as_ref() {
            if !conn.is_broken() {
                return Ok(conn.clone());
            }
            *guard = None;
        }
        let wait = slot.next_attempt.locked().and_then(|t| t.checked_duration_since(Instant::now()));
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
        let addr = slot.addr.locked().clone();
        match Connection::connect_counted(&addr, slot.node_id, &self.config, &self.security, self.stats.broker(&addr, slot.node_id)).await {
            Ok(conn) => {
                slot.failures.store(0, Ordering::Relaxed);
                *slot.next_attempt.locked() = None;
                tracing::debug!(node = slot.node_id, addr = %addr, "connected");
                self.report_connection(&addr, ConnectionState::Connected);
                *guard = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                let failures = slot.failures.fetch_add(1, Ordering::Relaxed) + 1;
                *slot.next_attempt.locked() = Some(Instant::now() + self.backoff(failures));
                tracing::warn!(node = slot.node_id, addr = %addr, error = %e, "connection failed");
                self.report_connection(&addr, ConnectionState::Failed(e.clone()));
                Err(e)
            }
        }
    }

    /// A ready connection to broker `node_id` (as named in the metadata).
    pub async fn connection(&self, node_id: i32) -> Result<Arc<Connection>> {
        let slot = self.slot(node_id)?;
        self.connect_slot(&slot).await
    }

    /// A ready connection to broker `node_id` for coordinator requests, apart from the one
    /// [`Cluster::connection`] gives (which fetches may hold with long polls), as the Java
    /// client does.
    pub async fn coordinator_connection(&self, node_id: i32) -> Result<Arc<Connection>> {
        let addr = self.slot(node_id)?.addr.locked().clone();
        let slot = {
            let mut nodes = self.coordinator_nodes.locked();
            let slot = nodes.entry(node_id).or_insert_with(|| NodeSlot::new(node_id, addr.clone()));
            if *slot.addr.locked() != addr {
                *slot.addr.locked() = addr;
            }
            slot.clone()
        };
        self.connect_slot(&slot).await
    }

    fn slot(&self, node_id: i32) -> Result<Arc<NodeSlot>> {
        if node_id < 0 {
            let i = (-1 - node_id) as usize;
            return self.bootstrap.get(i).cloned().ok_or_else(|| Error::invalid(format!("no bootstrap server {node_id}")));
        }
        let meta = self.metadata();
        let broker = meta.brokers.get(&node_id).ok_or_else(|| {
            Error::new(ErrorKind::Broker, format!("broker {node_id} is not in the cluster metadata")).with_retriable(true)
        })?;
        let addr = format!("{}:{}", broker.host, broker.port);
        let mut nodes = self.nodes.locked();
        let slot = nodes.entry(node_id).or_insert_with(|| NodeSlot::new(node_id, addr.clone()));
        if *slot.addr.locked() != addr {
            *slot.addr.locked() = addr;
        }
        Ok(slot.clone())
    }

    /// A connection to any broker: known brokers in turn, then the bootstrap servers.
    /// Fails with the last error when none answers.
    pub async fn any_connection(&self) -> Result<Arc<Connection>> {
        let meta = self.metadata();
        let mut candidates: Vec<i32> = meta.brokers.keys().copied().collect();
        candidates.sort_unstable();
        let start = self.round_robin.fetch_add(1, Ordering::Relaxed);
        if !candidates.is_empty() {
            let n = candidates.len();
            candidates.rotate_left(start % n);
        }
        candidates.extend((0..self.bootstrap.len()).map(|i| -1 - i as i32));
        let mut last = None;
        for node in candidates {
            match self.connection(node).await {
                Ok(c) => return Ok(c),
                // Wrong credentials or certificates will not get better on another broker.
                Err(e) if matches!(e.kind(), ErrorKind::Authentication | ErrorKind::Tls | ErrorKind::Config) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        let err = last
            .unwrap_or_else(|| Error::connection("no broker to connect to"))
            .context(format!("no broker of {} could be reached", self.config.bootstrap_servers.join(",")));
        self.report_connection(&self.config.bootstrap_servers.join(","), ConnectionState::AllBrokersDown(err.clone()));
        Err(err)
    }

    fn report_connection(&self, broker: &str, state: ConnectionState) {
        crate::instrumentation::report(self.config.instrumentation.as_ref(), EventKind::Connection, || Event::Connection {
            broker: Arc::from(broker),
            client_id: Arc::from(self.config.client_id.as_str()),
            state,
        });
    }

    /// Sends `req` to any broker.
    pub async fn send_any<R: Request>(&self, req: &R) -> Result<R::Response> {
        self.any_connection().await?.send(req).await
    }

    /// Sends `req` to broker `node_id`.
    pub async fn send_to<R: Request>(&self, node_id: i32, req: &R) -> Result<R::Response> {
        self.connection(node_id).await?.send(req).await
    }

    /// Adds topics to those refreshed by every metadata refresh.
    pub fn add_interest<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        let mut interest = self.interest.locked();
        for t in topics {
            if !interest.contains(t) {
                interest.insert(t.to_string());
            }
        }
    }

    /// Refreshes metadata for the topics of interest plus `topics`; `None` asks for all topics.
    pub async fn refresh_metadata(&self, topics: Option<&[String]>, allow_auto_create: bool) -> Result<Arc<Metadata>> {
        let before = self.metadata().fetched_at;
        let _guard = self.refresh.lock().await;
        // Someone else refreshed while we waited: use theirs if it covers what we need.
        let current = self.metadata();
        if current.fetched_at != before {
            if let Some(topics) = topics {
                if topics.iter().all(|t| current.topics.contains_key(t)) {
                    return Ok(current);
                }
            }
        }
        let request_topics = topics.map(|extra| {
            let mut set = self.interest.locked().clone();
            set.extend(extra.iter().cloned());
            set.into_iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t)))))
                .collect::<Vec<_>>()
        });
        let req = MetadataRequest::default()
            .with_topics(request_topics)
            .with_allow_auto_topic_creation(allow_auto_create && self.config.allow_auto_create_topics);
        // Callers retry with their own deadlines; any_connection already tried every broker.
        let resp = self.send_any(&req).await?;
        let fresh = Metadata::from_response(resp, topics.is_none(), &current);
        let fresh = Arc::new(fresh);
        *self.metadata.write_locked() = fresh.clone();
        Ok(fresh)
    }

    /// Metadata of one topic, fetched if not cached or stale. An unknown topic (auto-creation
    /// off or refused) is an UNKNOWN_TOPIC_OR_PARTITION error naming it.
    pub async fn topic(&self, topic: &str) -> Result<Arc<TopicMeta>> {
        if let Some(t) = self.cached_topic(topic) {
            return Ok(t);
        }
        self.add_interest([topic]);
        let meta = self.refresh_metadata(Some(&[topic.to_string()]), true).await?;
        match meta.topics.get(topic) {
            Some(t) if t.error_code == 0 && !t.partitions.is_empty() => Ok(t.clone()),
            Some(t) if t.error_code != 0 => Err(Error::broker(t.error_code, format!("topic '{topic}'"))),
            _ => Err(Error::broker(error::LEADER_NOT_AVAILABLE, format!("topic '{topic}' has no partitions yet"))),
        }
    }

    /// The topic's metadata if cached, without error and younger than `metadata.max.age.ms`.
    pub fn cached_topic(&self, topic: &str) -> Option<Arc<TopicMeta>> {
        let meta = self.metadata.read_locked();
        let t = meta.topics.get(topic)?;
        (t.error_code == 0 && !t.partitions.is_empty() && meta.age() < self.config.metadata_max_age).then(|| t.clone())
    }

    /// The broker coordinating `key` (a group id or a transactional id), cached until
    /// [`Cluster::forget_coordinator`].
    pub async fn coordinator(&self, kind: CoordinatorType, key: &str) -> Result<i32> {
        if let Some(node) = self.coordinators.locked().get(&(kind, key.to_string())) {
            return Ok(*node);
        }
        let conn = self.any_connection().await?;
        let version = conn.versions().version_for::<FindCoordinatorRequest>()?;
        let mut req = FindCoordinatorRequest::default().with_key_type(kind as i8);
        if version >= 4 {
            req = req.with_coordinator_keys(vec![StrBytes::from_string(key.to_string())]);
        } else {
            req = req.with_key(StrBytes::from_string(key.to_string()));
        }
        let resp = conn.send_version(&req, version, self.config.request_timeout).await?;
        let (code, node, host, port, message) = if version >= 4 {
            let c = resp.coordinators.first().ok_or_else(|| Error::protocol("FindCoordinator returned no coordinator"))?;
            (c.error_code, c.node_id.0, c.host.to_string(), c.port, c.error_message.as_ref().map(|m| m.to_string()))
        } else {
            (resp.error_code, resp.node_id.0, resp.host.to_string(), resp.port, resp.error_message.as_ref().map(|m| m.to_string()))
        };
        Error::check(code, format!("finding the {kind:?} coordinator for '{key}'{}", message.map(|m| format!(": {m}")).unwrap_or_default()))?;
        // The coordinator may be a broker this client has not seen yet.
        {
            let mut meta = self.metadata.write_locked();
            if !meta.brokers.contains_key(&node) {
                let mut m = (**meta).clone();
                m.brokers.insert(node, BrokerMeta { node_id: node, host, port, rack: None });
                *meta = Arc::new(m);
            }
        }
        self.coordinators.locked().insert((kind, key.to_string()), node);
        Ok(node)
    }

    pub fn forget_coordinator(&self, kind: CoordinatorType, key: &str) {
        self.coordinators.locked().remove(&(kind, key.to_string()));
    }

    /// Closes every connection.
    pub async fn close(&self) {
        let slots: Vec<Arc<NodeSlot>> = self
            .nodes
            .lock()
            .unwrap()
            .values()
            .chain(self.coordinator_nodes.locked().values())
            .cloned()
            .chain(self.bootstrap.iter().cloned())
            .collect();
        for slot in slots {
            let conn = slot.conn.lock().await.take();
            if let Some(conn) = conn {
                conn.shutdown().await;
            }
        }
    }
}
