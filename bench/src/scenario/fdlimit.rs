//! `fdlimit`: the server runs under a low open-file limit (`ulimit -n`, set for its process
//! alone) and more clients connect than it can hold descriptors for. The first few echo a
//! line (the server serves them), the rest only connect (the kernel completes a handshake
//! whether or not the server can accept). While they are held, the server's CPU use and the
//! lines it logs per second are read — a server that retries `accept` at once on EMFILE spins
//! and logs every failure — and one of the first connections must still echo. Then every
//! client goes, and the time until a new connection echoes is the recovery.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::process_cpu::CpuSample;
use crate::scenario::echo_once::{connect_and_echo, echo_line, open_many};
use crate::servers::RunningServer;

/// Clients that echo a line before the others connect: the server surely has these.
const SERVED_CLIENTS: usize = 100;
const SERVED_CONCURRENCY: usize = 16;
/// The others connect this many at a time, each given this long (a connection the kernel
/// cannot queue waits for SYN retries; it is counted, not waited for).
const CONNECT_CONCURRENCY: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// After the last connect, before the window: time to run into the limit.
const SETTLE: Duration = Duration::from_millis(500);
/// Recovery: each attempt to connect and echo may take this long, all of them this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(20);
const RETRY_PAUSE: Duration = Duration::from_millis(20);

pub struct FdLimitSetup {
    pub clients: usize,
    pub window: Duration,
    pub io_timeout: Duration,
}

pub struct FdLimitOutcome {
    /// Clients whose connect completed, of those that tried.
    pub connected: usize,
    pub clients: usize,
    /// The server's open descriptors in the window (for ours, the host's).
    pub descriptors: usize,
    /// Its CPU use and the lines it printed (stdout + stderr) over the window.
    pub cpu: CpuSample,
    pub log_lines: u64,
    /// An echo on one of the first clients, in the window.
    pub echo: Duration,
    /// From the clients' closes to a new connection's echo.
    pub recovery: Duration,
}

impl FdLimitOutcome {
    pub fn log_lines_per_sec(&self) -> f64 {
        self.log_lines as f64 / self.cpu.wall.as_secs_f64().max(1e-9)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} of {} clients connected, server holds {} descriptors; at the limit {:.1}% CPU, {} log \
             lines ({:.1}/s), an old connection echoed in {:.1} ms; recovered {:.0} ms after the clients went",
            self.connected,
            self.clients,
            self.descriptors,
            self.cpu.percent_of_core(),
            self.log_lines,
            self.log_lines_per_sec(),
            self.echo.as_secs_f64() * 1e3,
            self.recovery.as_secs_f64() * 1e3
        )
    }
}

pub async fn run(server: &RunningServer, setup: &FdLimitSetup) -> Result<FdLimitOutcome> {
    let address = server.address;
    let served_count = SERVED_CLIENTS.min(setup.clients);
    let mut served =
        open_many(address, "fd-limit client", 0..served_count, SERVED_CONCURRENCY, setup.io_timeout).await?;
    let others = connect_many(address, setup.clients - served_count).await;
    let connected = served.len() + others.len();
    tokio::time::sleep(SETTLE).await;

    let lines_before = server.output_lines()?;
    let mut meter = server.cpu_meter()?;
    let window_end = Instant::now() + setup.window;
    tokio::time::sleep(setup.window / 2).await;
    let descriptors = server.open_descriptors()?;
    let started = Instant::now();
    let first = served.first_mut().ok_or_else(|| anyhow!("no client to echo at the limit"))?;
    echo_line(first, "fd-limit client", 0, 1, setup.io_timeout)
        .await
        .context("a connection the server had accepted, at the limit")?;
    let echo = started.elapsed();
    tokio::time::sleep_until(window_end).await;
    let cpu = meter.sample()?;
    let log_lines = server.output_lines()?.saturating_sub(lines_before);

    drop(served);
    drop(others);
    let recovery = recover(server, setup.clients).await?;
    Ok(FdLimitOutcome { connected, clients: setup.clients, descriptors, cpu, log_lines, echo, recovery })
}

/// Connects `count` clients, [`CONNECT_CONCURRENCY`] at a time; those that connect within
/// [`CONNECT_TIMEOUT`].
async fn connect_many(address: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut connected = Vec::with_capacity(count);
    let mut remaining = count;
    while remaining > 0 {
        let batch = remaining.min(CONNECT_CONCURRENCY);
        remaining -= batch;
        let mut connects = JoinSet::new();
        for _ in 0..batch {
            connects.spawn(tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)));
        }
        while let Some(joined) = connects.join_next().await {
            if let Ok(Ok(Ok(stream))) = joined {
                connected.push(stream);
            }
        }
    }
    connected
}

/// The time until a new connection echoes a line, retrying within [`RECOVERY_LIMIT`].
async fn recover(server: &RunningServer, id: usize) -> Result<Duration> {
    let started = Instant::now();
    let mut last_error = None;
    while started.elapsed() < RECOVERY_LIMIT {
        match connect_and_echo(server.address, "new connection after the fd limit", id, ATTEMPT_TIMEOUT).await
        {
            Ok(_) => return Ok(started.elapsed()),
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    Err(anyhow!(
        "no new connection echoed within {RECOVERY_LIMIT:?} after the clients went: {:#}",
        last_error.unwrap_or_else(|| anyhow!("no attempt made"))
    ))
}
