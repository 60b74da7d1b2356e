//! Streams: a Kafka Streams–style processing runtime (issue #16), with Kafka Streams' semantics.
//!
//! The runtime is here: the [`Topology`] (built with [`TopologyBuilder`]), tasks per input
//! partition driven by one consumer group (`application.id`), state stores backed by compacted
//! changelog topics and restored when a task starts, windows with grace, commits. User functions
//! (predicates, mappers, aggregators, joiners) belong to whoever built the topology: the runtime
//! hands them a whole batch of records for a chain of consecutive user nodes (fused), through
//! [`UserFunctions`], and takes the results back: one crossing per batch and chain, never one per
//! record and operator. [`ClosureFunctions`] is the Rust implementation (closures over bytes);
//! bindings implement the trait in their language.
//!
//! Records inside the runtime are bytes: keys and values are serialized at the edges of every
//! chain by the user-function side, which knows the serdes.

mod config;
mod functions;
mod input;
mod runtime;
mod store;
mod task;
mod topology;
mod windows;

pub use config::{DeserializationHandler, ProcessingGuarantee, StreamsConfig};
pub use functions::{ChainOutput, ClosureFunctions, CombineOutput, FailureKind, StreamRecord, TimestampOutput, UserFailure, UserFunctions};
pub use runtime::{KafkaStreams, ProcessingError, State, StateListener, StreamsMetrics};
pub use store::{SessionKey, StoreReader, WindowedKey};
pub use topology::{AggregateKind, BufferConfig, JoinKind, NodeId, NodeKind, StreamJoinDef, StreamJoinNodes, TimestampExtractor, Topology, TopologyBuilder};
pub use windows::{JoinWindows, SessionWindows, TimeWindows};
