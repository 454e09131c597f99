//! The `scaling` scenario's markdown: a table of medians per server and instance (worker)
//! count, the ratios (each count ÷ the first, same server; ours ÷ tokio multi-thread with as
//! many workers), and its targets with PASS/FAIL: on 64×16, N instances at least 0.8·N times
//! the first count's figure (per instance of the first count: 1.6× for 2 instances ÷ 1), and
//! at or above tokio multi-thread with as many workers. A count that the CPUs cannot give a
//! CPU per thread plus one for the load generator is marked, and the notes say why.

use std::fmt::Write;

use crate::column::Column;
use crate::echo::Echo;
use crate::metric::Metric;
use crate::scenario::scaling::ScalingSamples;
use crate::servers::ServerKind;

const fn line(metric: Metric) -> Column {
    Column { metric, echo: Some(Echo::Lines) }
}

/// The table's columns, all with the line echo.
pub const COLUMNS: [Column; 5] = [
    line(Metric::PipelinedRequestsPerSec),
    line(Metric::LargeLinesRequestsPerSec),
    line(Metric::ChurnConnectionsPerSec),
    line(Metric::ScalingServerCpuPercent),
    line(Metric::ScalingLoadGeneratorCpuPercent),
];

/// The columns the ratios and targets are about (the throughputs).
const RATIO_COLUMNS: [Column; 3] = [COLUMNS[0], COLUMNS[1], COLUMNS[2]];

/// The column the targets judge.
const TARGET_COLUMN: Column = COLUMNS[0];

/// Of the first count's figure per thread, what each further thread must add at least.
pub const SCALING_EFFICIENCY: f64 = 0.8;

fn server_label(server: ServerKind) -> String {
    match server {
        ServerKind::Tokio => "tokio (multi-thread)".into(),
        other => format!("{} (host --instances)", other.name()),
    }
}

fn threads(count: usize, server: ServerKind) -> String {
    let (one, many) = if server.is_ours() { ("instance", "instances") } else { ("worker", "workers") };
    format!("{count} {}", if count == 1 { one } else { many })
}

fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (value, base) {
        (Some(value), Some(base)) if base > 0.0 => Some(value / base),
        _ => None,
    }
}

fn shown(ratio: Option<f64>) -> String {
    ratio.map_or("—".into(), |ratio| format!("{ratio:.2}×"))
}

/// The markdown section, and the notes it adds (what the cores allowed, failures).
pub fn render(scaling: &ScalingSamples) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut notes = Vec::new();
    let (counts, servers) = (&scaling.counts, &scaling.servers);
    let Some(&base) = counts.first() else { return (out, notes) };
    let median = |server, count, column| scaling.samples(count)?.median(server, column);

    let _ = writeln!(
        out,
        "### Scaling: ours with `host --instances N`, tokio with N worker threads (line echo)\n"
    );
    let headers: Vec<String> = COLUMNS.iter().map(|column| column.metric.header((0, 0))).collect();
    let _ = writeln!(out, "| server | N | {} |", headers.join(" | "));
    let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(headers.len()));
    for &server in servers {
        for &count in counts {
            let cells: Vec<String> = COLUMNS
                .iter()
                .map(|&column| {
                    median(server, count, column).map_or("—".into(), |v| column.metric.format(v))
                })
                .collect();
            let _ = writeln!(out, "| {} | {count} | {} |", server_label(server), cells.join(" | "));
        }
    }
    out.push('\n');

    let headers: Vec<String> = RATIO_COLUMNS.iter().map(|column| column.metric.header((0, 0))).collect();
    let _ = writeln!(out, "Ratios, same run (above 1× is better):\n");
    let _ = writeln!(out, "| ratio | {} |", headers.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(headers.len()));
    for &server in servers {
        for &count in counts.iter().skip(1) {
            let cells: Vec<String> = RATIO_COLUMNS
                .iter()
                .map(|&c| shown(ratio(median(server, count, c), median(server, base, c))))
                .collect();
            let name = format!("{}: {} ÷ {}", server.name(), threads(count, server), threads(base, server));
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
    }
    let has_tokio = servers.contains(&ServerKind::Tokio);
    for &server in servers.iter().filter(|server| server.is_ours() && has_tokio) {
        for &count in counts {
            let cells: Vec<String> = RATIO_COLUMNS
                .iter()
                .map(|&c| shown(ratio(median(server, count, c), median(ServerKind::Tokio, count, c))))
                .collect();
            let name = format!("{} ÷ tokio multi-thread, N = {count}", server.name());
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
    }
    out.push('\n');

    targets(&mut out, &mut notes, scaling, base);
    placement_notes(&mut notes, scaling);
    for (count, samples) in &scaling.by_count {
        for failure in &samples.failures {
            let error = failure.error.replace('\n', "\n    ");
            notes.push(format!(
                "scaling FAIL: {} · N = {count} · {} · repetition {}: {error}",
                failure.server.name(),
                failure.run,
                failure.repetition
            ));
        }
    }
    (out, notes)
}

/// PASS/FAIL per of our servers: each count above the first scales, each count at or above
/// tokio multi-thread with as many workers.
fn targets(out: &mut String, notes: &mut Vec<String>, scaling: &ScalingSamples, base: usize) {
    let ours: Vec<ServerKind> = scaling.servers.iter().copied().filter(|server| server.is_ours()).collect();
    if ours.is_empty() {
        return;
    }
    let median = |server, count| scaling.samples(count)?.median(server, TARGET_COLUMN);
    let header = TARGET_COLUMN.metric.header((0, 0));
    let names: Vec<&str> = ours.iter().map(|server| server.name()).collect();
    let _ = writeln!(out, "### Scaling targets (medians of this run)\n");
    let _ = writeln!(out, "| target | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(names.len()));
    let verdict = |ratio: Option<f64>, at_least: f64, marked: bool| match ratio {
        Some(ratio) => format!(
            "{ratio:.2}× {}{}",
            if ratio >= at_least { "PASS" } else { "FAIL" },
            if marked { " ‡" } else { "" }
        ),
        None => "— (not measured)".into(),
    };
    let mut marked_any = false;
    for &count in scaling.counts.iter().skip(1) {
        let at_least = SCALING_EFFICIENCY * count as f64 / base as f64;
        let marked = !scaling.placement.allows(count);
        marked_any |= marked;
        let cells: Vec<String> = ours
            .iter()
            .map(|&server| verdict(ratio(median(server, count), median(server, base)), at_least, marked))
            .collect();
        let _ = writeln!(
            out,
            "| {header}, {} ≥ {at_least:.1}× {} | {} |",
            threads(count, ServerKind::EchoServer),
            threads(base, ServerKind::EchoServer),
            cells.join(" | ")
        );
    }
    if scaling.servers.contains(&ServerKind::Tokio) {
        for &count in &scaling.counts {
            let marked = count > 1 && !scaling.placement.allows(count);
            marked_any |= marked;
            let cells: Vec<String> = ours
                .iter()
                .map(|&server| {
                    verdict(ratio(median(server, count), median(ServerKind::Tokio, count)), 1.0, marked)
                })
                .collect();
            let _ = writeln!(
                out,
                "| {header}, N = {count} ≥ 1× tokio multi-thread with {} | {} |",
                threads(count, ServerKind::Tokio),
                cells.join(" | ")
            );
        }
    }
    out.push('\n');
    if marked_any {
        let cpus = scaling.placement.cpus.len();
        notes.push(format!(
            "scaling ‡: the CPUs did not allow that count to scale: {cpus} CPUs in all, the load \
             generator's included, where N server threads and the load generator need N + 1 (the \
             servers then share cores with the load generator, and N instances cannot show N times \
             one instance's rate). Judge these targets on a machine with more cores."
        ));
    }
}

fn placement_notes(notes: &mut Vec<String>, scaling: &ScalingSamples) {
    let placement = &scaling.placement;
    let largest = scaling.counts.iter().copied().max().unwrap_or(1);
    notes.push(match (&placement.server_cpus, placement.pinned_by_flag) {
        (Some(servers), true) => format!(
            "scaling: pinned by --pin: load generator on its own CPU, the servers on CPUs {servers:?}."
        ),
        (Some(servers), false) => format!(
            "scaling: the load generator ran pinned to a CPU of its own, the servers on CPUs \
             {servers:?} (enough for {largest} server thread{}).",
            if largest == 1 { "" } else { "s" }
        ),
        (None, _) => format!(
            "scaling: not pinned: {} CPUs cannot give {largest} server threads a CPU each and the \
             load generator another; everything shared the CPUs.",
            placement.cpus.len()
        ),
    });
    notes.push(
        "scaling: ours ran with `host --instances N` (N stores, one thread each, sharing the \
         listening socket by SO_REUSEPORT; the 64 or 256 connections spread by the kernel's hash \
         of their ports, so not always evenly), the tokio server with a multi-thread runtime of N \
         workers (`bench serve-tokio --workers N`), both the line echo; the load generator is one \
         thread (its CPU % near 100 means it, not the server, set the pace). CPU % = CPU time \
         over the 64×16 run's wall time, connects and warm-up included."
            .into(),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::samples::Samples;
    use crate::scenario::scaling::Placement;

    fn scaling(cpus: Vec<usize>, ours: [f64; 2], tokio: [f64; 2]) -> ScalingSamples {
        let mut by_count = BTreeMap::new();
        for (i, count) in [1, 2].into_iter().enumerate() {
            let mut samples = Samples::default();
            samples.record(ServerKind::EchoServer, TARGET_COLUMN, ours[i]);
            samples.record(ServerKind::Tokio, TARGET_COLUMN, tokio[i]);
            by_count.insert(count, samples);
        }
        ScalingSamples {
            counts: vec![1, 2],
            servers: vec![ServerKind::Tokio, ServerKind::EchoServer],
            by_count,
            placement: Placement { cpus, server_cpus: None, pinned_by_flag: false },
        }
    }

    #[test]
    fn two_instances_pass_at_1_6_times_one_and_at_tokio_with_two_workers() {
        let (markdown, notes) = render(&scaling(vec![0, 1, 2, 3], [100.0, 160.0], [90.0, 170.0]));
        assert!(markdown.contains("2 instances ≥ 1.6× 1 instance | 1.60× PASS |"), "{markdown}");
        assert!(markdown.contains("with 1 worker | 1.11× PASS |"), "{markdown}");
        assert!(markdown.contains("with 2 workers | 0.94× FAIL |"), "{markdown}");
        assert!(!notes.iter().any(|note| note.contains('‡')), "{notes:?}");
    }

    #[test]
    fn a_count_the_cpus_cannot_hold_is_marked_and_explained() {
        let (markdown, notes) = render(&scaling(vec![0, 1], [100.0, 150.0], [100.0, 100.0]));
        assert!(markdown.contains("1.50× FAIL ‡"), "{markdown}");
        assert!(notes.iter().any(|note| note.contains("2 CPUs in all")), "{notes:?}");
    }
}
