//! The probe: a well-behaved client that echoes one short line at a time, with a short pause
//! between them, while other clients misbehave (`flood`, `noread`, `slowloris`). Its latency
//! is what one client's misbehaviour costs another's.
//!
//! It runs on a thread and runtime of its own: on the load generator's runtime it queued
//! behind the generator's own busy clients (a flood moves 1 GB/s each way through it),
//! and its tail measured the generator, not the server (the tokio server's probe p99 was
//! 10 ms under a flood, every server's about 7 ms).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::deadline::within;
use crate::line_payload::{excerpt, LineTemplate};
use crate::scenario::lines::latency_histogram;

/// Bytes of each probe line, newline included.
pub const PROBE_LINE_LEN: usize = 32;
/// The pause between one echo and the next line, so the probe samples the server's
/// responsiveness rather than adding load of its own.
pub const PROBE_GAP: Duration = Duration::from_millis(1);
/// Bounds the loop in count as well as time.
const MAX_ECHOES: u64 = 1_000_000;

/// A probe running on its own thread until [`Probe::finish`].
pub struct Probe {
    stop: Arc<AtomicBool>,
    measured: oneshot::Receiver<Result<Histogram<u64>>>,
    thread: std::thread::JoinHandle<()>,
}

/// The probe's echo latencies (nanoseconds) over the time it ran.
pub struct ProbeOutcome {
    pub latency: Histogram<u64>,
}

impl ProbeOutcome {
    pub fn millis(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1e6
    }

    pub fn max_millis(&self) -> f64 {
        self.latency.max() as f64 / 1e6
    }

    pub fn summary(&self) -> String {
        format!(
            "probe {} echoes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.latency.len(),
            self.millis(0.5),
            self.millis(0.99),
            self.max_millis()
        )
    }
}

impl Probe {
    /// Connects as connection `id` and echoes one line (so the server has accepted it and
    /// serves it), then starts measuring.
    pub async fn start(address: SocketAddr, id: usize, io_timeout: Duration) -> Result<Probe> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let (connected_tx, connected) = oneshot::channel::<Result<()>>();
        let (measured_tx, measured) = oneshot::channel();
        let thread = std::thread::Builder::new().name("probe".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = connected_tx.send(Err(error.into()));
                    return;
                }
            };
            runtime.block_on(async move {
                let template = LineTemplate::new(id, PROBE_LINE_LEN);
                let mut stream = match connect(address, &template, io_timeout).await {
                    Ok(stream) => {
                        let _ = connected_tx.send(Ok(()));
                        stream
                    }
                    Err(error) => {
                        let _ = connected_tx.send(Err(error));
                        return;
                    }
                };
                let _ = measured_tx.send(measure(&mut stream, &template, &stopped, io_timeout).await);
            });
        })?;
        connected.await.context("the probe thread ended")??;
        Ok(Probe { stop, measured, thread })
    }

    /// Stops the probe after the echo under way and returns what it measured.
    pub async fn finish(self) -> Result<ProbeOutcome> {
        self.stop.store(true, Ordering::Relaxed);
        let latency = self.measured.await.context("the probe thread ended")??;
        // It has sent its result: only its runtime is left to drop.
        let _ = self.thread.join();
        if latency.is_empty() {
            bail!("the probe echoed nothing while it measured");
        }
        Ok(ProbeOutcome { latency })
    }
}

/// Connects and echoes one line, so the server has accepted the connection and serves it.
async fn connect(address: SocketAddr, template: &LineTemplate, io_timeout: Duration) -> Result<TcpStream> {
    let mut stream =
        within(io_timeout, || format!("probe: connecting to {address}"), TcpStream::connect(address)).await?;
    stream.set_nodelay(true)?;
    echo_one(&mut stream, template, 0, io_timeout).await.context("the probe's first echo")?;
    Ok(stream)
}

/// Echoes a line at a time, [`PROBE_GAP`] apart, until `stop`; the round trips.
async fn measure(
    stream: &mut TcpStream,
    template: &LineTemplate,
    stop: &AtomicBool,
    io_timeout: Duration,
) -> Result<Histogram<u64>> {
    let mut latency = latency_histogram();
    for sequence in 1..=MAX_ECHOES {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // An echo under way when the stop comes is finished and counted: the slowest one is
        // often the one that matters.
        let elapsed = echo_one(stream, template, sequence, io_timeout).await?;
        latency.saturating_record(elapsed.as_nanos() as u64);
        tokio::time::sleep(PROBE_GAP).await;
    }
    Ok(latency)
}

/// Writes line `sequence`, reads its echo and checks it; returns the round trip.
async fn echo_one(
    stream: &mut TcpStream,
    template: &LineTemplate,
    sequence: u64,
    io_timeout: Duration,
) -> Result<Duration> {
    let line = template.line(sequence);
    let mut echoed = [0u8; PROBE_LINE_LEN];
    let started = Instant::now();
    within(io_timeout, || format!("probe: writing line {sequence}"), stream.write_all(&line)).await?;
    within(
        io_timeout,
        || format!("probe: waiting for the echo of line {sequence}"),
        stream.read_exact(&mut echoed),
    )
    .await?;
    let elapsed = started.elapsed();
    if !template.matches(sequence, &echoed) {
        bail!("probe: line {sequence} came back as {}", excerpt(&echoed));
    }
    Ok(elapsed)
}
