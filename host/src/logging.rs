//! The host's log output on stderr: `warning: …` / `error: …` lines like the host's own error
//! messages, and `debug <target>: …` lines for lower levels.
//!
//! `RUST_LOG` is respected when set; otherwise the level is `warn`, and `-v` adds `debug` for
//! the host itself (`warn,host=debug`).

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is not set.
pub fn default_filter(verbose: bool, quiet: bool) -> &'static str {
    if verbose {
        "warn,host=debug"
    } else if quiet {
        "error"
    } else {
        "warn"
    }
}

/// Installs the global subscriber (stderr). Does nothing if one is already installed.
pub fn init(verbose: bool, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(default_filter(verbose, quiet)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(LineFormat)
        .try_init();
}

/// `warning: message`, `error: message`, `debug host::runner: message`.
struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        match *meta.level() {
            Level::ERROR => write!(writer, "error: ")?,
            Level::WARN => write!(writer, "warning: ")?,
            Level::INFO => write!(writer, "info {}: ", meta.target())?,
            Level::DEBUG => write!(writer, "debug {}: ", meta.target())?,
            Level::TRACE => write!(writer, "trace {}: ", meta.target())?,
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
