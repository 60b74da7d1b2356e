//! The broker's ceiling for T1 (`ceiling --workload T1`): transactions of `--txn-size` records on one partition, driven by
//! the fewest requests the protocol allows, every Produce pre-encoded before the clock starts, one
//! request in flight at a time (each step of a transaction needs the answer to the one before).
//! A transactional producer's T1 throughput divided by this is the client's efficiency; this
//! divided by the P2 ceiling is what transactions cost on this broker whatever the client does.
//!
//! `ceiling --workload T1 --bootstrap HOST:PORT --topic T --records N [--size B] [--txn-size 1000]
//!     [--tv 1|2]`
//!
//! `--tv 1` (transaction protocol version 1, the default): AddPartitionsToTxn, then Produce (v11: the leader
//! verifies the partition with the coordinator), then EndTxn v4. CONCURRENT_TRANSACTIONS (the
//! broker still writes the previous transaction's markers) is retried at once.
//! `--tv 2` (KIP-890, the broker's `transaction.version` 2): Produce v12 adds the partition to the
//! transaction itself, EndTxn v5 bumps the epoch, and the next transaction's sequence numbers
//! start at 0 under the new epoch (predicted when pre-encoding; checked against EndTxn's answer).
//! Measured here (Kafka 4.4, one node): v2 is about ten times slower for back-to-back
//! transactions, because a Produce that meets the previous transaction's markers still being
//! written is held by the broker (it retries after a backoff) instead of being answered
//! CONCURRENT_TRANSACTIONS for the client to retry at once.
//! One broker (the coordinator and the partition's leader); prints one JSON line as the adapters do.

use crate::{contract, frame};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProduceRequest, ProducerId, ResponseHeader,
    TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Decodable, HeaderVersion, Request, StrBytes};
use polykafka::protocol::records::{BatchAttributes, RecordBatchBuilder};

const CONCURRENT_TRANSACTIONS: i16 = 51;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// One connection, one request at a time; the time spent waiting per API is summed.
struct Conn {
    s: TcpStream,
    correlation_id: i32,
}

impl Conn {
    /// Writes a pre-encoded frame (its correlation id replaced) and decodes the answer.
    fn call<R: Request>(&mut self, frame: &mut BytesMut, version: i16) -> R::Response {
        self.correlation_id += 1;
        frame[8..12].copy_from_slice(&self.correlation_id.to_be_bytes());
        self.s.write_all(frame).expect("write request");
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).expect("read response length");
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut body).expect("read response");
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version)).unwrap();
        assert_eq!(header.correlation_id, self.correlation_id, "responses come in order");
        R::Response::decode(&mut body, version).unwrap()
    }
}

pub fn run(a: &contract::Args, tv: i32) {
    let txns = a.records.div_ceil(a.txn_size);
    let mut c = Conn { s: TcpStream::connect(&a.bootstrap).expect("connect"), correlation_id: 0 };
    c.s.set_nodelay(true).unwrap();
    let txn_id = TransactionalId(StrBytes::from_string(format!("ceiling-{}", a.topic)));

    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(txn_id.clone()))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let mut init_frame = frame(&init, 4, 0);
    let (pid, epoch0) = loop {
        let r = c.call::<InitProducerIdRequest>(&mut init_frame, 4);
        match r.error_code {
            0 => break (r.producer_id.0, r.producer_epoch),
            // The coordinator is loading, not yet known, or finishing an earlier transaction.
            14 | 15 | 16 | CONCURRENT_TRANSACTIONS => std::thread::sleep(Duration::from_millis(50)),
            code => contract::die(&format!("InitProducerId failed with error code {code}")),
        }
    };

    // Pre-encode every Produce, the AddPartitionsToTxn (v1: the same each time) and the EndTxn
    // (v1: the same each time; v2: the epoch changes).
    let produce_version: i16 = if tv == 2 { 12 } else { 11 };
    let end_version: i16 = if tv == 2 { 5 } else { 4 };
    let value = contract::payload(a.size);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut produces = Vec::new();
    let mut ends = Vec::new();
    for t in 0..txns {
        let n = a.txn_size.min(a.records - t * a.txn_size);
        let mut b = RecordBatchBuilder::with_capacity(now, n * (a.size + 16) + 1024);
        for _ in 0..n {
            b.append(now, None, Some(&value), &[]).unwrap();
        }
        let (epoch, base_sequence) = if tv == 2 { (epoch0 + t as i16, 0) } else { (epoch0, (t * a.txn_size) as i32) };
        let attrs = BatchAttributes { producer_id: pid, producer_epoch: epoch, base_sequence, transactional: true, ..Default::default() };
        let req = ProduceRequest::default()
            .with_transactional_id(Some(txn_id.clone()))
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(a.topic.clone())))
                .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(b.finish(&attrs).unwrap()))])]);
        produces.push(frame(&req, produce_version, 0));
        let end = EndTxnRequest::default().with_transactional_id(txn_id.clone()).with_producer_id(ProducerId(pid)).with_producer_epoch(epoch).with_committed(true);
        ends.push(frame(&end, end_version, 0));
    }
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(txn_id.clone())
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch0)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(StrBytes::from_string(a.topic.clone())))
            .with_partitions(vec![0])]);
    let mut add_frame = frame(&add, 3, 0);

    let meter = contract::Meter::start();
    let (mut add_calls, mut produce_calls) = (0usize, 0usize);
    let (mut add_time, mut produce_time, mut end_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for t in 0..txns {
        if tv == 1 {
            let t0 = Instant::now();
            loop {
                add_calls += 1;
                let r = c.call::<AddPartitionsToTxnRequest>(&mut add_frame, 3);
                let code = r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
                match code {
                    0 => break,
                    CONCURRENT_TRANSACTIONS => continue,
                    code => contract::die(&format!("AddPartitionsToTxn failed with error code {code}")),
                }
            }
            add_time += t0.elapsed();
        }
        let t0 = Instant::now();
        let mut not_leader = 0;
        loop {
            produce_calls += 1;
            let r = c.call::<ProduceRequest>(&mut produces[t], produce_version);
            match r.responses[0].partition_responses[0].error_code {
                0 => break,
                // v2: the previous transaction's markers are still being written.
                CONCURRENT_TRANSACTIONS => continue,
                // A topic created just before: the broker may not lead its partition yet (bench-quick
                // failed so once, in transaction 0). Nothing was written; the same request goes again.
                NOT_LEADER_OR_FOLLOWER | UNKNOWN_TOPIC_OR_PARTITION if not_leader < 200 => {
                    not_leader += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                code => contract::die(&format!("Produce failed with error code {code} in transaction {t}")),
            }
        }
        produce_time += t0.elapsed();
        let t0 = Instant::now();
        let r = c.call::<EndTxnRequest>(&mut ends[t], end_version);
        if r.error_code != 0 {
            contract::die(&format!("EndTxn failed with error code {} in transaction {t}", r.error_code));
        }
        if tv == 2 && r.producer_epoch != epoch0 + t as i16 + 1 {
            contract::die(&format!("EndTxn v5 gave epoch {}, expected {}", r.producer_epoch, epoch0 + t as i16 + 1));
        }
        end_time += t0.elapsed();
    }
    let mut sum = contract::Checksum::default();
    for _ in 0..a.records {
        sum.add(&value);
    }
    let per_txn = |d: Duration| d.as_secs_f64() * 1000.0 / txns as f64;
    meter.finish(
        "ceiling",
        a,
        a.records,
        a.records * a.size,
        sum,
        None,
        &format!(
            ",\"transaction_version\":{tv},\"transactions\":{txns},\"add_partitions_calls\":{add_calls},\"produce_calls\":{produce_calls},\"ms_per_txn\":{{\"add_partitions\":{:.3},\"produce\":{:.3},\"end_txn\":{:.3}}}",
            per_txn(add_time),
            per_txn(produce_time),
            per_txn(end_time)
        ),
    );
}
