//! Record batch v2 codec (magic 2), hand-written for speed.
//!
//! Layout of a batch (all integers big-endian):
//!
//! ```text
//! baseOffset: int64 | batchLength: int32 | partitionLeaderEpoch: int32 | magic: int8 (2)
//! crc: uint32 (CRC-32C of everything from attributes to the end)
//! attributes: int16 | lastOffsetDelta: int32 | baseTimestamp: int64 | maxTimestamp: int64
//! producerId: int64 | producerEpoch: int16 | baseSequence: int32 | recordCount: int32
//! records (compressed as one block when the batch is compressed)
//! ```
//!
//! A record: `length: varint | attributes: int8 | timestampDelta: varlong | offsetDelta: varint |
//! keyLength: varint (-1 = null) | key | valueLength: varint (-1 = null) | value |
//! headerCount: varint | headers`, a header being `keyLength: varint | key (UTF-8) |
//! valueLength: varint (-1 = null) | value`. Varints are zigzag-encoded (protobuf style).
//!
//! Encoding writes each record once, at append time, into one buffer that already holds room for
//! the batch header; [`RecordBatchBuilder::build`] only compresses (when asked) and fills the
//! header. Decoding is zero-copy: keys, values and header values are [`Bytes`] slices of the input
//! (or of the decompressed buffer).

mod compression;
mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{decode_batch, decode_batches, ControlRecord, ControlRecordType, DecodedBatches, Record, RecordBatch, TimestampType};
pub use encode::{rewrite_producer_state, BatchAttributes, RecordBatchBuilder};

pub const MAGIC_V2: i8 = 2;

/// Size of the v2 batch header, up to and including the record count.
pub const BATCH_HEADER_SIZE: usize = 61;
/// baseOffset + batchLength: the bytes of a batch not counted in its `batchLength`.
pub const LOG_OVERHEAD: usize = 12;

// Offsets of the header fields.
const LENGTH_OFFSET: usize = 8;
const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const BASE_TIMESTAMP_OFFSET: usize = 27;
const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
const RECORD_COUNT_OFFSET: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;

/// Java client defaults when `compression.level` is not set (Kafka 3.8+, KIP-390).
pub const GZIP_DEFAULT_LEVEL: i32 = 6;
pub const LZ4_DEFAULT_LEVEL: i32 = 9;
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;
