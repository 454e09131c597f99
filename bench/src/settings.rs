//! How long and how big: the default measurement, or `--quick`.

use std::time::Duration;

use crate::cli::RunArgs;

/// Everything a run's size depends on.
#[derive(Clone, Debug)]
pub struct Settings {
    pub quick: bool,
    pub repetitions: usize,
    /// Before each `lines` measurement window: connections are busy, nothing is counted.
    pub warmup: Duration,
    /// The `lines` measurement window.
    pub duration: Duration,
    pub bulk_bytes: u64,
    /// What the `flood` connection streams (the bulk payload's lines, this long).
    pub flood_bytes: u64,
    pub bulk_write_size: usize,
    pub churn_connections: usize,
    pub churn_concurrency: usize,
    /// Idle connection counts at which the server's RSS is read: the smaller, the larger.
    pub idle_counts: Vec<usize>,
    /// Connections opened at once while building up the idle set.
    pub idle_open_concurrency: usize,
    /// `noread`: how long the 50 peers send while the probe measures.
    pub noread_duration: Duration,
    /// `slowloris`: connections dripping a byte a second each, and for how long.
    pub slowloris_connections: usize,
    pub slowloris_duration: Duration,
    /// `fdlimit`: the server's RLIMIT_NOFILE, the clients that connect (more than it can
    /// hold), and how long they are held while its CPU and log are read.
    pub fdlimit_open_files: u64,
    pub fdlimit_clients: usize,
    pub fdlimit_window: Duration,
    /// `tls`: connections the handshake run opens (each a full handshake), and how many at a time.
    pub tls_handshakes: usize,
    pub tls_handshake_concurrency: usize,
    /// The longest any single read, write or connect may take before the server is declared stuck.
    pub io_timeout: Duration,
    /// The longest a server may take to print `Serving on` (a cold compile included).
    pub startup_timeout: Duration,
}

impl Settings {
    pub fn from_args(args: &RunArgs) -> Settings {
        let quick = args.quick;
        let seconds = |value: Option<f64>, default: f64, quick_default: f64| {
            Duration::from_secs_f64(value.unwrap_or(if quick { quick_default } else { default }))
        };
        Settings {
            quick,
            repetitions: args.repetitions.unwrap_or(if quick { 1 } else { 3 }).max(1),
            warmup: seconds(args.warmup, 0.5, 0.2),
            duration: seconds(args.duration, 3.0, 1.0),
            bulk_bytes: if quick { 64 << 20 } else { 256 << 20 },
            flood_bytes: args.flood_mib.unwrap_or(if quick { 64 } else { 256 }).max(1) << 20,
            bulk_write_size: 64 << 10,
            churn_connections: if quick { 500 } else { 2_000 },
            churn_concurrency: 32,
            // compose-echo takes about a minute to accept 10,000 connections: too long for a check.
            idle_counts: if quick { vec![1_000, 2_000] } else { vec![1_000, 10_000] },
            idle_open_concurrency: 64,
            noread_duration: seconds(None, 5.0, 2.0),
            slowloris_connections: if quick { 1_000 } else { 2_000 },
            slowloris_duration: seconds(None, 10.0, 3.0),
            fdlimit_open_files: 1_024,
            fdlimit_clients: 2_000,
            fdlimit_window: seconds(None, 5.0, 2.0),
            tls_handshakes: if quick { 500 } else { 2_000 },
            tls_handshake_concurrency: 32,
            io_timeout: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(60),
        }
    }
}
