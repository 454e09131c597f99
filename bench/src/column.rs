//! A table column: a [`Metric`] measured with one of the two [`Echo`]es (or, for startup,
//! with none), and the report's tables as lists of columns.

use crate::echo::Echo;
use crate::metric::Metric;

/// One number per server: what was measured and which echo the servers ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Column {
    pub metric: Metric,
    /// None where the echo plays no part (startup).
    pub echo: Option<Echo>,
}

const fn line(metric: Metric) -> Column {
    Column { metric, echo: Some(Echo::Lines) }
}

const fn chunk(metric: Metric) -> Column {
    Column { metric, echo: Some(Echo::Chunks) }
}

const fn no_echo(metric: Metric) -> Column {
    Column { metric, echo: None }
}

/// One of the report's tables: a title and its columns, in order.
pub struct Table {
    pub title: &'static str,
    pub columns: &'static [Column],
    /// Its servers served TLS (the tokio row is tokio-rustls).
    pub tls: bool,
}

/// Throughput, latency and memory of well-behaved clients.
pub const THROUGHPUT: Table = Table {
    title: "Throughput and memory",
    columns: &[
        line(Metric::SingleRequestsPerSec),
        line(Metric::SingleP99Micros),
        line(Metric::PipelinedRequestsPerSec),
        line(Metric::PipelinedFairness),
        chunk(Metric::PipelinedRequestsPerSec),
        chunk(Metric::PipelinedFairness),
        line(Metric::LargeLinesRequestsPerSec),
        chunk(Metric::BulkMibPerSec),
        line(Metric::BulkMibPerSec),
        line(Metric::ChurnConnectionsPerSec),
        line(Metric::IdleKibPerConnectionSmall),
        line(Metric::IdleKibPerConnectionLarge),
        line(Metric::IdleGuestKibPerConnection),
        line(Metric::SingleRequestsPerSecWithIdle),
        line(Metric::IdleSlowdown),
        line(Metric::CpuAfterVanish),
        line(Metric::QuietAfterVanishSecs),
        line(Metric::EchoAfterVanishMillis),
        line(Metric::FreshAfterVanishMillis),
    ],
    tls: false,
};

/// A probe client's 32-byte echoes while other clients misbehave.
pub const PROBE: Table = Table {
    title: "Hostile clients: a probe client's echo latency meanwhile",
    columns: &[
        chunk(Metric::FloodProbeP50Millis),
        chunk(Metric::FloodProbeP99Millis),
        chunk(Metric::FloodProbeMaxMillis),
        line(Metric::FloodProbeP50Millis),
        line(Metric::FloodProbeP99Millis),
        line(Metric::FloodProbeMaxMillis),
        line(Metric::NoReadProbeP50Millis),
        line(Metric::NoReadProbeP99Millis),
        line(Metric::NoReadProbeMaxMillis),
        line(Metric::SlowlorisProbeP50Millis),
        line(Metric::SlowlorisProbeP99Millis),
        line(Metric::SlowlorisProbeMaxMillis),
    ],
    tls: false,
};

/// What the hostile clients cost the server.
pub const COST: Table = Table {
    title: "Hostile clients: what they cost the server",
    columns: &[
        chunk(Metric::FloodMibPerSec),
        line(Metric::FloodMibPerSec),
        line(Metric::SlowlorisCpuPercent),
        line(Metric::FdLimitCpuPercent),
        line(Metric::FdLimitLogLinesPerSec),
        line(Metric::FdLimitEchoMillis),
        line(Metric::FdLimitRecoveryMillis),
    ],
    tls: false,
};

pub const STARTUP: Table = Table {
    title: "Startup, spawn to `Serving on` (ms; for ours the first start has an empty wasmtime cache)",
    columns: &[no_echo(Metric::FirstStartMillis), no_echo(Metric::SecondStartMillis)],
    tls: false,
};

/// The echoes over TLS: the same run-time certificate on every server, full handshakes.
pub const TLS: Table = Table {
    title: "TLS (every server with the same certificate; full handshakes, no resumption)",
    columns: &[
        line(Metric::TlsHandshakesPerSec),
        line(Metric::TlsHandshakeCpuMicros),
        line(Metric::TlsSingleRequestsPerSec),
        line(Metric::TlsSingleP99Micros),
        chunk(Metric::TlsBulkMibPerSec),
        chunk(Metric::TlsBulkCpuMillisPerMib),
    ],
    tls: true,
};

pub const TABLES: [Table; 5] = [THROUGHPUT, PROBE, COST, TLS, STARTUP];
