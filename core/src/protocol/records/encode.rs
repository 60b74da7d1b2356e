//! Encoding: records appended once, varint-encoded, into a buffer with room for the batch
//! header; `build` compresses when asked and fills the header.

use bytes::{BufMut, Bytes, BytesMut};

use super::compression::{compress, compression_id};
use super::*;
use crate::config::CompressionType;
use crate::error::{Error, ErrorKind, Result};
use crate::record::Header;

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

pub(super) fn body_size(
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
pub(super) fn nullable_bytes_size(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varlong_size(b.len() as i64) + b.len(),
    }
}

#[inline]
pub(super) fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[inline]
pub(super) fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(super) fn varint_size(v: i32) -> usize {
    let z = zigzag32(v);
    // 1 byte per started group of 7 bits, at least 1.
    let bits = 32 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
pub(super) fn varlong_size(v: i64) -> usize {
    let z = zigzag64(v);
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
pub(super) fn put_unsigned_varint(buf: &mut BytesMut, mut z: u64) {
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
pub(super) fn put_varint(buf: &mut BytesMut, v: i32) {
    let z = zigzag32(v);
    if z < 0x80 {
        buf.put_u8(z as u8);
    } else {
        put_unsigned_varint(buf, z as u64);
    }
}

#[inline]
pub(super) fn put_varlong(buf: &mut BytesMut, v: i64) {
    let z = zigzag64(v);
    if z < 0x80 {
        buf.put_u8(z as u8);
    } else {
        put_unsigned_varint(buf, z);
    }
}

#[inline]
pub(super) fn put_nullable_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

