//! `stdin-reader` and `stdout-writer` (asyncio's `connect_read_pipe` /
//! `connect_write_pipe`): the component's stdio as a connection over WASI 0.3's
//! `wasi:cli` streams, with the same core as TCP. Both are async calls, whose task runs
//! the connection's pump from the start: stdin is read at once (so `into-stream` works
//! before any read), and what a (sync) `write` queues goes to stdout without a `drain`.

use std::rc::Rc;

use wasio::core::{ReadBuffer, DEFAULT_LIMIT};
use wasio::error::Error;
use wasip3::cli::types::ErrorCode;

use crate::connection::{Connection, Pump};
use crate::convert;
use crate::wit;

/// A reader over stdin with `limit`; its pump runs in the calling async export's task.
pub(crate) fn stdin(limit: usize) -> Result<Rc<Connection>, wit::Error> {
    let read = ReadBuffer::new(limit).map_err(convert::error)?;
    let (incoming, received) = wasip3::cli::stdin::read_via_stream();
    let received = Box::pin(async move { received.await.map_err(cli_error) });
    Ok(Connection::stdio(read, vec![Pump::Read(incoming, received)]))
}

/// A writer to stdout; its pump runs in the calling async export's task. Its read side
/// is never read: no reader is made for it.
pub(crate) fn stdout() -> Rc<Connection> {
    let read = ReadBuffer::new(DEFAULT_LIMIT).expect("the default limit is valid");
    let (outgoing, to_write) = wasip3::wit_stream::new::<u8>();
    let written = wasip3::cli::stdout::write_via_stream(to_write);
    let written = Box::pin(async move { written.await.map_err(cli_error) });
    Connection::stdio(read, vec![Pump::Write(outgoing, written)])
}

/// A `wasi:cli` stream error as asyncio's: a broken pipe is a lost connection.
fn cli_error(code: ErrorCode) -> Error {
    match code {
        ErrorCode::Pipe => Error::ConnectionReset("Broken pipe".into()),
        ErrorCode::Io => Error::Other("Input/output error".into()),
        ErrorCode::IllegalByteSequence => Error::Other("Illegal byte sequence".into()),
    }
}
