//! The tokio reference server: a current-thread runtime (or, for `scaling`, a multi-thread
//! one with as many workers as ours has instances), one task per connection, echoing
//! lines (`BufReader::read_until(b'\n')` + `write_all`) or chunks (`read` of up to 64 KiB +
//! `write_all`) — the straightforward tokio echoes — over TCP, or over tokio-rustls when given
//! a certificate (the handshake in the connection's task, then the same echo).

use std::io;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::echo::Echo;

/// As asyncio's event loop does (`ACCEPT_RETRY_DELAY`): out of descriptors or memory, stop
/// accepting this long, serving the connections already open.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);
const CHUNK: usize = 64 * 1024;

/// Serves on `host:port` until killed, over TLS when given an acceptor, on a current-thread
/// runtime or with `workers` threads; prints `Serving on ADDR` once listening.
pub fn serve(
    host: &str,
    port: u16,
    echo: Echo,
    tls: Option<TlsAcceptor>,
    workers: Option<usize>,
) -> Result<()> {
    let mut builder = match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(workers) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(workers);
            builder
        }
    };
    let runtime = builder.enable_all().build().context("building the tokio runtime")?;
    runtime.block_on(async {
        let listener =
            TcpListener::bind((host, port)).await.with_context(|| format!("binding {host}:{port}"))?;
        println!("Serving on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, echo, tls.clone()));
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

async fn serve_connection(stream: TcpStream, echo: Echo, tls: Option<TlsAcceptor>) -> io::Result<()> {
    match tls {
        None => echo_with(stream, echo).await,
        Some(acceptor) => {
            // As asyncio and ours do: the handshake's flights, the session tickets and the
            // first echo are separate small writes, which Nagle's algorithm would hold for
            // the client's delayed ACK (40 ms).
            stream.set_nodelay(true)?;
            echo_with(acceptor.accept(stream).await?, echo).await
        }
    }
}

async fn echo_with<S: AsyncRead + AsyncWrite + Unpin>(stream: S, echo: Echo) -> io::Result<()> {
    match echo {
        Echo::Lines => echo_lines(stream).await,
        Echo::Chunks => echo_chunks(stream).await,
    }
}

// `flush` sends what TLS still holds (a no-op on TCP); `shutdown` at EOF answers a TLS
// peer's close_notify with ours.
async fn echo_lines<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return stream.shutdown().await;
        }
        stream.write_all(&line).await?;
        stream.flush().await?;
    }
}

async fn echo_chunks<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> io::Result<()> {
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return stream.shutdown().await;
        }
        stream.write_all(&chunk[..read]).await?;
        stream.flush().await?;
    }
}
