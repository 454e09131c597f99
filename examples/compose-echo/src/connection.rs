//! One client: echo what it sends until EOF, then close and wait until closed.
//!
//! The caller waits on the pollables of what the connection waits for
//! ([`waits_to_read`](Connection::waits_to_read), [`waits_to_write`](Connection::waits_to_write)),
//! keeps each until it fires, then calls [`make_progress`](Connection::make_progress).

use wasip2::io::poll::Pollable;

use crate::bindings::wasio::streams::types::{Error, Reader, Writer};

/// The most bytes taken per `try-read`: more than the provider ever holds (two reader
/// limits of 64 KiB, plus one host read of up to 64 KiB), so one call takes all there is.
const CHUNK: i64 = 256 * 1024;

pub struct Connection {
    reader: Reader,
    writer: Writer,
    /// Bytes wait in the provider's queue. They move on to the host only during calls
    /// into the provider, so wait on the writer to make one when the host can take more.
    queued: bool,
    /// `try-drain` said false: the queue is over its high mark, so stop reading until it
    /// is back at or below the low mark (asyncio's `await drain()`).
    paused: bool,
    /// EOF was read and `close` called: only waiting for the close to complete.
    closing: bool,
}

impl Connection {
    pub fn new(reader: Reader, writer: Writer) -> Connection {
        Connection { reader, writer, queued: false, paused: false, closing: false }
    }

    /// Whether it waits for its reader: for input to echo.
    pub fn waits_to_read(&self) -> bool {
        !self.paused && !self.closing
    }

    /// Whether it waits for its writer: to hand queued bytes to the host, or to close.
    pub fn waits_to_write(&self) -> bool {
        self.queued || self.closing
    }

    /// A pollable that fires when `try-read` may make progress. Drop it before the
    /// connection.
    pub fn subscribe_reader(&self) -> Pollable {
        self.reader.subscribe()
    }

    /// A pollable that fires when `try-drain` or `try-wait-closed` may make progress.
    /// Drop it before the connection.
    pub fn subscribe_writer(&self) -> Pollable {
        self.writer.subscribe()
    }

    /// Makes what progress it can without waiting, after the pollable of its reader
    /// (`reader_fired`) or of its writer fired; false once the connection is finished
    /// and can be dropped. Readiness may be spurious: then nothing happens.
    pub fn make_progress(&mut self, reader_fired: bool) -> bool {
        match self.step(reader_fired) {
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
    fn step(&mut self, reader_fired: bool) -> Result<bool, Error> {
        if self.closing {
            return self.writer.try_wait_closed();
        }
        if !reader_fired {
            // Hand queued bytes to the host; true once at or below the low mark.
            let was_paused = self.paused;
            self.paused = !self.writer.try_drain()?;
            self.queued = self.paused || self.writer.get_write_buffer_size() > 0;
            // Just resumed: the provider took in input meanwhile, so read it now.
            if !was_paused || self.paused {
                return Ok(false);
            }
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
                // `write` hands the host what it takes now and queues the rest.
                self.writer.write(&data)?;
                self.queued = self.writer.get_write_buffer_size() > 0;
                self.paused = self.queued && !self.writer.try_drain()?;
                Ok(false)
            }
        }
    }
}
