//! Native part of the Node.js binding. The public surface is the JavaScript façade in
//! `lib/` (kafkajs's API); these classes are its private helpers.
//!
//! Runtime: napi's tokio runtime (one per process, created on first use, worker threads = cores).
//! Its threads are not libuv handles, and every threadsafe function is unref'd, so nothing keeps
//! the Node process alive once the façade's promises have settled.

mod admin;
mod consumer;
mod error;
mod events;
mod logging;
mod producer;

pub use admin::NativeAdmin;
pub use consumer::NativeConsumer;
pub use producer::NativeProducer;
