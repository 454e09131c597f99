//! `idle`: connections that are opened, echo one line (so the server has accepted and is
//! serving each), then stay silent. The server's RSS growth per connection is read at each
//! count. A 1-connection `lines` run before opening them and another with the most held
//! measure what idle connections cost a busy one (a server that wakes or scans every
//! connection per event slows down); both on the same server, so the ratio is not blurred by
//! where the scheduler happened to put a fresh server.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::deadline::within;
use crate::line_payload::{excerpt, LineTemplate};
use crate::scenario::lines::{self, LinesOutcome, LinesShape};
use crate::servers::RunningServer;

const LINE_LEN: usize = 64;
/// Connections opened and closed before the baseline RSS is read (as is the 1-connection run),
/// so one-time set-up of the first connections is not charged to the idle ones.
const WARMUP_CONNECTIONS: usize = 16;
/// Time for the server to finish its work after the last connection before its RSS is read.
const SETTLE: Duration = Duration::from_millis(300);

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
    /// How long opening all of them took (an idle set that is slow to build is a finding too).
    pub opening_time: Duration,
    /// The `lines` run before any idle connection.
    pub busy_alone: Option<LinesOutcome>,
    /// The `lines` run with the most idle connections held.
    pub busy_with_idle: Option<LinesOutcome>,
    pub failure: Option<anyhow::Error>,
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
    let warmup = open(address, 0..WARMUP_CONNECTIONS, setup.open_concurrency, setup.io_timeout).await?;
    drop(warmup);
    let alone = lines::run(address, setup.busy_shape, setup.warmup, setup.duration, setup.io_timeout)
        .await
        .context("1-connection lines before the idle connections")?;
    outcome.busy_alone = Some(alone);
    tokio::time::sleep(SETTLE).await;
    let baseline = server.resident_kib()?;

    let mut held: Vec<TcpStream> = Vec::new();
    for &count in &setup.counts {
        let opening = Instant::now();
        let more = open(address, held.len()..count, setup.open_concurrency, setup.io_timeout)
            .await
            .with_context(|| format!("opening idle connections {}..{count}", held.len()))?;
        held.extend(more);
        outcome.opening_time += opening.elapsed();
        tokio::time::sleep(SETTLE).await;
        let resident = server.resident_kib()?;
        outcome.kib_per_connection.push((count, (resident as f64 - baseline as f64) / count as f64));
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
    Ok(())
}

/// Opens connections `ids`, `concurrency` at a time, each echoing one line.
async fn open(
    address: SocketAddr,
    ids: Range<usize>,
    concurrency: usize,
    io_timeout: Duration,
) -> Result<Vec<TcpStream>> {
    let next = Arc::new(AtomicUsize::new(ids.start));
    let end = ids.end;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(ids.len()) {
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut opened = Vec::new();
            loop {
                let id = next.fetch_add(1, Ordering::Relaxed);
                if id >= end {
                    return anyhow::Ok(opened);
                }
                opened.push(open_one(address, id, io_timeout).await?);
            }
        });
    }
    let mut streams = Vec::with_capacity(ids.len());
    while let Some(joined) = workers.join_next().await {
        streams.extend(joined.context("an opening worker panicked")??);
    }
    Ok(streams)
}

async fn open_one(address: SocketAddr, id: usize, io_timeout: Duration) -> Result<TcpStream> {
    let template = LineTemplate::new(id, LINE_LEN);
    let mut stream = within(
        io_timeout,
        || format!("idle connection {id}: connecting to {address}"),
        TcpStream::connect(address),
    )
    .await?;
    stream.set_nodelay(true)?;
    let line = template.line(0);
    within(io_timeout, || format!("idle connection {id}: writing"), stream.write_all(&line)).await?;
    let mut echoed = vec![0u8; LINE_LEN];
    within(
        io_timeout,
        || format!("idle connection {id}: waiting for the echo"),
        stream.read_exact(&mut echoed),
    )
    .await?;
    if echoed != line {
        bail!("idle connection {id}: the line came back as {}", excerpt(&echoed));
    }
    Ok(stream)
}
