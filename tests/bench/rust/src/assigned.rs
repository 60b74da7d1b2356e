//! The read-back consumer of the Rust adapter and bench-tool, apart from `contract.rs` so that the
//! rust-rdkafka adapter (which includes `contract.rs` and has no polykafka) builds.

use crate::contract::Args;

/// A consumer of `a.topic`'s partitions from their start, read_committed, no group.
pub fn assigned_consumer(a: &Args) -> polykafka::Result<polykafka::consumer::Consumer> {
    assigned_to(a, std::slice::from_ref(&a.topic))
}

/// The same over `a.partitions` partitions of each of `topics` (M1).
pub fn assigned_to(a: &Args, topics: &[String]) -> polykafka::Result<polykafka::consumer::Consumer> {
    let c = polykafka::consumer::Consumer::new(polykafka::ConsumerConfig::from_properties([
        ("bootstrap.servers", a.bootstrap.as_str()),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("isolation.level", "read_committed"),
    ])?)?;
    let tps: Vec<polykafka::TopicPartition> =
        topics.iter().flat_map(|t| (0..a.partitions).map(move |p| polykafka::TopicPartition::new(t, p))).collect();
    c.assign(&tps)?;
    Ok(c)
}
