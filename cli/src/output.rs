//! What the user sees: failures with their exit codes, tables (aligned, bold headers on a
//! terminal) and JSON.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or settings: exit 2.
    Usage(String),
    /// A setting the core refused: exit 2.
    Config(polykafka::Error),
    /// A Kafka or network error, with what was being done: exit 1.
    Kafka(String, polykafka::Error),
    /// Anything else at run time (I/O, decoding): exit 1.
    Io(String),
}

impl Failure {
    /// A core error while doing `what` ("describing topic 'x' at 127.0.0.1:9092").
    pub fn kafka(what: impl Into<String>) -> impl FnOnce(polykafka::Error) -> Failure {
        let what = what.into();
        move |e| Failure::Kafka(what, e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Io(m) => write!(f, "{m}"),
            Failure::Config(e) => write!(f, "bad setting: {}", e.message()),
            Failure::Kafka(what, e) => {
                let message = e.message();
                if message.contains(what.as_str()) {
                    write!(f, "{}: {message}", e.name())
                } else {
                    write!(f, "{what}: {} ({message})", e.name())
                }
            }
        }
    }
}

/// Prints the failure on stderr and gives its exit code.
pub fn report(f: Failure) -> ExitCode {
    let err = std::io::stderr();
    let prefix = if err.is_terminal() && colour_allowed() { "\x1b[1;31merror\x1b[0m" } else { "error" };
    let _ = writeln!(err.lock(), "polykafka: {prefix}: {f}");
    match f {
        Failure::Usage(_) | Failure::Config(_) => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

/// NO_COLOR (https://no-color.org) turns colour off.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A table on stdout: aligned columns, numeric columns (indexes in `right`) right-aligned.
pub fn print_table(header: &[&str], rows: Vec<Vec<String>>, right: &[usize]) -> Result<(), Failure> {
    let text = render_table(header, rows, right, std::io::stdout().is_terminal() && colour_allowed());
    write_stdout(&format!("{text}\n"))
}

pub fn render_table(header: &[&str], rows: Vec<Vec<String>>, right: &[usize], bold: bool) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    let header: Vec<String> = header.iter().map(|h| if bold { format!("\x1b[1m{h}\x1b[0m") } else { h.to_string() }).collect();
    t.set_header(header);
    for r in rows {
        t.add_row(r);
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    // comfy-table pads every line to the table's width; trailing spaces help nobody.
    t.to_string().lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n")
}

pub fn print_json(v: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Failure::Io(format!("cannot write JSON: {e}")))?;
    write_stdout(&format!("{text}\n"))
}

/// Writes to stdout; a closed pipe (`| head`) ends quietly.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Io(format!("cannot write to stdout: {e}"))),
    }
}

/// The broker list in messages: "at 127.0.0.1:9092".
pub fn at(bootstrap: &str) -> String {
    format!("at {bootstrap}")
}
