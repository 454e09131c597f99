//! Opening a [`Stream`]: `connect` (asyncio 3.8's replacement of `open_connection`) and
//! the pipes over the component's stdin and stdout.

use super::{Stream, StreamMode};
use crate::connection::{open_connection_with, ConnectOptions};
use crate::error::Result;
use crate::stdio;
use crate::writer::StreamWriter;

/// Connects to `host:port` and returns a `ReadWrite` stream (asyncio 3.8's
/// `connect(host, port)`); see [`open_connection`](crate::open_connection).
pub async fn connect(host: &str, port: u16) -> Result<Stream> {
    connect_with(host, port, ConnectOptions::default()).await
}

/// [`connect`] with `open_connection`'s options (limit, local address, happy eyeballs,
/// timeout).
pub async fn connect_with(host: &str, port: u16, options: ConnectOptions) -> Result<Stream> {
    let (_reader, writer) = open_connection_with(host, port, options).await?;
    Ok(Stream::with_writer(writer, StreamMode::ReadWrite))
}

/// The component's stdin as a `Read` stream with the given limit (asyncio's
/// `connect_read_pipe(sys.stdin, limit=limit)`; `DEFAULT_LIMIT` is asyncio's default).
pub async fn connect_read_pipe(limit: usize) -> Result<Stream> {
    let reader = stdio::stdin_reader(Some(limit))?;
    Ok(Stream::with_writer(StreamWriter::new(reader.transport_rc()), StreamMode::Read))
}

/// The component's stdout as a `Write` stream, with a socket's drain watermarks
/// (asyncio's `connect_write_pipe(sys.stdout)`).
pub async fn connect_write_pipe() -> Result<Stream> {
    Ok(Stream::with_writer(stdio::stdout_writer()?, StreamMode::Write))
}
