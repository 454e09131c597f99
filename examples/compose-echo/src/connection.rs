//! One client: echo what it sends until EOF, then close and wait until closed.

use wasip2::io::poll::Pollable;

use crate::bindings::wasio::streams::types::{Error, Reader, Writer};

/// The most bytes taken per `try-read`.
const CHUNK: i64 = 64 * 1024;

pub struct Connection {
    reader: Reader,
    writer: Writer,
    /// `try-drain` said false: the provider's queue is over its high mark, so stop
    /// reading until it is back at or below the low mark (asyncio's `await drain()`).
    paused: bool,
    /// EOF was read and `close` called: only waiting for the close to complete.
    closing: bool,
}

impl Connection {
    pub fn new(reader: Reader, writer: Writer) -> Connection {
        Connection { reader, writer, paused: false, closing: false }
    }

    /// Pollables for what this connection waits for now. The caller drops them
    /// before the connection.
    pub fn subscribe(&self) -> Vec<Pollable> {
        let mut pollables = Vec::with_capacity(2);
        // The writer's: while closing, while draining, and while bytes sit in the
        // provider's queue — those move on to the host only during a call into the
        // provider, so wake up to make one when the host can take more.
        if self.closing || self.paused || self.writer.get_write_buffer_size() > 0 {
            pollables.push(self.writer.subscribe());
        }
        if !self.closing && !self.paused {
            pollables.push(self.reader.subscribe());
        }
        pollables
    }

    /// Makes what progress it can without waiting; false once the connection is
    /// finished and can be dropped. Readiness may be spurious: then nothing happens.
    pub fn make_progress(&mut self) -> bool {
        match self.step() {
            Ok(finished) => !finished,
            Err(error) => {
                if !matches!(error, Error::ConnectionReset) {
                    eprintln!("compose-echo: connection failed: {error:?}");
                }
                self.writer.abort();
                false
            }
        }
    }

    /// One non-waiting step; `Ok(true)` once the connection is closed.
    fn step(&mut self) -> Result<bool, Error> {
        if self.closing {
            return self.writer.try_wait_closed();
        }
        // Hands queued bytes to the host; true once at or below the low mark.
        self.paused = !self.writer.try_drain()?;
        if self.paused {
            return Ok(false);
        }
        match self.reader.try_read(CHUNK)? {
            None => Ok(false), // nothing yet
            Some(data) if data.is_empty() => {
                // EOF: deliver what is queued, then close.
                self.writer.close();
                self.closing = true;
                self.writer.try_wait_closed()
            }
            Some(data) => {
                self.writer.write(&data)?;
                self.paused = !self.writer.try_drain()?;
                Ok(false)
            }
        }
    }
}
