//! Runs the `polykafka` binary against the cluster of `tests/cluster/kafka up` (its
//! `build/cluster/cluster.env`, or `KAFKA_*` in the environment), and Kafka's own tools from the
//! launcher's jars.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The cluster's facts, read as the core's tests read them (the same file and variables).
#[path = "../../../core/tests/common/mod.rs"]
mod core_common;
#[allow(unused_imports)]
pub use core_common::{bootstrap, get};

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("cli-{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// A run of the binary: exit code, stdout, stderr.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

fn finish(o: Output) -> Run {
    Run { code: o.status.code().unwrap_or(-1), out: String::from_utf8_lossy(&o.stdout).into(), err: String::from_utf8_lossy(&o.stderr).into() }
}

/// A command for the binary with the cluster's bootstrap in KAFKA_BOOTSTRAP, no user config
/// file, no colour.
pub fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_polykafka"));
    c.args(args)
        .env("KAFKA_BOOTSTRAP", bootstrap())
        .env("POLYKAFKA_CONFIG", "/nonexistent/polykafka-test-config.toml")
        .env_remove("POLYKAFKA_PROFILE")
        .env_remove("SCHEMA_REGISTRY_URL")
        .env("NO_COLOR", "1");
    c
}

pub fn run(args: &[&str]) -> Run {
    run_cmd(cmd(args), None)
}

pub fn run_with_input(args: &[&str], input: &[u8]) -> Run {
    run_cmd(cmd(args), Some(input))
}

pub fn run_cmd(mut c: Command, input: Option<&[u8]>) -> Run {
    c.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn polykafka");
    if let Some(i) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(i).unwrap();
    }
    finish(child.wait_with_output().unwrap())
}

/// Kafka's own CLI (`tests/cluster/kafka tool ALIAS ...`), bounded by `timeout`.
pub fn kafka_tool(alias: &str, args: &[&str]) -> Run {
    let o = Command::new("timeout")
        .arg("120")
        .arg(root().join("tests/cluster/kafka"))
        .arg("tool")
        .arg(alias)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tests/cluster/kafka tool");
    finish(o)
}

pub fn create_topic(name: &str, partitions: i32) {
    run(&["topics", "create", name, "-p", &partitions.to_string()]).ok();
}
