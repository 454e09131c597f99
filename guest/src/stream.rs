//! `Stream`: asyncio 3.8's one object that reads and writes (mode `Read`, `Write` or
//! `ReadWrite`), over the same connection as a [`StreamReader`] / [`StreamWriter`] pair.
//!
//! Every method forwards to the reader or the writer after the mode check, so the
//! semantics are theirs; what is new is `write`/`writelines`/`close` returning a
//! [`Completion`] (asyncio 3.8's optional await) and [`Stream::scope`] (`async with`).

use std::net::SocketAddr;
use std::rc::Rc;

use futures_lite::Stream as AsyncIterator;

use crate::core::Separators;
use crate::error::{Error, Result};
use crate::extra_info::ExtraInfo;
use crate::reader::StreamReader;
use crate::writer::StreamWriter;

mod completion;
mod mode;
mod open;

pub use completion::Completion;
pub use mode::StreamMode;
pub use open::{connect, connect_read_pipe, connect_with, connect_write_pipe};

/// A connection (or pipe) that is read and written through one object.
///
/// Reading from a stream of mode `Write` fails with [`Error::WrongMode`]
/// (`'The stream is write-only'`), writing to one of mode `Read` with
/// `'The stream is read-only'`. Dropping the stream closes it, as dropping its writer
/// does.
pub struct Stream {
    mode: StreamMode,
    reader: StreamReader,
    writer: StreamWriter,
}

impl Stream {
    /// A stream over `writer`'s connection; both halves exist whatever the mode (the
    /// mode decides what may be used), so closing works the same for every mode.
    pub(crate) fn with_writer(writer: StreamWriter, mode: StreamMode) -> Stream {
        Stream { mode, reader: StreamReader::new(writer.transport_rc()), writer }
    }

    /// The reader and writer of one connection as one `ReadWrite` stream (the inverse of
    /// [`split`](Self::split)). Fails with [`Error::InvalidArgument`] when they belong to
    /// different connections.
    pub fn join(reader: StreamReader, writer: StreamWriter) -> Result<Stream> {
        if !Rc::ptr_eq(&reader.transport_rc(), &writer.transport_rc()) {
            return Err(Error::invalid_argument("the reader and the writer belong to different connections"));
        }
        Ok(Stream { mode: StreamMode::ReadWrite, reader, writer })
    }

    /// The `(reader, writer)` pair of a `ReadWrite` stream (what `open_connection`
    /// returns); a `Read` or `Write` stream fails with its mode error, and is closed as
    /// any dropped stream is.
    pub fn split(self) -> Result<(StreamReader, StreamWriter)> {
        self.mode.check_read()?;
        self.mode.check_write()?;
        Ok((self.reader, self.writer))
    }

    pub fn mode(&self) -> StreamMode {
        self.mode
    }

    /// Runs `body` with the stream, then closes it and waits for the close, also when
    /// `body` fails (Python's `async with stream:`). `body`'s error wins over the close's.
    pub async fn scope<T, E>(
        self,
        body: impl AsyncFnOnce(&Stream) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error>,
    {
        let outcome = body(&self).await;
        let closed = self.close().await;
        let value = outcome?;
        closed?;
        Ok(value)
    }

    // --- StreamReader's API ---

    fn reader(&self) -> Result<&StreamReader> {
        self.mode.check_read()?;
        Ok(&self.reader)
    }

    /// [`StreamReader::read`].
    pub async fn read(&self, n: i64) -> Result<Vec<u8>> {
        self.reader()?.read(n).await
    }

    /// [`StreamReader::readexactly`].
    pub async fn readexactly(&self, n: i64) -> Result<Vec<u8>> {
        self.reader()?.readexactly(n).await
    }

    /// [`StreamReader::readuntil`].
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        self.reader()?.readuntil(separator).await
    }

    /// [`StreamReader::readuntil_any`].
    pub async fn readuntil_any(&self, separators: &Separators) -> Result<Vec<u8>> {
        self.reader()?.readuntil_any(separators).await
    }

    /// [`StreamReader::readline`].
    pub async fn readline(&self) -> Result<Vec<u8>> {
        self.reader()?.readline().await
    }

    /// [`StreamReader::lines`].
    pub fn lines(&self) -> Result<impl AsyncIterator<Item = Result<Vec<u8>>> + '_> {
        Ok(self.reader()?.lines())
    }

    /// [`StreamReader::at_eof`] (no mode check, as in asyncio).
    pub fn at_eof(&self) -> bool {
        self.reader.at_eof()
    }

    /// [`StreamReader::exception`] (no mode check, as in asyncio).
    pub fn exception(&self) -> Option<Error> {
        self.reader.exception()
    }

    /// [`StreamReader::buffer_size`].
    pub fn buffer_size(&self) -> usize {
        self.reader.buffer_size()
    }

    /// [`StreamReader::limit`].
    pub fn limit(&self) -> usize {
        self.reader.limit()
    }

    // --- StreamWriter's API ---

    fn writer(&self) -> Result<&StreamWriter> {
        self.mode.check_write()?;
        Ok(&self.writer)
    }

    /// Queues `data` at once (as [`StreamWriter::write`]); awaiting the result also
    /// drains (`await stream.write(data)`, asyncio 3.8).
    pub fn write(&self, data: &[u8]) -> Completion<'_> {
        match self.writer().and_then(|writer| writer.write(data).map(|()| writer)) {
            Ok(writer) => Completion::pending(writer.drain()),
            Err(error) => Completion::failed(error),
        }
    }

    /// Queues `data` without waiting (`stream.write(data)` not awaited), failing at once
    /// with the mode error or the writer's.
    pub fn write_nowait(&self, data: &[u8]) -> Result<()> {
        self.writer()?.write(data)
    }

    /// Queues every buffer at once; awaiting the result also drains.
    pub fn writelines<I, B>(&self, lines: I) -> Completion<'_>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        match self.writer().and_then(|writer| writer.writelines(lines).map(|()| writer)) {
            Ok(writer) => Completion::pending(writer.drain()),
            Err(error) => Completion::failed(error),
        }
    }

    /// [`StreamWriter::drain`].
    pub async fn drain(&self) -> Result<()> {
        self.writer()?.drain().await
    }

    /// [`StreamWriter::write_eof`].
    pub fn write_eof(&self) -> Result<()> {
        self.writer()?.write_eof()
    }

    /// [`StreamWriter::can_write_eof`].
    pub fn can_write_eof(&self) -> Result<bool> {
        Ok(self.writer()?.can_write_eof())
    }

    /// Starts closing at once (queued bytes are delivered first); awaiting the result
    /// waits for the close (`await stream.close()`, asyncio 3.8). Any mode.
    pub fn close(&self) -> Completion<'_> {
        self.writer.close();
        Completion::pending(self.writer.wait_closed())
    }

    /// Closes at once, dropping what is queued; awaiting the result waits for the close.
    pub fn abort(&self) -> Completion<'_> {
        self.writer.abort();
        Completion::pending(self.writer.wait_closed())
    }

    /// [`StreamWriter::is_closing`].
    pub fn is_closing(&self) -> bool {
        self.writer.is_closing()
    }

    /// [`StreamWriter::wait_closed`].
    pub async fn wait_closed(&self) -> Result<()> {
        self.writer.wait_closed().await
    }

    /// [`StreamWriter::get_write_buffer_size`].
    pub fn get_write_buffer_size(&self) -> usize {
        self.writer.get_write_buffer_size()
    }

    /// [`StreamWriter::get_write_buffer_limits`].
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.writer.get_write_buffer_limits()
    }

    /// [`StreamWriter::set_write_buffer_limits`].
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> Result<()> {
        self.writer()?.set_write_buffer_limits(high, low)
    }

    /// [`StreamWriter::get_extra_info`]: `'peername'`, `'sockname'`, else `None`.
    pub fn get_extra_info(&self, name: &str) -> Option<ExtraInfo> {
        self.writer.get_extra_info(name)
    }

    /// [`StreamWriter::peername`].
    pub fn peername(&self) -> Result<SocketAddr> {
        self.writer.peername()
    }

    /// [`StreamWriter::sockname`].
    pub fn sockname(&self) -> Result<SocketAddr> {
        self.writer.sockname()
    }
}
