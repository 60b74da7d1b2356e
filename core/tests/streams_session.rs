//! Session windows against the real broker: `count` per session of a key; a record bridging two
//! sessions merges them (their removals reach the output as tombstones); a late record is dropped
//! and counted; a restart finds the sessions again, from its checkpoint on the same state
//! directory and from the changelog on another one.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use polykafka::admin::{Admin, NewTopic};
use polykafka::streams::{AggregateKind, ClosureFunctions, KafkaStreams, SessionKey, SessionWindows, State, StreamsConfig, TopologyBuilder};
use polykafka::{AdminConfig, ProducerConfig, ProducerRecord};

/// src -> group_by_key -> windowed_by(sessions of gap 2 s, grace 5 s) -> count("sessions") -> to(out).
fn app(src: &str, out: &str) -> (polykafka::streams::Topology, ClosureFunctions) {
    let mut b = TopologyBuilder::new();
    let s = b.source(&[src]).unwrap();
    let count = b.session_aggregate(s, "sessions", AggregateKind::Count, SessionWindows::of_inactivity_gap_and_grace(2000, 5000).unwrap()).unwrap();
    let ts = b.to_stream(count).unwrap();
    b.sink(ts, out).unwrap();
    (b.build().unwrap(), ClosureFunctions::new())
}

type Sessions = BTreeMap<(String, i64, i64), i64>;

/// The sessions of the store "sessions" as (key, start, end) -> count.
fn stored(streams: &KafkaStreams) -> Sessions {
    let all = streams.store("sessions").unwrap().all().unwrap();
    all.into_iter()
        .map(|(k, v)| {
            let s = SessionKey::decode(&k).unwrap();
            ((String::from_utf8_lossy(&s.key).into_owned(), s.start, s.end), i64::from_be_bytes(v[..].try_into().unwrap()))
        })
        .collect()
}

/// Runs the application until its store holds `want` and it committed; closes it.
async fn run_until(src: &str, out: &str, config: StreamsConfig, want: &Sessions) -> polykafka::streams::StreamsMetrics {
    let (topology, fns) = app(src, out);
    let streams = Arc::new(KafkaStreams::new(topology, Arc::new(fns), config, tokio::runtime::Handle::current()).unwrap());
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = stored(&streams);
        if &got == want && streams.metrics().commits > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "sessions not reached: {got:?} {:?} {:?}", streams.metrics(), streams.failure());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a = streams.store("sessions").unwrap().fetch_sessions(b"a").unwrap();
    let want_a: Vec<(i64, i64, i64)> = want.iter().filter(|(k, _)| k.0 == "a").map(|(k, n)| (k.1, k.2, *n)).collect();
    let got_a: Vec<(i64, i64, i64)> = a.into_iter().map(|(s, e, v)| (s, e, i64::from_be_bytes(v[..].try_into().unwrap()))).collect();
    assert_eq!(got_a, want_a, "fetch_sessions(a)");
    assert!(streams.store("sessions").unwrap().get(b"a").unwrap_err().to_string().contains("session store"));
    let s2 = streams.clone();
    assert!(tokio::task::spawn_blocking(move || s2.close(Duration::from_secs(60))).await.unwrap());
    assert_eq!(streams.state(), State::NotRunning, "{:?}", streams.failure());
    streams.metrics()
}

/// Every record of `topic` (1 partition) until a poll after 2 s finds nothing.
async fn read_out(bootstrap: &str, topic: &str) -> Vec<(SessionKey, Option<i64>)> {
    let records = common::read_partition(bootstrap, topic).await;
    records.into_iter().map(|r| (SessionKey::decode(r.key.as_ref().unwrap()).unwrap(), r.value.map(|v| i64::from_be_bytes(v[..].try_into().unwrap())))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_merge_drop_late_records_and_come_back_after_a_restart() {
    let bootstrap = common::bootstrap();
    let (src, out) = (common::unique_topic("session-src"), common::unique_topic("session-out"));
    let admin = Admin::new(AdminConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    admin.create_topics(&[NewTopic::new(src.as_str(), 1, 1), NewTopic::new(out.as_str(), 1, 1)], false).await.unwrap();
    let producer = polykafka::producer::Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap.as_str())]).unwrap()).unwrap();
    let send = |records: Vec<(&'static str, i64)>| {
        let (producer, src) = (&producer, src.clone());
        async move {
            for (k, ts) in records {
                producer.send(ProducerRecord::new(src.as_str()).key(k).value("x").timestamp(ts)).await.unwrap();
            }
            producer.flush(Duration::from_secs(30)).await.unwrap();
        }
    };
    let app_id = common::unique_topic("session-app");
    let base = std::env::temp_dir().join(common::unique_topic("polykafka-session-state"));
    let config = |dir: &str| {
        StreamsConfig::from_properties([
            ("application.id", app_id.as_str()),
            ("bootstrap.servers", bootstrap.as_str()),
            ("consumer.fetch.max.wait.ms", "100"),
            ("commit.interval.ms", "200"),
            ("state.dir", base.join(dir).to_str().unwrap()),
        ])
        .unwrap()
    };
    let s = |k: &str, start: i64, end: i64, n: i64| ((k.to_string(), start, end), n);

    // a@1000 and a@5000 are two sessions (4 s apart, gap 2 s); a@3000 bridges them; z@100000
    // moves stream time on, so a@1500 (its session [1000, 5000] ends before 100000 - 5000 - 2000)
    // is late (b@4000 is not: stream time 5000 - 7000 is before it).
    send(vec![("a", 1000), ("a", 5000), ("b", 4000), ("a", 3000), ("z", 100_000), ("a", 1500)]).await;
    let want: Sessions = [s("a", 1000, 5000, 3), s("b", 4000, 4000, 1), s("z", 100_000, 100_000, 1)].into_iter().collect();
    let m = run_until(&src, &out, config("one"), &want).await;
    assert_eq!(m.late_dropped, 1, "{m:?}");

    let records = read_out(&bootstrap, &out).await;
    let removed: Vec<(i64, i64)> = records.iter().filter(|(k, v)| k.key.as_ref() == b"a" && v.is_none()).map(|(k, _)| (k.start, k.end)).collect();
    assert!(removed.contains(&(1000, 1000)) && removed.contains(&(5000, 5000)), "the merged sessions' removals: {records:?}");
    let mut last: Sessions = BTreeMap::new();
    for (k, v) in &records {
        let key = (String::from_utf8_lossy(&k.key).into_owned(), k.start, k.end);
        match v {
            Some(n) => last.insert(key, *n),
            None => last.remove(&key),
        };
    }
    assert_eq!(last, want, "the output table, tombstones applied, is the store");

    // Restarted on the same state directory (its checkpoint): a@6000 extends [1000, 5000].
    send(vec![("a", 6000)]).await;
    let want: Sessions = [s("a", 1000, 6000, 4), s("b", 4000, 4000, 1), s("z", 100_000, 100_000, 1)].into_iter().collect();
    let m = run_until(&src, &out, config("one"), &want).await;
    assert_eq!(m.restored, 0, "the checkpointed table holds the sessions: {m:?}");

    // Another state directory: everything comes from the changelog (its removals applied).
    send(vec![("a", 7500)]).await;
    let want: Sessions = [s("a", 1000, 7500, 5), s("b", 4000, 4000, 1), s("z", 100_000, 100_000, 1)].into_iter().collect();
    let m = run_until(&src, &out, config("two"), &want).await;
    assert!(m.restored >= 3, "restored from the changelog: {m:?}");
    let _ = std::fs::remove_dir_all(&base);
}
