//! The core's `tracing` records, delivered to Python's `logging`.
//!
//! Capture is `polykafka-host`'s (one bounded lock-free queue per process, filled on the
//! runtime's threads without the GIL): warnings and errors, and debug records once a client was
//! configured with `debug`. The clients hand the records to their logger
//! (`logging.getLogger("polykafka")` or the conf's `logger`) in `poll`, `flush` and `close`.

use polykafka_host::logs;
use pyo3::prelude::*;
use tracing::Level;

/// Installs the capture once per process (unless the embedding program installed its own
/// subscriber); `debug` captures debug records from now on.
pub fn install(debug: bool) {
    logs::install();
    if debug {
        logs::set_level(Some(Level::DEBUG));
    }
}

fn python_level(level: Level) -> i32 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

/// Hands the queued records to `logger` (a `logging.Logger`-like object with `.log`).
pub fn drain(_py: Python<'_>, logger: &Bound<'_, PyAny>) -> PyResult<()> {
    let mut records = Vec::new();
    let dropped = logs::drain(|r| records.push(r));
    if dropped > 0 {
        logger.call_method1("log", (30, "%s", format!("{dropped} log record(s) dropped: the log queue was full")))?;
    }
    for r in records {
        logger.call_method1("log", (python_level(r.level), "%s: %s", r.target, r.text()))?;
    }
    Ok(())
}

/// `logging.getLogger("polykafka")`.
pub fn default_logger(py: Python<'_>) -> PyResult<PyObject> {
    Ok(py.import("logging")?.call_method1("getLogger", ("polykafka",))?.unbind())
}
