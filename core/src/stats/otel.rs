//! OpenTelemetry: the instruments every binding registers with its language's OpenTelemetry API,
//! and the metric points they report, read from statistics snapshots at collection time (the
//! counters and the lag are observable instruments: nothing is recorded per record).
//!
//! Names, units and attributes follow OpenTelemetry's semantic conventions for messaging
//! (`messaging.client.sent.messages`, `messaging.client.consumed.messages`,
//! `messaging.client.operation.duration`, `messaging.process.duration`); the lag has no
//! convention yet and is `messaging.kafka.consumer.lag`. A binding asks [`instruments`] once,
//! creates each one, and in its observable callbacks forwards [`points`] of the snapshots of its
//! live clients; the two histograms it records itself, at its own per-call points (a send, a
//! handler call), with the attributes `messaging.system`, `messaging.operation.name`,
//! `messaging.destination.name` and, on failure, `error.type`.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const SENT_MESSAGES: &str = "messaging.client.sent.messages";
pub const CONSUMED_MESSAGES: &str = "messaging.client.consumed.messages";
pub const OPERATION_DURATION: &str = "messaging.client.operation.duration";
pub const PROCESS_DURATION: &str = "messaging.process.duration";
pub const CONSUMER_LAG: &str = "messaging.kafka.consumer.lag";

/// The histograms' bucket boundaries in seconds, as the semantic conventions advise.
pub const DURATION_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/// How a binding creates an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Observable (asynchronous) monotonic counter, reported by [`points`].
    Counter,
    /// Observable gauge, reported by [`points`].
    Gauge,
    /// Histogram the binding records into.
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

pub struct Instrument {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
}

pub const INSTRUMENTS: [Instrument; 5] = [
    Instrument { name: SENT_MESSAGES, kind: Kind::Counter, unit: "{message}", description: "Number of messages producer attempted to send to the broker." },
    Instrument { name: CONSUMED_MESSAGES, kind: Kind::Counter, unit: "{message}", description: "Number of messages that were delivered to the application." },
    Instrument { name: CONSUMER_LAG, kind: Kind::Gauge, unit: "{message}", description: "Records between the committed offset and the end of the partition." },
    Instrument { name: OPERATION_DURATION, kind: Kind::Histogram, unit: "s", description: "Duration of messaging operation initiated by a producer or consumer client." },
    Instrument { name: PROCESS_DURATION, kind: Kind::Histogram, unit: "s", description: "Duration of processing operation." },
];

/// The instruments as JSON (for the bindings): `[{name, kind, unit, description, buckets?}]`.
pub fn instruments() -> Value {
    INSTRUMENTS
        .iter()
        .map(|i| {
            let mut v = json!({ "name": i.name, "kind": i.kind.as_str(), "unit": i.unit, "description": i.description });
            if i.kind == Kind::Histogram {
                v["buckets"] = json!(DURATION_BUCKETS);
            }
            v
        })
        .collect()
}

/// One metric point: an instrument's value for one set of attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: &'static str,
    pub attributes: BTreeMap<&'static str, String>,
    pub value: i64,
}

fn base(topic: &str, partition: &str, operation: &str, client_id: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("messaging.system", "kafka".to_string()),
        ("messaging.destination.name", topic.to_string()),
        ("messaging.destination.partition.id", partition.to_string()),
        ("messaging.operation.name", operation.to_string()),
        ("messaging.client.id", client_id.to_string()),
    ])
}

/// The points of the observable instruments over the statistics snapshots of a binding's live
/// clients (librdkafka's layout, [`super::Stats::snapshot`]). Points with the same instrument
/// and attributes (two clients with one `client.id` on one partition) are added together.
/// Producers: `messaging.client.sent.messages` per partition (delivered; failed ones under
/// their `error.type`). Consumers: `messaging.client.consumed.messages` per partition and the
/// lag of each assigned partition whose lag is known.
pub fn points(snapshots: &[Value]) -> Vec<Point> {
    let mut out: BTreeMap<(&'static str, BTreeMap<&'static str, String>), i64> = BTreeMap::new();
    let mut add = |name: &'static str, attributes: BTreeMap<&'static str, String>, value: i64| {
        *out.entry((name, attributes)).or_default() += value;
    };
    for s in snapshots {
        let client_id = s["client_id"].as_str().unwrap_or_default();
        let producer = s["type"] == "producer";
        let empty = Map::new();
        for (topic, t) in s["topics"].as_object().unwrap_or(&empty) {
            for (partition, p) in t["partitions"].as_object().unwrap_or(&empty) {
                let n = |k: &str| p[k].as_i64().unwrap_or(0);
                if producer {
                    add(SENT_MESSAGES, base(topic, partition, "send", client_id), n("txmsgs"));
                    for (error, count) in p["txerrs_by_type"].as_object().unwrap_or(&empty) {
                        let mut a = base(topic, partition, "send", client_id);
                        a.insert("error.type", error.clone());
                        add(SENT_MESSAGES, a, count.as_i64().unwrap_or(0));
                    }
                } else {
                    add(CONSUMED_MESSAGES, base(topic, partition, "poll", client_id), n("rxmsgs"));
                    if p["consumer_lag"].as_i64().is_some_and(|l| l >= 0) {
                        let mut a = base(topic, partition, "poll", client_id);
                        a.remove("messaging.operation.name");
                        add(CONSUMER_LAG, a, n("consumer_lag"));
                    }
                }
            }
        }
    }
    out.into_iter().map(|((name, attributes), value)| Point { name, attributes, value }).collect()
}

/// [`points`] over snapshots given as JSON texts (what the bindings hold), as JSON:
/// `[{name, attributes: {...}, value}]`. A text that does not parse is skipped.
pub fn points_json<S: AsRef<str>>(snapshots: &[S]) -> String {
    let parsed: Vec<Value> = snapshots.iter().filter_map(|t| serde_json::from_str(t.as_ref()).ok()).collect();
    let points: Vec<Value> = points(&parsed).into_iter().map(|p| json!({ "name": p.name, "attributes": p.attributes, "value": p.value })).collect();
    Value::Array(points).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{ClientPart, Stats};
    use std::time::Duration;

    #[test]
    fn producer_and_consumer_snapshots_map_to_messaging_points() {
        let p = Stats::new("app", Duration::ZERO);
        p.produced("orders", 0, 3, 30, None);
        p.produced("orders", 1, 2, 20, None);
        p.produced("orders", 1, 4, 40, Some("_TIMEOUT"));
        let p2 = Stats::new("app", Duration::ZERO);
        p2.produced("orders", 0, 5, 50, None);
        let c = Stats::new("reader", Duration::ZERO);
        c.fetched("orders", 0, 7, 70);
        let lag = serde_json::json!({ "consumer_lag": 9 }).as_object().unwrap().clone();
        let unknown = serde_json::json!({ "consumer_lag": -1 }).as_object().unwrap().clone();
        let part = ClientPart { partitions: vec![("orders".into(), 0, lag), ("orders".into(), 1, unknown)], ..Default::default() };
        let snaps = [
            p.snapshot("producer", "app#producer", ClientPart::default()),
            p2.snapshot("producer", "app#producer", ClientPart::default()),
            c.snapshot("consumer", "reader#consumer", part),
        ];
        let pts = points(&snaps);
        let find = |name: &str, partition: &str, error: Option<&str>| {
            pts.iter()
                .filter(|x| x.name == name && x.attributes["messaging.destination.partition.id"] == partition)
                .find(|x| x.attributes.get("error.type").map(String::as_str) == error)
                .map(|x| x.value)
        };
        assert_eq!(find(SENT_MESSAGES, "0", None), Some(8), "two clients with one client.id add up");
        assert_eq!(find(SENT_MESSAGES, "1", None), Some(2));
        assert_eq!(find(SENT_MESSAGES, "1", Some("_TIMEOUT")), Some(4));
        assert_eq!(find(CONSUMED_MESSAGES, "0", None), Some(7));
        assert_eq!(find(CONSUMED_MESSAGES, "1", None), Some(0), "an assigned partition with nothing fetched yet");
        assert_eq!(find(CONSUMER_LAG, "0", None), Some(9));
        assert_eq!(find(CONSUMER_LAG, "1", None), None, "unknown lag is not a point");
        let sent = pts.iter().find(|x| x.name == SENT_MESSAGES).unwrap();
        assert_eq!(sent.attributes["messaging.system"], "kafka");
        assert_eq!(sent.attributes["messaging.destination.name"], "orders");
        assert_eq!(sent.attributes["messaging.operation.name"], "send");
        assert_eq!(sent.attributes["messaging.client.id"], "app");
        let text = points_json(&[snaps[2].to_string(), "not json".to_string()]);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back.as_array().unwrap().len(), 3);
        assert_eq!(instruments().as_array().unwrap().len(), 5);
        assert_eq!(instruments()[3]["buckets"][0], 0.005);
    }
}
