//! `StreamReader`: asyncio's reading API over a connection (or stdin).

use std::rc::Rc;

use futures_lite::Stream;

use crate::core::{ReadBuffer, SearchState, Separators, Step};
use crate::error::{Error, Result};
use crate::transport::SharedTransport;

/// Reads from a connection with asyncio's semantics: `read`, `readline`,
/// `readexactly`, `readuntil`, the `limit`, and sticky connection errors.
///
/// Only one read may wait for data at a time; a second one that would have to wait
/// fails with [`Error::Busy`]. Reads are cancel-safe, `read(-1)` included: nothing is
/// consumed until an operation completes.
pub struct StreamReader {
    transport: SharedTransport,
}

impl StreamReader {
    pub(crate) fn new(transport: SharedTransport) -> Self {
        StreamReader { transport }
    }

    pub(crate) fn transport_rc(&self) -> SharedTransport {
        Rc::clone(&self.transport)
    }

    /// Up to `n` bytes, as soon as at least one is available; `n < 0` reads to EOF,
    /// `n == 0` returns nothing at once. Empty at EOF.
    pub async fn read(&self, n: i64) -> Result<Vec<u8>> {
        self.transport.read_op("read", |buffer| buffer.read(n)).await
    }

    /// Exactly `n` bytes, or [`Error::IncompleteRead`] with everything buffered if EOF
    /// comes first. Not bounded by the limit.
    pub async fn readexactly(&self, n: i64) -> Result<Vec<u8>> {
        self.transport.read_op("readexactly", |buffer| buffer.readexactly(n)).await
    }

    /// The bytes up to and including `separator`.
    ///
    /// Fails with [`Error::LimitOverrun`] when the data before the separator exceeds
    /// the limit (the data stays buffered and readable), and with
    /// [`Error::IncompleteRead`] when EOF comes first (the buffer is then empty).
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        self.readuntil_any(&Separators::single(separator)?).await
    }

    /// Like [`readuntil`](Self::readuntil) with several separators (asyncio 3.13's
    /// tuple form): the match that ends first wins, ties go to the shorter separator.
    pub async fn readuntil_any(&self, separators: &Separators) -> Result<Vec<u8>> {
        let mut search = SearchState::default();
        self.transport.read_op("readuntil", |buffer| buffer.readuntil(separators, &mut search)).await
    }

    /// One line including its `\n`; the unterminated last line at EOF; empty at EOF.
    /// An overlong line fails with [`Error::LimitOverrun`] and is discarded as CPython
    /// does.
    pub async fn readline(&self) -> Result<Vec<u8>> {
        let mut search = SearchState::default();
        self.transport.read_op("readuntil", |buffer| buffer.readline(&mut search)).await
    }

    /// True when EOF was received and the buffer is empty.
    pub fn at_eof(&self) -> bool {
        self.transport.with_read_buffer(|buffer| buffer.at_eof())
    }

    /// The connection error that every later read will return, if any.
    pub fn exception(&self) -> Option<Error> {
        self.transport.with_read_buffer(|buffer| buffer.exception().cloned())
    }

    /// Bytes received and not yet read (after pulling what has arrived). Stays within
    /// 2 × limit plus one read from the host unless a waiting read needs more.
    pub fn buffer_size(&self) -> usize {
        self.transport.with_read_buffer(|buffer| buffer.len())
    }

    /// The most bytes `readuntil`/`readline` will look through for a separator.
    pub fn limit(&self) -> usize {
        self.transport.with_read_buffer(|buffer| buffer.limit())
    }

    /// Attempts a read without waiting: `Ok(None)` when it would have to wait, and then
    /// nothing was consumed. Such an attempt counts as the pending waiter: it resumes a
    /// paused reader, as a waiting read does. Used by the non-blocking interface.
    pub fn try_read_with<T>(&self, attempt: impl FnMut(&mut ReadBuffer) -> Step<T>) -> Result<Option<T>> {
        self.transport.try_read_op(attempt)
    }

    /// A `wasi:io` pollable that is ready when a `try_read_with` may make progress
    /// (possibly spuriously). It is a child of the connection's input stream: drop it
    /// before the last handle to the connection.
    pub fn subscribe(&self) -> wasip2::io::poll::Pollable {
        self.transport.reader_pollable()
    }

    /// The lines until EOF, as a `Stream` (asyncio's `async for line in reader`). An
    /// overlong line ends the stream with its error.
    pub fn lines(&self) -> impl Stream<Item = Result<Vec<u8>>> + '_ {
        futures_lite::stream::unfold(Some(self), |reader| async move {
            let reader = reader?;
            match reader.readline().await {
                Ok(line) if line.is_empty() => None,
                Ok(line) => Some((Ok(line), Some(reader))),
                Err(error) => Some((Err(error), None)),
            }
        })
    }
}

impl Clone for StreamReader {
    /// Another handle to the same reader (the one-waiter rule still applies).
    fn clone(&self) -> Self {
        StreamReader { transport: Rc::clone(&self.transport) }
    }
}
