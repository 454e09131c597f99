//! One connection that echoes one line: what a `churn` connection does before it closes,
//! and how an `idle`, `slowloris` or `noread` connection shows it is being served before it
//! goes silent or misbehaves.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::deadline::within;
use crate::line_payload::{excerpt, LineTemplate};

/// Bytes of the line, newline included.
pub const LINE_LEN: usize = 64;

/// Connects, sends line `id` and checks it comes back; returns the open connection.
/// `what` names the connection in errors (e.g. `idle connection`).
pub async fn connect_and_echo(
    address: SocketAddr,
    what: &str,
    id: usize,
    io_timeout: Duration,
) -> Result<TcpStream> {
    let mut stream =
        within(io_timeout, || format!("{what} {id}: connecting to {address}"), TcpStream::connect(address))
            .await?;
    stream.set_nodelay(true)?;
    echo_line(&mut stream, what, id, 0, io_timeout).await?;
    Ok(stream)
}

/// Sends line `sequence` of connection `id` on `stream` (TCP or TLS) and checks it comes back.
pub async fn echo_line<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    what: &str,
    id: usize,
    sequence: u64,
    io_timeout: Duration,
) -> Result<()> {
    let line = LineTemplate::new(id, LINE_LEN).line(sequence);
    // The flush sends what TLS may still hold; on TCP it does nothing.
    within(io_timeout, || format!("{what} {id}: writing"), async {
        stream.write_all(&line).await?;
        stream.flush().await
    })
    .await?;
    let mut echoed = vec![0u8; LINE_LEN];
    within(io_timeout, || format!("{what} {id}: waiting for the echo"), stream.read_exact(&mut echoed))
        .await?;
    if echoed != line {
        bail!("{what} {id}: the line came back as {}", excerpt(&echoed));
    }
    Ok(())
}

/// Opens connections `ids`, `concurrency` at a time, each echoing one line; `what` names
/// them in errors.
pub async fn open_many(
    address: SocketAddr,
    what: &'static str,
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
                opened.push(connect_and_echo(address, what, id, io_timeout).await?);
            }
        });
    }
    let mut streams = Vec::with_capacity(ids.len());
    while let Some(joined) = workers.join_next().await {
        streams.extend(joined.context("an opening worker panicked")??);
    }
    Ok(streams)
}
