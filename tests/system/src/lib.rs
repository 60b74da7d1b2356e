//! Helpers for tests that run their own Kafka clusters with `tests/cluster/kafka` and kill
//! brokers or client processes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod proxy;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root")
}

/// A cluster started with `tests/cluster/kafka --name NAME`, stopped when dropped.
pub struct TestCluster {
    pub name: String,
    port_base: String,
}

impl TestCluster {
    /// Starts a fresh cluster of `nodes` nodes. `port_base` is overridden by `<NAME>_PORT_BASE`
    /// in the environment (upper case).
    pub fn start(name: &str, nodes: u32, port_base: u32) -> TestCluster {
        Self::start_with(name, nodes, port_base, &[])
    }

    /// Starts a fresh cluster whose nodes also advertise a PROXIED listener at its port + `offset`, where
    /// [`TestCluster::proxies`] listen (`tests/cluster/kafka up --proxy-offset`).
    pub fn start_proxied(name: &str, nodes: u32, port_base: u32, offset: u32) -> TestCluster {
        Self::start_with(name, nodes, port_base, &["--proxy-offset", &offset.to_string()])
    }

    fn start_with(name: &str, nodes: u32, port_base: u32, extra: &[&str]) -> TestCluster {
        let var = format!("{}_PORT_BASE", name.to_ascii_uppercase().replace('-', "_"));
        let port_base = std::env::var(var).unwrap_or_else(|_| port_base.to_string());
        let cluster = TestCluster { name: name.to_string(), port_base };
        let _ = cluster.run(&["down"]);
        let nodes = nodes.to_string();
        let mut args = vec!["up", "--nodes", &nodes];
        args.extend_from_slice(extra);
        cluster.launcher(&args);
        cluster
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(repo().join("tests/cluster/kafka"))
            .arg("--name")
            .arg(&self.name)
            .args(args)
            .env("KAFKA_PORT_BASE", &self.port_base)
            .output()
            .expect("tests/cluster/kafka runs")
    }

    /// Runs the launcher (`kill 2`, `start 2`, ...), panicking with its output on failure.
    pub fn launcher(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "tests/cluster/kafka --name {} {args:?} failed:\n{text}", self.name);
        text
    }

    /// The PLAINTEXT bootstrap address from the cluster's env file.
    pub fn bootstrap(&self) -> String {
        self.env("KAFKA_BOOTSTRAP")
    }

    /// The bootstrap addresses of the proxies (started by [`TestCluster::proxies`]).
    pub fn proxy_bootstrap(&self) -> String {
        self.env("KAFKA_PROXY_BOOTSTRAP")
    }

    /// Starts one fault proxy per node of a cluster from [`TestCluster::start_proxied`], in node order.
    pub async fn proxies(&self) -> Vec<proxy::FaultProxy> {
        let mut out = Vec::new();
        for pair in self.env("KAFKA_PROXY_UPSTREAMS").split(',') {
            let (listen, upstream) = pair.split_once('=').expect("advertised=listening port pairs");
            let upstream = format!("127.0.0.1:{upstream}").parse().unwrap();
            out.push(proxy::FaultProxy::start(listen.parse().unwrap(), upstream).await.expect("the proxy listens"));
        }
        out
    }

    /// A value of the cluster's env file.
    pub fn env(&self, key: &str) -> String {
        let build = std::env::var("POLYKAFKA_BUILD").map(PathBuf::from).unwrap_or(repo().join("build/cluster"));
        let path = build.join(format!("kafka-{}/cluster.env", self.name));
        let env = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let prefix = format!("{key}=");
        env.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{key} in {}", path.display()))
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
    }
}

/// The values of one partition, from offset 0 to its end, as the decimal numbers the tests write
/// (read over `bootstrap`, read_uncommitted).
pub async fn numbers_in(bootstrap: &str, topic: &str, partition: i32) -> Vec<usize> {
    use polykafka::config::IsolationLevel;
    use polykafka::consumer::fetch::{list_offsets, read_all, OffsetSpec};
    let cluster = polykafka::cluster::Cluster::new(polykafka::ClientConfig::with_bootstrap(bootstrap).unwrap()).unwrap();
    let tp = polykafka::TopicPartition::new(topic, partition);
    let end = list_offsets(&cluster, &[(tp.clone(), OffsetSpec::Latest)], IsolationLevel::ReadUncommitted).await.unwrap();
    let end = end[0].1.as_ref().unwrap().offset;
    let records = read_all(&cluster, &tp, 0, end, IsolationLevel::ReadUncommitted).await.unwrap();
    records.iter().map(|r| std::str::from_utf8(r.value.as_ref().unwrap()).unwrap().parse().unwrap()).collect()
}

/// An idempotent acks=all producer (linger 5 ms, delivery timeout 120 s) with `request.timeout.ms` and any
/// further settings given.
pub fn idempotent_producer(bootstrap: &str, request_timeout_ms: &str, extra: &[(&str, &str)]) -> polykafka::producer::Producer {
    let mut props = vec![
        ("bootstrap.servers", bootstrap),
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("linger.ms", "5"),
        ("request.timeout.ms", request_timeout_ms),
        ("delivery.timeout.ms", "120000"),
    ];
    props.extend_from_slice(extra);
    polykafka::producer::Producer::new(polykafka::ProducerConfig::from_properties(props).unwrap()).unwrap()
}

/// A member of `group` with manual commits from the earliest offset, a 6 s session, 1 s heartbeats and 5 s
/// requests, plus any further settings given.
pub fn group_member(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> polykafka::Consumer {
    let mut props = vec![
        ("bootstrap.servers", bootstrap),
        ("group.id", group),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "1000"),
        ("request.timeout.ms", "5000"),
    ];
    props.extend_from_slice(extra);
    polykafka::Consumer::new(polykafka::ConsumerConfig::from_properties(props).unwrap()).unwrap()
}

/// A topic or id no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// Prints the client's logs to stderr when `RUST_LOG` is set (e.g. `RUST_LOG=polykafka=debug`).
pub fn init_logs() {
    if std::env::var("RUST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).try_init();
    }
}
