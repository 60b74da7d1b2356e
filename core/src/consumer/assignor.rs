//! Client-side partition assignors of the classic group protocol and the ConsumerProtocol
//! encoding of subscriptions and assignments (versions 0-3).
//!
//! The group leader runs the assignor the group chose (the first protocol, in the leader's
//! order of preference, that every member supports): `range`, `roundrobin` (eager) or
//! `cooperative-sticky` (incremental: partitions that move are first revoked by their owner in
//! one rebalance, then assigned in the next).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::{self as cpa, ConsumerProtocolAssignment};
use kafka_protocol::messages::consumer_protocol_subscription::{self as cps, ConsumerProtocolSubscription};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use bytes::{Buf, BufMut};

use crate::config::AssignorKind;
use crate::error::{Error, Result};
use crate::record::TopicPartition;

/// The protocol name of an assignor in JoinGroup.
pub fn protocol_name(kind: AssignorKind) -> &'static str {
    match kind {
        AssignorKind::Range => "range",
        AssignorKind::RoundRobin => "roundrobin",
        AssignorKind::CooperativeSticky => "cooperative-sticky",
    }
}

pub fn kind_for_name(name: &str) -> Option<AssignorKind> {
    match name {
        "range" => Some(AssignorKind::Range),
        "roundrobin" => Some(AssignorKind::RoundRobin),
        "cooperative-sticky" => Some(AssignorKind::CooperativeSticky),
        _ => None,
    }
}

/// Whether the assignor rebalances incrementally (KIP-429).
pub fn is_cooperative(kind: AssignorKind) -> bool {
    kind == AssignorKind::CooperativeSticky
}

/// One member's subscription as its JoinGroup metadata carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    pub topics: Vec<String>,
    pub owned: Vec<TopicPartition>,
    pub generation: i32,
    pub rack: Option<String>,
    pub user_data: Option<Bytes>,
}

fn group_by_topic(tps: &[TopicPartition]) -> BTreeMap<String, Vec<i32>> {
    let mut m: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        m.entry(tp.topic.clone()).or_default().push(tp.partition);
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

pub fn encode_subscription(s: &Subscription) -> Result<Bytes> {
    let version = 3i16;
    let mut topics = s.topics.clone();
    topics.sort();
    let msg = ConsumerProtocolSubscription::default()
        .with_topics(topics.into_iter().map(StrBytes::from_string).collect())
        .with_user_data(s.user_data.clone())
        .with_owned_partitions(
            group_by_topic(&s.owned)
                .into_iter()
                .map(|(t, ps)| cps::TopicPartition::default().with_topic(TopicName(StrBytes::from_string(t))).with_partitions(ps))
                .collect(),
        )
        .with_generation_id(s.generation)
        .with_rack_id(s.rack.clone().map(StrBytes::from_string));
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    msg.encode(&mut buf, version).map_err(|e| Error::protocol(format!("encoding a subscription: {e}")))?;
    Ok(buf.freeze())
}

pub fn decode_subscription(mut data: Bytes) -> Result<Subscription> {
    if data.len() < 2 {
        return Err(Error::protocol("a member's subscription metadata is too short"));
    }
    let version = data.get_i16().clamp(0, 3);
    let msg = ConsumerProtocolSubscription::decode(&mut data, version)
        .map_err(|e| Error::protocol(format!("decoding a subscription: {e}")))?;
    Ok(Subscription {
        topics: msg.topics.iter().map(|t| t.to_string()).collect(),
        owned: msg
            .owned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |&p| TopicPartition::new(t.topic.0.to_string(), p)))
            .collect(),
        generation: if version >= 2 { msg.generation_id } else { -1 },
        rack: msg.rack_id.map(|r| r.to_string()),
        user_data: msg.user_data,
    })
}

pub fn encode_assignment(tps: &[TopicPartition]) -> Result<Bytes> {
    let version = 3i16;
    let msg = ConsumerProtocolAssignment::default().with_assigned_partitions(
        group_by_topic(tps)
            .into_iter()
            .map(|(t, ps)| cpa::TopicPartition::default().with_topic(TopicName(StrBytes::from_string(t))).with_partitions(ps))
            .collect(),
    );
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    msg.encode(&mut buf, version).map_err(|e| Error::protocol(format!("encoding an assignment: {e}")))?;
    Ok(buf.freeze())
}

pub fn decode_assignment(mut data: Bytes) -> Result<Vec<TopicPartition>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    if data.len() < 2 {
        return Err(Error::protocol("an assignment is too short"));
    }
    let version = data.get_i16().clamp(0, 3);
    let msg = ConsumerProtocolAssignment::decode(&mut data, version)
        .map_err(|e| Error::protocol(format!("decoding an assignment: {e}")))?;
    let mut out: Vec<TopicPartition> = msg
        .assigned_partitions
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |&p| TopicPartition::new(t.topic.0.to_string(), p)))
        .collect();
    out.sort();
    Ok(out)
}

/// Runs `kind` over the members' subscriptions (`member id → subscription`, in any order) and
/// the partition counts of the topics (`topic → partitions`; topics missing from it are
/// skipped). Every member gets an entry, possibly empty.
pub fn assign(
    kind: AssignorKind,
    members: &BTreeMap<String, Subscription>,
    partitions: &HashMap<String, i32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = match kind {
        AssignorKind::Range => range(members, partitions),
        AssignorKind::RoundRobin => round_robin(members, partitions),
        AssignorKind::CooperativeSticky => cooperative_sticky(members, partitions),
    };
    for m in members.keys() {
        out.entry(m.clone()).or_default();
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn range(members: &BTreeMap<String, Subscription>, partitions: &HashMap<String, i32>) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut by_topic: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for (m, s) in members {
        for t in &s.topics {
            by_topic.entry(t.as_str()).or_default().push(m);
        }
    }
    let mut out: BTreeMap<String, Vec<TopicPartition>> = BTreeMap::new();
    for (topic, mut consumers) in by_topic {
        let Some(&n) = partitions.get(topic) else { continue };
        consumers.sort();
        consumers.dedup();
        let c = consumers.len() as i32;
        let per = n / c;
        let extra = n % c;
        for (i, m) in consumers.into_iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + if i < extra { 1 } else { 0 };
            out.entry(m.clone()).or_default().extend((start..start + len).map(|p| TopicPartition::new(topic, p)));
        }
    }
    out
}

fn all_partitions(members: &BTreeMap<String, Subscription>, partitions: &HashMap<String, i32>) -> Vec<TopicPartition> {
    let topics: BTreeSet<&String> = members.values().flat_map(|s| s.topics.iter()).collect();
    topics
        .into_iter()
        .filter_map(|t| partitions.get(t).map(|&n| (t, n)))
        .flat_map(|(t, n)| (0..n).map(move |p| TopicPartition::new(t.clone(), p)))
        .collect()
}

fn round_robin(members: &BTreeMap<String, Subscription>, partitions: &HashMap<String, i32>) -> BTreeMap<String, Vec<TopicPartition>> {
    let ids: Vec<&String> = members.keys().collect();
    let mut out: BTreeMap<String, Vec<TopicPartition>> = BTreeMap::new();
    if ids.is_empty() {
        return out;
    }
    let mut next = 0usize;
    for tp in all_partitions(members, partitions) {
        // The next member (in circular order) subscribed to the topic.
        for _ in 0..ids.len() {
            let m = ids[next % ids.len()];
            next += 1;
            if members[m].topics.contains(&tp.topic) {
                out.entry(m.clone()).or_default().push(tp);
                break;
            }
        }
    }
    out
}

/// Sticky and balanced, cooperative: each member keeps what it owns up to its quota, orphaned
/// and excess partitions go to the members with the fewest; a partition taken from a member
/// that still owns it is held back for one rebalance (its owner revokes it first).
fn cooperative_sticky(members: &BTreeMap<String, Subscription>, partitions: &HashMap<String, i32>) -> BTreeMap<String, Vec<TopicPartition>> {
    let all = all_partitions(members, partitions);
    let exists: BTreeSet<&TopicPartition> = all.iter().collect();
    // Previous owner of each partition: the claim of the highest generation wins.
    let mut prev_owner: HashMap<TopicPartition, (&String, i32)> = HashMap::new();
    for (m, s) in members {
        for tp in &s.owned {
            if !exists.contains(tp) || !s.topics.contains(&tp.topic) {
                continue;
            }
            match prev_owner.get(tp) {
                Some((_, g)) if *g >= s.generation => {}
                _ => {
                    prev_owner.insert(tp.clone(), (m, s.generation));
                }
            }
        }
    }
    let n_members = members.len().max(1);
    let total = all.len();
    let min_quota = total / n_members;
    let mut extra = total % n_members; // members that may hold min_quota + 1
    let mut assignment: BTreeMap<String, Vec<TopicPartition>> = members.keys().map(|m| (m.clone(), Vec::new())).collect();
    // Keep owned partitions, largest owners first so the "+1" slots go to those holding most.
    let mut owners: Vec<(&String, Vec<TopicPartition>)> = members
        .keys()
        .map(|m| {
            let mut owned: Vec<TopicPartition> =
                prev_owner.iter().filter(|(_, (o, _))| *o == m).map(|(tp, _)| tp.clone()).collect();
            owned.sort();
            (m, owned)
        })
        .collect();
    owners.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let mut taken: BTreeSet<TopicPartition> = BTreeSet::new();
    for (m, owned) in owners {
        let quota = if owned.len() > min_quota && extra > 0 {
            extra -= 1;
            min_quota + 1
        } else {
            min_quota
        };
        for tp in owned.into_iter().take(quota) {
            taken.insert(tp.clone());
            assignment.get_mut(m).unwrap().push(tp);
        }
    }
    // Hand out the rest to the least loaded subscribed member.
    for tp in all.iter().filter(|tp| !taken.contains(*tp)) {
        let candidate = assignment
            .iter()
            .filter(|(m, _)| members[*m].topics.contains(&tp.topic))
            .min_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.0.cmp(b.0)))
            .map(|(m, _)| m.clone());
        if let Some(m) = candidate {
            assignment.get_mut(&m).unwrap().push(tp.clone());
        }
    }
    // Cooperative: a partition moving away from a member that still owns it is not assigned yet.
    for (m, tps) in assignment.iter_mut() {
        tps.retain(|tp| match prev_owner.get(tp) {
            Some((owner, _)) => *owner == m,
            None => true,
        });
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(topics: &[&str], owned: &[(&str, i32)]) -> Subscription {
        Subscription {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: owned.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect(),
            generation: 1,
            ..Default::default()
        }
    }

    #[test]
    fn subscription_round_trips() {
        let s = sub(&["a", "b"], &[("a", 1), ("a", 0)]);
        let d = decode_subscription(encode_subscription(&s).unwrap()).unwrap();
        assert_eq!(d.topics, vec!["a", "b"]);
        assert_eq!(d.owned, vec![TopicPartition::new("a", 0), TopicPartition::new("a", 1)]);
        assert_eq!(d.generation, 1);
        let a = vec![TopicPartition::new("t", 2), TopicPartition::new("t", 0)];
        assert_eq!(decode_assignment(encode_assignment(&a).unwrap()).unwrap(), vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)]);
    }

    #[test]
    fn range_and_round_robin_split_evenly() {
        let members: BTreeMap<String, Subscription> =
            ["m1", "m2", "m3"].iter().map(|m| (m.to_string(), sub(&["t"], &[]))).collect();
        let parts = HashMap::from([("t".to_string(), 7)]);
        let r = assign(AssignorKind::Range, &members, &parts);
        assert_eq!(r["m1"].iter().map(|t| t.partition).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(r["m2"].iter().map(|t| t.partition).collect::<Vec<_>>(), vec![3, 4]);
        let rr = assign(AssignorKind::RoundRobin, &members, &parts);
        assert_eq!(rr["m1"].iter().map(|t| t.partition).collect::<Vec<_>>(), vec![0, 3, 6]);
        assert_eq!(rr["m3"].iter().map(|t| t.partition).collect::<Vec<_>>(), vec![2, 5]);
    }

    #[test]
    fn cooperative_sticky_keeps_owned_and_holds_back_moves() {
        let parts = HashMap::from([("t".to_string(), 6)]);
        // m1 owns everything; m2 joins: m1 keeps 3, the 3 others are held back this round.
        let mut members = BTreeMap::new();
        members.insert("m1".to_string(), sub(&["t"], &[("t", 0), ("t", 1), ("t", 2), ("t", 3), ("t", 4), ("t", 5)]));
        members.insert("m2".to_string(), sub(&["t"], &[]));
        let a = assign(AssignorKind::CooperativeSticky, &members, &parts);
        assert_eq!(a["m1"].len(), 3);
        assert!(a["m2"].is_empty());
        // Next round: m1 owns 3; m2 gets the other 3.
        members.insert("m1".to_string(), sub(&["t"], &[("t", 0), ("t", 1), ("t", 2)]));
        let a = assign(AssignorKind::CooperativeSticky, &members, &parts);
        assert_eq!(a["m1"].iter().map(|t| t.partition).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(a["m2"].iter().map(|t| t.partition).collect::<Vec<_>>(), vec![3, 4, 5]);
        // Three members own 2 each; one leaves: the others keep theirs and split the orphans.
        let mut members = BTreeMap::new();
        members.insert("a".to_string(), sub(&["t"], &[("t", 0), ("t", 1)]));
        members.insert("c".to_string(), sub(&["t"], &[("t", 4), ("t", 5)]));
        let a = assign(AssignorKind::CooperativeSticky, &members, &parts);
        assert_eq!(a["a"].len(), 3);
        assert_eq!(a["c"].len(), 3);
        assert!(a["a"].contains(&TopicPartition::new("t", 0)) && a["a"].contains(&TopicPartition::new("t", 1)));
        assert!(a["c"].contains(&TopicPartition::new("t", 4)) && a["c"].contains(&TopicPartition::new("t", 5)));
    }
}
