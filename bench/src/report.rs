//! The markdown: tables of medians (rows = servers; a row says which echo each column ran),
//! ours as ratios to the references measured in the same run, the targets with PASS/FAIL,
//! and notes.

use std::fmt::Write;

use crate::column::{Column, Table, TABLES};
use crate::samples::{Cell, Samples};
use crate::servers::ServerKind;
use crate::targets::TARGETS;

/// What the report says besides the numbers.
pub struct ReportContext {
    pub servers: Vec<ServerKind>,
    pub python_version: Option<String>,
    /// The (smaller, larger) idle connection counts.
    pub idle_counts: (usize, usize),
    /// The settings line under the title.
    pub conditions: String,
    /// The `scaling` scenario's section, when it ran ([`crate::scaling_report`]).
    pub scaling: Option<String>,
    pub notes: Vec<String>,
}

/// A column's header, marked ↓ where lower is better.
fn header(column: Column, context: &ReportContext) -> String {
    let text = column.metric.header(context.idle_counts);
    if column.metric.higher_is_better() {
        text
    } else {
        format!("{text} ↓")
    }
}

fn cell(samples: &Samples, server: ServerKind, column: Column) -> String {
    if !column.metric.applies_to(server) {
        return "—".into();
    }
    match samples.cell(server, column) {
        Cell::NotRun => "—".into(),
        Cell::Failed => "FAIL".into(),
        Cell::Median { value, incomplete } => {
            format!("{}{}", column.metric.format(value), if incomplete { " †" } else { "" })
        }
    }
}

fn has_data(samples: &Samples, servers: &[ServerKind], column: Column) -> bool {
    servers.iter().any(|&server| !matches!(samples.cell(server, column), Cell::NotRun))
}

pub fn render(samples: &Samples, context: &ReportContext) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Echo servers over loopback\n\n{}\n", context.conditions);
    for table in TABLES {
        render_table(&mut out, samples, context, &table);
    }
    targets(&mut out, samples, context);
    if let Some(scaling) = &context.scaling {
        out.push_str(scaling);
    }
    notes(&mut out, samples, context);
    out
}

/// The columns of `table` that have data, under its title, then ours as ratios.
fn render_table(out: &mut String, samples: &Samples, context: &ReportContext, table: &Table) {
    let columns: Vec<Column> =
        table.columns.iter().copied().filter(|&column| has_data(samples, &context.servers, column)).collect();
    if columns.is_empty() {
        return;
    }
    let _ = writeln!(out, "### {}\n", table.title);
    table_header(out, "server", columns.iter().map(|&c| header(c, context)));
    echo_row(out, &columns);
    // A server that cannot run any of them (compose-echo over TLS) gets no row.
    let servers: Vec<ServerKind> = context
        .servers
        .iter()
        .copied()
        .filter(|&server| columns.iter().any(|column| column.metric.applies_to(server)))
        .collect();
    for &server in &servers {
        let cells = columns.iter().map(|&c| cell(samples, server, c));
        table_row(out, &server_label(server, context, table.tls), cells);
    }
    out.push('\n');
    ratios(out, samples, &servers, context, &columns, table.tls);
}

/// The first row: which echo the servers ran for each column.
fn echo_row(out: &mut String, columns: &[Column]) {
    if columns.iter().all(|column| column.echo.is_none()) {
        return;
    }
    let cells = columns.iter().map(|column| column.echo.map_or("—", |echo| echo.name()).to_string());
    table_row(out, "*echo*", cells);
}

/// Each of ours ÷ each reference, per column: the ratio of the medians.
fn ratios(
    out: &mut String,
    samples: &Samples,
    servers: &[ServerKind],
    context: &ReportContext,
    columns: &[Column],
    tls: bool,
) {
    let (ours, references): (Vec<ServerKind>, Vec<ServerKind>) =
        servers.iter().partition(|server| server.is_ours());
    if references.is_empty() || ours.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Ours ÷ each reference, same run, same echo (above 1× is better, except in ↓ columns):\n"
    );
    table_header(out, "ratio", columns.iter().map(|&c| header(c, context)));
    echo_row(out, columns);
    for &server in &ours {
        for &reference in &references {
            let cells = columns.iter().map(|&column| {
                match (samples.median(server, column), samples.median(reference, column)) {
                    (Some(value), Some(base)) if base != 0.0 => format!("{:.2}×", value / base),
                    _ => "—".into(),
                }
            });
            table_row(out, &format!("{} ÷ {}", server.name(), reference.name_over(tls)), cells);
        }
    }
    out.push('\n');
}

/// The targets ours must meet, PASS or FAIL per server (only those measured in this run).
fn targets(out: &mut String, samples: &Samples, context: &ReportContext) {
    let ours: Vec<ServerKind> = context.servers.iter().copied().filter(|server| server.is_ours()).collect();
    let measured: Vec<_> = TARGETS
        .iter()
        .filter(|target| has_data(samples, &ours, target.column))
        .filter(|target| ours.iter().any(|&server| target.applies_to(server)))
        .collect();
    // Only the servers some measured target applies to (compose-echo has no TLS figures).
    let ours: Vec<ServerKind> = ours
        .into_iter()
        .filter(|&server| {
            measured.iter().any(|target| target.applies_to(server) && target.column.metric.applies_to(server))
        })
        .collect();
    if ours.is_empty() || measured.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Targets (medians of this run)\n");
    table_header(out, "target", ours.iter().map(|server| server.name().to_string()));
    for target in measured {
        let cells = ours.iter().map(|&server| match target.judge(samples, server) {
            _ if !target.applies_to(server) => "—".into(),
            Some(verdict) => format!("{} {}", verdict.shown, if verdict.pass { "PASS" } else { "FAIL" }),
            None => "— (not measured)".into(),
        });
        table_row(out, &target.describe(), cells);
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

fn server_label(server: ServerKind, context: &ReportContext, tls: bool) -> String {
    match server {
        ServerKind::Tokio => format!("{} (current-thread)", server.name_over(tls)),
        ServerKind::Asyncio => {
            let ssl = if tls { " ssl=" } else { "" };
            match &context.python_version {
                Some(version) => format!("asyncio{ssl} (CPython {version})"),
                None => format!("asyncio{ssl}"),
            }
        }
        ServerKind::EchoServer | ServerKind::ComposeEcho | ServerKind::ComposeEchoAsync => {
            format!("{} (host)", server.name())
        }
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
