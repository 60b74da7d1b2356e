//! `dlq replay`: writes a dead-letter topic's records back to their original topics (the core's
//! `dlq::replay`).

use polykafka::producer::Producer;
use serde_json::json;

use crate::args::{Connection, DlqCommand, OutputFormat};
use crate::output::{self, Failure};
use crate::settings::Settings;

pub async fn run(conn: &Connection, cmd: DlqCommand) -> Result<(), Failure> {
    let DlqCommand::Replay { topic, to, out } = cmd;
    let settings = Settings::load(conn)?;
    let producer = Producer::new(settings.producer(&[], "dlq replay")?).map_err(Failure::Config)?;
    let at = output::at(settings.bootstrap()?);
    let report = polykafka::dlq::replay(&producer, &topic, to.as_deref())
        .await
        .map_err(Failure::kafka(format!("replaying '{topic}' {at}")))?;
    producer.close(std::time::Duration::from_secs(30)).await.map_err(Failure::kafka(format!("flushing the replay {at}")))?;
    match out.output {
        OutputFormat::Json => output::print_json(&json!({
            "topic": topic,
            "written": report.written,
            "total": report.total(),
        })),
        _ => {
            let rows = report.written.iter().map(|(t, n)| vec![t.clone(), n.to_string()]).collect();
            output::print_table(&["DESTINATION", "RECORDS"], rows, &[1])?;
            output::write_stdout(&format!("replayed {} records of {topic}\n", report.total()))
        }
    }
}
