//! DeleteRecords: delete the records of partitions before an offset.

use std::collections::BTreeMap;
use std::time::Instant;

use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

use super::{ms_until, Admin};
use crate::error::{Error, Result};
use crate::record::TopicPartition;

impl Admin {
    /// Deletes the records of each partition before its offset (-1: the high watermark), sending
    /// one request to each partition's leader. Returns each partition's new low watermark (log
    /// start offset), in the order given. A partition the broker refuses fails the call with an
    /// error naming it; leader changes are retried after a metadata refresh.
    pub async fn delete_records(&self, offsets: &[(TopicPartition, i64)]) -> Result<Vec<(TopicPartition, i64)>> {
        let deadline = Instant::now() + self.timeout();
        let mut attempt = 0u32;
        // Deleting again before the same offset is harmless: every round sends every partition.
        let results = super::retry_until(&self.cluster, deadline, "deleting records", |e| e.retriable(), |deadline| {
            attempt += 1;
            let refresh = attempt > 1;
            async move { self.delete_records_once(offsets, refresh, deadline).await }
        })
        .await?;
        let done: BTreeMap<TopicPartition, i64> = results.into_iter().collect();
        offsets
            .iter()
            .map(|(tp, _)| {
                done.get(tp)
                    .map(|lw| (tp.clone(), *lw))
                    .ok_or_else(|| Error::protocol(format!("DeleteRecords response does not mention {tp}")))
            })
            .collect()
    }

    /// One round: groups the partitions by leader and sends to each. Fails with the first error
    /// (retriable ones after every leader has been tried).
    async fn delete_records_once(
        &self,
        offsets: &[(TopicPartition, i64)],
        refresh: bool,
        deadline: Instant,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let topics: Vec<String> = {
            let mut t: Vec<String> = offsets.iter().map(|(tp, _)| tp.topic.clone()).collect();
            t.sort();
            t.dedup();
            t
        };
        if refresh {
            self.cluster.refresh_metadata(Some(&topics), false).await?;
        }
        let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<(i32, i64)>>> = BTreeMap::new();
        for (tp, offset) in offsets {
            let meta = self.cluster.topic(&tp.topic).await?;
            let part = meta.partitions.get(tp.partition as usize).filter(|p| p.partition == tp.partition).ok_or_else(|| {
                Error::broker(crate::error::UNKNOWN_TOPIC_OR_PARTITION, format!("deleting records of {tp}: no such partition"))
                    .with_retriable(false)
            })?;
            if part.leader < 0 {
                return Err(Error::broker(crate::error::LEADER_NOT_AVAILABLE, format!("deleting records of {tp}")));
            }
            by_leader.entry(part.leader).or_default().entry(tp.topic.clone()).or_default().push((tp.partition, *offset));
        }
        let sends = by_leader.into_iter().map(|(leader, topics)| async move {
            let req = DeleteRecordsRequest::default()
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, parts)| {
                            DeleteRecordsTopic::default().with_name(TopicName(StrBytes::from_string(name))).with_partitions(
                                parts
                                    .into_iter()
                                    .map(|(p, o)| DeleteRecordsPartition::default().with_partition_index(p).with_offset(o))
                                    .collect(),
                            )
                        })
                        .collect(),
                )
                .with_timeout_ms(ms_until(deadline));
            self.cluster.send_to(leader, &req).await
        });
        let responses = super::join_all(sends).await;
        let mut out = Vec::new();
        let mut retriable_err = None;
        for resp in responses {
            let resp = match resp {
                Ok(r) => r,
                Err(e) if e.retriable() => {
                    retriable_err = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            for t in resp.topics {
                for p in t.partitions {
                    let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
                    match Error::check(p.error_code, format!("deleting records of {tp}")) {
                        Ok(()) => out.push((tp, p.low_watermark)),
                        Err(e) if e.retriable() && e.code() != crate::error::UNKNOWN_TOPIC_OR_PARTITION => retriable_err = Some(e),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        match retriable_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}
