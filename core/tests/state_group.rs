//! The classic group protocol against the fake broker: JoinGroup errors, a rebalance signalled
//! by Heartbeat, and a fenced member, each asserted as the exact sequence of group requests.

mod fake_broker;

use std::time::{Duration, Instant};

use fake_broker::{code, ApiKey, Behaviour, FakeBroker, Received, RequestKind};
use polykafka::{Consumer, ConsumerConfig, TopicPartition};

fn consumer(broker: &FakeBroker) -> Consumer {
    let props: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), broker.bootstrap()),
        ("group.id".into(), "g".into()),
        ("session.timeout.ms".into(), "6000".into()),
        ("heartbeat.interval.ms".into(), "100".into()),
        ("fetch.max.wait.ms".into(), "100".into()),
        ("retry.backoff.ms".into(), "20".into()),
        ("auto.offset.reset".into(), "earliest".into()),
        ("partition.assignment.strategy".into(), "range".into()),
    ];
    let c = Consumer::new(ConsumerConfig::from_properties(props).unwrap()).unwrap();
    c.subscribe(&["t".to_string()]).unwrap();
    c
}

/// Polls until `values` were all consumed (in order), or panics.
async fn consume(c: &Consumer, values: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got: Vec<String> = Vec::new();
    while got.len() < values.len() {
        assert!(Instant::now() < deadline, "consumed only {got:?}");
        for r in c.poll_batch(10, Duration::from_millis(100)).await.unwrap() {
            got.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    assert_eq!(got, values);
}

/// Polls (so rebalances complete) until `pred` holds of the requests received, or panics.
async fn poll_until(c: &Consumer, broker: &FakeBroker, what: &str, pred: impl Fn(&[Received]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pred(&broker.received()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {:?}", broker.keys());
        let _ = c.poll_batch(10, Duration::from_millis(50)).await.unwrap();
    }
}

/// (member id, generation) of each JoinGroup / SyncGroup / Heartbeat, in order.
fn group_requests(broker: &FakeBroker) -> Vec<(ApiKey, String, i32)> {
    broker
        .received()
        .into_iter()
        .filter_map(|r| match r.request {
            RequestKind::JoinGroup(j) => Some((ApiKey::JoinGroup, j.member_id.to_string(), -1)),
            RequestKind::SyncGroup(s) => Some((ApiKey::SyncGroup, s.member_id.to_string(), s.generation_id)),
            RequestKind::Heartbeat(h) => Some((ApiKey::Heartbeat, h.member_id.to_string(), h.generation_id)),
            _ => None,
        })
        .collect()
}

fn dedup_heartbeats(reqs: Vec<(ApiKey, String, i32)>) -> Vec<(ApiKey, String, i32)> {
    let mut out: Vec<(ApiKey, String, i32)> = Vec::new();
    for r in reqs {
        if r.0 == ApiKey::Heartbeat && out.last() == Some(&r) {
            continue;
        }
        out.push(r);
    }
    out
}

/// JoinGroup answers REBALANCE_IN_PROGRESS (retried as is, no member id yet), then
/// MEMBER_ID_REQUIRED (retried with the member id the broker gave, KIP-394), then joins; the
/// SyncGroup and heartbeats carry that member id and generation, and records flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_retries_rebalance_in_progress_and_member_id_required() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a", "b"]);
    broker.script(ApiKey::JoinGroup, [Behaviour::Error(code::REBALANCE_IN_PROGRESS), Behaviour::Error(code::MEMBER_ID_REQUIRED)]);
    let c = consumer(&broker);
    consume(&c, &["a", "b"]).await;
    assert_eq!(c.assignment(), vec![TopicPartition::new("t", 0)]);
    poll_until(&c, &broker, "a heartbeat", |r| r.iter().any(|r| r.api_key == ApiKey::Heartbeat)).await;

    let reqs = dedup_heartbeats(group_requests(&broker));
    // The fake names members member-1, member-2, ...: the REBALANCE_IN_PROGRESS answer used
    // member-1 (and gave it no id), MEMBER_ID_REQUIRED gave member-2.
    assert_eq!(
        &reqs[..5],
        &[
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::JoinGroup, "member-2".into(), -1),
            (ApiKey::SyncGroup, "member-2".into(), 1),
            (ApiKey::Heartbeat, "member-2".into(), 1),
        ],
        "{reqs:?}"
    );
    let m = c.group_membership().unwrap();
    assert_eq!((m.member_id.as_str(), m.generation_id), ("member-2", 1));
    c.close().await.unwrap();
}

/// Heartbeat answers REBALANCE_IN_PROGRESS: the member rejoins with its member id (it is not
/// fenced), gets the next generation, and heartbeats under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_rebalance_in_progress_rejoins_with_the_same_member_id() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    broker.script(ApiKey::Heartbeat, [Behaviour::Error(code::REBALANCE_IN_PROGRESS)]);
    let c = consumer(&broker);
    consume(&c, &["a"]).await;
    poll_until(&c, &broker, "a heartbeat of generation 2", |r| {
        r.iter().any(|r| matches!(&r.request, RequestKind::Heartbeat(h) if h.generation_id == 2))
    })
    .await;
    let reqs = dedup_heartbeats(group_requests(&broker));
    let m = "member-1".to_string();
    assert_eq!(
        reqs,
        vec![
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::SyncGroup, m.clone(), 1),
            (ApiKey::Heartbeat, m.clone(), 1),
            (ApiKey::JoinGroup, m.clone(), -1),
            (ApiKey::SyncGroup, m.clone(), 2),
            (ApiKey::Heartbeat, m.clone(), 2),
        ]
    );
    assert_eq!(c.assignment(), vec![TopicPartition::new("t", 0)]);
    broker.append("t", 0, &["b"]);
    consume(&c, &["b"]).await;
    c.close().await.unwrap();
}

/// A fenced member (Heartbeat answers UNKNOWN_MEMBER_ID) drops its member id and generation and
/// joins again as a new member; it then heartbeats under its new id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fenced_member_rejoins_as_a_new_member() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    broker.script(ApiKey::Heartbeat, [Behaviour::Error(code::UNKNOWN_MEMBER_ID)]);
    let c = consumer(&broker);
    consume(&c, &["a"]).await;
    poll_until(&c, &broker, "a heartbeat of the new member", |r| {
        r.iter().any(|r| matches!(&r.request, RequestKind::Heartbeat(h) if h.member_id.as_str() == "member-2"))
    })
    .await;
    let reqs = dedup_heartbeats(group_requests(&broker));
    assert_eq!(
        reqs,
        vec![
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::SyncGroup, "member-1".into(), 1),
            (ApiKey::Heartbeat, "member-1".into(), 1),
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::SyncGroup, "member-2".into(), 2),
            (ApiKey::Heartbeat, "member-2".into(), 2),
        ]
    );
    let m = c.group_membership().unwrap();
    assert_eq!((m.member_id.as_str(), m.generation_id), ("member-2", 2));
    assert_eq!(c.assignment(), vec![TopicPartition::new("t", 0)]);
    c.close().await.unwrap();
    // Closing leaves the group as the current member.
    let leaves: Vec<String> = broker
        .of(ApiKey::LeaveGroup)
        .into_iter()
        .map(|r| match r.request {
            RequestKind::LeaveGroup(l) => l.members.first().map(|m| m.member_id.to_string()).unwrap_or(l.member_id.to_string()),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(leaves, vec!["member-2".to_string()]);
}

/// Heartbeat answers ILLEGAL_GENERATION: the member keeps its member id but not its generation
/// (its partitions are lost) and rejoins with that id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_generation_rejoins_with_the_same_member_id() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    broker.script(ApiKey::Heartbeat, [Behaviour::Error(code::ILLEGAL_GENERATION)]);
    let c = consumer(&broker);
    consume(&c, &["a"]).await;
    poll_until(&c, &broker, "a heartbeat of generation 2", |r| {
        r.iter().any(|r| matches!(&r.request, RequestKind::Heartbeat(h) if h.generation_id == 2))
    })
    .await;
    let reqs = dedup_heartbeats(group_requests(&broker));
    let m = "member-1".to_string();
    assert_eq!(
        reqs,
        vec![
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::SyncGroup, m.clone(), 1),
            (ApiKey::Heartbeat, m.clone(), 1),
            (ApiKey::JoinGroup, m.clone(), -1),
            (ApiKey::SyncGroup, m.clone(), 2),
            (ApiKey::Heartbeat, m.clone(), 2),
        ]
    );
    c.close().await.unwrap();
}

/// SyncGroup answers REBALANCE_IN_PROGRESS: the member joins again with its member id and
/// syncs in the next generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_rebalance_in_progress_rejoins() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    broker.script(ApiKey::SyncGroup, [Behaviour::Error(code::REBALANCE_IN_PROGRESS)]);
    let c = consumer(&broker);
    consume(&c, &["a"]).await;
    poll_until(&c, &broker, "a heartbeat", |r| r.iter().any(|r| r.api_key == ApiKey::Heartbeat)).await;
    let reqs = dedup_heartbeats(group_requests(&broker));
    let m = "member-1".to_string();
    assert_eq!(
        &reqs[..5],
        &[
            (ApiKey::JoinGroup, "".into(), -1),
            (ApiKey::SyncGroup, m.clone(), 1),
            (ApiKey::JoinGroup, m.clone(), -1),
            (ApiKey::SyncGroup, m.clone(), 2),
            (ApiKey::Heartbeat, m.clone(), 2),
        ]
    );
    c.close().await.unwrap();
}

/// Heartbeat answers NOT_COORDINATOR: the member looks the coordinator up again
/// (FindCoordinator) and goes on heartbeating in the same generation, without rejoining.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_coordinator_finds_the_coordinator_again() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    broker.script(ApiKey::Heartbeat, [Behaviour::Error(16)]);
    let c = consumer(&broker);
    consume(&c, &["a"]).await;
    poll_until(&c, &broker, "two FindCoordinator and a heartbeat after", |r| {
        let finds: Vec<usize> = r.iter().enumerate().filter(|(_, r)| r.api_key == ApiKey::FindCoordinator).map(|(i, _)| i).collect();
        finds.len() >= 2 && r[finds[1]..].iter().any(|r| r.api_key == ApiKey::Heartbeat)
    })
    .await;
    let reqs = dedup_heartbeats(group_requests(&broker));
    assert_eq!(reqs.iter().filter(|r| r.0 == ApiKey::JoinGroup).count(), 1, "no rejoin: {reqs:?}");
    assert!(reqs.iter().filter(|r| r.0 == ApiKey::Heartbeat).all(|r| r.1 == "member-1" && r.2 == 1), "{reqs:?}");
    c.close().await.unwrap();
}
