//! The load patterns. Each [`Run`] is measured against a freshly started server and yields
//! some of the report's [`Metric`]s; `startup` starts servers itself ([`startup::run`]).

pub mod bulk;
pub mod churn;
pub mod echo_once;
pub mod idle;
pub mod lines;
pub mod startup;

use anyhow::Result;

use crate::bulk_payload::BulkPayload;
use crate::cli::ScenarioName;
use crate::metric::Metric;
use crate::servers::RunningServer;
use crate::settings::Settings;
use lines::LinesShape;

/// The `lines` runs the table has columns for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinesCase {
    /// 1 connection, 1 in flight, 64-byte lines.
    Single,
    /// 64 connections, 16 in flight each, 64-byte lines.
    Pipelined,
    /// 256 connections, 4 in flight each, 1 KiB lines.
    LargeLines,
}

impl LinesCase {
    pub fn shape(self) -> LinesShape {
        match self {
            LinesCase::Single => LinesShape { connections: 1, depth: 1, line_len: 64 },
            LinesCase::Pipelined => LinesShape { connections: 64, depth: 16, line_len: 64 },
            LinesCase::LargeLines => LinesShape { connections: 256, depth: 4, line_len: 1024 },
        }
    }
}

/// One measurement against one freshly started server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    Lines(LinesCase),
    Bulk,
    Churn,
    Idle,
}

/// What a run measured; `failure` is set if it stopped before measuring everything.
pub struct Measured {
    pub values: Vec<(Metric, f64)>,
    pub summary: String,
    pub failure: Option<anyhow::Error>,
}

impl Run {
    /// The runs of the selected scenarios, in the order they are measured.
    pub fn selected(scenarios: &[ScenarioName]) -> Vec<Run> {
        let mut runs = Vec::new();
        for scenario in [ScenarioName::Lines, ScenarioName::Bulk, ScenarioName::Churn, ScenarioName::Idle] {
            if !scenarios.contains(&scenario) {
                continue;
            }
            match scenario {
                ScenarioName::Lines => runs
                    .extend([LinesCase::Single, LinesCase::Pipelined, LinesCase::LargeLines].map(Run::Lines)),
                ScenarioName::Bulk => runs.push(Run::Bulk),
                ScenarioName::Churn => runs.push(Run::Churn),
                ScenarioName::Idle => runs.push(Run::Idle),
                ScenarioName::Startup => {}
            }
        }
        runs
    }

    pub fn label(self, settings: &Settings) -> String {
        match self {
            Run::Lines(case) => format!("lines {}", case.shape().label()),
            Run::Bulk => format!("bulk {} MiB", settings.bulk_bytes >> 20),
            Run::Churn => format!(
                "churn {} conns, {} at a time",
                settings.churn_connections, settings.churn_concurrency
            ),
            Run::Idle => format!("idle {:?} conns", settings.idle_counts),
        }
    }

    /// A short name for log files.
    pub fn slug(self) -> &'static str {
        match self {
            Run::Lines(LinesCase::Single) => "lines-1",
            Run::Lines(LinesCase::Pipelined) => "lines-64",
            Run::Lines(LinesCase::LargeLines) => "lines-256",
            Run::Bulk => "bulk",
            Run::Churn => "churn",
            Run::Idle => "idle",
        }
    }

    /// The metrics this run yields when it succeeds.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Run::Lines(LinesCase::Single) => &[Metric::SingleRequestsPerSec, Metric::SingleP99Micros],
            Run::Lines(LinesCase::Pipelined) => &[Metric::PipelinedRequestsPerSec, Metric::PipelinedFairness],
            Run::Lines(LinesCase::LargeLines) => &[Metric::LargeLinesRequestsPerSec],
            Run::Bulk => &[Metric::BulkMibPerSec],
            Run::Churn => &[Metric::ChurnConnectionsPerSec],
            Run::Idle => &[
                Metric::IdleKibPerConnectionSmall,
                Metric::IdleKibPerConnectionLarge,
                Metric::IdleGuestKibPerConnection,
                Metric::SingleRequestsPerSecWithIdle,
                Metric::IdleSlowdown,
                Metric::CpuAfterVanish,
                Metric::QuietAfterVanishSecs,
                Metric::EchoAfterVanishMillis,
                Metric::FreshAfterVanishMillis,
            ],
        }
    }

    /// The longest the whole run may take, on top of the per-operation timeouts.
    pub fn time_limit(self, settings: &Settings) -> std::time::Duration {
        let lines = settings.warmup + settings.duration;
        std::time::Duration::from_secs(120)
            + match self {
                Run::Lines(_) => lines,
                Run::Idle => {
                    lines * 2
                        + std::time::Duration::from_secs(240)
                        + idle::vanish_time_limit(settings.io_timeout)
                }
                Run::Bulk | Run::Churn => std::time::Duration::ZERO,
            }
    }

    pub async fn measure(
        self,
        server: &RunningServer,
        settings: &Settings,
        payload: &BulkPayload,
    ) -> Result<Measured> {
        let address = server.address;
        let timeout = settings.io_timeout;
        Ok(match self {
            Run::Lines(case) => {
                let outcome =
                    lines::run(address, case.shape(), settings.warmup, settings.duration, timeout).await?;
                let values = match case {
                    LinesCase::Single => vec![
                        (Metric::SingleRequestsPerSec, outcome.requests_per_sec),
                        (Metric::SingleP99Micros, outcome.latency_micros(0.99)),
                    ],
                    LinesCase::Pipelined => vec![
                        (Metric::PipelinedRequestsPerSec, outcome.requests_per_sec),
                        (Metric::PipelinedFairness, outcome.fairness),
                    ],
                    LinesCase::LargeLines => {
                        vec![(Metric::LargeLinesRequestsPerSec, outcome.requests_per_sec)]
                    }
                };
                Measured { values, summary: outcome.summary(), failure: None }
            }
            Run::Bulk => {
                let outcome = bulk::run(address, payload, settings.bulk_write_size, timeout).await?;
                Measured {
                    values: vec![(Metric::BulkMibPerSec, outcome.mib_per_sec)],
                    summary: outcome.summary(),
                    failure: None,
                }
            }
            Run::Churn => {
                let outcome =
                    churn::run(address, settings.churn_connections, settings.churn_concurrency, timeout)
                        .await?;
                Measured {
                    values: vec![(Metric::ChurnConnectionsPerSec, outcome.connections_per_sec)],
                    summary: outcome.summary(),
                    failure: None,
                }
            }
            Run::Idle => {
                let setup = idle::IdleSetup {
                    counts: settings.idle_counts.clone(),
                    open_concurrency: settings.idle_open_concurrency,
                    busy_shape: LinesCase::Single.shape(),
                    warmup: settings.warmup,
                    duration: settings.duration,
                    io_timeout: timeout,
                };
                let outcome = idle::run(server, &setup).await;
                let size_metrics = [Metric::IdleKibPerConnectionSmall, Metric::IdleKibPerConnectionLarge];
                let mut values: Vec<(Metric, f64)> = outcome
                    .kib_per_connection
                    .iter()
                    .zip(size_metrics)
                    .map(|(&(_, kib), metric)| (metric, kib))
                    .collect();
                if let Some(&(_, kib)) = outcome.guest_kib_per_connection.last() {
                    values.push((Metric::IdleGuestKibPerConnection, kib));
                }
                if let Some(busy) = &outcome.busy_with_idle {
                    values.push((Metric::SingleRequestsPerSecWithIdle, busy.requests_per_sec));
                    if let Some(alone) = &outcome.busy_alone {
                        values.push((Metric::IdleSlowdown, alone.requests_per_sec / busy.requests_per_sec));
                    }
                }
                values.extend(after_vanish_values(&outcome.after_vanish));
                Measured { values, summary: outcome.summary(), failure: outcome.failure }
            }
        })
    }
}

/// The idle run's numbers from after its connections vanished, as far as it got.
fn after_vanish_values(after: &idle::AfterVanish) -> Vec<(Metric, f64)> {
    let millis = |duration: std::time::Duration| duration.as_secs_f64() * 1e3;
    [
        (Metric::CpuAfterVanish, after.cpu_percent),
        (Metric::QuietAfterVanishSecs, after.quiet.map(idle::Quiet::secs)),
        (Metric::EchoAfterVanishMillis, after.echo.map(millis)),
        (Metric::FreshAfterVanishMillis, after.fresh.map(millis)),
    ]
    .into_iter()
    .filter_map(|(metric, value)| Some((metric, value?)))
    .collect()
}
