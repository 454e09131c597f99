//! The writer's user-space buffer with asyncio's write flow control (contract C.2, A.3).
//!
//! asyncio's `StreamWriter` has no buffer of its own; the transport's buffer and its
//! watermarks are what `write()`, `drain()`, `get_write_buffer_size()` and
//! `set_write_buffer_limits()` observe. This is that buffer. `write()` never blocks and
//! never reports connection errors (data for a lost connection is silently dropped);
//! `drain()` is the only throttle: it waits while [`WriteBuffer::is_paused`].

use super::byte_queue::ByteQueue;
use crate::error::{Error, Result};

/// asyncio's default high-water mark (TR:316-330): 64 KiB.
pub const DEFAULT_HIGH_WATER: usize = 65536;
/// asyncio's default low-water mark: `high / 4`.
pub const DEFAULT_LOW_WATER: usize = DEFAULT_HIGH_WATER / 4;
/// asyncio's SSL transport's default high-water mark
/// (`constants.FLOW_CONTROL_HIGH_WATER_SSL_WRITE`, SP:852-858): 512 KiB.
pub const SSL_DEFAULT_HIGH_WATER: usize = 512 * 1024;

/// Whose write flow control the buffer follows: asyncio's socket transport's
/// (`_FlowControlMixin`) or its SSL transport's (`SSLProtocol._control_app_writing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowControl {
    /// 64 KiB / 16 KiB; pauses above the high-water mark; `set_limits` only pauses.
    Tcp,
    /// 512 KiB / 128 KiB; pauses at the high-water mark; `set_limits` pauses or resumes.
    Ssl,
}

/// What `write()` did with the data. Never an error for connection problems.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Queued for the host.
    Buffered,
    /// Discarded: the connection is lost, or it is closing and already flushed.
    Dropped,
    /// Nothing to write.
    Empty,
}

/// Bytes waiting to be handed to the host, with the pause state `drain()` waits on.
#[derive(Debug)]
pub struct WriteBuffer {
    queue: ByteQueue,
    flow: FlowControl,
    high: usize,
    low: usize,
    paused: bool,
    eof_requested: bool,
    closing: bool,
    lost: bool,
    /// A bulk write (`write-stream`) is feeding the queue.
    streaming: bool,
}

impl Default for WriteBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteBuffer {
    pub fn new() -> Self {
        WriteBuffer {
            queue: ByteQueue::default(),
            flow: FlowControl::Tcp,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_LOW_WATER,
            paused: false,
            eof_requested: false,
            closing: false,
            lost: false,
            streaming: false,
        }
    }

    /// Switches to `flow`'s rules and default marks, as asyncio's writer does when its
    /// transport becomes an SSL one (`ssl=`, `start_tls`).
    pub fn use_flow_control(&mut self, flow: FlowControl) {
        self.flow = flow;
        let (low, high) = flow.default_limits();
        (self.low, self.high) = (low, high);
        self.paused = false;
        self.maybe_pause();
    }

    /// asyncio's `transport.write(data)` (SE:1047-1084).
    pub fn write(&mut self, data: &[u8]) -> Result<WriteOutcome> {
        self.accept("Cannot call write() after write_eof()", data.len(), |queue| queue.push(data))
    }

    /// asyncio's `transport.write(data)` as its socket transport does it: with nothing
    /// queued, `send` is offered the data first (the host takes what it can now) and only
    /// the rest is queued, so the common case copies nothing into the buffer. `send`
    /// returns how many bytes it took; it is not called when the data would be refused
    /// or dropped, or when bytes are already queued (they must go first).
    pub fn write_through(&mut self, data: &[u8], send: impl FnOnce(&[u8]) -> usize) -> Result<WriteOutcome> {
        self.accept("Cannot call write() after write_eof()", data.len(), |queue| {
            let sent = if queue.is_empty() { send(data).min(data.len()) } else { 0 };
            queue.push(&data[sent..]);
        })
    }

    /// asyncio's `transport.writelines(lines)` (SE:1166-1177), with its own error text.
    ///
    /// asyncio's version skips the lost-connection check and the pause check; here it
    /// follows exactly the same rules as `write` of the concatenation.
    pub fn writelines<I>(&mut self, lines: I) -> Result<WriteOutcome>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let joined: Vec<u8> = lines.into_iter().flat_map(|l| l.as_ref().to_vec()).collect();
        self.accept("Cannot call writelines() after write_eof()", joined.len(), |queue| {
            queue.push_vec(joined)
        })
    }

    /// The checks shared by `write` and `writelines`, in asyncio's order.
    fn accept(
        &mut self,
        after_eof_message: &str,
        len: usize,
        append: impl FnOnce(&mut ByteQueue),
    ) -> Result<WriteOutcome> {
        if self.eof_requested {
            return Err(Error::Closed(after_eof_message.into()));
        }
        if len == 0 {
            return Ok(WriteOutcome::Empty);
        }
        // `close()` with an empty buffer counts as lost at once (SE:857-865); with data
        // still queued, writes keep being accepted and delivered (quirk E13). asyncio's
        // SSL protocol drops every write once it is shutting down (SP:675-687).
        if self.lost || (self.closing && (self.queue.is_empty() || self.flow == FlowControl::Ssl)) {
            return Ok(WriteOutcome::Dropped);
        }
        append(&mut self.queue);
        self.maybe_pause();
        Ok(WriteOutcome::Buffered)
    }

    /// asyncio's `get_write_buffer_size()`: bytes queued, not yet accepted by the host.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// asyncio's `get_write_buffer_limits()`: `(low, high)`.
    pub fn limits(&self) -> (usize, usize) {
        (self.low, self.high)
    }

    /// asyncio's `set_write_buffer_limits(high, low)` (TR:316-334). Over TCP it only
    /// pauses, never resumes: a lower high-water mark can pause at once, a higher one
    /// waits for the next flush to resume. Over SSL it does either (SP:146-166).
    pub fn set_limits(&mut self, high: Option<usize>, low: Option<usize>) -> Result<()> {
        let high = match (high, low) {
            (Some(high), _) => high,
            (None, Some(low)) => low.saturating_mul(4),
            (None, None) => self.flow.default_limits().1,
        };
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(Error::invalid_argument(format!(
                "high ({high}) must be >= low ({low}) must be >= 0"
            )));
        }
        self.high = high;
        self.low = low;
        self.maybe_pause();
        if self.flow == FlowControl::Ssl {
            self.maybe_resume();
        }
        Ok(())
    }

    /// While true, `drain()` waits.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The oldest queued bytes, at most `max`: what to offer the host next.
    pub fn front(&self, max: usize) -> &[u8] {
        let queued = self.queue.as_slice();
        &queued[..max.min(queued.len())]
    }

    /// The host accepted the first `n` bytes of [`front`](Self::front). Resumes once
    /// the buffer is at or below the low-water mark (TR:297-311).
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.queue.len(), "consumed {n} of {} queued bytes", self.queue.len());
        self.queue.discard_front(n);
        self.maybe_resume();
    }

    /// asyncio's `write_eof()`: shut down the sending side once the buffer is flushed.
    /// Idempotent, and ignored once closing (SE:1159-1164).
    pub fn request_eof(&mut self) {
        if !self.closing {
            self.eof_requested = true;
        }
    }

    pub fn eof_requested(&self) -> bool {
        self.eof_requested
    }

    /// asyncio's `close()`: flush what is queued, then close. Idempotent.
    pub fn start_closing(&mut self) {
        self.closing = true;
    }

    /// asyncio's `is_closing()`.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// The connection is gone: queued data can never be delivered, later writes are
    /// dropped, and `drain()` must stop waiting.
    pub fn mark_lost(&mut self) {
        self.lost = true;
        self.queue.clear();
        self.paused = false;
    }

    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// Whether `drain()` fails with "Connection lost" now: the connection is gone, or it is
    /// closing with nothing left to send (asyncio's drain yields once on a closing
    /// transport, and with an empty buffer its connection_lost runs in that iteration).
    pub fn drain_finds_lost(&self) -> bool {
        self.lost || (self.closing && self.is_empty())
    }

    /// A bulk write starts (wasio:streams@0.2.0's `writer.write-stream`: a `write` then a
    /// `drain` per chunk, so it keeps the marks). One at a time: a second one is `Busy`
    /// ("write-stream"), since two would interleave their chunks. Plain writes may still
    /// come in between chunks.
    pub fn begin_stream(&mut self) -> Result<()> {
        if self.streaming {
            return Err(Error::busy("write-stream"));
        }
        self.streaming = true;
        Ok(())
    }

    /// The bulk write is over (its stream ended, it failed or it was cancelled).
    pub fn end_stream(&mut self) {
        self.streaming = false;
    }

    /// TR:279-295: pause when the buffer exceeds the high-water mark (strict); SSL
    /// (SP:820-834) pauses when it reaches it. An empty buffer never pauses: asyncio's
    /// SSL layer would pause one with `high=0` until its next I/O event resumed it.
    fn maybe_pause(&mut self) {
        let len = self.queue.len();
        let over = match self.flow {
            FlowControl::Tcp => len > self.high,
            FlowControl::Ssl => len >= self.high && len > 0,
        };
        if over {
            self.paused = true;
        }
    }

    /// TR:297-311 / SP:835-847: resume once at or below the low-water mark.
    fn maybe_resume(&mut self) {
        if self.paused && self.queue.len() <= self.low {
            self.paused = false;
        }
    }
}

impl FlowControl {
    /// `(low, high)` when none were set.
    fn default_limits(self) -> (usize, usize) {
        match self {
            FlowControl::Tcp => (DEFAULT_LOW_WATER, DEFAULT_HIGH_WATER),
            FlowControl::Ssl => (SSL_DEFAULT_HIGH_WATER / 4, SSL_DEFAULT_HIGH_WATER),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bulk_write_at_a_time_and_plain_writes_between_its_chunks() {
        let mut w = WriteBuffer::new();
        w.begin_stream().unwrap();
        assert_eq!(w.begin_stream(), Err(Error::busy("write-stream")));
        assert_eq!(w.write(b"between").unwrap(), WriteOutcome::Buffered);
        w.end_stream();
        w.begin_stream().unwrap();
    }

    #[test]
    fn write_through_queues_only_what_the_host_did_not_take() {
        let mut w = WriteBuffer::new();
        assert_eq!(w.write_through(b"abcdef", |bytes| bytes.len()).unwrap(), WriteOutcome::Buffered);
        assert!(w.is_empty(), "all taken at once");
        w.write_through(b"abcdef", |_| 4).unwrap();
        assert_eq!(w.front(100), b"ef");
        // Bytes are queued: they go first, so new data is not offered to the host.
        w.write_through(b"gh", |_| panic!("offered while bytes are queued")).unwrap();
        assert_eq!(w.front(100), b"efgh");
    }

    #[test]
    fn write_through_pauses_on_what_it_queued() {
        let mut w = WriteBuffer::new();
        w.set_limits(Some(10), None).unwrap();
        w.write_through(&[1; 100], |_| 95).unwrap();
        assert!(!w.is_paused(), "5 queued, under the high-water mark");
        w.write_through(&[1; 100], |_| unreachable!()).unwrap();
        assert!(w.is_paused());
    }

    #[test]
    fn write_through_offers_nothing_that_write_would_refuse_or_drop() {
        let never = |_: &[u8]| -> usize { panic!("offered to the host") };
        let mut w = WriteBuffer::new();
        assert_eq!(w.write_through(b"", never).unwrap(), WriteOutcome::Empty);
        w.request_eof();
        assert!(w.write_through(b"x", never).is_err());
        let mut w = WriteBuffer::new();
        w.mark_lost();
        assert_eq!(w.write_through(b"x", never).unwrap(), WriteOutcome::Dropped);
        let mut w = WriteBuffer::new();
        w.start_closing();
        assert_eq!(w.write_through(b"x", never).unwrap(), WriteOutcome::Dropped);
    }

    #[test]
    fn set_limits_pauses_but_never_resumes() {
        let mut w = WriteBuffer::new();
        w.write(&[1; 50]).unwrap();
        w.set_limits(Some(10), None).unwrap();
        assert!(w.is_paused());
        w.set_limits(Some(1000), None).unwrap();
        assert!(w.is_paused(), "raising the marks does not resume; the next consume does");
    }

    #[test]
    fn consume_with_raised_marks_resumes() {
        let mut w = WriteBuffer::new();
        w.write(&[1; 50]).unwrap();
        w.set_limits(Some(10), None).unwrap();
        w.set_limits(Some(1000), None).unwrap();
        w.consume(1);
        assert!(!w.is_paused());
    }

    #[test]
    fn ssl_flow_control_follows_asyncio_sslproto() {
        let mut w = WriteBuffer::new();
        w.use_flow_control(FlowControl::Ssl);
        assert_eq!(w.limits(), (128 * 1024, 512 * 1024));
        w.set_limits(Some(10), None).unwrap();
        assert_eq!(w.limits(), (2, 10));
        w.write(&[1; 9]).unwrap();
        assert!(!w.is_paused(), "under the high-water mark");
        w.write(&[1; 1]).unwrap();
        assert!(w.is_paused(), "SSL pauses at the high-water mark, not above it");
        w.set_limits(Some(100), Some(50)).unwrap();
        assert!(!w.is_paused(), "SSL's set_write_buffer_limits resumes too");
        w.set_limits(None, None).unwrap();
        assert_eq!(w.limits(), (128 * 1024, 512 * 1024), "the SSL defaults again");
        w.start_closing();
        assert_eq!(w.write(b"x"), Ok(WriteOutcome::Dropped), "SSL drops writes once closing");
        let mut empty = WriteBuffer::new();
        empty.use_flow_control(FlowControl::Ssl);
        empty.set_limits(Some(0), None).unwrap();
        assert!(!empty.is_paused(), "an empty buffer never pauses");
    }

    #[test]
    fn empty_write_is_a_no_op() {
        let mut w = WriteBuffer::new();
        assert_eq!(w.write(b""), Ok(WriteOutcome::Empty));
        let none: [&[u8]; 0] = [];
        assert_eq!(w.writelines(none), Ok(WriteOutcome::Empty));
        assert_eq!(w.writelines([b"", b""]), Ok(WriteOutcome::Empty));
        assert!(w.is_empty());
    }

    #[test]
    fn write_after_write_eof_is_an_error() {
        let mut w = WriteBuffer::new();
        w.write(b"abc").unwrap();
        w.request_eof();
        w.request_eof();
        assert!(w.eof_requested());
        assert_eq!(w.write(b"x"), Err(Error::Closed("Cannot call write() after write_eof()".into())));
        assert_eq!(
            w.writelines([b"x"]),
            Err(Error::Closed("Cannot call writelines() after write_eof()".into()))
        );
        // Checked before the empty-data shortcut, as in asyncio.
        assert!(w.write(b"").is_err());
        assert_eq!(w.front(10), b"abc");
    }

    #[test]
    fn write_eof_is_ignored_once_closing() {
        let mut w = WriteBuffer::new();
        w.write(b"abc").unwrap();
        w.start_closing();
        w.request_eof();
        assert!(!w.eof_requested());
        assert_eq!(w.write(b"d"), Ok(WriteOutcome::Buffered));
    }

    #[test]
    fn lost_connection_drops_everything() {
        let mut w = WriteBuffer::new();
        w.set_limits(Some(4), None).unwrap();
        w.write(b"abcdefgh").unwrap();
        assert!(w.is_paused());
        w.mark_lost();
        assert!(w.is_lost());
        assert!(!w.is_paused(), "drain must stop waiting");
        assert!(w.is_empty());
        assert_eq!(w.write(b"x"), Ok(WriteOutcome::Dropped));
        assert_eq!(w.writelines([b"x", b"y"]), Ok(WriteOutcome::Dropped));
        assert!(w.is_empty());
    }

    #[test]
    fn writelines_concatenates_and_pauses() {
        let mut w = WriteBuffer::new();
        w.set_limits(Some(5), None).unwrap();
        assert_eq!(w.writelines([&b"ab"[..], b"", b"cd"]), Ok(WriteOutcome::Buffered));
        assert!(!w.is_paused());
        w.writelines(vec![b"ef".to_vec()]).unwrap();
        assert!(w.is_paused());
        assert_eq!(w.front(usize::MAX), b"abcdef");
    }

    #[test]
    fn front_is_bounded_and_fifo() {
        let mut w = WriteBuffer::new();
        w.write(b"hello ").unwrap();
        w.write(b"world").unwrap();
        assert_eq!(w.front(3), b"hel");
        w.consume(3);
        assert_eq!(w.front(0), b"");
        assert_eq!(w.front(100), b"lo world");
        w.consume(8);
        assert!(w.is_empty());
        assert_eq!(w.front(10), b"");
    }
}
