//! Instrumentation events against the real broker: requests answered (pipelined and during
//! connection setup), requests timed out, requests queued behind a throttle, group heartbeats
//! (classic and KIP-848).

mod common;

use std::time::{Duration, Instant, SystemTime};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use polykafka::admin::Admin;
use polykafka::instrumentation::{Event, EventKind, Instrumentation, RequestInfo};
use polykafka::net::{Connection, Security};
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, Consumer, ConsumerConfig, ProducerConfig, ProducerRecord};

const T: Duration = Duration::from_secs(30);
const ALL: u8 = 15;

fn sink() -> Instrumentation {
    let sink = Instrumentation::new(100_000, || {});
    sink.set_wanted(ALL);
    sink
}

fn requests(events: &[Event]) -> Vec<&RequestInfo> {
    events.iter().filter_map(|e| if let Event::Request(r) = e { Some(r) } else { None }).collect()
}

fn check_times(r: &RequestInfo, started: SystemTime) {
    assert!(r.created_at >= started - Duration::from_millis(5), "{r:?}");
    assert!(r.sent_at >= r.created_at, "{r:?}");
    assert_eq!(r.sent_at.duration_since(r.created_at).unwrap(), r.pending_duration, "{r:?}");
    assert!(r.duration < T, "{r:?}");
}

fn client_config(extra: &[(&str, &str)], sink: &Instrumentation) -> ClientConfig {
    let mut props = vec![("bootstrap.servers".to_string(), common::bootstrap()), ("client.id".into(), "instr-test".into())];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut config = AdminConfig::from_properties(props).unwrap().client;
    config.instrumentation = Some(sink.clone());
    config
}

async fn new_topic(prefix: &str) -> String {
    let topic = common::unique_topic(prefix);
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap();
    admin.create_topic(&topic, 1, 1).await.unwrap();
    admin.close().await;
    topic
}

#[tokio::test]
async fn produce_reports_its_requests() {
    let topic = new_topic("instr").await;
    let sink = sink();
    let mut config = ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str()), ("client.id", "instr-producer")]).unwrap();
    config.client.instrumentation = Some(sink.clone());
    let started = SystemTime::now();
    let p = Producer::new(config).unwrap();
    p.send(ProducerRecord::new(&topic).value("v")).await.unwrap().await.unwrap();
    p.close(T).await.unwrap();
    let drained = sink.drain();
    assert_eq!(drained.dropped, 0);
    let reqs = requests(&drained.events);
    let produce: Vec<_> = reqs.iter().filter(|r| r.api_key == 0).collect();
    assert_eq!(produce.len(), 1, "{reqs:#?}");
    let r = produce[0];
    assert_eq!((r.api_name().as_str(), &*r.client_id, &*r.broker), ("Produce", "instr-producer", common::bootstrap().as_str()));
    assert!(r.size > 0 && r.api_version >= 3, "{r:?}");
    check_times(r, started);
    // Connection setup is reported too (kafkajs reports its ApiVersions), and metadata.
    assert!(reqs.iter().any(|r| r.api_name() == "ApiVersions" && r.size > 0), "{reqs:#?}");
    assert!(reqs.iter().any(|r| r.api_name() == "Metadata"), "{reqs:#?}");
    for r in &reqs {
        check_times(r, started);
    }
    // Nothing wanted: nothing recorded.
    sink.set_wanted(0);
    let p = Producer::new({
        let mut c = ProducerConfig::from_properties([("bootstrap.servers", common::bootstrap().as_str())]).unwrap();
        c.client.instrumentation = Some(sink.clone());
        c
    })
    .unwrap();
    p.send(ProducerRecord::new(&topic).value("v")).await.unwrap().await.unwrap();
    p.close(T).await.unwrap();
    assert!(sink.drain().events.is_empty());
}

#[tokio::test]
async fn a_long_poll_past_its_timeout_is_reported() {
    let sink = sink();
    let config = client_config(&[], &sink);
    let topic = common::unique_topic("instr-timeout");
    let admin = Admin::new(AdminConfig { client: config.clone(), default_api_timeout: T }).unwrap();
    admin.create_topic(&topic, 1, 1).await.unwrap();
    let conn = Connection::connect(&common::bootstrap(), -1, &config, &Security::new(&config).unwrap()).await.unwrap();
    sink.drain();
    // An empty partition, a 5 s long poll, a 300 ms timeout (Fetch v12 still names topics).
    let req = FetchRequest::default().with_max_wait_ms(5000).with_min_bytes(1).with_max_bytes(1 << 20).with_topics(vec![FetchTopic::default()
        .with_topic(TopicName(StrBytes::from_string(topic.clone())))
        .with_partitions(vec![FetchPartition::default().with_partition(0).with_fetch_offset(0).with_partition_max_bytes(1 << 20)])]);
    // Right after creation the broker may answer at once (NOT_LEADER...): ask again until the
    // partition is served and the long poll really waits.
    let mut tries = 0;
    let (started, err) = loop {
        sink.drain();
        let started = Instant::now();
        match conn.send_version(&req, 12, Duration::from_millis(300)).await {
            Err(e) => break (started, e),
            Ok(resp) => {
                let code = resp.responses[0].partitions[0].error_code;
                assert!(code != 0 && tries < 100, "an empty partition answered a 5 s long poll at once (error code {code})");
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(err.kind(), polykafka::ErrorKind::Timeout, "{err}");
    let events = sink.drain().events;
    let timeouts: Vec<_> = events.iter().filter_map(|e| if let Event::RequestTimeout(r) = e { Some(r) } else { None }).collect();
    assert_eq!(timeouts.len(), 1, "{events:#?}");
    let t = timeouts[0];
    assert_eq!((t.api_key, t.api_version, t.size), (1, 12, 0));
    assert!(t.duration >= Duration::from_millis(290) && t.duration <= started.elapsed(), "{t:?}");
    assert!(requests(&events).iter().all(|r| r.api_key != 1), "a timed-out request is not also answered");
    admin.close().await;
}

#[tokio::test]
async fn a_silent_broker_times_out_the_setup_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            sockets.push(s);
        }
    });
    let sink = sink();
    let mut config = ClientConfig::with_bootstrap(&addr).unwrap();
    config.request_timeout = Duration::from_millis(200);
    config.instrumentation = Some(sink.clone());
    let err = Connection::connect(&addr, -1, &config, &Security::new(&config).unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), polykafka::ErrorKind::Timeout, "{err}");
    let events = sink.drain().events;
    match &events[..] {
        [Event::RequestTimeout(r)] => {
            assert_eq!((r.api_name().as_str(), &*r.broker), ("ApiVersions", addr.as_str()));
            assert!(r.duration >= Duration::from_millis(190), "{r:?}");
        }
        other => panic!("{other:#?}"),
    }
    held.abort();
}

#[tokio::test]
async fn requests_waiting_for_a_throttle_are_counted() {
    let sink = sink();
    let config = client_config(&[], &sink);
    let conn = Connection::connect(&common::bootstrap(), -1, &config, &Security::new(&config).unwrap()).await.unwrap();
    sink.drain();
    conn.throttle(300);
    let sends: Vec<_> = (0..3)
        .map(|_| {
            let c = conn.clone();
            tokio::spawn(async move { c.send(&MetadataRequest::default().with_topics(Some(vec![]))).await.map(|_| ()) })
        })
        .collect();
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let events = sink.drain().events;
    let sizes: Vec<usize> = events.iter().filter_map(|e| if let Event::RequestQueueSize { queue_size, .. } = e { Some(*queue_size) } else { None }).collect();
    assert_eq!(sizes.iter().max(), Some(&3), "{events:#?}");
    assert_eq!(sizes.last(), Some(&0), "{events:#?}");
    assert_eq!(sizes.len(), 6, "up three times, down three times: {sizes:?}");
    let reqs = requests(&events);
    assert_eq!(reqs.len(), 3);
    for r in reqs {
        assert!(r.pending_duration >= Duration::from_millis(250), "waited for the throttle: {r:?}");
    }
}

async fn heartbeats_of(protocol: &str) {
    let sink = Instrumentation::new(100_000, || {});
    sink.set_wanted(EventKind::Heartbeat.bit());
    let topic = new_topic("instr-hb").await;
    let group = common::unique_topic("instr-hb-group");
    let mut props = vec![
        ("bootstrap.servers", common::bootstrap()),
        ("group.id", group.clone()),
        ("group.protocol", protocol.to_string()),
        ("fetch.max.wait.ms", "100".to_string()),
    ];
    if protocol == "classic" {
        props.push(("heartbeat.interval.ms", "100".to_string()));
        props.push(("session.timeout.ms", "6000".to_string()));
    }
    let mut config = ConsumerConfig::from_properties(props).unwrap();
    config.client.instrumentation = Some(sink.clone());
    let c = Consumer::new(config).unwrap();
    c.subscribe(&[topic]).unwrap();
    let mut beats = Vec::new();
    let deadline = Instant::now() + T;
    // KIP-848: the broker sets the interval (group.consumer.heartbeat.interval.ms, 5 s default).
    let wanted = if protocol == "classic" { 5 } else { 2 };
    while beats.len() < wanted && Instant::now() < deadline {
        let _ = c.poll(Duration::from_millis(200)).await.unwrap();
        beats.extend(sink.drain().events);
    }
    let meta = c.group_metadata().unwrap();
    c.close().await.unwrap();
    assert!(beats.len() >= wanted, "{beats:#?}");
    for b in &beats {
        match b {
            Event::Heartbeat { group_id, member_id, generation_id } => {
                assert_eq!(group_id, &group);
                assert_eq!(member_id, &meta.member_id);
                assert!(*generation_id >= 1, "{b:?}");
            }
            other => panic!("only heartbeats were wanted: {other:?}"),
        }
    }
}

#[tokio::test]
async fn classic_heartbeats_are_reported() {
    heartbeats_of("classic").await;
}

#[tokio::test]
async fn kip848_heartbeats_are_reported() {
    heartbeats_of("consumer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_events_say_which_broker_connected_or_failed() {
    use polykafka::instrumentation::ConnectionState;
    let sink = Instrumentation::new(1000, || {});
    sink.set_wanted(EventKind::Connection.bit());
    let admin = Admin::new(AdminConfig { client: client_config(&[], &sink), ..AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap() }).unwrap();
    admin.list_topics(false).await.unwrap();
    let events = sink.drain().events;
    assert!(
        events.iter().any(|e| matches!(e, Event::Connection { state: ConnectionState::Connected, client_id, .. } if &**client_id == "instr-test")),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Connection { state: ConnectionState::Failed(_), .. })), "{events:?}");

    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().to_string();
    drop(l);
    let sink = Instrumentation::new(1000, || {});
    sink.set_wanted(EventKind::Connection.bit());
    let cfg = client_config(&[("bootstrap.servers", dead.as_str()), ("default.api.timeout.ms", "1500")], &sink);
    let admin = Admin::new(AdminConfig { client: cfg, ..AdminConfig::from_properties([("bootstrap.servers", dead.as_str()), ("default.api.timeout.ms", "1500")]).unwrap() }).unwrap();
    assert!(admin.list_topics(false).await.is_err());
    let events = sink.drain().events;
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Connection { broker, state: ConnectionState::Failed(err), .. } => Some((broker.to_string(), err.kind())),
            _ => None,
        })
        .collect();
    assert!(!failed.is_empty() && failed.iter().all(|(b, k)| *b == dead && *k == polykafka::ErrorKind::Connection), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Connection { state: ConnectionState::AllBrokersDown(_), .. })), "{events:?}");
}
