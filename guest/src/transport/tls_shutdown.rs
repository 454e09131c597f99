//! Closing a TLS connection as asyncio's SSL protocol does (`_start_shutdown`): what is
//! queued goes out, then close_notify, then the peer has `ssl_shutdown_timeout` to
//! answer with its own close_notify (or its EOF) before the connection is dropped with
//! `TimeoutError('SSL shutdown timed out')`. `close()` never waits for any of it;
//! `wait_closed()` does.

use std::rc::Rc;
use std::time::Duration;

use super::{Lifecycle, State, Transport};
use crate::error::Error;
use crate::runtime;

impl Transport {
    /// Starts the shutdown task of a closing TLS connection (once; nothing for TCP).
    pub(super) fn start_tls_shutdown(&self, state: &mut State) {
        let Some(tls) = state.tls.as_ref() else { return };
        if state.tls_shutdown_started || state.lifecycle != Lifecycle::Open {
            return;
        }
        let Some(transport) = self.me.upgrade() else { return };
        state.tls_shutdown_started = true;
        let limit = tls.shutdown_timeout();
        runtime::spawn(transport.shut_down_tls(limit));
    }

    /// asyncio's `_check_shutdown_timeout`: the peer did not finish the shutdown in time.
    async fn shut_down_tls(self: Rc<Self>, limit: Duration) {
        if runtime::timeout(limit, self.until_lost()).await.is_err() {
            let mut state = self.state.borrow_mut();
            self.lose(&mut state, Some(Error::TimedOut));
        }
    }

    /// Sends what is queued and close_notify, and takes in (and drops) what the peer
    /// sends until its close_notify or EOF, when `finish_pending_shutdown` closes.
    async fn until_lost(&self) {
        loop {
            let lost = self.closed.notified();
            let sending = {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                self.push_queued(state);
                self.finish_pending_shutdown(state);
                if state.lifecycle == Lifecycle::Open {
                    self.pull_available(state);
                    self.finish_pending_shutdown(state);
                }
                if state.lifecycle != Lifecycle::Open {
                    return;
                }
                !state.nothing_to_send()
            };
            let Some(io) = self.io() else { return };
            let input_or_lost = futures_lite::future::or(io.input_ready.wait(), lost);
            if sending {
                futures_lite::future::or(input_or_lost, io.output_ready.wait()).await;
            } else {
                input_or_lost.await;
            }
        }
    }
}
