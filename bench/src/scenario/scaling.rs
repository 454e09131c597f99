//! `scaling`: the same load on ours with `host --instances N` for each N of `--instances`,
//! and on the tokio server with a multi-thread runtime of N workers, so that one run gives
//! both ratios: N instances ÷ the first count (does the host scale with instances?) and
//! ours ÷ tokio with as many threads (at what cost?). The runs: 64 connections × 16 lines
//! in flight, 256 × 4 × 1 KiB, and churn, all with the line echo.
//!
//! Where it helps, the load generator gets a CPU of its own (its thread pinned to the last
//! CPU, the servers to the others): when there are more CPUs than the largest count, so
//! every count's servers have as many CPUs as threads. With fewer (2 CPUs and 2 instances),
//! nothing is pinned and the note says the counts above 1 share the cores with the load
//! generator: such a run cannot show scaling.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{anyhow, Result};

use super::{LinesCase, Measured, Run};
use crate::bulk_payload::BulkPayload;
use crate::column::Column;
use crate::cpu_pinning;
use crate::echo::Echo;
use crate::metric::Metric;
use crate::process_cpu::CpuMeter;
use crate::samples::{Failure, Samples};
use crate::servers::{Launcher, ServerKind, StartOptions};
use crate::settings::Settings;

/// What each count's servers are measured on.
pub const RUNS: [Run; 3] = [
    Run::Lines(LinesCase::Pipelined, Echo::Lines),
    Run::Lines(LinesCase::LargeLines, Echo::Lines),
    Run::Churn,
];

/// The servers the scenario compares: ours and tokio (asyncio has no threads to add).
pub fn applies_to(server: ServerKind) -> bool {
    server != ServerKind::Asyncio
}

/// Where the load generator and the servers run.
#[derive(Clone, Debug)]
pub struct Placement {
    /// The CPUs this process may use.
    pub cpus: Vec<usize>,
    /// The servers' CPUs when the load generator has one of its own (pinned).
    pub server_cpus: Option<Vec<usize>>,
    /// Whether `--pin` pinned the whole run already.
    pub pinned_by_flag: bool,
}

impl Placement {
    /// Pins the load generator (this thread) to the last CPU when the others can give the
    /// largest count a CPU per thread; `pinned` is `--pin`'s choice, if made.
    pub fn choose(largest: usize, pinned: Option<&[usize]>) -> Result<Placement> {
        let cpus = cpu_pinning::allowed_cpus()?;
        if let Some(servers) = pinned {
            return Ok(Placement { cpus, server_cpus: Some(servers.to_vec()), pinned_by_flag: true });
        }
        let server_cpus = match cpu_pinning::split(&cpus) {
            Some((client, servers)) if servers.len() >= largest => {
                cpu_pinning::pin_current_thread(&client)?;
                Some(servers)
            }
            _ => None,
        };
        Ok(Placement { cpus, server_cpus, pinned_by_flag: false })
    }

    /// Gives this thread all its CPUs back (unless `--pin` pinned it for the whole run).
    pub fn release(&self) -> Result<()> {
        if self.server_cpus.is_some() && !self.pinned_by_flag {
            cpu_pinning::pin_current_thread(&self.cpus)?;
        }
        Ok(())
    }

    /// CPUs the servers can use (all of them when nothing is pinned).
    pub fn server_cpu_count(&self) -> usize {
        self.server_cpus.as_ref().map_or(self.cpus.len(), Vec::len)
    }

    /// Whether `count` threads of a server get a CPU each, the load generator another.
    pub fn allows(&self, count: usize) -> bool {
        match &self.server_cpus {
            Some(servers) => servers.len() >= count,
            None => self.cpus.len() > count,
        }
    }
}

/// Every count's medians, the failures and what the load generator spent.
pub struct ScalingSamples {
    /// The instance (worker) counts, the first the base of the scaling ratios.
    pub counts: Vec<usize>,
    pub servers: Vec<ServerKind>,
    pub by_count: BTreeMap<usize, Samples>,
    pub placement: Placement,
}

impl ScalingSamples {
    pub fn samples(&self, count: usize) -> Option<&Samples> {
        self.by_count.get(&count)
    }
}

/// Measures every run for every count and server, `settings.repetitions` times (servers
/// and counts interleaved, so drift affects them alike).
pub async fn measure(
    launcher: &Launcher,
    servers: &[ServerKind],
    counts: &[usize],
    placement: Placement,
    settings: &Settings,
    payload: &Arc<BulkPayload>,
) -> ScalingSamples {
    let servers: Vec<ServerKind> = servers.iter().copied().filter(|&server| applies_to(server)).collect();
    let mut by_count: BTreeMap<usize, Samples> =
        counts.iter().map(|&count| (count, Samples::default())).collect();
    let repetitions = settings.repetitions;
    for repetition in 1..=repetitions {
        for run in RUNS {
            for &count in counts {
                for &server in &servers {
                    let label = format!("scaling {count}× · {}", run.label(settings));
                    eprint!("[{repetition}/{repetitions}] {label} · {}: ", server.name());
                    let log_name = format!("{repetition}-scaling-{count}-{}-{}", run.slug(), server.name());
                    let samples = by_count.get_mut(&count).expect("a Samples per count");
                    let column = |metric| Column { metric, echo: Some(run.echo()) };
                    let options = StartOptions {
                        echo: Some(run.echo()),
                        instances: Some(count),
                        cpus: placement.server_cpus.as_deref(),
                        ..StartOptions::default()
                    };
                    match measure_one(launcher, server, run, &options, settings, payload, &log_name).await {
                        Ok(Measured { values, summary, failure }) => {
                            for &(metric, value) in &values {
                                samples.record(server, column(metric), value);
                            }
                            match failure {
                                None => eprintln!("{summary}"),
                                Some(error) => {
                                    eprintln!("{summary}; FAILED: {error:#}");
                                    samples.record_failure(Failure {
                                        server,
                                        run: label,
                                        repetition,
                                        error: format!("{error:#}"),
                                    });
                                }
                            }
                        }
                        Err(error) => {
                            eprintln!("FAILED: {error:#}");
                            for &metric in run.metrics() {
                                samples.record_miss(server, column(metric));
                            }
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
        }
    }
    ScalingSamples { counts: counts.to_vec(), servers, by_count, placement }
}

/// Starts `server` as `options` say, measures `run` and, on the 64×16 run, the CPU the
/// server and the load generator (this process) spent meanwhile, in % of one core.
async fn measure_one(
    launcher: &Launcher,
    server: ServerKind,
    run: Run,
    options: &StartOptions<'_>,
    settings: &Settings,
    payload: &Arc<BulkPayload>,
    log_name: &str,
) -> Result<Measured> {
    let mut running = launcher.start(server, log_name, options).await?;
    let mut server_cpu = running.cpu_meter()?;
    let mut client_cpu = CpuMeter::start(std::process::id())?;
    let limit = run.time_limit(settings);
    let measured = tokio::time::timeout(limit, run.measure(&running, settings, payload, None))
        .await
        .unwrap_or_else(|_| Err(anyhow!("the run did not finish within {limit:?}")));
    let cpu = (server_cpu.sample(), client_cpu.sample());
    let alive = running.check_alive();
    let log_tail = running.log_tail();
    running.stop().await;
    let mut measured = measured.map_err(|error| anyhow!("{error:#}{log_tail}"))?;
    if let Err(died) = alive {
        measured.failure = Some(died);
    }
    if run == RUNS[0] {
        if let (Ok(server_cpu), Ok(client_cpu)) = cpu {
            let (server, client) = (server_cpu.percent_of_core(), client_cpu.percent_of_core());
            measured.values.push((Metric::ScalingServerCpuPercent, server));
            measured.values.push((Metric::ScalingLoadGeneratorCpuPercent, client));
            measured.summary.push_str(&format!("; CPU: server {server:.0}%, load generator {client:.0}%"));
        }
    }
    Ok(measured)
}
