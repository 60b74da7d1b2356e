//! `Consumer::commit_with_metadata` against the real broker: each offset's metadata string is
//! stored by the group coordinator and read back by an offset fetch.

mod common;

use polykafka::admin::Admin;
use polykafka::consumer::offsets::fetch_committed;
use polykafka::{AdminConfig, Consumer, ConsumerConfig, ErrorKind, TopicPartition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_offset_keeps_its_metadata() {
    let topic = common::unique_topic("c-commit-meta");
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topic(&topic, 2, 1).await.unwrap();
    let group = common::unique_topic("g-commit-meta");
    let c = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", common::bootstrap()), ("group.id", group.clone())]).unwrap()).unwrap();
    let (p0, p1) = (TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1));
    c.assign(&[p0.clone(), p1.clone()]).unwrap();
    c.commit_with_metadata(&[(p0.clone(), 3, Some("event-id-3".to_string())), (p1.clone(), 5, None)]).await.unwrap();
    // Nothing to commit is fine.
    c.commit_with_metadata(&[]).await.unwrap();

    let mut got = fetch_committed(admin.cluster(), &group, Some(&[p0.clone(), p1.clone()]), false).await.unwrap();
    got.sort_by_key(|o| o.partition.partition);
    assert_eq!((got[0].offset, got[0].metadata.as_deref()), (3, Some("event-id-3")));
    assert_eq!(got[1].offset, 5);
    assert!(matches!(got[1].metadata.as_deref(), None | Some("")), "{:?}", got[1]);
    c.close().await.unwrap();

    // Without group.id there is nothing to commit to: a typed error.
    let solo = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    assert_eq!(solo.commit_with_metadata(&[(p0, 1, None)]).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    solo.close().await.unwrap();
}
