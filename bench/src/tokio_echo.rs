//! The tokio reference server: a current-thread runtime, one task per connection, echoing
//! lines (`BufReader::read_until(b'\n')` + `write_all`) or chunks (`read` of up to 64 KiB +
//! `write_all`) — the straightforward tokio echoes.

use std::io;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::echo::Echo;

/// As asyncio's event loop does (`ACCEPT_RETRY_DELAY`): out of descriptors or memory, stop
/// accepting this long, serving the connections already open.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);
const CHUNK: usize = 64 * 1024;

/// Serves on `host:port` until killed; prints `Serving on ADDR` once listening.
pub fn serve(host: &str, port: u16, echo: Echo) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(async {
        let listener =
            TcpListener::bind((host, port)).await.with_context(|| format!("binding {host}:{port}"))?;
        println!("Serving on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    match echo {
                        Echo::Lines => tokio::spawn(echo_lines(stream)),
                        Echo::Chunks => tokio::spawn(echo_chunks(stream)),
                    };
                }
                Err(error) if is_resource_exhaustion(&error) => {
                    eprintln!("serve-tokio: accept: {error}; pausing accepts for {ACCEPT_RETRY_DELAY:?}");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
                // A connection reset before it was accepted: only that one is lost.
                Err(error) => eprintln!("serve-tokio: accept: {error}"),
            }
        }
    })
}

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying at once would fail again and spin.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

async fn echo_lines(stream: TcpStream) -> io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        stream.write_all(&line).await?;
    }
}

async fn echo_chunks(mut stream: TcpStream) -> io::Result<()> {
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        stream.write_all(&chunk[..read]).await?;
    }
}
