//! `cluster`: id, controller, brokers, and each API's versions (the brokers' and the one the
//! engine picks: the highest both sides support).

use kafka_protocol::messages::ApiKey;
use serde_json::json;

use crate::args::{ClusterArgs, Connection, OutputFormat};
use crate::output::{self, Failure};
use crate::topics::admin;

pub async fn run(conn: &Connection, a: ClusterArgs) -> Result<(), Failure> {
    let (admin, at) = admin(conn, "cluster")?;
    // The brokers' connections need them in the metadata cache.
    admin.connect().await.map_err(Failure::kafka(format!("connecting {at}")))?;
    let d = admin.describe_cluster().await.map_err(Failure::kafka(format!("describing the cluster {at}")))?;
    // Per broker: (key, min, max) it offers.
    let mut offered = Vec::new();
    for b in &d.brokers {
        let c = admin
            .cluster()
            .connection(b.node_id)
            .await
            .map_err(Failure::kafka(format!("connecting to broker {} ({}:{})", b.node_id, b.host, b.port)))?;
        offered.push(c.versions().offered());
    }
    admin.close().await;
    let api_name = |k: i16| ApiKey::try_from(k).map(|a| format!("{a:?}")).unwrap_or_else(|_| format!("api {k}"));
    let client_range = |k: i16| ApiKey::try_from(k).ok().map(|a| a.valid_versions());
    // The version picked against every broker: min over brokers of the highest common one.
    let mut apis: Vec<(i16, String, Option<i16>)> = Vec::new();
    if let Some(first) = offered.first() {
        for &(key, _, _) in first {
            let picked = client_range(key).and_then(|r| {
                offered
                    .iter()
                    .map(|b| b.iter().find(|o| o.0 == key).and_then(|&(_, lo, hi)| (hi.min(r.max) >= lo.max(r.min)).then_some(hi.min(r.max))))
                    .try_fold(i16::MAX, |acc, v| v.map(|v| acc.min(v)))
            });
            apis.push((key, api_name(key), picked));
        }
    }
    match a.out.output {
        OutputFormat::Json => {
            let brokers: Vec<_> = d
                .brokers
                .iter()
                .zip(&offered)
                .map(|(b, o)| json!({"id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack,
                    "apis": o.iter().map(|&(k, lo, hi)| json!({"key": k, "name": api_name(k), "min": lo, "max": hi})).collect::<Vec<_>>()}))
                .collect();
            let picked: Vec<_> = apis.iter().map(|(k, n, p)| json!({"key": k, "name": n, "version": p})).collect();
            output::print_json(&json!({"cluster_id": d.cluster_id, "controller": d.controller_id, "brokers": brokers, "picked": picked}))
        }
        OutputFormat::Table => {
            output::write_stdout(&format!(
                "cluster id: {}\ncontroller: {}\n\n",
                d.cluster_id.as_deref().unwrap_or("-"),
                if d.controller_id < 0 { "-".to_string() } else { d.controller_id.to_string() }
            ))?;
            output::print_table(
                &["BROKER", "HOST", "PORT", "RACK", "APIS"],
                d.brokers
                    .iter()
                    .zip(&offered)
                    .map(|(b, o)| vec![b.node_id.to_string(), b.host.clone(), b.port.to_string(), b.rack.clone().unwrap_or("-".into()), o.len().to_string()])
                    .collect(),
                &[0, 2, 4],
            )?;
            if a.api_versions {
                output::write_stdout("\n")?;
                let mut header = vec!["API".to_string(), "KEY".to_string()];
                header.extend(d.brokers.iter().map(|b| format!("BROKER {}", b.node_id)));
                header.push("POLYKAFKA".into());
                header.push("PICKED".into());
                let rows = apis
                    .iter()
                    .map(|(k, n, p)| {
                        let mut r = vec![n.clone(), k.to_string()];
                        for o in &offered {
                            r.push(o.iter().find(|x| x.0 == *k).map_or("-".into(), |&(_, lo, hi)| format!("{lo}-{hi}")));
                        }
                        r.push(client_range(*k).map_or("-".into(), |v| format!("{}-{}", v.min, v.max)));
                        r.push(p.map_or("-".into(), |v| v.to_string()));
                        r
                    })
                    .collect();
                let h: Vec<&str> = header.iter().map(String::as_str).collect();
                output::print_table(&h, rows, &[1])?;
            }
            Ok(())
        }
    }
}
