//! The start of a bulk read (wasio:streams@0.2.0's `reader.into-stream`): from then on
//! the reader's bytes leave as a stream instead of through reads.

use super::ReadBuffer;
use crate::error::{Error, Result};

/// What the stream yields first, taken out of the reader at the hand-off.
#[derive(Debug, PartialEq, Eq)]
pub struct HandOff {
    /// Everything that was buffered, oldest first: the stream's first bytes. Bytes that
    /// arrive later go after them, straight from the transport, never through the
    /// buffer again.
    pub buffered: Vec<u8>,
    /// EOF was already received: nothing follows `buffered` and the stream ends well.
    pub eof: bool,
}

impl ReadBuffer {
    /// Ends the reader's reads and hands its bytes over to a stream: the buffer is
    /// emptied into the [`HandOff`] (counted as consumed), and the pause is lifted, the
    /// stream's own back-pressure taking its place (C.1 throttles a buffer that no
    /// longer fills).
    ///
    /// As for every read, the sticky exception wins over buffered data (A.2.2) and
    /// nothing is taken. A read already waiting makes it `Busy` ("into-stream"), as a
    /// second waiter would be (A.2.3): the bytes it waits for must not go two ways.
    pub fn hand_off(&mut self) -> Result<HandOff> {
        if let Some(error) = &self.exception {
            return Err(error.clone());
        }
        if self.waiting.is_some() {
            return Err(Error::busy("into-stream"));
        }
        let buffered = self.discard_all_returning();
        self.paused = false;
        Ok(HandOff { buffered, eof: self.eof })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> ReadBuffer {
        ReadBuffer::new(4).unwrap()
    }

    #[test]
    fn hands_over_every_buffered_byte_in_order_and_empties_the_buffer() {
        let mut stream = reader();
        stream.feed_data(b"ab");
        stream.feed_data(b"cdefghij"); // over 2 x limit: paused
        assert!(stream.is_paused());
        let hand_off = stream.hand_off().unwrap();
        assert_eq!(hand_off, HandOff { buffered: b"abcdefghij".to_vec(), eof: false });
        assert!(stream.is_empty());
        assert!(!stream.is_paused(), "the stream's back-pressure replaces the pause");
        assert_eq!(stream.total_consumed(), 10);
    }

    #[test]
    fn after_eof_the_buffered_bytes_are_all_there_is() {
        let mut stream = reader();
        stream.feed_data(b"tail");
        stream.feed_eof();
        assert_eq!(stream.hand_off().unwrap(), HandOff { buffered: b"tail".to_vec(), eof: true });
    }

    #[test]
    fn an_empty_reader_hands_over_nothing() {
        assert_eq!(reader().hand_off().unwrap(), HandOff { buffered: Vec::new(), eof: false });
    }

    #[test]
    fn the_sticky_exception_wins_over_buffered_data_and_takes_nothing() {
        let mut stream = reader();
        stream.feed_data(b"kept");
        stream.set_exception(Error::ConnectionReset("reset".into()));
        assert!(matches!(stream.hand_off(), Err(Error::ConnectionReset(_))));
        assert_eq!(stream.buffered(), b"kept");
    }

    #[test]
    fn a_waiting_read_makes_it_busy_and_takes_nothing() {
        let mut stream = reader();
        stream.feed_data(b"ab");
        stream.begin_wait("readuntil").unwrap();
        assert_eq!(stream.hand_off(), Err(Error::busy("into-stream")));
        assert_eq!(stream.buffered(), b"ab");
        stream.end_wait();
        assert_eq!(stream.hand_off().unwrap().buffered, b"ab");
    }
}
