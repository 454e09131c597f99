//! `writer.write-stream`, the bulk write: a `stream<u8>` written as `write` then `drain`
//! per chunk taken from it, so the core's marks hold (the queue goes over the high mark
//! by at most one chunk) and a slow peer slows the producer (the stream is not read
//! while `drain` waits). One at a time per writer ([`WriteBuffer::begin_stream`]).
//!
//! [`WriteBuffer::begin_stream`]: wasio::core::WriteBuffer::begin_stream

use wasip3::wit_bindgen::{StreamReader, StreamResult};

use crate::convert;
use crate::wit;
use crate::writer::Writer;

/// At most this much is taken from the stream per chunk: asyncio's default high mark,
/// so the queue stays within twice the marks.
const CHUNK: usize = wasio::core::DEFAULT_HIGH_WATER;

/// Writes all of `data`; the number of bytes taken.
pub(crate) async fn write_stream(writer: &Writer, mut data: StreamReader<u8>) -> Result<u64, wit::Error> {
    let conn = writer.conn();
    conn.write.borrow_mut().begin_stream().map_err(convert::error)?;
    let _streaming = Streaming(writer);
    let mut taken = 0u64;
    loop {
        let (result, chunk) = data.read(Vec::with_capacity(CHUNK)).await;
        match result {
            StreamResult::Complete(_) => {}
            StreamResult::Cancelled => continue,
            StreamResult::Dropped => return Ok(taken), // the producer ended it
        }
        taken += chunk.len() as u64;
        writer.queue(&chunk)?;
        // On a connection error `data` is dropped unread (by returning).
        writer.wait_below_low_mark().await?;
    }
}

/// Ends the bulk write however the call ends (done, failed, cancelled).
struct Streaming<'a>(&'a Writer);

impl Drop for Streaming<'_> {
    fn drop(&mut self) {
        self.0.conn().write.borrow_mut().end_stream();
    }
}
