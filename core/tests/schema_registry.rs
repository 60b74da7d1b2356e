//! The schema registry client and serdes against the real registry (Apicurio, started by
//! `tests/cluster/registry up`; see `registry_url`). Every subject
//! name is unique, so a shared registry is fine.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use polykafka::schema::{
    Deserializer, MessageField, RegistryClient, RegistryConfig, Schema, SchemaErrorKind, SchemaType, SerdeConfig, Serializer, Value,
};

/// The registry's URL: `SCHEMA_REGISTRY_URL`; else this suite's own instance
/// (`build/cluster-schema-tests`, ports 8086/8087), started once and reused by later runs (as
/// `test.sh` does with the Kafka cluster). Not the shared one of `tests/cluster/registry up`:
/// `tests/run` stops that one before the suites run.
fn registry_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(find_registry).clone()
}

fn env_url(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let url = text.lines().find_map(|l| l.strip_prefix("SCHEMA_REGISTRY_URL="))?.trim().to_string();
    let authority = url.strip_prefix("http://")?.split('/').next()?.to_string();
    let addr: std::net::SocketAddr = authority.parse().ok()?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    Some(url)
}

fn find_registry() -> String {
    if let Ok(url) = std::env::var("SCHEMA_REGISTRY_URL") {
        return url;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let own = root.join("build/cluster-schema-tests");
    if let Some(url) = env_url(&own.join("registry.env")) {
        return url;
    }
    let status = std::process::Command::new(root.join("tests/cluster/registry"))
        .arg("up")
        .env("POLYKAFKA_BUILD", &own)
        .env("REGISTRY_PORT", "8086")
        .env("REGISTRY_MANAGEMENT_PORT", "8087")
        .status()
        .expect("cannot run tests/cluster/registry");
    assert!(status.success(), "tests/cluster/registry up failed (set SCHEMA_REGISTRY_URL to use a running registry)");
    env_url(&own.join("registry.env")).expect("the registry started but does not answer")
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    format!("{prefix}-{}-{t}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn client() -> Arc<RegistryClient> {
    Arc::new(RegistryClient::new(RegistryConfig::new(registry_url())).unwrap())
}

const USER_V1: &str = r#"{"type":"record","name":"UserEvent","namespace":"polykafka.test","fields":[
  {"name":"user_id","type":"string"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["LOGIN","LOGOUT"]}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"score","type":["null","double"],"default":null}]}"#;

const USER_V2: &str = r#"{"type":"record","name":"UserEvent","namespace":"polykafka.test","fields":[
  {"name":"user_id","type":"string"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["LOGIN","LOGOUT"]}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"score","type":["null","double"],"default":null},
  {"name":"country","type":"string","default":"NZ"}]}"#;

fn event() -> Value {
    Value::Map(vec![
        ("user_id".into(), Value::String("u-1".into())),
        ("kind".into(), Value::String("LOGIN".into())),
        ("at".into(), Value::Timestamp(1_700_000_000_000_000)),
        ("score".into(), Value::Float(2.5)),
    ])
}

#[tokio::test]
async fn register_lookup_and_fetch() {
    let c = client();
    let subject = unique("client");
    let schema = Schema::new(USER_V1, SchemaType::Avro);
    let id = c.register(&subject, &schema, false).await.unwrap();
    assert_eq!(c.register(&subject, &schema, false).await.unwrap(), id);
    let fresh = client();
    let found = fresh.lookup_schema(&subject, &schema, false).await.unwrap();
    assert_eq!((found.id, found.subject.as_str(), found.version), (id, subject.as_str(), 1));
    let fetched = fresh.get_schema(id).await.unwrap();
    assert_eq!(fetched.schema_type, SchemaType::Avro);
    assert!(fetched.schema_str.contains("UserEvent"), "{}", fetched.schema_str);
    let latest = fresh.get_latest_version(&subject).await.unwrap();
    assert_eq!((latest.id, latest.version), (id, 1));
    assert_eq!(fresh.get_versions(&subject).await.unwrap(), vec![1]);
    assert!(fresh.get_subjects().await.unwrap().contains(&subject));
    assert_eq!(fresh.get_version(&subject, 1).await.unwrap().id, id);
    // v2 adds a defaulted field: compatible under BACKWARD
    let v2 = Schema::new(USER_V2, SchemaType::Avro);
    assert!(fresh.test_compatibility(&subject, &v2, None).await.unwrap());
    // the id -> schema cache answers after the subject is gone from the registry
    fresh.delete_subject(&subject, false).await.unwrap();
    fresh.delete_subject(&subject, true).await.unwrap();
    assert_eq!(fresh.get_schema(id).await.unwrap(), fetched);
    let e = fresh.get_latest_version(&subject).await.unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.error_code()), (SchemaErrorKind::Registry, 404, 40401), "{e}");
}

#[tokio::test]
async fn registry_errors_carry_code_and_message() {
    let c = client();
    // unknown id
    let e = c.get_schema(987_654_321).await.unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.error_code()), (SchemaErrorKind::Registry, 404, 40403), "{e}");
    assert!(!e.retriable());
    // an incompatible change: a new field without a default
    let subject = unique("incompatible");
    c.set_compatibility(Some(&subject), "BACKWARD").await.unwrap();
    c.register(&subject, &Schema::new(USER_V1, SchemaType::Avro), false).await.unwrap();
    let bad = USER_V1.replace(r#"{"name":"user_id","type":"string"}"#, r#"{"name":"user_id","type":"string"},{"name":"zip","type":"int"}"#);
    let e = c.register(&subject, &Schema::new(bad, SchemaType::Avro), false).await.unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.error_code()), (SchemaErrorKind::Registry, 409, 409), "{e}");
    assert!(!e.message().is_empty());
    let core: polykafka::Error = e.into();
    assert!(!core.retriable());
    // an invalid schema
    let e = c.register(&unique("invalid"), &Schema::new("{not json", SchemaType::Avro), false).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Registry, "{e}");
    assert!(e.http_status() == 422 || e.http_status() == 400, "{e}");
}

#[tokio::test]
async fn unreachable_registry_is_retriable_and_retried() {
    // a port nothing listens on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let cfg = RegistryConfig::from_properties([("url", url.as_str()), ("max.retries", "2"), ("retries.wait.ms", "20")]).unwrap();
    let c = RegistryClient::new(cfg).unwrap();
    let t0 = Instant::now();
    let e = c.get_schema(1).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Unreachable, "{e}");
    assert!(e.retriable());
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let core: polykafka::Error = e.into();
    assert!(core.retriable());
    assert_eq!(core.kind(), polykafka::ErrorKind::Connection);
    // several URLs: a dead one first, then the registry
    let both = format!("{url},{}", registry_url());
    let cfg = RegistryConfig::from_properties([("url", both.as_str()), ("retries.wait.ms", "10")]).unwrap();
    let c = RegistryClient::new(cfg).unwrap();
    c.get_subjects().await.unwrap();
}

#[tokio::test]
async fn config_errors_name_the_key() {
    let e = RegistryConfig::from_properties([("url", "http://x"), ("bogus.key", "1")]).unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Config);
    assert!(e.message().contains("bogus.key"), "{e}");
    let e = RegistryConfig::from_properties([("basic.auth.user.info", "a:b")]).unwrap_err();
    assert!(e.message().contains("url"), "{e}");
    let e = RegistryConfig::from_properties([("url", "http://x"), ("timeout", "soon")]).unwrap_err();
    assert!(e.message().contains("timeout"), "{e}");
    let e = SerdeConfig::from_properties([("auto.register.schemas", "maybe")], SchemaType::Avro, true).unwrap_err();
    assert!(e.message().contains("auto.register.schemas"), "{e}");
    let e = SerdeConfig::from_properties([("validate", "true")], SchemaType::Avro, true).unwrap_err();
    assert!(e.message().contains("validate"), "{e}");
}

#[tokio::test]
async fn avro_round_trip_and_evolution() {
    let c = client();
    let topic = unique("avro");
    let ser = Serializer::new(c.clone(), SchemaType::Avro, Some(Schema::new(USER_V1, SchemaType::Avro)), SerdeConfig::default()).unwrap();
    let bytes = ser.serialize(&topic, MessageField::Value, &event()).await.unwrap();
    assert_eq!(bytes[0], 0);
    let id = i32::from_be_bytes(bytes[1..5].try_into().unwrap());
    assert_eq!(c.get_latest_version(&format!("{topic}-value")).await.unwrap().id, id);

    // read as written
    let de = Deserializer::new(client(), SchemaType::Avro, None, SerdeConfig::default()).unwrap();
    assert_eq!(de.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap(), event());

    // read with a v2 reader schema: the new field takes its default
    let de2 = Deserializer::new(client(), SchemaType::Avro, Some(Schema::new(USER_V2, SchemaType::Avro)), SerdeConfig::default()).unwrap();
    let v = de2.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap();
    assert_eq!(v.get("country"), Some(&Value::String("NZ".into())));
    assert_eq!(v.get("user_id"), Some(&Value::String("u-1".into())));

    // v2 registers as version 2 (compatible), and use.latest.version reads v1 bytes as v2
    let ser2 = Serializer::new(c.clone(), SchemaType::Avro, Some(Schema::new(USER_V2, SchemaType::Avro)), SerdeConfig::default()).unwrap();
    let b2 = ser2.serialize(&topic, MessageField::Value, &event()).await.unwrap();
    assert_ne!(&b2[1..5], &bytes[1..5]);
    let latest = SerdeConfig { use_latest_version: true, ..SerdeConfig::default() };
    let de3 = Deserializer::new(client(), SchemaType::Avro, None, latest.clone()).unwrap();
    assert_eq!(de3.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap().get("country"), Some(&Value::String("NZ".into())));

    // use.latest.version on the serializer writes with v2's id
    let cfg = SerdeConfig { auto_register_schemas: false, ..latest };
    let ser3 = Serializer::new(client(), SchemaType::Avro, None, cfg).unwrap();
    let b3 = ser3.serialize(&topic, MessageField::Value, &event()).await.unwrap();
    assert_eq!(&b3[1..5], &b2[1..5]);
}

#[tokio::test]
async fn avro_errors() {
    let c = client();
    let topic = unique("avroerr");
    let ser = Serializer::new(c.clone(), SchemaType::Avro, Some(Schema::new(USER_V1, SchemaType::Avro)), SerdeConfig::default()).unwrap();
    // a value that does not match: the error names the field
    let mut bad = event();
    if let Value::Map(m) = &mut bad {
        m[2].1 = Value::String("yesterday".into());
    }
    let e = ser.serialize(&topic, MessageField::Value, &bad).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Serialization);
    assert!(e.message().contains("polykafka.test.UserEvent.at"), "{e}");
    let mut bad = event();
    if let Value::Map(m) = &mut bad {
        m[1].1 = Value::String("JUMP".into());
    }
    let e = ser.serialize(&topic, MessageField::Value, &bad).await.unwrap_err();
    assert!(e.message().contains(".kind") && e.message().contains("JUMP"), "{e}");

    let de = Deserializer::new(c.clone(), SchemaType::Avro, None, SerdeConfig::default()).unwrap();
    // no magic byte
    let e = de.deserialize(&topic, MessageField::Value, b"\x07plain", None).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Serialization, "{e}");
    assert!(e.message().contains("magic byte"), "{e}");
    // an unknown id
    let e = de.deserialize(&topic, MessageField::Value, b"\x00\x3a\xde\x68\xb1\x02", None).await.unwrap_err();
    assert_eq!((e.kind(), e.error_code()), (SchemaErrorKind::Registry, 40403), "{e}");
    // auto.register.schemas=false and a schema never registered: the lookup's 404
    let cfg = SerdeConfig { auto_register_schemas: false, ..SerdeConfig::default() };
    let ser = Serializer::new(c.clone(), SchemaType::Avro, Some(Schema::new(USER_V1, SchemaType::Avro)), cfg).unwrap();
    let e = ser.serialize(&unique("unregistered"), MessageField::Value, &event()).await.unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (SchemaErrorKind::Registry, 404), "{e}");
    // a schema that does not parse fails at construction
    assert!(Serializer::new(c.clone(), SchemaType::Avro, Some(Schema::new("{\"type\":\"nope\"}", SchemaType::Avro)), SerdeConfig::default()).is_err());
}

const ORDER_JSON: &str = r#"{"$schema":"http://json-schema.org/draft-07/schema#","title":"Order","type":"object",
  "properties":{"id":{"type":"integer"},"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"]}}},
  "required":["id"]}"#;

#[tokio::test]
async fn json_schema_round_trip_and_validation() {
    let c = client();
    let topic = unique("json");
    let ser = Serializer::new(c.clone(), SchemaType::Json, Some(Schema::new(ORDER_JSON, SchemaType::Json)), SerdeConfig::default()).unwrap();
    let order = Value::Map(vec![
        ("id".into(), Value::Int(7)),
        ("items".into(), Value::Array(vec![Value::Map(vec![("sku".into(), Value::String("a".into()))])])),
    ]);
    let bytes = ser.serialize(&topic, MessageField::Value, &order).await.unwrap();
    assert_eq!(bytes[0], 0);
    let de = Deserializer::new(client(), SchemaType::Json, None, SerdeConfig::default()).unwrap();
    assert_eq!(de.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap(), order);
    let bad = Value::Map(vec![
        ("id".into(), Value::Int(7)),
        ("items".into(), Value::Array(vec![Value::Map(vec![("sku".into(), Value::Int(3))])])),
    ]);
    let e = ser.serialize(&topic, MessageField::Value, &bad).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Serialization);
    assert!(e.message().contains("/items/0/sku"), "{e}");
    // an Avro deserializer refuses JSON-schema bytes with a clear error
    let avro = Deserializer::new(client(), SchemaType::Avro, None, SerdeConfig::default()).unwrap();
    let e = avro.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap_err();
    assert!(e.message().contains("JSON"), "{e}");
}

#[tokio::test]
async fn concurrent_misses_share_one_answer() {
    let c = client();
    let subject = unique("coalesce");
    let id = c.register(&subject, &Schema::new(USER_V1, SchemaType::Avro), false).await.unwrap();
    let fresh = client();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let f = fresh.clone();
        tasks.push(tokio::spawn(async move { f.get_schema(id).await }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap().schema_str.contains("UserEvent"));
    }
}

/// A scripted HTTP server on 127.0.0.1 (in addition to the real registry, to see what the
/// client sends and to inject 5xx answers and silence). Answers with `answers` in turn (the last
/// one repeats; a status 0 never answers) and records each request's head.
async fn fake_registry(answers: Vec<(u16, &'static str)>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (status, body) = answers[n.min(answers.len() - 1)];
            n += 1;
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    }
                }
                log.lock().unwrap().push(String::from_utf8_lossy(&buf).to_lowercase());
                if status == 0 {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

const STRING_SCHEMA: &str = r#"{"schema":"\"string\""}"#;

#[tokio::test]
async fn basic_auth_and_bearer_token_are_sent() {
    let (url, seen) = fake_registry(vec![(200, STRING_SCHEMA)]).await;
    let cfg = RegistryConfig::from_properties([("url", url.as_str()), ("basic.auth.credentials.source", "USER_INFO"), ("basic.auth.user.info", "user:pw")]).unwrap();
    RegistryClient::new(cfg).unwrap().get_schema(1).await.unwrap();
    assert!(seen.lock().unwrap()[0].contains("authorization: basic dxnlcjpwdw=="), "{:?}", seen.lock().unwrap());
    let (url, seen) = fake_registry(vec![(200, STRING_SCHEMA)]).await;
    let cfg = RegistryConfig::from_properties([
        ("url", url.as_str()),
        ("bearer.auth.credentials.source", "STATIC_TOKEN"),
        ("bearer.auth.token", "tok-1"),
    ])
    .unwrap();
    let schema = RegistryClient::new(cfg).unwrap().get_schema(1).await.unwrap();
    assert_eq!(schema.schema_str, "\"string\"");
    let head = seen.lock().unwrap()[0].clone();
    assert!(head.starts_with("get /schemas/ids/1 "), "{head}");
    assert!(head.contains("authorization: bearer tok-1"), "{head}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (url, seen) = fake_registry(vec![(503, "{}"), (500, r#"{"error_code":50001,"message":"busy"}"#), (200, STRING_SCHEMA)]).await;
    let cfg = RegistryConfig::from_properties([("url", url.as_str()), ("max.retries", "3"), ("retries.wait.ms", "10")]).unwrap();
    RegistryClient::new(cfg).unwrap().get_schema(1).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (url, seen) = fake_registry(vec![(503, r#"{"error_code":50003,"message":"down"}"#)]).await;
    let cfg = RegistryConfig::from_properties([("url", url.as_str()), ("max.retries", "1"), ("retries.wait.ms", "10")]).unwrap();
    let e = RegistryClient::new(cfg).unwrap().get_schema(1).await.unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.error_code(), e.message()), (SchemaErrorKind::Registry, 503, 50003, "down"));
    assert!(e.retriable());
    assert_eq!(seen.lock().unwrap().len(), 2);

    // a 4xx is the answer: no retry
    let (url, seen) = fake_registry(vec![(404, r#"{"error_code":40403,"message":"Schema 1 not found"}"#)]).await;
    let cfg = RegistryConfig::from_properties([("url", url.as_str()), ("max.retries", "3"), ("retries.wait.ms", "10")]).unwrap();
    let e = RegistryClient::new(cfg).unwrap().get_schema(1).await.unwrap_err();
    assert_eq!((e.http_status(), e.error_code()), (404, 40403));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_silent_registry_times_out() {
    let (url, _seen) = fake_registry(vec![(0, "")]).await;
    let cfg = RegistryConfig::from_properties([("url", url.as_str()), ("timeout", "0.3"), ("max.retries", "1"), ("retries.wait.ms", "10")]).unwrap();
    let t0 = Instant::now();
    let e = RegistryClient::new(cfg).unwrap().get_schema(1).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Unreachable, "{e}");
    assert!(e.retriable() && e.message().contains("timed out"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn avro_schema_references() {
    let c = client();
    let address_subject = unique("address");
    let address = r#"{"type":"record","name":"Address","namespace":"polykafka.test","fields":[{"name":"city","type":"string"}]}"#;
    c.register(&address_subject, &Schema::new(address, SchemaType::Avro), false).await.unwrap();
    let person = Schema {
        schema_str: r#"{"type":"record","name":"Person","namespace":"polykafka.test","fields":[
            {"name":"name","type":"string"},{"name":"home","type":"polykafka.test.Address"}]}"#
            .into(),
        schema_type: SchemaType::Avro,
        references: vec![polykafka::schema::SchemaReference { name: "polykafka.test.Address".into(), subject: address_subject, version: 1 }],
    };
    let topic = unique("refs");
    let ser = Serializer::new(c.clone(), SchemaType::Avro, Some(person), SerdeConfig::default()).unwrap();
    let value = Value::Map(vec![
        ("name".into(), Value::String("ann".into())),
        ("home".into(), Value::Map(vec![("city".into(), Value::String("Wellington".into()))])),
    ]);
    let bytes = ser.serialize(&topic, MessageField::Value, &value).await.unwrap();
    assert_eq!(&bytes[5..], b"\x06ann\x14Wellington");
    let registered = c.get_latest_version(&format!("{topic}-value")).await.unwrap();
    assert_eq!(registered.schema.references.len(), 1);
    let de = Deserializer::new(client(), SchemaType::Avro, None, SerdeConfig::default()).unwrap();
    assert_eq!(de.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap(), value);
}

const ORDER_PROTO: &str = r#"syntax = "proto3";
package polykafka.test;
import "common/money.proto";
import "google/protobuf/timestamp.proto";

message Order {
  enum Status { NEW = 0; PAID = 1; }
  message Line { string sku = 1; uint32 qty = 2; }
  string id = 1;
  Status status = 2;
  repeated Line lines = 3;
  map<string, int64> tags = 4;
  common.Money total = 5;
  google.protobuf.Timestamp at = 6;
  oneof payment { string card = 7; string voucher = 8; }
}
message Refund { string order_id = 1; sint64 cents = 2; }
"#;

const MONEY_PROTO: &str = "syntax = \"proto3\";\npackage common;\nmessage Money { string currency = 1; int64 units = 2; }\n";

fn proto_order() -> Value {
    Value::Map(vec![
        ("id".into(), Value::String("o-1".into())),
        ("status".into(), Value::String("PAID".into())),
        ("lines".into(), Value::Array(vec![Value::Map(vec![("sku".into(), Value::String("a".into())), ("qty".into(), Value::Int(3))])])),
        ("tags".into(), Value::Map(vec![("big".into(), Value::Int(i64::MAX))])),
        ("total".into(), Value::Map(vec![("currency".into(), Value::String("EUR".into())), ("units".into(), Value::Int(-7))])),
        ("at".into(), Value::Map(vec![("seconds".into(), Value::Int(1_700_000_000)), ("nanos".into(), Value::Int(5))])),
        ("voucher".into(), Value::String("V1".into())),
    ])
}

async fn register_proto_with_money(c: &RegistryClient) -> Schema {
    let money_subject = unique("money");
    c.register(&money_subject, &Schema::new(MONEY_PROTO, SchemaType::Protobuf), false).await.unwrap();
    Schema {
        schema_str: ORDER_PROTO.into(),
        schema_type: SchemaType::Protobuf,
        references: vec![polykafka::schema::SchemaReference { name: "common/money.proto".into(), subject: money_subject, version: 1 }],
    }
}

/// Dynamic Protobuf: a `.proto` with an import registered as a reference, values encoded as
/// its first message and as a named one, read back by a deserializer that only has the bytes.
#[tokio::test]
async fn protobuf_dynamic_messages_with_references() {
    let c = client();
    let order = register_proto_with_money(&c).await;
    let topic = unique("proto");
    let ser = Serializer::new(c.clone(), SchemaType::Protobuf, Some(order), SerdeConfig::default()).unwrap();
    let bytes = ser.serialize(&topic, MessageField::Value, &proto_order()).await.unwrap();
    assert_eq!(bytes[0], 0);
    assert_eq!(bytes[5], 0, "the first message's index path is the single byte 0");
    let registered = c.get_latest_version(&format!("{topic}-value")).await.unwrap();
    assert_eq!(&bytes[1..5], &registered.id.to_be_bytes());
    assert_eq!(registered.schema.schema_type, SchemaType::Protobuf);
    assert_eq!(registered.schema.references.len(), 1);

    let de = Deserializer::new(client(), SchemaType::Protobuf, None, SerdeConfig::default()).unwrap();
    let back = de.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap();
    for (k, v) in match proto_order() {
        Value::Map(m) => m,
        _ => unreachable!(),
    } {
        assert_eq!(back.get(&k), Some(&v), "field {k}");
    }
    assert_eq!(back.get("card"), None);

    // a named message: index path [1] after the id
    let refund = Value::Map(vec![("order_id".into(), Value::String("o-1".into())), ("cents".into(), Value::Int(-250))]);
    let rb = ser.serialize_message(&topic, MessageField::Value, polykafka::schema::MessageRef::Name("Refund"), &refund).await.unwrap();
    assert_eq!(&rb[5..7], &[0x02, 0x02]);
    assert_eq!(de.deserialize(&topic, MessageField::Value, &rb, None).await.unwrap(), refund);
    // and by index path, nested: Order.Line is [0, 0]
    let line = Value::Map(vec![("sku".into(), Value::String("z".into())), ("qty".into(), Value::Int(1))]);
    let lb = ser.serialize_message(&topic, MessageField::Value, polykafka::schema::MessageRef::Indexes(&[0, 0]), &line).await.unwrap();
    assert_eq!(&lb[5..8], &[0x04, 0x00, 0x00]);
    assert_eq!(de.deserialize(&topic, MessageField::Value, &lb, None).await.unwrap(), line);
    // the framing a binding decodes itself names the message by its full name
    for (b, name) in [(&bytes, "polykafka.test.Order"), (&rb, "polykafka.test.Refund"), (&lb, "polykafka.test.Order.Line")] {
        let (id, _, indexes, _) = de.deserialize_encoded(b, None).await.unwrap();
        assert_eq!(de.message_name(&id, &indexes).await.unwrap(), name);
    }
}

#[tokio::test]
async fn protobuf_errors() {
    let c = client();
    let order = register_proto_with_money(&c).await;
    let topic = unique("proto-err");
    let ser = Serializer::new(c.clone(), SchemaType::Protobuf, Some(order.clone()), SerdeConfig::default()).unwrap();
    // a wrong value names the field path; nothing registered for it
    let bad = Value::Map(vec![("lines".into(), Value::Array(vec![Value::Map(vec![("qty".into(), Value::String("many".into()))])]))]);
    let e = ser.serialize(&topic, MessageField::Value, &bad).await.unwrap_err();
    assert_eq!(e.kind(), SchemaErrorKind::Serialization);
    assert!(e.to_string().contains("Order.lines[0].qty"), "{e}");
    let e = ser
        .serialize_message(&topic, MessageField::Value, polykafka::schema::MessageRef::Name("Nope"), &proto_order())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no message 'Nope'"), "{e}");
    // an import that is not among the references
    let no_refs = Schema::new(ORDER_PROTO, SchemaType::Protobuf);
    let e = Serializer::new(c.clone(), SchemaType::Protobuf, Some(no_refs), SerdeConfig::default()).err().unwrap();
    assert!(e.to_string().contains("common/money.proto"), "{e}");
    // bytes: an index path the schema does not have, a payload that is not the message
    let good = ser.serialize(&topic, MessageField::Value, &proto_order()).await.unwrap();
    let de = Deserializer::new(client(), SchemaType::Protobuf, None, SerdeConfig::default()).unwrap();
    let mut wrong_index = good[..5].to_vec();
    wrong_index.extend_from_slice(&[0x02, 0x08]);
    wrong_index.extend_from_slice(&good[6..]);
    let e = de.deserialize(&topic, MessageField::Value, &wrong_index, None).await.unwrap_err();
    assert!(e.to_string().contains("index path [4]"), "{e}");
    let (id, _, indexes, _) = de.deserialize_encoded(&wrong_index, None).await.unwrap();
    let e = de.message_name(&id, &indexes).await.unwrap_err();
    assert!(e.to_string().contains("index path [4]"), "{e}");
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 3);
    let e = de.deserialize(&topic, MessageField::Value, &truncated, None).await.unwrap_err();
    assert!(e.to_string().contains("not a valid polykafka.test.Order"), "{e}");
    // an Avro record is not read as Protobuf
    let avro = Serializer::new(c.clone(), SchemaType::Avro, Some(Schema::new(USER_V1, SchemaType::Avro)), SerdeConfig::default()).unwrap();
    let ab = avro.serialize(&unique("proto-avro"), MessageField::Value, &event()).await.unwrap();
    let e = de.deserialize(&topic, MessageField::Value, &ab, None).await.unwrap_err();
    assert!(e.to_string().contains("is AVRO"), "{e}");
}

/// JSON Schema `$ref`s to other registered subjects, resolved through the references; the
/// draft the schema names decides (draft 7 ignores `$ref` siblings, 2020-12 applies them).
#[tokio::test]
async fn json_schema_references_and_drafts() {
    let c = client();
    let address_subject = unique("address-json");
    let address = r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#;
    c.register(&address_subject, &Schema::new(address, SchemaType::Json), false).await.unwrap();
    let person = |draft: &str| Schema {
        schema_str: format!(
            r#"{{"$schema":"{draft}","title":"Person","type":"object","properties":{{"name":{{"type":"string"}},"home":{{"$ref":"address.json","description":"x","maxProperties":1}}}},"required":["name"]}}"#
        ),
        schema_type: SchemaType::Json,
        references: vec![polykafka::schema::SchemaReference { name: "address.json".into(), subject: address_subject.clone(), version: 1 }],
    };
    let ok = Value::Map(vec![
        ("name".into(), Value::String("ann".into())),
        ("home".into(), Value::Map(vec![("city".into(), Value::String("Oslo".into()))])),
    ]);
    let two_props = Value::Map(vec![
        ("name".into(), Value::String("ann".into())),
        ("home".into(), Value::Map(vec![("city".into(), Value::String("Oslo".into())), ("zip".into(), Value::String("1".into()))])),
    ]);
    for (draft, two_props_ok) in [("http://json-schema.org/draft-07/schema#", true), ("https://json-schema.org/draft/2020-12/schema", false)] {
        let topic = unique("json-refs");
        let ser = Serializer::new(c.clone(), SchemaType::Json, Some(person(draft)), SerdeConfig::default()).unwrap();
        let bytes = ser.serialize(&topic, MessageField::Value, &ok).await.unwrap();
        let registered = c.get_latest_version(&format!("{topic}-value")).await.unwrap();
        assert_eq!(registered.schema.references.len(), 1);
        let de = Deserializer::new(client(), SchemaType::Json, None, SerdeConfig::default()).unwrap();
        let back = de.deserialize(&topic, MessageField::Value, &bytes, None).await.unwrap();
        assert_eq!(back.to_json().unwrap(), ok.to_json().unwrap());
        // the referenced schema is applied: city must be a string
        let bad = Value::Map(vec![("name".into(), Value::String("ann".into())), ("home".into(), Value::Map(vec![("city".into(), Value::Int(1))]))]);
        let e = ser.serialize(&topic, MessageField::Value, &bad).await.unwrap_err();
        assert!(e.to_string().contains("/home/city"), "{draft}: {e}");
        assert_eq!(ser.serialize(&topic, MessageField::Value, &two_props).await.is_ok(), two_props_ok, "{draft}");
    }
}
