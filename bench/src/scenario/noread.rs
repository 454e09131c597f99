//! `noread`: peers that send and never read. Each connects and echoes one line (so the server
//! serves it), then writes the bulk payload's lines until its writes block, because the
//! server's echo to it backs up, or the window ends; meanwhile the [probe](super::probe)
//! measures another client's echoes. A server must stop reading a peer whose echo it cannot
//! deliver (asyncio: `drain` waits) and go on serving the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::bulk_payload::BulkPayload;
use crate::scenario::echo_once::open_many;
use crate::scenario::probe::{Probe, ProbeOutcome};

pub const PEERS: usize = 50;
/// The most one peer sends: bounds the loop when a server reads without ever echoing back.
const MAX_BYTES_PER_PEER: u64 = 256 << 20;
const OPEN_CONCURRENCY: usize = 16;

pub struct NoReadOutcome {
    /// What the peers got into their connections before their writes blocked, in all.
    pub bytes_sent: u64,
    pub probe: ProbeOutcome,
}

impl NoReadOutcome {
    pub fn summary(&self) -> String {
        format!("{PEERS} peers sent {} MiB unread; {}", self.bytes_sent >> 20, self.probe.summary())
    }
}

pub async fn run(
    address: SocketAddr,
    payload: Arc<BulkPayload>,
    write_size: usize,
    duration: Duration,
    io_timeout: Duration,
) -> Result<NoReadOutcome> {
    let peers = open_many(address, "no-read peer", 1..PEERS + 1, OPEN_CONCURRENCY, io_timeout).await?;
    let probe = Probe::start(address, 0, io_timeout).await?;
    let stop_at = Instant::now() + duration;
    let mut senders = JoinSet::new();
    for peer in peers {
        senders.spawn(send_until_blocked(peer, Arc::clone(&payload), write_size, stop_at));
    }
    let mut bytes_sent = 0;
    let mut peers = Vec::with_capacity(PEERS);
    while let Some(joined) = senders.join_next().await {
        let (peer, sent) = joined.context("a no-read peer panicked")??;
        bytes_sent += sent;
        peers.push(peer);
    }
    tokio::time::sleep_until(stop_at).await;
    let probe = probe.finish().await?;
    // Closed with the echo unread: the server sees resets.
    drop(peers);
    Ok(NoReadOutcome { bytes_sent, probe })
}

/// Writes the payload until `stop_at` (a write that blocks till then is the point: the server
/// stopped reading) or [`MAX_BYTES_PER_PEER`]; returns the peer, still open, and what it sent.
async fn send_until_blocked(
    mut peer: TcpStream,
    payload: Arc<BulkPayload>,
    write_size: usize,
    stop_at: Instant,
) -> Result<(TcpStream, u64)> {
    let mut offset = 0u64;
    while offset < MAX_BYTES_PER_PEER {
        let chunk = payload.slice(offset, write_size);
        match tokio::time::timeout_at(stop_at, peer.write_all(chunk)).await {
            Ok(written) => written.with_context(|| format!("a no-read peer writing at byte {offset}"))?,
            Err(_) => break,
        }
        offset += chunk.len() as u64;
    }
    Ok((peer, offset))
}
