//! Produces a few keyed records with headers to a topic, prints where each landed, then lists
//! the cluster's topics.
//!
//! `cargo run -p polykafka --example produce_and_list -- [bootstrap] [topic]`
//! (bootstrap defaults to $KAFKA_BOOTSTRAP, then 127.0.0.1:9092).

use std::time::Duration;

use polykafka::admin::Admin;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ProducerConfig, ProducerRecord};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> polykafka::Result<()> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args
        .next()
        .or_else(|| std::env::var("KAFKA_BOOTSTRAP").ok())
        .unwrap_or_else(|| "127.0.0.1:9092".to_string());
    let topic = args.next().unwrap_or_else(|| "polykafka-demo".to_string());

    let producer = Producer::new(ProducerConfig::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("compression.type", "zstd"),
    ])?)?;
    let mut deliveries = Vec::new();
    for (user, event) in [("alice", "signed-up"), ("bob", "signed-up"), ("alice", "ordered")] {
        let record = ProducerRecord::new(&topic)
            .key(user)
            .value(format!("{{\"user\":\"{user}\",\"event\":\"{event}\"}}"))
            .header("source", "polykafka-demo");
        deliveries.push(producer.send(record).await?);
    }
    for delivery in deliveries {
        let md = delivery.await?;
        println!("delivered to {}-{} at offset {}", md.topic, md.partition, md.offset);
    }
    producer.close(Duration::from_secs(10)).await?;

    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())])?)?;
    let topics = admin.list_topics(false).await?;
    let listed = topics.contains(&topic);
    println!("the cluster has {} topics; '{topic}' is {}listed", topics.len(), if listed { "" } else { "NOT " });
    assert!(listed, "the demo topic is listed");
    Ok(())
}
