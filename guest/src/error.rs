//! One error type for every stream operation, mirroring asyncio's exceptions.
//!
//! The sans-I/O core produces `IncompleteRead`, `LimitOverrun`, `Busy` and
//! `InvalidArgument`; the I/O layer adds the connection and address errors that
//! `wasi:sockets` reports. The type is `Clone` because a connection error is sticky:
//! asyncio re-raises the same exception from every later read.

use std::fmt;

/// Which of asyncio's two `LimitOverrunError` messages applies.
///
/// CPython tells the cases apart only by message text; here it is a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// `'Separator is not found, and chunk exceed the limit'`
    SeparatorNotFound,
    /// `'Separator is found, but chunk is longer than limit'`
    SeparatorFound,
}

impl Overrun {
    /// asyncio's exact message for this case.
    pub fn message(self) -> &'static str {
        match self {
            Overrun::SeparatorNotFound => "Separator is not found, and chunk exceed the limit",
            Overrun::SeparatorFound => "Separator is found, but chunk is longer than limit",
        }
    }
}

/// A stream operation's failure, named after the asyncio exception it mirrors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `asyncio.IncompleteReadError`: EOF came before the read could complete.
    /// `partial` is everything that was buffered (the buffer is now empty);
    /// `expected` is `None` for `readuntil`, `Some(n)` for `readexactly(n)`.
    #[error("{} bytes read on a total of {} expected bytes", partial.len(), ExpectedDisplay(*expected))]
    IncompleteRead { partial: Vec<u8>, expected: Option<u64> },

    /// `asyncio.LimitOverrunError`: the chunk before the separator is longer than the
    /// reader's limit. The buffer is left untouched (except by `readline`, which
    /// discards as CPython does), so the data stays readable.
    #[error("{}", kind.message())]
    LimitOverrun { kind: Overrun, consumed: usize },

    /// `ConnectionResetError`: the peer reset the connection, or the connection was
    /// lost before `drain()` could complete (asyncio's "Connection lost").
    #[error("connection reset{}", detail_suffix(.0))]
    ConnectionReset(String),
    /// `ConnectionRefusedError`: nothing listens at the address.
    #[error("connection refused{}", detail_suffix(.0))]
    ConnectionRefused(String),
    /// `ConnectionAbortedError`.
    #[error("connection aborted{}", detail_suffix(.0))]
    ConnectionAborted(String),
    /// `TimeoutError`: a `timeout(..)` or connect timeout expired.
    #[error("timed out")]
    TimedOut,
    /// `PermissionError`: the host's network policy denied the address.
    #[error("access denied{}", detail_suffix(.0))]
    AccessDenied(String),
    /// `OSError(EADDRINUSE)`.
    #[error("address in use{}", detail_suffix(.0))]
    AddressInUse(String),
    /// `OSError(EADDRNOTAVAIL)`.
    #[error("address not available{}", detail_suffix(.0))]
    AddressNotAvailable(String),
    /// `OSError(EMFILE / ENFILE)`, "Too many open files": the host is out of descriptors
    /// for a new socket (`wasi:sockets` `new-socket-limit`). Lasts until some are closed.
    #[error("too many open files{}", detail_suffix(.0))]
    TooManyOpenFiles(String),
    /// `OSError(ENOBUFS / ENOMEM)` / `MemoryError`: the host has no memory for the socket
    /// (`wasi:sockets` `out-of-memory`).
    #[error("out of memory{}", detail_suffix(.0))]
    OutOfMemory(String),
    /// `socket.gaierror`: the host name did not resolve.
    #[error("name could not be resolved: {0}")]
    NameUnresolvable(String),
    /// The stream or server is closed for this operation (e.g. `write()` after
    /// `write_eof()`, `serve_forever()` on a closed server).
    #[error("{0}")]
    Closed(String),
    /// asyncio's `RuntimeError('<op>() called while another coroutine is already
    /// waiting for incoming data')`: a second read that would have to wait.
    #[error("{0}() called while another coroutine is already waiting for incoming data")]
    Busy(&'static str),
    /// asyncio 3.8's `RuntimeError('The stream is read-only')` (writing to a stream of
    /// mode `Read`) or `'The stream is write-only'` (reading from one of mode `Write`).
    #[error("{0}")]
    WrongMode(&'static str),
    /// `ValueError` for a bad argument (negative size, empty separator, bad limit).
    #[error("{0}")]
    InvalidArgument(String),
    /// `ssl.SSLError` and its kin: the TLS handshake or session failed; `kind` says why
    /// (certificate verify failed, host name mismatch, handshake timeout, ...).
    #[error("{message}")]
    Ssl { kind: crate::tls::SslErrorKind, message: String },
    /// `NotImplementedError`: the operation does not exist on this kind of connection
    /// (`write_eof()` over TLS, which cannot half-close).
    #[error("{0}")]
    NotImplemented(&'static str),
    /// Any other failure, with the host's description.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The `Busy` error for an operation named as asyncio names it.
    pub fn busy(operation: &'static str) -> Self {
        Error::Busy(operation)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// Whether the peer ended the connection abruptly (a reset, an abort, a broken pipe):
    /// routine for a server, not a fault of its handler.
    pub fn is_peer_disconnect(&self) -> bool {
        matches!(self, Error::ConnectionReset(_) | Error::ConnectionAborted(_))
    }

    /// Whether the host is out of a resource (descriptors, memory): trying again at once
    /// fails again; asyncio stops accepting for a second.
    pub fn is_resource_exhaustion(&self) -> bool {
        matches!(self, Error::TooManyOpenFiles(_) | Error::OutOfMemory(_))
    }

    /// asyncio's `ConnectionResetError('Connection lost')`, raised by `drain()`.
    pub fn connection_lost() -> Self {
        Error::ConnectionReset("Connection lost".into())
    }
}

struct ExpectedDisplay(Option<u64>);

impl fmt::Display for ExpectedDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("undefined"),
        }
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_read_message_matches_asyncio() {
        let e = Error::IncompleteRead { partial: vec![0; 18], expected: Some(36) };
        assert_eq!(e.to_string(), "18 bytes read on a total of 36 expected bytes");
        let e = Error::IncompleteRead { partial: b"ab".to_vec(), expected: None };
        assert_eq!(e.to_string(), "2 bytes read on a total of undefined expected bytes");
    }

    #[test]
    fn limit_overrun_messages_match_asyncio() {
        let e = Error::LimitOverrun { kind: Overrun::SeparatorNotFound, consumed: 5 };
        assert_eq!(e.to_string(), "Separator is not found, and chunk exceed the limit");
        let e = Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 5 };
        assert_eq!(e.to_string(), "Separator is found, but chunk is longer than limit");
    }

    #[test]
    fn busy_names_the_operation() {
        assert_eq!(
            Error::busy("readuntil").to_string(),
            "readuntil() called while another coroutine is already waiting for incoming data"
        );
    }
}

/// The WIT `error` variant of either streams package (`wasio:streams@0.1.0` or `@0.2.0`:
/// the same cases, but each generated module has its own types) for an [`Error`]: the one
/// mapping both providers use. `$wit` is the generated `types` module's path.
#[macro_export]
#[doc(hidden)]
macro_rules! wit_error {
    ($($wit:ident)::+, $error:expr) => {{
        use $($wit)::+ as wit;
        use $crate::error::{Error, Overrun};
        use $crate::SslErrorKind;
        match $error {
            Error::IncompleteRead { partial, expected } => {
                wit::Error::IncompleteRead(wit::IncompleteRead { partial, expected })
            }
            Error::LimitOverrun { kind, consumed } => wit::Error::LimitOverrun(wit::LimitOverrun {
                message: kind.message().to_string(),
                consumed: consumed as u64,
                separator_found: kind == Overrun::SeparatorFound,
            }),
            Error::ConnectionReset(_) => wit::Error::ConnectionReset,
            Error::ConnectionRefused(_) => wit::Error::ConnectionRefused,
            Error::ConnectionAborted(_) => wit::Error::ConnectionAborted,
            Error::TimedOut => wit::Error::Timeout,
            Error::AccessDenied(_) => wit::Error::AccessDenied,
            Error::AddressInUse(_) => wit::Error::AddressInUse,
            Error::AddressNotAvailable(_) => wit::Error::AddressNotAvailable,
            Error::NameUnresolvable(name) => wit::Error::NameUnresolvable(name),
            Error::Closed(_) => wit::Error::Closed,
            Error::Busy(_) => wit::Error::Busy,
            Error::InvalidArgument(message) => wit::Error::InvalidArgument(message),
            Error::NotImplemented(message) => wit::Error::NotImplemented(message.to_string()),
            Error::Ssl { kind, message } => {
                let kind = match kind {
                    SslErrorKind::CertificateVerifyFailed => wit::TlsErrorKind::CertificateVerifyFailed,
                    SslErrorKind::HostnameMismatch => wit::TlsErrorKind::HostnameMismatch,
                    SslErrorKind::HandshakeTimeout => wit::TlsErrorKind::HandshakeTimeout,
                    SslErrorKind::PeerAlert => wit::TlsErrorKind::PeerAlert,
                    SslErrorKind::Protocol => wit::TlsErrorKind::Protocol,
                };
                wit::Error::Tls(wit::TlsError { kind, message })
            }
            // The WIT has no variant of their own for these: the message names the cause.
            error @ (Error::TooManyOpenFiles(_) | Error::OutOfMemory(_) | Error::WrongMode(_)) => {
                wit::Error::Other(error.to_string())
            }
            Error::Other(message) => wit::Error::Other(message),
        }
    }};
}
