//! What to do when `accept` fails: out of descriptors (EMFILE), say, retrying at once
//! fails again and spins. So, as asyncio's event loop does, stop accepting for
//! [`ACCEPT_RETRY_DELAY`] while the open connections go on being served; and log the
//! first failure of a streak only, so a server held at its limit does not flood its log.

use std::io::Write as _;

use crate::bindings::wasio::streams::types::Error;

/// How long accepting pauses after a failed accept (asyncio's `ACCEPT_RETRY_DELAY`), in
/// nanoseconds.
pub const ACCEPT_RETRY_DELAY: u64 = 1_000_000_000;

/// Failed accepts since the last one that succeeded.
#[derive(Default)]
pub struct AcceptFailures {
    streak: u64,
}

impl AcceptFailures {
    /// An accept failed: logs it if it is the first of a streak. The caller pauses.
    pub fn failed(&mut self, error: &Error) {
        if self.streak == 0 {
            let _ = writeln!(
                std::io::stderr(),
                "compose-echo-async: accept failed: {error:?}; pausing accepts for 1 s at a time \
                 until one succeeds (further failures are not logged)"
            );
        }
        self.streak += 1;
    }

    /// An accept succeeded: ends a streak of failures, saying how long it was.
    pub fn succeeded(&mut self) {
        if self.streak > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "compose-echo-async: accepting again after {} failed accepts",
                self.streak
            );
            self.streak = 0;
        }
    }

    /// Waits [`ACCEPT_RETRY_DELAY`]; only the accept loop waits, not the connections.
    pub async fn pause(&self) {
        wasip3::clocks::monotonic_clock::wait_for(ACCEPT_RETRY_DELAY).await;
    }
}
