//! `slowloris`: many connections, each echoing one line (so the server serves it) and then
//! sending one byte a second, never a newline, spread evenly over each second; meanwhile the
//! [probe](super::probe) measures another client's echoes and the server's CPU use is read.
//! What each one-byte event costs the server shows in both.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::process_cpu::CpuSample;
use crate::scenario::echo_once::open_many;
use crate::scenario::probe::{Probe, ProbeOutcome};
use crate::servers::RunningServer;

const OPEN_CONCURRENCY: usize = 64;
/// The byte each connection drips: no newline, so a line echo never completes a line.
const DRIP: &[u8] = b"x";

pub struct SlowlorisOutcome {
    pub connections: usize,
    /// Drips sent, and those that could not be (the connection was closed or reset by the
    /// server, or its buffer full): a server may drop such peers.
    pub drips: u64,
    pub refused: u64,
    /// The server's CPU use over the dripping window.
    pub cpu: CpuSample,
    pub probe: ProbeOutcome,
}

impl SlowlorisOutcome {
    pub fn summary(&self) -> String {
        format!(
            "{} conns, {} bytes dripped ({} refused), server CPU {:.1}%; {}",
            self.connections,
            self.drips,
            self.refused,
            self.cpu.percent_of_core(),
            self.probe.summary()
        )
    }
}

pub async fn run(
    server: &RunningServer,
    connections: usize,
    duration: Duration,
    io_timeout: Duration,
) -> Result<SlowlorisOutcome> {
    let address: SocketAddr = server.address;
    let streams =
        open_many(address, "slowloris connection", 1..connections + 1, OPEN_CONCURRENCY, io_timeout).await?;
    let probe = Probe::start(address, 0, io_timeout).await?;
    let mut meter = server.cpu_meter()?;
    let (drips, refused) = drip(&streams, duration).await;
    let cpu = meter.sample()?;
    let probe = probe.finish().await?;
    drop(streams);
    Ok(SlowlorisOutcome { connections, drips, refused, cpu, probe })
}

/// Each second of `duration`, one byte on every stream, evenly spaced; returns the bytes sent
/// and the sends that failed or would have blocked.
async fn drip(streams: &[TcpStream], duration: Duration) -> (u64, u64) {
    let (mut sent, mut refused) = (0, 0);
    if streams.is_empty() {
        return (sent, refused);
    }
    let seconds = duration.as_secs_f64().ceil().max(1.0) as u32;
    let spacing = Duration::from_secs(1) / streams.len() as u32;
    let start = Instant::now();
    for second in 0..seconds {
        for (index, stream) in streams.iter().enumerate() {
            tokio::time::sleep_until(start + Duration::from_secs(second.into()) + spacing * index as u32)
                .await;
            match stream.try_write(DRIP) {
                Ok(1) => sent += 1,
                _ => refused += 1,
            }
        }
    }
    // The window ends a second after the last round began.
    tokio::time::sleep_until(start + Duration::from_secs(seconds.into())).await;
    (sent, refused)
}
