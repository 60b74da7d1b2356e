//! The consumer's group membership as a transactional producer needs it.

/// What `send_offsets_to_transaction` needs of the consumer whose offsets it commits: with the
/// generation and member id, the group coordinator fences zombie consumers (KIP-447).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Metadata for a group id alone (no generation check), as the Java client's
    /// `new ConsumerGroupMetadata(groupId)`.
    pub fn for_group(group_id: impl Into<String>) -> Self {
        ConsumerGroupMetadata { group_id: group_id.into(), generation_id: -1, member_id: String::new(), group_instance_id: None }
    }
}
