//! The streams runtime from Rust, against the real broker: user functions as closures over
//! bytes (`ClosureFunctions`), filter -> map -> to, group_by -> count through a repartition
//! topic, a user function that fails.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use polykafka::admin::{Admin, NewTopic};
use polykafka::consumer::Consumer;
use polykafka::streams::{AggregateKind, ClosureFunctions, KafkaStreams, State, StreamRecord, StreamsConfig, TopologyBuilder};
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

async fn read_all(bootstrap: &str, topic: &str, expect: usize) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let c = Consumer::new(ConsumerConfig::from_properties([("bootstrap.servers", bootstrap), ("enable.auto.commit", "false")]).unwrap()).unwrap();
    c.assign(&[TopicPartition::new(topic, 0), TopicPartition::new(topic, 1)]).unwrap();
    c.seek_to_beginning(&[TopicPartition::new(topic, 0), TopicPartition::new(topic, 1)]).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Until `expect` records came and then a poll found nothing more.
    while Instant::now() < deadline {
        let batch = c.poll_batch(1000, Duration::from_millis(500)).await.unwrap();
        if batch.is_empty() && out.len() >= expect {
            break;
        }
        out.extend(batch.into_iter().map(|r| (r.key, r.value)));
    }
    c.close().await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_chain_and_group_by_count_with_closures() {
    let bootstrap = common::bootstrap();
    let (src, out, counts_out) = (common::unique_topic("rs-src"), common::unique_topic("rs-out"), common::unique_topic("rs-counts"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for t in [&src, &out, &counts_out] {
        admin.create_topics(&[NewTopic::new(t.as_str(), 2, 1)], false).await.unwrap();
    }
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    for i in 0..200u32 {
        let rec = ProducerRecord::new(src.as_str()).key(format!("u{}", i % 10)).value(format!("{}:{}", ["a", "b", "c"][i as usize % 3], i));
        producer.send(rec).await.unwrap();
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();

    // src -> filter(value not starting with "c") -> map(value upper-case) -> to(out)
    //     -> select_key(letter) -> repartition -> count -> to_stream -> to(counts_out)
    let mut b = TopologyBuilder::new();
    let s = b.source(&[&src]).unwrap();
    let f = b.user(s).unwrap();
    let m = b.user(f).unwrap();
    b.sink(m, &out).unwrap();
    let k = b.user(s).unwrap();
    let rep = b.repartition(k, "by-letter").unwrap();
    let count = b.aggregate(rep, "by-letter", AggregateKind::Count, None).unwrap();
    let ts = b.to_stream(count).unwrap();
    b.sink(ts, &counts_out).unwrap();
    let topology = b.build().unwrap();
    assert_eq!(topology.chain(f), Some(&[f, m][..]), "filter and map fused into one chain");

    let mut fns = ClosureFunctions::new();
    fns.filter(f, |r| !r.value.as_ref().unwrap().starts_with(b"c"));
    fns.map(m, |r| StreamRecord { value: r.value.as_ref().map(|v| Bytes::from(v.to_ascii_uppercase())), ..r.clone() });
    fns.map(k, |r| StreamRecord { key: r.value.as_ref().map(|v| v.slice(0..1)), ..r.clone() });

    let app = common::unique_topic("rs-app");
    let config = StreamsConfig::from_properties([
        ("application.id", app.as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
    ])
    .unwrap();
    let streams = KafkaStreams::new(topology, Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap();
    let states = Arc::new(std::sync::Mutex::new(Vec::new()));
    let st = states.clone();
    streams.set_state_listener(Arc::new(move |new, old| st.lock().unwrap().push((old, new)))).unwrap();
    streams.start().unwrap();
    let store = streams.store("by-letter").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let want: HashMap<&[u8], i64> = [(&b"a"[..], 67), (&b"b"[..], 67), (&b"c"[..], 66)].into_iter().collect();
    loop {
        let got: HashMap<Vec<u8>, i64> =
            store.all().unwrap().into_iter().map(|(k, v)| (k.to_vec(), i64::from_be_bytes(v[..].try_into().unwrap()))).collect();
        if want.iter().all(|(k, v)| got.get(*k) == Some(v)) {
            break;
        }
        assert!(Instant::now() < deadline, "counts not reached: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let outs = read_all(&bootstrap, &out, 134).await;
    assert_eq!(outs.len(), 134);
    assert!(outs.iter().all(|(_, v)| { let v = v.as_ref().unwrap(); v[0] == b'A' || v[0] == b'B' }));
    let mut last: HashMap<Vec<u8>, i64> = HashMap::new();
    for (k, v) in read_all(&bootstrap, &counts_out, 3).await {
        last.insert(k.unwrap().to_vec(), i64::from_be_bytes(v.unwrap()[..].try_into().unwrap()));
    }
    let want_last: HashMap<Vec<u8>, i64> = want.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
    assert_eq!(last, want_last);
    assert!(tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await.unwrap());
    let states = states.lock().unwrap().clone();
    assert_eq!(states.first(), Some(&(State::Created, State::Rebalancing)));
    assert_eq!(states.last(), Some(&(State::PendingShutdown, State::NotRunning)));
}
