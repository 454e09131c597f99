//! asyncio's `StreamReader` as a state machine: the buffer, EOF, the sticky exception,
//! the limit, read-side flow control and the one-waiter rule — without any I/O.
//!
//! Each read operation is a function that either completes ([`Step::Ready`]) or asks for
//! more input ([`Step::NeedData`]). The I/O layer turns `NeedData` into a wait: it calls
//! [`ReadBuffer::begin_wait`], [`ReadBuffer::resume_for_waiter`], pulls data from the
//! host into [`ReadBuffer::feed_data`] / [`ReadBuffer::feed_eof`] /
//! [`ReadBuffer::set_exception`], calls [`ReadBuffer::end_wait`] and retries the same
//! operation. Operations consume nothing until they complete, so retrying is always safe
//! and dropping a pending operation loses no data.
//!
//! The semantics are asyncio 3.13's, check for check (contract A.2.2-A.2.7, C.1).

use std::sync::LazyLock;

use super::byte_queue::ByteQueue;
use super::separators::Separators;
use super::Step;
use crate::error::{Error, Overrun, Result};

mod hand_off;
pub use hand_off::HandOff;

/// asyncio's `_DEFAULT_LIMIT` (S:23): 64 KiB.
pub const DEFAULT_LIMIT: usize = 65536;

static NEWLINE: LazyLock<Separators> = LazyLock::new(Separators::newline);

/// Progress of one `readuntil`/`readline` across `NeedData` rounds.
///
/// It records the absolute stream position (bytes consumed since the reader was created
/// plus an index into the buffer) before which no separator can start, so a retry
/// searches only the new bytes (CPython's `offset`, S:631). Being absolute, it stays
/// right if another operation consumed bytes in between: the position is translated
/// back into the buffer, saturating at its start.
///
/// Use a fresh (default) state for each operation and keep it across that operation's
/// retries; the separators must not change between retries. Completing (`Ready`)
/// resets it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SearchState {
    no_separator_before: u64,
}

impl SearchState {
    pub fn new() -> Self {
        Self::default()
    }

    /// The absolute stream position before which no separator can start.
    pub fn position(&self) -> u64 {
        self.no_separator_before
    }

    /// The index in a buffer that starts at absolute position `consumed`.
    fn offset_in_buffer(&self, consumed: u64, buffer_len: usize) -> usize {
        let relative = self.no_separator_before.saturating_sub(consumed);
        usize::try_from(relative).map_or(buffer_len, |r| r.min(buffer_len))
    }
}

/// The reading half of a stream, minus the I/O.
pub struct ReadBuffer {
    buffer: ByteQueue,
    limit: usize,
    eof: bool,
    exception: Option<Error>,
    /// The I/O layer should stop pulling from the host (asyncio's `pause_reading`).
    paused: bool,
    /// The operation currently waiting for data, if any (asyncio's `_waiter`).
    waiting: Option<&'static str>,
    /// Bytes removed from the front of the buffer since creation: the absolute stream
    /// position of `buffer[0]`. `u64` because a stream can outgrow a wasm32 `usize`.
    consumed: u64,
}

impl ReadBuffer {
    /// A reader with the given `limit` (S:416-421).
    pub fn new(limit: usize) -> Result<Self> {
        if limit == 0 {
            return Err(Error::invalid_argument("Limit cannot be <= 0"));
        }
        Ok(ReadBuffer {
            buffer: ByteQueue::default(),
            limit,
            eof: false,
            exception: None,
            paused: false,
            waiting: None,
            consumed: 0,
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The buffered bytes, oldest first.
    pub fn buffered(&self) -> &[u8] {
        self.buffer.as_slice()
    }

    /// Bytes consumed (returned or discarded) since the reader was created.
    pub fn total_consumed(&self) -> u64 {
        self.consumed
    }

    /// Appends received bytes (S:493-513). Empty data is a no-op; data after EOF is
    /// ignored (asyncio asserts). Pauses when the buffer exceeds `2 * limit` (C.1).
    pub fn feed_data(&mut self, data: &[u8]) {
        if data.is_empty() || self.eof {
            return;
        }
        self.buffer.push(data);
        self.maybe_pause();
    }

    /// [`feed_data`](Self::feed_data) that adopts `data`'s allocation when the buffer is
    /// empty.
    pub fn feed_vec(&mut self, data: Vec<u8>) {
        if data.is_empty() || self.eof {
            return;
        }
        self.buffer.push_vec(data);
        self.maybe_pause();
    }

    /// Marks the end of the stream (S:485-487). Idempotent.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Stores a connection error (S:459-466). It is never cleared and every later read
    /// reports it, even with complete data buffered (A.2.2). A later call replaces it,
    /// as in asyncio.
    pub fn set_exception(&mut self, error: Error) {
        self.exception = Some(error);
    }

    pub fn exception(&self) -> Option<&Error> {
        self.exception.as_ref()
    }

    /// Whether [`feed_eof`](Self::feed_eof) was called.
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// asyncio's `at_eof()`: EOF seen and nothing left to read (S:489-491).
    pub fn at_eof(&self) -> bool {
        self.eof && self.buffer.is_empty()
    }

    /// While true the I/O layer must not pull more data from the host.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// asyncio's `_wait_for_data` resumes unconditionally before waiting (S:533-535):
    /// without this, `readexactly(n)` with `n > 2 * limit` would wait forever.
    pub fn resume_for_waiter(&mut self) {
        self.paused = false;
    }

    /// Registers `operation` as the one waiter (A.2.3). A second operation that has to
    /// wait gets `Busy` named after itself ("read", "readuntil" or "readexactly";
    /// `readline` reports "readuntil").
    pub fn begin_wait(&mut self, operation: &'static str) -> Result<()> {
        if self.waiting.is_some() {
            return Err(Error::busy(operation));
        }
        self.waiting = Some(operation);
        Ok(())
    }

    /// The waiter is gone (woken, or its future dropped).
    pub fn end_wait(&mut self) {
        self.waiting = None;
    }

    /// Whether an operation is registered as waiting.
    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// asyncio's `read(n)` (S:688-737, A.2.4).
    ///
    /// `n < 0` reads to EOF. Unlike asyncio, which pulls `limit`-sized blocks into a local
    /// list as it goes, nothing is consumed until EOF: the result is the same, and a
    /// cancelled `read(-1)` loses nothing.
    pub fn read(&mut self, n: i64) -> Step<Vec<u8>> {
        if let Some(error) = &self.exception {
            return Step::Ready(Err(error.clone()));
        }
        if n == 0 {
            return Step::Ready(Ok(Vec::new()));
        }
        if n < 0 {
            if !self.eof {
                return Step::NeedData;
            }
            return Step::Ready(Ok(self.take_front(self.buffer.len())));
        }
        if self.buffer.is_empty() && !self.eof {
            return Step::NeedData;
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        // Possibly fewer than n bytes; `b''` at EOF. asyncio resumes here even then.
        Step::Ready(Ok(self.take_front(n)))
    }

    /// asyncio's `readexactly(n)` (S:739-778, A.2.5). Not bounded by the limit.
    pub fn readexactly(&mut self, n: i64) -> Step<Vec<u8>> {
        // The argument check precedes the stored exception.
        if n < 0 {
            return Step::Ready(Err(Error::invalid_argument("readexactly size can not be less than zero")));
        }
        if let Some(error) = &self.exception {
            return Step::Ready(Err(error.clone()));
        }
        if n == 0 {
            return Step::Ready(Ok(Vec::new()));
        }
        let wanted = n as u64; // n > 0
        if (self.buffer.len() as u64) < wanted {
            if !self.eof {
                return Step::NeedData;
            }
            // Everything buffered goes into the error; no resume on this path (C.1).
            let partial = self.discard_all_returning();
            return Step::Ready(Err(Error::IncompleteRead { partial, expected: Some(wanted) }));
        }
        Step::Ready(Ok(self.take_front(wanted as usize)))
    }

    /// asyncio's `readuntil(separators)` (S:574-686, A.2.6). Separator validation is
    /// [`Separators::new`]'s job and so happens before this (and before the exception
    /// check), as in asyncio.
    pub fn readuntil(&mut self, separators: &Separators, search: &mut SearchState) -> Step<Vec<u8>> {
        let step = self.readuntil_step(separators, search);
        if let Step::Ready(_) = step {
            *search = SearchState::default();
        }
        step
    }

    fn readuntil_step(&mut self, separators: &Separators, search: &mut SearchState) -> Step<Vec<u8>> {
        if let Some(error) = &self.exception {
            return Step::Ready(Err(error.clone()));
        }
        let buffered = self.buffer.as_slice();
        let buffer_len = buffered.len();
        // Bytes before `offset` are known to start no separator.
        let mut offset = search.offset_in_buffer(self.consumed, buffer_len);

        let mut found = None;
        // S:640: only scan when the shortest separator can fit after `offset`.
        if buffer_len - offset >= separators.min_len() {
            found = separators.find_earliest_end(buffered, offset);
            if found.is_none() {
                // A separator may still start in the last `max_len - 1` bytes.
                offset = (buffer_len + 1).saturating_sub(separators.max_len());
                // A.2.6: the not-found check precedes the EOF check, so an overlong
                // unterminated tail at EOF is an overrun, not an IncompleteRead.
                if offset > self.limit {
                    return Step::Ready(Err(Error::LimitOverrun {
                        kind: Overrun::SeparatorNotFound,
                        consumed: offset,
                    }));
                }
            }
        }

        let Some((match_start, match_end)) = found else {
            if self.eof {
                let partial = self.discard_all_returning();
                return Step::Ready(Err(Error::IncompleteRead { partial, expected: None }));
            }
            search.no_separator_before = self.consumed + offset as u64;
            return Step::NeedData;
        };

        // The separator does not count against the limit (strict `>`, S:679).
        if match_start > self.limit {
            return Step::Ready(Err(Error::LimitOverrun {
                kind: Overrun::SeparatorFound,
                consumed: match_start,
            }));
        }
        Step::Ready(Ok(self.take_front(match_end)))
    }

    /// asyncio's `readline()` (S:543-572, A.2.7): `readuntil(b"\n")` where an EOF-cut
    /// line is returned as is and an overlong line is discarded before the overrun is
    /// reported. asyncio raises `ValueError` with the overrun's message; here the
    /// `LimitOverrun` itself is returned (same kind, same `consumed`).
    pub fn readline(&mut self, search: &mut SearchState) -> Step<Vec<u8>> {
        // A stored exception is reported as is, even if it happens to be an
        // IncompleteRead or LimitOverrun (asyncio would convert those too).
        if let Some(error) = &self.exception {
            *search = SearchState::default();
            return Step::Ready(Err(error.clone()));
        }
        match self.readuntil(&NEWLINE, search) {
            Step::Ready(Err(Error::IncompleteRead { partial, .. })) => Step::Ready(Ok(partial)),
            Step::Ready(Err(Error::LimitOverrun { kind, consumed })) => {
                if self.buffer.as_slice()[consumed..].starts_with(b"\n") {
                    // Found: drop the overlong line and its newline; later lines stay.
                    self.discard_front(consumed + 1);
                } else {
                    // Not found: everything buffered belongs to the overlong line.
                    self.discard_front(self.buffer.len());
                }
                self.maybe_resume();
                Step::Ready(Err(Error::LimitOverrun { kind, consumed }))
            }
            other => other,
        }
    }

    /// Removes and returns up to `n` bytes after a successful read, resuming if the
    /// buffer has drained to the limit.
    fn take_front(&mut self, n: usize) -> Vec<u8> {
        let data = self.buffer.take_front(n);
        self.consumed += data.len() as u64;
        self.maybe_resume();
        data
    }

    /// Empties the buffer for an `IncompleteRead` (no resume: C.1).
    fn discard_all_returning(&mut self) -> Vec<u8> {
        let data = self.buffer.take_all();
        self.consumed += data.len() as u64;
        data
    }

    fn discard_front(&mut self, n: usize) {
        let n = n.min(self.buffer.len());
        self.buffer.discard_front(n);
        self.consumed += n as u64;
    }

    /// C.1: pause when the buffer exceeds twice the limit (strict).
    fn maybe_pause(&mut self) {
        if self.buffer.len() > self.limit.saturating_mul(2) {
            self.paused = true;
        }
    }

    /// C.1: resume once the buffer is back to the limit (S:480-483).
    fn maybe_resume(&mut self) {
        if self.paused && self.buffer.len() <= self.limit {
            self.paused = false;
        }
    }
}

impl std::fmt::Debug for ReadBuffer {
    /// Shaped like asyncio's repr (S:438-454): sizes and flags, not the bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBuffer")
            .field("len", &self.buffer.len())
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .field("waiting", &self.waiting)
            .field("exception", &self.exception)
            .field("paused", &self.paused)
            .finish()
    }
}
