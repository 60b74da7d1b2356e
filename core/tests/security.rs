//! TLS, mTLS and SASL against the real broker's listeners, and their failures.

mod common;

use std::time::{Duration, Instant};

use polykafka::producer::Producer;
use polykafka::{ErrorKind, ProducerConfig, ProducerRecord, Result};

fn config(bootstrap_key: &str, extra: &[(&str, String)]) -> Result<ProducerConfig> {
    let mut props = vec![
        ("bootstrap.servers".to_string(), common::get(bootstrap_key)),
        ("max.block.ms".to_string(), "8000".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    ProducerConfig::from_properties(props)
}

async fn produce_one(config: ProducerConfig) -> Result<i64> {
    let producer = Producer::new(config)?;
    let topic = common::unique_topic("sec");
    let delivery = producer.send(ProducerRecord::new(&topic).key("k").value("secure")).await?;
    let md = delivery.await?;
    producer.close(Duration::from_secs(5)).await?;
    Ok(md.offset)
}

fn sasl(mechanism: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("sasl.mechanism", mechanism.to_string()),
        ("sasl.username", common::get("KAFKA_SASL_USER")),
        ("sasl.password", password.to_string()),
    ]
}

fn tls_ca() -> (&'static str, String) {
    ("ssl.ca.location", common::get("KAFKA_CA_PEM"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_every_mechanism() {
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let mut extra = sasl(mechanism, &common::get("KAFKA_SASL_PASSWORD"));
        extra.push(("security.protocol", "SASL_PLAINTEXT".into()));
        let offset = produce_one(config("KAFKA_SASL_BOOTSTRAP", &extra).unwrap()).await;
        assert_eq!(offset.unwrap_or_else(|e| panic!("{mechanism}: {e}")), 0, "{mechanism}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_scram_and_plain() {
    for mechanism in ["PLAIN", "SCRAM-SHA-512"] {
        let mut extra = sasl(mechanism, &common::get("KAFKA_SASL_PASSWORD"));
        extra.push(("security.protocol", "SASL_SSL".into()));
        extra.push(tls_ca());
        produce_one(config("KAFKA_SASL_SSL_BOOTSTRAP", &extra).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_ca_from_file_and_from_pem_text() {
    let extra = vec![("security.protocol", "SSL".to_string()), tls_ca()];
    produce_one(config("KAFKA_SSL_BOOTSTRAP", &extra).unwrap()).await.unwrap();
    let pem = std::fs::read_to_string(common::get("KAFKA_CA_PEM")).unwrap();
    let extra = vec![("security.protocol", "SSL".to_string()), ("ssl.ca.pem", pem)];
    produce_one(config("KAFKA_SSL_BOOTSTRAP", &extra).unwrap()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_needs_the_client_certificate() {
    let with_cert = vec![
        ("security.protocol", "SSL".to_string()),
        tls_ca(),
        ("ssl.certificate.location", common::get("KAFKA_CLIENT_CERT_PEM")),
        ("ssl.key.location", common::get("KAFKA_CLIENT_KEY_PEM")),
    ];
    produce_one(config("KAFKA_MTLS_BOOTSTRAP", &with_cert).unwrap()).await.unwrap();

    let without = vec![("security.protocol", "SSL".to_string()), tls_ca()];
    let err = produce_one(config("KAFKA_MTLS_BOOTSTRAP", &without).unwrap()).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Tls | ErrorKind::Connection), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_fast_with_an_authentication_error() {
    for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
        let mut extra = sasl(mechanism, "not-the-password");
        extra.push(("security.protocol", "SASL_PLAINTEXT".into()));
        let start = Instant::now();
        let err = produce_one(config("KAFKA_SASL_BOOTSTRAP", &extra).unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{mechanism}: {err}");
        assert!(!err.retriable(), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5), "{mechanism} took {:?}", start.elapsed());
    }
}

/// A batch of a topic whose metadata cannot be had (here: the password is refused) fails every
/// record with the same typed error after one attempt; before, each record authenticated again in
/// turn (0.3-0.5 s each: a 500-record batch took minutes, seen on the broker-version matrix).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_fails_every_record_after_one_attempt() {
    let mut extra = sasl("PLAIN", "not-the-password");
    extra.push(("security.protocol", "SASL_PLAINTEXT".into()));
    let producer = Producer::new(config("KAFKA_SASL_BOOTSTRAP", &extra).unwrap()).unwrap();
    let topic = common::unique_topic("sec-batch");
    let records: Vec<ProducerRecord> = (0..300).map(|i| ProducerRecord::new(&topic).partition(0).key(format!("k{i}")).value("v")).collect();
    let results = tokio::time::timeout(Duration::from_secs(60), async { producer.send_batch(records).await.unwrap().await })
        .await
        .expect("300 records of a refused batch are still not failed after 60 s");
    assert_eq!(results.len(), 300);
    for r in results {
        let e = r.unwrap_err();
        assert_eq!((e.kind(), e.name().to_string()), (ErrorKind::Authentication, "SASL_AUTHENTICATION_FAILED".to_string()), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ca_is_a_certificate_error() {
    let extra = vec![
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", common::get("KAFKA_OTHER_CA_PEM")),
    ];
    let start = Instant::now();
    let err = produce_one(config("KAFKA_SSL_BOOTSTRAP", &extra).unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.message().contains("certificate"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// A name other than those in the broker's certificate (127.0.0.1, localhost) that reaches the
/// broker: this machine's host name, when it resolves to a loopback address.
fn other_name_for_loopback() -> Option<String> {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/etc/hostname").ok()?.trim().to_string();
    if name.is_empty() || name == "localhost" {
        return None;
    }
    let loopback = (name.as_str(), 0).to_socket_addrs().ok()?.any(|a| a.ip().is_loopback());
    loopback.then_some(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostname_is_verified_unless_disabled() {
    let Some(name) = other_name_for_loopback() else {
        eprintln!("skipping: no host name other than localhost resolves to loopback here");
        return;
    };
    let addr = common::get("KAFKA_SSL_BOOTSTRAP").replace("127.0.0.1", &name);
    let props = |verify: &str| {
        ProducerConfig::from_properties([
            ("bootstrap.servers".to_string(), addr.clone()),
            ("security.protocol".to_string(), "SSL".to_string()),
            ("ssl.ca.location".to_string(), common::get("KAFKA_CA_PEM")),
            ("ssl.endpoint.identification.algorithm".to_string(), verify.to_string()),
            ("max.block.ms".to_string(), "5000".to_string()),
        ])
        .unwrap()
    };
    let err = produce_one(props("https")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.message().contains("NotValidForName"), "{err}");
    // The broker advertises 127.0.0.1, which is in its certificate: after bootstrap the
    // producer talks to that name, so with verification off the bootstrap step succeeds too.
    produce_one(props("none")).await.unwrap();
}

#[test]
fn missing_ca_file_is_a_config_error() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let cfg = ProducerConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9095"),
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/nonexistent/ca.pem"),
        ])
        .unwrap();
        let err = Producer::new(cfg).err().expect("missing CA file");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("/nonexistent/ca.pem"), "{err}");
    });
}

/// An unsigned JWT (`"alg":"none"`), which the test broker's unsecured validator accepts.
fn unsecured_jwt(subject: &str, expires_in_s: i64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let header = B64.encode(r#"{"alg":"none"}"#);
    let payload = B64.encode(format!(r#"{{"sub":"{subject}","iat":{},"exp":{}}}"#, now - 60, now + expires_in_s));
    format!("{header}.{payload}.")
}

fn oauth_props(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut props = vec![
        ("bootstrap.servers".to_string(), common::get("KAFKA_SASL_BOOTSTRAP")),
        ("security.protocol".to_string(), "SASL_PLAINTEXT".to_string()),
        ("sasl.mechanism".to_string(), "OAUTHBEARER".to_string()),
        ("max.block.ms".to_string(), "8000".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    props
}

fn broker_has_oauthbearer() -> bool {
    common::cluster_env().get("KAFKA_SASL_MECHANISMS").map(|m| m.contains("OAUTHBEARER")).unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_static_token_and_provider() {
    assert!(broker_has_oauthbearer(), "the test cluster enables OAUTHBEARER (tests/cluster/kafka)");
    let token = unsecured_jwt("alice", 3600);
    let config = ProducerConfig::from_properties(oauth_props(&[("sasl.oauthbearer.token", &token)])).unwrap();
    produce_one(config).await.unwrap();

    struct Provider(std::sync::atomic::AtomicUsize);
    impl polykafka::config::TokenProvider for Provider {
        fn token(&self) -> polykafka::Result<polykafka::config::OAuthToken> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(polykafka::config::OAuthToken { value: unsecured_jwt("bob", 600), extensions: Default::default() })
        }
    }
    let provider = std::sync::Arc::new(Provider(Default::default()));
    let mut config = ProducerConfig::from_properties(oauth_props(&[])).unwrap();
    config.client.security.sasl.as_mut().unwrap().token_provider = Some(provider.clone());
    produce_one(config).await.unwrap();
    assert!(provider.0.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the provider was asked for a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_expired_token_is_refused() {
    assert!(broker_has_oauthbearer(), "the test cluster enables OAUTHBEARER (tests/cluster/kafka)");
    let token = unsecured_jwt("alice", -30);
    let config = ProducerConfig::from_properties(oauth_props(&[("sasl.oauthbearer.token", &token)])).unwrap();
    let err = produce_one(config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    let config = ProducerConfig::from_properties(oauth_props(&[])).unwrap();
    let err = Producer::new(config).err();
    // Without a token or a provider there is nothing to authenticate with: said at once.
    let err = match err {
        Some(e) => e,
        None => produce_one(ProducerConfig::from_properties(oauth_props(&[])).unwrap()).await.unwrap_err(),
    };
    assert!(err.message().contains("sasl.oauthbearer.token"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_verification_can_be_turned_off() {
    let untrusted = vec![
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", common::get("KAFKA_OTHER_CA_PEM")),
    ];
    let err = produce_one(config("KAFKA_SSL_BOOTSTRAP", &untrusted).unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    let mut off = untrusted.clone();
    off.push(("enable.ssl.certificate.verification", "false".to_string()));
    produce_one(config("KAFKA_SSL_BOOTSTRAP", &off).unwrap()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_name_replaces_the_host_in_verification() {
    let with_name = |name: &str| {
        vec![
            ("security.protocol", "SSL".to_string()),
            tls_ca(),
            ("ssl.server.name", name.to_string()),
        ]
    };
    // The broker's certificate names localhost and 127.0.0.1, not kafka.invalid.
    produce_one(config("KAFKA_SSL_BOOTSTRAP", &with_name(&common::get("KAFKA_TLS_HOSTNAME"))).unwrap())
        .await
        .unwrap();
    let err = produce_one(config("KAFKA_SSL_BOOTSTRAP", &with_name("kafka.invalid")).unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.message().contains("NotValidForName"), "{err}");
}
