//! `lines`: C connections each keep D newline-terminated lines of S bytes in flight (a new one
//! goes out for each echo that comes back), for a warm-up and then a measured window. Every
//! echoed line is checked; latency is from the write of a line to the read that completed its
//! echo.

use std::collections::VecDeque;
use std::iter::repeat_n;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::deadline::within;
use crate::line_payload::{excerpt, LineTemplate};
use crate::server_close::{expect_close, ServerClose};

/// Connections × lines in flight per connection × line length (newline included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinesShape {
    pub connections: usize,
    pub depth: usize,
    pub line_len: usize,
}

impl LinesShape {
    pub fn label(&self) -> String {
        format!("{} conn ×{} ×{} B", self.connections, self.depth, self.line_len)
    }
}

pub struct LinesOutcome {
    /// Lines echoed in the measured window, per second.
    pub requests_per_sec: f64,
    /// Nanoseconds, for the lines echoed in the measured window.
    pub latency: Histogram<u64>,
    /// Fewest / most lines echoed on one connection in the measured window.
    pub fairness: f64,
    /// Connections the server closed without a TLS close_notify.
    pub closed_without_close_notify: usize,
}

impl LinesOutcome {
    pub fn latency_micros(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1_000.0
    }

    pub fn summary(&self) -> String {
        format!(
            "{:.0} req/s, latency p50 {:.1} µs p99 {:.1} µs p99.9 {:.1} µs, fairness {:.2}",
            self.requests_per_sec,
            self.latency_micros(0.5),
            self.latency_micros(0.99),
            self.latency_micros(0.999),
            self.fairness
        )
    }
}

/// When lines count, and when connections stop sending.
#[derive(Clone, Copy)]
struct Window {
    measure_from: Instant,
    stop_at: Instant,
}

impl Window {
    fn contains(&self, at: Instant) -> bool {
        at >= self.measure_from && at < self.stop_at
    }
}

/// What one connection did in the window.
struct ConnectionCount {
    served: u64,
    latency: Histogram<u64>,
    close: ServerClose,
}

pub fn latency_histogram() -> Histogram<u64> {
    // 1 ns to 100 s at 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs `shape` against `address` over TCP: `warmup`, then `duration` measured.
pub async fn run(
    address: SocketAddr,
    shape: LinesShape,
    warmup: Duration,
    duration: Duration,
    io_timeout: Duration,
) -> Result<LinesOutcome> {
    let mut streams = Vec::with_capacity(shape.connections);
    for connection in 0..shape.connections {
        let stream = within(
            io_timeout,
            || format!("connecting connection {connection} to {address}"),
            TcpStream::connect(address),
        )
        .await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    run_on(streams, shape, warmup, duration, io_timeout).await
}

/// Runs `shape` on `streams` (one per connection, already open: TCP or TLS).
pub async fn run_on<S>(
    streams: Vec<S>,
    shape: LinesShape,
    warmup: Duration,
    duration: Duration,
    io_timeout: Duration,
) -> Result<LinesOutcome>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let begin = Instant::now();
    let window = Window { measure_from: begin + warmup, stop_at: begin + warmup + duration };
    let mut connections = JoinSet::new();
    for (connection, stream) in streams.into_iter().enumerate() {
        connections.spawn(drive_connection(connection, stream, shape, window, io_timeout));
    }
    let mut latency = latency_histogram();
    let mut served = Vec::with_capacity(shape.connections);
    let mut closed_without_close_notify = 0;
    // The first failing connection ends the run; dropping the JoinSet aborts the others.
    while let Some(joined) = connections.join_next().await {
        let count = joined.context("a connection task panicked")??;
        latency.add(&count.latency).context("merging latency histograms")?;
        served.push(count.served);
        closed_without_close_notify += usize::from(count.close == ServerClose::WithoutCloseNotify);
    }
    let most = served.iter().copied().max().unwrap_or(0);
    let fewest = served.iter().copied().min().unwrap_or(0);
    if most == 0 {
        bail!("no line was echoed in the measured window");
    }
    Ok(LinesOutcome {
        requests_per_sec: served.iter().sum::<u64>() as f64 / duration.as_secs_f64(),
        latency,
        fairness: fewest as f64 / most as f64,
        closed_without_close_notify,
    })
}

async fn drive_connection<S: AsyncRead + AsyncWrite + Unpin>(
    connection: usize,
    mut stream: S,
    shape: LinesShape,
    window: Window,
    io_timeout: Duration,
) -> Result<ConnectionCount> {
    let template = LineTemplate::new(connection, shape.line_len);
    let line_len = shape.line_len;
    let mut count = ConnectionCount { served: 0, latency: latency_histogram(), close: ServerClose::Clean };
    let mut sent_at: VecDeque<Instant> = VecDeque::with_capacity(shape.depth);
    let mut next_to_send = 0u64;
    let mut next_to_check = 0u64;
    let mut outgoing = Vec::with_capacity(shape.depth * line_len);
    let mut incoming = vec![0u8; (shape.depth * line_len).max(64 << 10)];
    let mut filled = 0;

    for _ in 0..shape.depth {
        template.append(next_to_send, &mut outgoing);
        next_to_send += 1;
    }
    sent_at.extend(repeat_n(Instant::now(), shape.depth));
    write_and_flush(&mut stream, &outgoing, connection, io_timeout).await?;

    while !sent_at.is_empty() {
        let read = within(
            io_timeout,
            || format!("connection {connection}: waiting for the echo of line {next_to_check}"),
            stream.read(&mut incoming[filled..]),
        )
        .await?;
        if read == 0 {
            bail!(
                "connection {connection}: the server closed the connection with {} line(s) not echoed",
                sent_at.len()
            );
        }
        filled += read;
        if filled > sent_at.len() * line_len {
            bail!(
                "connection {connection}: the server sent more than was sent to it: {}",
                excerpt(&incoming[..filled])
            );
        }
        let now = Instant::now();
        let mut consumed = 0;
        while filled - consumed >= line_len {
            let echoed = &incoming[consumed..consumed + line_len];
            if !template.matches(next_to_check, echoed) {
                bail!(
                    "connection {connection}: line {next_to_check} came back as {}, expected {}",
                    excerpt(echoed),
                    excerpt(&template.line(next_to_check))
                );
            }
            let sent = sent_at.pop_front().expect("checked: no more bytes than lines sent");
            if window.contains(now) {
                count.served += 1;
                count.latency.saturating_record(now.duration_since(sent).as_nanos() as u64);
            }
            next_to_check += 1;
            consumed += line_len;
        }
        incoming.copy_within(consumed..filled, 0);
        filled -= consumed;
        let answered = consumed / line_len;
        if answered > 0 && now < window.stop_at {
            outgoing.clear();
            for _ in 0..answered {
                template.append(next_to_send, &mut outgoing);
                next_to_send += 1;
            }
            sent_at.extend(repeat_n(now, answered));
            write_and_flush(&mut stream, &outgoing, connection, io_timeout).await?;
        }
    }
    // Close our side; the server should close its side without sending anything more.
    within(io_timeout, || format!("connection {connection}: closing"), stream.shutdown()).await?;
    count.close = expect_close(&mut stream, || format!("connection {connection}"), io_timeout).await?;
    Ok(count)
}

/// Writes `bytes` and flushes: over TLS the last record may wait in the session until
/// flushed; on TCP the flush does nothing.
async fn write_and_flush<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    connection: usize,
    io_timeout: Duration,
) -> Result<()> {
    within(io_timeout, || format!("connection {connection}: writing"), async {
        stream.write_all(bytes).await?;
        stream.flush().await
    })
    .await
}
