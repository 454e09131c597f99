//! `bench run`: every repetition runs every selected scenario against every selected server
//! (servers interleaved, so drift over the run affects them alike), each against a freshly
//! started server; then the report.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::bulk_payload::BulkPayload;
use crate::cli::{RunArgs, ScenarioName};
use crate::cpu_pinning;
use crate::limits::ConnectionLimits;
use crate::metric::{with_separators, Metric};
use crate::report::{self, ReportContext};
use crate::samples::{Failure, Samples};
use crate::scenario::idle::{FRESH_CONCURRENCY, FRESH_CONNECTIONS, QUIET_LIMIT};
use crate::scenario::{startup, Measured, Run};
use crate::servers::{Launcher, ServerKind};
use crate::settings::Settings;
use crate::workspace_root;

pub fn run(args: RunArgs) -> Result<()> {
    let started = Instant::now();
    let load_before = load_average();
    if load_before.parse::<f64>().is_ok_and(|load| load >= 1.0) {
        eprintln!(
            "note: load average {load_before} before the run: other work on this machine will add noise"
        );
    }
    let mut settings = Settings::from_args(&args);
    let mut notes = Vec::new();

    let limits = ConnectionLimits::raise_and_read().context("raising the open-file limit")?;
    let wanted = settings.idle_counts.iter().copied().max().unwrap_or(0);
    if let Some(reason) = limits.cap_reason(wanted) {
        notes.push(reason);
        let max = limits.max_connections();
        settings.idle_counts = settings.idle_counts.iter().map(|&count| count.min(max)).collect();
        settings.idle_counts.dedup();
    }

    let root = workspace_root();
    let out_path = args.out.clone().unwrap_or_else(|| root.join("target/bench/latest.md"));
    let log_dir = root.join("target/bench/logs");
    let _ = std::fs::remove_dir_all(&log_dir);
    let server_cpus = if args.pin { pin_load_generator(&mut notes)? } else { None };
    let launcher = Launcher::new(&args, log_dir.clone(), settings.startup_timeout, server_cpus)?;
    let (servers, skipped) = launcher.select(&args.servers);
    notes.extend(skipped);
    if servers.is_empty() {
        bail!("none of the selected servers can run here: {}", notes.join("; "));
    }
    let runs = Run::selected(&args.scenarios);
    let measure_startup = args.scenarios.contains(&ScenarioName::Startup);
    let payload = BulkPayload::new(settings.bulk_bytes, settings.bulk_write_size);

    // One thread for the load generator: the servers get the other core (ours, with its
    // multi-threaded host, competes for both).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let samples =
        runtime.block_on(measure_all(&launcher, &servers, &runs, measure_startup, &settings, &payload));
    drop(runtime);

    notes.extend(standing_notes(&settings, &limits, &payload, &log_dir));
    notes.push(format!(
        "The whole run took {:.0} s; load average (1 min) {} before, {} after — other work on the \
         machine shows up in these numbers.",
        started.elapsed().as_secs_f64(),
        load_before,
        load_average()
    ));
    let context = ReportContext {
        servers,
        python_version: launcher.python().map(|python| python.version.clone()),
        idle_counts: (
            settings.idle_counts.first().copied().unwrap_or(0),
            settings.idle_counts.last().copied().unwrap_or(0),
        ),
        conditions: conditions(&settings),
        notes,
    };
    let markdown = report::render(&samples, &context);
    print!("{markdown}");
    if let Some(dir) = out_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out_path, &markdown).with_context(|| format!("writing {}", out_path.display()))?;
    eprintln!("(also written to {})", out_path.display());
    Ok(())
}

async fn measure_all(
    launcher: &Launcher,
    servers: &[ServerKind],
    runs: &[Run],
    measure_startup: bool,
    settings: &Settings,
    payload: &BulkPayload,
) -> Samples {
    let mut samples = Samples::default();
    let repetitions = settings.repetitions;
    for repetition in 1..=repetitions {
        for &run in runs {
            for &server in servers {
                let label = run.label(settings);
                eprint!("[{repetition}/{repetitions}] {label} · {}: ", server.name());
                let log_name = format!("{repetition}-{}-{}", run.slug(), server.name());
                let measured = measure_one(launcher, server, run, settings, payload, &log_name).await;
                let (values, summary, failure) = match measured {
                    Ok(Measured { values, summary, failure }) => (values, summary, failure),
                    Err(error) => (Vec::new(), String::new(), Some(error)),
                };
                for &(metric, value) in &values {
                    samples.record(server, metric, value);
                }
                for &metric in run.metrics() {
                    if !values.iter().any(|&(m, _)| m == metric) {
                        samples.record_miss(server, metric);
                    }
                }
                match failure {
                    None => eprintln!("{summary}"),
                    Some(error) => {
                        eprintln!("{summary}{}FAILED: {error:#}", if summary.is_empty() { "" } else { "; " });
                        samples.record_failure(Failure {
                            server,
                            run: label,
                            repetition,
                            error: format!("{error:#}"),
                        });
                    }
                }
            }
        }
        if measure_startup {
            for &server in servers {
                eprint!("[{repetition}/{repetitions}] startup · {}: ", server.name());
                let log_name = format!("{repetition}-startup-{}", server.name());
                match startup::run(launcher, server, &log_name).await {
                    Ok(outcome) => {
                        eprintln!("{}", outcome.summary());
                        samples.record(server, Metric::FirstStartMillis, outcome.first.as_secs_f64() * 1e3);
                        samples.record(server, Metric::SecondStartMillis, outcome.second.as_secs_f64() * 1e3);
                    }
                    Err(error) => {
                        eprintln!("FAILED: {error:#}");
                        samples.record_miss(server, Metric::FirstStartMillis);
                        samples.record_miss(server, Metric::SecondStartMillis);
                        samples.record_failure(Failure {
                            server,
                            run: "startup".into(),
                            repetition,
                            error: format!("{error:#}"),
                        });
                    }
                }
            }
        }
    }
    samples
}

/// Starts `server`, measures `run` within its time limit, stops the server. A server that
/// died during the run fails it (its stderr's end in the message), even if the numbers came in.
async fn measure_one(
    launcher: &Launcher,
    kind: ServerKind,
    run: Run,
    settings: &Settings,
    payload: &BulkPayload,
    log_name: &str,
) -> Result<Measured> {
    let mut server = launcher.start(kind, log_name, &[]).await?;
    let limit = run.time_limit(settings);
    let measured = tokio::time::timeout(limit, run.measure(&server, settings, payload))
        .await
        .unwrap_or_else(|_| Err(anyhow!("the run did not finish within {limit:?}")));
    let alive = server.check_alive();
    let log_tail = server.log_tail();
    server.stop().await;
    match (measured, alive) {
        (Ok(measured), Ok(())) => Ok(measured),
        (Ok(mut measured), Err(died)) => {
            measured.failure = Some(match measured.failure {
                Some(error) => anyhow!("{error:#}; {died:#}"),
                None => died,
            });
            Ok(measured)
        }
        (Err(error), Err(died)) => Err(anyhow!("{error:#}; {died:#}")),
        (Err(error), Ok(())) => Err(anyhow!("{error:#}{log_tail}")),
    }
}

/// The line under the title: the machine and how each number was made.
fn conditions(settings: &Settings) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{}{cores} cores ({cpu}), Linux {}; median of {} repetition{}; every server on 127.0.0.1, \
         started afresh for each run; the load generator is one tokio thread on the same machine.",
        if settings.quick { "**Quick check (--quick), not a measurement.** " } else { "" },
        kernel.trim(),
        settings.repetitions,
        if settings.repetitions == 1 { "" } else { "s" },
    )
}

/// Pins this thread (the load generator; the runtime is built on it afterwards) and returns
/// the servers' CPUs, or notes why not.
fn pin_load_generator(notes: &mut Vec<String>) -> Result<Option<Vec<usize>>> {
    let cpus = cpu_pinning::allowed_cpus().context("reading the CPU affinity")?;
    let Some((client, servers)) = cpu_pinning::split(&cpus) else {
        notes.push(format!("--pin ignored: only CPUs {cpus:?} available"));
        return Ok(None);
    };
    cpu_pinning::pin_current_thread(&client).context("pinning the load generator")?;
    notes.push(format!("Pinned (--pin): load generator on CPU {client:?}, servers on CPUs {servers:?}."));
    Ok(Some(servers))
}

/// The 1-minute load average from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// How each scenario is made, the limits in force, and what is not measured.
fn standing_notes(
    settings: &Settings,
    limits: &ConnectionLimits,
    payload: &BulkPayload,
    log_dir: &std::path::Path,
) -> Vec<String> {
    let seconds = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let counts: Vec<String> = settings.idle_counts.iter().map(|&c| with_separators(c as i64)).collect();
    vec![
        format!(
            "lines: newline-terminated lines, a new one sent for each echo received (so ×D stay in \
             flight), {} warm-up then {} measured; every echoed byte is checked; latency from write to \
             the read completing the echo; fairness = fewest / most lines echoed on one connection.",
            seconds(settings.warmup),
            seconds(settings.duration)
        ),
        format!(
            "bulk: {:.1} MiB of 8–24 KiB lines (asyncio's readline takes at most 64 KiB) in {} KiB \
             writes, read back concurrently and compared.",
            payload.total() as f64 / (1 << 20) as f64,
            settings.bulk_write_size >> 10
        ),
        format!(
            "churn: {} connections, {} at a time: connect, one 64-byte line, read it back, close.",
            with_separators(settings.churn_connections as i64),
            settings.churn_concurrency
        ),
        format!(
            "idle: {} connections opened {} at a time, each echoing one 64-byte line, then silent; \
             KiB/idle conn = growth of the server's VmRSS (for ours, the host process) over a baseline \
             taken after {} warm-up connections and a 1-connection lines run, per connection; then \
             1-connection lines with them held. Slowdown = req/s of the run before ÷ with them held, \
             on the same server (median of the per-repetition ratios).",
            counts.join(" then "),
            settings.idle_open_concurrency,
            16
        ),
        format!(
            "idle, after: then all {} vanish at once (closed in one go, every other one with SO_LINGER 0 \
             so it resets). Quiet after = time until the server's CPU use (utime + stime from \
             /proc/PID/stat, all threads, in 10 ms ticks) over 3 consecutive 100 ms samples is below 5% \
             of a core (≥{:.1} = still busy at that bound); CPU % = its use over the following 1 s, in % \
             of one core (about 100 = spinning; ratios to a reference at 0 show —). Then, as a stall \
             check: echo after vanish = connect + one 64-byte line echoed on a new connection; {} new \
             conns = {} fresh connections, {} at a time, each echoing one line, as in churn. Each must \
             finish within the {} I/O timeout, or the run fails.",
            counts.last().map_or("", String::as_str),
            QUIET_LIMIT.as_secs_f64(),
            FRESH_CONNECTIONS,
            FRESH_CONNECTIONS,
            FRESH_CONCURRENCY,
            seconds(settings.io_timeout)
        ),
        "guest KiB/idle conn (ours only): growth of the guest's linear memory per idle connection, as \
         the host reports it (WASIO_MEMORY_REPORT: the sum of the component's memories, which only \
         grow); part of the host's RSS figure, the rest is the host's own per-connection state."
            .into(),
        format!(
            "Limits: open files {} (raised to the hard limit; the servers inherit it), {} ephemeral ports, \
             somaxconn {}.",
            limits.open_files,
            limits.ephemeral_ports.map_or("unknown".into(), |p| p.to_string()),
            limits.somaxconn.map_or("unknown".into(), |n| n.to_string()),
        ),
        format!("Server logs (stderr): {}.", log_dir.display()),
    ]
}
