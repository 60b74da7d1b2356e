//! The producer's sender against the fake broker: retries, KIP-360 epoch bumps, sequence
//! errors and delivery timeouts, each asserted as an exact sequence of requests.

mod fake_broker;

use std::time::Duration;

use fake_broker::{code, ApiKey, Behaviour, FakeBroker};
use polykafka::producer::Producer;
use polykafka::{ProducerConfig, ProducerRecord};

fn producer(broker: &FakeBroker, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![
        ("bootstrap.servers".to_string(), broker.bootstrap()),
        ("linger.ms".to_string(), "0".to_string()),
        ("retry.backoff.ms".to_string(), "20".to_string()),
        ("reconnect.backoff.ms".to_string(), "20".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

/// NOT_LEADER_OR_FOLLOWER, then success: the batch goes again after a metadata refresh, with
/// the same producer id, epoch and sequence, and is written once, records in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_is_retried_after_a_metadata_refresh() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Error(code::NOT_LEADER_OR_FOLLOWER)]);
    // One batch: the five records are queued well within linger.ms.
    let p = producer(&broker, &[("linger.ms", "100")]);
    let records: Vec<_> = (0..5).map(|i| ProducerRecord::new("t").partition(0).value(format!("v{i}"))).collect();
    let results = p.send_batch(records).await.unwrap().await;
    let offsets: Vec<i64> = results.into_iter().map(|r| r.unwrap().offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    assert_eq!(broker.log_values("t", 0), vec!["v0", "v1", "v2", "v3", "v4"]);

    let keys = broker.keys();
    let produces: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| **k == ApiKey::Produce).map(|(i, _)| i).collect();
    assert_eq!(produces.len(), 2, "{keys:?}");
    assert!(
        keys[produces[0]..produces[1]].contains(&ApiKey::Metadata),
        "a metadata refresh comes between the failed Produce and its retry: {keys:?}"
    );
    let batches = broker.produced();
    assert_eq!(batches[0], batches[1], "the retry is the same batch: same producer id, epoch, sequence, records");
    assert_eq!(batches[0].base_sequence, 0);
    assert!(batches[0].producer_id >= 0);
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// A Produce request never answered: after the request times out the batch fails (its
/// delivery deadline passed meanwhile); its outcome is unknown, so the idempotent producer
/// bumps its epoch (KIP-360: InitProducerId with the current id and epoch) before the next
/// batch, which goes out under the new epoch with base sequence 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_batch_fails_then_the_epoch_is_bumped() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::NeverAnswer]);
    let p = producer(&broker, &[("request.timeout.ms", "300"), ("delivery.timeout.ms", "300")]);
    let first = p.send(ProducerRecord::new("t").partition(0).value("lost")).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), first).await.expect("the batch completes").unwrap_err();
    assert_eq!(err.kind(), polykafka::ErrorKind::Timeout, "{err}");
    // The record failed at delivery.timeout.ms while its request was in flight; the epoch is
    // bumped once that request ends (the sender's wait for it), before anything else goes out.
    broker
        .wait_for("the epoch bump", Duration::from_secs(20), |r| r.iter().filter(|r| r.api_key == ApiKey::InitProducerId).count() >= 2)
        .await;

    let second = p.send(ProducerRecord::new("t").partition(0).value("next")).await.unwrap();
    let md = tokio::time::timeout(Duration::from_secs(10), second).await.expect("delivered").unwrap();
    assert_eq!(md.offset, 0);

    let inits: Vec<_> = broker
        .of(ApiKey::InitProducerId)
        .into_iter()
        .map(|r| match r.request {
            fake_broker::RequestKind::InitProducerId(i) => (i.producer_id.0, i.producer_epoch),
            _ => unreachable!(),
        })
        .collect();
    let batches = broker.produced();
    assert_eq!(batches.len(), 2, "{batches:?}");
    let (pid, epoch) = (batches[0].producer_id, batches[0].producer_epoch);
    assert_eq!(inits, vec![(-1, -1), (pid, epoch)], "a new id, then the epoch bump with the current id and epoch");
    assert_eq!((batches[0].base_sequence, batches[0].values.clone()), (0, vec![b"lost".to_vec()]));
    assert_eq!(
        (batches[1].producer_id, batches[1].producer_epoch, batches[1].base_sequence),
        (pid, epoch + 1, 0),
        "the next batch goes under the bumped epoch from sequence 0"
    );
    let keys = broker.keys();
    let bump = keys.iter().rposition(|k| *k == ApiKey::InitProducerId).unwrap();
    let second_produce = keys.iter().rposition(|k| *k == ApiKey::Produce).unwrap();
    assert!(bump < second_produce, "the bump comes before the next batch: {keys:?}");
    assert_eq!(broker.log_values("t", 0), vec!["next"]);
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// Two batches in flight: the first fails with NOT_LEADER_OR_FOLLOWER (late), so the broker
/// refuses the second with OUT_OF_ORDER_SEQUENCE_NUMBER. As the sender documents, the second
/// "goes again after" the first: both are retried with their own sequence numbers under the
/// same epoch (no reset, no bump), and the log holds every record once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_sequence_is_retried_after_the_failed_batch() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(
        ApiKey::Produce,
        [
            Behaviour::Normal,
            Behaviour::ErrorAfter(code::NOT_LEADER_OR_FOLLOWER, Duration::from_millis(300)),
            Behaviour::Error(code::OUT_OF_ORDER_SEQUENCE_NUMBER),
        ],
    );
    let p = producer(&broker, &[]);
    let a = p.send(ProducerRecord::new("t").partition(0).value("a")).await.unwrap();
    a.await.unwrap();
    let b = p.send(ProducerRecord::new("t").partition(0).value("b")).await.unwrap();
    broker.wait_for("the second batch", Duration::from_secs(5), |r| r.iter().filter(|r| r.api_key == ApiKey::Produce).count() == 2).await;
    let c = p.send(ProducerRecord::new("t").partition(0).value("c")).await.unwrap();
    let (b, c) = (b.await.unwrap(), c.await.unwrap());
    assert_eq!((b.offset, c.offset), (1, 2));
    assert_eq!(broker.log_values("t", 0), vec!["a", "b", "c"]);

    let seqs: Vec<(i32, i16, String)> = broker
        .produced()
        .into_iter()
        .map(|b| (b.base_sequence, b.producer_epoch, String::from_utf8(b.values.concat()).unwrap()))
        .collect();
    assert_eq!(&seqs[..3], &[(0, 0, "a".into()), (1, 0, "b".into()), (2, 0, "c".into())], "{seqs:?}");
    assert_eq!(&seqs[3..], &[(1, 0, "b".into()), (2, 0, "c".into())], "retried in order with the same sequences: {seqs:?}");
    assert_eq!(broker.of(ApiKey::InitProducerId).len(), 1, "no epoch bump");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// DUPLICATE_SEQUENCE_NUMBER means an earlier attempt was written (its response lost): the
/// sender documents it as delivered (offset unknown, -1), not retried and not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_sequence_is_delivered_without_a_retry() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Error(code::DUPLICATE_SEQUENCE_NUMBER)]);
    let p = producer(&broker, &[]);
    let md = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap().await.unwrap();
    assert_eq!(md.offset, -1, "offset unknown");
    let next = p.send(ProducerRecord::new("t").partition(0).value("y")).await.unwrap().await.unwrap();
    assert_eq!(next.offset, 0);
    let seqs: Vec<i32> = broker.produced().iter().map(|b| b.base_sequence).collect();
    assert_eq!(seqs, vec![0, 1], "no retry of the duplicate; the next batch follows its sequence");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// delivery.timeout.ms bounds the time to report a batch's outcome, "in flight or not" (the
/// sender's drain documents it): a batch whose request never gets an answer fails with a
/// timeout well before request.timeout.ms + 5 s (the sender's own wait for a Produce answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_timeout_expires_a_batch_that_is_never_answered() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::NeverAnswer]);
    let p = producer(&broker, &[("request.timeout.ms", "1000"), ("delivery.timeout.ms", "1000")]);
    let start = std::time::Instant::now();
    let f = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), f).await.expect("completes").unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(err.kind(), polykafka::ErrorKind::Timeout, "{err}");
    assert!(elapsed < Duration::from_millis(4000), "delivery.timeout.ms 1 s, reported after {elapsed:?}: {err}");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// A batch still queued (behind an unanswered one: the idempotent producer sends one batch at
/// a time to a partition until the first is acknowledged) fails when its delivery.timeout.ms
/// passes, with a timeout naming delivery.timeout.ms, and is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_timeout_expires_a_queued_batch() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::NeverAnswer]);
    let p = producer(&broker, &[("request.timeout.ms", "1000"), ("delivery.timeout.ms", "1000")]);
    let first = p.send(ProducerRecord::new("t").partition(0).value("in-flight")).await.unwrap();
    broker.wait_for("the first Produce", Duration::from_secs(5), |r| r.iter().any(|r| r.api_key == ApiKey::Produce)).await;
    let start = std::time::Instant::now();
    let second = p.send(ProducerRecord::new("t").partition(0).value("queued")).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), second).await.expect("completes").unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(err.kind(), polykafka::ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("delivery.timeout.ms"), "{err}");
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(4000), "expired after {elapsed:?}");
    let values: Vec<Vec<Vec<u8>>> = broker.produced().into_iter().map(|b| b.values).collect();
    assert_eq!(values, vec![vec![b"in-flight".to_vec()]], "the queued batch never went out");
    let _ = tokio::time::timeout(Duration::from_secs(20), first).await.expect("the first completes too");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// The broker finds a batch too large (MESSAGE_TOO_LARGE): the sender splits it into one batch
/// per record, numbered from the batch's base sequence, and delivers them in order, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_too_large_splits_the_batch_keeping_sequences() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Error(10)]);
    let p = producer(&broker, &[("linger.ms", "100")]);
    let records: Vec<_> = (0..3).map(|i| ProducerRecord::new("t").partition(0).value(format!("v{i}"))).collect();
    let results = p.send_batch(records).await.unwrap().await;
    let offsets: Vec<i64> = results.into_iter().map(|r| r.unwrap().offset).collect();
    assert_eq!(offsets, vec![0, 1, 2]);
    assert_eq!(broker.log_values("t", 0), vec!["v0", "v1", "v2"]);
    let batches: Vec<(i32, i16, Vec<Vec<u8>>)> = broker.produced().into_iter().map(|b| (b.base_sequence, b.producer_epoch, b.values)).collect();
    assert_eq!(
        batches,
        vec![
            (0, 0, vec![b"v0".to_vec(), b"v1".to_vec(), b"v2".to_vec()]),
            (0, 0, vec![b"v0".to_vec()]),
            (1, 0, vec![b"v1".to_vec()]),
            (2, 0, vec![b"v2".to_vec()]),
        ]
    );
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// When the broker refuses the epoch bump (InitProducerId with the current id and epoch answers
/// an error, as a broker without KIP-360 does), the producer takes a new producer id instead,
/// and the next batch goes under it from sequence 0. The first batch's outcome is made unknown
/// fast: its connection is closed on both attempts (retries=1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_epoch_bump_falls_back_to_a_new_producer_id() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Close, Behaviour::Close]);
    broker.script(ApiKey::InitProducerId, [Behaviour::Normal, Behaviour::Error(35)]); // UNSUPPORTED_VERSION
    let p = producer(&broker, &[("retries", "1")]);
    let first = p.send(ProducerRecord::new("t").partition(0).value("lost")).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), first).await.expect("completes").unwrap_err();
    assert!(err.retriable(), "a connection error: {err}");
    let md = p.send(ProducerRecord::new("t").partition(0).value("next")).await.unwrap().await.unwrap();
    assert_eq!(md.offset, 0);
    let inits: Vec<(i64, i16)> = broker
        .of(ApiKey::InitProducerId)
        .into_iter()
        .map(|r| match r.request {
            fake_broker::RequestKind::InitProducerId(i) => (i.producer_id.0, i.producer_epoch),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(inits, vec![(-1, -1), (1000, 0), (-1, -1)], "new id, refused bump, new id");
    let seqs: Vec<(i64, i16, i32)> = broker.produced().iter().map(|b| (b.producer_id, b.producer_epoch, b.base_sequence)).collect();
    assert_eq!(seqs, vec![(1000, 0, 0), (1000, 0, 0), (1001, 0, 0)]);
    p.close(Duration::from_secs(5)).await.unwrap();
}
