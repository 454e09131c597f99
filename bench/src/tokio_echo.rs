//! The tokio reference server: a current-thread runtime, one task per connection,
//! `BufReader::read_until(b'\n')` and `write_all` — the straightforward tokio line echo.

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Serves on `host:port` until killed; prints `Serving on ADDR` once listening.
pub fn serve(host: &str, port: u16) -> Result<()> {
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
                    tokio::spawn(echo_lines(stream));
                }
                // Out of descriptors, or a connection reset before it was accepted: the
                // server goes on, as a production server would.
                Err(error) => {
                    eprintln!("serve-tokio: accept: {error}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}

async fn echo_lines(stream: TcpStream) -> std::io::Result<()> {
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
