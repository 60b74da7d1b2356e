//! `polykafka`: produce, consume, inspect and measure Kafka from a terminal, on the polykafka core.
//!
//! Exit codes: 0 success, 1 a Kafka or I/O error, 2 bad usage (arguments, settings).

mod args;
mod cluster;
mod configs;
mod consume;
mod decode;
mod dlq;
mod format;
mod groups;
mod output;
mod perf;
mod produce;
mod settings;
mod topics;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};
use output::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and exit 0; everything else is a usage error (2).
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "polykafka", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return output::report(Failure::Io(format!("cannot start the async runtime: {e}"))),
    };
    let result = runtime.block_on(run(cli));
    // Background tasks of the clients (fetchers, senders) end with the runtime, without waiting.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => output::report(f),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let conn = &cli.connection;
    match cli.command {
        Command::Produce(a) => produce::run(conn, a).await,
        Command::Consume(a) => consume::run(conn, a).await,
        Command::Topics(a) => topics::run(conn, a).await,
        Command::Configs(a) => configs::run(conn, a).await,
        Command::Groups(a) => groups::run_groups(conn, a).await,
        Command::Offsets(a) => groups::run_offsets(conn, a).await,
        Command::Lag(a) => groups::run_lag(conn, a).await,
        Command::Cluster(a) => cluster::run(conn, a).await,
        Command::Perf(a) => perf::run(conn, a).await,
        Command::Dlq(a) => dlq::run(conn, a).await,
        Command::Settings(a) => settings::show(conn, a),
        Command::Completions { .. } => Ok(()),
    }
}
