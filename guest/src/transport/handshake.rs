//! The TLS handshake, driven before a connection is handed out: asyncio's SSL protocol
//! completes it before `open_connection` returns and before a server's handler runs.

use super::{Lifecycle, Transport};
use crate::error::{Error, Result};
use crate::runtime;

impl Transport {
    /// Completes the TLS handshake within the session's `ssl_handshake_timeout`. On
    /// failure the connection is closed (after the alert that says why, if any) and the
    /// error returned. Plain connections return at once.
    pub(crate) async fn handshake(&self) -> Result<()> {
        let limit = match self.state.borrow().tls.as_ref() {
            Some(tls) => tls.handshake_timeout(),
            None => return Ok(()),
        };
        let result = match runtime::timeout(limit, self.drive_handshake()).await {
            Ok(result) => result,
            Err(_) => Err(crate::tls::handshake_timeout(limit)),
        };
        if result.is_err() {
            self.abort();
        }
        result
    }

    async fn drive_handshake(&self) -> Result<()> {
        loop {
            let ciphertext_waits = {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                // Sends our flight, takes in the peer's (decrypting any early data into
                // the read buffer), sends what that called for.
                self.push_queued(state);
                self.pull_available(state);
                self.push_queued(state);
                match &state.lifecycle {
                    Lifecycle::Lost(Some(error)) => return Err(error.clone()),
                    Lifecycle::Lost(None) => return Err(Error::connection_lost()),
                    Lifecycle::Open => {}
                }
                let Some(tls) = state.tls.as_ref() else { return Ok(()) };
                if !tls.is_handshaking() && !tls.wants_write() {
                    return Ok(());
                }
                if !state.input_open {
                    return Err(Error::ConnectionReset(
                        "the peer closed the connection during the TLS handshake".into(),
                    ));
                }
                tls.wants_write()
            };
            let Some(io) = self.io() else { return Err(Error::connection_lost()) };
            if ciphertext_waits {
                futures_lite::future::or(io.input_ready.wait(), io.output_ready.wait()).await;
            } else {
                io.input_ready.wait().await;
            }
        }
    }
}
