//! What every binding needs from the process it lives in, written once: the one tokio runtime
//! of the process (fork-aware) and the capture of the engine's logs into a bounded queue that
//! the binding drains on its own thread (Python's `logging`, kafkajs's `logCreator`, kafka-go's
//! `Logger` through the C ABI).
//!
//! The engine itself (`polykafka`) never creates a runtime and never installs a log subscriber:
//! both belong to the host.

pub mod logs;
pub mod runtime;
