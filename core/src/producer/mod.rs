//! The producer: accumulator, partitioners, sender, idempotence.

pub mod partitioner;
