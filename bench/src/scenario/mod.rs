//! The load patterns. Each [`Run`] is measured against a freshly started server running the
//! run's [`Echo`] and yields some of the report's [`Metric`]s; `startup` starts servers itself
//! ([`startup::run`]).
//!
//! Which echo each run uses: the line echo wherever clients send lines and wait for them
//! (`lines`, `churn`, `idle`, `noread`, `slowloris`, `fdlimit`); both for the byte streams
//! (`bulk`, `flood`) and for 64 pipelining connections, where a chunk echo answers many lines
//! with one read and one write. Over TLS (`tls`): the line echo for handshakes and one
//! connection's lines, the chunk echo for bulk. `scaling` measures some of these runs again
//! with several instances ([`scaling`]).

pub mod bulk;
pub mod churn;
pub mod echo_once;
pub mod fdlimit;
pub mod flood;
pub mod idle;
pub mod lines;
mod measure;
pub mod noread;
pub mod probe;
pub mod scaling;
pub mod slowloris;
pub mod startup;
pub mod tls;

use std::time::Duration;

use crate::cli::ScenarioName;
use crate::echo::Echo;
use crate::metric::Metric;
use crate::servers::ServerKind;
use crate::settings::Settings;
use lines::LinesShape;
use tls::TlsCase;

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
    Lines(LinesCase, Echo),
    Bulk(Echo),
    Churn,
    Idle,
    Flood(Echo),
    NoRead,
    Slowloris,
    FdLimit,
    Tls(TlsCase),
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
        use ScenarioName as S;
        let mut runs = Vec::new();
        for scenario in
            [S::Lines, S::Bulk, S::Churn, S::Idle, S::Flood, S::Noread, S::Slowloris, S::Fdlimit, S::Tls]
        {
            if !scenarios.contains(&scenario) {
                continue;
            }
            match scenario {
                S::Lines => runs.extend([
                    Run::Lines(LinesCase::Single, Echo::Lines),
                    Run::Lines(LinesCase::Pipelined, Echo::Lines),
                    Run::Lines(LinesCase::Pipelined, Echo::Chunks),
                    Run::Lines(LinesCase::LargeLines, Echo::Lines),
                ]),
                S::Bulk => runs.extend([Run::Bulk(Echo::Chunks), Run::Bulk(Echo::Lines)]),
                S::Churn => runs.push(Run::Churn),
                S::Idle => runs.push(Run::Idle),
                S::Flood => runs.extend([Run::Flood(Echo::Chunks), Run::Flood(Echo::Lines)]),
                S::Noread => runs.push(Run::NoRead),
                S::Slowloris => runs.push(Run::Slowloris),
                S::Fdlimit => runs.push(Run::FdLimit),
                S::Tls => runs.extend([
                    Run::Tls(TlsCase::Handshakes),
                    Run::Tls(TlsCase::Single),
                    Run::Tls(TlsCase::Bulk),
                ]),
                S::Startup | S::Scaling => {}
            }
        }
        runs
    }

    /// The echo the servers run for it.
    pub fn echo(self) -> Echo {
        match self {
            Run::Lines(_, echo) | Run::Bulk(echo) | Run::Flood(echo) => echo,
            Run::Tls(TlsCase::Bulk) => Echo::Chunks,
            Run::Churn
            | Run::Idle
            | Run::NoRead
            | Run::Slowloris
            | Run::FdLimit
            | Run::Tls(TlsCase::Handshakes | TlsCase::Single) => Echo::Lines,
        }
    }

    /// Whether the servers serve TLS for it.
    pub fn is_tls(self) -> bool {
        matches!(self, Run::Tls(_))
    }

    /// Whether `server` can take part (compose-echo serves no TLS).
    pub fn applies_to(self, server: ServerKind) -> bool {
        !self.is_tls() || server.serves_tls()
    }

    /// The server's RLIMIT_NOFILE for it, if not the bench's.
    pub fn open_files_limit(self, settings: &Settings) -> Option<u64> {
        (self == Run::FdLimit).then_some(settings.fdlimit_open_files)
    }

    pub fn label(self, settings: &Settings) -> String {
        let echo = self.echo().name();
        match self {
            Run::Lines(case, _) => format!("lines {}, {echo} echo", case.shape().label()),
            Run::Bulk(_) => format!("bulk {} MiB, {echo} echo", settings.bulk_bytes >> 20),
            Run::Churn => format!(
                "churn {} conns, {} at a time",
                settings.churn_connections, settings.churn_concurrency
            ),
            Run::Idle => format!("idle {:?} conns", settings.idle_counts),
            Run::Flood(_) => format!("flood {} MiB + probe, {echo} echo", settings.flood_bytes >> 20),
            Run::NoRead => format!(
                "noread {} peers for {:.0} s + probe",
                noread::PEERS,
                settings.noread_duration.as_secs_f64()
            ),
            Run::Slowloris => format!(
                "slowloris {} conns × 1 B/s for {:.0} s + probe",
                settings.slowloris_connections,
                settings.slowloris_duration.as_secs_f64()
            ),
            Run::FdLimit => format!(
                "fdlimit: ulimit -n {}, {} clients",
                settings.fdlimit_open_files, settings.fdlimit_clients
            ),
            Run::Tls(TlsCase::Handshakes) => format!(
                "tls handshakes {} conns, {} at a time",
                settings.tls_handshakes, settings.tls_handshake_concurrency
            ),
            Run::Tls(TlsCase::Single) => {
                format!("tls lines {}, {echo} echo", LinesCase::Single.shape().label())
            }
            Run::Tls(TlsCase::Bulk) => format!("tls bulk {} MiB, {echo} echo", settings.bulk_bytes >> 20),
        }
    }

    /// A short name for log files.
    pub fn slug(self) -> String {
        let echo = self.echo().name();
        match self {
            Run::Lines(LinesCase::Single, _) => format!("lines-1-{echo}"),
            Run::Lines(LinesCase::Pipelined, _) => format!("lines-64-{echo}"),
            Run::Lines(LinesCase::LargeLines, _) => format!("lines-256-{echo}"),
            Run::Bulk(_) => format!("bulk-{echo}"),
            Run::Churn => "churn".into(),
            Run::Idle => "idle".into(),
            Run::Flood(_) => format!("flood-{echo}"),
            Run::NoRead => "noread".into(),
            Run::Slowloris => "slowloris".into(),
            Run::FdLimit => "fdlimit".into(),
            Run::Tls(TlsCase::Handshakes) => "tls-handshakes".into(),
            Run::Tls(TlsCase::Single) => format!("tls-lines-1-{echo}"),
            Run::Tls(TlsCase::Bulk) => format!("tls-bulk-{echo}"),
        }
    }

    /// The metrics this run yields when it succeeds.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Run::Lines(LinesCase::Single, _) => &[Metric::SingleRequestsPerSec, Metric::SingleP99Micros],
            Run::Lines(LinesCase::Pipelined, _) => {
                &[Metric::PipelinedRequestsPerSec, Metric::PipelinedFairness]
            }
            Run::Lines(LinesCase::LargeLines, _) => &[Metric::LargeLinesRequestsPerSec],
            Run::Bulk(_) => &[Metric::BulkMibPerSec],
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
            Run::Flood(_) => &[
                Metric::FloodProbeP50Millis,
                Metric::FloodProbeP99Millis,
                Metric::FloodProbeMaxMillis,
                Metric::FloodMibPerSec,
            ],
            Run::NoRead => {
                &[Metric::NoReadProbeP50Millis, Metric::NoReadProbeP99Millis, Metric::NoReadProbeMaxMillis]
            }
            Run::Slowloris => &[
                Metric::SlowlorisProbeP50Millis,
                Metric::SlowlorisProbeP99Millis,
                Metric::SlowlorisProbeMaxMillis,
                Metric::SlowlorisCpuPercent,
            ],
            Run::FdLimit => &[
                Metric::FdLimitCpuPercent,
                Metric::FdLimitLogLinesPerSec,
                Metric::FdLimitEchoMillis,
                Metric::FdLimitRecoveryMillis,
            ],
            Run::Tls(TlsCase::Handshakes) => &[Metric::TlsHandshakesPerSec, Metric::TlsHandshakeCpuMicros],
            Run::Tls(TlsCase::Single) => &[Metric::TlsSingleRequestsPerSec, Metric::TlsSingleP99Micros],
            Run::Tls(TlsCase::Bulk) => &[Metric::TlsBulkMibPerSec, Metric::TlsBulkCpuMillisPerMib],
        }
    }

    /// The longest the whole run may take, on top of the per-operation timeouts.
    pub fn time_limit(self, settings: &Settings) -> Duration {
        let lines = settings.warmup + settings.duration;
        Duration::from_secs(120)
            + match self {
                Run::Lines(..) | Run::Tls(TlsCase::Single) => lines,
                Run::Idle => {
                    lines * 2 + Duration::from_secs(240) + idle::vanish_time_limit(settings.io_timeout)
                }
                Run::NoRead => settings.noread_duration,
                Run::Slowloris => settings.slowloris_duration + Duration::from_secs(120),
                Run::FdLimit => settings.fdlimit_window + fdlimit::RECOVERY_LIMIT,
                Run::Bulk(_) | Run::Churn | Run::Flood(_) | Run::Tls(_) => Duration::ZERO,
            }
    }
}
