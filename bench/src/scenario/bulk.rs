//! `bulk`: one connection streams the [`BulkPayload`] in fixed-size writes while the echo is
//! read back at the same time and compared byte for byte; then the client closes its side and
//! expects the server to close after the last byte.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::bulk_payload::BulkPayload;
use crate::deadline::within;

pub struct BulkOutcome {
    /// Payload bytes echoed per second (each byte counted once), in MiB/s.
    pub mib_per_sec: f64,
    pub bytes: u64,
    pub elapsed: Duration,
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

pub async fn run(
    address: SocketAddr,
    payload: &BulkPayload,
    write_size: usize,
    io_timeout: Duration,
) -> Result<BulkOutcome> {
    let stream =
        within(io_timeout, || format!("connecting to {address}"), TcpStream::connect(address)).await?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let total = payload.total();
    let begin = Instant::now();

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
        }
        if offset < total {
            bail!("the server closed the connection after echoing {offset} of {total} bytes");
        }
        anyhow::Ok(())
    };

    tokio::try_join!(send, receive)?;
    let elapsed = begin.elapsed();
    Ok(BulkOutcome {
        mib_per_sec: total as f64 / (1 << 20) as f64 / elapsed.as_secs_f64(),
        bytes: total,
        elapsed,
    })
}
