//! The broker's ceiling for P1/P2 (T1: see `ceiling_txn.rs`): pre-encoded Produce requests written over one TCP connection,
//! up to `--in-flight` pipelined, responses read and checked (error codes only). Everything a
//! producer does besides writing bytes (accumulating, encoding, CRC, bookkeeping) is done before
//! the clock starts, so `records/s` here is what this broker on this box can take; a client's
//! P1/P2 throughput divided by it is the client's efficiency.
//!
//! `ceiling --workload P1|P2 --bootstrap HOST:PORT --topic T --records N --size B
//!     [--in-flight 5] [--batch-bytes 1048576]`   (one partition: 0; the broker is its leader)

mod ceiling_txn;
mod contract;

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::{Bytes, BytesMut, BufMut};
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_protocol::messages::{ProduceResponse, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use polykafka::protocol::records::{BatchAttributes, RecordBatchBuilder};

const PRODUCE_VERSION: i16 = 9;
const INIT_PID_VERSION: i16 = 2;

/// One request with its header and length prefix (bytes 8..12 are the correlation id).
pub(crate) fn frame<R: Request>(req: &R, version: i16, correlation_id: i32) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("ceiling")))
        .encode(&mut buf, R::header_version(version))
        .unwrap();
    req.encode(&mut buf, version).unwrap();
    let n = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&n.to_be_bytes());
    buf
}

fn read_frame(s: &mut TcpStream) -> Bytes {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("read response length");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("read response");
    Bytes::from(body)
}

fn main() {
    let mut in_flight = 5usize;
    let mut batch_bytes = 1_048_576usize;
    let mut tv = 1;
    // Extra flags of this program only; the rest is the adapter contract.
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |what: &str| args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| contract::die(what));
        match flag.as_str() {
            "--in-flight" => in_flight = value("--in-flight N"),
            "--batch-bytes" => batch_bytes = value("--batch-bytes N"),
            "--tv" => tv = value("--tv 1|2") as i32,
            _ => rest.push(flag),
        }
    }
    let a = contract::parse_from(rest);
    if a.workload == "T1" {
        return ceiling_txn::run(&a, tv);
    }
    let idempotent = a.workload == "P2";
    let acks: i16 = if idempotent { -1 } else { 1 };
    let mut s = TcpStream::connect(&a.bootstrap).expect("connect");
    s.set_nodelay(true).unwrap();

    let (pid, epoch) = if idempotent {
        let req = InitProducerIdRequest::default().with_transactional_id(None).with_transaction_timeout_ms(-1).with_producer_id((-1).into()).with_producer_epoch(-1);
        let mut tries = 0;
        loop {
            s.write_all(&frame(&req, INIT_PID_VERSION, 0)).unwrap();
            let mut f = read_frame(&mut s);
            let hv = <InitProducerIdRequest as Request>::Response::header_version(INIT_PID_VERSION);
            ResponseHeader::decode(&mut f, hv).unwrap();
            let r = <InitProducerIdRequest as Request>::Response::decode(&mut f, INIT_PID_VERSION).unwrap();
            // 14, 15, 16: the coordinator is loading or moving: retriable.
            if r.error_code == 0 {
                break (r.producer_id.0, r.producer_epoch);
            }
            tries += 1;
            if ![14, 15, 16].contains(&r.error_code) || tries > 100 {
                contract::die(&format!("InitProducerId failed with error code {}", r.error_code));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    } else {
        (-1, -1)
    };

    // Pre-encode every request.
    let value = contract::payload(a.size);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut frames = Vec::new();
    let mut done = 0usize;
    while done < a.records {
        let mut b = RecordBatchBuilder::with_capacity(now, batch_bytes + 1024);
        while done < a.records {
            let next = RecordBatchBuilder::record_size(b.len() as i32, 0, None, Some(&value), &[]);
            if !b.is_empty() && b.size_in_bytes() + next > batch_bytes {
                break;
            }
            b.append(now, None, Some(&value), &[]).unwrap();
            done += 1;
        }
        let base_sequence = if idempotent { (done - b.len()) as i32 } else { -1 };
        let attrs = BatchAttributes { producer_id: pid, producer_epoch: epoch, base_sequence, ..Default::default() };
        let batch = b.finish(&attrs).unwrap();
        let req = ProduceRequest::default().with_acks(acks).with_timeout_ms(30_000).with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(a.topic.clone())))
            .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(batch))])]);
        frames.push(frame(&req, PRODUCE_VERSION, frames.len() as i32 + 1).freeze());
    }
    let n_frames = frames.len();

    let meter = contract::Meter::start();
    let mut sent = 0;
    let mut acked = 0;
    let mut errors = 0;
    let hv = ProduceResponse::header_version(PRODUCE_VERSION);
    while acked < n_frames {
        while sent < n_frames && sent - acked < in_flight {
            s.write_all(&frames[sent]).expect("write request");
            sent += 1;
        }
        let mut f = read_frame(&mut s);
        let h = ResponseHeader::decode(&mut f, hv).unwrap();
        assert_eq!(h.correlation_id, acked as i32 + 1, "responses come in order");
        let r = ProduceResponse::decode(&mut f, PRODUCE_VERSION).unwrap();
        for t in &r.responses {
            for p in &t.partition_responses {
                if p.error_code != 0 {
                    if errors == 0 {
                        eprintln!("produce error code {} on request {}", p.error_code, acked + 1);
                    }
                    errors += 1;
                }
            }
        }
        acked += 1;
    }
    let mut sum = contract::Checksum::default();
    let ok = if errors == 0 { a.records } else { 0 };
    for _ in 0..ok {
        sum.add(&value);
    }
    meter.finish(
        "ceiling",
        &a,
        ok,
        ok * a.size,
        sum,
        None,
        &format!(",\"requests\":{n_frames},\"in_flight\":{in_flight},\"batch_bytes\":{batch_bytes},\"failed_requests\":{errors}"),
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
