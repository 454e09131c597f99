//! `sock=`: streams over a `wasi:sockets` TCP connection the component already holds
//! (asyncio's `connect(sock=...)` / `open_connection(sock=...)`).
//!
//! In `wasi:sockets` a connection's byte streams come once, from `finish-connect` or
//! `accept`, so the socket is handed over together with them: [`TcpConnection`].

use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::tcp::TcpSocket;

use crate::connection::ConnectOptions;
use crate::error::{Error, Result};
use crate::reader::StreamReader;
use crate::stream::{Stream, StreamMode};
use crate::transport::{Io, Transport};
use crate::writer::StreamWriter;

/// A connected TCP socket with its streams, as `accept` returns them (`From` that
/// triple), or `finish_connect`'s pair with the socket. The fields drop in their order:
/// the streams before the socket they belong to, as `wasi:sockets` requires.
pub struct TcpConnection {
    pub input: InputStream,
    pub output: OutputStream,
    pub socket: TcpSocket,
}

impl From<(TcpSocket, InputStream, OutputStream)> for TcpConnection {
    fn from((socket, input, output): (TcpSocket, InputStream, OutputStream)) -> Self {
        TcpConnection { socket, input, output }
    }
}

/// `connect(sock=connection)`: a `ReadWrite` [`Stream`] over a connection the component
/// made itself. Only `options.limit` applies; `local_addr`, `happy_eyeballs_delay` and
/// `timeout` are about connecting and fail with [`Error::InvalidArgument`].
///
/// A socket that is not connected fails with [`Error::InvalidArgument`]; one whose
/// output stream is already closed, with [`Error::Closed`].
pub async fn connect_socket(connection: impl Into<TcpConnection>, options: ConnectOptions) -> Result<Stream> {
    let (_reader, writer) = open_connection_socket(connection, options).await?;
    Ok(Stream::with_writer(writer, StreamMode::ReadWrite))
}

/// `open_connection(sock=connection)`: see [`connect_socket`].
pub async fn open_connection_socket(
    connection: impl Into<TcpConnection>,
    options: ConnectOptions,
) -> Result<(StreamReader, StreamWriter)> {
    // Kept whole until it is handed over: on an early return it then drops in field
    // order, the streams before the socket.
    let connection = connection.into();
    if options.limit == 0 {
        return Err(Error::invalid_argument("Limit cannot be <= 0"));
    }
    if options.local_addr.is_some() || options.happy_eyeballs_delay.is_some() || options.timeout.is_some() {
        return Err(Error::invalid_argument(
            "local_addr, happy_eyeballs_delay and timeout can not be used with sock",
        ));
    }
    if connection.socket.remote_address().is_err() {
        return Err(Error::invalid_argument("sock is not a connected socket"));
    }
    if let Err(StreamError::Closed) = connection.output.check_write() {
        return Err(Error::Closed("sock is closed: its output stream is closed".into()));
    }
    let TcpConnection { input, output, socket } = connection;
    let transport = Transport::new(Io::new(input, output, Some(socket)), options.limit)?;
    Ok((StreamReader::new(transport.clone()), StreamWriter::new(transport)))
}
