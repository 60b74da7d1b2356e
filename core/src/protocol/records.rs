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

use std::io::{Read, Write};

use bytes::{BufMut, Bytes, BytesMut};

use crate::config::CompressionType;
use crate::error::{Error, ErrorKind, Result};
use crate::record::Header;

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

/// xerial snappy-java framing, as written by the Java client (`SnappyOutputStream`).
const XERIAL_MAGIC: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// The batch-level fields the producer chooses when a batch is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchAttributes {
    pub compression: CompressionType,
    /// `compression.level`; `None` (or -1 for gzip/lz4) is the codec's Java default.
    pub compression_level: Option<i32>,
    /// -1 when not idempotent.
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub transactional: bool,
    /// -1 for produced batches (the broker sets it).
    pub partition_leader_epoch: i32,
}

impl Default for BatchAttributes {
    fn default() -> Self {
        BatchAttributes {
            compression: CompressionType::None,
            compression_level: None,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            partition_leader_epoch: -1,
        }
    }
}

/// Accumulates records of one partition, already varint-encoded (uncompressed), so a batch is
/// built once at drain time.
#[derive(Clone, Debug)]
pub struct RecordBatchBuilder {
    /// `BATCH_HEADER_SIZE` placeholder bytes, then the encoded records.
    buf: BytesMut,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl RecordBatchBuilder {
    /// `base_timestamp` is the first record's timestamp (ms).
    pub fn new(base_timestamp: i64) -> Self {
        Self::with_capacity(base_timestamp, 1024)
    }

    /// Reserve room for `bytes` bytes of batch (header included).
    pub fn with_capacity(base_timestamp: i64, bytes: usize) -> Self {
        let mut buf = BytesMut::with_capacity(bytes.max(BATCH_HEADER_SIZE));
        buf.put_bytes(0, BATCH_HEADER_SIZE);
        RecordBatchBuilder {
            buf,
            count: 0,
            base_timestamp,
            max_timestamp: i64::MIN,
        }
    }

    /// Size in bytes the record would take inside a batch (length prefix included), without
    /// encoding it. Lengths too large for the format give sizes larger than any batch may be.
    pub fn record_size(
        offset_delta: i32,
        timestamp_delta: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        let body = body_size(offset_delta, timestamp_delta, key, value, headers);
        varlong_size(body as i64) + body
    }

    /// Append a record; its offset delta is the number of records appended so far. Returns the
    /// bytes added. Fails (with nothing appended) if a key, value or header is larger than the
    /// format allows or the batch already holds `i32::MAX` records.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<usize> {
        let offset_delta = self.count;
        if offset_delta == i32::MAX {
            return Err(Error::invalid("record batch is full (i32::MAX records)"));
        }
        let timestamp_delta = timestamp.wrapping_sub(self.base_timestamp);
        let body = body_size(offset_delta, timestamp_delta, key, value, headers);
        if body > i32::MAX as usize {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                format!("record of {body} bytes is larger than the record format allows"),
            ));
        }
        let total = varint_size(body as i32) + body;
        let buf = &mut self.buf;
        buf.reserve(total);
        put_varint(buf, body as i32);
        buf.put_u8(0); // record attributes: unused
        put_varlong(buf, timestamp_delta);
        put_varint(buf, offset_delta);
        put_nullable_bytes(buf, key);
        put_nullable_bytes(buf, value);
        put_varint(buf, headers.len() as i32);
        for h in headers {
            put_varint(buf, h.key.len() as i32);
            buf.put_slice(h.key.as_bytes());
            put_nullable_bytes(buf, h.value.as_deref());
        }
        self.count += 1;
        if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        Ok(total)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uncompressed batch size, the 61-byte header included.
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// The largest record timestamp, -1 when empty.
    pub fn max_timestamp(&self) -> i64 {
        if self.count == 0 {
            -1
        } else {
            self.max_timestamp
        }
    }

    /// Build the wire batch: header + (compressed) records, CRC-32C over attributes..end.
    /// Copies the records once when uncompressed; see [`RecordBatchBuilder::finish`].
    pub fn build(&self, attrs: &BatchAttributes) -> Result<Bytes> {
        self.check_buildable()?;
        let records = &self.buf[BATCH_HEADER_SIZE..];
        let mut out = match attrs.compression {
            CompressionType::None => {
                let mut out = BytesMut::with_capacity(self.buf.len());
                out.put_bytes(0, BATCH_HEADER_SIZE);
                out.put_slice(records);
                out
            }
            codec => {
                let mut out = BytesMut::with_capacity(BATCH_HEADER_SIZE + records.len() / 2 + 64);
                out.put_bytes(0, BATCH_HEADER_SIZE);
                compress(codec, attrs.compression_level, records, &mut out)?;
                out
            }
        };
        self.fill_header(&mut out, attrs)?;
        Ok(out.freeze())
    }

    /// Like [`RecordBatchBuilder::build`], consuming the builder: an uncompressed batch is
    /// finished in place, without copying the records.
    pub fn finish(mut self, attrs: &BatchAttributes) -> Result<Bytes> {
        if attrs.compression != CompressionType::None {
            return self.build(attrs);
        }
        self.check_buildable()?;
        let mut out = std::mem::take(&mut self.buf);
        self.fill_header(&mut out, attrs)?;
        Ok(out.freeze())
    }

    fn check_buildable(&self) -> Result<()> {
        if self.count == 0 {
            return Err(Error::invalid("cannot build an empty record batch"));
        }
        Ok(())
    }

    fn fill_header(&self, out: &mut BytesMut, attrs: &BatchAttributes) -> Result<()> {
        let batch_length = out.len() - LOG_OVERHEAD;
        if batch_length > i32::MAX as usize {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                format!(
                    "record batch of {} bytes is larger than the format allows",
                    out.len()
                ),
            ));
        }
        let mut attributes = compression_id(attrs.compression);
        if attrs.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        let mut h = &mut out[..BATCH_HEADER_SIZE];
        h.put_i64(0); // base offset: the broker assigns offsets
        h.put_i32(batch_length as i32);
        h.put_i32(attrs.partition_leader_epoch);
        h.put_i8(MAGIC_V2);
        h.put_u32(0); // crc, filled below
        h.put_i16(attributes);
        h.put_i32(self.count - 1);
        h.put_i64(self.base_timestamp);
        h.put_i64(self.max_timestamp);
        h.put_i64(attrs.producer_id);
        h.put_i16(attrs.producer_epoch);
        h.put_i32(attrs.base_sequence);
        h.put_i32(self.count);
        let crc = crc32c::crc32c(&out[ATTRIBUTES_OFFSET..]);
        out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }
}

/// Rewrite the producer id, epoch and base sequence of a built batch (after an epoch bump of an
/// idempotent producer, for instance) and recompute its CRC.
pub fn rewrite_producer_state(
    batch: &mut [u8],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<()> {
    if batch.len() < BATCH_HEADER_SIZE || batch[MAGIC_OFFSET] as i8 != MAGIC_V2 {
        return Err(Error::invalid("not a v2 record batch"));
    }
    batch[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&producer_id.to_be_bytes());
    batch[PRODUCER_EPOCH_OFFSET..PRODUCER_EPOCH_OFFSET + 2]
        .copy_from_slice(&producer_epoch.to_be_bytes());
    batch[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4]
        .copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

fn body_size(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let mut size = 1 // attributes
        + varlong_size(timestamp_delta)
        + varint_size(offset_delta)
        + nullable_bytes_size(key)
        + nullable_bytes_size(value)
        + varlong_size(headers.len() as i64);
    for h in headers {
        size += varlong_size(h.key.len() as i64) + h.key.len();
        size += nullable_bytes_size(h.value.as_deref());
    }
    size
}

#[inline]
fn nullable_bytes_size(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varlong_size(b.len() as i64) + b.len(),
    }
}

#[inline]
fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[inline]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn varint_size(v: i32) -> usize {
    let z = zigzag32(v);
    // 1 byte per started group of 7 bits, at least 1.
    let bits = 32 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
fn varlong_size(v: i64) -> usize {
    let z = zigzag64(v);
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
fn put_unsigned_varint(buf: &mut BytesMut, mut z: u64) {
    // At most 10 bytes: write them to the stack then copy once.
    let mut tmp = [0u8; 10];
    let mut n = 0;
    while z >= 0x80 {
        tmp[n] = (z as u8) | 0x80;
        z >>= 7;
        n += 1;
    }
    tmp[n] = z as u8;
    buf.put_slice(&tmp[..=n]);
}

#[inline]
fn put_varint(buf: &mut BytesMut, v: i32) {
    let z = zigzag32(v);
    if z < 0x80 {
        buf.put_u8(z as u8);
    } else {
        put_unsigned_varint(buf, z as u64);
    }
}

#[inline]
fn put_varlong(buf: &mut BytesMut, v: i64) {
    let z = zigzag64(v);
    if z < 0x80 {
        buf.put_u8(z as u8);
    } else {
        put_unsigned_varint(buf, z);
    }
}

#[inline]
fn put_nullable_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

fn compression_id(c: CompressionType) -> i16 {
    match c {
        CompressionType::None => 0,
        CompressionType::Gzip => 1,
        CompressionType::Snappy => 2,
        CompressionType::Lz4 => 3,
        CompressionType::Zstd => 4,
    }
}

fn compression_from_id(id: i16) -> Option<CompressionType> {
    Some(match id {
        0 => CompressionType::None,
        1 => CompressionType::Gzip,
        2 => CompressionType::Snappy,
        3 => CompressionType::Lz4,
        4 => CompressionType::Zstd,
        _ => return None,
    })
}

fn compression_name(c: CompressionType) -> &'static str {
    match c {
        CompressionType::None => "none",
        CompressionType::Gzip => "gzip",
        CompressionType::Snappy => "snappy",
        CompressionType::Lz4 => "lz4",
        CompressionType::Zstd => "zstd",
    }
}

fn level_error(codec: &str, level: i32, range: &str) -> Error {
    Error::invalid(format!(
        "compression.level {level} is out of range for {codec} ({range})"
    ))
}

fn compress_error(codec: CompressionType, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Serialization,
        format!("{} compression failed: {e}", compression_name(codec)),
    )
}

/// Compress `input` with `codec`, appending to `out`. Levels follow the Java client: gzip 1-9
/// (0 = store), lz4 1-17 (the default 9 = fast mode), zstd -131072..22; -1 means the default for
/// gzip/lz4.
fn compress(
    codec: CompressionType,
    level: Option<i32>,
    input: &[u8],
    out: &mut BytesMut,
) -> Result<()> {
    match codec {
        CompressionType::None => out.put_slice(input),
        CompressionType::Gzip => {
            let level = match level {
                None | Some(-1) => GZIP_DEFAULT_LEVEL,
                Some(l @ 0..=9) => l,
                Some(l) => return Err(level_error("gzip", l, "1-9")),
            };
            let mut enc =
                flate2::write::GzEncoder::new(out.writer(), flate2::Compression::new(level as u32));
            enc.write_all(input).map_err(|e| compress_error(codec, e))?;
            enc.finish().map_err(|e| compress_error(codec, e))?;
        }
        CompressionType::Snappy => {
            if let Some(l) = level.filter(|l| *l != -1 && *l != 0) {
                return Err(level_error("snappy", l, "snappy has no levels"));
            }
            out.put_slice(XERIAL_MAGIC);
            let mut enc = snap::raw::Encoder::new();
            for block in input.chunks(XERIAL_BLOCK_SIZE) {
                let start = out.len();
                let max = snap::raw::max_compress_len(block.len());
                out.resize(start + 4 + max, 0);
                let n = enc
                    .compress(block, &mut out[start + 4..])
                    .map_err(|e| compress_error(codec, e))?;
                out.truncate(start + 4 + n);
                out[start..start + 4].copy_from_slice(&(n as u32).to_be_bytes());
            }
        }
        CompressionType::Lz4 => {
            // Java's Lz4BlockOutputStream uses the fast compressor at the default level (9) and
            // the high-compression one at any other; liblz4's frame API is fast below level 3.
            let level = match level {
                None | Some(-1) | Some(0) | Some(LZ4_DEFAULT_LEVEL) => 0,
                Some(l @ 1..=17) => l,
                Some(l) => return Err(level_error("lz4", l, "1-17")),
            };
            // Like Java's Lz4BlockOutputStream: 64 KiB independent blocks, no checksums.
            let mut enc = lz4::EncoderBuilder::new()
                .level(level as u32)
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                .build(out.writer())
                .map_err(|e| compress_error(codec, e))?;
            enc.write_all(input).map_err(|e| compress_error(codec, e))?;
            let (_, res) = enc.finish();
            res.map_err(|e| compress_error(codec, e))?;
        }
        CompressionType::Zstd => {
            let level = match level {
                None => ZSTD_DEFAULT_LEVEL,
                Some(l @ -131072..=22) => l,
                Some(l) => return Err(level_error("zstd", l, "-131072..22")),
            };
            let mut enc = zstd::stream::Encoder::new(out.writer(), level)
                .map_err(|e| compress_error(codec, e))?;
            enc.set_pledged_src_size(Some(input.len() as u64))
                .map_err(|e| compress_error(codec, e))?;
            enc.write_all(input).map_err(|e| compress_error(codec, e))?;
            enc.finish().map_err(|e| compress_error(codec, e))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// A decoded record. Keys, values and header values share the fetched (or decompressed) buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub offset: i64,
    /// Absolute timestamp; for `LogAppendTime` batches, the batch's max timestamp (as the Java
    /// client does).
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

/// The kind of a control record (the key of the only record of a control batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlRecordType {
    /// A transaction marker: the transaction was aborted.
    Abort,
    /// A transaction marker: the transaction was committed.
    Commit,
    /// Any other type (KRaft metadata control records, future types).
    Other(i16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRecord {
    pub version: i16,
    pub kind: ControlRecordType,
}

impl ControlRecord {
    /// `true` for a commit marker, `false` for an abort marker (or another control type).
    pub fn commit(&self) -> bool {
        self.kind == ControlRecordType::Commit
    }
    pub fn abort(&self) -> bool {
        self.kind == ControlRecordType::Abort
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBatch {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub compression: CompressionType,
    pub timestamp_type: TimestampType,
    pub transactional: bool,
    pub control: bool,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records: Vec<Record>,
}

impl RecordBatch {
    /// The offset of the last record the batch held when written (compaction may have removed
    /// records, so it can be past the last record present). The next fetch starts after it.
    pub fn last_offset(&self) -> i64 {
        self.base_offset.wrapping_add(self.last_offset_delta as i64)
    }

    /// For a control batch, its control record (a transaction marker on user topics).
    pub fn control_record(&self) -> Option<ControlRecord> {
        if !self.control {
            return None;
        }
        let key = self.records.first()?.key.as_ref()?;
        if key.len() < 4 {
            return None;
        }
        let version = i16::from_be_bytes([key[0], key[1]]);
        let kind = match i16::from_be_bytes([key[2], key[3]]) {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            other => ControlRecordType::Other(other),
        };
        Some(ControlRecord { version, kind })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedBatches {
    pub batches: Vec<RecordBatch>,
    /// The data ended with an incomplete batch (normal at the end of a fetch response); it was
    /// skipped.
    pub truncated: bool,
}

/// Decodes the record batches of a fetch response's `records` bytes. Zero-copy: keys, values and
/// header values are slices of `data` when uncompressed, of the decompressed buffer otherwise.
/// A truncated final batch is skipped and reported through `truncated`.
pub fn decode_batches(data: Bytes, verify_crc: bool) -> Result<DecodedBatches> {
    let mut out = DecodedBatches::default();
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = &data[pos..];
        // Java's ByteBufferLogInputStream: fewer bytes than up to the magic = partial batch.
        if rest.len() < MAGIC_OFFSET + 1 {
            out.truncated = true;
            break;
        }
        let base_offset = read_i64(rest, 0);
        let batch_length = read_i32(rest, LENGTH_OFFSET);
        // 14: the smallest legal length of any message format (legacy v0 records).
        if batch_length < 14 {
            return Err(Error::protocol(format!(
                "record batch at offset {base_offset}: invalid batch length {batch_length}"
            )));
        }
        let total = LOG_OVERHEAD + batch_length as usize;
        if total > rest.len() {
            out.truncated = true;
            break;
        }
        let batch = data.slice(pos..pos + total);
        out.batches.push(decode_batch(batch, verify_crc)?);
        pos += total;
    }
    Ok(out)
}

/// Decode one complete batch (exactly `LOG_OVERHEAD + batchLength` bytes).
pub fn decode_batch(batch: Bytes, verify_crc: bool) -> Result<RecordBatch> {
    let b = &batch[..];
    if b.len() < MAGIC_OFFSET + 1 {
        return Err(Error::protocol(format!(
            "record batch of {} bytes is too short",
            b.len()
        )));
    }
    let base_offset = read_i64(b, 0);
    let magic = b[MAGIC_OFFSET] as i8;
    if magic != MAGIC_V2 {
        return Err(Error::protocol(format!(
            "record batch at offset {base_offset}: unsupported message format magic {magic}"
        )));
    }
    if b.len() < BATCH_HEADER_SIZE {
        return Err(Error::protocol(format!(
            "record batch at offset {base_offset}: {} bytes is shorter than the v2 header",
            b.len()
        )));
    }
    let batch_length = read_i32(b, LENGTH_OFFSET);
    if batch_length < 0 || LOG_OVERHEAD + batch_length as usize != b.len() {
        return Err(Error::protocol(format!(
            "record batch at offset {base_offset}: batch length {batch_length} does not match {} bytes",
            b.len() - LOG_OVERHEAD
        )));
    }
    let crc = read_u32(b, CRC_OFFSET);
    if verify_crc {
        let computed = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
        if computed != crc {
            return Err(Error::protocol(format!(
                "record batch at offset {base_offset} is corrupt: CRC-32C is {computed:#010x}, \
                 the batch says {crc:#010x}"
            )));
        }
    }
    let attributes = read_i16(b, ATTRIBUTES_OFFSET);
    let compression = compression_from_id(attributes & COMPRESSION_MASK).ok_or_else(|| {
        Error::protocol(format!(
            "record batch at offset {base_offset}: unknown compression codec {}",
            attributes & COMPRESSION_MASK
        ))
    })?;
    let timestamp_type = if attributes & TIMESTAMP_TYPE_BIT != 0 {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    };
    let base_timestamp = read_i64(b, BASE_TIMESTAMP_OFFSET);
    let max_timestamp = read_i64(b, MAX_TIMESTAMP_OFFSET);
    let count = read_i32(b, RECORD_COUNT_OFFSET);
    if count < 0 {
        return Err(Error::protocol(format!(
            "record batch at offset {base_offset}: invalid record count {count}"
        )));
    }

    let payload = batch.slice(BATCH_HEADER_SIZE..);
    let records_buf = match compression {
        CompressionType::None => payload,
        codec => decompress(codec, &payload)
            .map_err(|e| e.context(format!("record batch at offset {base_offset}")))?,
    };
    let log_append_ts = (timestamp_type == TimestampType::LogAppendTime).then_some(max_timestamp);
    let records = decode_records(
        records_buf,
        count,
        base_offset,
        base_timestamp,
        log_append_ts,
    )
    .map_err(|e| e.context(format!("record batch at offset {base_offset}")))?;

    Ok(RecordBatch {
        base_offset,
        partition_leader_epoch: read_i32(b, PARTITION_LEADER_EPOCH_OFFSET),
        magic,
        crc,
        compression,
        timestamp_type,
        transactional: attributes & TRANSACTIONAL_BIT != 0,
        control: attributes & CONTROL_BIT != 0,
        last_offset_delta: read_i32(b, LAST_OFFSET_DELTA_OFFSET),
        base_timestamp,
        max_timestamp,
        producer_id: read_i64(b, PRODUCER_ID_OFFSET),
        producer_epoch: read_i16(b, PRODUCER_EPOCH_OFFSET),
        base_sequence: read_i32(b, BASE_SEQUENCE_OFFSET),
        records,
    })
}

#[inline]
fn read_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
#[inline]
fn read_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline]
fn read_u32(b: &[u8], at: usize) -> u32 {
    read_i32(b, at) as u32
}
#[inline]
fn read_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

fn decompress_error(codec: CompressionType, e: impl std::fmt::Display) -> Error {
    Error::protocol(format!(
        "{} decompression failed: {e}",
        compression_name(codec)
    ))
}

fn decompress(codec: CompressionType, input: &[u8]) -> Result<Bytes> {
    // Start from a guess of the ratio; the Vec grows as needed.
    let mut out = Vec::with_capacity(input.len().saturating_mul(3).min(1 << 24));
    match codec {
        CompressionType::None => out.extend_from_slice(input),
        CompressionType::Gzip => {
            // Multi-member, like Java's GZIPInputStream.
            flate2::read::MultiGzDecoder::new(input)
                .read_to_end(&mut out)
                .map_err(|e| decompress_error(codec, e))?;
        }
        CompressionType::Snappy => snappy_decompress(input, &mut out)?,
        CompressionType::Lz4 => {
            let mut dec = lz4::Decoder::new(input).map_err(|e| decompress_error(codec, e))?;
            dec.read_to_end(&mut out)
                .map_err(|e| decompress_error(codec, e))?;
            let (_, res) = dec.finish();
            res.map_err(|_| decompress_error(codec, "truncated lz4 frame"))?;
        }
        CompressionType::Zstd => {
            let mut dec = zstd::stream::read::Decoder::with_buffer(input)
                .map_err(|e| decompress_error(codec, e))?;
            dec.read_to_end(&mut out)
                .map_err(|e| decompress_error(codec, e))?;
        }
    }
    Ok(Bytes::from(out))
}

/// xerial-framed snappy (what the Java client writes), or raw snappy when the frame magic is
/// absent (as snappy-java's `SnappyInputStream` falls back).
fn snappy_decompress(input: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let codec = CompressionType::Snappy;
    let mut dec = snap::raw::Decoder::new();
    let mut block = |data: &[u8], out: &mut Vec<u8>| -> Result<()> {
        let len = snap::raw::decompress_len(data).map_err(|e| decompress_error(codec, e))?;
        // A snappy element expands at most 64 bytes from 3: refuse absurd claimed lengths before
        // allocating for them.
        if len > data.len().saturating_mul(32).saturating_add(64) {
            return Err(decompress_error(
                codec,
                format!(
                    "block of {} bytes claims {len} uncompressed bytes",
                    data.len()
                ),
            ));
        }
        let start = out.len();
        out.resize(start + len, 0);
        let n = dec
            .decompress(data, &mut out[start..])
            .map_err(|e| decompress_error(codec, e))?;
        out.truncate(start + n);
        Ok(())
    };
    if input.len() < XERIAL_MAGIC.len() || input[..8] != XERIAL_MAGIC[..8] {
        return block(input, out);
    }
    // Header: magic (8), version (4), compatible version (4).
    let mut rest = &input[XERIAL_MAGIC.len()..];
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(decompress_error(codec, "truncated xerial block length"));
        }
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if n > rest.len() {
            return Err(decompress_error(
                codec,
                format!("xerial block of {n} bytes but only {} remain", rest.len()),
            ));
        }
        block(&rest[..n], out)?;
        rest = &rest[n..];
    }
    Ok(())
}

/// A cursor over a records buffer that hands out zero-copy slices of it.
struct Cursor<'a> {
    bytes: &'a Bytes,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    #[inline]
    fn u8(&mut self) -> Result<u8> {
        match self.bytes.get(self.pos) {
            Some(b) => {
                self.pos += 1;
                Ok(*b)
            }
            None => Err(Error::protocol("unexpected end of records")),
        }
    }

    #[inline]
    fn unsigned_varint(&mut self, max_bytes: u32) -> Result<u64> {
        let mut value = 0u64;
        let mut shift = 0u32;
        for _ in 0..max_bytes {
            let b = self.u8()?;
            value |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
        Err(Error::protocol(format!(
            "varint longer than {max_bytes} bytes"
        )))
    }

    #[inline]
    fn varint(&mut self) -> Result<i32> {
        // Fast path: one byte.
        if let Some(&b) = self.bytes.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(((b >> 1) as i32) ^ -((b & 1) as i32));
            }
        }
        let z = self.unsigned_varint(5)? as u32;
        Ok(((z >> 1) as i32) ^ -((z & 1) as i32))
    }

    #[inline]
    fn varlong(&mut self) -> Result<i64> {
        let z = self.unsigned_varint(10)?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    #[inline]
    fn slice(&mut self, len: usize, what: &str) -> Result<Bytes> {
        if len > self.remaining() {
            return Err(Error::protocol(format!(
                "{what} of {len} bytes but only {} remain",
                self.remaining()
            )));
        }
        let s = self.bytes.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(s)
    }

    #[inline]
    fn nullable_bytes(&mut self, what: &str) -> Result<Option<Bytes>> {
        let len = self.varint()?;
        match len {
            -1 => Ok(None),
            l if l < -1 => Err(Error::protocol(format!("invalid {what} length {l}"))),
            l => Ok(Some(self.slice(l as usize, what)?)),
        }
    }
}

fn decode_records(
    buf: Bytes,
    count: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
) -> Result<Vec<Record>> {
    // Never trust `count` for the allocation: a record takes at least 7 bytes.
    let mut records = Vec::with_capacity((count as usize).min(buf.len() / 7));
    let mut c = Cursor {
        bytes: &buf,
        pos: 0,
    };
    for i in 0..count {
        let length = c.varint()?;
        if length < 0 || length as usize > c.remaining() {
            return Err(Error::protocol(format!(
                "record {i}: length {length} but {} bytes remain",
                c.remaining()
            )));
        }
        let start = c.pos;
        let _attributes = c.u8()?;
        let timestamp_delta = c.varlong()?;
        let offset_delta = c.varint()?;
        let key = c.nullable_bytes("key")?;
        let value = c.nullable_bytes("value")?;
        let header_count = c.varint()?;
        if header_count < 0 {
            return Err(Error::protocol(format!(
                "record {i}: invalid header count {header_count}"
            )));
        }
        // A header takes at least 2 bytes.
        let mut headers = Vec::with_capacity((header_count as usize).min(c.remaining() / 2));
        for _ in 0..header_count {
            let key_len = c.varint()?;
            if key_len < 0 {
                return Err(Error::protocol(format!(
                    "record {i}: invalid header key length {key_len}"
                )));
            }
            let key_len = key_len as usize;
            if key_len > c.remaining() {
                return Err(Error::protocol(format!(
                    "record {i}: header key of {key_len} bytes but only {} remain",
                    c.remaining()
                )));
            }
            let raw = &buf[c.pos..c.pos + key_len];
            c.pos += key_len;
            // Like Java, invalid UTF-8 is replaced rather than failing the whole fetch.
            let key = String::from_utf8_lossy(raw).into_owned();
            let value = c.nullable_bytes("header value")?;
            headers.push(Header { key, value });
        }
        if c.pos - start != length as usize {
            return Err(Error::protocol(format!(
                "record {i}: length says {length} bytes but the record took {}",
                c.pos - start
            )));
        }
        records.push(Record {
            offset: base_offset.wrapping_add(offset_delta as i64),
            timestamp: log_append_time.unwrap_or(base_timestamp.wrapping_add(timestamp_delta)),
            key,
            value,
            headers,
        });
    }
    if c.remaining() != 0 {
        return Err(Error::protocol(format!(
            "{} bytes left after the {count} records the batch declares",
            c.remaining()
        )));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::records as kp;

    const ALL: [CompressionType; 5] = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];

    fn attrs(compression: CompressionType) -> BatchAttributes {
        BatchAttributes {
            compression,
            ..Default::default()
        }
    }

    type Sample = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<Header>);

    /// A varied set of records: keys, tombstones, repeated/empty/null header values.
    fn sample(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| {
                let key = if i % 5 == 0 {
                    None
                } else {
                    Some(format!("key-{i}").into_bytes())
                };
                let value = if i % 7 == 3 {
                    None
                } else {
                    Some(format!("value {i} {}", "x".repeat(i % 300)).into_bytes())
                };
                let mut headers = Vec::new();
                if i % 2 == 0 {
                    headers.push(Header::new("trace", format!("t{i}")));
                    headers.push(Header::new("trace", "again")); // repeated key
                    headers.push(Header::new("empty", Bytes::new()));
                    headers.push(Header {
                        key: "null".into(),
                        value: None,
                    });
                    headers.push(Header::new("", "empty key"));
                }
                // Timestamps go back and forth around the base (negative deltas too).
                let ts = 1_700_000_000_000 + (i as i64 * 37 % 101) - 50;
                (ts, key, value, headers)
            })
            .collect()
    }

    fn build(recs: &[Sample], a: &BatchAttributes) -> Bytes {
        let mut b = RecordBatchBuilder::new(recs[0].0);
        let mut expected_size = BATCH_HEADER_SIZE;
        for (i, (ts, k, v, h)) in recs.iter().enumerate() {
            let predicted = RecordBatchBuilder::record_size(
                i as i32,
                ts - recs[0].0,
                k.as_deref(),
                v.as_deref(),
                h,
            );
            let added = b.append(*ts, k.as_deref(), v.as_deref(), h).unwrap();
            assert_eq!(predicted, added);
            expected_size += added;
        }
        assert_eq!(b.len(), recs.len());
        assert_eq!(b.size_in_bytes(), expected_size);
        assert_eq!(b.max_timestamp(), recs.iter().map(|r| r.0).max().unwrap());
        b.build(a).unwrap()
    }

    #[test]
    fn varint_sizes_match_encoding() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            8191,
            8192,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, v);
            assert_eq!(buf.len(), varlong_size(v), "{v}");
            let bytes = buf.freeze();
            let mut c = Cursor {
                bytes: &bytes,
                pos: 0,
            };
            assert_eq!(c.varlong().unwrap(), v);
            if let Ok(v32) = i32::try_from(v) {
                let mut buf = BytesMut::new();
                put_varint(&mut buf, v32);
                assert_eq!(buf.len(), varint_size(v32));
                let bytes = buf.freeze();
                let mut c = Cursor {
                    bytes: &bytes,
                    pos: 0,
                };
                assert_eq!(c.varint().unwrap(), v32);
            }
        }
        // Protobuf zigzag vectors: 0→0, -1→1, 1→2, -2→3, 2147483647→4294967294, -2147483648→4294967295.
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(i32::MAX), 4294967294);
        assert_eq!(zigzag32(i32::MIN), 4294967295);
    }

    #[test]
    fn crc32c_check_value() {
        // The CRC-32C (Castagnoli) check value from the CRC catalogue.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn round_trip_every_compression() {
        let recs = sample(500);
        for codec in ALL {
            let a = BatchAttributes {
                compression: codec,
                producer_id: 42,
                producer_epoch: 3,
                base_sequence: 17,
                transactional: true,
                ..Default::default()
            };
            let wire = build(&recs, &a);
            let decoded = decode_batches(wire.clone(), true).unwrap();
            assert!(!decoded.truncated);
            assert_eq!(decoded.batches.len(), 1);
            let batch = &decoded.batches[0];
            assert_eq!(batch.compression, codec);
            assert_eq!(batch.magic, 2);
            assert_eq!(batch.producer_id, 42);
            assert_eq!(batch.producer_epoch, 3);
            assert_eq!(batch.base_sequence, 17);
            assert!(batch.transactional);
            assert!(!batch.control);
            assert_eq!(batch.partition_leader_epoch, -1);
            assert_eq!(batch.timestamp_type, TimestampType::CreateTime);
            assert_eq!(batch.last_offset_delta, 499);
            assert_eq!(batch.last_offset(), 499);
            assert_eq!(batch.records.len(), recs.len());
            for (i, (r, (ts, k, v, h))) in batch.records.iter().zip(&recs).enumerate() {
                assert_eq!(r.offset, i as i64);
                assert_eq!(r.timestamp, *ts);
                assert_eq!(r.key.as_deref(), k.as_deref());
                assert_eq!(r.value.as_deref(), v.as_deref());
                assert_eq!(&r.headers, h);
            }
            if codec != CompressionType::None {
                let plain = build(&recs, &attrs(CompressionType::None));
                assert!(wire.len() < plain.len(), "{codec:?} did not compress");
            }
        }
    }

    #[test]
    fn compression_levels() {
        let recs = sample(200);
        for (codec, level) in [
            (CompressionType::Gzip, 1),
            (CompressionType::Gzip, 9),
            (CompressionType::Gzip, -1),
            (CompressionType::Lz4, 1),
            (CompressionType::Lz4, 9),
            (CompressionType::Lz4, 12),
            (CompressionType::Lz4, 17),
            (CompressionType::Zstd, -5),
            (CompressionType::Zstd, 19),
        ] {
            let a = BatchAttributes {
                compression: codec,
                compression_level: Some(level),
                ..Default::default()
            };
            let wire = build(&recs, &a);
            let batch = &decode_batches(wire, true).unwrap().batches[0];
            assert_eq!(batch.records.len(), 200, "{codec:?} {level}");
        }
        let mut b = RecordBatchBuilder::new(0);
        b.append(0, None, Some(b"v"), &[]).unwrap();
        for (codec, level) in [
            (CompressionType::Gzip, 10),
            (CompressionType::Lz4, 18),
            (CompressionType::Zstd, 23),
        ] {
            let a = BatchAttributes {
                compression: codec,
                compression_level: Some(level),
                ..Default::default()
            };
            let e = b.build(&a).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().contains("compression.level"), "{e}");
        }
    }

    #[test]
    fn finish_equals_build() {
        let recs = sample(20);
        let mut b = RecordBatchBuilder::with_capacity(recs[0].0, 4096);
        for (ts, k, v, h) in &recs {
            b.append(*ts, k.as_deref(), v.as_deref(), h).unwrap();
        }
        let a = attrs(CompressionType::None);
        let built = b.build(&a).unwrap();
        assert_eq!(built, b.clone().finish(&a).unwrap());
        let az = attrs(CompressionType::Zstd);
        assert_eq!(b.build(&az).unwrap(), b.finish(&az).unwrap());
    }

    #[test]
    fn empty_builder_is_refused() {
        let b = RecordBatchBuilder::new(0);
        assert!(b.is_empty());
        assert_eq!(b.max_timestamp(), -1);
        assert_eq!(b.size_in_bytes(), BATCH_HEADER_SIZE);
        assert_eq!(
            b.build(&BatchAttributes::default()).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    fn kp_record(
        offset: i64,
        ts: i64,
        key: Option<&'static [u8]>,
        value: Option<&'static [u8]>,
    ) -> kp::Record {
        kp::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            // The crate starts a new batch when offset - sequence changes; this keeps one batch
            // with base sequence -1.
            sequence: offset as i32 - 1,
            timestamp_type: kp::TimestampType::Creation,
            offset,
            timestamp: ts,
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers: Default::default(),
        }
    }

    fn kp_compression(c: CompressionType) -> kp::Compression {
        match c {
            CompressionType::None => kp::Compression::None,
            CompressionType::Gzip => kp::Compression::Gzip,
            CompressionType::Snappy => kp::Compression::Snappy,
            CompressionType::Lz4 => kp::Compression::Lz4,
            CompressionType::Zstd => kp::Compression::Zstd,
        }
    }

    /// Golden vector: the kafka-protocol crate's encoder (an independent implementation) writes
    /// the exact same bytes, CRC included, for uncompressed batches without headers; for every
    /// codec each side decodes what the other wrote.
    #[test]
    fn interop_with_kafka_protocol_crate() {
        let recs = [
            kp_record(0, 1_000, Some(b"k0"), Some(b"v0")),
            kp_record(1, 1_005, None, Some(b"value one")),
            kp_record(2, 1_010, Some(b"k2"), None),
            kp_record(3, 1_300_000, Some(b""), Some(b"")),
        ];
        for codec in ALL {
            let mut theirs = BytesMut::new();
            kp::RecordBatchEncoder::encode(
                &mut theirs,
                recs.iter(),
                &kp::RecordEncodeOptions {
                    version: 2,
                    compression: kp_compression(codec),
                },
            )
            .unwrap();
            let theirs = theirs.freeze();

            let mut b = RecordBatchBuilder::new(1_000);
            for r in &recs {
                b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &[])
                    .unwrap();
            }
            let ours = b.build(&attrs(codec)).unwrap();
            if codec == CompressionType::None {
                assert_eq!(ours, theirs, "uncompressed bytes differ");
            }
            // Header fields (everything but length and CRC) are the same for every codec.
            assert_eq!(ours[..8], theirs[..8]);
            assert_eq!(ours[12..17], theirs[12..17]);
            assert_eq!(ours[21..61], theirs[21..61]);

            // Ours → theirs.
            let mut buf = ours.clone();
            let sets = kp::RecordBatchDecoder::decode_all(&mut buf).unwrap();
            assert_eq!(sets.len(), 1);
            let got = &sets[0].records;
            assert_eq!(got.len(), recs.len());
            for (g, r) in got.iter().zip(&recs) {
                assert_eq!(
                    (g.offset, g.timestamp, &g.key, &g.value),
                    (r.offset, r.timestamp, &r.key, &r.value)
                );
            }
            // Theirs → ours.
            let decoded = decode_batches(theirs, true).unwrap();
            let batch = &decoded.batches[0];
            assert_eq!(batch.compression, codec);
            for (g, r) in batch.records.iter().zip(&recs) {
                assert_eq!(
                    (g.offset, g.timestamp, &g.key, &g.value),
                    (r.offset, r.timestamp, &r.key, &r.value)
                );
            }
        }
    }

    #[test]
    fn headers_interop_with_kafka_protocol_crate() {
        // Distinct keys only: the crate keeps headers in a map.
        let mut r = kp_record(0, 5, Some(b"k"), Some(b"v"));
        r.headers.insert(
            StrBytes::from_static_str("a"),
            Some(Bytes::from_static(b"1")),
        );
        r.headers.insert(StrBytes::from_static_str("b"), None);
        r.headers
            .insert(StrBytes::from_static_str("c"), Some(Bytes::new()));
        let mut theirs = BytesMut::new();
        kp::RecordBatchEncoder::encode(
            &mut theirs,
            [&r],
            &kp::RecordEncodeOptions {
                version: 2,
                compression: kp::Compression::None,
            },
        )
        .unwrap();
        let headers = vec![
            Header::new("a", "1"),
            Header {
                key: "b".into(),
                value: None,
            },
            Header::new("c", Bytes::new()),
        ];
        let mut b = RecordBatchBuilder::new(5);
        b.append(5, Some(b"k"), Some(b"v"), &headers).unwrap();
        assert_eq!(
            b.build(&BatchAttributes::default()).unwrap(),
            theirs.freeze()
        );
    }

    /// The xerial-framed snappy bytes of a one-record batch (null key, value "sdfdsf") as written
    /// by the Java client, taken from kafka-protocol-rs's `compression/snappy.rs` tests
    /// ("upstream kafka snappy-compressed record batch bytes").
    const JAVA_SNAPPY_RECORDS: &[u8] = b"\x82\x53\x4e\x41\x50\x50\x59\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x0f\x0d\x30\x18\x00\x00\x00\x01\x0csdfdsf\x00";

    #[test]
    fn snappy_matches_java_bytes() {
        let mut b = RecordBatchBuilder::new(0);
        b.append(0, None, Some(b"sdfdsf"), &[]).unwrap();
        let wire = b.build(&attrs(CompressionType::Snappy)).unwrap();
        assert_eq!(&wire[BATCH_HEADER_SIZE..], JAVA_SNAPPY_RECORDS);
        let batch = &decode_batches(wire, true).unwrap().batches[0];
        assert_eq!(batch.records[0].value.as_deref(), Some(&b"sdfdsf"[..]));

        // Raw (unframed) snappy decodes too.
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"\x18\x00\x00\x00\x01\x0csdfdsf\x00")
            .unwrap();
        let mut out = Vec::new();
        snappy_decompress(&raw, &mut out).unwrap();
        assert_eq!(out, b"\x18\x00\x00\x00\x01\x0csdfdsf\x00");
    }

    #[test]
    fn large_snappy_uses_several_blocks() {
        let big = vec![7u8; 200_000];
        let mut b = RecordBatchBuilder::new(0);
        b.append(0, None, Some(&big), &[]).unwrap();
        b.append(0, Some(&big[..70_000]), None, &[]).unwrap();
        for codec in ALL {
            let batch = &decode_batches(b.build(&attrs(codec)).unwrap(), true)
                .unwrap()
                .batches[0];
            assert_eq!(batch.records[0].value.as_deref(), Some(&big[..]));
            assert_eq!(batch.records[1].key.as_deref(), Some(&big[..70_000]));
        }
    }

    #[test]
    fn several_batches_and_truncated_tail() {
        let recs = sample(30);
        let a = build(&recs[..10], &attrs(CompressionType::None));
        let b = build(&recs[10..], &attrs(CompressionType::Lz4));
        let mut data = BytesMut::new();
        data.extend_from_slice(&a);
        data.extend_from_slice(&b);
        let full = data.clone().freeze();
        let d = decode_batches(full.clone(), true).unwrap();
        assert_eq!(d.batches.len(), 2);
        assert!(!d.truncated);
        // Every cut inside the second batch: first batch decoded, tail reported truncated.
        for cut in a.len() + 1..full.len() {
            let d = decode_batches(full.slice(..cut), true).unwrap();
            assert_eq!(d.batches.len(), 1, "cut {cut}");
            assert!(d.truncated, "cut {cut}");
        }
        let d = decode_batches(Bytes::new(), true).unwrap();
        assert!(d.batches.is_empty() && !d.truncated);
    }

    #[test]
    fn corrupt_crc_is_an_error_unless_unchecked() {
        let wire = build(&sample(5), &attrs(CompressionType::None));
        let mut bad = BytesMut::from(&wire[..]);
        let last = bad.len() - 1;
        bad[last] ^= 0x01; // flip a bit inside the last record's last header value
        let bad = bad.freeze();
        let e = decode_batches(bad.clone(), true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("CRC"), "{e}");
        assert!(decode_batches(bad, false).is_ok());
    }

    #[test]
    fn legacy_magic_is_refused() {
        let wire = build(&sample(2), &attrs(CompressionType::None));
        for magic in [0u8, 1, 3] {
            let mut bad = BytesMut::from(&wire[..]);
            bad[MAGIC_OFFSET] = magic;
            let e = decode_batches(bad.freeze(), false).unwrap_err();
            assert!(
                e.message()
                    .contains(&format!("unsupported message format magic {magic}")),
                "{e}"
            );
        }
    }

    #[test]
    fn log_append_time_and_offsets() {
        let mut b = RecordBatchBuilder::new(100);
        b.append(100, None, Some(b"a"), &[]).unwrap();
        b.append(150, None, Some(b"b"), &[]).unwrap();
        let mut wire = BytesMut::from(&b.build(&BatchAttributes::default()).unwrap()[..]);
        // What a broker does for LogAppendTime topics: set the flag and max timestamp, base offset.
        wire[..8].copy_from_slice(&1000i64.to_be_bytes());
        let attrs_v = read_i16(&wire, ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_BIT;
        wire[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs_v.to_be_bytes());
        wire[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8]
            .copy_from_slice(&9999i64.to_be_bytes());
        let crc = crc32c::crc32c(&wire[ATTRIBUTES_OFFSET..]);
        wire[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        let batch = &decode_batches(wire.freeze(), true).unwrap().batches[0];
        assert_eq!(batch.timestamp_type, TimestampType::LogAppendTime);
        assert_eq!(
            batch
                .records
                .iter()
                .map(|r| (r.offset, r.timestamp))
                .collect::<Vec<_>>(),
            [(1000, 9999), (1001, 9999)]
        );
        assert_eq!(batch.last_offset(), 1001);
    }

    #[test]
    fn control_batch_markers() {
        for (ty, expect) in [
            (0i16, ControlRecordType::Abort),
            (1, ControlRecordType::Commit),
            (5, ControlRecordType::Other(5)),
        ] {
            let mut key = Vec::new();
            key.extend_from_slice(&0i16.to_be_bytes());
            key.extend_from_slice(&ty.to_be_bytes());
            let mut value = Vec::new();
            value.extend_from_slice(&0i16.to_be_bytes());
            value.extend_from_slice(&7i32.to_be_bytes()); // coordinator epoch
            let mut b = RecordBatchBuilder::new(0);
            b.append(0, Some(&key), Some(&value), &[]).unwrap();
            let mut wire = BytesMut::from(&b.build(&attrs(CompressionType::None)).unwrap()[..]);
            let a = TRANSACTIONAL_BIT | CONTROL_BIT;
            wire[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&a.to_be_bytes());
            let crc = crc32c::crc32c(&wire[ATTRIBUTES_OFFSET..]);
            wire[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
            let batch = &decode_batches(wire.freeze(), true).unwrap().batches[0];
            assert!(batch.control && batch.transactional);
            let c = batch.control_record().unwrap();
            assert_eq!(c.kind, expect);
            assert_eq!(c.version, 0);
            assert_eq!(c.commit(), ty == 1);
        }
        let plain = build(&sample(1), &attrs(CompressionType::None));
        assert!(decode_batches(plain, true).unwrap().batches[0]
            .control_record()
            .is_none());
    }

    #[test]
    fn rewrite_producer_state_keeps_crc_valid() {
        let wire = build(&sample(3), &attrs(CompressionType::Gzip));
        let mut m = BytesMut::from(&wire[..]);
        rewrite_producer_state(&mut m, 77, 2, 1000).unwrap();
        let batch = &decode_batches(m.freeze(), true).unwrap().batches[0];
        assert_eq!(
            (batch.producer_id, batch.producer_epoch, batch.base_sequence),
            (77, 2, 1000)
        );
        assert!(rewrite_producer_state(&mut [0u8; 10], 1, 1, 1).is_err());
    }

    /// Recompute the CRC of a hand-edited batch so the decoder gets past the CRC check.
    fn fix_crc(b: &mut [u8]) {
        if b.len() > BATCH_HEADER_SIZE {
            let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
            b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        }
    }

    #[test]
    fn malformed_records_are_named_errors() {
        let mut b = RecordBatchBuilder::new(0);
        b.append(0, Some(b"key"), Some(b"value"), &[Header::new("h", "v")])
            .unwrap();
        let good = b.build(&BatchAttributes::default()).unwrap();
        // Record count larger than the records present.
        let mut m = BytesMut::from(&good[..]);
        m[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&2i32.to_be_bytes());
        fix_crc(&mut m);
        let e = decode_batches(m.freeze(), true).unwrap_err();
        assert!(e.message().contains("unexpected end of records"), "{e}");
        // Huge record count must not allocate for it.
        let mut m = BytesMut::from(&good[..]);
        m[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        fix_crc(&mut m);
        assert!(decode_batches(m.freeze(), true).is_err());
        // Negative count.
        let mut m = BytesMut::from(&good[..]);
        m[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&(-1i32).to_be_bytes());
        fix_crc(&mut m);
        assert!(decode_batches(m.freeze(), true)
            .unwrap_err()
            .message()
            .contains("record count"));
        // Fewer records declared than present: leftover bytes.
        let mut b2 = b.clone();
        b2.append(1, None, None, &[]).unwrap();
        let mut m = BytesMut::from(&b2.build(&BatchAttributes::default()).unwrap()[..]);
        m[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&1i32.to_be_bytes());
        fix_crc(&mut m);
        assert!(decode_batches(m.freeze(), true)
            .unwrap_err()
            .message()
            .contains("left after"));
        // Unknown codec.
        let mut m = BytesMut::from(&good[..]);
        m[ATTRIBUTES_OFFSET + 1] = 6;
        fix_crc(&mut m);
        assert!(decode_batches(m.freeze(), true)
            .unwrap_err()
            .message()
            .contains("compression codec 6"));
        // Compressed flag on uncompressed data.
        for codec in 1..=4u8 {
            let mut m = BytesMut::from(&good[..]);
            m[ATTRIBUTES_OFFSET + 1] = codec;
            fix_crc(&mut m);
            let e = decode_batches(m.freeze(), true).unwrap_err();
            assert!(e.message().contains("decompression failed"), "{e}");
        }
        // Batch length below the minimum.
        let mut m = BytesMut::from(&good[..]);
        m[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&3i32.to_be_bytes());
        assert!(decode_batches(m.freeze(), true)
            .unwrap_err()
            .message()
            .contains("batch length"));
    }

    /// Tiny deterministic PRNG (xorshift) so the fuzz loops need no extra dependency.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn garbage_never_panics() {
        // Every prefix and single-byte corruption of valid batches, with and without CRC checks.
        for codec in ALL {
            let wire = build(&sample(8), &attrs(codec));
            for cut in 0..wire.len() {
                let _ = decode_batches(wire.slice(..cut), true);
                let _ = decode_batches(wire.slice(..cut), false);
            }
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ compression_id(codec) as u64;
            for i in 0..wire.len() * 4 {
                let mut m = BytesMut::from(&wire[..]);
                let at = i % wire.len();
                m[at] = xorshift(&mut rng) as u8;
                if i % 2 == 0 {
                    fix_crc(&mut m);
                }
                let _ = decode_batches(m.freeze(), i % 3 == 0);
            }
        }
        // Random bytes, sometimes behind a plausible v2 header.
        let mut rng = 12345u64;
        for round in 0..3000 {
            let len = (xorshift(&mut rng) % 300) as usize;
            let mut v: Vec<u8> = (0..len).map(|_| xorshift(&mut rng) as u8).collect();
            if round % 2 == 0 && v.len() > BATCH_HEADER_SIZE {
                let l = (v.len() - LOG_OVERHEAD) as i32;
                v[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&l.to_be_bytes());
                v[MAGIC_OFFSET] = 2;
                v[ATTRIBUTES_OFFSET] = 0;
                v[ATTRIBUTES_OFFSET + 1] &= 0x07;
                v[RECORD_COUNT_OFFSET] = 0;
                fix_crc(&mut v);
            }
            let _ = decode_batches(Bytes::from(v), round % 4 == 0);
        }
    }

    #[test]
    fn decode_is_zero_copy_when_uncompressed() {
        let mut b = RecordBatchBuilder::new(0);
        b.append(0, Some(b"key"), Some(b"value"), &[Header::new("h", "hv")])
            .unwrap();
        let wire = b.build(&BatchAttributes::default()).unwrap();
        let range = wire.as_ptr() as usize..wire.as_ptr() as usize + wire.len();
        let batch = &decode_batches(wire.clone(), true).unwrap().batches[0];
        let r = &batch.records[0];
        for part in [
            r.key.as_ref().unwrap(),
            r.value.as_ref().unwrap(),
            r.headers[0].value.as_ref().unwrap(),
        ] {
            assert!(range.contains(&(part.as_ptr() as usize)));
        }
    }

    /// Java's and Go's readers (pierrec/lz4 as pinned by kafka-go) expect frames without block
    /// or content checksums, as Java's Lz4BlockOutputStream writes them.
    #[test]
    fn lz4_frames_carry_no_checksums() {
        let mut b = RecordBatchBuilder::new(0);
        b.append(0, Some(b"k"), Some(&[7u8; 5000]), &[]).unwrap();
        let attrs = BatchAttributes { compression: CompressionType::Lz4, ..Default::default() };
        let bytes = b.build(&attrs).unwrap();
        let frame = &bytes[BATCH_HEADER_SIZE..];
        assert_eq!(&frame[..4], &[0x04, 0x22, 0x4d, 0x18], "LZ4 frame magic");
        let flg = frame[4];
        assert_eq!(flg & 0x10, 0, "no block checksums");
        assert_eq!(flg & 0x04, 0, "no content checksum");
    }
}