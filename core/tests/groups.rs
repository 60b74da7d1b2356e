//! Group administration against the real broker: list, describe, lag, alter/reset offsets,
//! delete.

mod common;

use std::time::{Duration, Instant};

use polykafka::admin::{Admin, OffsetResetSpec};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, Consumer, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

const T: Duration = Duration::from_secs(30);

fn admin() -> Admin {
    Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap()
}

async fn produce(topic: &str, partitions: i32, n: usize) {
    let p = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str())]).unwrap()).unwrap();
    let recs = (0..n).map(|i| ProducerRecord::new(topic).partition((i % partitions as usize) as i32).value(format!("v{i}"))).collect();
    assert!(p.send_batch(recs).await.unwrap().await.iter().all(|r| r.is_ok()));
    p.close(T).await.unwrap();
}

fn member(group: &str, protocol: &str) -> Consumer {
    let mut props = vec![
        ("bootstrap.servers", common::bootstrap()),
        ("group.id", group.to_string()),
        ("client.id", "groups-test".to_string()),
        ("enable.auto.commit", "false".to_string()),
        ("auto.offset.reset", "earliest".to_string()),
        ("session.timeout.ms", "6000".to_string()),
        ("heartbeat.interval.ms", "1000".to_string()),
    ];
    if protocol == "consumer" {
        props.push(("group.protocol", "consumer".to_string()));
    } else {
        props.push(("partition.assignment.strategy", protocol.to_string()));
    }
    Consumer::new(ConsumerConfig::from_properties(props).unwrap()).unwrap()
}

async fn describe_three(protocol: &str) {
    let topic = common::unique_topic("grp");
    let admin = admin();
    admin.create_topic(&topic, 6, 1).await.unwrap();
    produce(&topic, 6, 600).await;
    let group = common::unique_topic("g-admin");
    let members: Vec<Consumer> = (0..3).map(|_| member(&group, protocol)).collect();
    for m in &members {
        m.subscribe(&[topic.clone()]).unwrap();
    }
    // Poll until every member owns two partitions.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !members.iter().all(|m| m.assignment().len() == 2) {
        assert!(Instant::now() < deadline, "no balanced assignment");
        for m in &members {
            let _ = m.poll_batch(1000, Duration::from_millis(100)).await.unwrap();
        }
    }
    // Keep polling in the background so nobody is considered gone while describing.
    let d = admin.describe_consumer_groups(&[&group]).await.unwrap().remove(0);
    assert_eq!(d.group_id, group);
    assert_eq!(d.members.len(), 3, "{d:?}");
    assert_eq!(d.group_type, if protocol == "consumer" { "consumer" } else { "classic" });
    if protocol != "consumer" {
        assert_eq!(d.protocol, protocol);
    }
    let mut all: Vec<TopicPartition> = Vec::new();
    for m in &d.members {
        assert_eq!(m.client_id, "groups-test");
        assert!(!m.host.is_empty());
        assert_eq!(m.assignment.len(), 2, "{m:?}");
        all.extend(m.assignment.clone());
    }
    all.sort();
    assert_eq!(all, (0..6).map(|p| TopicPartition::new(&topic, p)).collect::<Vec<_>>());
    // Every member's own view matches the description.
    let mut mine: Vec<Vec<TopicPartition>> = members.iter().map(|m| m.assignment()).collect();
    let mut described: Vec<Vec<TopicPartition>> = d.members.iter().map(|m| m.assignment.clone()).collect();
    mine.sort();
    described.sort();
    assert_eq!(mine, described);
    let listed = admin.list_consumer_groups().await.unwrap();
    let l = listed.iter().find(|g| g.group_id == group).expect("the group is listed");
    assert_eq!(l.protocol_type, "consumer");
    for m in &members {
        m.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_three_classic_members_and_their_partitions() {
    describe_three("range").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_three_kip848_members_and_their_partitions() {
    describe_three("consumer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_alter_reset_and_delete() {
    let topic = common::unique_topic("grp-lag");
    let admin = admin();
    admin.create_topic(&topic, 3, 1).await.unwrap();
    produce(&topic, 3, 300).await;
    let group = common::unique_topic("g-lag");
    let tps: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new(&topic, p)).collect();

    // A consumer reads 40 per partition and commits them: lag is what is left.
    let c = member(&group, "range");
    c.assign(&tps).unwrap();
    let mut got = std::collections::BTreeMap::<i32, i64>::new();
    let deadline = Instant::now() + T;
    while got.values().sum::<i64>() < 120 && Instant::now() < deadline {
        for r in c.poll_batch(10, Duration::from_millis(200)).await.unwrap() {
            let e = got.entry(r.partition).or_default();
            if *e < 40 {
                *e += 1;
            }
        }
    }
    let commits: Vec<(TopicPartition, i64)> = tps.iter().map(|tp| (tp.clone(), 40)).collect();
    c.commit(Some(&commits), polykafka::CommitMode::Sync).await.unwrap();
    c.close().await.unwrap();
    let lag = admin.consumer_group_lag(&group).await.unwrap();
    assert_eq!(lag.len(), 3);
    for l in &lag {
        assert_eq!((l.committed, l.high_watermark, l.lag), (40, 100, 60), "{l:?}");
    }
    assert_eq!(lag.iter().map(|l| l.lag).sum::<i64>(), 180, "lag = the records left");

    // Explicit offsets.
    admin.alter_consumer_group_offsets(&group, &[(tps[0].clone(), 90)]).await.unwrap();
    assert_eq!(admin.list_consumer_group_offsets(&group, Some(&tps[..1])).await.unwrap(), vec![(tps[0].clone(), 90)]);
    // Reset: earliest, latest, by time.
    let set = admin.reset_consumer_group_offsets(&group, &tps, OffsetResetSpec::Earliest).await.unwrap();
    assert!(set.iter().all(|(_, o)| *o == 0));
    assert!(admin.consumer_group_lag(&group).await.unwrap().iter().all(|l| l.lag == 100));
    admin.reset_consumer_group_offsets(&group, &tps, OffsetResetSpec::Latest).await.unwrap();
    assert!(admin.consumer_group_lag(&group).await.unwrap().iter().all(|l| l.lag == 0));
    let set = admin.reset_consumer_group_offsets(&group, &tps, OffsetResetSpec::Timestamp(0)).await.unwrap();
    assert!(set.iter().all(|(_, o)| *o == 0), "{set:?}");
    let future = admin.reset_consumer_group_offsets(&group, &tps, OffsetResetSpec::Timestamp(i64::MAX / 2)).await.unwrap();
    assert!(future.iter().all(|(_, o)| *o == 100), "no record that late: the end, {future:?}");
    // A new member starts where the reset put the group.
    admin.alter_consumer_group_offsets(&group, &[(tps[1].clone(), 95)]).await.unwrap();
    let c = member(&group, "range");
    c.assign(&tps[1..2]).unwrap();
    let deadline = Instant::now() + T;
    let mut recs = Vec::new();
    while recs.len() < 5 && Instant::now() < deadline {
        recs.extend(c.poll_batch(5, Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![95, 96, 97, 98, 99]);
    c.close().await.unwrap();

    // Delete: the group and its offsets are gone.
    let res = admin.delete_consumer_groups(&[&group]).await.unwrap();
    assert!(res[0].1.is_ok(), "{res:?}");
    assert!(admin.list_consumer_group_offsets(&group, None).await.unwrap().is_empty());
    assert!(!admin.list_consumer_groups().await.unwrap().iter().any(|g| g.group_id == group));
    // Deleting a group that does not exist is an error naming it.
    let res = admin.delete_consumer_groups(&[&group]).await.unwrap();
    let err = res[0].1.clone().unwrap_err();
    assert_eq!(err.name(), "GROUP_ID_NOT_FOUND");
}
