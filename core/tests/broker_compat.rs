//! Broker compatibility suite (#22): the same checks against whichever Kafka version the cluster in
//! `cluster.env` runs (`tests/cluster/versions` starts 2.8 with ZooKeeper, 3.3, 3.6, 3.9 and 4.x in turn). Each feature
//! gives one cell: `ok`, or the typed error the client reported (`kind:NAME`). The expected cell of
//! every feature for the broker's version is written here; the test fails when any cell differs, so an
//! old broker's missing feature must show as its typed error, never as a hang or a silent success.
//!
//! Cells go to stdout (`compat<TAB>feature<TAB>cell<TAB>expected`) and, when `BROKER_COMPAT_OUT` is set,
//! to that file, which the runner turns into the matrix.

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use polykafka::admin::{Admin, ConfigResource};
use polykafka::cluster::Cluster;
use polykafka::config::IsolationLevel;
use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
use polykafka::consumer::{CommitMode, Consumer};
use polykafka::error::Error;
use polykafka::producer::Producer;
use polykafka::{AdminConfig, ClientConfig, ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};

const T: Duration = Duration::from_secs(30);
/// Every feature has this long; past it the cell says `hang`.
const FEATURE_LIMIT: Duration = Duration::from_secs(45);
const N: usize = 500;
/// Left with one record for tests/cluster/versions, whose Java reference consumer reads it.
const REFERENCE_TOPIC: &str = "bv-kip848-reference";

type Outcome = Result<(), String>;

fn typed(e: Error) -> String {
    format!("{}:{}", e.kind().as_str(), e.name())
}

fn broker_version() -> (u32, u32) {
    let v = common::get("KAFKA_VERSION");
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// What each feature gives on a broker of version (major, minor).
fn expected(feature: &str, version: (u32, u32)) -> String {
    match feature {
        // KIP-848 (ConsumerGroupHeartbeat) is generally available from 4.0; 3.7-3.9 have it as early
        // access behind group.coordinator.rebalance.protocols, which the launcher leaves at its
        // default (classic): the client must report the broker's UNSUPPORTED_VERSION, as the Java
        // client throws UnsupportedVersionException.
        "group-consumer-kip848" if version < (4, 0) => "broker:UNSUPPORTED_VERSION".into(),
        // SCRAM in KRaft mode came with 3.5 (KIP-900): 3.3 and 3.4 offer PLAIN and OAUTHBEARER only
        // (2.x keeps SCRAM users in ZooKeeper).
        f if f.contains("scram") && version >= (3, 0) && version < (3, 5) => "authentication:UNSUPPORTED_SASL_MECHANISM".into(),
        "sasl-plain-wrong-password" => "authentication:SASL_AUTHENTICATION_FAILED".into(),
        _ => "ok".into(),
    }
}

fn admin() -> Admin {
    Admin::new(AdminConfig::from_properties([("bootstrap.servers", common::bootstrap())]).unwrap()).unwrap()
}

fn producer(extra: &[(&str, &str)]) -> Result<Producer, Error> {
    let bs = common::bootstrap();
    let mut props = vec![("bootstrap.servers", bs.as_str()), ("linger.ms", "5")];
    props.extend_from_slice(extra);
    Producer::new(ProducerConfig::from_properties(props)?)
}

async fn new_topic(prefix: &str, partitions: i32) -> Result<String, Error> {
    let topic = common::unique_topic(prefix);
    admin().create_topic(&topic, partitions, 1).await?;
    Ok(topic)
}

fn values(n: usize, tag: &str) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-{i}")).collect()
}

async fn send_all(p: &Producer, topic: &str, vals: &[String]) -> Result<(), Error> {
    let records = vals.iter().map(|v| ProducerRecord::new(topic).partition(0).key(v.clone()).value(v.clone())).collect();
    for r in p.send_batch(records).await?.await {
        r?;
    }
    Ok(())
}

/// Partition 0 of `topic` up to its end under `isolation` (waiting, boundedly, for the last stable
/// offset to reach the high watermark so finished transactions are all visible).
async fn read_values(topic: &str, isolation: IsolationLevel) -> Result<Vec<String>, Error> {
    let cluster = Cluster::new(ClientConfig::with_bootstrap(&common::bootstrap())?)?;
    let tp = TopicPartition::new(topic, 0);
    let end = |iso| {
        let (cluster, tp) = (&cluster, &tp);
        async move {
            let r = list_offsets(cluster, &[(tp.clone(), OffsetSpec::Latest)], iso).await?;
            r.into_iter().next().unwrap().1.map(|o| o.offset)
        }
    };
    let hw = end(IsolationLevel::ReadUncommitted).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stop = end(isolation).await?;
    while stop < hw && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop = end(isolation).await?;
    }
    Ok(read_all(&cluster, &tp, 0, stop, isolation)
        .await?
        .into_iter()
        .map(|r| r.value.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default())
        .collect())
}

fn check_eq(got: Vec<String>, want: &[String], what: &str) -> Outcome {
    if got == want {
        return Ok(());
    }
    let first = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    Err(format!("wrong:{what} ({} records, expected {}; first difference at {first})", got.len(), want.len()))
}

async fn codec(codec: &str) -> Outcome {
    let topic = new_topic(&format!("bv-{codec}"), 1).await.map_err(typed)?;
    let p = producer(&[("compression.type", codec)]).map_err(typed)?;
    let want = values(N, codec);
    send_all(&p, &topic, &want).await.map_err(typed)?;
    p.close(T).await.map_err(typed)?;
    check_eq(read_values(&topic, IsolationLevel::ReadUncommitted).await.map_err(typed)?, &want, "read-back")
}

/// The security protocols of the launcher's listeners (its users, its CA): `N` records produced
/// through `listener` and read back over PLAINTEXT.
async fn secured(listener: &str, settings: &[(&str, &str)]) -> Outcome {
    let topic = new_topic("bv-security", 1).await.map_err(typed)?;
    let (bs, ca, cert, key) = (common::get(listener), common::get("KAFKA_CA_PEM"), common::get("KAFKA_CLIENT_CERT_PEM"), common::get("KAFKA_CLIENT_KEY_PEM"));
    let (user, password) = (common::get("KAFKA_SASL_USER"), common::get("KAFKA_SASL_PASSWORD"));
    let mut props = vec![("bootstrap.servers", bs.as_str()), ("ssl.ca.location", ca.as_str())];
    if settings.iter().any(|(k, _)| *k == "sasl.mechanism") {
        props.push(("sasl.username", user.as_str()));
    }
    if settings.iter().any(|(k, _)| *k == "sasl.mechanism") && !settings.iter().any(|(k, _)| *k == "sasl.password") {
        props.push(("sasl.password", password.as_str()));
    }
    if listener == "KAFKA_MTLS_BOOTSTRAP" {
        props.extend([("ssl.certificate.location", cert.as_str()), ("ssl.key.location", key.as_str())]);
    }
    props.extend_from_slice(settings);
    let p = Producer::new(ProducerConfig::from_properties(props).map_err(typed)?).map_err(typed)?;
    let want = values(N, listener);
    send_all(&p, &topic, &want).await.map_err(typed)?;
    p.close(T).await.map_err(typed)?;
    check_eq(read_values(&topic, IsolationLevel::ReadUncommitted).await.map_err(typed)?, &want, "read-back")
}

async fn idempotent() -> Outcome {
    let topic = new_topic("bv-idem", 1).await.map_err(typed)?;
    let p = producer(&[("enable.idempotence", "true"), ("acks", "all"), ("max.in.flight.requests.per.connection", "5")])
        .map_err(typed)?;
    let want = values(N, "idem");
    send_all(&p, &topic, &want).await.map_err(typed)?;
    p.close(T).await.map_err(typed)?;
    check_eq(read_values(&topic, IsolationLevel::ReadUncommitted).await.map_err(typed)?, &want, "read-back")
}

async fn transactions() -> Outcome {
    let topic = new_topic("bv-txn", 1).await.map_err(typed)?;
    let tid = common::unique_topic("bv-tid");
    let p = producer(&[("transactional.id", tid.as_str()), ("transaction.timeout.ms", "20000")]).map_err(typed)?;
    p.init_transactions(T).await.map_err(typed)?;
    p.begin_transaction().map_err(typed)?;
    send_all(&p, &topic, &values(100, "aborted")).await.map_err(typed)?;
    p.abort_transaction(T).await.map_err(typed)?;
    p.begin_transaction().map_err(typed)?;
    let committed = values(100, "committed");
    send_all(&p, &topic, &committed).await.map_err(typed)?;
    p.commit_transaction(T).await.map_err(typed)?;
    p.close(T).await.map_err(typed)?;
    check_eq(read_values(&topic, IsolationLevel::ReadCommitted).await.map_err(typed)?, &committed, "read_committed")?;
    let all = read_values(&topic, IsolationLevel::ReadUncommitted).await.map_err(typed)?;
    check_eq(all, &[values(100, "aborted"), committed].concat(), "read_uncommitted")
}

fn group_consumer(group: &str, protocol: &str) -> Result<Consumer, Error> {
    let bs = common::bootstrap();
    Consumer::new(ConsumerConfig::from_properties([
        ("bootstrap.servers", bs.as_str()),
        ("group.id", group),
        ("group.protocol", protocol),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "500"),
    ])?)
}

/// Subscribes with `protocol`, reads the topic's records, commits them and checks the committed
/// offset through the admin client. Returns the group id.
async fn group_round(protocol: &str) -> Result<String, String> {
    let topic = new_topic("bv-group", 2).await.map_err(typed)?;
    let p = producer(&[]).map_err(typed)?;
    let mut sent = 0usize;
    for part in 0..2 {
        let records = (0..100).map(|i| ProducerRecord::new(&topic).partition(part).value(format!("g{part}-{i}"))).collect();
        for r in p.send_batch(records).await.map_err(typed)?.await {
            r.map_err(typed)?;
            sent += 1;
        }
    }
    p.close(T).await.map_err(typed)?;
    let group = common::unique_topic(&format!("bv-{protocol}"));
    let c = group_consumer(&group, protocol).map_err(typed)?;
    c.subscribe(&[topic.clone()]).map_err(typed)?;
    let mut got = 0usize;
    let deadline = Instant::now() + Duration::from_secs(35);
    while got < sent {
        if Instant::now() > deadline {
            let _ = tokio::time::timeout(Duration::from_secs(5), c.close()).await;
            return Err(format!("hang:{got}-of-{sent}-records-in-35s-no-error"));
        }
        match c.poll_batch(500, Duration::from_millis(500)).await {
            Ok(b) => got += b.len(),
            Err(e) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.close()).await;
                return Err(typed(e));
            }
        }
    }
    c.commit(None, CommitMode::Sync).await.map_err(typed)?;
    let parts = [TopicPartition::new(&topic, 0), TopicPartition::new(&topic, 1)];
    let committed = admin().list_consumer_group_offsets(&group, Some(&parts)).await.map_err(typed)?;
    c.close().await.map_err(typed)?;
    if committed.iter().map(|(_, o)| *o).collect::<Vec<_>>() != vec![100, 100] {
        return Err(format!("wrong:committed {committed:?}"));
    }
    Ok(group)
}

async fn admin_ops() -> Outcome {
    let a = admin();
    let topic = common::unique_topic("bv-admin");
    a.create_topic(&topic, 3, 1).await.map_err(typed)?;
    let d = a.describe_topics(&[topic.as_str()]).await.map_err(typed)?;
    if d.len() != 1 || d[0].partitions.len() != 3 {
        return Err(format!("wrong:describe_topics {d:?}"));
    }
    let configs = a.describe_configs(&[ConfigResource::topic(&topic)]).await.map_err(typed)?;
    let cleanup = configs.first().and_then(|c| c.get("cleanup.policy")).and_then(|e| e.value.clone());
    if cleanup.as_deref() != Some("delete") {
        return Err(format!("wrong:describe_configs cleanup.policy={cleanup:?}"));
    }
    let p = producer(&[]).map_err(typed)?;
    send_all(&p, &topic, &values(10, "admin")).await.map_err(typed)?;
    p.close(T).await.map_err(typed)?;
    let tp = TopicPartition::new(&topic, 0);
    let offs = a
        .list_offsets(&[(tp.clone(), OffsetSpec::Earliest), (tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadUncommitted)
        .await
        .map_err(typed)?;
    let o: Vec<i64> = offs.into_iter().map(|(_, r)| r.map(|l| l.offset)).collect::<Result<_, _>>().map_err(typed)?;
    if o != vec![0, 10] {
        return Err(format!("wrong:list_offsets {o:?}"));
    }
    let deleted = a.delete_topics(&[topic.as_str()]).await.map_err(typed)?;
    if let Some(e) = deleted.into_iter().find_map(|r| r.error) {
        return Err(typed(e));
    }
    Ok(())
}

/// list_consumer_groups must show a group that committed offsets (the classic group's).
async fn list_groups(group: &str) -> Outcome {
    let groups = admin().list_consumer_groups().await.map_err(typed)?;
    if !groups.iter().any(|g| g.group_id == group) {
        return Err(format!("wrong:{group} not among {} groups", groups.len()));
    }
    Ok(())
}

async fn bounded<F: Future<Output = Outcome>>(f: F) -> String {
    let t0 = Instant::now();
    match tokio::time::timeout(FEATURE_LIMIT, f).await {
        Ok(Ok(())) => "ok".into(),
        Ok(Err(cell)) => cell,
        Err(_) => format!("hang:no-answer-in-{}s", t0.elapsed().as_secs()),
    }
}

/// Runs a feature on its own thread and runtime, waited for with a plain channel: a client task that
/// never yields starves its runtime's timers, so `bounded` alone could not report the hang (seen
/// with group.protocol=consumer on Kafka 3.3). A hung runtime is leaked, not dropped (dropping it
/// would wait for the spinning task); it dies with the test process.
fn isolated<F, Fut>(limit: Duration, f: F) -> String
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Outcome>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let cell = rt.block_on(async move {
            match tokio::time::timeout(limit, f()).await {
                Ok(Ok(())) => "ok".to_string(),
                Ok(Err(cell)) => cell,
                Err(_) => format!("hang:no-answer-in-{}s", limit.as_secs()),
            }
        });
        let _ = tx.send(cell);
        rt.shutdown_timeout(Duration::from_secs(2));
    });
    rx.recv_timeout(limit + Duration::from_secs(2))
        .unwrap_or_else(|_| format!("hang:no-answer-in-{}s-client-runtime-starved", limit.as_secs()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_match_the_brokers_version() {
    let version = broker_version();
    let mut cells: Vec<(String, String)> = Vec::new();
    for c in ["none", "gzip", "snappy", "lz4", "zstd"] {
        cells.push((format!("produce-{c}"), bounded(codec(c)).await));
    }
    cells.push(("idempotent-producer".into(), bounded(idempotent()).await));
    let security: [(&str, &str, &[(&str, &str)]); 7] = [
        ("tls", "KAFKA_SSL_BOOTSTRAP", &[("security.protocol", "SSL")]),
        ("tls-client-certificate", "KAFKA_MTLS_BOOTSTRAP", &[("security.protocol", "SSL")]),
        ("sasl-plain", "KAFKA_SASL_BOOTSTRAP", &[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "PLAIN")]),
        ("sasl-scram-sha-256", "KAFKA_SASL_BOOTSTRAP", &[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "SCRAM-SHA-256")]),
        ("sasl-scram-sha-512", "KAFKA_SASL_BOOTSTRAP", &[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "SCRAM-SHA-512")]),
        ("sasl-ssl-scram-sha-512", "KAFKA_SASL_SSL_BOOTSTRAP", &[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "SCRAM-SHA-512")]),
        ("sasl-plain-wrong-password", "KAFKA_SASL_BOOTSTRAP", &[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "PLAIN"), ("sasl.password", "wrong")]),
    ];
    for (feature, listener, settings) in security {
        cells.push((feature.into(), bounded(secured(listener, settings)).await));
    }
    cells.push(("transactions".into(), bounded(transactions()).await));
    let mut classic_group = None;
    let cell = bounded(async {
        classic_group = Some(group_round("classic").await?);
        Ok(())
    })
    .await;
    cells.push(("group-classic-commit".into(), cell));
    cells.push(("admin-topics-configs-offsets".into(), bounded(admin_ops()).await));
    let cell = match &classic_group {
        Some(g) => bounded(list_groups(g)).await,
        None => "skipped:no-classic-group".into(),
    };
    cells.push(("admin-list-groups".into(), cell));
    // A client that answers gives its error at once (the Java client on its first poll); 20 s is
    // ample for a KIP-848 join on 4.x.
    cells.push(("group-consumer-kip848".into(), isolated(Duration::from_secs(20), || async { group_round("consumer").await.map(|_| ()) })));
    // For the runner's Java reference (the Java client with group.protocol=consumer): one record.
    let reference = async {
        // `cargo test --workspace` runs this suite on a shared cluster too, maybe more than once.
        match admin().create_topic(REFERENCE_TOPIC, 1, 1).await {
            Err(e) if e.name() == "TOPIC_ALREADY_EXISTS" => {}
            other => other?,
        }
        let p = producer(&[])?;
        send_all(&p, REFERENCE_TOPIC, &values(1, "reference")).await?;
        p.close(T).await
    };
    if let Err(e) = reference.await {
        cells.push(("reference-topic".into(), typed(e)));
    }

    let mut out = String::new();
    let mut wrong = Vec::new();
    for (feature, cell) in &cells {
        let want = expected(feature, version);
        out.push_str(&format!("compat\t{feature}\t{cell}\t{want}\n"));
        if *cell != want {
            wrong.push(format!("{feature}: got {cell}, expected {want}"));
        }
    }
    print!("{out}");
    if let Ok(path) = std::env::var("BROKER_COMPAT_OUT") {
        std::fs::write(&path, &out).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
    assert!(wrong.is_empty(), "Kafka {}.{}: {} cell(s) differ:\n{}", version.0, version.1, wrong.len(), wrong.join("\n"));
}
