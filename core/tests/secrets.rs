//! Secrets never leak: the SASL password (also inside `sasl.jaas.config`), an OAUTHBEARER token and a client
//! private key given in the configuration appear in no `Debug` output of a configuration, no error (Display and
//! Debug) of a failed authentication, a bad key or a malformed JAAS line, no statistics, and no log line at TRACE
//! level of a run that authenticates, fails to authenticate and produces.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polykafka::producer::Producer;
use polykafka::{AdminConfig, ConsumerConfig, ProducerConfig, ProducerRecord};

const WRONG_PASSWORD: &str = "wrong-pw-5b1e0c77";
const TOKEN: &str = "eyJhbGciOiJub25lIn0.c2VjcmV0LXRva2VuLTkxYTI.";
const KEY_BODY: &str = "U0VDUkVULUtFWS1CT0RZLTRmOGQ";
const JAAS_PASSWORD: &str = "jaas-pw-2c9d41f0";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn private_key_pem() -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n")
}

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what} shows the secret {s:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_appear_in_no_debug_error_statistics_or_log() {
    let logs = Capture::default();
    let writer = logs.clone();
    tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_ansi(false).with_writer(move || writer.clone()).init();
    let password = common::get("KAFKA_SASL_PASSWORD");
    let key = private_key_pem();
    let secrets = [password.as_str(), WRONG_PASSWORD, TOKEN, KEY_BODY, JAAS_PASSWORD];

    // Debug of every configuration type.
    let sasl_bootstrap = common::get("KAFKA_SASL_BOOTSTRAP");
    let props = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let base = [
            ("bootstrap.servers", sasl_bootstrap.as_str()),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "alice"),
        ];
        base.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let cert = common::get("KAFKA_CLIENT_CERT_PEM");
    let all = props(&[("sasl.password", &password), ("sasl.oauthbearer.token", TOKEN), ("ssl.certificate.location", &cert), ("ssl.key.pem", &key)]);
    assert_clean("ProducerConfig Debug", &format!("{:?}", ProducerConfig::from_properties(all.clone()).unwrap()), &secrets);
    let mut consumer_props = all.clone();
    consumer_props.push(("group.id".into(), "g".into()));
    let admin_props = all.clone();
    assert_clean("ConsumerConfig Debug", &format!("{:?}", ConsumerConfig::from_properties(consumer_props).unwrap()), &secrets);
    assert_clean("AdminConfig Debug", &format!("{:?}", AdminConfig::from_properties(admin_props).unwrap()), &secrets);
    let jaas = format!("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"{JAAS_PASSWORD}\";");
    let with_jaas = props(&[("sasl.jaas.config", &jaas)]);
    assert_clean("ProducerConfig Debug (JAAS)", &format!("{:?}", ProducerConfig::from_properties(with_jaas).unwrap()), &secrets);

    // Errors: a malformed JAAS line, a bad private key, a wrong password (PLAIN and SCRAM).
    let broken_jaas = format!("org.apache.kafka.common.security.plain.PlainLoginModule required password=\"{JAAS_PASSWORD}");
    if let Err(e) = ProducerConfig::from_properties(props(&[("sasl.jaas.config", &broken_jaas)])) {
        assert_clean("malformed JAAS error", &format!("{e} {e:?}"), &secrets);
    }
    let tls = [
        ("bootstrap.servers", common::get("KAFKA_MTLS_BOOTSTRAP")),
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", common::get("KAFKA_CA_PEM")),
        ("ssl.certificate.location", common::get("KAFKA_CLIENT_CERT_PEM")),
        ("ssl.key.pem", key.clone()),
        ("max.block.ms", "8000".to_string()),
    ];
    let bad_key = match ProducerConfig::from_properties(tls) {
        Err(e) => e,
        Ok(config) => match Producer::new(config) {
            Err(e) => e,
            Ok(p) => p.send(ProducerRecord::new(common::unique_topic("secrets")).value("v")).await.err().expect("a bad key fails"),
        },
    };
    assert_clean("bad private key error", &format!("{bad_key} {bad_key:?}"), &secrets);
    for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
        let config = ProducerConfig::from_properties(props(&[("sasl.mechanism", mechanism), ("sasl.password", WRONG_PASSWORD)])).unwrap();
        let producer = Producer::new(config).unwrap();
        let err = match producer.send(ProducerRecord::new(common::unique_topic("secrets")).value("v")).await {
            Err(e) => e,
            Ok(delivery) => delivery.await.expect_err("a wrong password fails"),
        };
        assert_clean(&format!("{mechanism} authentication error"), &format!("{err} {err:?}"), &secrets);
        let _ = producer.close(Duration::from_secs(2)).await;
    }

    // A producer that authenticates (SCRAM) and writes: its statistics.
    let config = ProducerConfig::from_properties(props(&[("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.password", &password)])).unwrap();
    let producer = Producer::new(config).unwrap();
    let delivery = producer.send(ProducerRecord::new(common::unique_topic("secrets")).value("v")).await.unwrap();
    delivery.await.unwrap();
    assert_clean("producer statistics", &producer.stats().to_string(), &secrets);
    producer.close(Duration::from_secs(5)).await.unwrap();

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains("TRACE") || text.contains("DEBUG"), "the logs were captured: {} bytes", text.len());
    assert_clean("the engine's logs", &text, &secrets);
}
