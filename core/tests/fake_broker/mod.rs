//! An in-process fake Kafka broker for the state-machine tests (`core/tests/state_*.rs`).
//!
//! One node (id 1) on `127.0.0.1:<ephemeral>`, leader of every partition and coordinator of
//! every group and transactional id. It decodes requests and encodes responses with the
//! `kafka-protocol` crate and answers these APIs "normally" (as a small, honest broker would):
//! ApiVersions, Metadata, Produce (appends the batches to an in-memory log), Fetch (serves that
//! log; OFFSET_OUT_OF_RANGE outside it), ListOffsets, InitProducerId (a new id, or the epoch
//! bumped when the current id and epoch are given, KIP-360), FindCoordinator, JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, AddPartitionsToTxn, EndTxn.
//! Produce checks idempotent producers' sequences as Kafka does: a new epoch starts at 0, a
//! gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, and a duplicate
//! of one of the last five batches is answered with its original offset and not written again.
//! Versions advertised are those of a Kafka 3.x broker (Fetch by topic name, OffsetFetch of
//! one group), so every response shape here is the classic one.
//!
//! A test scripts it per API key with a queue of [`Behaviour`]s consumed in order (answer
//! normally, answer with an error code, answer late, never answer, close the connection, carry out and lose the answer, or
//! answer and then edit the response); when a key's queue is empty the answer is normal. Every
//! request is recorded ([`Received`]) with its connection, API key, version and decoded body,
//! for assertions on exact sequences.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::add_partitions_to_txn_response::{AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_response::FetchableTopicResponse;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{fetch_response, leave_group_response};
pub use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId,
    EndTxnRequest, EndTxnResponse, FetchRequest, FetchResponse, FindCoordinatorRequest, FindCoordinatorResponse,
    HeartbeatRequest, HeartbeatResponse, InitProducerIdRequest, InitProducerIdResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest,
    MetadataResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    ProduceRequest, ProduceResponse, ProducerId, RequestHeader, ResponseHeader, SyncGroupRequest, SyncGroupResponse,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const NODE_ID: i32 = 1;

/// Error codes used by the tests (Kafka's numbering).
pub mod code {
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const CONCURRENT_TRANSACTIONS: i16 = 51;
    pub const UNKNOWN_PRODUCER_ID: i16 = 59;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const PRODUCER_FENCED: i16 = 90;
}

/// What the broker does with the next request of one API key.
pub enum Behaviour {
    /// Answer as the broker normally would.
    Normal,
    /// Answer with this error code (in every place of the response that carries one), without
    /// changing the broker's state (nothing is written, joined or committed).
    Error(i16),
    /// Answer normally, this long after the request arrived (other requests are answered
    /// meanwhile).
    Delay(Duration),
    /// Answer with this error code, this long after the request arrived.
    ErrorAfter(i16, Duration),
    /// Never answer (the connection stays open).
    NeverAnswer,
    /// Close the connection instead of answering.
    Close,
    /// Carry the request out (a Produce is written), then close the connection without
    /// answering: a response lost on the way.
    Lose,
    /// Answer normally, then let the test change the response.
    Edit(Box<dyn FnOnce(&mut ResponseKind) + Send>),
}

/// One request the broker received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Connections are numbered from 0 in the order they were accepted.
    pub conn: usize,
    pub api_key: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub at: Instant,
    pub request: RequestKind,
}

/// One record batch of a Produce request, as the broker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducedBatch {
    pub topic: String,
    pub partition: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub transactional: bool,
    pub values: Vec<Vec<u8>>,
}

#[derive(Default)]
struct PartitionLog {
    log_start: i64,
    /// (base offset, record count, batch bytes with the base offset stamped in).
    batches: Vec<(i64, i64, Bytes)>,
    next_offset: i64,
}

#[derive(Default)]
struct Group {
    generation: i32,
    members: BTreeMap<String, Bytes>,
    protocol: Option<String>,
    assignments: HashMap<String, Bytes>,
    committed: HashMap<(String, i32), i64>,
    next_member: u32,
}

/// What the broker keeps of an idempotent producer on one partition (Kafka's producer state).
#[derive(Default)]
struct ProducerState {
    epoch: i16,
    last_seq: i32,
    /// The last five batches written: (first sequence, last sequence, base offset).
    recent: VecDeque<(i32, i32, i64)>,
}

/// Kafka's sequence check for a batch of an idempotent producer: `Ok(None)` to append it,
/// `Ok(Some(offset))` for a duplicate of one of the last five batches (answered with its
/// original offset, nothing appended), `Err(code)` to refuse it. Appending updates the state.
fn check_sequence(
    sequences: &mut HashMap<(i64, String, i32), ProducerState>,
    key: &(String, i32),
    batch: &Bytes,
    next_offset: i64,
) -> Result<Option<i64>, i16> {
    let producer_id = (&batch[43..51]).get_i64();
    let epoch = (&batch[51..53]).get_i16();
    let first = (&batch[53..57]).get_i32();
    let count = (&batch[23..27]).get_i32() + 1;
    if producer_id < 0 || first < 0 {
        return Ok(None);
    }
    let last = first.wrapping_add(count - 1);
    let entry = sequences.entry((producer_id, key.0.clone(), key.1));
    let st = match entry {
        std::collections::hash_map::Entry::Vacant(v) => {
            // A producer new to this partition may start at any sequence.
            v.insert(ProducerState { epoch, last_seq: last, recent: [(first, last, next_offset)].into() });
            return Ok(None);
        }
        std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
    };
    if epoch < st.epoch {
        return Err(code::INVALID_PRODUCER_EPOCH);
    }
    if epoch > st.epoch {
        if first != 0 {
            return Err(code::OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
        *st = ProducerState { epoch, last_seq: last, recent: [(first, last, next_offset)].into() };
        return Ok(None);
    }
    if let Some(&(_, _, offset)) = st.recent.iter().find(|(f, l, _)| *f == first && *l == last) {
        return Ok(Some(offset));
    }
    if first != st.last_seq.wrapping_add(1) {
        return Err(code::OUT_OF_ORDER_SEQUENCE_NUMBER);
    }
    st.last_seq = last;
    st.recent.push_back((first, last, next_offset));
    if st.recent.len() > 5 {
        st.recent.pop_front();
    }
    Ok(None)
}

#[derive(Default)]
struct State {
    /// Idempotent producers' state per (producer id, topic, partition).
    sequences: HashMap<(i64, String, i32), ProducerState>,
    topics: BTreeMap<String, (Uuid, i32)>,
    logs: HashMap<(String, i32), PartitionLog>,
    scripts: HashMap<i16, VecDeque<Behaviour>>,
    received: Vec<Received>,
    groups: HashMap<String, Group>,
    next_producer_id: i64,
    /// producer id -> current epoch.
    producers: HashMap<i64, i16>,
    connections: usize,
    /// Write halves of open connections, to close them on demand.
    open: Vec<(usize, Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>)>,
}

pub use uuid::Uuid;

/// The broker; dropped, it stops accepting (open connections end with the test's runtime).
pub struct FakeBroker {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Versions a Kafka 3.x broker advertises for the APIs the fake answers.
const VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
];

/// The requests the fake broker understands, decoded (kafka-protocol's own enums need a
/// feature the core does not enable).
macro_rules! kinds {
    ($($name:ident),* $(,)?) => {
        paste_kinds!($($name),*);
    };
}
macro_rules! paste_kinds {
    ($($name:ident),*) => {
        #[derive(Debug, Clone)]
        pub enum RequestKind { $($name(req_type!($name)),)* }
        #[derive(Debug, Clone)]
        pub enum ResponseKind { $($name(resp_type!($name)),)* }
        impl RequestKind {
            fn decode(key: ApiKey, buf: &mut Bytes, version: i16) -> anyhow_free::Result<RequestKind> {
                match key {
                    $(ApiKey::$name => Ok(RequestKind::$name(Decodable::decode(buf, version).map_err(|e| e.to_string())?)),)*
                    other => Err(format!("unsupported API {other:?}")),
                }
            }
        }
        impl ResponseKind {
            fn encode(&self, buf: &mut BytesMut, version: i16) -> anyhow_free::Result<()> {
                match self {
                    $(ResponseKind::$name(r) => r.encode(buf, version).map_err(|e| e.to_string()),)*
                }
            }
        }
    };
}
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, String>;
}
macro_rules! req_type {
    (ApiVersions) => { ApiVersionsRequest };
    (Metadata) => { MetadataRequest };
    (Produce) => { ProduceRequest };
    (Fetch) => { FetchRequest };
    (ListOffsets) => { ListOffsetsRequest };
    (InitProducerId) => { InitProducerIdRequest };
    (FindCoordinator) => { FindCoordinatorRequest };
    (JoinGroup) => { JoinGroupRequest };
    (SyncGroup) => { SyncGroupRequest };
    (Heartbeat) => { HeartbeatRequest };
    (LeaveGroup) => { LeaveGroupRequest };
    (OffsetCommit) => { OffsetCommitRequest };
    (OffsetFetch) => { OffsetFetchRequest };
    (AddPartitionsToTxn) => { AddPartitionsToTxnRequest };
    (EndTxn) => { EndTxnRequest };
}
macro_rules! resp_type {
    (ApiVersions) => { ApiVersionsResponse };
    (Metadata) => { MetadataResponse };
    (Produce) => { ProduceResponse };
    (Fetch) => { FetchResponse };
    (ListOffsets) => { ListOffsetsResponse };
    (InitProducerId) => { InitProducerIdResponse };
    (FindCoordinator) => { FindCoordinatorResponse };
    (JoinGroup) => { JoinGroupResponse };
    (SyncGroup) => { SyncGroupResponse };
    (Heartbeat) => { HeartbeatResponse };
    (LeaveGroup) => { LeaveGroupResponse };
    (OffsetCommit) => { OffsetCommitResponse };
    (OffsetFetch) => { OffsetFetchResponse };
    (AddPartitionsToTxn) => { AddPartitionsToTxnResponse };
    (EndTxn) => { EndTxnResponse };
}
kinds!(
    ApiVersions, Metadata, Produce, Fetch, ListOffsets, InitProducerId, FindCoordinator, JoinGroup, SyncGroup,
    Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, AddPartitionsToTxn, EndTxn,
);

impl FakeBroker {
    /// Starts the broker on the current tokio runtime.
    pub async fn start() -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake broker");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { next_producer_id: 1000, ..Default::default() }));
        let changed = Arc::new(tokio::sync::Notify::new());
        let (st, ch) = (state.clone(), changed.clone());
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let conn = {
                    let mut s = st.lock().unwrap();
                    s.connections += 1;
                    s.connections - 1
                };
                tokio::spawn(serve(stream, conn, addr, st.clone(), ch.clone()));
            }
        });
        FakeBroker { addr, state, changed, accept }
    }

    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// Creates a topic with `partitions` partitions (empty logs).
    pub fn topic(&self, name: &str, partitions: i32) {
        let mut s = self.state.lock().unwrap();
        let id = Uuid::from_u128(0x1000 + s.topics.len() as u128);
        s.topics.insert(name.to_string(), (id, partitions));
        for p in 0..partitions {
            s.logs.entry((name.to_string(), p)).or_default();
        }
    }

    /// Queues behaviours for the next requests of `key`, after those already queued.
    pub fn script(&self, key: ApiKey, behaviours: impl IntoIterator<Item = Behaviour>) {
        let mut s = self.state.lock().unwrap();
        s.scripts.entry(key as i16).or_default().extend(behaviours);
    }

    /// How many scripted behaviours of `key` are still waiting.
    pub fn script_left(&self, key: ApiKey) -> usize {
        self.state.lock().unwrap().scripts.get(&(key as i16)).map_or(0, |q| q.len())
    }

    /// Appends a batch of plain records (values) to a partition's log; returns its base offset.
    pub fn append(&self, topic: &str, partition: i32, values: &[&str]) -> i64 {
        let mut s = self.state.lock().unwrap();
        let log = s.logs.entry((topic.to_string(), partition)).or_default();
        let base = log.next_offset;
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: base + i as i64,
                // The encoder starts a new batch where offset - sequence changes: this keeps
                // the records in one batch, with base sequence -1 (no producer).
                sequence: i as i32 - 1,
                timestamp: 1_700_000_000_000 + i as i64,
                key: None,
                value: Some(Bytes::from(v.to_string())),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression: Compression::None })
            .expect("encode a batch");
        let n = values.len() as i64;
        log.batches.push((base, n, buf.freeze()));
        log.next_offset = base + n;
        base
    }

    /// Moves a partition's log start (records before it are deleted).
    pub fn set_log_start(&self, topic: &str, partition: i32, start: i64) {
        let mut s = self.state.lock().unwrap();
        let log = s.logs.entry((topic.to_string(), partition)).or_default();
        log.log_start = start;
        log.batches.retain(|(b, n, _)| b + n > start);
        log.next_offset = log.next_offset.max(start);
    }

    /// The values in a partition's log, in offset order.
    pub fn log_values(&self, topic: &str, partition: i32) -> Vec<String> {
        let s = self.state.lock().unwrap();
        let Some(log) = s.logs.get(&(topic.to_string(), partition)) else { return Vec::new() };
        let mut out = Vec::new();
        for (_, _, bytes) in &log.batches {
            let mut b = bytes.clone();
            for set in RecordBatchDecoder::decode_all(&mut b).expect("decode a stored batch") {
                for r in set.records {
                    out.push(String::from_utf8_lossy(&r.value.unwrap_or_default()).into_owned());
                }
            }
        }
        out
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The API keys of the requests received so far, in order, without ApiVersions.
    pub fn keys(&self) -> Vec<ApiKey> {
        self.received().into_iter().map(|r| r.api_key).filter(|k| *k != ApiKey::ApiVersions).collect()
    }

    /// Requests of one key, in order.
    pub fn of(&self, key: ApiKey) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.api_key == key).collect()
    }

    /// The batches of every Produce request received, in order.
    pub fn produced(&self) -> Vec<ProducedBatch> {
        self.of(ApiKey::Produce)
            .into_iter()
            .flat_map(|r| match r.request {
                RequestKind::Produce(p) => produced_batches(&p),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Waits until `pred` holds of the received requests (checked on every new request), or
    /// panics after `timeout` with `what`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&[Received]) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if pred(&self.state.lock().unwrap().received) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let keys: Vec<_> = self.received().iter().map(|r| (r.conn, r.api_key)).collect();
                panic!("timed out waiting for {what}; received: {keys:?}");
            }
        }
    }

    /// Number of connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// Closes every open connection from the broker's side.
    pub async fn close_connections(&self) {
        let open: Vec<_> = std::mem::take(&mut self.state.lock().unwrap().open);
        for (_, w) in open {
            let _ = w.lock().await.shutdown().await;
        }
    }
}

/// Decodes the batches of a Produce request.
pub fn produced_batches(p: &ProduceRequest) -> Vec<ProducedBatch> {
    let mut out = Vec::new();
    for t in &p.topic_data {
        for pd in &t.partition_data {
            let Some(records) = &pd.records else { continue };
            let mut b = records.clone();
            let sets = RecordBatchDecoder::decode_all(&mut b).expect("decode a produced batch");
            // One batch per partition in a Produce request.
            let first = records.clone();
            let producer_id = (&first[43..51]).get_i64();
            let producer_epoch = (&first[51..53]).get_i16();
            let base_sequence = (&first[53..57]).get_i32();
            let attributes = (&first[21..23]).get_i16();
            out.push(ProducedBatch {
                topic: t.name.0.to_string(),
                partition: pd.index,
                producer_id,
                producer_epoch,
                base_sequence,
                transactional: attributes & 0x10 != 0,
                values: sets.into_iter().flat_map(|s| s.records).map(|r| r.value.unwrap_or_default().to_vec()).collect(),
            });
        }
    }
    out
}

async fn read_frame(r: &mut tokio::net::tcp::OwnedReadHalf) -> std::io::Result<Bytes> {
    let size = r.read_i32().await?;
    let mut buf = BytesMut::zeroed(size.max(0) as usize);
    r.read_exact(&mut buf).await?;
    Ok(buf.freeze())
}

async fn serve(stream: TcpStream, conn: usize, addr: SocketAddr, state: Arc<Mutex<State>>, changed: Arc<tokio::sync::Notify>) {
    let (mut read, write) = stream.into_split();
    let write = Arc::new(tokio::sync::Mutex::new(write));
    state.lock().unwrap().open.push((conn, write.clone()));
    loop {
        let Ok(mut frame) = read_frame(&mut read).await else { break };
        let key = (&frame[0..2]).get_i16();
        let version = (&frame[2..4]).get_i16();
        let Ok(api_key) = ApiKey::try_from(key) else { break };
        let Ok(header) = RequestHeader::decode(&mut frame, api_key.request_header_version(version)) else { break };
        let request = match RequestKind::decode(api_key, &mut frame, version) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("fake broker: cannot decode {api_key:?} v{version}: {e}");
                break;
            }
        };
        let behaviour = {
            let mut s = state.lock().unwrap();
            s.received.push(Received {
                conn,
                api_key,
                version,
                correlation_id: header.correlation_id,
                at: Instant::now(),
                request: request.clone(),
            });
            s.scripts.get_mut(&key).and_then(|q| q.pop_front()).unwrap_or(Behaviour::Normal)
        };
        changed.notify_waiters();
        let corr = header.correlation_id;
        match behaviour {
            Behaviour::NeverAnswer => continue,
            Behaviour::Close => break,
            Behaviour::Lose => {
                let _ = respond(&state, addr, &request, version, None).await;
                break;
            }
            Behaviour::Delay(_) | Behaviour::ErrorAfter(..) => {
                let (d, error) = match behaviour {
                    Behaviour::Delay(d) => (d, None),
                    Behaviour::ErrorAfter(c, d) => (d, Some(c)),
                    _ => unreachable!(),
                };
                let (state, write) = (state.clone(), write.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    let resp = respond(&state, addr, &request, version, error).await;
                    send(&write, api_key, version, corr, resp).await;
                });
            }
            // As a broker does, one request of a connection at a time, in order (a long-poll
            // Fetch holds the connection).
            Behaviour::Normal | Behaviour::Error(_) | Behaviour::Edit(_) => {
                let (error, edit) = match behaviour {
                    Behaviour::Error(c) => (Some(c), None),
                    Behaviour::Edit(f) => (None, Some(f)),
                    _ => (None, None),
                };
                let mut resp = respond(&state, addr, &request, version, error).await;
                if let Some(f) = edit {
                    f(&mut resp);
                }
                send(&write, api_key, version, corr, resp).await;
            }
        }
    }
    state.lock().unwrap().open.retain(|(c, _)| *c != conn);
    let _ = write.lock().await.shutdown().await;
}

async fn send(
    write: &tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: ResponseKind,
) {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, api_key.response_header_version(version))
        .unwrap();
    resp.encode(&mut buf, version).unwrap_or_else(|e| panic!("encoding {api_key:?} v{version}: {e}"));
    let n = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&n.to_be_bytes());
    let _ = write.lock().await.write_all(&buf).await;
}

/// The response to `request`; with `error` every error code in it is that code and the
/// broker's state is left alone.
async fn respond(state: &Mutex<State>, addr: SocketAddr, request: &RequestKind, _version: i16, error: Option<i16>) -> ResponseKind {
    let ec = error.unwrap_or(0);
    match request {
        RequestKind::ApiVersions(_) => {
            let mut r = ApiVersionsResponse::default();
            r.api_keys = VERSIONS
                .iter()
                .map(|(k, min, max)| ApiVersion::default().with_api_key(*k as i16).with_min_version(*min).with_max_version(*max))
                .collect();
            r.error_code = ec;
            ResponseKind::ApiVersions(r)
        }
        RequestKind::Metadata(req) => {
            let s = state.lock().unwrap();
            let mut r = MetadataResponse::default();
            r.brokers = vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(NODE_ID))
                .with_host(s_(&addr.ip().to_string()))
                .with_port(addr.port() as i32)];
            r.cluster_id = Some(s_("fake-cluster"));
            r.controller_id = BrokerId(NODE_ID);
            let names: Vec<String> = match &req.topics {
                None => s.topics.keys().cloned().collect(),
                Some(ts) => ts.iter().filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())).collect(),
            };
            r.topics = names
                .into_iter()
                .map(|name| match s.topics.get(&name) {
                    Some((id, n)) => MetadataResponseTopic::default()
                        .with_name(Some(TopicName(s_(&name))))
                        .with_topic_id(*id)
                        .with_error_code(ec)
                        .with_partitions(
                            (0..*n)
                                .map(|p| {
                                    MetadataResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_leader_id(BrokerId(NODE_ID))
                                        .with_leader_epoch(0)
                                        .with_replica_nodes(vec![BrokerId(NODE_ID)])
                                        .with_isr_nodes(vec![BrokerId(NODE_ID)])
                                })
                                .collect(),
                        ),
                    None => MetadataResponseTopic::default().with_name(Some(TopicName(s_(&name)))).with_error_code(3),
                })
                .collect();
            ResponseKind::Metadata(r)
        }
        RequestKind::Produce(req) => {
            let mut s = state.lock().unwrap();
            let mut r = ProduceResponse::default();
            for t in &req.topic_data {
                let mut tr = TopicProduceResponse::default().with_name(t.name.clone());
                for pd in &t.partition_data {
                    let mut pr = PartitionProduceResponse::default().with_index(pd.index).with_log_append_time_ms(-1);
                    let key = (t.name.0.to_string(), pd.index);
                    let st = &mut *s;
                    match (ec, st.logs.get_mut(&key), &pd.records) {
                        (0, Some(log), Some(records)) => {
                            let mut bytes = BytesMut::from(&records[..]);
                            let count = (&records[23..27]).get_i32() as i64 + 1;
                            match check_sequence(&mut st.sequences, &key, records, log.next_offset) {
                                Ok(None) => {}
                                Ok(Some(duplicate_of)) => {
                                    pr.base_offset = duplicate_of;
                                    pr.log_start_offset = log.log_start;
                                    tr.partition_responses.push(pr);
                                    continue;
                                }
                                Err(code) => {
                                    pr.error_code = code;
                                    pr.base_offset = -1;
                                    tr.partition_responses.push(pr);
                                    continue;
                                }
                            }
                            let base = log.next_offset;
                            bytes[0..8].copy_from_slice(&base.to_be_bytes());
                            log.batches.push((base, count, bytes.freeze()));
                            log.next_offset += count;
                            pr.base_offset = base;
                            pr.log_start_offset = log.log_start;
                        }
                        (0, None, _) => {
                            pr.error_code = 3;
                            pr.base_offset = -1;
                        }
                        (code, _, _) => {
                            pr.error_code = code;
                            pr.base_offset = -1;
                        }
                    }
                    tr.partition_responses.push(pr);
                }
                r.responses.push(tr);
            }
            ResponseKind::Produce(r)
        }
        RequestKind::Fetch(req) => {
            let mut r = FetchResponse::default();
            let build = |s: &State| -> (Vec<FetchableTopicResponse>, bool) {
                let mut any = false;
                let mut out = Vec::new();
                for t in &req.topics {
                    let name = t.topic.0.to_string();
                    let mut tr = FetchableTopicResponse::default().with_topic(t.topic.clone()).with_topic_id(t.topic_id);
                    for p in &t.partitions {
                        let mut pd = fetch_response::PartitionData::default()
                            .with_partition_index(p.partition)
                            .with_last_stable_offset(-1)
                            .with_preferred_read_replica(BrokerId(-1));
                        match s.logs.get(&(name.clone(), p.partition)) {
                            None => pd.error_code = 3,
                            Some(_) if ec != 0 => pd.error_code = ec,
                            Some(log) => {
                                pd.high_watermark = log.next_offset;
                                pd.last_stable_offset = log.next_offset;
                                pd.log_start_offset = log.log_start;
                                if p.fetch_offset < log.log_start || p.fetch_offset > log.next_offset {
                                    pd.error_code = 1;
                                } else {
                                    let mut data = BytesMut::new();
                                    for (base, n, bytes) in &log.batches {
                                        if base + n > p.fetch_offset {
                                            data.extend_from_slice(bytes);
                                        }
                                    }
                                    if !data.is_empty() {
                                        any = true;
                                    }
                                    pd.records = Some(data.freeze());
                                }
                            }
                        }
                        if pd.error_code != 0 {
                            any = true;
                        }
                        tr.partitions.push(pd);
                    }
                    out.push(tr);
                }
                (out, any)
            };
            // A long poll: wait up to max_wait_ms for data, as a broker does.
            let deadline = tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.clamp(0, 500) as u64);
            loop {
                let (topics, any) = build(&state.lock().unwrap());
                if any || ec != 0 || tokio::time::Instant::now() >= deadline {
                    r.responses = topics;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            ResponseKind::Fetch(r)
        }
        RequestKind::ListOffsets(req) => {
            let s = state.lock().unwrap();
            let mut r = ListOffsetsResponse::default();
            for t in &req.topics {
                let mut tr = ListOffsetsTopicResponse::default().with_name(t.name.clone());
                for p in &t.partitions {
                    let mut pr = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index).with_timestamp(-1);
                    match s.logs.get(&(t.name.0.to_string(), p.partition_index)) {
                        _ if ec != 0 => pr.error_code = ec,
                        None => pr.error_code = 3,
                        Some(log) => {
                            pr.offset = if p.timestamp == -2 { log.log_start } else { log.next_offset };
                        }
                    }
                    tr.partitions.push(pr);
                }
                r.topics.push(tr);
            }
            ResponseKind::ListOffsets(r)
        }
        RequestKind::InitProducerId(req) => {
            let mut s = state.lock().unwrap();
            let mut r = InitProducerIdResponse::default();
            if ec != 0 {
                r.error_code = ec;
                r.producer_id = ProducerId(-1);
                r.producer_epoch = -1;
            } else if req.producer_id.0 >= 0 && s.producers.get(&req.producer_id.0) == Some(&req.producer_epoch) {
                let epoch = req.producer_epoch + 1;
                s.producers.insert(req.producer_id.0, epoch);
                r.producer_id = req.producer_id;
                r.producer_epoch = epoch;
            } else if req.producer_id.0 >= 0 {
                r.error_code = code::INVALID_PRODUCER_EPOCH;
                r.producer_id = ProducerId(-1);
                r.producer_epoch = -1;
            } else {
                let id = s.next_producer_id;
                s.next_producer_id += 1;
                s.producers.insert(id, 0);
                r.producer_id = ProducerId(id);
                r.producer_epoch = 0;
            }
            ResponseKind::InitProducerId(r)
        }
        RequestKind::FindCoordinator(_) => {
            let mut r = FindCoordinatorResponse::default();
            r.error_code = ec;
            r.node_id = BrokerId(if ec == 0 { NODE_ID } else { -1 });
            r.host = s_(&addr.ip().to_string());
            r.port = addr.port() as i32;
            ResponseKind::FindCoordinator(r)
        }
        RequestKind::JoinGroup(req) => {
            let mut s = state.lock().unwrap();
            let g = s.groups.entry(req.group_id.0.to_string()).or_default();
            let mut r = JoinGroupResponse::default();
            let member_id = if req.member_id.is_empty() {
                g.next_member += 1;
                format!("member-{}", g.next_member)
            } else {
                req.member_id.to_string()
            };
            r.member_id = s_(&member_id);
            r.generation_id = -1;
            if ec != 0 {
                r.error_code = ec;
                if ec != code::MEMBER_ID_REQUIRED {
                    r.member_id = StrBytes::default();
                }
            } else {
                let Some(proto) = req.protocols.first() else {
                    r.error_code = 23; // INCONSISTENT_GROUP_PROTOCOL
                    return ResponseKind::JoinGroup(r);
                };
                g.generation += 1;
                g.members.clear();
                g.members.insert(member_id.clone(), proto.metadata.clone());
                g.protocol = Some(proto.name.to_string());
                g.assignments.clear();
                r.generation_id = g.generation;
                r.protocol_type = Some(req.protocol_type.clone());
                r.protocol_name = Some(proto.name.clone());
                r.leader = s_(&member_id);
                r.members = g
                    .members
                    .iter()
                    .map(|(m, md)| JoinGroupResponseMember::default().with_member_id(s_(m)).with_metadata(md.clone()))
                    .collect();
            }
            ResponseKind::JoinGroup(r)
        }
        RequestKind::SyncGroup(req) => {
            let mut s = state.lock().unwrap();
            let g = s.groups.entry(req.group_id.0.to_string()).or_default();
            let mut r = SyncGroupResponse::default();
            if ec != 0 {
                r.error_code = ec;
            } else if req.generation_id != g.generation || !g.members.contains_key(req.member_id.as_str()) {
                r.error_code = if g.members.contains_key(req.member_id.as_str()) { code::ILLEGAL_GENERATION } else { code::UNKNOWN_MEMBER_ID };
            } else {
                for a in &req.assignments {
                    g.assignments.insert(a.member_id.to_string(), a.assignment.clone());
                }
                r.protocol_type = req.protocol_type.clone();
                r.protocol_name = req.protocol_name.clone();
                r.assignment = g.assignments.get(req.member_id.as_str()).cloned().unwrap_or_default();
            }
            ResponseKind::SyncGroup(r)
        }
        RequestKind::Heartbeat(req) => {
            let s = state.lock().unwrap();
            let mut r = HeartbeatResponse::default();
            r.error_code = ec;
            if ec == 0 {
                if let Some(g) = s.groups.get(req.group_id.0.as_str()) {
                    if !g.members.contains_key(req.member_id.as_str()) {
                        r.error_code = code::UNKNOWN_MEMBER_ID;
                    } else if g.generation != req.generation_id {
                        r.error_code = code::ILLEGAL_GENERATION;
                    }
                }
            }
            ResponseKind::Heartbeat(r)
        }
        RequestKind::LeaveGroup(req) => {
            let mut s = state.lock().unwrap();
            let mut r = LeaveGroupResponse::default();
            r.error_code = ec;
            if ec == 0 {
                if let Some(g) = s.groups.get_mut(req.group_id.0.as_str()) {
                    g.members.remove(req.member_id.as_str());
                    for m in &req.members {
                        g.members.remove(m.member_id.as_str());
                        r.members.push(leave_group_response::MemberResponse::default().with_member_id(m.member_id.clone()));
                    }
                }
            }
            ResponseKind::LeaveGroup(r)
        }
        RequestKind::OffsetCommit(req) => {
            let mut s = state.lock().unwrap();
            let g = s.groups.entry(req.group_id.0.to_string()).or_default();
            let mut r = OffsetCommitResponse::default();
            for t in &req.topics {
                let mut tr = OffsetCommitResponseTopic::default().with_name(t.name.clone());
                for p in &t.partitions {
                    if ec == 0 {
                        g.committed.insert((t.name.0.to_string(), p.partition_index), p.committed_offset);
                    }
                    tr.partitions.push(OffsetCommitResponsePartition::default().with_partition_index(p.partition_index).with_error_code(ec));
                }
                r.topics.push(tr);
            }
            ResponseKind::OffsetCommit(r)
        }
        RequestKind::OffsetFetch(req) => {
            let s = state.lock().unwrap();
            let g = s.groups.get(req.group_id.0.as_str());
            let mut r = OffsetFetchResponse::default();
            r.error_code = ec;
            for t in req.topics.iter().flatten() {
                let mut tr = OffsetFetchResponseTopic::default().with_name(t.name.clone());
                for p in &t.partition_indexes {
                    let off = g.and_then(|g| g.committed.get(&(t.name.0.to_string(), *p))).copied().unwrap_or(-1);
                    tr.partitions.push(
                        OffsetFetchResponsePartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(off)
                            .with_committed_leader_epoch(-1)
                            .with_metadata(Some(StrBytes::default())),
                    );
                }
                r.topics.push(tr);
            }
            ResponseKind::OffsetFetch(r)
        }
        RequestKind::AddPartitionsToTxn(req) => {
            let mut r = AddPartitionsToTxnResponse::default();
            for t in &req.v3_and_below_topics {
                let mut tr = AddPartitionsToTxnTopicResult::default().with_name(t.name.clone());
                for p in &t.partitions {
                    tr.results_by_partition
                        .push(AddPartitionsToTxnPartitionResult::default().with_partition_index(*p).with_partition_error_code(ec));
                }
                r.results_by_topic_v3_and_below.push(tr);
            }
            ResponseKind::AddPartitionsToTxn(r)
        }
        RequestKind::EndTxn(_) => {
            let mut r = EndTxnResponse::default();
            r.error_code = ec;
            ResponseKind::EndTxn(r)
        }
    }
}

fn s_(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Builds a FetchResponse partition's records with the last `cut` bytes removed (a broker
/// sends partial trailing batches when a batch does not fit the fetch size).
pub fn truncate_fetch_records(resp: &mut ResponseKind, cut: usize) {
    if let ResponseKind::Fetch(f) = resp {
        for t in &mut f.responses {
            for p in &mut t.partitions {
                if let Some(r) = &p.records {
                    if r.len() > cut {
                        p.records = Some(r.slice(..r.len() - cut));
                    }
                }
            }
        }
    }
}

/// Consumer protocol (v0) encodings for JoinGroup metadata and SyncGroup assignments.
pub fn decode_subscription(md: &Bytes) -> Vec<String> {
    let mut b = md.clone();
    let _version = b.get_i16();
    let n = b.get_i32();
    (0..n)
        .map(|_| {
            let len = b.get_i16() as usize;
            let t = String::from_utf8_lossy(&b[..len]).into_owned();
            b.advance(len);
            t
        })
        .collect()
}
