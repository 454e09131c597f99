//! `churn`: many short connections, a fixed number at a time: connect, send one line, read
//! the echo back and check it, close.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::deadline::within;
use crate::line_payload::{excerpt, LineTemplate};
use crate::scenario::lines::latency_histogram;

const LINE_LEN: usize = 64;

pub struct ChurnOutcome {
    pub connections_per_sec: f64,
    /// Nanoseconds from connect to the checked echo, per connection.
    pub latency: Histogram<u64>,
}

impl ChurnOutcome {
    pub fn summary(&self) -> String {
        format!(
            "{:.0} conn/s, connect-to-echo p50 {:.0} µs p99 {:.0} µs",
            self.connections_per_sec,
            self.latency.value_at_quantile(0.5) as f64 / 1e3,
            self.latency.value_at_quantile(0.99) as f64 / 1e3
        )
    }
}

pub async fn run(
    address: SocketAddr,
    connections: usize,
    concurrency: usize,
    io_timeout: Duration,
) -> Result<ChurnOutcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(connections) {
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut latency = latency_histogram();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= connections {
                    return anyhow::Ok(latency);
                }
                let started = Instant::now();
                one_connection(address, index, io_timeout).await?;
                latency.saturating_record(started.elapsed().as_nanos() as u64);
            }
        });
    }
    let mut latency = latency_histogram();
    while let Some(joined) = workers.join_next().await {
        latency.add(joined.context("a churn worker panicked")??)?;
    }
    Ok(ChurnOutcome { connections_per_sec: connections as f64 / begin.elapsed().as_secs_f64(), latency })
}

async fn one_connection(address: SocketAddr, index: usize, io_timeout: Duration) -> Result<()> {
    let template = LineTemplate::new(index, LINE_LEN);
    let mut stream = within(
        io_timeout,
        || format!("connection {index}: connecting to {address}"),
        TcpStream::connect(address),
    )
    .await?;
    stream.set_nodelay(true)?;
    let line = template.line(0);
    within(io_timeout, || format!("connection {index}: writing"), stream.write_all(&line)).await?;
    let mut echoed = vec![0u8; LINE_LEN];
    within(
        io_timeout,
        || format!("connection {index}: waiting for the echo"),
        stream.read_exact(&mut echoed),
    )
    .await?;
    if echoed != line {
        bail!("connection {index}: the line came back as {}", excerpt(&echoed));
    }
    Ok(())
}
