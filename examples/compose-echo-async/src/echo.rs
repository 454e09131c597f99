//! One client, in its own task: echo until EOF, then close and wait until closed.

use crate::bindings::wasio::streams::types::{Error, Reader, Writer};
use crate::budget::Budget;

/// How a connection is echoed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Echo {
    /// Line by line: `readline`, `write` (a plain call: it never waits), `drain`.
    Lines,
    /// What arrives, as it arrives (see [`bulk`]).
    Bulk,
}

/// Serves one client. A failed connection (reset, say) just ends: the writer's drop
/// closes it.
pub async fn connection(reader: Reader, writer: Writer, mode: Echo) {
    let echoed = match mode {
        Echo::Lines => {
            let echoed = lines(&reader, &writer).await;
            drop(reader);
            echoed
        }
        Echo::Bulk => bulk(reader, &writer).await,
    };
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
///
/// `drain` is awaited only when the queue is over the low mark: asyncio's drain waits
/// only while the writer is paused, which it is only above the low mark, so below it
/// the call would return at once, and an `async func` that returns at once still costs
/// about as much as the rest of the echo. (A lost connection, which drain would report,
/// reaches the next `readline`.)
async fn lines(reader: &Reader, writer: &Writer) -> Result<(), Error> {
    let mut budget = Budget::new();
    let low = writer.get_write_buffer_limits().low;
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
        writer.write(&line)?;
        if writer.get_write_buffer_size() > low {
            budget.track(writer.drain()).await?;
        }
        budget.spend(len).await;
    }
}

/// Forwards what arrives, as it arrives, until EOF, without a byte passing through this
/// component: the reader becomes a `stream<u8>` (`into-stream`) that the writer drains
/// into the connection (`write-stream`), copied in bulk by the runtime, with the stream's
/// backpressure and the writer's marks pacing both ends. Then the reader's end says how
/// the connection ended (ok at EOF).
async fn bulk(reader: Reader, writer: &Writer) -> Result<(), Error> {
    let (arriving, ended) = Reader::into_stream(reader)?;
    writer.write_stream(arriving).await?;
    ended.await
}
