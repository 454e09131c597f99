//! One connection that echoes one line: what a `churn` connection does before it closes,
//! and how an `idle` connection shows it is being served before it goes silent.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    let template = LineTemplate::new(id, LINE_LEN);
    let mut stream =
        within(io_timeout, || format!("{what} {id}: connecting to {address}"), TcpStream::connect(address))
            .await?;
    stream.set_nodelay(true)?;
    let line = template.line(0);
    within(io_timeout, || format!("{what} {id}: writing"), stream.write_all(&line)).await?;
    let mut echoed = vec![0u8; LINE_LEN];
    within(io_timeout, || format!("{what} {id}: waiting for the echo"), stream.read_exact(&mut echoed))
        .await?;
    if echoed != line {
        bail!("{what} {id}: the line came back as {}", excerpt(&echoed));
    }
    Ok(stream)
}
