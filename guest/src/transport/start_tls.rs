//! Upgrading a live plain connection to TLS (asyncio's `StreamWriter.start_tls`).

use super::{Lifecycle, TlsLayer, Transport};
use crate::core::Step;
use crate::error::{Error, Result};

impl Transport {
    /// Hands the connection to `tls` and completes its handshake. Plaintext already
    /// queued is delivered first, as plaintext; bytes the reader holds unread are the
    /// peer's first TLS records (it may send them right behind its last plaintext line),
    /// so they go to the handshake, not to the reader. On failure the connection is
    /// closed and the error returned.
    pub(crate) async fn start_tls(&self, tls: Box<dyn TlsLayer>) -> Result<()> {
        // Refused before anything is sent, however the connection is doing.
        if self.is_tls() {
            return Err(Error::invalid_argument("the connection already uses TLS"));
        }
        self.deliver_queued_plaintext().await?;
        let handed_over = {
            let mut state = self.state.borrow_mut();
            let state = &mut *state;
            if state.tls.is_some() {
                return Err(Error::invalid_argument("the connection already uses TLS"));
            }
            if state.write.is_closing() || state.eof_sent {
                return Err(Error::Closed("start_tls on a closing connection".into()));
            }
            let unread = state.read.len() as i64;
            let ciphertext = match state.read.read(unread) {
                Step::Ready(result) => result?,
                Step::NeedData => Vec::new(),
            };
            state.install_tls(tls);
            let Some(tls) = state.tls.as_mut() else { unreachable!("just installed") };
            if ciphertext.is_empty() {
                Ok(())
            } else {
                tls.receive(ciphertext, &mut state.read)
            }
        };
        if let Err(error) = handed_over {
            self.abort();
            return Err(error);
        }
        self.handshake().await
    }

    /// Waits until every queued byte went to the host.
    async fn deliver_queued_plaintext(&self) -> Result<()> {
        loop {
            let lost = self.closed.notified();
            {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                self.push_queued(state);
                match &state.lifecycle {
                    Lifecycle::Lost(Some(error)) => return Err(error.clone()),
                    Lifecycle::Lost(None) => return Err(Error::connection_lost()),
                    Lifecycle::Open => {}
                }
                if state.write.is_empty() {
                    return Ok(());
                }
            }
            let Some(io) = self.io() else { continue };
            futures_lite::future::or(io.output_ready.wait(), lost).await;
        }
    }
}
