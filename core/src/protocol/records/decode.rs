//! Decoding, zero-copy: keys, values and header values are slices of the fetched buffer (or of
//! the decompressed one).

use bytes::Bytes;

use super::compression::{compression_from_id, decompress};
use super::*;
use crate::config::CompressionType;
use crate::error::{Error, Result};
use crate::record::Header;

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
pub(super) fn read_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
#[inline]
pub(super) fn read_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline]
pub(super) fn read_u32(b: &[u8], at: usize) -> u32 {
    read_i32(b, at) as u32
}
#[inline]
pub(super) fn read_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}


/// A cursor over a records buffer that hands out zero-copy slices of it.
pub(super) struct Cursor<'a> {
    pub(super) bytes: &'a Bytes,
    pub(super) pos: usize,
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
    pub(super) fn varint(&mut self) -> Result<i32> {
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
    pub(super) fn varlong(&mut self) -> Result<i64> {
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

pub(super) fn decode_records(
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
