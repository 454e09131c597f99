//! The markdown: a table of medians (rows = servers), ours as ratios to the references
//! measured in the same run, the startup times, and notes.

use std::fmt::Write;

use crate::metric::Metric;
use crate::samples::{Cell, Samples};
use crate::servers::ServerKind;

/// What the report says besides the numbers.
pub struct ReportContext {
    pub servers: Vec<ServerKind>,
    pub python_version: Option<String>,
    /// The (smaller, larger) idle connection counts.
    pub idle_counts: (usize, usize),
    /// The settings line under the title.
    pub conditions: String,
    pub notes: Vec<String>,
}

/// A column's header, marked ↓ where lower is better.
fn header(metric: Metric, context: &ReportContext) -> String {
    let text = metric.header(context.idle_counts);
    if metric.higher_is_better() {
        text
    } else {
        format!("{text} ↓")
    }
}

fn cell(samples: &Samples, server: ServerKind, metric: Metric) -> String {
    if !metric.applies_to(server) {
        return "—".into();
    }
    match samples.cell(server, metric) {
        Cell::NotRun => "—".into(),
        Cell::Failed => "FAIL".into(),
        Cell::Median { value, incomplete } => {
            format!("{}{}", metric.format(value), if incomplete { " †" } else { "" })
        }
    }
}

fn has_data(samples: &Samples, servers: &[ServerKind], metric: Metric) -> bool {
    servers.iter().any(|&server| !matches!(samples.cell(server, metric), Cell::NotRun))
}

pub fn render(samples: &Samples, context: &ReportContext) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Echo servers over loopback\n\n{}\n", context.conditions);

    let columns: Vec<Metric> = Metric::THROUGHPUT_TABLE
        .into_iter()
        .filter(|&metric| has_data(samples, &context.servers, metric))
        .collect();
    if !columns.is_empty() {
        table_header(&mut out, "server", columns.iter().map(|&m| header(m, context)));
        for &server in &context.servers {
            let cells = columns.iter().map(|&m| cell(samples, server, m));
            table_row(&mut out, &server_label(server, context), cells);
        }
        out.push('\n');
        ratios(&mut out, samples, context, &columns);
    }

    let startup: Vec<Metric> = Metric::STARTUP_TABLE
        .into_iter()
        .filter(|&metric| has_data(samples, &context.servers, metric))
        .collect();
    if !startup.is_empty() {
        let _ = writeln!(
            out,
            "Startup, spawn to `Serving on` (ms; for ours the first start has an empty wasmtime cache):\n"
        );
        table_header(&mut out, "server", startup.iter().map(|&m| header(m, context)));
        for &server in &context.servers {
            let cells = startup.iter().map(|&m| cell(samples, server, m));
            table_row(&mut out, &server_label(server, context), cells);
        }
        out.push('\n');
    }

    notes(&mut out, samples, context);
    out
}

/// Each of ours ÷ each reference, per column: the ratio of the medians.
fn ratios(out: &mut String, samples: &Samples, context: &ReportContext, columns: &[Metric]) {
    let (ours, references): (Vec<ServerKind>, Vec<ServerKind>) =
        context.servers.iter().partition(|server| server.is_ours());
    if references.is_empty() || ours.is_empty() {
        return;
    }
    let _ = writeln!(out, "Ours ÷ each reference, same run (above 1× is better, except in ↓ columns):\n");
    table_header(out, "ratio", columns.iter().map(|&m| header(m, context)));
    for &server in &ours {
        for &reference in &references {
            let cells = columns.iter().map(|&metric| {
                match (samples.median(server, metric), samples.median(reference, metric)) {
                    (Some(value), Some(base)) if base != 0.0 => format!("{:.2}×", value / base),
                    _ => "—".into(),
                }
            });
            table_row(out, &format!("{} ÷ {}", server.name(), reference.name()), cells);
        }
    }
    out.push('\n');
}

fn notes(out: &mut String, samples: &Samples, context: &ReportContext) {
    let mut lines = context.notes.clone();
    if !samples.failures.is_empty() {
        lines.push(
            "FAIL: every repetition failed; † some failed, the median is of the rest. Failures:".into(),
        );
        for failure in &samples.failures {
            let error = failure.error.replace('\n', "\n    ");
            lines.push(format!(
                "  - {} · {} · repetition {}: {error}",
                failure.server.name(),
                failure.run,
                failure.repetition
            ));
        }
    }
    for line in lines {
        if line.starts_with("  ") {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "- {line}");
        }
    }
}

fn server_label(server: ServerKind, context: &ReportContext) -> String {
    match server {
        ServerKind::Tokio => "tokio (current-thread)".into(),
        ServerKind::Asyncio => match &context.python_version {
            Some(version) => format!("asyncio (CPython {version})"),
            None => "asyncio".into(),
        },
        ServerKind::EchoServer | ServerKind::ComposeEcho => format!("{} (host)", server.name()),
    }
}

fn table_header(out: &mut String, first: &str, headers: impl Iterator<Item = String>) {
    let headers: Vec<String> = headers.collect();
    let _ = writeln!(out, "| {first} | {} |", headers.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(headers.len()));
}

fn table_row(out: &mut String, first: &str, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.collect();
    let _ = writeln!(out, "| {first} | {} |", cells.join(" | "));
}
