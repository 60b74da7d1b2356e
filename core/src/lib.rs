//! polykafka: one Kafka client engine for Python, Node.js, Go and C.
//!
//! The core is async on tokio and never creates a runtime: each binding owns one.
//! Layers, bottom up: [`protocol`] (wire formats on top of `kafka-protocol`), [`net`]
//! (connections, TLS, SASL), [`cluster`] (metadata and the connection pool), then the clients:
//! [`producer`], [`consumer`] and [`admin`]; [`dlq`] is the consumer's retry and dead-letter path.

pub mod admin;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod dlq;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod instrumentation;
pub mod net;
pub mod producer;
pub mod protocol;
pub mod record;
pub mod schema;
pub mod stats;
pub mod streams;
mod sync;

pub use consumer::{CommitMode, Consumer, ConsumerEvent, ConsumerRecord, PartitionBatch, StartOffset};
pub use config::{AdminConfig, ClientConfig, ConsumerConfig, ProducerConfig};
pub use error::{Error, ErrorKind, Result};
pub use instrumentation::Instrumentation;
pub use record::{Header, ProducerRecord, RecordMetadata, TopicPartition};

/// Panics, on purpose: the bindings' tests call it through their test-only entry points to show
/// that a panic inside the engine becomes a typed error in the host language and the host
/// process lives on. Not for applications.
#[doc(hidden)]
pub fn __panic_for_tests(what: &str) -> ! {
    panic!("polykafka panicked on purpose for a test: {what}")
}
