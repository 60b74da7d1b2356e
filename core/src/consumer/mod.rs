//! The consumer. For now, the low-level reads it builds on: [`fetch`] (ListOffsets and Fetch of
//! one partition, and [`fetch::read_all`] to read a range back).

pub mod fetch;
pub mod offsets;

pub use fetch::{fetch, list_offsets, list_offsets_within, read_all, FetchOptions, FetchedPartition, ListedOffset, OffsetSpec};
