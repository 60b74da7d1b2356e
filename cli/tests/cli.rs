//! The `polykafka` binary against the real broker: every command, and the error paths
//! (bad arguments → 2; unknown topic, unreachable broker, bad credentials → 1).

mod common;

use common::*;

#[test]
fn help_has_examples_and_bad_arguments_exit_2() {
    let top = run(&["--help"]).ok();
    assert!(top.out.contains("Examples:") && top.out.contains("Exit codes"), "{}", top.out);
    for sub in [
        &["produce"][..],
        &["consume"],
        &["topics", "list"],
        &["topics", "describe"],
        &["topics", "create"],
        &["topics", "delete"],
        &["topics", "alter"],
        &["configs", "get"],
        &["configs", "set"],
        &["groups", "list"],
        &["groups", "describe"],
        &["groups", "delete"],
        &["offsets", "reset"],
        &["lag"],
        &["cluster"],
        &["perf", "produce"],
        &["perf", "consume"],
        &["settings"],
        &["dlq", "replay"],
        &["completions"],
    ] {
        let mut args = sub.to_vec();
        args.push("--help");
        let r = run(&args).ok();
        assert!(r.out.contains("Examples:"), "{sub:?} --help has no examples: {}", r.out);
    }
    for bad in [
        &["consume"][..],
        &["--no-such-flag", "topics", "list"],
        &["topics", "frobnicate"],
        &["produce", "t", "--acks", "2"],
        &["offsets", "reset", "g", "--topic", "t"],
        &["consume", "t", "-o", "soon"],
        &["consume", "t", "-f", "%q"],
        &["-X", "no.such.key=1", "topics", "list"],
        &["-X", "acks=all", "topics", "list"],
        &["-X", "broken", "topics", "list"],
        &["configs", "get", "broker", "one"],
        &["lag", "g", "--interval", "0"],
    ] {
        let r = run(bad);
        assert_eq!(r.code, 2, "{bad:?} should be a usage error: {r:?}");
        assert!(r.err.contains("error"), "{bad:?}: {r:?}");
    }
    // No broker anywhere.
    let mut c = cmd(&["topics", "list"]);
    c.env_remove("KAFKA_BOOTSTRAP");
    let r = run_cmd(c, None);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("no brokers"), "{r:?}");
}

#[test]
fn settings_come_from_profiles_files_and_flags_and_hide_secrets() {
    let dir = std::env::temp_dir().join(unique("settings"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "default = \"local\"\n[profiles.local]\n\"bootstrap.servers\" = \"10.0.0.1:9092\"\n\"client.id\" = \"from-profile\"\n\
         [profiles.secure]\n\"bootstrap.servers\" = \"10.0.0.2:9094\"\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n\
         \"sasl.mechanism\" = \"PLAIN\"\n\"sasl.username\" = \"alice\"\n\"sasl.password\" = \"hunter2-very-secret\"\n\
         \"request.timeout.ms\" = 5000\n\"schema.registry.url\" = \"http://127.0.0.1:1/\"\n\
         [profiles.typo]\n\"bootstrap.server\" = \"x:1\"\n",
    )
    .unwrap();
    let props = dir.join("client.properties");
    std::fs::write(&props, "# comment\nclient.id = from-file\nlinger.ms=7\n").unwrap();
    let with_config = |args: &[&str]| {
        let mut c = cmd(args);
        c.env("POLYKAFKA_CONFIG", &config).env("KAFKA_BOOTSTRAP", "10.9.9.9:9092");
        run_cmd(c, None)
    };
    // The default profile beats KAFKA_BOOTSTRAP.
    let r = with_config(&["settings", "-o", "json"]).ok();
    assert_eq!(r.json()["bootstrap.servers"], "10.0.0.1:9092");
    assert_eq!(r.json()["client.id"], "from-profile");
    // A named profile; its password never shown.
    let r = with_config(&["--profile", "secure", "settings"]).ok();
    assert!(r.out.contains("10.0.0.2:9094") && r.out.contains("sasl.password") && r.out.contains("********"), "{r:?}");
    assert!(!r.out.contains("hunter2") && !r.err.contains("hunter2"), "{r:?}");
    let r = with_config(&["--profile", "secure", "settings", "-o", "json"]).ok();
    assert_eq!(r.json()["sasl.password"], "********");
    assert_eq!(r.json()["request.timeout.ms"], "5000");
    // -F beats the profile, -X beats -F, -b beats everything.
    let r = with_config(&["-F", props.to_str().unwrap(), "settings", "-o", "json"]).ok();
    assert_eq!(r.json()["client.id"], "from-file");
    let r = with_config(&["-F", props.to_str().unwrap(), "-X", "client.id=from-flag", "-b", "127.0.0.1:1", "settings", "-o", "json"]).ok();
    assert_eq!(r.json()["client.id"], "from-flag");
    assert_eq!(r.json()["bootstrap.servers"], "127.0.0.1:1");
    // librdkafka's names are accepted under the core's.
    let r = with_config(&["-X", "metadata.broker.list=127.0.0.1:2", "settings", "-o", "json"]).ok();
    assert_eq!(r.json()["bootstrap.servers"], "127.0.0.1:2");
    // The producer key of the file is refused by a command that has no producer.
    let r = with_config(&["-F", props.to_str().unwrap(), "topics", "list"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("linger.ms") && r.err.contains("producer"), "{r:?}");
    // Unknown profile, a typo inside a profile.
    let r = with_config(&["--profile", "nope", "settings"]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("no profile 'nope'"), "{r:?}");
    let r = with_config(&["--profile", "typo", "settings"]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("bootstrap.server"), "{r:?}");
    // Without a config file, KAFKA_BOOTSTRAP is used.
    let r = run(&["settings", "-o", "json"]).ok();
    assert_eq!(r.json()["bootstrap.servers"], bootstrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn errors_name_the_broker_the_topic_and_the_kafka_error() {
    let missing = unique("missing");
    let r = run(&["consume", &missing, "-e"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains(&missing) && r.err.contains("UNKNOWN_TOPIC_OR_PARTITION") && r.err.contains(&bootstrap()), "{r:?}");
    // The broker auto-creates topics; the CLI does not ask it to (a typo is an error).
    let r = run_with_input(&["produce", &missing], b"x\n");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains(&missing) && r.err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{r:?}");
    let r = run(&["topics", "describe", &missing]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains(&missing) && r.err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{r:?}");

    // Unreachable broker, short timeout.
    let t0 = std::time::Instant::now();
    let r = run(&["-b", "127.0.0.1:1", "-X", "default.api.timeout.ms=1500", "topics", "list"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("127.0.0.1:1") && r.err.contains("CONNECTION"), "{r:?}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(30));

    // Bad credentials on the SASL listener: named, and the password never printed.
    let sasl = get("KAFKA_SASL_BOOTSTRAP");
    let bad = [
        "-b", &sasl, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-256", "-X", "sasl.username=alice",
        "-X", "sasl.password=wrong-pass-7731", "-X", "default.api.timeout.ms=3000", "topics", "list",
    ];
    let r = run(&bad);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("SASL_AUTHENTICATION_FAILED") || r.err.contains("uthentication"), "{r:?}");
    assert!(!r.err.contains("wrong-pass-7731") && !r.out.contains("wrong-pass-7731"), "{r:?}");
    // The right ones work.
    let user = get("KAFKA_SASL_USER");
    let password = format!("sasl.password={}", get("KAFKA_SASL_PASSWORD"));
    let user = format!("sasl.username={user}");
    let good = ["-b", &sasl, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-256", "-X", &user, "-X", &password, "topics", "list"];
    run(&good).ok();

    // A bad value the core refuses is a usage error naming the key.
    let r = run(&["-X", "request.timeout.ms=soon", "topics", "list"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("request.timeout.ms"), "{r:?}");
}

#[test]
fn topics_and_configs() {
    let t = unique("topics");
    run(&["topics", "create", &t, "-p", "2", "-r", "1", "--config", "retention.ms=3600000"]).ok();
    let again = run(&["topics", "create", &t, "-p", "2"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.err.contains("TOPIC_ALREADY_EXISTS") && again.err.contains(&t), "{again:?}");
    run(&["topics", "create", &t, "-p", "2", "--if-not-exists"]).ok();

    let list = run(&["topics", "list", "-o", "json"]).ok().json();
    let mine: Vec<_> = list.as_array().unwrap().iter().filter(|x| x["name"] == t.as_str()).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["partitions"], 2);
    assert!(run(&["topics", "list"]).ok().out.lines().any(|l| l.starts_with(&t)));

    run(&["topics", "alter", &t, "--partitions", "3", "--config", "cleanup.policy=compact"]).ok();
    let d = run(&["topics", "describe", &t, "-o", "json"]).ok().json();
    assert_eq!(d[0]["partitions"].as_array().unwrap().len(), 3);
    assert!(d[0]["partitions"][2]["leader"].as_i64().unwrap() >= 0);

    let c = run(&["configs", "get", "topic", &t, "-o", "json"]).ok().json();
    let get = |c: &serde_json::Value, k: &str| c.as_array().unwrap().iter().find(|e| e["name"] == k).map(|e| e["value"].clone());
    assert_eq!(get(&c, "retention.ms"), Some("3600000".into()));
    assert_eq!(get(&c, "cleanup.policy"), Some("compact".into()));
    // Only values set on the topic by default; --all adds the defaults.
    assert_eq!(get(&c, "segment.bytes"), None);
    let all = run(&["configs", "get", "topic", &t, "--all", "-o", "json"]).ok().json();
    assert!(get(&all, "segment.bytes").is_some());
    run(&["configs", "set", "topic", &t, "retention.ms=7200000", "--delete", "cleanup.policy"]).ok();
    let table = run(&["configs", "get", "topic", &t, "retention.ms", "cleanup.policy"]).ok();
    assert!(table.out.contains("7200000"), "{table:?}");
    assert!(table.out.lines().any(|l| l.starts_with("cleanup.policy") && l.contains("delete") && l.contains("default")), "{table:?}");
    let bad = run(&["configs", "set", "topic", &t, "retention.ms=forever"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.err.contains("INVALID_CONFIG") && bad.err.contains(&t), "{bad:?}");
    let missing = run(&["configs", "get", "topic", &t, "no.such.config"]);
    assert_eq!(missing.code, 2, "{missing:?}");

    let id = run(&["cluster", "-o", "json"]).ok().json()["brokers"][0]["id"].to_string();
    let broker = run(&["configs", "get", "broker", &id, "--all", "-o", "json"]).ok().json();
    assert!(get(&broker, "num.partitions").is_some());

    run(&["topics", "delete", &t]).ok();
    let gone = run(&["topics", "delete", &t]);
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{gone:?}");
}

#[test]
fn produce_and_consume_as_kcat() {
    let t = unique("kcat");
    create_topic(&t, 1);
    run_with_input(&["produce", &t, "-K", ":", "-H", "source=cli", "-H", "n=1"], b"k1:v1\nk2:v:2\nno-key\n").ok();
    let r = run(&["consume", &t, "-e", "-f", "%t|%p|%o|%k|%s|%K|%S|%h\\n"]).ok();
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("{t}|0|0|k1|v1|2|2|source=cli,n=1"),
            format!("{t}|0|1|k2|v:2|2|3|source=cli,n=1"),
            format!("{t}|0|2||no-key|-1|6|source=cli,n=1"),
        ]
    );
    // Plain, with a key delimiter.
    assert_eq!(run(&["consume", &t, "-e", "-K", "="]).ok().out, "k1=v1\nk2=v:2\n=no-key\n");
    // JSON lines.
    let r = run(&["consume", &t, "-e", "-J"]).ok();
    let recs: Vec<serde_json::Value> = r.out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[1]["key"], "k2");
    assert_eq!(recs[1]["value"], "v:2");
    assert_eq!(recs[2]["key"], serde_json::Value::Null);
    assert_eq!(recs[0]["headers"][0]["key"], "source");
    assert_eq!(recs[0]["timestamp_type"], "CreateTime");
    // Offsets: -N from the end, absolute, a time; -c stops.
    assert_eq!(run(&["consume", &t, "-e", "-o", "-1"]).ok().out, "no-key\n");
    assert_eq!(run(&["consume", &t, "-e", "-o", "1", "-c", "1"]).ok().out, "v:2\n");
    let ts = recs[2]["timestamp"].as_i64().unwrap();
    let at = format!("@{ts}");
    let r = run(&["consume", &t, "-e", "-o", &at]).ok();
    assert!(r.out.ends_with("no-key\n"), "{r:?}");
    assert!(run(&["consume", &t, "-e", "-o", "end"]).ok().out.is_empty());
    // Binary values: base64 in JSON, an error under --value-format text.
    run_with_input(&["produce", &t, "-D", "\\0"], b"\xff\xfe\x00").ok();
    let r = run(&["consume", &t, "-e", "-o", "-1", "-J"]).ok();
    let v: serde_json::Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(v["value"], "//4=");
    assert_eq!(v["value_encoding"], "base64");
    let r = run(&["consume", &t, "-e", "-o", "-1", "--value-format", "text"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("not UTF-8") && r.err.contains(&format!("{t}-0@3")), "{r:?}");
    let r = run(&["consume", &t, "-e", "-o", "-1", "--value-format", "raw"]).ok();
    assert_eq!(r.out.as_bytes(), "\u{fffd}\u{fffd}\n".as_bytes(), "lossy view of raw bytes in the test only");
}

#[test]
fn generated_load_partitions_compression_and_read_committed() {
    let t = unique("gen");
    create_topic(&t, 3);
    let r = run(&["produce", &t, "--count", "300", "--size", "20", "--rate", "2000", "-z", "zstd", "--acks", "all", "-o", "json"]).ok();
    let summary = r.json();
    assert_eq!(summary["delivered"], 300);
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["bytes"], 6000);
    // 300 records at 2000/s take at least 0.15 s: the rate is kept (a bound, not a timing test).
    assert!(summary["seconds"].as_f64().unwrap() >= 0.14, "{summary}");
    let r = run(&["consume", &t, "-e", "--read-committed", "-f", "%S\\n"]).ok();
    assert_eq!(r.out.lines().count(), 300);
    assert!(r.out.lines().all(|l| l == "20"));
    run_with_input(&["produce", &t, "-p", "2", "-z", "gzip"], b"only-two\n").ok();
    let r = run(&["consume", &t, "-p", "2", "-e", "-o", "-1"]).ok();
    assert_eq!(r.out, "only-two\n");
    let bad = run(&["consume", &t, "-p", "7", "-e"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    let bad = run_with_input(&["produce", &t, "-p", "9"], b"x\n");
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.err.contains(&t), "{bad:?}");
}

#[test]
fn groups_offsets_and_lag() {
    let t = unique("lag");
    let g = unique("group");
    create_topic(&t, 2);
    run(&["produce", &t, "--count", "15", "--size", "8", "-p", "0"]).ok();
    run(&["produce", &t, "--count", "15", "--size", "8", "-p", "1"]).ok();
    // Consume 10 as a member of the group; closing commits them.
    let r = run(&["consume", &t, "-g", &g, "-o", "beginning", "-c", "10"]).ok();
    assert_eq!(r.out.lines().count(), 10);
    let lag = run(&["lag", &g, "-o", "json"]).ok().json();
    assert_eq!(lag["total_lag"], 20, "{lag}");
    assert_eq!(lag["state"], "Empty");
    let table = run(&["lag", &g]).ok();
    assert!(table.out.lines().any(|l| l.starts_with("TOTAL") && l.trim_end().ends_with("20")), "{table:?}");

    let groups = run(&["groups", "list", "-o", "json"]).ok().json();
    assert!(groups.as_array().unwrap().iter().any(|x| x["group"] == g.as_str()));
    let d = run(&["groups", "describe", &g, "-o", "json"]).ok().json();
    let parts = d[0]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts.iter().map(|p| p["lag"].as_i64().unwrap()).sum::<i64>(), 20);
    let text = run(&["groups", "describe", &g]).ok();
    assert!(text.out.starts_with("GROUP") && text.out.contains("LOG-END-OFFSET"), "{text:?}");

    // Dry run: plan shown, nothing changed.
    let plan = run(&["offsets", "reset", &g, "--topic", &t, "--to-earliest", "-o", "json"]).ok().json();
    assert_eq!(plan["executed"], false);
    assert!(plan["offsets"].as_array().unwrap().iter().all(|o| o["new_offset"] == 0));
    assert_eq!(run(&["lag", &g, "-o", "json"]).ok().json()["total_lag"], 20);
    run(&["offsets", "reset", &g, "--topic", &t, "--to-earliest", "--execute"]).ok();
    assert_eq!(run(&["lag", &g, "-o", "json"]).ok().json()["total_lag"], 30);
    run(&["offsets", "reset", &g, "--all-topics", "--shift-by", "4", "--execute"]).ok();
    assert_eq!(run(&["lag", &g, "-o", "json"]).ok().json()["total_lag"], 22);
    // Shifts stay inside the partition.
    run(&["offsets", "reset", &g, "--all-topics", "--shift-by", "-100", "--execute"]).ok();
    assert_eq!(run(&["lag", &g, "-o", "json"]).ok().json()["total_lag"], 30);
    let p0 = format!("{t}:0");
    run(&["offsets", "reset", &g, "--topic", &p0, "--to-latest", "--execute"]).ok();
    let lag = run(&["lag", &g, "-o", "json"]).ok().json();
    let p1_end = lag["partitions"].as_array().unwrap().iter().find(|p| p["partition"] == 1).unwrap()["end"].as_i64().unwrap();
    assert_eq!(lag["total_lag"], p1_end);
    run(&["offsets", "reset", &g, "--all-topics", "--to-datetime", "2000-01-01T00:00:00Z", "--execute"]).ok();
    assert_eq!(run(&["lag", &g, "-o", "json"]).ok().json()["total_lag"], 30);
    run(&["offsets", "reset", &g, "--all-topics", "--to-offset", "5", "--execute"]).ok();
    assert_eq!(run(&["lag", &g, "-o", "json"]).ok().json()["total_lag"], 20);

    // A live member: --execute refused, the group cannot be deleted.
    let mut member = cmd(&["consume", &t, "-g", &g, "--idle-timeout", "8"]);
    member.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = member.spawn().unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        state = run(&["lag", &g, "-o", "json"]).ok().json()["state"].as_str().unwrap().to_string();
        if state == "Stable" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(state, "Stable");
    let r = run(&["offsets", "reset", &g, "--all-topics", "--to-earliest", "--execute"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("inactive") && r.err.contains("Stable"), "{r:?}");
    let r = run(&["groups", "delete", &g]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("NON_EMPTY_GROUP") && r.err.contains(&g), "{r:?}");
    // Ctrl-C: the member leaves the group (and exits 0), so the group can go at once.
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut deleted = false;
    for _ in 0..20 {
        if run(&["groups", "delete", &g]).code == 0 {
            deleted = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(deleted);
    for args in [&["lag", &g][..], &["groups", "describe", &g]] {
        let r = run(args);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.err.contains("does not exist") && r.err.contains(&g), "{r:?}");
    }
}

#[test]
fn cluster_shows_brokers_and_api_versions() {
    let c = run(&["cluster", "-o", "json"]).ok().json();
    assert_eq!(c["brokers"].as_array().unwrap().len(), 1);
    let picked = c["picked"].as_array().unwrap();
    let produce = picked.iter().find(|p| p["name"] == "Produce").unwrap();
    assert!(produce["version"].as_i64().unwrap() >= 3);
    let t = run(&["cluster", "--api-versions"]).ok();
    assert!(t.out.contains("cluster id:") && t.out.contains("BROKER ") && t.out.contains("PICKED"), "{t:?}");
    assert!(t.out.lines().any(|l| l.starts_with("Fetch ")), "{t:?}");
}

#[test]
fn completions_for_three_shells() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef polykafka"), ("fish", "complete -c polykafka")] {
        let r = run(&["completions", shell]).ok();
        assert!(r.out.contains(marker) && r.out.contains("consume") && r.out.contains("offsets"), "{shell}: {}", &r.out[..200.min(r.out.len())]);
    }
    assert_eq!(run(&["completions", "tcsh"]).code, 2);
}

#[test]
fn dlq_replay_writes_dead_letters_back_without_their_dead_letter_headers() {
    let topic = unique("dlq-orig");
    let dlq = format!("{topic}-dlq");
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let origin = format!("original-topic={topic}");
    run_with_input(&["produce", &dlq, "-K", ":", "-H", &origin, "-H", "retry-count=3", "-H", "error=boom", "-H", "trace=t1"], b"k1:v1\nk2:v2\n").ok();

    let r = run(&["dlq", "replay", "--topic", &dlq, "-o", "json"]).ok();
    assert_eq!(r.json()["total"], 2, "{r:?}");
    assert_eq!(r.json()["written"][&topic], 2, "{r:?}");
    let back = run(&["consume", &topic, "-o", "beginning", "-e", "-f", "%k=%s %h\n"]).ok();
    assert_eq!(back.out, "k1=v1 trace=t1\nk2=v2 trace=t1\n", "{back:?}");

    // --to another topic; the table output names it.
    let other = unique("dlq-to");
    create_topic(&other, 1);
    let r = run(&["dlq", "replay", "--topic", &dlq, "--to", &other]).ok();
    assert!(r.out.contains(&other) && r.out.contains("replayed 2 records"), "{r:?}");

    // A record without original-topic and no --to; a topic that does not exist.
    run_with_input(&["produce", &dlq], b"orphan\n").ok();
    let r = run(&["dlq", "replay", "--topic", &dlq]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("original-topic") && r.err.contains(&dlq), "{r:?}");
    let missing = unique("dlq-missing");
    let r = run(&["dlq", "replay", "--topic", &missing]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains(&missing) && r.err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{r:?}");
    let r = run(&["dlq", "replay"]);
    assert_eq!(r.code, 2, "{r:?}");
}
