//! `reader.into-stream`, the bulk read: the reader's bytes leave as a `stream<u8>`.
//!
//! The core's [`ReadBuffer::hand_off`] decides what goes first (everything buffered) and
//! whether anything follows (not after EOF; not at all with the sticky exception). The
//! connection's reading task then delivers it: the handed-off bytes, any that its read in
//! flight brought meanwhile, then the receive stream's bytes straight into the consumer's
//! stream, reading the socket only as fast as the consumer takes (`write_all` waits on
//! it); then how it ended, on the future.
//!
//! [`ReadBuffer::hand_off`]: wasio::core::ReadBuffer::hand_off

use wasio::core::HandOff;
use wasio::error::Error;
use wasip3::wit_bindgen::{FutureReader, FutureWriter, StreamReader, StreamResult, StreamWriter};

use crate::connection::{Connection, Ended};
use crate::convert;
use crate::wit;

/// Each read from the socket asks for up to this much once the bytes go straight through:
/// bulk data comes in large reads, and only one such buffer is held at a time.
const BULK_READ: usize = 256 * 1024;

/// The consumer's ends of a bulk read.
pub(crate) type Ends = (StreamReader<u8>, FutureReader<Result<(), wit::Error>>);

/// A bulk read that the reading task has still to deliver.
pub(crate) struct BulkRead {
    /// Bytes to yield before anything the socket brings next.
    first: Vec<u8>,
    /// EOF came before the hand-off: `first` is all.
    eof: bool,
    sink: StreamWriter<u8>,
    end: FutureWriter<Result<(), wit::Error>>,
}

/// Where the bytes after `first` come from.
pub(crate) enum Source {
    /// The socket is still open: its receive stream, and how it ends.
    Socket { incoming: StreamReader<u8>, received: Ended },
    /// The socket's receive side ended before the bulk read was seen, so.
    Ended(Result<(), Error>),
    /// A TLS connection's receive stream, decrypted on the way ([`crate::tls::bulk`]),
    /// after `carry`, ciphertext already read.
    Tls { incoming: StreamReader<u8>, received: Ended, carry: Vec<u8> },
}

impl BulkRead {
    /// Takes the reader's bytes over ([`ReadBuffer::hand_off`]'s errors are the call's)
    /// and makes the consumer's ends.
    ///
    /// [`ReadBuffer::hand_off`]: wasio::core::ReadBuffer::hand_off
    pub(crate) fn start(conn: &Connection) -> Result<(BulkRead, Ends), wit::Error> {
        let HandOff { buffered, eof } = conn.read.borrow_mut().hand_off().map_err(convert::error)?;
        let (sink, stream) = crate::wit_stream::new::<u8>();
        // Only if the reading task went away without a word (it always writes one).
        let (end, ended) = crate::wit_future::new::<Result<(), wit::Error>>(|| {
            Err(wit::Error::Other("the bulk read ended without a result".into()))
        });
        Ok((BulkRead { first: buffered, eof, sink, end }, (stream, ended)))
    }

    /// Sends the bytes to yield first, as far as the consumer takes them (a consumer that
    /// dropped the stream leaves them, and delivering fails on them).
    pub(crate) async fn send_first(&mut self) {
        if !self.first.is_empty() {
            self.first = self.sink.write_all(std::mem::take(&mut self.first)).await;
        }
    }

    /// Bytes that the reading task's read in flight brought after the hand-off: they
    /// follow the handed-off ones.
    pub(crate) fn append(&mut self, bytes: Vec<u8>) {
        if self.first.is_empty() {
            self.first = bytes;
        } else {
            self.first.extend_from_slice(&bytes);
        }
    }

    /// Delivers everything, in order, then the end. A consumer that drops the stream
    /// stops it: the socket is read no further.
    pub(crate) async fn deliver(self, conn: &Connection, source: Source) {
        let BulkRead { first, eof, mut sink, end } = self;
        let outcome = async {
            if !first.is_empty() && !sink.write_all(first).await.is_empty() {
                return Err(dropped());
            }
            if eof {
                return Ok(());
            }
            match source {
                Source::Ended(outcome) => outcome.map_err(convert::error),
                Source::Tls { incoming, received, carry } => {
                    crate::tls::bulk::deliver(conn, &mut sink, incoming, received, carry).await
                }
                Source::Socket { mut incoming, received } => {
                    loop {
                        let (result, bytes) = incoming.read(Vec::with_capacity(BULK_READ)).await;
                        match result {
                            StreamResult::Complete(_) => {
                                if !sink.write_all(bytes).await.is_empty() {
                                    return Err(dropped());
                                }
                            }
                            StreamResult::Cancelled => {}
                            StreamResult::Dropped => break,
                        }
                    }
                    match received.await {
                        Ok(()) => Ok(()),
                        Err(error) => {
                            conn.lose(error.clone());
                            Err(convert::error(error))
                        }
                    }
                }
            }
        }
        .await;
        drop(sink); // the stream's end, before the future says how
        let _ = end.write(outcome).await;
    }
}

/// The consumer dropped the stream before its end.
pub(crate) fn dropped() -> wit::Error {
    wit::Error::Other("the bulk read's stream was dropped by its reader".into())
}
