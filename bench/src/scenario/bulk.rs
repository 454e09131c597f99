//! `bulk`: one connection streams the [`BulkPayload`] in fixed-size writes while the echo is
//! read back at the same time and compared byte for byte; then the client closes its side and
//! expects the server to close after the last byte (over TCP the client closes its side as
//! soon as it has sent everything; over TLS only once everything came back, see [`Close`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::bulk_payload::BulkPayload;
use crate::deadline::within;
use crate::server_close::{expect_close, ServerClose};

pub struct BulkOutcome {
    /// Payload bytes echoed per second (each byte counted once), in MiB/s.
    pub mib_per_sec: f64,
    pub bytes: u64,
    pub elapsed: Duration,
    pub close: ServerClose,
}

impl BulkOutcome {
    pub fn summary(&self) -> String {
        format!(
            "{:.0} MiB/s ({} MiB in {:.2} s)",
            self.mib_per_sec,
            self.bytes >> 20,
            self.elapsed.as_secs_f64()
        )
    }
}

/// When the client closes its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// Once it has sent everything, while the echo still comes back (TCP's half-close).
    AfterSending,
    /// Once the whole echo came back: asyncio's SSL transport stops writing when the peer's
    /// close_notify arrives, so a half-close would cut its echo short.
    AfterEcho,
}

/// Streams `payload` over a new TCP connection to `address`.
pub async fn run(
    address: SocketAddr,
    payload: &BulkPayload,
    write_size: usize,
    io_timeout: Duration,
) -> Result<BulkOutcome> {
    let stream =
        within(io_timeout, || format!("connecting to {address}"), TcpStream::connect(address)).await?;
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    run_on(reader, writer, payload, write_size, Close::AfterSending, io_timeout).await
}

/// Streams `payload` on an open connection's two halves (TCP or TLS); the clock starts here.
pub async fn run_on<R, W>(
    mut reader: R,
    mut writer: W,
    payload: &BulkPayload,
    write_size: usize,
    close: Close,
    io_timeout: Duration,
) -> Result<BulkOutcome>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let total = payload.total();
    let begin = Instant::now();
    // The sender closes after sending, or the receiver after the last echoed byte.
    let (to_close_tx, to_close_rx) = tokio::sync::oneshot::channel::<()>();

    let send = async {
        let mut offset = 0u64;
        while offset < total {
            let len = (total - offset).min(write_size as u64) as usize;
            within(
                io_timeout,
                || format!("writing at byte {offset} of {total}"),
                writer.write_all(payload.slice(offset, len)),
            )
            .await?;
            offset += len as u64;
        }
        within(io_timeout, || format!("flushing at byte {total}"), writer.flush()).await?;
        if close == Close::AfterEcho {
            // The receiver says when everything came back (or drops the sender if it failed).
            let _ = to_close_rx.await;
        }
        within(io_timeout, || "closing the write side".to_string(), writer.shutdown()).await?;
        anyhow::Ok(())
    };

    let receive = async {
        let mut buffer = vec![0u8; write_size];
        let mut offset = 0u64;
        loop {
            let read = within(
                io_timeout,
                || format!("waiting for the echo of byte {offset} of {total}"),
                reader.read(&mut buffer),
            )
            .await?;
            if read == 0 {
                break;
            }
            if offset + read as u64 > total {
                bail!("the server echoed more than the {total} bytes sent");
            }
            let expected = payload.slice(offset, read);
            if let Some(at) = buffer[..read].iter().zip(expected).position(|(got, want)| got != want) {
                bail!("echoed byte {} differs from the one sent", offset + at as u64);
            }
            offset += read as u64;
            if offset == total && close == Close::AfterEcho {
                let _ = to_close_tx.send(());
                // Now only the server's close may come.
                return expect_close(&mut reader, || "the bulk connection".into(), io_timeout).await;
            }
        }
        if offset < total {
            bail!("the server closed the connection after echoing {offset} of {total} bytes");
        }
        anyhow::Ok(ServerClose::Clean)
    };

    let ((), server_close) = tokio::try_join!(send, receive)?;
    let elapsed = begin.elapsed();
    Ok(BulkOutcome {
        mib_per_sec: total as f64 / (1 << 20) as f64 / elapsed.as_secs_f64(),
        bytes: total,
        elapsed,
        close: server_close,
    })
}
