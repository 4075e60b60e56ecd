//! Logs: `tracing` to stdout through a non-blocking writer, human or JSON lines.
//!
//! The writer is non-blocking so a slow log consumer never stalls the proxy's single thread;
//! under extreme bursts lines are dropped rather than requests delayed. Access logs use the
//! target `access` (silence them with `RUST_LOG=info,access=off` or `access_log = false`).

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; keep the guard until exit so buffered lines are written.
pub fn init(format: LogFormat) -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}
