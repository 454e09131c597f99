//! stdin and stdout as streams (asyncio's `connect_read_pipe` / `connect_write_pipe`).

use wasip2::cli::{stdin, stdout};

use crate::core::DEFAULT_LIMIT;
use crate::error::Result;
use crate::reader::StreamReader;
use crate::transport::{Io, Transport};
use crate::writer::StreamWriter;

/// A reader over the component's stdin. Its writer half is a sink on stdout that is
/// never exposed: a transport always has both directions.
pub fn stdin_reader(limit: Option<usize>) -> Result<StreamReader> {
    let io = Io::new(stdin::get_stdin(), stdout::get_stdout(), None);
    let transport = Transport::new(io, limit.unwrap_or(DEFAULT_LIMIT))?;
    Ok(StreamReader::new(transport))
}

/// A writer to the component's stdout, with drain watermarks like a socket's.
pub fn stdout_writer() -> Result<StreamWriter> {
    let io = Io::new(stdin::get_stdin(), stdout::get_stdout(), None);
    let transport = Transport::new(io, DEFAULT_LIMIT)?;
    Ok(StreamWriter::new(transport))
}
