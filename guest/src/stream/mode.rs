//! `StreamMode`: what a [`Stream`](super::Stream) may do, and asyncio 3.8's error when
//! it is asked for something else.

use crate::error::{Error, Result};

/// asyncio 3.8's `StreamMode` flag: a stream reads, writes, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// The `StreamReader` half only (e.g. [`connect_read_pipe`](super::connect_read_pipe)).
    Read,
    /// The `StreamWriter` half only (e.g. [`connect_write_pipe`](super::connect_write_pipe)).
    Write,
    /// Both (connections).
    ReadWrite,
}

impl StreamMode {
    pub fn is_read(self) -> bool {
        matches!(self, StreamMode::Read | StreamMode::ReadWrite)
    }

    pub fn is_write(self) -> bool {
        matches!(self, StreamMode::Write | StreamMode::ReadWrite)
    }

    /// asyncio's `_check_read`: `RuntimeError('The stream is write-only')`.
    pub(crate) fn check_read(self) -> Result<()> {
        if self.is_read() {
            Ok(())
        } else {
            Err(Error::WrongMode("The stream is write-only"))
        }
    }

    /// asyncio's `_check_write`: `RuntimeError('The stream is read-only')`.
    pub(crate) fn check_write(self) -> Result<()> {
        if self.is_write() {
            Ok(())
        } else {
            Err(Error::WrongMode("The stream is read-only"))
        }
    }
}
