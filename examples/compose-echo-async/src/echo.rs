//! One client, in its own task: echo until EOF, then close and wait until closed.

use crate::bindings::wasio::streams::types::{Error, Reader, Writer};
use crate::budget::Budget;

/// How a connection is echoed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Echo {
    /// Line by line: `readline`, `write`, `drain`.
    Lines,
    /// What arrives, as it arrives (see [`bulk`]).
    Bulk,
}

/// The most one bulk `read` takes (the reader's default limit).
const CHUNK: i64 = 65536;

/// Serves one client. A failed connection (reset, say) just ends: the writer's drop
/// closes it.
pub async fn connection(reader: Reader, writer: Writer, mode: Echo) {
    let echoed = match mode {
        Echo::Lines => lines(&reader, &writer).await,
        Echo::Bulk => bulk(&reader, &writer).await,
    };
    drop(reader);
    if echoed.is_ok() {
        // EOF: deliver what is queued, then close (the peer sees EOF after the echo).
        writer.close();
        let _ = writer.wait_closed().await;
    } else {
        writer.abort();
    }
}

/// Echoes line by line until EOF. The unterminated last line comes at EOF, so nothing
/// sent is lost; an overlong line is discarded by `readline` (asyncio's
/// LimitOverrunError) and the echo goes on.
async fn lines(reader: &Reader, writer: &Writer) -> Result<(), Error> {
    let mut budget = Budget::new();
    loop {
        let line = match budget.track(reader.readline()).await {
            Ok(line) => line,
            Err(Error::LimitOverrun(_)) => continue,
            Err(error) => return Err(error),
        };
        if line.is_empty() {
            return Ok(());
        }
        let len = line.len();
        writer.write(line).await?;
        budget.track(writer.drain()).await?;
        budget.spend(len).await;
    }
}

/// Echoes chunks as they arrive until EOF: `read(65536)`, `write`, `drain`, so the queue
/// stays under the writer's high mark and a slow reader slows its peer.
async fn bulk(reader: &Reader, writer: &Writer) -> Result<(), Error> {
    let mut budget = Budget::new();
    loop {
        let chunk = budget.track(reader.read(CHUNK)).await?;
        if chunk.is_empty() {
            return Ok(());
        }
        let len = chunk.len();
        writer.write(chunk).await?;
        budget.track(writer.drain()).await?;
        budget.spend(len).await;
    }
}
