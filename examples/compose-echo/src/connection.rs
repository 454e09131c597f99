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
/// The most lines echoed in one step, so a client that sends many lines gives the others
/// their turn: it then [yields](Progress::Yielded) and goes on after those whose pollables
/// fired.
const LINES_PER_STEP: usize = 64;
/// ...and at most about this many bytes: every byte crosses the component boundary twice
/// (wasmtime 48's adapters copy a `list<u8>` a byte at a time), so 64 long lines would
/// hold the others up for milliseconds.
const BYTES_PER_STEP: usize = 16 * 1024;

/// Where a connection stands after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// It waits for what `waits_to_read` / `waits_to_write` say.
    Waiting,
    /// It stopped after its share of work with more probably buffered: step it again
    /// soon, without waiting for a pollable (its reader's would fire at once anyway).
    Yielded,
    /// Closed (or failed): drop it.
    Finished,
}

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
    /// (`reader_fired`; also for a connection that yielded) or of its writer fired.
    /// Readiness may be spurious: then nothing happens.
    pub fn make_progress(&mut self, reader_fired: bool) -> Progress {
        match self.step(reader_fired) {
            Ok(progress) => progress,
            Err(error) => {
                if !matches!(error, Error::ConnectionReset) {
                    // A log line that cannot be written is dropped (`eprintln!` would
                    // panic, and one broken write would end every connection).
                    let _ = writeln!(std::io::stderr(), "compose-echo: connection failed: {error:?}");
                }
                self.writer.abort();
                Progress::Finished
            }
        }
    }

    /// One non-waiting step.
    fn step(&mut self, reader_fired: bool) -> Result<Progress, Error> {
        let closed = |closed: bool| if closed { Progress::Finished } else { Progress::Waiting };
        if self.closing {
            return self.writer.try_wait_closed().map(closed);
        }
        if !reader_fired {
            // Hand queued bytes to the host; true once at or below the low mark.
            let was_paused = self.paused;
            self.paused = !self.writer.try_drain()?;
            self.queued = self.paused || self.writer.get_write_buffer_size() > 0;
            // Just resumed: the provider took in input meanwhile, so read it now.
            if !was_paused || self.paused {
                return Ok(Progress::Waiting);
            }
        }
        let takes = match self.echo {
            Echo::Chunks => 1,
            Echo::Lines => LINES_PER_STEP,
        };
        let mut echoed = 0;
        for _ in 0..takes {
            if echoed >= BYTES_PER_STEP {
                break;
            }
            let input = match self.echo {
                Echo::Chunks => self.reader.try_read(CHUNK)?,
                // The unterminated last line comes at EOF, so nothing sent is lost.
                Echo::Lines => self.reader.try_readline()?,
            };
            match input {
                None => return Ok(Progress::Waiting), // nothing yet
                Some(data) if data.is_empty() => {
                    // EOF: deliver what is queued, then close.
                    self.writer.close();
                    self.closing = true;
                    return self.writer.try_wait_closed().map(closed);
                }
                Some(data) => {
                    // `write` hands the host what it takes now and queues the rest.
                    echoed += data.len();
                    self.writer.write(&data)?;
                    self.queued = self.writer.get_write_buffer_size() > 0;
                    self.paused = self.queued && !self.writer.try_drain()?;
                    if self.paused {
                        return Ok(Progress::Waiting);
                    }
                }
            }
        }
        Ok(Progress::Yielded)
    }
}
