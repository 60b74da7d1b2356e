//! The processing graph: nodes, sub-topologies (the parts joined by repartition topics), fused
//! chains of user nodes, stores and internal topics.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};

use super::windows::{JoinWindows, SessionWindows, TimeWindows};

pub type NodeId = u32;

/// What an aggregation node computes into its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateKind {
    /// `count()`: a Long (8 bytes, big-endian, as Kafka's `LongSerializer`) per key.
    Count,
    /// `reduce(reducer)` / `aggregate(initializer, aggregator)`: the node's combining function
    /// gets each record with the current aggregate (`None` the first time) and returns the new one.
    Combine,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Records from external topics.
    Source { topics: Vec<String> },
    /// A stateless user function (filter, map, map_values, flat_map, select_key, peek, foreach,
    /// split, ...). Consecutive ones are fused into one chain call. `ports` > 1: a split.
    User { ports: u32 },
    /// Records go on unchanged (a split's branch, a merge).
    Pass,
    /// `to(topic)`.
    Sink { topic: String },
    /// `to(TopicNameExtractor)`: the node's combining function gives each record's topic (its
    /// value is the topic name in UTF-8; called with no operand).
    SinkPerRecord,
    /// The records are written to the internal topic `<application.id>-<name>-repartition`
    /// (partitioned by their new key) and the children read them from there: the edge between
    /// two sub-topologies.
    Repartition { name: String },
    /// `count`/`reduce`/`aggregate` into `store`, per window when `windows` is set. The node is a
    /// table: its children get each update (key, new value); windowed keys in Kafka Streams'
    /// time-windowed format (key bytes + window start as 8 bytes big-endian).
    Aggregate { store: String, kind: AggregateKind, windows: Option<TimeWindows> },
    /// `count`/`reduce`/`aggregate` per session window into the session store `store`, as Kafka
    /// Streams' session aggregation: a record merges with its key's sessions within the gap; the
    /// merged sessions are removed (their children get a `None` value for each) and the new one
    /// stored. Keys in Kafka Streams' session-windowed format ([`super::store::SessionKey`]).
    /// `Combine`: the node's combining function aggregates; merging two sessions' aggregates is
    /// `UserFunctions::merge` (`count` merges by adding, in the core).
    SessionAggregate { store: String, kind: AggregateKind, windows: SessionWindows },
    /// KTable `to_stream()`.
    ToStream,
    /// Stream-table join against the store of an aggregation node; the node's combining function
    /// is the joiner (called with the table's value, `None` for a left join without one).
    JoinTable { store: String, left: bool },
    /// One side of a stream-stream windowed join: its records go into this side's window store
    /// and join the other side's records of the same key within the join windows. The two side
    /// nodes share the definition and forward to one merge node.
    StreamJoin { join: Box<StreamJoinDef>, this_side: bool },
    /// `suppress(Suppressed.untilWindowCloses(...))` of a windowed table: the latest update of
    /// every window waits in the buffer store `store` until stream time passes the window's end
    /// plus grace, then goes on once (its final result).
    /// Over session windows (`session`), a window's end is the session's end, read from its key,
    /// and `grace_ms` is the sessions' gap plus grace (as Kafka Streams).
    Suppress { store: String, window_size_ms: i64, grace_ms: i64, buffer: BufferConfig, session: bool },
}

/// Inner, left or outer stream-stream join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Outer,
}

/// What both sides of a stream-stream join share: the windows, the stores (named as Kafka
/// Streams names them from a base name) and the ids of the two side nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamJoinDef {
    pub kind: JoinKind,
    pub windows: JoinWindows,
    /// The window stores of the left ("this") and right ("other") records.
    pub this_store: String,
    pub other_store: String,
    /// Left and outer joins: the records still without a partner, emitted with `None` once
    /// their window closes.
    pub outer_store: Option<String>,
    pub this_node: NodeId,
    pub other_node: NodeId,
}

impl StreamJoinDef {
    /// Whether records of a side without a partner are emitted (joined with `None`).
    pub fn emits_unjoined(&self, this_side: bool) -> bool {
        match self.kind {
            JoinKind::Inner => false,
            JoinKind::Left => this_side,
            JoinKind::Outer => true,
        }
    }
}

/// A suppression buffer's bound (Kafka Streams' strict `BufferConfig`): at the bound the
/// application stops with an error (`shutDownWhenFull`). `None`: unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferConfig {
    pub max_records: Option<u64>,
    pub max_bytes: Option<u64>,
}

/// The three nodes of a stream-stream join: the two sides and the merge of their results (the
/// joined stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamJoinNodes {
    pub this: NodeId,
    pub other: NodeId,
    pub joined: NodeId,
}

/// Where a source's records get their event time (Kafka Streams' `TimestampExtractor`s). A record
/// whose time comes out negative is dropped and counted, except where the extractor fails on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimestampExtractor {
    /// The record's timestamp; a negative one stops the application (Kafka Streams' default).
    #[default]
    FailOnInvalidTimestamp,
    /// The record's timestamp; a record with a negative one is skipped, with a warning.
    LogAndSkipOnInvalidTimestamp,
    /// The record's timestamp; a negative one is replaced by the partition's time (the largest
    /// time seen on the partition), and stops the application while that is not known yet.
    UsePartitionTimeOnInvalidTimestamp,
    /// The wall-clock time when the record is read.
    WallclockTimestampExtractor,
    /// The binding's function: [`super::UserFunctions::extract_timestamps`].
    User,
}

impl TimestampExtractor {
    /// A built-in extractor by its Kafka Streams class name (with or without the package, as
    /// `default.timestamp.extractor` takes it).
    pub fn from_name(name: &str) -> Option<Self> {
        let short = name.strip_prefix("org.apache.kafka.streams.processor.").unwrap_or(name);
        Some(match short {
            "FailOnInvalidTimestamp" => Self::FailOnInvalidTimestamp,
            "LogAndSkipOnInvalidTimestamp" => Self::LogAndSkipOnInvalidTimestamp,
            "UsePartitionTimeOnInvalidTimestamp" => Self::UsePartitionTimeOnInvalidTimestamp,
            "WallclockTimestampExtractor" => Self::WallclockTimestampExtractor,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub parents: Vec<NodeId>,
    /// Children per output port.
    pub children: Vec<Vec<NodeId>>,
}

/// A state store of the topology.
#[derive(Clone, Debug)]
pub struct StoreDef {
    pub name: String,
    pub windows: Option<TimeWindows>,
    /// A session store (of a session-windowed aggregation).
    pub session: Option<SessionWindows>,
    pub subtopology: usize,
    /// A store of the runtime (join windows, suppression buffer), not for interactive queries.
    pub internal: bool,
}

/// Builds a [`Topology`]. Every adder names its parent and returns the new node.
///
/// It also keeps Kafka Streams' name counter, so the default names of stores and repartition
/// topics are Kafka Streams' own (`KSTREAM-AGGREGATE-STATE-STORE-0000000004`): each DSL
/// operation takes as many indexes as Kafka Streams' takes for it (a source, a stateless
/// operation, a sink, a branch, a merge, an aggregation's processor: one; a repartition: three,
/// its filter, sink and source; a stream–stream join: five; an unnamed suppression: two), and a
/// generated store name one more. Every language's DSL makes its operations in Kafka Streams'
/// order and asks for its default names here, so one program gives the same internal topics in
/// every language and in Java (tests/streams-java/NamesTopology.java).
#[derive(Default, Debug)]
pub struct TopologyBuilder {
    nodes: Vec<Node>,
    /// Kafka Streams' next name index.
    index: u32,
    /// User nodes that may change record keys (map, flat_map, select_key, group_by's key
    /// selection): what follows them is in the wrong partition for its key until repartitioned.
    key_changing: std::collections::HashSet<NodeId>,
    /// The sources given their own timestamp extractor (the others use
    /// `default.timestamp.extractor`).
    extractors: BTreeMap<NodeId, TimestampExtractor>,
}

impl TopologyBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes `n` indexes; returns the first.
    fn take_index(&mut self, n: u32) -> u32 {
        let first = self.index;
        self.index += n;
        first
    }

    fn generated_name(&mut self, prefix: &str) -> String {
        format!("{prefix}{:010}", self.take_index(1))
    }

    /// The store of an aggregation: `materialized` when given, else
    /// `KSTREAM-AGGREGATE-STATE-STORE-<index>` (`KSTREAM-REDUCE-STATE-STORE-` for `reduce`).
    /// Asked when the aggregation is made, before its nodes (a repartition topic is named after
    /// the store).
    pub fn aggregate_store_name(&mut self, materialized: Option<&str>, reduce: bool) -> String {
        match materialized {
            Some(name) => name.to_string(),
            None => self.generated_name(if reduce { "KSTREAM-REDUCE-STATE-STORE-" } else { "KSTREAM-AGGREGATE-STATE-STORE-" }),
        }
    }

    /// The stores (internal ones too) and repartition topics (without the application id
    /// prefix and `-repartition`) made so far, sorted, as (`"store"` or `"repartition"`, name):
    /// what Kafka Streams' `Topology.describe()` lists of them.
    pub fn internal_names(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for n in &self.nodes {
            match &n.kind {
                NodeKind::Aggregate { store, .. } | NodeKind::SessionAggregate { store, .. } | NodeKind::Suppress { store, .. } => {
                    out.push(("store", store.clone()))
                }
                NodeKind::StreamJoin { join, this_side: true } => {
                    out.push(("store", join.this_store.clone()));
                    out.push(("store", join.other_store.clone()));
                    out.extend(join.outer_store.clone().map(|s| ("store", s)));
                }
                NodeKind::Repartition { name } => out.push(("repartition", name.clone())),
                _ => {}
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Adds a node taking `indexes` of Kafka Streams' name counter.
    fn add_counted(&mut self, kind: NodeKind, parents: &[(NodeId, u32)], indexes: u32) -> Result<NodeId> {
        let id = self.add(kind, parents)?;
        self.take_index(indexes);
        Ok(id)
    }

    fn add(&mut self, kind: NodeKind, parents: &[(NodeId, u32)]) -> Result<NodeId> {
        let ports = match &kind {
            NodeKind::User { ports } => *ports as usize,
            _ => 1,
        };
        let id = self.nodes.len() as NodeId;
        for &(p, port) in parents {
            let parent = self.nodes.get(p as usize).ok_or_else(|| Error::invalid(format!("no node {p} in this topology")))?;
            if matches!(parent.kind, NodeKind::Sink { .. } | NodeKind::SinkPerRecord) {
                return Err(Error::invalid("a sink (to) has no downstream"));
            }
            if port as usize >= parent.children.len() {
                return Err(Error::invalid(format!("node {p} has no output port {port}")));
            }
        }
        for &(p, port) in parents {
            self.nodes[p as usize].children[port as usize].push(id);
        }
        self.nodes.push(Node { kind, parents: parents.iter().map(|p| p.0).collect(), children: vec![Vec::new(); ports] });
        Ok(id)
    }

    pub fn source(&mut self, topics: &[&str]) -> Result<NodeId> {
        if topics.is_empty() || topics.iter().any(|t| t.is_empty()) {
            return Err(Error::invalid("a source needs at least one topic, and topic names are not empty"));
        }
        self.add_counted(NodeKind::Source { topics: topics.iter().map(|t| t.to_string()).collect() }, &[], 1)
    }

    /// A stateless user function with one output port.
    pub fn user(&mut self, parent: NodeId) -> Result<NodeId> {
        self.add_counted(NodeKind::User { ports: 1 }, &[(parent, 0)], 1)
    }

    /// A user function Kafka Streams has no node for (re-encoding with other serdes before a
    /// `to` or an aggregation): takes no index.
    pub fn serde(&mut self, parent: NodeId) -> Result<NodeId> {
        self.add(NodeKind::User { ports: 1 }, &[(parent, 0)])
    }

    /// A user function choosing the output port of every record (`split`); [`branch`] gives the
    /// stream of one port.
    ///
    /// [`branch`]: TopologyBuilder::branch
    pub fn split(&mut self, parent: NodeId, ports: u32) -> Result<NodeId> {
        if ports == 0 {
            return Err(Error::invalid("a split needs at least one branch"));
        }
        self.add_counted(NodeKind::User { ports }, &[(parent, 0)], 1)
    }

    pub fn branch(&mut self, split: NodeId, port: u32) -> Result<NodeId> {
        self.add_counted(NodeKind::Pass, &[(split, port)], 1)
    }

    pub fn merge(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.add_counted(NodeKind::Pass, &[(a, 0), (b, 0)], 1)
    }

    pub fn sink(&mut self, parent: NodeId, topic: &str) -> Result<NodeId> {
        if topic.is_empty() {
            return Err(Error::invalid("to() needs a topic name"));
        }
        self.add_counted(NodeKind::Sink { topic: topic.to_string() }, &[(parent, 0)], 1)
    }

    /// `to()` with a topic chosen per record (Kafka Streams' `TopicNameExtractor`): the returned
    /// node is a combining node whose function returns the record's topic name. The topics must
    /// exist; a record sent to one that does not fails as a failed delivery does.
    pub fn sink_per_record(&mut self, parent: NodeId) -> Result<NodeId> {
        self.add_counted(NodeKind::SinkPerRecord, &[(parent, 0)], 1)
    }

    /// `KStream.repartition()`: the records go through `<application.id>-<name>-repartition`,
    /// `name` default Kafka Streams' `KSTREAM-REPARTITION-<index>` (which takes one index more).
    pub fn repartition_stream(&mut self, parent: NodeId, name: Option<&str>) -> Result<NodeId> {
        match name {
            Some(n) => self.repartition(parent, n),
            None => {
                let generated = format!("KSTREAM-REPARTITION-{:010}", self.index);
                self.check_node(parent)?;
                self.take_index(1);
                self.repartition(parent, &generated)
            }
        }
    }

    fn check_node(&self, node: NodeId) -> Result<()> {
        match self.nodes.get(node as usize) {
            Some(n) if !matches!(n.kind, NodeKind::Sink { .. } | NodeKind::SinkPerRecord) => Ok(()),
            Some(_) => Err(Error::invalid("a sink (to) has no downstream")),
            None => Err(Error::invalid(format!("no node {node} in this topology"))),
        }
    }

    pub fn repartition(&mut self, parent: NodeId, name: &str) -> Result<NodeId> {
        check_name(name, "repartition")?;
        self.add_counted(NodeKind::Repartition { name: name.to_string() }, &[(parent, 0)], 3)
    }

    pub fn aggregate(&mut self, parent: NodeId, store: &str, kind: AggregateKind, windows: Option<TimeWindows>) -> Result<NodeId> {
        self.check_new_store(store)?;
        self.add_counted(NodeKind::Aggregate { store: store.to_string(), kind, windows }, &[(parent, 0)], 1)
    }

    /// `windowed_by(SessionWindows...)` then `count`/`reduce`/`aggregate` into the session store
    /// `store` (named as [`aggregate_store_name`] names it). For `Combine`, the bindings' function
    /// set needs the node's merger too (`reduce`: the reducer; `aggregate`: the user's merger).
    ///
    /// [`aggregate_store_name`]: TopologyBuilder::aggregate_store_name
    pub fn session_aggregate(&mut self, parent: NodeId, store: &str, kind: AggregateKind, windows: SessionWindows) -> Result<NodeId> {
        let windows = SessionWindows::of_inactivity_gap_and_grace(windows.gap_ms, windows.grace_ms)?;
        self.check_new_store(store)?;
        self.add_counted(NodeKind::SessionAggregate { store: store.to_string(), kind, windows }, &[(parent, 0)], 1)
    }

    pub fn to_stream(&mut self, table: NodeId) -> Result<NodeId> {
        if !matches!(self.nodes.get(table as usize).map(|n| &n.kind), Some(NodeKind::Suppress { .. })) {
            self.check_table(table)?;
        }
        self.add_counted(NodeKind::ToStream, &[(table, 0)], 1)
    }

    fn check_new_store(&self, store: &str) -> Result<()> {
        check_name(store, "store")?;
        let taken = self.nodes.iter().any(|n| match &n.kind {
            NodeKind::Aggregate { store: s, .. } | NodeKind::SessionAggregate { store: s, .. } | NodeKind::Suppress { store: s, .. } => s == store,
            NodeKind::StreamJoin { join, .. } => join.this_store == store || join.other_store == store || join.outer_store.as_deref() == Some(store),
            _ => false,
        });
        if taken {
            return Err(Error::invalid(format!("a store named '{store}' already exists in this topology")));
        }
        Ok(())
    }

    /// Stream-stream windowed join of `this` with `other` (Kafka Streams' `join`, `leftJoin`,
    /// `outerJoin` with `JoinWindows`); `name`, when given, is the base of the stores' names
    /// (`<name>-this-join-store`, ... as `StreamJoined.withStoreName`), else they are Kafka
    /// Streams' defaults, after its processors (`KSTREAM-JOINTHIS-<index>-store`, ...). The
    /// sources of both sides must be co-partitioned (checked when the application starts).
    pub fn stream_join(&mut self, this: NodeId, other: NodeId, windows: JoinWindows, kind: JoinKind, name: Option<&str>) -> Result<StreamJoinNodes> {
        for side in [this, other] {
            match self.nodes.get(side as usize).map(|n| &n.kind) {
                None => return Err(Error::invalid(format!("no node {side} in this topology"))),
                Some(NodeKind::Aggregate { .. } | NodeKind::SessionAggregate { .. } | NodeKind::Suppress { .. }) => {
                    return Err(Error::invalid(format!("node {side} is a table: a stream-stream join takes two streams")))
                }
                Some(_) => {}
            }
            self.check_partitioned(side, "a stream-stream join")?;
        }
        let (this_store, other_store, outer_store) = match name {
            // Kafka Streams' store names for a join given a store name.
            Some(name) => (
                format!("{name}{}", if kind == JoinKind::Outer { "-outer-this-join-store" } else { "-this-join-store" }),
                format!("{name}{}", if kind == JoinKind::Inner { "-other-join-store" } else { "-outer-other-join-store" }),
                match kind {
                    JoinKind::Inner => None,
                    JoinKind::Left => Some(format!("{name}-left-shared-join-store")),
                    JoinKind::Outer => Some(format!("{name}-outer-shared-join-store")),
                },
            ),
            // Its processors take five indexes (each side's window, each side's join, the
            // merge); the stores are named after the two join processors.
            None => {
                let (t, o) = (self.index + 2, self.index + 3);
                let this_kind = if kind == JoinKind::Outer { "OUTERTHIS" } else { "JOINTHIS" };
                let other_kind = if kind == JoinKind::Inner { "JOINOTHER" } else { "OUTEROTHER" };
                (
                    format!("KSTREAM-{this_kind}-{t:010}-store"),
                    format!("KSTREAM-{other_kind}-{o:010}-store"),
                    (kind != JoinKind::Inner).then(|| format!("KSTREAM-OUTERSHARED-{t:010}-store")),
                )
            }
        };
        for s in [Some(&this_store), Some(&other_store), outer_store.as_ref()].into_iter().flatten() {
            self.check_new_store(s)?;
        }
        let this_node = self.nodes.len() as NodeId;
        let def = StreamJoinDef { kind, windows, this_store, other_store, outer_store, this_node, other_node: this_node + 1 };
        let a = self.add(NodeKind::StreamJoin { join: Box::new(def.clone()), this_side: true }, &[(this, 0)])?;
        let b = self.add(NodeKind::StreamJoin { join: Box::new(def), this_side: false }, &[(other, 0)])?;
        let joined = self.add(NodeKind::Pass, &[(a, 0), (b, 0)])?;
        self.take_index(5);
        Ok(StreamJoinNodes { this: a, other: b, joined })
    }

    /// `suppress(Suppressed.untilWindowCloses(buffer).withName(name))` of the windowed table
    /// `table`; the buffer is the store `<name>-store`, without a name
    /// `KTABLE-SUPPRESS-STATE-STORE-<index>` (after the processor's index). Returns the node and
    /// the store's name.
    pub fn suppress(&mut self, table: NodeId, name: Option<&str>, buffer: BufferConfig) -> Result<(NodeId, String)> {
        // (window size, grace, over sessions): a session's end is in its key; its grace is the
        // gap plus the grace (Kafka Streams' suppression of session windows).
        let (size, grace, session) = match self.nodes.get(table as usize).map(|n| &n.kind) {
            Some(NodeKind::Aggregate { windows: Some(w), .. }) => (w.size_ms, w.grace_ms, false),
            Some(NodeKind::SessionAggregate { windows: w, .. }) => (0, w.retention_ms(), true),
            Some(NodeKind::Aggregate { windows: None, .. }) => {
                return Err(Error::invalid("suppress until the window closes needs a windowed table (windowed_by(...) before the aggregation)"))
            }
            _ => return Err(Error::invalid(format!("node {table} is not a windowed table"))),
        };
        if buffer.max_records == Some(0) || buffer.max_bytes == Some(0) {
            return Err(Error::invalid("a suppression buffer bound must be positive"));
        }
        let store = match name {
            Some(name) => format!("{name}-store"),
            None => format!("KTABLE-SUPPRESS-STATE-STORE-{:010}", self.index + 1),
        };
        self.check_new_store(&store)?;
        let node = self.add(NodeKind::Suppress { store: store.clone(), window_size_ms: size, grace_ms: grace, buffer, session }, &[(table, 0)])?;
        self.take_index(if name.is_some() { 0 } else { 2 });
        Ok((node, store))
    }

    /// Marks the user node `node` as one that may change keys (map, flat_map, select_key, the
    /// key selection of group_by).
    pub fn mark_key_changing(&mut self, node: NodeId) -> Result<()> {
        match self.nodes.get(node as usize).map(|n| &n.kind) {
            Some(NodeKind::User { .. }) => {
                self.key_changing.insert(node);
                Ok(())
            }
            _ => Err(Error::invalid(format!("node {node} is not a user function node"))),
        }
    }

    /// Whether the records out of `node` may be in another partition than their key's, as Kafka
    /// Streams' `repartitionRequired`: a key-changing node upstream, through key-preserving
    /// nodes, not cut by a repartition topic, a source or a table.
    pub fn repartition_required(&self, node: NodeId) -> bool {
        let mut todo = vec![node];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = todo.pop() {
            if !seen.insert(n) {
                continue;
            }
            if self.key_changing.contains(&n) {
                return true;
            }
            let Some(node) = self.nodes.get(n as usize) else { continue };
            match node.kind {
                NodeKind::User { .. } | NodeKind::Pass | NodeKind::JoinTable { .. } => todo.extend(node.parents.iter().copied()),
                _ => {}
            }
        }
        false
    }

    /// The stream an aggregation of `node` reads: `node` itself, or, when a key-changing node
    /// upstream requires it (`group_by`, or `group_by_key` after map/select_key/flat_map), a
    /// repartition of it through `<application.id>-<name>-repartition`, as Kafka Streams.
    pub fn grouped(&mut self, node: NodeId, name: &str) -> Result<NodeId> {
        if self.repartition_required(node) {
            self.repartition(node, name)
        } else {
            Ok(node)
        }
    }

    fn check_partitioned(&self, stream: NodeId, what: &str) -> Result<()> {
        if self.repartition_required(stream) {
            return Err(Error::invalid(format!(
                "{what}: the stream's keys were changed (map, select_key, flat_map) and it is not repartitioned; Kafka Streams repartitions it automatically, polykafka not yet: call repartition() on it first"
            )));
        }
        Ok(())
    }

    /// Stream-table (left) join: `stream`'s records look up `table`'s store by key.
    pub fn join_table(&mut self, stream: NodeId, table: NodeId, left: bool) -> Result<NodeId> {
        let store = self.check_table(table)?;
        self.check_partitioned(stream, "a stream-table join")?;
        if matches!(self.nodes[table as usize].kind, NodeKind::Aggregate { windows: Some(_), .. } | NodeKind::SessionAggregate { .. }) {
            return Err(Error::invalid("a stream-table join needs a non-windowed table"));
        }
        self.add_counted(NodeKind::JoinTable { store, left }, &[(stream, 0)], 1)
    }

    fn check_table(&self, table: NodeId) -> Result<String> {
        match self.nodes.get(table as usize).map(|n| &n.kind) {
            Some(NodeKind::Aggregate { store, .. } | NodeKind::SessionAggregate { store, .. }) => Ok(store.clone()),
            _ => Err(Error::invalid(format!("node {table} is not a table"))),
        }
    }

    /// Gives the source `source` (a stream's or a table's) its timestamp extractor, as Kafka
    /// Streams' `Consumed.withTimestampExtractor`.
    pub fn timestamp_extractor(&mut self, source: NodeId, extractor: TimestampExtractor) -> Result<()> {
        match self.nodes.get(source as usize).map(|n| &n.kind) {
            Some(NodeKind::Source { .. }) => {
                self.extractors.insert(source, extractor);
                Ok(())
            }
            _ => Err(Error::invalid(format!("node {source} is not a source: only what reads a topic takes a timestamp extractor"))),
        }
    }

    pub fn build(self) -> Result<Topology> {
        let mut t = Topology::new(self.nodes)?;
        t.extractors = self.extractors;
        Ok(t)
    }
}

fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(Error::invalid(format!(
            "invalid {what} name '{name}': only letters, digits, '.', '_' and '-' (it becomes part of a topic name)"
        )));
    }
    Ok(())
}

/// A built, checked topology.
#[derive(Clone, Debug)]
pub struct Topology {
    pub(crate) nodes: Vec<Node>,
    /// The sub-topology of every node.
    pub(crate) subtopology_of: Vec<usize>,
    pub(crate) subtopologies: usize,
    /// The fused chain starting at each user node.
    pub(crate) chains: BTreeMap<NodeId, Vec<NodeId>>,
    pub(crate) stores: Vec<StoreDef>,
    /// The sources' own timestamp extractors.
    pub(crate) extractors: BTreeMap<NodeId, TimestampExtractor>,
}

impl Topology {
    fn new(nodes: Vec<Node>) -> Result<Topology> {
        if !nodes.iter().any(|n| matches!(n.kind, NodeKind::Source { .. })) {
            return Err(Error::invalid("the topology has no source (stream)"));
        }
        let mut seen = BTreeSet::new();
        for n in &nodes {
            if let NodeKind::Source { topics } = &n.kind {
                for t in topics {
                    if !seen.insert(t.clone()) {
                        return Err(Error::invalid(format!("topic '{t}' is the source of two streams; read it once and reuse the stream")));
                    }
                }
            }
            if let NodeKind::Repartition { name } = &n.kind {
                if !seen.insert(format!("repartition:{name}")) {
                    return Err(Error::invalid(format!("two repartitions are named '{name}'")));
                }
            }
        }
        // Sub-topologies: connected parts, cutting at repartition topics, joining nodes that
        // share a store.
        let n = nodes.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let union = |p: &mut Vec<usize>, a: usize, b: usize| {
            let (ra, rb) = (find(p, a), find(p, b));
            if ra != rb {
                p[ra.max(rb)] = ra.min(rb);
            }
        };
        let mut store_owner: BTreeMap<String, usize> = BTreeMap::new();
        for (i, node) in nodes.iter().enumerate() {
            if let NodeKind::Aggregate { store, .. } | NodeKind::SessionAggregate { store, .. } = &node.kind {
                store_owner.insert(store.clone(), i);
            }
        }
        for (i, node) in nodes.iter().enumerate() {
            if !matches!(node.kind, NodeKind::Repartition { .. }) {
                for c in node.children.iter().flatten() {
                    union(&mut parent, i, *c as usize);
                }
            }
            if let NodeKind::JoinTable { store, .. } = &node.kind {
                union(&mut parent, i, store_owner[store]);
            }
        }
        let mut ids: BTreeMap<usize, usize> = BTreeMap::new();
        let mut subtopology_of = vec![0; n];
        for i in 0..n {
            let root = find(&mut parent, i);
            let next = ids.len();
            subtopology_of[i] = *ids.entry(root).or_insert(next);
        }
        // The children of a repartition node belong to the sub-topology reading its topic.
        let mut chains = BTreeMap::new();
        for (i, node) in nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::User { .. }) {
                let mut chain = vec![i as NodeId];
                loop {
                    let last = &nodes[*chain.last().unwrap() as usize];
                    if last.children.len() != 1 || last.children[0].len() != 1 {
                        break;
                    }
                    let next = last.children[0][0];
                    if !matches!(nodes[next as usize].kind, NodeKind::User { .. }) || chain.contains(&next) {
                        break;
                    }
                    chain.push(next);
                }
                chains.insert(i as NodeId, chain);
            }
        }
        let mut stores = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let subtopology = subtopology_of[i];
            match &node.kind {
                NodeKind::Aggregate { store, windows, .. } => {
                    stores.push(StoreDef { name: store.clone(), windows: *windows, session: None, subtopology, internal: false })
                }
                NodeKind::SessionAggregate { store, windows, .. } => {
                    stores.push(StoreDef { name: store.clone(), windows: None, session: Some(*windows), subtopology, internal: false })
                }
                NodeKind::Suppress { store, .. } => stores.push(StoreDef { name: store.clone(), windows: None, session: None, subtopology, internal: true }),
                NodeKind::StreamJoin { join, this_side: true } => {
                    // The window stores' changelogs keep records for the join's retention (as
                    // windowed stores: size + grace, and a day more).
                    let size = join.windows.size_ms().max(1);
                    let w = TimeWindows { size_ms: size, advance_ms: size, grace_ms: join.windows.grace_ms };
                    stores.push(StoreDef { name: join.this_store.clone(), windows: Some(w), session: None, subtopology, internal: true });
                    stores.push(StoreDef { name: join.other_store.clone(), windows: Some(w), session: None, subtopology, internal: true });
                    if let Some(outer) = &join.outer_store {
                        stores.push(StoreDef { name: outer.clone(), windows: None, session: None, subtopology, internal: true });
                    }
                }
                _ => {}
            }
        }
        Ok(Topology { nodes, subtopology_of, subtopologies: ids.len(), chains, stores, extractors: BTreeMap::new() })
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The fused chain of user nodes starting at `id`, when it is a user node.
    pub fn chain(&self, id: NodeId) -> Option<&[NodeId]> {
        self.chains.get(&id).map(Vec::as_slice)
    }

    /// The internal name of a repartition topic.
    pub fn repartition_topic(application_id: &str, name: &str) -> String {
        format!("{application_id}-{name}-repartition")
    }

    pub fn changelog_topic(application_id: &str, store: &str) -> String {
        format!("{application_id}-{store}-changelog")
    }

    /// Every topic read, with the node its records enter at: external sources and repartition
    /// topics (entering at the repartition node, whose children run in the reading sub-topology).
    pub fn entries(&self, application_id: &str) -> Vec<(String, NodeId, bool)> {
        let mut out = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            match &node.kind {
                NodeKind::Source { topics } => out.extend(topics.iter().map(|t| (t.clone(), i as NodeId, false))),
                NodeKind::Repartition { name } => out.push((Self::repartition_topic(application_id, name), i as NodeId, true)),
                _ => {}
            }
        }
        out
    }

    /// The sub-topology whose tasks process records of the topic entering at `entry`.
    pub fn entry_subtopology(&self, entry: NodeId) -> usize {
        let node = &self.nodes[entry as usize];
        match node.kind {
            NodeKind::Repartition { .. } => node.children[0].first().map_or(usize::MAX, |c| self.subtopology_of[*c as usize]),
            _ => self.subtopology_of[entry as usize],
        }
    }

    pub fn stores(&self) -> &[StoreDef] {
        &self.stores
    }

    /// The timestamp extractor of the records entering at `entry`: the source's own, else
    /// `default` (the configured one; repartition topics always take it, as in Kafka Streams).
    pub fn timestamp_extractor(&self, entry: NodeId, default: TimestampExtractor) -> TimestampExtractor {
        self.extractors.get(&entry).copied().unwrap_or(default)
    }

    /// A store for interactive queries (not the runtime's internal stores).
    pub fn store(&self, name: &str) -> Option<&StoreDef> {
        self.stores.iter().find(|s| s.name == name && !s.internal)
    }

    /// Kafka Streams' co-partitioning rule: the source topics of a sub-topology with a join are
    /// read partition by partition together, so they must have the same number of partitions
    /// (`partitions`: the count of every source topic).
    pub fn check_copartitioned(&self, partitions: &std::collections::HashMap<String, i32>) -> Result<()> {
        for st in 0..self.subtopologies {
            let joins = self
                .nodes
                .iter()
                .enumerate()
                .any(|(i, n)| self.subtopology_of[i] == st && matches!(n.kind, NodeKind::StreamJoin { .. } | NodeKind::JoinTable { .. }));
            if !joins {
                continue;
            }
            let mut topics: Vec<(&str, i32)> = Vec::new();
            for (i, n) in self.nodes.iter().enumerate() {
                if let (true, NodeKind::Source { topics: ts }) = (self.subtopology_of[i] == st, &n.kind) {
                    topics.extend(ts.iter().filter_map(|t| partitions.get(t).map(|p| (t.as_str(), *p))));
                }
            }
            if topics.windows(2).any(|w| w[0].1 != w[1].1) {
                let list: Vec<String> = topics.iter().map(|(t, p)| format!("{t} ({p} partitions)")).collect();
                return Err(Error::invalid(format!(
                    "the topics joined are not co-partitioned: they need the same number of partitions, got {} (repartition one side first)",
                    list.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// A readable description (Kafka Streams' `describe()`, in our words).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for st in 0..self.subtopologies {
            s.push_str(&format!("Sub-topology: {st}\n"));
            for (i, node) in self.nodes.iter().enumerate() {
                if self.subtopology_of[i] == st {
                    let children: Vec<String> = node.children.iter().flatten().map(|c| c.to_string()).collect();
                    s.push_str(&format!("  {i}: {:?} --> [{}]\n", node.kind, children.join(", ")));
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuses_chains_and_cuts_subtopologies_at_repartitions() {
        let mut b = TopologyBuilder::new();
        let src = b.source(&["events"]).unwrap();
        let f = b.user(src).unwrap();
        let m = b.user(f).unwrap();
        b.sink(m, "out").unwrap();
        let key = b.user(src).unwrap();
        let rep = b.repartition(key, "counts").unwrap();
        let count = b.aggregate(rep, "counts", AggregateKind::Count, None).unwrap();
        let orders = b.source(&["orders"]).unwrap();
        let join = b.join_table(orders, count, true).unwrap();
        b.sink(join, "enriched").unwrap();
        assert!(b.sink(join, "").is_err());
        let t = b.build().unwrap();
        assert_eq!(t.chain(f), Some(&[f, m][..]));
        assert_eq!(t.subtopologies, 2);
        assert_eq!(t.subtopology_of[src as usize], t.subtopology_of[rep as usize]);
        assert_eq!(t.subtopology_of[count as usize], t.subtopology_of[orders as usize]);
        assert_ne!(t.subtopology_of[count as usize], t.subtopology_of[src as usize]);
        assert_eq!(t.entry_subtopology(rep), t.subtopology_of[count as usize]);
        assert_eq!(t.entries("app")[1], ("app-counts-repartition".to_string(), rep, true));
    }

    #[test]
    fn default_names_follow_kafka_streams_counter() {
        // Kafka Streams 4.4 (tests/streams-java/NamesTopology.java, case "mixed", first part):
        // stream t, stream u, mapValues, groupBy: count -> KSTREAM-AGGREGATE-STATE-STORE-4;
        // toStream, to; u windowed count -> ...-11; unnamed suppress -> KTABLE-SUPPRESS-STATE-STORE-14;
        // toStream, foreach; inner join -> KSTREAM-JOINTHIS-19-store / JOINOTHER-20.
        let mut b = TopologyBuilder::new();
        let t = b.source(&["t"]).unwrap();
        let u = b.source(&["u"]).unwrap();
        let mv = b.user(t).unwrap();
        let key = b.user(mv).unwrap();
        let store = b.aggregate_store_name(None, false);
        assert_eq!(store, "KSTREAM-AGGREGATE-STATE-STORE-0000000004");
        let rep = b.repartition(key, &store).unwrap();
        let by_value = b.aggregate(rep, &store, AggregateKind::Count, None).unwrap();
        let ts = b.to_stream(by_value).unwrap();
        let enc = b.serde(ts).unwrap();
        b.sink(enc, "counts").unwrap();
        let wstore = b.aggregate_store_name(None, false);
        assert_eq!(wstore, "KSTREAM-AGGREGATE-STATE-STORE-0000000011");
        let w = b.aggregate(u, &wstore, AggregateKind::Count, Some(TimeWindows::of_size_with_no_grace(60_000).unwrap())).unwrap();
        let (sup, sstore) = b.suppress(w, None, BufferConfig::default()).unwrap();
        assert_eq!(sstore, "KTABLE-SUPPRESS-STATE-STORE-0000000014");
        let st = b.to_stream(sup).unwrap();
        b.user(st).unwrap();
        b.stream_join(t, u, JoinWindows::of_time_difference_with_no_grace(60_000).unwrap(), JoinKind::Inner, None).unwrap();
        let t2 = b.build().unwrap();
        let stores: Vec<&str> = t2.stores().iter().map(|s| s.name.as_str()).collect();
        assert!(stores.contains(&"KSTREAM-JOINTHIS-0000000019-store") && stores.contains(&"KSTREAM-JOINOTHER-0000000020-store"), "{stores:?}");
        let mut b = TopologyBuilder::new();
        assert_eq!(b.aggregate_store_name(Some("mine"), false), "mine", "a given name takes no index");
        assert_eq!(b.aggregate_store_name(None, true), "KSTREAM-REDUCE-STATE-STORE-0000000000");
    }

    #[test]
    fn key_changes_require_a_repartition_before_grouping_and_joins_refuse_them() {
        let mut b = TopologyBuilder::new();
        let src = b.source(&["t"]).unwrap();
        let values = b.user(src).unwrap(); // map_values: keys kept
        assert!(!b.repartition_required(values));
        assert_eq!(b.grouped(values, "s1").unwrap(), values, "no repartition: the node itself");
        let select = b.user(src).unwrap();
        b.mark_key_changing(select).unwrap();
        let filter = b.user(select).unwrap();
        let other = b.source(&["u"]).unwrap();
        let merged = b.merge(filter, other).unwrap();
        assert!(b.repartition_required(filter) && b.repartition_required(merged));
        let rep = b.grouped(merged, "counts").unwrap();
        assert!(matches!(&b.nodes[rep as usize].kind, NodeKind::Repartition { name } if name == "counts"));
        assert!(!b.repartition_required(rep), "the repartition topic puts records in their key's partition");
        let table = b.aggregate(rep, "counts", AggregateKind::Count, None).unwrap();
        let e = b.join_table(filter, table, true).unwrap_err();
        assert!(e.message().contains("keys were changed"), "{e}");
        assert!(b.join_table(values, table, true).is_ok());
        let e = b.stream_join(values, filter, JoinWindows::of_time_difference_and_grace(10, 0).unwrap(), JoinKind::Inner, None).unwrap_err();
        assert!(e.message().contains("keys were changed"), "{e}");
        assert!(b.mark_key_changing(table).is_err());
    }

    #[test]
    fn refuses_bad_graphs() {
        let mut b = TopologyBuilder::new();
        assert!(b.source(&[]).is_err());
        let s = b.source(&["a"]).unwrap();
        assert!(b.user(99).is_err());
        assert!(b.repartition(s, "bad name").is_err());
        let sink = b.sink(s, "x").unwrap();
        assert!(b.user(sink).is_err());
        assert!(b.join_table(s, s, false).is_err());
        assert!(TopologyBuilder::new().build().is_err());
    }
}
