//! `bench run`: every repetition runs every selected scenario against every selected server
//! (servers interleaved, so drift over the run affects them alike), each against a freshly
//! started server; then the report.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};

use crate::bulk_payload::BulkPayload;
use crate::certs::BenchPki;
use crate::cli::{RunArgs, ScenarioName};
use crate::column::Column;
use crate::cpu_pinning;
use crate::limits::ConnectionLimits;
use crate::metric::Metric;
use crate::notes::standing_notes;
use crate::report::{self, ReportContext};
use crate::samples::{Failure, Samples};
use crate::scaling_report;
use crate::scenario::{scaling, startup, Measured, Run};
use crate::servers::{Launcher, ServerKind, StartOptions};
use crate::settings::Settings;
use crate::tls_client::TlsClient;
use crate::workspace_root;

pub fn run(mut args: RunArgs) -> Result<()> {
    let started = Instant::now();
    if args.instances.is_some() && !args.scenarios.contains(&ScenarioName::Scaling) {
        args.scenarios.push(ScenarioName::Scaling);
    }
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
    let launcher = Launcher::new(&args, log_dir.clone(), settings.startup_timeout, server_cpus.clone())?;
    let (servers, skipped) = launcher.select(&args.servers);
    notes.extend(skipped);
    if servers.is_empty() {
        bail!("none of the selected servers can run here: {}", notes.join("; "));
    }
    let runs = Run::selected(&args.scenarios);
    let measure_startup = args.scenarios.contains(&ScenarioName::Startup);
    let payload = Arc::new(BulkPayload::new(settings.bulk_bytes, settings.bulk_write_size));
    // One CA and certificate for the whole run, made now, and the client that trusts it.
    let tls = match runs.iter().any(|run| run.is_tls()) {
        true => {
            let pki = BenchPki::new().context("making the TLS scenario's certificates")?;
            let client = TlsClient::new(&pki.ca_pem, args.tls_suite.as_deref())?;
            Some((pki, client))
        }
        false => None,
    };

    // One thread for the load generator: the servers get the other core (ours, with its
    // multi-threaded host, competes for both).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let tls = tls.as_ref().map(|(pki, client)| (pki, client));
    let samples =
        runtime.block_on(measure_all(&launcher, &servers, &runs, measure_startup, &settings, &payload, tls));
    let scaling = match args.scenarios.contains(&ScenarioName::Scaling) {
        true => {
            let counts = instance_counts(&args);
            let largest = counts.iter().copied().max().unwrap_or(1);
            let placement = scaling::Placement::choose(largest, server_cpus.as_deref())
                .context("placing the scaling scenario's load generator")?;
            let measured = runtime
                .block_on(scaling::measure(&launcher, &servers, &counts, placement, &settings, &payload));
            measured.placement.release().context("unpinning the load generator")?;
            Some(scaling_report::render(&measured))
        }
        false => None,
    };
    drop(runtime);

    notes.extend(standing_notes(&args.scenarios, &settings, &limits, &payload, &log_dir));
    if let (Some(suite), Some(_)) = (&args.tls_suite, &tls) {
        notes.push(format!("tls: the client offered only {suite} (--tls-suite)."));
    }
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
        scaling: scaling.as_ref().map(|(markdown, _)| markdown.clone()),
        notes: notes.into_iter().chain(scaling.into_iter().flat_map(|(_, notes)| notes)).collect(),
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
    payload: &Arc<BulkPayload>,
    tls: Option<(&BenchPki, &TlsClient)>,
) -> Samples {
    let mut samples = Samples::default();
    let repetitions = settings.repetitions;
    for repetition in 1..=repetitions {
        for &run in runs {
            for &server in servers.iter().filter(|&&server| run.applies_to(server)) {
                let label = run.label(settings);
                eprint!("[{repetition}/{repetitions}] {label} · {}: ", server.name());
                let log_name = format!("{repetition}-{}-{}", run.slug(), server.name());
                let column = |metric| Column { metric, echo: Some(run.echo()) };
                let measured = measure_one(launcher, server, run, settings, payload, tls, &log_name).await;
                let (values, summary, failure) = match measured {
                    Ok(Measured { values, summary, failure }) => (values, summary, failure),
                    Err(error) => (Vec::new(), String::new(), Some(error)),
                };
                for &(metric, value) in &values {
                    samples.record(server, column(metric), value);
                }
                for &metric in run.metrics() {
                    if !values.iter().any(|&(m, _)| m == metric) {
                        samples.record_miss(server, column(metric));
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
                        let (first, second) = startup_columns();
                        samples.record(server, first, outcome.first.as_secs_f64() * 1e3);
                        samples.record(server, second, outcome.second.as_secs_f64() * 1e3);
                    }
                    Err(error) => {
                        eprintln!("FAILED: {error:#}");
                        let (first, second) = startup_columns();
                        samples.record_miss(server, first);
                        samples.record_miss(server, second);
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

/// `--instances`' counts, each once, in the order given (default 1, 2).
fn instance_counts(args: &RunArgs) -> Vec<usize> {
    let mut counts: Vec<usize> = Vec::new();
    for count in args.instances.clone().unwrap_or_else(|| vec![1, 2]) {
        if !counts.contains(&usize::from(count)) {
            counts.push(usize::from(count));
        }
    }
    counts
}

/// The startup table's columns: no echo plays a part.
fn startup_columns() -> (Column, Column) {
    (
        Column { metric: Metric::FirstStartMillis, echo: None },
        Column { metric: Metric::SecondStartMillis, echo: None },
    )
}

/// Starts `server`, measures `run` within its time limit, stops the server. A server that
/// died during the run fails it (its stderr's end in the message), even if the numbers came in.
async fn measure_one(
    launcher: &Launcher,
    kind: ServerKind,
    run: Run,
    settings: &Settings,
    payload: &Arc<BulkPayload>,
    tls: Option<(&BenchPki, &TlsClient)>,
    log_name: &str,
) -> Result<Measured> {
    let (pki, tls_client) = match tls {
        Some((pki, client)) if run.is_tls() => (Some(pki), Some(client)),
        _ => (None, None),
    };
    let options = StartOptions {
        echo: Some(run.echo()),
        env: &[],
        open_files: run.open_files_limit(settings),
        tls: pki,
        ..StartOptions::default()
    };
    let mut server = launcher.start(kind, log_name, &options).await?;
    let limit = run.time_limit(settings);
    let measured = tokio::time::timeout(limit, run.measure(&server, settings, payload, tls_client))
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
