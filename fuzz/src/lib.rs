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
    ("c_abi", c_abi),
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
        "c_abi" => c_abi_seeds(),
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

/// The input of [`c_abi`], read front to back; past its end every read is 0 / empty.
struct Abi<'a>(&'a [u8]);

impl<'a> Abi<'a> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }
    fn int(&mut self) -> i64 {
        // Edge values more often than random ones.
        match self.byte() % 8 {
            0 => 0,
            1 => -1,
            2 => i32::MAX as i64,
            3 => i32::MIN as i64,
            4 => i64::MAX,
            5 => i64::MIN,
            _ => i64::from_le_bytes(std::array::from_fn(|_| self.byte())),
        }
    }
    /// Up to 63 bytes of the input, any bytes (non-UTF-8, NULs).
    fn chunk(&mut self) -> &'a [u8] {
        let n = (self.byte() % 64) as usize;
        let n = n.min(self.0.len());
        let (c, rest) = self.0.split_at(n);
        self.0 = rest;
        c
    }
}

/// A C string built from arbitrary bytes (cut at the first NUL, as C would see it); None: NULL.
fn c_string(bytes: Option<&[u8]>) -> Option<std::ffi::CString> {
    bytes.map(|b| std::ffi::CString::new(b.iter().copied().take_while(|&c| c != 0).collect::<Vec<_>>()).unwrap())
}

fn c_ptr(s: &Option<std::ffi::CString>) -> *const std::ffi::c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Checks an error the library returned (every accessor answers, the texts are C strings) and
/// frees it.
fn take_error(e: *mut pkc::pk_error) {
    if e.is_null() {
        return;
    }
    let _ = (pkc::pk_error_get_kind(e), pkc::pk_error_code(e), pkc::pk_error_retriable(e), pkc::pk_error_fatal(e));
    let _ = (pkc::pk_error_txn_requires_abort(e), pkc::pk_error_registry_status(e), pkc::pk_error_registry_code(e));
    for s in [pkc::pk_error_name(e), pkc::pk_error_message(e)] {
        assert!(!s.is_null(), "an error accessor returned NULL");
        // SAFETY: the library's accessors return NUL-terminated strings owned by the error.
        let _ = unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes().len();
    }
    pkc::pk_error_free(e);
}

/// Configuration keys the fuzzer picks by index (or it writes its own).
const ABI_KEYS: &[&str] = &[
    "acks", "linger.ms", "batch.size", "compression.type", "enable.idempotence", "transactional.id",
    "group.id", "auto.offset.reset", "enable.auto.commit", "isolation.level", "partitioner",
    "message.max.bytes", "client.id", "security.protocol", "sasl.mechanism", "sasl.password",
    "retries", "request.timeout.ms", "buffer.memory", "max.in.flight.requests.per.connection",
];

/// Where the clients point: nothing listens on port 1, a connection is refused at once. The
/// fuzzer's own bootstrap.servers (a host name to resolve), max.block.ms and auto commits (long
/// waits at close for a coordinator that is never found) would make inputs slow, not find bugs:
/// they are set last, on the producer's and the consumer's configuration.
const ABI_FIXED: [&[(&str, &str)]; 2] = [
    &[("bootstrap.servers", "127.0.0.1:1"), ("max.block.ms", "1")],
    &[("bootstrap.servers", "127.0.0.1:1"), ("enable.auto.commit", "false")],
];

fn set_fixed(config: *mut pkc::pk_config, which: usize) {
    for (k, v) in ABI_FIXED[which] {
        let (k, v) = (c_string(Some(k.as_bytes())), c_string(Some(v.as_bytes())));
        take_error(pkc::pk_config_set(config, c_ptr(&k), c_ptr(&v)));
    }
}

/// The C ABI (the bindings-c crate, called as C would): configuration, a producer and a consumer
/// against an unreachable address, records with arbitrary topics, keys, values, headers and
/// lengths (NULL with a length too), error accessors. Each input is a program of up to 32
/// operations, one byte each, then its arguments. Lengths are true (a longer length than the
/// buffer is undefined behaviour by the ABI's contract), pointers are real or NULL.
pub fn c_abi(data: &[u8]) {
    use std::ptr::{null, null_mut};
    let mut a = Abi(data);
    // One configuration for the producer, one for the consumer (their keys differ).
    let mut configs = [null_mut(); 2];
    for c in &mut configs {
        take_error(pkc::pk_config_new(c));
        assert!(!c.is_null());
    }
    let mut producer: *mut pkc::pk_producer = null_mut();
    let mut consumer: *mut pkc::pk_consumer = null_mut();
    for _ in 0..32 {
        if a.0.is_empty() {
            break;
        }
        let op = a.byte();
        let null_handle = op & 0x80 != 0;
        let code = (op & 0x7f) % 12;
        match code {
            0 => {
                let key = match a.byte() {
                    0 => None,
                    i if (i as usize) <= ABI_KEYS.len() => Some(ABI_KEYS[i as usize - 1].as_bytes()),
                    _ => Some(a.chunk()),
                };
                let value = if a.byte() == 0 { None } else { Some(a.chunk()) };
                let (key, value) = (c_string(key), c_string(value));
                let config = if null_handle { null_mut() } else { configs[(op >> 6 & 1) as usize] };
                take_error(pkc::pk_config_set(config, c_ptr(&key), c_ptr(&value)));
            }
            1 if producer.is_null() => {
                set_fixed(configs[0], 0);
                let cfg = if null_handle { null() } else { configs[0] as *const _ };
                take_error(pkc::pk_producer_new(cfg, &mut producer));
            }
            2 | 3 => {
                // One record (2) or a batch of up to 3 (3).
                let n = if code == 2 { 1 } else { a.byte() as usize % 4 };
                let mut keep: Vec<Vec<u8>> = Vec::new();
                let mut headers: Vec<Vec<pkc::pk_header>> = Vec::new();
                let mut records = Vec::new();
                let mut buf = |a: &mut Abi<'_>, nul: bool| -> (*const u8, usize) {
                    match a.byte() % 8 {
                        0 => (null(), 0),
                        1 => (null(), a.int() as usize),
                        _ => {
                            let mut c = a.chunk().to_vec();
                            // Length 0 means NUL-terminated for strings: an empty buffer is one too.
                            let len = if nul || c.is_empty() {
                                c.retain(|&b| b != 0);
                                c.push(0);
                                0
                            } else {
                                c.len()
                            };
                            keep.push(c);
                            (keep.last().unwrap().as_ptr(), len)
                        }
                    }
                };
                for _ in 0..n {
                    let nul = a.byte() & 1 == 0;
                    let topic = buf(&mut a, nul);
                    let key = buf(&mut a, false);
                    let value = buf(&mut a, false);
                    let mut hs = Vec::new();
                    for _ in 0..a.byte() % 4 {
                        let nul = a.byte() & 1 == 0;
                        let k = buf(&mut a, nul);
                        let v = buf(&mut a, false);
                        hs.push(pkc::pk_header { key: k.0.cast(), key_len: k.1, value: v.0, value_len: v.1 });
                    }
                    // A header array pointer NULL with a length, now and then.
                    let (hp, hl) = if hs.is_empty() && a.byte() % 8 == 0 { (null(), 3) } else { (hs.as_ptr(), hs.len()) };
                    records.push(pkc::pk_record {
                        topic: topic.0.cast(),
                        topic_len: topic.1,
                        partition: a.int() as i32,
                        key: key.0,
                        key_len: key.1,
                        value: value.0,
                        value_len: value.1,
                        headers: hp,
                        headers_len: hl,
                        timestamp_ms: a.int(),
                        opaque: a.int() as u64,
                    });
                    headers.push(hs);
                }
                let p = if null_handle { null_mut() } else { producer };
                if code == 2 {
                    take_error(pkc::pk_producer_produce(p, records.as_ptr()));
                } else {
                    let mut queued = 0usize;
                    let ptr = if records.is_empty() && a.byte() & 1 == 0 { null() } else { records.as_ptr() };
                    take_error(pkc::pk_producer_produce_batch(p, ptr, records.len(), &mut queued));
                    assert!(queued <= records.len(), "queued {queued} of {} records", records.len());
                }
                drop(headers);
            }
            4 => {
                let p = if null_handle { null_mut() } else { producer };
                let mut reports: Vec<pkc::pk_delivery_report> = Vec::with_capacity(8);
                let mut got = 0usize;
                take_error(pkc::pk_producer_poll_reports(p, reports.as_mut_ptr(), 8, 0, &mut got));
                assert!(got <= 8);
                pkc::pk_delivery_reports_clear(reports.as_mut_ptr(), got);
            }
            5 => {
                let p = if null_handle { null_mut() } else { producer };
                let mut n = 0usize;
                take_error(pkc::pk_producer_in_flight(p, &mut n));
                take_error(pkc::pk_producer_send_now(p));
                take_error(pkc::pk_producer_flush(p, 0));
                let mut json = null_mut();
                take_error(pkc::pk_producer_stats_json(p, &mut json));
                pkc::pk_string_free(json);
            }
            6 if !producer.is_null() => {
                take_error(pkc::pk_producer_close(producer, 0));
                if a.byte() & 1 == 0 {
                    // Closed twice is fine; after close every call is a CLOSED error.
                    take_error(pkc::pk_producer_close(producer, 0));
                } else {
                    pkc::pk_producer_free(producer);
                    producer = null_mut();
                }
            }
            7 if consumer.is_null() => {
                set_fixed(configs[1], 1);
                let cfg = if null_handle { null() } else { configs[1] as *const _ };
                take_error(pkc::pk_consumer_new(cfg, &mut consumer));
            }
            8 => {
                let c = if null_handle { null_mut() } else { consumer };
                let names: Vec<_> = (0..a.byte() % 4).map(|_| c_string((a.byte() != 0).then(|| a.chunk()))).collect();
                let ptrs: Vec<_> = names.iter().map(c_ptr).collect();
                take_error(pkc::pk_consumer_subscribe(c, ptrs.as_ptr(), ptrs.len()));
            }
            9 => {
                let c = if null_handle { null_mut() } else { consumer };
                let names: Vec<_> = (0..a.byte() % 4).map(|_| c_string((a.byte() != 0).then(|| a.chunk()))).collect();
                let tps: Vec<_> = names
                    .iter()
                    .map(|n| pkc::pk_topic_partition { topic: c_ptr(n), topic_len: 0, partition: a.int() as i32, offset: a.int() })
                    .collect();
                match a.byte() % 4 {
                    0 => take_error(pkc::pk_consumer_assign(c, tps.as_ptr(), tps.len())),
                    1 => take_error(pkc::pk_consumer_pause(c, tps.as_ptr(), tps.len())),
                    2 => take_error(pkc::pk_consumer_resume(c, tps.as_ptr(), tps.len())),
                    _ => take_error(pkc::pk_consumer_store_offsets(c, tps.as_ptr(), tps.len())),
                }
                if let Some(n) = names.first() {
                    let mut offset = 0i64;
                    take_error(pkc::pk_consumer_seek(c, c_ptr(n), a.int() as i32, a.int()));
                    take_error(pkc::pk_consumer_position(c, c_ptr(n), a.int() as i32, &mut offset));
                }
            }
            10 => {
                let c = if null_handle { null_mut() } else { consumer };
                let mut batch = null_mut();
                take_error(pkc::pk_consumer_poll_batch(c, a.byte() as usize, 0, &mut batch));
                pkc::pk_message_batch_free(batch);
                if !c.is_null() && a.byte() & 1 == 0 {
                    take_error(pkc::pk_consumer_close(c));
                }
            }
            _ => {
                let kind = a.int() as i32;
                // SAFETY: pk_error_kind_name returns a static NUL-terminated string.
                let _ = unsafe { std::ffi::CStr::from_ptr(pkc::pk_error_kind_name(kind)) };
                let _ = (pkc::pk_error_code(null()), pkc::pk_error_get_kind(null()), pkc::pk_error_message(null()));
                let id = c_string((a.byte() != 0).then(|| a.chunk()));
                let mut md = null_mut();
                take_error(pkc::pk_group_metadata_new(c_ptr(&id), &mut md));
                pkc::pk_group_metadata_free(md);
            }
        }
    }
    pkc::pk_producer_free(producer);
    pkc::pk_consumer_free(consumer);
    for c in configs {
        pkc::pk_config_free(c);
    }
}

/// Programs for [`c_abi`]: configure, create both clients, produce a record and a batch, poll,
/// subscribe, assign, close.
fn c_abi_seeds() -> Vec<Vec<u8>> {
    let record = |topic: &[u8]| {
        let mut r = vec![0u8, 2, topic.len() as u8];
        r.extend_from_slice(topic);
        r.extend_from_slice(&[2, 1, b'k', 2, 1, b'v', 1, 0, 2, 1, b'h', 2, 0, 0, 0, 0]);
        r
    };
    let mut produce = vec![0, 2, 1, 1, b'5', 1];
    produce.push(2);
    produce.extend(record(b"topic"));
    produce.extend([3, 2]);
    produce.extend(record(b"a"));
    produce.extend(record(&[0xff, 0xfe]));
    produce.extend([4, 5, 6, 0, 2]);
    let consume = vec![0x40, 7, 1, 1, b'g', 7, 8, 2, 1, 1, b't', 0, 9, 1, 1, 1, b't', 0, 0, 0, 0, 0, 0, 10, 5, 1];
    vec![produce, consume, vec![0x81, 0x82, 0x84, 0x85, 0x87, 0x88, 0x89, 0x8a, 11, 7]]
}
