//! How a client handler's error is reported. asyncio logs every one ("Unhandled exception
//! in client_connected_cb"). A server's peers reset connections all the time, though, and a
//! warning per reset buries the errors that matter (issue 9: 4,000 lines for 4,000 resets).
//! So a handler ended by the peer (reset, abort, broken pipe) is told once, and the ones
//! after it are counted and summarised in one line per [`SUMMARY_INTERVAL`]; every other
//! error is logged as it happens.

use std::any::Any;
use std::cell::Cell;
use std::fmt::Display;
use std::time::Duration;

use crate::error::Error;
use crate::runtime;

/// At most one summary line of peer disconnects per this interval.
pub(super) const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// Why a client handler failed: its error's message, and whether the peer caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerFailure {
    message: String,
    peer_disconnect: bool,
}

impl HandlerFailure {
    /// The failure for `error`. A wasio [`Error`] for which
    /// [`is_peer_disconnect`](Error::is_peer_disconnect) holds, or a `std::io::Error` of kind
    /// `ConnectionReset`, `ConnectionAborted` or `BrokenPipe`, counts as the peer's doing.
    pub fn new<E: Display + 'static>(error: E) -> Self {
        let any: &dyn Any = &error;
        let peer_disconnect = if let Some(error) = any.downcast_ref::<Error>() {
            error.is_peer_disconnect()
        } else if let Some(error) = any.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
            matches!(error.kind(), ConnectionReset | ConnectionAborted | BrokenPipe)
        } else {
            false
        };
        HandlerFailure { message: error.to_string(), peer_disconnect }
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the peer ended the connection abruptly (routine, summarised in the log).
    pub fn is_peer_disconnect(&self) -> bool {
        self.peer_disconnect
    }
}

thread_local! {
    /// Peer disconnects not yet in a summary line; `None` while none is being counted.
    static UNSUMMARISED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Logs `failure` (stderr): an error at once; a peer disconnect at once only if none is
/// being counted, otherwise it goes into the next summary line.
pub(super) fn report(failure: HandlerFailure) {
    if !failure.peer_disconnect {
        crate::log::log_line!("wasio: unhandled error in client handler: {}", failure.message);
        return;
    }
    match UNSUMMARISED.get() {
        Some(count) => UNSUMMARISED.set(Some(count + 1)),
        None => {
            UNSUMMARISED.set(Some(0));
            crate::log::log_line!(
                "wasio: client handler ended: {} (more of these are counted, one line per {} s)",
                failure.message,
                SUMMARY_INTERVAL.as_secs()
            );
            runtime::spawn(summarise());
        }
    }
}

/// Every [`SUMMARY_INTERVAL`], one line with the peer disconnects counted meanwhile; ends
/// after an interval without any (the next one is then told at once).
async fn summarise() {
    loop {
        runtime::sleep(SUMMARY_INTERVAL).await;
        match UNSUMMARISED.get() {
            Some(count) if count > 0 => {
                UNSUMMARISED.set(Some(0));
                let handlers = if count == 1 { "handler" } else { "handlers" };
                crate::log::log_line!(
                    "wasio: {count} more client {handlers} ended with connection reset or abort in the last {} s",
                    SUMMARY_INTERVAL.as_secs()
                );
            }
            _ => {
                UNSUMMARISED.set(None);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_and_aborts_are_the_peers_doing() {
        assert!(HandlerFailure::new(Error::ConnectionReset("broken pipe".into())).is_peer_disconnect());
        assert!(HandlerFailure::new(Error::ConnectionAborted(String::new())).is_peer_disconnect());
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(HandlerFailure::new(io).is_peer_disconnect());
    }

    #[test]
    fn other_errors_are_the_handlers() {
        let failure = HandlerFailure::new(Error::invalid_argument("bad request"));
        assert!(!failure.is_peer_disconnect());
        assert_eq!(failure.message(), "bad request");
        assert!(!HandlerFailure::new("connection reset").is_peer_disconnect());
        assert!(!HandlerFailure::new(Error::TimedOut).is_peer_disconnect());
    }
}
