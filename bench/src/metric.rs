//! What is measured: the report's columns, which way is better, and how each is printed.

use crate::scenario::idle::{FRESH_CONNECTIONS, QUIET_LIMIT};
use crate::servers::ServerKind;

/// One number a scenario run yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// `lines`, 1 connection, 1 line in flight, 64-byte lines.
    SingleRequestsPerSec,
    SingleP99Micros,
    /// `lines`, 64 connections × 16 in flight, 64-byte lines.
    PipelinedRequestsPerSec,
    /// Fewest / most lines served per connection in the measurement window.
    PipelinedFairness,
    /// `lines`, 256 connections × 4 in flight, 1 KiB lines.
    LargeLinesRequestsPerSec,
    BulkMibPerSec,
    ChurnConnectionsPerSec,
    /// Server RSS growth per idle connection with the smaller / larger idle count held.
    IdleKibPerConnectionSmall,
    IdleKibPerConnectionLarge,
    /// For ours: growth of the guest's linear memory per idle connection (the larger count),
    /// from what the host reports (`WASIO_MEMORY_REPORT`); part of the RSS figure.
    IdleGuestKibPerConnection,
    /// `lines` with 1 connection while the larger idle count is held open.
    SingleRequestsPerSecWithIdle,
    /// 1-connection req/s on the same server before the idle connections ÷ with them held:
    /// the wake-up cost of idle connections (target ≤ 1.2).
    IdleSlowdown,
    /// After the larger idle count vanished at once: the server's CPU use (% of one core) over
    /// 1 s once it went quiet. About 100 = spinning.
    CpuAfterVanish,
    /// Seconds from the vanish until the server's CPU use went quiet (the bound if it never did).
    QuietAfterVanishSecs,
    /// Then connect + one echoed 64-byte line on a new connection.
    EchoAfterVanishMillis,
    /// Then 100 new connections, 16 at a time, each echoing one line.
    FreshAfterVanishMillis,
    /// `flood`: the probe's echo latency while one connection streams the bulk payload, and
    /// that stream's rate.
    FloodProbeP50Millis,
    FloodProbeP99Millis,
    FloodProbeMaxMillis,
    FloodMibPerSec,
    /// `noread`: the probe's echo latency while 50 peers send and never read.
    NoReadProbeP50Millis,
    NoReadProbeP99Millis,
    NoReadProbeMaxMillis,
    /// `slowloris`: the probe's echo latency while many connections send a byte a second,
    /// and the server's CPU use (% of one core) meanwhile.
    SlowlorisProbeP50Millis,
    SlowlorisProbeP99Millis,
    SlowlorisProbeMaxMillis,
    SlowlorisCpuPercent,
    /// `fdlimit` (server under a low RLIMIT_NOFILE, more clients than descriptors): its CPU use
    /// and the lines it logs per second at the limit, an echo on a connection it had accepted,
    /// and the time until a new connection echoes after the clients go.
    FdLimitCpuPercent,
    FdLimitLogLinesPerSec,
    FdLimitEchoMillis,
    FdLimitRecoveryMillis,
    FirstStartMillis,
    SecondStartMillis,
    /// `tls`: connections per second, each connect + full handshake + one echoed line + close.
    TlsHandshakesPerSec,
    /// The server's CPU time (all threads) per such connection, in µs: what a handshake costs
    /// it, whether or not the client kept it busy.
    TlsHandshakeCpuMicros,
    /// `tls`: 1 connection, 1 line in flight, 64-byte lines, as `lines`.
    TlsSingleRequestsPerSec,
    TlsSingleP99Micros,
    /// `tls`: the bulk payload over one connection, as `bulk`.
    TlsBulkMibPerSec,
    /// The server's CPU time (all threads) per MiB echoed, in ms: what the stream costs it.
    TlsBulkCpuMillisPerMib,
    /// `scaling`, during the 64×16 run: the server's CPU use (all threads) and the load
    /// generator's, in % of one core (a load generator near 100 limited the run).
    ScalingServerCpuPercent,
    ScalingLoadGeneratorCpuPercent,
}

impl Metric {
    /// The column header; `idle_counts` are the (smaller, larger) idle connection counts.
    pub fn header(self, idle_counts: (usize, usize)) -> String {
        match self {
            Metric::SingleRequestsPerSec => "1 conn req/s".into(),
            Metric::SingleP99Micros => "1 conn p99 µs".into(),
            Metric::PipelinedRequestsPerSec => "64 conns ×16 req/s".into(),
            Metric::PipelinedFairness => "64-conn fairness".into(),
            Metric::LargeLinesRequestsPerSec => "256 conns ×4 ×1 KiB req/s".into(),
            Metric::BulkMibPerSec => "bulk MiB/s".into(),
            Metric::ChurnConnectionsPerSec => "churn conn/s".into(),
            Metric::IdleKibPerConnectionSmall => {
                format!("KiB/idle conn @{}", thousands(idle_counts.0))
            }
            Metric::IdleKibPerConnectionLarge => {
                format!("KiB/idle conn @{}", thousands(idle_counts.1))
            }
            Metric::IdleGuestKibPerConnection => {
                format!("guest KiB/idle conn @{}", thousands(idle_counts.1))
            }
            Metric::SingleRequestsPerSecWithIdle => {
                format!("1 conn req/s, {} idle", thousands(idle_counts.1))
            }
            Metric::IdleSlowdown => format!("slowdown with {} idle", thousands(idle_counts.1)),
            Metric::CpuAfterVanish => format!("CPU % after {} vanish", thousands(idle_counts.1)),
            Metric::QuietAfterVanishSecs => "quiet after vanish s".into(),
            Metric::EchoAfterVanishMillis => "echo after vanish ms".into(),
            Metric::FreshAfterVanishMillis => format!("{FRESH_CONNECTIONS} new conns after vanish ms"),
            Metric::FloodProbeP50Millis => "flood: probe p50 ms".into(),
            Metric::FloodProbeP99Millis => "flood: probe p99 ms".into(),
            Metric::FloodProbeMaxMillis => "flood: probe max ms".into(),
            Metric::FloodMibPerSec => "flood MiB/s".into(),
            Metric::NoReadProbeP50Millis => "noread: probe p50 ms".into(),
            Metric::NoReadProbeP99Millis => "noread: probe p99 ms".into(),
            Metric::NoReadProbeMaxMillis => "noread: probe max ms".into(),
            Metric::SlowlorisProbeP50Millis => "slowloris: probe p50 ms".into(),
            Metric::SlowlorisProbeP99Millis => "slowloris: probe p99 ms".into(),
            Metric::SlowlorisProbeMaxMillis => "slowloris: probe max ms".into(),
            Metric::SlowlorisCpuPercent => "slowloris CPU %".into(),
            Metric::FdLimitCpuPercent => "CPU % at fd limit".into(),
            Metric::FdLimitLogLinesPerSec => "log lines/s at fd limit".into(),
            Metric::FdLimitEchoMillis => "echo at fd limit ms".into(),
            Metric::FdLimitRecoveryMillis => "recovery after fd limit ms".into(),
            Metric::FirstStartMillis => "first start ms (empty cache)".into(),
            Metric::SecondStartMillis => "second start ms (cached)".into(),
            Metric::TlsHandshakesPerSec => "TLS handshakes/s".into(),
            Metric::TlsHandshakeCpuMicros => "server CPU µs/handshake".into(),
            Metric::TlsSingleRequestsPerSec => "TLS 1 conn req/s".into(),
            Metric::TlsSingleP99Micros => "TLS 1 conn p99 µs".into(),
            Metric::TlsBulkMibPerSec => "TLS bulk MiB/s".into(),
            Metric::TlsBulkCpuMillisPerMib => "server CPU ms/MiB".into(),
            Metric::ScalingServerCpuPercent => "server CPU % (64×16)".into(),
            Metric::ScalingLoadGeneratorCpuPercent => "load generator CPU % (64×16)".into(),
        }
    }

    /// Measured over TLS (the tokio server is then tokio-rustls).
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            Metric::TlsHandshakesPerSec
                | Metric::TlsHandshakeCpuMicros
                | Metric::TlsSingleRequestsPerSec
                | Metric::TlsSingleP99Micros
                | Metric::TlsBulkMibPerSec
                | Metric::TlsBulkCpuMillisPerMib
        )
    }

    /// Whether `server` can have this number at all (the guest's memory: only ours).
    pub fn applies_to(self, server: ServerKind) -> bool {
        (self != Metric::IdleGuestKibPerConnection || server.is_ours())
            && (!self.is_tls() || server.serves_tls())
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::SingleP99Micros
                | Metric::TlsSingleP99Micros
                | Metric::TlsHandshakeCpuMicros
                | Metric::TlsBulkCpuMillisPerMib
                | Metric::FloodProbeP50Millis
                | Metric::FloodProbeP99Millis
                | Metric::FloodProbeMaxMillis
                | Metric::NoReadProbeP50Millis
                | Metric::NoReadProbeP99Millis
                | Metric::NoReadProbeMaxMillis
                | Metric::SlowlorisProbeP50Millis
                | Metric::SlowlorisProbeP99Millis
                | Metric::SlowlorisProbeMaxMillis
                | Metric::SlowlorisCpuPercent
                | Metric::FdLimitCpuPercent
                | Metric::FdLimitLogLinesPerSec
                | Metric::FdLimitEchoMillis
                | Metric::FdLimitRecoveryMillis
                | Metric::IdleSlowdown
                | Metric::IdleKibPerConnectionSmall
                | Metric::IdleKibPerConnectionLarge
                | Metric::IdleGuestKibPerConnection
                | Metric::CpuAfterVanish
                | Metric::QuietAfterVanishSecs
                | Metric::EchoAfterVanishMillis
                | Metric::FreshAfterVanishMillis
                | Metric::FirstStartMillis
                | Metric::SecondStartMillis
        )
    }

    pub fn format(self, value: f64) -> String {
        match self {
            Metric::PipelinedFairness => format!("{value:.2}"),
            Metric::IdleSlowdown => format!("{value:.2}×"),
            Metric::IdleKibPerConnectionSmall
            | Metric::IdleKibPerConnectionLarge
            | Metric::IdleGuestKibPerConnection => format!("{value:.1}"),
            Metric::CpuAfterVanish => format!("{value:.0}"),
            Metric::TlsBulkCpuMillisPerMib if value < 10.0 => format!("{value:.2}"),
            Metric::TlsBulkCpuMillisPerMib => format!("{value:.1}"),
            // Near the 5% and 1-line targets a whole number would hide the answer.
            Metric::SlowlorisCpuPercent | Metric::FdLimitCpuPercent | Metric::FdLimitLogLinesPerSec
                if value < 100.0 =>
            {
                format!("{value:.1}")
            }
            // A server still busy at the bound: it went quiet at some unknown time after it, if ever.
            Metric::QuietAfterVanishSecs if value >= QUIET_LIMIT.as_secs_f64() => format!("≥{value:.1}"),
            Metric::QuietAfterVanishSecs => format!("{value:.1}"),
            Metric::FloodProbeP50Millis
            | Metric::FloodProbeP99Millis
            | Metric::FloodProbeMaxMillis
            | Metric::NoReadProbeP50Millis
            | Metric::NoReadProbeP99Millis
            | Metric::NoReadProbeMaxMillis
            | Metric::SlowlorisProbeP50Millis
            | Metric::SlowlorisProbeP99Millis
            | Metric::SlowlorisProbeMaxMillis
                if value < 10.0 =>
            {
                format!("{value:.2}")
            }
            Metric::SingleP99Micros
            | Metric::TlsSingleP99Micros
            | Metric::FloodProbeP50Millis
            | Metric::FloodProbeP99Millis
            | Metric::FloodProbeMaxMillis
            | Metric::NoReadProbeP50Millis
            | Metric::NoReadProbeP99Millis
            | Metric::NoReadProbeMaxMillis
            | Metric::SlowlorisProbeP50Millis
            | Metric::SlowlorisProbeP99Millis
            | Metric::SlowlorisProbeMaxMillis
            | Metric::FdLimitEchoMillis
            | Metric::FdLimitRecoveryMillis
            | Metric::FirstStartMillis
            | Metric::SecondStartMillis
            | Metric::EchoAfterVanishMillis
            | Metric::FreshAfterVanishMillis
                if value < 100.0 =>
            {
                format!("{value:.1}")
            }
            _ => with_separators(value.round() as i64),
        }
    }
}

/// `10000` → `10k`, `1500` → `1,500`.
pub fn thousands(count: usize) -> String {
    if count >= 1000 && count.is_multiple_of(1000) {
        format!("{}k", count / 1000)
    } else {
        with_separators(count as i64)
    }
}

/// `1234567` → `1,234,567`.
pub fn with_separators(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_separators() {
        assert_eq!(with_separators(125_310), "125,310");
        assert_eq!(with_separators(999), "999");
        assert_eq!(with_separators(-1_000), "-1,000");
        assert_eq!(thousands(10_000), "10k");
        assert_eq!(thousands(9_500), "9,500");
    }

    #[test]
    fn a_server_never_quiet_shows_the_bound_as_at_least() {
        assert_eq!(Metric::QuietAfterVanishSecs.format(0.4), "0.4");
        assert_eq!(Metric::QuietAfterVanishSecs.format(QUIET_LIMIT.as_secs_f64()), "≥5.0");
    }
}
