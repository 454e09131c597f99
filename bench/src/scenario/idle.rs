//! `idle`: connections that are opened, echo one line (so the server has accepted and is
//! serving each), then stay silent. The server's RSS growth per connection is read at each
//! count. A 1-connection `lines` run before opening them and another with the most held
//! measure what idle connections cost a busy one (a server that wakes or scans every
//! connection per event slows down); both on the same server, so the ratio is not blurred by
//! where the scheduler happened to put a fresh server.
//!
//! Then all of them vanish at once (closed in one go, every other one with SO_LINGER 0 so it
//! resets), and the server must neither spin nor stall: a runtime that keeps polling dead
//! connections after a mass disconnect can sit at 100% CPU and stop accepting. Its CPU use is
//! read until it is quiet and over a window after that; then a new connection must echo a
//! line and a short churn of new connections must go through.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::net::TcpStream;

use crate::deadline::within;
use crate::process_cpu::{CpuMeter, CpuSample};
use crate::scenario::churn;
use crate::scenario::echo_once::{connect_and_echo, open_many};
use crate::scenario::lines::{self, LinesOutcome, LinesShape};
use crate::servers::RunningServer;

/// Connections opened and closed before the baseline RSS is read (as is the 1-connection run),
/// so one-time set-up of the first connections is not charged to the idle ones.
const WARMUP_CONNECTIONS: usize = 16;
/// Time for the server to finish its work after the last connection before its RSS is read.
const SETTLE: Duration = Duration::from_millis(300);
/// How often the server's CPU use is read while it digests the vanished connections.
const QUIET_SAMPLE: Duration = Duration::from_millis(100);
/// Quiet: below [`QUIET_PERCENT`] of a core over this many samples in a row, taken together
/// rather than each, since one clock tick (10 ms) is already 10% of a 100 ms sample.
const QUIET_SAMPLES: usize = 3;
const QUIET_PERCENT: f64 = 5.0;
/// The longest the server is given to go quiet; one still busy then is reported as this.
pub const QUIET_LIMIT: Duration = Duration::from_secs(5);
/// Once quiet (or at [`QUIET_LIMIT`]), the window over which its CPU use is reported.
const CPU_WINDOW: Duration = Duration::from_secs(1);
/// The short churn after the vanish: new connections, so many at a time.
pub const FRESH_CONNECTIONS: usize = 100;
pub const FRESH_CONCURRENCY: usize = 16;

pub struct IdleSetup {
    /// Ascending: RSS is read after each count is reached.
    pub counts: Vec<usize>,
    pub open_concurrency: usize,
    pub busy_shape: LinesShape,
    pub warmup: Duration,
    pub duration: Duration,
    pub io_timeout: Duration,
}

/// As far as the run got: a failure part-way keeps the counts already measured.
#[derive(Default)]
pub struct IdleOutcome {
    /// (connections held, server RSS growth per connection in KiB).
    pub kib_per_connection: Vec<(usize, f64)>,
    /// For ours: (connections held, guest linear memory growth per connection in KiB).
    pub guest_kib_per_connection: Vec<(usize, f64)>,
    /// How long opening all of them took (an idle set that is slow to build is a finding too).
    pub opening_time: Duration,
    /// The `lines` run before any idle connection.
    pub busy_alone: Option<LinesOutcome>,
    /// The `lines` run with the most idle connections held.
    pub busy_with_idle: Option<LinesOutcome>,
    /// What the server did once they all vanished at once.
    pub after_vanish: AfterVanish,
    pub failure: Option<anyhow::Error>,
}

/// How the server took all held connections vanishing at once, as far as it got.
#[derive(Default)]
pub struct AfterVanish {
    /// How many vanished (0: not got that far).
    pub connections: usize,
    /// When the server's CPU use went quiet after the closes.
    pub quiet: Option<Quiet>,
    /// Its CPU use in each sample until then, in % of one core: how it digested the closes,
    /// for the progress line.
    pub digest_percents: Vec<f64>,
    /// Its CPU use over [`CPU_WINDOW`] after that, in % of one core.
    pub cpu_percent: Option<f64>,
    /// Connect + one echoed line on a new connection.
    pub echo: Option<Duration>,
    /// [`FRESH_CONNECTIONS`] new connections, [`FRESH_CONCURRENCY`] at a time, each echoing a line.
    pub fresh: Option<Duration>,
}

/// When a server's CPU use went quiet after the connections vanished.
#[derive(Clone, Copy, Debug)]
pub enum Quiet {
    /// This long after the closes.
    After(Duration),
    /// Still busy at [`QUIET_LIMIT`]: spinning, or very slow to digest the closes.
    NotWithinLimit,
}

impl Quiet {
    /// In seconds, [`QUIET_LIMIT`] for a server that never went quiet.
    pub fn secs(self) -> f64 {
        match self {
            Quiet::After(after) => after.as_secs_f64(),
            Quiet::NotWithinLimit => QUIET_LIMIT.as_secs_f64(),
        }
    }
}

impl AfterVanish {
    fn summary(&self) -> Option<String> {
        let quiet = match self.quiet? {
            Quiet::After(after) => format!("quiet after {:.1} s", after.as_secs_f64()),
            Quiet::NotWithinLimit => format!("NOT quiet within {QUIET_LIMIT:?}"),
        };
        let percents: Vec<String> = self.digest_percents.iter().map(|p| format!("{p:.0}")).collect();
        let quiet = format!("{quiet} (CPU % per {QUIET_SAMPLE:?}: {})", percents.join(" "));
        let mut parts = vec![format!("{} vanished: {quiet}", self.connections)];
        if let Some(percent) = self.cpu_percent {
            parts.push(format!("then {percent:.0}% CPU over {CPU_WINDOW:?}"));
        }
        if let Some(echo) = self.echo {
            parts.push(format!("new connection echoed in {:.1} ms", echo.as_secs_f64() * 1e3));
        }
        if let Some(fresh) = self.fresh {
            parts.push(format!("{FRESH_CONNECTIONS} new connections in {:.0} ms", fresh.as_secs_f64() * 1e3));
        }
        Some(parts.join(", "))
    }
}

impl IdleOutcome {
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .kib_per_connection
            .iter()
            .map(|(count, kib)| format!("{kib:.1} KiB/conn @{count}"))
            .collect();
        if let Some(&(count, _)) = self.kib_per_connection.last() {
            parts.push(format!("{count} opened in {:.1} s", self.opening_time.as_secs_f64()));
        }
        if let Some(busy) = &self.busy_alone {
            parts.push(format!("busy connection alone: {:.0} req/s", busy.requests_per_sec));
        }
        if let Some(busy) = &self.busy_with_idle {
            parts.push(format!("with them idle: {}", busy.summary()));
        }
        parts.extend(self.after_vanish.summary());
        parts.join("; ")
    }
}

pub async fn run(server: &RunningServer, setup: &IdleSetup) -> IdleOutcome {
    let mut outcome = IdleOutcome::default();
    if let Err(error) = measure(server, setup, &mut outcome).await {
        outcome.failure = Some(error);
    }
    outcome
}

async fn measure(server: &RunningServer, setup: &IdleSetup, outcome: &mut IdleOutcome) -> Result<()> {
    let address = server.address;
    let warmup = open_many(
        address,
        "warm-up connection",
        0..WARMUP_CONNECTIONS,
        setup.open_concurrency,
        setup.io_timeout,
    )
    .await?;
    drop(warmup);
    let alone = lines::run(address, setup.busy_shape, setup.warmup, setup.duration, setup.io_timeout)
        .await
        .context("1-connection lines before the idle connections")?;
    outcome.busy_alone = Some(alone);
    tokio::time::sleep(SETTLE).await;
    let baseline = server.resident_kib()?;
    let guest_baseline = server.guest_memory_kib().transpose()?;

    let mut held: Vec<TcpStream> = Vec::new();
    for &count in &setup.counts {
        let opening = Instant::now();
        let more = open_many(
            address,
            "idle connection",
            held.len()..count,
            setup.open_concurrency,
            setup.io_timeout,
        )
        .await
        .with_context(|| format!("opening idle connections {}..{count}", held.len()))?;
        held.extend(more);
        outcome.opening_time += opening.elapsed();
        tokio::time::sleep(SETTLE).await;
        let resident = server.resident_kib()?;
        outcome.kib_per_connection.push((count, (resident as f64 - baseline as f64) / count as f64));
        if let (Some(before), Some(now)) = (guest_baseline, server.guest_memory_kib().transpose()?) {
            outcome.guest_kib_per_connection.push((count, (now as f64 - before as f64) / count as f64));
        }
    }

    let busy = lines::run(address, setup.busy_shape, setup.warmup, setup.duration, setup.io_timeout)
        .await
        .with_context(|| format!("1-connection lines with {} idle connections", held.len()))?;
    outcome.busy_with_idle = Some(busy);

    let mut probe = [0u8; 1];
    let closed = held
        .iter()
        .filter(|stream| !matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count();
    if closed > 0 {
        bail!("{closed} of {} idle connections were closed by the server or got data", held.len());
    }
    vanish(server, held, setup.io_timeout, &mut outcome.after_vanish).await
}

/// The longest [`vanish`] may take after the closes, besides the server's own timeouts.
pub fn vanish_time_limit(io_timeout: Duration) -> Duration {
    QUIET_LIMIT + CPU_WINDOW + io_timeout * 2
}

/// Closes all `held` connections in one go, every other one with SO_LINGER 0 so the server
/// sees resets as well as FINs, then checks that the server neither spins nor stalls. Its CPU
/// is measured before it is poked, so the new connections do not count in it and a server that
/// stopped accepting still shows whether it spins.
async fn vanish(
    server: &RunningServer,
    held: Vec<TcpStream>,
    io_timeout: Duration,
    after: &mut AfterVanish,
) -> Result<()> {
    let count = held.len();
    for stream in held.iter().skip(1).step_by(2) {
        stream.set_zero_linger().context("setting SO_LINGER 0 on an idle connection")?;
    }
    let mut meter = server.cpu_meter()?;
    drop(held);
    after.connections = count;
    after.quiet = Some(wait_until_quiet(&mut meter, &mut after.digest_percents).await?);
    tokio::time::sleep(CPU_WINDOW).await;
    after.cpu_percent = Some(meter.sample()?.percent_of_core());

    let address = server.address;
    let started = Instant::now();
    within(
        io_timeout,
        || format!("a new connection after the {count} idle ones vanished"),
        connect_and_echo(address, "connection", count, io_timeout),
    )
    .await?;
    after.echo = Some(started.elapsed());

    let started = Instant::now();
    within(
        io_timeout,
        || {
            format!(
                "{FRESH_CONNECTIONS} new connections, {FRESH_CONCURRENCY} at a time, after the {count} idle \
                 ones vanished"
            )
        },
        churn::run(address, FRESH_CONNECTIONS, FRESH_CONCURRENCY, io_timeout),
    )
    .await?;
    after.fresh = Some(started.elapsed());
    Ok(())
}

/// Reads the CPU `meter` every [`QUIET_SAMPLE`] until the last [`QUIET_SAMPLES`] together are
/// below [`QUIET_PERCENT`] of a core. Returns when that quiet stretch began, counted from the
/// meter's start. Each sample's CPU use goes to `percents`.
async fn wait_until_quiet(meter: &mut CpuMeter, percents: &mut Vec<f64>) -> Result<Quiet> {
    let mut recent: VecDeque<CpuSample> = VecDeque::with_capacity(QUIET_SAMPLES + 1);
    let mut elapsed = Duration::ZERO;
    while elapsed < QUIET_LIMIT {
        tokio::time::sleep(QUIET_SAMPLE).await;
        let sample = meter.sample().context("reading the server's CPU time after the vanish")?;
        elapsed += sample.wall;
        percents.push(sample.percent_of_core());
        recent.push_back(sample);
        if recent.len() > QUIET_SAMPLES {
            recent.pop_front();
        }
        let stretch = CpuSample::combined(&recent);
        if recent.len() == QUIET_SAMPLES && stretch.percent_of_core() < QUIET_PERCENT {
            return Ok(Quiet::After(elapsed - stretch.wall));
        }
    }
    Ok(Quiet::NotWithinLimit)
}
