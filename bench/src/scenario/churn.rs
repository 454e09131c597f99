//! `churn`: many short connections, a fixed number at a time: connect, send one line, read
//! the echo back and check it, close.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use crate::scenario::echo_once::connect_and_echo;
use crate::scenario::lines::latency_histogram;

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
                connect_and_echo(address, "connection", index, io_timeout).await?;
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
