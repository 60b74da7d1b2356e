//! Offsets through the admin client: listing partition offsets (earliest, latest, by time) and a
//! group's committed offsets with their metadata, so bindings never reach into the cluster.

use super::Admin;
use crate::config::IsolationLevel;
use crate::consumer::fetch::{list_offsets_within, ListedOffset, OffsetSpec};
use crate::consumer::offsets::{fetch_committed, CommittedOffset};
use crate::error::Result;
use crate::record::TopicPartition;

impl Admin {
    /// Offsets of partitions (earliest, latest, or the first at a timestamp), one ListOffsets
    /// request per leader, within `default.api.timeout.ms`; one result per partition, in order.
    pub async fn list_offsets(
        &self,
        partitions: &[(TopicPartition, OffsetSpec)],
        isolation: IsolationLevel,
    ) -> Result<Vec<(TopicPartition, Result<ListedOffset>)>> {
        list_offsets_within(self.cluster(), partitions, isolation, self.timeout()).await
    }

    /// A group's committed offsets with their leader epochs and metadata strings (see
    /// [`Admin::list_consumer_group_offsets`]).
    pub async fn list_consumer_group_offsets_full(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>> {
        fetch_committed(self.cluster(), group, partitions, true).await
    }
}
