//! The transaction manager against the fake broker: CONCURRENT_TRANSACTIONS on
//! AddPartitionsToTxn is retried; EndTxn answered PRODUCER_FENCED makes the producer fatal.

mod fake_broker;

use std::time::Duration;

use fake_broker::{code, ApiKey, Behaviour, FakeBroker, RequestKind};
use polykafka::producer::{Producer, TxnState};
use polykafka::{ErrorKind, ProducerConfig, ProducerRecord};

fn producer(broker: &FakeBroker) -> Producer {
    let props = [
        ("bootstrap.servers", broker.bootstrap()),
        ("transactional.id", "tx".to_string()),
        ("linger.ms", "0".to_string()),
        ("retry.backoff.ms", "20".to_string()),
    ];
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

const T: Duration = Duration::from_secs(10);

/// AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS twice: the same request goes again until
/// accepted; only then is the batch produced (transactional, under the initialised id and
/// epoch), and the commit sends EndTxn(commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_partitions_concurrent_transactions_is_retried() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::AddPartitionsToTxn, [Behaviour::Error(code::CONCURRENT_TRANSACTIONS), Behaviour::Error(code::CONCURRENT_TRANSACTIONS)]);
    let p = producer(&broker);
    p.init_transactions(T).await.unwrap();
    p.begin_transaction().unwrap();
    let f = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap();
    p.commit_transaction(T).await.unwrap();
    assert_eq!(f.await.unwrap().offset, 0);
    assert_eq!(p.transaction_state(), Some(TxnState::Ready));

    let keys: Vec<ApiKey> = broker.keys().into_iter().filter(|k| !matches!(k, ApiKey::Metadata | ApiKey::FindCoordinator)).collect();
    assert_eq!(
        keys,
        vec![
            ApiKey::InitProducerId,
            ApiKey::AddPartitionsToTxn,
            ApiKey::AddPartitionsToTxn,
            ApiKey::AddPartitionsToTxn,
            ApiKey::Produce,
            ApiKey::EndTxn
        ]
    );
    let adds: Vec<_> = broker.of(ApiKey::AddPartitionsToTxn).into_iter().map(|r| r.request).collect();
    for a in &adds {
        let RequestKind::AddPartitionsToTxn(a) = a else { unreachable!() };
        assert_eq!(a.v3_and_below_transactional_id.0.as_str(), "tx");
        assert_eq!((a.v3_and_below_producer_id.0, a.v3_and_below_producer_epoch), (1000, 0));
        let parts: Vec<(String, Vec<i32>)> = a.v3_and_below_topics.iter().map(|t| (t.name.0.to_string(), t.partitions.clone())).collect();
        assert_eq!(parts, vec![("t".to_string(), vec![0])]);
    }
    let batch = &broker.produced()[0];
    assert!(batch.transactional);
    assert_eq!((batch.producer_id, batch.producer_epoch, batch.base_sequence), (1000, 0, 0));
    let RequestKind::EndTxn(end) = &broker.of(ApiKey::EndTxn)[0].request else { unreachable!() };
    assert!(end.committed);
    assert_eq!((end.producer_id.0, end.producer_epoch), (1000, 0));
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// EndTxn answered PRODUCER_FENCED: the commit fails with a fatal, typed error; the producer is
/// in the Fatal state and every later transactional call fails with it; EndTxn is not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_txn_producer_fenced_is_fatal() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::EndTxn, [Behaviour::Error(code::PRODUCER_FENCED)]);
    let p = producer(&broker);
    p.init_transactions(T).await.unwrap();
    p.begin_transaction().unwrap();
    let f = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap();
    let err = p.commit_transaction(T).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Fatal, "{err}");
    assert!(err.fatal(), "{err}");
    assert_eq!(err.name(), "PRODUCER_FENCED", "{err}");
    assert!(matches!(p.transaction_state(), Some(TxnState::Fatal(_))), "{:?}", p.transaction_state());
    assert_eq!(broker.of(ApiKey::EndTxn).len(), 1, "a fenced producer does not retry");
    let _ = f.await;

    let again = p.begin_transaction().unwrap_err();
    assert!(again.fatal() && again.kind() == ErrorKind::Fatal, "{again}");
    let abort = p.abort_transaction(T).await.unwrap_err();
    assert!(abort.fatal(), "{abort}");
    assert_eq!(broker.of(ApiKey::EndTxn).len(), 1, "nothing more goes to the coordinator");
    let _ = p.close(Duration::from_secs(5)).await;
}

/// A batch of the transaction fails for good (TOPIC_AUTHORIZATION_FAILED): the commit fails
/// and requires an abort; the abort sends EndTxn(abort) and then, because the failed batch
/// left a gap in the sequence, bumps the epoch (InitProducerId with the current id and epoch);
/// the next transaction produces under the new epoch from sequence 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_batch_aborts_and_bumps_the_epoch() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Error(29)]);
    let p = producer(&broker);
    p.init_transactions(T).await.unwrap();
    p.begin_transaction().unwrap();
    let f = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap();
    let err = p.commit_transaction(T).await.unwrap_err();
    assert!(err.txn_requires_abort() && !err.fatal(), "{err}");
    assert!(f.await.is_err());
    assert!(matches!(p.transaction_state(), Some(TxnState::AbortableError(_))), "{:?}", p.transaction_state());
    p.abort_transaction(T).await.unwrap();
    assert_eq!(p.transaction_state(), Some(TxnState::Ready));

    p.begin_transaction().unwrap();
    let f = p.send(ProducerRecord::new("t").partition(0).value("y")).await.unwrap();
    p.commit_transaction(T).await.unwrap();
    assert_eq!(f.await.unwrap().offset, 0);

    let keys: Vec<ApiKey> = broker.keys().into_iter().filter(|k| !matches!(k, ApiKey::Metadata | ApiKey::FindCoordinator)).collect();
    assert_eq!(
        keys,
        vec![
            ApiKey::InitProducerId,
            ApiKey::AddPartitionsToTxn,
            ApiKey::Produce,
            ApiKey::EndTxn,
            ApiKey::InitProducerId,
            ApiKey::AddPartitionsToTxn,
            ApiKey::Produce,
            ApiKey::EndTxn,
        ]
    );
    let ends: Vec<bool> = broker.of(ApiKey::EndTxn).into_iter().map(|r| matches!(r.request, RequestKind::EndTxn(e) if e.committed)).collect();
    assert_eq!(ends, vec![false, true], "abort, then commit");
    let inits: Vec<(i64, i16)> = broker
        .of(ApiKey::InitProducerId)
        .into_iter()
        .map(|r| match r.request {
            RequestKind::InitProducerId(i) => (i.producer_id.0, i.producer_epoch),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(inits, vec![(-1, -1), (1000, 0)]);
    let seqs: Vec<(i64, i16, i32)> = broker.produced().iter().map(|b| (b.producer_id, b.producer_epoch, b.base_sequence)).collect();
    assert_eq!(seqs, vec![(1000, 0, 0), (1000, 1, 0)]);
    p.close(Duration::from_secs(5)).await.unwrap();
}
