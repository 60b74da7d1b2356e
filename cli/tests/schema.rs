//! `consume` decoding through the schema registry: Avro and JSON Schema values written by the
//! core's serializers (Confluent framing: magic byte + schema id), read with --value-format and
//! by auto-detection; bytes that are not registry framing are an error naming the record.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use polykafka::producer::Producer;
use polykafka::schema::wire::MessageField;
use polykafka::schema::{RegistryClient, RegistryConfig, Schema, SchemaType, SerdeConfig, Serializer, Value};
use polykafka::{ProducerConfig, ProducerRecord};

/// `SCHEMA_REGISTRY_URL` (tests/run exports it), else the registry of `tests/cluster/registry up`.
fn registry_url() -> String {
    if let Ok(u) = std::env::var("SCHEMA_REGISTRY_URL") {
        if !u.is_empty() {
            return u;
        }
    }
    let env = root().join("build/cluster/registry.env");
    std::fs::read_to_string(&env)
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("SCHEMA_REGISTRY_URL=")).map(|u| u.trim().trim_matches('"').to_string()))
        .expect("no schema registry: set SCHEMA_REGISTRY_URL or run `tests/cluster/registry up`")
}

const AVRO: &str = r#"{"type":"record","name":"Order","namespace":"cli.test","fields":[
  {"name":"id","type":"long"},{"name":"item","type":"string"},{"name":"qty","type":"int"},
  {"name":"note","type":["null","string"],"default":null}]}"#;
const JSON_SCHEMA: &str = r#"{"type":"object","properties":{"city":{"type":"string"},"temp":{"type":"number"}},"required":["city"]}"#;

fn write(topic: &str, values: Vec<(Option<&[u8]>, Vec<u8>)>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let p = Producer::new(ProducerConfig::from_properties([("bootstrap.servers", bootstrap())]).unwrap()).unwrap();
        for (k, v) in values {
            let mut r = ProducerRecord::new(topic).value(v);
            r.key = k.map(|k| k.to_vec().into());
            p.send(r).await.unwrap().await.unwrap();
        }
        p.close(Duration::from_secs(10)).await.unwrap();
    });
}

fn encode(format: SchemaType, schema: &str, topic: &str, values: &[serde_json::Value]) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = Arc::new(RegistryClient::new(RegistryConfig::new(registry_url())).unwrap());
        let s = Serializer::new(client, format, Some(Schema::new(schema, format)), SerdeConfig::default()).unwrap();
        let mut out = Vec::new();
        for v in values {
            out.push(s.serialize(topic, MessageField::Value, &Value::from_json(v)).await.unwrap());
        }
        out
    })
}

#[test]
fn consume_decodes_avro_and_json_schema_values_through_the_registry() {
    let url = registry_url();
    let t = unique("avro");
    create_topic(&t, 1);
    let orders = vec![
        serde_json::json!({"id": 1, "item": "book", "qty": 2, "note": null}),
        serde_json::json!({"id": 2, "item": "pen", "qty": 10, "note": "blue"}),
    ];
    let framed = encode(SchemaType::Avro, AVRO, &t, &orders);
    write(&t, framed.into_iter().map(|v| (Some(&b"k"[..]), v)).collect());

    // Named format, JSON lines: the values as JSON objects.
    let r = run(&["consume", &t, "-e", "-J", "--value-format", "avro", "--registry", &url]).ok();
    let got: Vec<serde_json::Value> = r.out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), 2, "{r:?}");
    assert_eq!(got[0]["value"]["item"], "book");
    assert_eq!(got[0]["value"]["qty"], 2);
    assert_eq!(got[1]["value"]["note"], serde_json::json!("blue"));
    assert_eq!(got[1]["value_encoding"], "decoded");
    assert_eq!(got[1]["key"], "k");

    // Auto (the default) with the registry from the environment, in a format string.
    let mut c = cmd(&["consume", &t, "-e", "-f", "%k %s\\n"]);
    c.env("SCHEMA_REGISTRY_URL", &url);
    let r = run_cmd(c, None).ok();
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 2, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(lines[1].strip_prefix("k ").unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"id": 2, "item": "pen", "qty": 10, "note": "blue"}));

    // Without a registry, auto shows the bytes; a named format needs one (usage error).
    let r = run(&["consume", &t, "-e", "-J"]).ok();
    assert!(r.out.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["value_encoding"] == "base64"), "{r:?}");
    let r = run(&["consume", &t, "-e", "--value-format", "avro"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("registry"), "{r:?}");

    // A plain-text record among them: auto shows it as text, avro fails naming it.
    write(&t, vec![(None, b"not avro".to_vec())]);
    let mut c = cmd(&["consume", &t, "-e", "-o", "-1"]);
    c.env("SCHEMA_REGISTRY_URL", &url);
    assert_eq!(run_cmd(c, None).ok().out, "not avro\n");
    let r = run(&["consume", &t, "-e", "--value-format", "avro", "--registry", &url]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains(&format!("value of {t}-0@2")), "{r:?}");

    // JSON Schema, auto-detected.
    let j = unique("jsonschema");
    create_topic(&j, 1);
    let framed = encode(SchemaType::Json, JSON_SCHEMA, &j, &[serde_json::json!({"city": "Oslo", "temp": -3.5})]);
    write(&j, framed.into_iter().map(|v| (None, v)).collect());
    let r = run(&["consume", &j, "-e", "-J", "--registry", &url]).ok();
    let v: serde_json::Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(v["value"], serde_json::json!({"city": "Oslo", "temp": -3.5}));
}
