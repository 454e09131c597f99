//! `tls`: the echoes over TLS, every server presenting the same run-time certificate
//! ([`BenchPki`](crate::certs::BenchPki)) to the same client ([`TlsClient`]: full handshakes,
//! no resumption): handshakes (connect, handshake, one line, close, a fixed number at a time),
//! one connection's lines as in `lines`, and the bulk stream as in `bulk`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use crate::bulk_payload::BulkPayload;
use crate::deadline::within;
use crate::scenario::bulk::{self, BulkOutcome, Close};
use crate::scenario::echo_once::echo_line;
use crate::scenario::lines::{self, latency_histogram, LinesOutcome, LinesShape};
use crate::tls_client::TlsClient;

/// The `tls` runs the table has columns for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsCase {
    /// New connections, each a full handshake, one 64-byte line and a close.
    Handshakes,
    /// 1 connection, 1 line in flight, 64-byte lines.
    Single,
    /// The bulk payload over one connection.
    Bulk,
}

pub struct HandshakesOutcome {
    pub handshakes_per_sec: f64,
    /// Nanoseconds from connect to the checked echo, per connection.
    pub latency: Histogram<u64>,
}

impl HandshakesOutcome {
    pub fn summary(&self) -> String {
        format!(
            "{:.0} handshakes/s, connect-to-echo p50 {:.0} µs p99 {:.0} µs",
            self.handshakes_per_sec,
            self.latency.value_at_quantile(0.5) as f64 / 1e3,
            self.latency.value_at_quantile(0.99) as f64 / 1e3
        )
    }
}

/// `connections` connections, `concurrency` at a time: connect, handshake, echo one line,
/// close (close_notify, then FIN).
pub async fn handshakes(
    address: SocketAddr,
    client: &TlsClient,
    connections: usize,
    concurrency: usize,
    io_timeout: Duration,
) -> Result<HandshakesOutcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(connections) {
        let (next, client) = (Arc::clone(&next), client.clone());
        workers.spawn(async move {
            let mut latency = latency_histogram();
            loop {
                let id = next.fetch_add(1, Ordering::Relaxed);
                if id >= connections {
                    return anyhow::Ok(latency);
                }
                let started = Instant::now();
                let mut stream = client.connect(address, || format!("connection {id}"), io_timeout).await?;
                echo_line(&mut stream, "connection", id, 0, io_timeout).await?;
                within(io_timeout, || format!("connection {id}: closing"), stream.shutdown()).await?;
                latency.saturating_record(started.elapsed().as_nanos() as u64);
            }
        });
    }
    let mut latency = latency_histogram();
    while let Some(joined) = workers.join_next().await {
        latency.add(joined.context("a handshake worker panicked")??)?;
    }
    Ok(HandshakesOutcome { handshakes_per_sec: connections as f64 / begin.elapsed().as_secs_f64(), latency })
}

/// One TLS connection running `shape`'s lines (the handshake before the clock starts);
/// also the cipher suite the server chose.
pub async fn lines(
    address: SocketAddr,
    client: &TlsClient,
    shape: LinesShape,
    warmup: Duration,
    duration: Duration,
    io_timeout: Duration,
) -> Result<(LinesOutcome, String)> {
    let mut streams = Vec::with_capacity(shape.connections);
    for connection in 0..shape.connections {
        streams.push(client.connect(address, || format!("connection {connection}"), io_timeout).await?);
    }
    let cipher = negotiated(&streams[0]);
    Ok((lines::run_on(streams, shape, warmup, duration, io_timeout).await?, cipher))
}

/// The bulk payload over one TLS connection (the handshake before the clock starts); also the
/// cipher suite the server chose.
pub async fn bulk(
    address: SocketAddr,
    client: &TlsClient,
    payload: &BulkPayload,
    write_size: usize,
    io_timeout: Duration,
) -> Result<(BulkOutcome, String)> {
    let stream = client.connect(address, || "the bulk connection".into(), io_timeout).await?;
    let cipher = negotiated(&stream);
    let (reader, writer) = tokio::io::split(stream);
    let outcome = bulk::run_on(reader, writer, payload, write_size, Close::AfterEcho, io_timeout).await?;
    Ok((outcome, cipher))
}

/// `TLSv1_3 TLS13_AES_256_GCM_SHA384`, for the run's summary line.
fn negotiated(stream: &tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    let session = stream.get_ref().1;
    let version = session.protocol_version().map_or("?".into(), |v| format!("{v:?}"));
    let suite = session.negotiated_cipher_suite().map_or("?".into(), |s| format!("{:?}", s.suite()));
    format!("{version} {suite}")
}
