//! The semantics of asyncio's Streams, with no I/O.
//!
//! Everything here is plain Rust over byte buffers, so it is tested natively:
//! [`ReadBuffer`] is `StreamReader`'s state machine (buffer, EOF, sticky exception,
//! limit, read flow control, one waiter), [`Separators`] the validated separator set of
//! `readuntil`, [`WriteBuffer`] the writer's queue with asyncio's watermarks, and
//! [`ReadSize`] how much each host read asks for. The
//! I/O layer moves bytes between these and `wasi:sockets` and turns
//! [`Step::NeedData`] into a wait.

mod byte_queue;
pub mod read_buffer;
pub mod read_size;
pub mod separators;
pub mod write_buffer;

#[cfg(any(test, feature = "model"))]
pub mod model;
#[cfg(test)]
mod tests;

pub use read_buffer::{HandOff, ReadBuffer, SearchState, DEFAULT_LIMIT};
pub use read_size::{ReadSize, WaitingReadSize};
pub use separators::Separators;
pub use write_buffer::{FlowControl, WriteBuffer, WriteOutcome, DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};

/// Result of one attempt at a read operation.
#[derive(Debug, PartialEq)]
pub enum Step<T> {
    /// The operation finished, successfully or not; it consumed what it returned.
    Ready(crate::error::Result<T>),
    /// The buffer cannot answer yet: wait for data, EOF or an exception, then retry the
    /// same operation (with the same [`SearchState`] for `readuntil`/`readline`).
    NeedData,
}
