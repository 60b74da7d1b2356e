//! The read-back consumer of the Rust adapter and bench-tool, apart from `contract.rs` so that the
//! rust-rdkafka adapter (which includes `contract.rs` and has no polykafka) builds.

use crate::contract::Args;

/// A consumer of `a.topic`'s partitions from their start, read_committed, no group.
pub fn assigned_consumer(a: &Args) -> polykafka::Result<polykafka::consumer::Consumer> {
    let c = polykafka::consumer::Consumer::new(polykafka::ConsumerConfig::from_properties([
        ("bootstrap.servers", a.bootstrap.as_str()),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("isolation.level", "read_committed"),
    ])?)?;
    let tps: Vec<polykafka::TopicPartition> = (0..a.partitions).map(|p| polykafka::TopicPartition::new(&a.topic, p)).collect();
    c.assign(&tps)?;
    Ok(c)
}
