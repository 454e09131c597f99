//! One client: echo what it sends until EOF, then close and wait until closed, in
//! chunks (`try-read`, `write`, `try-drain`) or line by line (`try-readline`, `write`,
//! `try-drain` for each line): see [`Echo`].
//!
//! The caller waits on the pollables of what the connection waits for
//! ([`waits_to_read`](Connection::waits_to_read), [`waits_to_write`](Connection::waits_to_write)),
//! keeps each until it fires, then calls [`make_progress`](Connection::make_progress).

use std::io::Write as _;

use wasip2::io::poll::Pollable;

use crate::bindings::wasio::streams::types::{Error, Reader, Writer};

/// The most bytes taken per `try-read`: more than the provider ever holds (two reader
/// limits of 64 KiB, plus one host read of up to 64 KiB), so one call takes all there is.
const CHUNK: i64 = 256 * 1024;
/// The most lines echoed in one step, so a client that sends many short lines gives the
/// others their turn (its reader pollable is ready again at once if more are buffered).
const LINES_PER_STEP: usize = 16;

/// How a client's bytes are read before they are sent back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    /// What arrives, as it arrives (asyncio: `read(n)`, `write`, `drain`).
    Chunks,
    /// One line at a time (asyncio: `readline`, `write`, `drain`).
    Lines,
}

pub struct Connection {
    echo: Echo,
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
    pub fn new(echo: Echo, reader: Reader, writer: Writer) -> Connection {
        Connection { echo, reader, writer, queued: false, paused: false, closing: false }
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
                    // A log line that cannot be written is dropped (`eprintln!` would
                    // panic, and one broken write would end every connection).
                    let _ = writeln!(std::io::stderr(), "compose-echo: connection failed: {error:?}");
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
        let takes = match self.echo {
            Echo::Chunks => 1,
            Echo::Lines => LINES_PER_STEP,
        };
        for _ in 0..takes {
            let input = match self.echo {
                Echo::Chunks => self.reader.try_read(CHUNK)?,
                // The unterminated last line comes at EOF, so nothing sent is lost.
                Echo::Lines => self.reader.try_readline()?,
            };
            match input {
                None => return Ok(false), // nothing yet
                Some(data) if data.is_empty() => {
                    // EOF: deliver what is queued, then close.
                    self.writer.close();
                    self.closing = true;
                    return self.writer.try_wait_closed();
                }
                Some(data) => {
                    // `write` hands the host what it takes now and queues the rest.
                    self.writer.write(&data)?;
                    self.queued = self.writer.get_write_buffer_size() > 0;
                    self.paused = self.queued && !self.writer.try_drain()?;
                    if self.paused {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(false)
    }
}
