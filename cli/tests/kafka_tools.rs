//! `consume` and `perf` next to Kafka's own tools (the launcher's jars), on the same broker:
//! the same lines, and each side reads what the other wrote. The JVM tools are slow to start,
//! so each runs once.

mod common;

use common::*;
use regex::Regex;

#[test]
fn consume_prints_what_kafka_console_consumer_prints() {
    let t = unique("console");
    create_topic(&t, 1);
    let input: String = (0..25).map(|i| format!("key-{i}:value {i} with spaces, ünïcode\n")).collect();
    run_with_input(&["produce", &t, "-K", ":"], input.as_bytes()).ok();
    let ours = run(&["consume", &t, "-e", "-K", "\\t"]).ok();
    let theirs = kafka_tool(
        "console-consumer",
        &[
            "--bootstrap-server", &bootstrap(), "--topic", &t, "--from-beginning", "--max-messages", "25", "--timeout-ms", "30000",
            "--formatter-property", "print.key=true", "--formatter-property", "key.separator=\t",
        ],
    );
    assert_eq!(theirs.code, 0, "{theirs:?}");
    assert_eq!(ours.out.lines().count(), 25);
    assert_eq!(ours.out, theirs.out, "ours:\n{}\ntheirs:\n{}", ours.out, theirs.out);
}

const PRODUCER_TOTAL: &str = r"^(\d+) records sent, \d+\.\d{6} records/sec \(\d+\.\d{2} MB/sec\), \d+\.\d{2} ms avg latency, \d+\.\d{2} ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$";
const CONSUMER_LINE: &str = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, (\d+\.\d{4}), \d+\.\d{4}, (\d+), \d+\.\d{4}, \d+, \d+, \d+\.\d{4}, \d+\.\d{4}$";

/// The last line of `out` matching `re`, with its captures.
fn last_match(re: &Regex, out: &str) -> Vec<String> {
    let line = out.lines().rev().find(|l| re.is_match(l)).unwrap_or_else(|| panic!("no line matches {re}:\n{out}"));
    re.captures(line).unwrap().iter().skip(1).map(|m| m.unwrap().as_str().to_string()).collect()
}

#[test]
fn perf_prints_the_lines_of_kafkas_perf_tools() {
    let t = unique("perf");
    create_topic(&t, 1);
    let producer_re = Regex::new(PRODUCER_TOTAL).unwrap();
    let consumer_re = Regex::new(CONSUMER_LINE).unwrap();
    let props = format!("bootstrap.servers={}", bootstrap());
    // Theirs writes 4000 records, ours 4000: 8000 of 100 bytes.
    let theirs = kafka_tool(
        "producer-perf-test",
        &["--topic", &t, "--num-records", "4000", "--record-size", "100", "--throughput", "-1", "--command-property", &props, "acks=1"],
    );
    assert_eq!(theirs.code, 0, "{theirs:?}");
    assert_eq!(last_match(&producer_re, &theirs.out), vec!["4000"]);
    let ours = run(&["perf", "produce", "--topic", &t, "--num-records", "4000", "--record-size", "100", "--throughput", "-1", "--producer-props", "acks=1"]).ok();
    assert_eq!(last_match(&producer_re, &ours.out), vec!["4000"]);

    // Each consumer reads both halves; same header, same figures for the data.
    let theirs = kafka_tool("consumer-perf-test", &["--bootstrap-server", &bootstrap(), "--topic", &t, "--num-records", "8000", "--timeout", "30000"]);
    assert_eq!(theirs.code, 0, "{theirs:?}");
    let ours = run(&["perf", "consume", "--topic", &t, "--messages", "8000", "--timeout", "30000"]).ok();
    let header = |out: &str| out.lines().find(|l| l.starts_with("start.time")).map(str::to_string);
    assert!(header(&theirs.out).is_some(), "{theirs:?}");
    assert_eq!(header(&ours.out), header(&theirs.out));
    assert_eq!(last_match(&consumer_re, &theirs.out), vec!["0.7629", "8000"]);
    assert_eq!(last_match(&consumer_re, &ours.out), vec!["0.7629", "8000"]);
    // And ours reads the Java producer's records as records.
    let r = run(&["consume", &t, "-e", "-f", "%S\\n"]).ok();
    assert_eq!(r.out.lines().filter(|l| *l == "100").count(), 8000);
}
