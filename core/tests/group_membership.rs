//! `Consumer::group_membership` against the real broker: member id, generation, leader and the
//! join's duration after a classic join of two members (what kafkajs reports on GROUP_JOIN).

mod common;

use std::time::{Duration, Instant};

use polykafka::admin::Admin;
use polykafka::{AdminConfig, Consumer, ConsumerConfig, ErrorKind};

fn consumer(group: Option<&str>) -> Consumer {
    let mut props: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), common::bootstrap()),
        ("session.timeout.ms".into(), "6000".into()),
        ("heartbeat.interval.ms".into(), "500".into()),
        ("fetch.max.wait.ms".into(), "100".into()),
        ("partition.assignment.strategy".into(), "range".into()),
    ];
    if let Some(g) = group {
        props.push(("group.id".into(), g.into()));
    }
    Consumer::new(ConsumerConfig::from_properties(props).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_agree_on_one_leader_and_report_their_join() {
    let topic = common::unique_topic("c-membership");
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topic(&topic, 2, 1).await.unwrap();
    let group = common::unique_topic("g-membership");

    // Without group.id there is no membership: a typed error.
    let solo = consumer(None);
    assert_eq!(solo.group_membership().unwrap_err().kind(), ErrorKind::InvalidArgument);
    solo.close().await.unwrap();

    let a = consumer(Some(&group));
    let before = a.group_membership().unwrap();
    assert_eq!((before.member_id.as_str(), before.generation_id, before.leader_id.as_str()), ("", -1, ""));
    assert_eq!(before.join_duration, None);
    assert!(!before.is_leader());

    let b = consumer(Some(&group));
    a.subscribe(&[topic.clone()]).unwrap();
    b.subscribe(&[topic.clone()]).unwrap();
    // Both poll until they share the two partitions in one generation.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "two members never settled: {:?} {:?}", a.group_membership(), b.group_membership());
        let _ = a.poll_batch_events(10, Duration::from_millis(100)).await.unwrap();
        let _ = b.poll_batch_events(10, Duration::from_millis(100)).await.unwrap();
        let (ma, mb) = (a.group_membership().unwrap(), b.group_membership().unwrap());
        if a.assignment().len() == 1 && b.assignment().len() == 1 && ma.generation_id == mb.generation_id && ma.generation_id > 0 {
            break;
        }
    }
    let (ma, mb) = (a.group_membership().unwrap(), b.group_membership().unwrap());
    assert_eq!(ma.group_id, group);
    assert_ne!(ma.member_id, mb.member_id);
    assert!(!ma.member_id.is_empty() && !mb.member_id.is_empty());
    // One leader, named the same by both, and it is one of them.
    assert_eq!(ma.leader_id, mb.leader_id);
    assert!(ma.is_leader() != mb.is_leader(), "exactly one leader: {ma:?} {mb:?}");
    assert!(ma.leader_id == ma.member_id || ma.leader_id == mb.member_id);
    assert_eq!(ma.protocol.as_deref(), Some("range"));
    assert!(ma.join_duration.is_some() && mb.join_duration.is_some());

    b.close().await.unwrap();
    a.close().await.unwrap();
}
