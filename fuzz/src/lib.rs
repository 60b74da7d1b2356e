//! The fuzz targets' bodies and their seed inputs. Each target takes arbitrary bytes, feeds them
//! to one parser of the core that sees untrusted input (the network, a user) and panics only on a
//! bug: an error is a correct answer to bad input, a panic, an overflow or an abort is not.
//! `fuzz_targets/*.rs` hand them to libFuzzer; `tests/smoke.rs` runs them over the corpus, the
//! regression inputs and deterministic mutations of both, without libFuzzer.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, Message, Request};
use polykafka::config::CompressionType;
use polykafka::fuzzing;
use polykafka::protocol::records::{decode_batch, decode_batches, BatchAttributes, RecordBatchBuilder};
use polykafka::{AdminConfig, ConsumerConfig, Header, ProducerConfig};

/// Every target, by the name of its `fuzz_targets/` file and corpus directory.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("record_batches", record_batches),
    ("response", response),
    ("sasl_scram", sasl_scram),
    ("config", config),
    ("schema_wire", schema_wire),
];

const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const BATCH_HEADER_SIZE: usize = 61;

/// Record batches. First byte: bit 0 verifies CRCs, bit 1 decodes one batch (`decode_batch`)
/// instead of a fetch's worth (`decode_batches`), bit 2 rewrites the CRC of the first batch to
/// match its bytes first, so mutations of the body get past the CRC check. The rest is the data.
pub fn record_batches(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let verify_crc = mode & 1 != 0;
    let mut buf = rest.to_vec();
    if mode & 4 != 0 && buf.len() >= BATCH_HEADER_SIZE {
        let crc = crc32c::crc32c(&buf[ATTRIBUTES_OFFSET..]);
        buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
    let buf = Bytes::from(buf);
    let batches = if mode & 2 != 0 {
        decode_batch(buf.clone(), verify_crc).map(|b| vec![b])
    } else {
        decode_batches(buf.clone(), verify_crc).map(|d| d.batches)
    };
    let Ok(batches) = batches else { return };
    for b in &batches {
        let _ = (b.last_offset(), b.control_record());
        for r in &b.records {
            let _ = (r.offset, r.timestamp, r.key.as_ref().map(|k| k.len()), r.headers.len());
        }
    }
    // What decodes with CRC checks decodes the same without them.
    if verify_crc {
        let again = if mode & 2 != 0 {
            decode_batch(buf, false).map(|b| vec![b])
        } else {
            decode_batches(buf, false).map(|d| d.batches)
        };
        assert_eq!(again.ok().as_ref(), Some(&batches), "decoding without CRC checks differs");
    }
}

/// Response frames. First byte: which API (an index into the core's list), second: the version;
/// the rest is the frame as the connection reads it (response header, then body).
pub fn response(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let keys = fuzzing::RESPONSE_API_KEYS;
    let api_key = keys[data[0] as usize % keys.len()];
    let version = data[1] as i8 as i16;
    let _ = fuzzing::decode_response_frame(api_key, version, Bytes::copy_from_slice(&data[2..]));
}

/// SCRAM server messages. First byte: bit 0 = SHA-512; then the server-first message, a 0 byte,
/// and the server-final message.
pub fn sasl_scram(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (first, last) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let _ = fuzzing::scram_exchange(mode & 1 != 0, first, last);
}

/// Client configuration. First byte: 0 producer, 1 consumer, 2 admin (modulo 3); the rest is
/// `key=value` lines, as a user's properties.
pub fn config(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let props: Vec<(String, String)> = text
        .split('\n')
        .map(|line| match line.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect();
    let props = props.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match mode % 3 {
        0 => drop(ProducerConfig::from_properties(props)),
        1 => drop(ConsumerConfig::from_properties(props)),
        _ => drop(AdminConfig::from_properties(props)),
    }
}

/// Schema-registry wire format. First byte: bit 0 = the id comes in a header (the next byte is
/// its length), as with `__value_schema_id`. Then the message; its payload's Protobuf
/// message-index path is read too.
pub fn schema_wire(data: &[u8]) {
    use polykafka::schema::wire;
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut header = None;
    if mode & 1 != 0 {
        let Some((&n, r)) = rest.split_first() else { return };
        let n = (n as usize).min(r.len());
        header = Some(&r[..n]);
        rest = &r[n..];
    }
    if let Ok((_, payload)) = wire::read(rest, header) {
        if let Ok((indexes, used)) = wire::read_message_indexes(payload) {
            assert!(used <= payload.len() && !indexes.is_empty());
        }
    }
}

/// Seed inputs of a target: well-formed inputs from the core's own encoders, which mutations then
/// break.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "record_batches" => batch_seeds(),
        "response" => response_seeds(),
        "sasl_scram" => scram_seeds(),
        "config" => config_seeds(),
        "schema_wire" => wire_seeds(),
        _ => panic!("no target {target}"),
    }
}

fn batch(compression: CompressionType, records: usize, transactional: bool) -> Vec<u8> {
    let mut b = RecordBatchBuilder::new(1_700_000_000_000);
    for i in 0..records {
        let headers = if i % 2 == 0 {
            vec![Header { key: format!("h{i}"), value: Some(Bytes::from(vec![b'v'; i % 7])) }]
        } else {
            vec![Header { key: "nil".into(), value: None }]
        };
        let key = format!("key-{i}");
        let value = format!("value {i} {}", "x".repeat(i * 3 % 40));
        let key = (i % 3 != 0).then_some(key.as_bytes());
        b.append(1_700_000_000_000 + i as i64, key, Some(value.as_bytes()), &headers).unwrap();
    }
    let attrs = BatchAttributes {
        compression,
        producer_id: if transactional { 4000 } else { -1 },
        producer_epoch: if transactional { 3 } else { -1 },
        base_sequence: if transactional { 0 } else { -1 },
        transactional,
        ..Default::default()
    };
    b.build(&attrs).unwrap().to_vec()
}

/// A control batch (commit or abort marker) as the broker writes it: the control bit, one record
/// whose key is version 0 + type and whose value is version 0 + the coordinator epoch.
fn control_batch(commit: bool) -> Vec<u8> {
    let mut b = RecordBatchBuilder::new(1_700_000_000_000);
    let key = [0u8, 0, 0, commit as u8];
    let value = [0u8, 0, 0, 0, 0, 7];
    b.append(1_700_000_000_000, Some(&key), Some(&value), &[]).unwrap();
    let attrs = BatchAttributes {
        producer_id: 4000,
        producer_epoch: 3,
        transactional: true,
        ..Default::default()
    };
    let mut out = b.build(&attrs).unwrap().to_vec();
    let attributes = i16::from_be_bytes([out[ATTRIBUTES_OFFSET], out[ATTRIBUTES_OFFSET + 1]]) | 0x20;
    out[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&out[ATTRIBUTES_OFFSET..]);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    out
}

fn batch_seeds() -> Vec<Vec<u8>> {
    let codecs = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];
    let mut bodies = Vec::new();
    for (i, &c) in codecs.iter().enumerate() {
        bodies.push(batch(c, 1, false));
        bodies.push(batch(c, 5 + i, i % 2 == 1));
    }
    bodies.push(control_batch(true));
    bodies.push(control_batch(false));
    // A fetch's worth: several batches back to back, the last one cut short.
    let mut fetch = Vec::new();
    fetch.extend(batch(CompressionType::None, 3, false));
    fetch.extend(batch(CompressionType::Zstd, 4, true));
    fetch.extend(control_batch(true));
    let cut = batch(CompressionType::Lz4, 6, false);
    fetch.extend(&cut[..cut.len() / 2]);
    bodies.push(fetch);
    let mut out = Vec::new();
    for body in bodies {
        // Mode bytes: decode_batches with CRC checks, decode_batch with CRC checks, and the
        // CRC-rewriting decode_batch that lets mutated bodies through.
        for mode in [1u8, 3, 7] {
            let mut s = vec![mode];
            s.extend(&body);
            out.push(s);
        }
    }
    out
}

/// Encodes `R`'s default response at every version it has, with its response header.
fn default_responses<R: Request>(out: &mut Vec<Vec<u8>>)
where
    R::Response: Default,
{
    let index = fuzzing::RESPONSE_API_KEYS.iter().position(|&k| k == R::KEY).unwrap() as u8;
    let versions = <R::Response as Message>::VERSIONS;
    for version in versions.min..=versions.max {
        let mut buf = BytesMut::new();
        buf.put_u8(index);
        buf.put_u8(version as u8);
        let header = ResponseHeader::default().with_correlation_id(7);
        let hv = <R::Response as HeaderVersion>::header_version(version);
        if header.encode(&mut buf, hv).is_ok() && R::Response::default().encode(&mut buf, version).is_ok() {
            out.push(buf.to_vec());
        }
    }
}

fn response_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    default_responses::<ProduceRequest>(&mut out);
    default_responses::<FetchRequest>(&mut out);
    default_responses::<ListOffsetsRequest>(&mut out);
    default_responses::<MetadataRequest>(&mut out);
    default_responses::<OffsetCommitRequest>(&mut out);
    default_responses::<OffsetFetchRequest>(&mut out);
    default_responses::<FindCoordinatorRequest>(&mut out);
    default_responses::<JoinGroupRequest>(&mut out);
    default_responses::<HeartbeatRequest>(&mut out);
    default_responses::<LeaveGroupRequest>(&mut out);
    default_responses::<SyncGroupRequest>(&mut out);
    default_responses::<DescribeGroupsRequest>(&mut out);
    default_responses::<ListGroupsRequest>(&mut out);
    default_responses::<SaslHandshakeRequest>(&mut out);
    default_responses::<ApiVersionsRequest>(&mut out);
    default_responses::<CreateTopicsRequest>(&mut out);
    default_responses::<DeleteTopicsRequest>(&mut out);
    default_responses::<DeleteRecordsRequest>(&mut out);
    default_responses::<InitProducerIdRequest>(&mut out);
    default_responses::<AddPartitionsToTxnRequest>(&mut out);
    default_responses::<AddOffsetsToTxnRequest>(&mut out);
    default_responses::<EndTxnRequest>(&mut out);
    default_responses::<TxnOffsetCommitRequest>(&mut out);
    default_responses::<DescribeConfigsRequest>(&mut out);
    default_responses::<SaslAuthenticateRequest>(&mut out);
    default_responses::<CreatePartitionsRequest>(&mut out);
    default_responses::<DeleteGroupsRequest>(&mut out);
    default_responses::<IncrementalAlterConfigsRequest>(&mut out);
    default_responses::<DescribeClusterRequest>(&mut out);
    default_responses::<ConsumerGroupHeartbeatRequest>(&mut out);
    default_responses::<ConsumerGroupDescribeRequest>(&mut out);
    out
}

fn scram_seeds() -> Vec<Vec<u8>> {
    let nonce = fuzzing::SCRAM_CLIENT_NONCE;
    let first = format!("r={nonce}3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    let mut out = Vec::new();
    for mode in [0u8, 1] {
        let mut s = vec![mode];
        s.extend(first.as_bytes());
        s.push(0);
        s.extend(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        out.push(s);
    }
    out.push(b"\0e=invalid-proof".to_vec());
    out.push(format!("\x01r={nonce}x,s=c2FsdA==,i=1\0e=other-error").into_bytes());
    out
}

fn config_seeds() -> Vec<Vec<u8>> {
    let producer = "bootstrap.servers=localhost:9092\nacks=all\nenable.idempotence=true\n\
        compression.type=zstd\ncompression.level=3\nlinger.ms=5\nbatch.size=16384\n\
        transactional.id=tx-1\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n\
        sasl.username=u\nsasl.password=p\nmessage.max.bytes=1000000";
    let consumer = "bootstrap.servers=a:1,b:2\ngroup.id=g\nauto.offset.reset=earliest\n\
        enable.auto.commit=false\nisolation.level=read_committed\nsession.timeout.ms=6000\n\
        fetch.max.bytes=52428800\nmax.poll.interval.ms=300000\npartition.assignment.strategy=cooperative-sticky\n\
        group.protocol=consumer";
    let admin = "bootstrap.servers=localhost:9092\nclient.id=admin\nrequest.timeout.ms=30000";
    let mut out = Vec::new();
    for (mode, text) in [(0u8, producer), (1, consumer), (2, admin)] {
        let mut s = vec![mode];
        s.extend(text.as_bytes());
        out.push(s);
    }
    out
}

fn wire_seeds() -> Vec<Vec<u8>> {
    use polykafka::schema::wire;
    let mut out = Vec::new();
    for indexes in [vec![0], vec![1, 2], vec![3, 0, 7]] {
        let mut s = vec![0u8];
        wire::write_prefix(100042, &mut s);
        wire::write_message_indexes(&indexes, &mut s);
        s.extend(b"\x08\x96\x01");
        out.push(s);
    }
    // The id in a header: a GUID (magic 1) of 17 bytes.
    let mut s = vec![1u8, 17, 1];
    s.extend((0u8..16).collect::<Vec<_>>());
    s.extend(b"\x02\x02payload");
    out.push(s);
    out
}
