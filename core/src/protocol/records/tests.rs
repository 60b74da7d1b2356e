//! Vectors and round trips of the record batch codec.

use super::*;
use super::{compression::*, decode::*, encode::*};
use crate::config::CompressionType;
use crate::error::ErrorKind;
use crate::record::Header;
use bytes::{Bytes, BytesMut};
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
    snappy_decompress(&raw, &mut out, usize::MAX).unwrap();
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

/// A decompression bomb: 3 MiB of zeros compress to a few kilobytes with every codec; under a 1 MiB
/// bound each fails naming the bound (the reader stops one byte past it), at 3 MiB each decodes.
#[test]
fn decompression_stops_at_the_bound() {
    let zeros = vec![0u8; 3 << 20];
    for codec in [CompressionType::Gzip, CompressionType::Snappy, CompressionType::Lz4, CompressionType::Zstd] {
        let mut packed = BytesMut::new();
        compress(codec, None, &zeros, &mut packed).unwrap();
        assert!(packed.len() < 200 << 10, "{codec:?}: {} bytes", packed.len());
        let e = decompress_within(codec, &packed, 1 << 20).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{codec:?}: {e}");
        assert!(e.message().contains("more than the 1048576 bytes a record batch may hold"), "{codec:?}: {e}");
        assert_eq!(decompress_within(codec, &packed, 3 << 20).unwrap().len(), 3 << 20, "{codec:?}");
    }
    assert_eq!(MAX_DECOMPRESSED_BATCH, 512 << 20);
}
