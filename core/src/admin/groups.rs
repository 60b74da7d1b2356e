//! Consumer group administration.

use super::Admin;
use crate::consumer::offsets::fetch_committed;
use crate::error::Result;
use crate::record::TopicPartition;

impl Admin {
    /// The offsets a group committed: for `partitions` (-1 where nothing is committed), or for
    /// every partition it committed when `None`. For named partitions, offsets still pending in
    /// a transaction are waited for (require_stable), so the answer is what a read_committed
    /// consumer would start from.
    pub async fn list_consumer_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let offsets = fetch_committed(self.cluster(), group, partitions, true).await?;
        Ok(offsets.into_iter().map(|c| (c.partition, c.offset)).collect())
    }
}
