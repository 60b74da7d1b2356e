//! Connections against the fake broker: a connection closed mid-request, reconnection with
//! exponential backoff, and a response that arrives after request.timeout.ms.

mod fake_broker;

use std::time::Duration;

use fake_broker::{ApiKey, Behaviour, FakeBroker, RequestKind};
use polykafka::producer::Producer;
use polykafka::{ProducerConfig, ProducerRecord};

fn producer(broker: &FakeBroker, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![
        ("bootstrap.servers".to_string(), broker.bootstrap()),
        ("linger.ms".to_string(), "0".to_string()),
        ("retry.backoff.ms".to_string(), "20".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::new(ProducerConfig::from_properties(props).unwrap()).unwrap()
}

/// The broker closes the connection instead of answering a Produce: the request fails as
/// retriable (the record is not failed), the client reconnects - after two failed connection
/// attempts, waiting reconnect.backoff.ms, then twice that (within the 0.8..1.2 jitter) - and
/// the batch is delivered once over the new connection, with its original sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_mid_request_is_retried_on_a_new_connection_after_backoff() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Close]);
    // Bootstrap and node 1 connect; the next two connection attempts are cut during setup.
    broker.script(ApiKey::ApiVersions, [Behaviour::Normal, Behaviour::Normal, Behaviour::Close, Behaviour::Close]);
    let p = producer(&broker, &[("reconnect.backoff.ms", "200"), ("reconnect.backoff.max.ms", "5000")]);
    let md = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap();
    let md = tokio::time::timeout(Duration::from_secs(15), md).await.expect("delivered").expect("the close is retriable");
    assert_eq!(md.offset, 0);
    assert_eq!(broker.log_values("t", 0), vec!["x"]);

    let produces = broker.of(ApiKey::Produce);
    assert_eq!(produces.len(), 2);
    assert_ne!(produces[0].conn, produces[1].conn, "the retry goes over a new connection");
    let batches = broker.produced();
    assert_eq!((batches[0].base_sequence, batches[1].base_sequence), (0, 0));

    let attempts: Vec<_> = broker.of(ApiKey::ApiVersions).into_iter().filter(|r| r.at > produces[0].at).collect();
    assert_eq!(attempts.len(), 3, "two failed attempts, then the connection the retry used");
    assert_eq!(attempts[2].conn, produces[1].conn);
    let gap1 = attempts[1].at - attempts[0].at;
    let gap2 = attempts[2].at - attempts[1].at;
    assert!(gap1 >= Duration::from_millis(160), "first backoff ~200 ms, was {gap1:?}");
    assert!(gap2 >= Duration::from_millis(320), "second backoff ~400 ms, was {gap2:?}");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// A response that comes after request.timeout.ms is dropped: the request failed with a
/// timeout, the connection is given up, the request goes again on a new connection, and the
/// late answer (another producer id) is never taken for the answer of a later request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_response_is_dropped_not_matched_to_another_request() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::InitProducerId, [Behaviour::Delay(Duration::from_millis(1500))]);
    let p = producer(&broker, &[("request.timeout.ms", "300"), ("delivery.timeout.ms", "10000")]);
    let md = p.send(ProducerRecord::new("t").partition(0).value("x")).await.unwrap();
    let md = tokio::time::timeout(Duration::from_secs(10), md).await.expect("delivered").unwrap();
    assert_eq!(md.offset, 0);
    // Let the late answer arrive, then produce again: still the id of the retry's answer.
    broker.wait_for("two InitProducerId", Duration::from_secs(5), |r| r.iter().filter(|r| r.api_key == ApiKey::InitProducerId).count() >= 2).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let md2 = p.send(ProducerRecord::new("t").partition(0).value("y")).await.unwrap().await.unwrap();
    assert_eq!(md2.offset, 1);

    let inits = broker.of(ApiKey::InitProducerId);
    assert_eq!(inits.len(), 2, "one retry after the timeout");
    assert_ne!(inits[0].conn, inits[1].conn, "the timed-out connection is not used again");
    for r in &inits {
        let RequestKind::InitProducerId(i) = &r.request else { unreachable!() };
        assert_eq!((i.producer_id.0, i.producer_epoch), (-1, -1));
    }
    // Ids are handed out when answered: the retry's answer (at once) got 1000, the late
    // answer 1001.
    let batches = broker.produced();
    assert_eq!(batches.len(), 2);
    assert!(batches.iter().all(|b| (b.producer_id, b.producer_epoch) == (1000, 0)), "{batches:?}");
    assert_eq!(batches.iter().map(|b| b.base_sequence).collect::<Vec<_>>(), vec![0, 1]);
    assert!(broker.of(ApiKey::Produce).iter().all(|r| r.conn != inits[0].conn));
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// The broker closes the connection while an admin request waits: the request fails as a
/// retriable connection error, the admin client retries it on a new connection and answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_request_cut_by_a_close_is_retried() {
    use polykafka::admin::Admin;
    use polykafka::AdminConfig;
    let broker = FakeBroker::start().await;
    broker.script(ApiKey::Metadata, [Behaviour::Close]);
    let admin = Admin::new(
        AdminConfig::from_properties([("bootstrap.servers", broker.bootstrap()), ("retry.backoff.ms", "20".to_string())]).unwrap(),
    )
    .unwrap();
    let d = tokio::time::timeout(Duration::from_secs(10), admin.describe_cluster()).await.expect("answers").unwrap();
    assert_eq!(d.cluster_id.as_deref(), Some("fake-cluster"));
    assert_eq!(d.brokers.iter().map(|b| (b.node_id, b.port)).collect::<Vec<_>>(), vec![(1, broker.addr.port() as i32)]);
    let metas = broker.of(ApiKey::Metadata);
    assert_eq!(metas.len(), 2, "one retry");
    assert_ne!(metas[0].conn, metas[1].conn, "on a new connection");
    admin.close().await;
}

/// A response lost on the way (the broker wrote the batch, then the connection closed before
/// the answer): the batch goes again with the same sequence on a new connection, the broker
/// recognises the duplicate and answers with the original offset, and the log holds each
/// record once; the next batch follows in sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_response_is_retried_and_deduplicated_by_sequence() {
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.script(ApiKey::Produce, [Behaviour::Normal, Behaviour::Lose]);
    let p = producer(&broker, &[]);
    let a = p.send(ProducerRecord::new("t").partition(0).value("a")).await.unwrap().await.unwrap();
    let b = p.send(ProducerRecord::new("t").partition(0).value("b")).await.unwrap().await.unwrap();
    let c = p.send(ProducerRecord::new("t").partition(0).value("c")).await.unwrap().await.unwrap();
    assert_eq!((a.offset, b.offset, c.offset), (0, 1, 2), "b's duplicate is answered with its original offset");
    assert_eq!(broker.log_values("t", 0), vec!["a", "b", "c"]);
    let sent: Vec<(usize, i32, String)> = broker
        .of(ApiKey::Produce)
        .into_iter()
        .flat_map(|r| {
            let RequestKind::Produce(req) = &r.request else { unreachable!() };
            fake_broker::produced_batches(req).into_iter().map(move |b| (r.conn, b.base_sequence, String::from_utf8(b.values.concat()).unwrap()))
        })
        .collect();
    let seqs: Vec<(i32, &str)> = sent.iter().map(|(_, s, v)| (*s, v.as_str())).collect();
    assert_eq!(seqs, vec![(0, "a"), (1, "b"), (1, "b"), (2, "c")]);
    assert_ne!(sent[1].0, sent[2].0, "the retry goes over a new connection");
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// A response asking the client to back off (throttle_time_ms, KIP-219): the next request to
/// that broker waits at least that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_time_delays_the_next_request() {
    use polykafka::{Consumer, ConsumerConfig, TopicPartition};
    let broker = FakeBroker::start().await;
    broker.topic("t", 1);
    broker.append("t", 0, &["a"]);
    broker.script(
        ApiKey::Fetch,
        [Behaviour::Edit(Box::new(|r| {
            if let fake_broker::ResponseKind::Fetch(f) = r {
                f.throttle_time_ms = 600;
            }
        }))],
    );
    let c = Consumer::new(
        ConsumerConfig::from_properties([
            ("bootstrap.servers", broker.bootstrap()),
            ("fetch.max.wait.ms", "50".to_string()),
            ("auto.offset.reset", "earliest".to_string()),
        ])
        .unwrap(),
    )
    .unwrap();
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.is_empty() {
        assert!(std::time::Instant::now() < deadline);
        got = c.poll_batch(10, Duration::from_millis(100)).await.unwrap();
    }
    broker.wait_for("a second fetch", Duration::from_secs(5), |r| r.iter().filter(|r| r.api_key == ApiKey::Fetch).count() >= 2).await;
    let fetches = broker.of(ApiKey::Fetch);
    let gap = fetches[1].at - fetches[0].at;
    assert!(gap >= Duration::from_millis(550), "the next fetch came {gap:?} after a 600 ms throttle");
    c.close().await.unwrap();
}
