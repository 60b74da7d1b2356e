//! The batch codecs: gzip, snappy (raw and xerial-framed, as the Java client writes it), lz4
//! frames and zstd, with the Java client's levels.

use std::io::{Read, Write};

use bytes::{BufMut, Bytes, BytesMut};

use super::{GZIP_DEFAULT_LEVEL, LZ4_DEFAULT_LEVEL, ZSTD_DEFAULT_LEVEL};

use crate::config::CompressionType;
use crate::error::{Error, ErrorKind, Result};

/// xerial snappy-java framing, as written by the Java client (`SnappyOutputStream`).
const XERIAL_MAGIC: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

pub(super) fn compression_id(c: CompressionType) -> i16 {
    match c {
        CompressionType::None => 0,
        CompressionType::Gzip => 1,
        CompressionType::Snappy => 2,
        CompressionType::Lz4 => 3,
        CompressionType::Zstd => 4,
    }
}

pub(super) fn compression_from_id(id: i16) -> Option<CompressionType> {
    Some(match id {
        0 => CompressionType::None,
        1 => CompressionType::Gzip,
        2 => CompressionType::Snappy,
        3 => CompressionType::Lz4,
        4 => CompressionType::Zstd,
        _ => return None,
    })
}

pub(super) fn compression_name(c: CompressionType) -> &'static str {
    match c {
        CompressionType::None => "none",
        CompressionType::Gzip => "gzip",
        CompressionType::Snappy => "snappy",
        CompressionType::Lz4 => "lz4",
        CompressionType::Zstd => "zstd",
    }
}

pub(super) fn level_error(codec: &str, level: i32, range: &str) -> Error {
    Error::invalid(format!(
        "compression.level {level} is out of range for {codec} ({range})"
    ))
}

pub(super) fn compress_error(codec: CompressionType, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Serialization,
        format!("{} compression failed: {e}", compression_name(codec)),
    )
}

/// Compress `input` with `codec`, appending to `out`. Levels follow the Java client: gzip 1-9
/// (0 = store), lz4 1-17 (the default 9 = fast mode), zstd -131072..22; -1 means the default for
/// gzip/lz4.
pub(super) fn compress(
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


pub(super) fn decompress_error(codec: CompressionType, e: impl std::fmt::Display) -> Error {
    Error::protocol(format!(
        "{} decompression failed: {e}",
        compression_name(codec)
    ))
}

/// The most bytes one record batch may decompress to: the largest response the client reads
/// (`net::connection::MAX_FRAME`). The Java client streams a batch record by record and has no such
/// bound; we decompress a batch whole, so without one a few kilobytes of zstd or gzip (a corrupt or
/// hostile batch) could ask for any amount of memory.
pub(crate) const MAX_DECOMPRESSED_BATCH: usize = crate::net::connection::MAX_FRAME;

pub(super) fn decompress(codec: CompressionType, input: &[u8]) -> Result<Bytes> {
    decompress_within(codec, input, MAX_DECOMPRESSED_BATCH)
}

/// [`decompress`] with the bound as a parameter: past `limit` bytes of output it stops reading and
/// fails, naming the bound.
pub(super) fn decompress_within(codec: CompressionType, input: &[u8], limit: usize) -> Result<Bytes> {
    // Start from a guess of the ratio; the Vec grows as needed.
    let mut out = Vec::with_capacity(input.len().saturating_mul(3).min(1 << 24).min(limit));
    // Reads at most one byte past the limit, so output over it is seen without reading it all.
    let read = |r: &mut dyn Read, out: &mut Vec<u8>| -> Result<()> {
        r.take(limit as u64 + 1).read_to_end(out).map_err(|e| decompress_error(codec, e))?;
        Ok(())
    };
    match codec {
        CompressionType::None => out.extend_from_slice(input),
        // Multi-member, like Java's GZIPInputStream.
        CompressionType::Gzip => read(&mut flate2::read::MultiGzDecoder::new(input), &mut out)?,
        CompressionType::Snappy => snappy_decompress(input, &mut out, limit)?,
        CompressionType::Lz4 => {
            let mut dec = lz4::Decoder::new(input).map_err(|e| decompress_error(codec, e))?;
            read(&mut dec, &mut out)?;
            if out.len() <= limit {
                let (_, res) = dec.finish();
                res.map_err(|_| decompress_error(codec, "truncated lz4 frame"))?;
            }
        }
        CompressionType::Zstd => {
            let mut dec = zstd::stream::read::Decoder::with_buffer(input).map_err(|e| decompress_error(codec, e))?;
            read(&mut dec, &mut out)?;
        }
    }
    if out.len() > limit {
        return Err(over_limit(codec, input.len(), limit));
    }
    Ok(Bytes::from(out))
}

fn over_limit(codec: CompressionType, compressed: usize, limit: usize) -> Error {
    decompress_error(codec, format!("{compressed} compressed bytes decompress to more than the {limit} bytes a record batch may hold"))
}

/// xerial-framed snappy (what the Java client writes), or raw snappy when the frame magic is
/// absent (as snappy-java's `SnappyInputStream` falls back).
pub(super) fn snappy_decompress(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<()> {
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
        if start + len > limit {
            return Err(over_limit(codec, input.len(), limit));
        }
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
