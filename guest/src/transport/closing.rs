//! Closing: waiting for the close, and asyncio's `connection_lost`, which ends the
//! reader with EOF or the error and releases the socket.

use std::rc::Rc;

use wasip2::sockets::tcp::ShutdownType;

use super::{Io, Lifecycle, State, Transport};
use crate::error::{Error, Result};
use crate::runtime;

impl Transport {
    /// asyncio's `wait_closed()`: completes when the connection is gone; fails with the
    /// error it was lost with. Keeps pulling input meanwhile, so a reset is noticed.
    pub(crate) async fn wait_closed(&self) -> Result<()> {
        loop {
            let notified = self.closed.notified();
            let input_open = {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                // Whoever waits here polls no reader pollable meanwhile (a WIT consumer is
                // blocked in this call): the input is this wait's to take in, or it would
                // never see a reset, and the ready input would wake it again and again.
                state.reader_subscribed = false;
                self.pull_unless_reader_waits(state);
                match &state.lifecycle {
                    Lifecycle::Lost(None) => return Ok(()),
                    Lifecycle::Lost(Some(error)) => return Err(error.clone()),
                    Lifecycle::Open => state.input_open && !state.read.is_paused(),
                }
            };
            match self.io() {
                Some(io) if input_open => futures_lite::future::or(notified, io.input_ready.wait()).await,
                _ => notified.await,
            }
        }
    }

    /// Non-waiting `wait_closed`.
    pub(crate) fn try_wait_closed(&self) -> Result<bool> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_unless_reader_waits(state);
        match &state.lifecycle {
            Lifecycle::Lost(None) => Ok(true),
            Lifecycle::Lost(Some(error)) => Err(error.clone()),
            Lifecycle::Open => Ok(false),
        }
    }

    /// asyncio's `connection_lost(exc)`: the reader gets EOF or the error, queued bytes
    /// are dropped, waiters wake.
    pub(super) fn lose(&self, state: &mut State, error: Option<Error>) {
        if state.lifecycle != Lifecycle::Open {
            return;
        }
        match &error {
            Some(error) => state.read.set_exception(error.clone()),
            None => {
                if !state.read.is_eof() {
                    state.read.feed_eof();
                }
            }
        }
        state.input_open = false;
        state.write.mark_lost();
        state.lifecycle = Lifecycle::Lost(error);
        if let Some(callback) = state.on_lost.take() {
            callback();
        }
        self.closed.notify_all();
        if self.handed_out_pollables.get() {
            // Pollables handed out are children of the streams: keep the streams (and
            // so the socket) until the transport goes, but close the connection now.
            if let Some(socket) = self.io().as_ref().and_then(|io| io.socket.as_ref()) {
                let _ = socket.shutdown(ShutdownType::Both);
            }
        } else if let Some(io) = self.io.borrow_mut().take() {
            // Released by a task, so what runs now (such as a handler's error report)
            // comes before the peer sees the close.
            runtime::spawn(release(io));
        }
    }
}

/// Closes a lost connection's socket by dropping its resources. When no one else holds
/// them (no read or drain waits on them) and no write is in flight, the usual case, that
/// is all. Otherwise the socket is shut down first, which lets the peer see the close at
/// once and ends those waits, and a write in flight is let finish: dropping an output
/// stream waits (in the host) for it, and the component must never block on a peer that
/// does not read.
async fn release(io: Rc<Io>) {
    if Rc::strong_count(&io) == 1 && io.output_ready.is_ready() {
        return;
    }
    if let Some(socket) = &io.socket {
        let _ = socket.shutdown(ShutdownType::Both);
    }
    while !io.output_ready.is_ready() {
        io.output_ready.wait().await;
    }
}
