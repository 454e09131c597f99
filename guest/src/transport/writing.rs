//! Writing: queueing, handing bytes to the host as it accepts them, the flush task,
//! drain's watermarks, half-close and close.

use std::rc::Rc;

use wasip2::io::poll::Pollable;
use wasip2::sockets::tcp::ShutdownType;

use super::{Io, Lifecycle, State, TlsLayer, Transport, ABANDONED_FLUSH_TIMEOUT};
use crate::error::{Error, Result};
use crate::runtime::coop;
use crate::{net, runtime};

impl Transport {
    /// A pollable that is ready when a non-waiting drain or wait-closed may make
    /// progress: when the host takes more output, or at once if nothing is queued.
    pub(crate) fn writer_pollable(&self) -> Pollable {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.push_queued(state);
        self.finish_pending_shutdown(state);
        match self.io() {
            Some(io) if !state.nothing_to_send() && state.lifecycle == Lifecycle::Open => {
                self.hand_out(io.output.subscribe())
            }
            _ => runtime::ready_pollable(),
        }
    }

    /// Hands queued bytes to the host as far as its permits allow.
    pub(super) fn push_queued(&self, state: &mut State) {
        let Some(io) = self.io() else { return };
        while !state.write.is_empty() && state.lifecycle == Lifecycle::Open {
            match send(&io, &mut state.tls, state.write.front(usize::MAX)) {
                Ok(0) => break,
                Ok(sent) => state.write.consume(sent),
                Err(error) => {
                    self.lose(state, Some(error));
                    return;
                }
            }
        }
        // TLS: records, alerts or close_notify may be left with the queue empty.
        if let Some(tls) = state.tls.as_mut().filter(|_| state.lifecycle == Lifecycle::Open) {
            if let Err(error) = tls.flush(&io.output) {
                self.lose(state, Some(error));
            }
        }
    }

    /// Sends the FIN, or closes, once the queue is empty and that was asked for.
    pub(super) fn finish_pending_shutdown(&self, state: &mut State) {
        if !state.nothing_to_send() || state.lifecycle != Lifecycle::Open {
            return;
        }
        if state.write.is_closing() {
            if let Some(tls) = state.tls.as_mut() {
                // asyncio's SSL shutdown: close_notify once the queue is out (none to a
                // peer whose input ended: it left), then the peer's close_notify or EOF
                // is awaited, within ssl_shutdown_timeout (see `tls_shutdown`).
                if state.input_open && tls.start_close() {
                    self.push_queued(state);
                }
                let peer_done = !state.input_open || state.tls.as_ref().is_some_and(|tls| tls.peer_closed());
                if !state.nothing_to_send() || !peer_done {
                    return; // the flush task or the shutdown task goes on
                }
            }
            // `lose` releases the socket, which closes it.
            state.eof_sent = true;
            self.lose(state, None);
        } else if state.write.eof_requested() && !state.eof_sent {
            if let Some(socket) = self.io().as_ref().and_then(|io| io.socket.as_ref()) {
                let _ = socket.shutdown(ShutdownType::Send);
            }
            state.eof_sent = true;
        }
    }

    /// Queues `data` and sends what the host takes now (asyncio's `transport.write`).
    pub(crate) fn write(self: &Rc<Self>, data: &[u8]) -> Result<()> {
        // No pull first: after a reset that already arrived, pushing to the socket fails
        // and loses the connection just the same, and the data is dropped either way.
        coop::spend_bytes(data.len());
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        // With nothing queued the host is offered the data directly, as asyncio's
        // transport does; only what it does not take now is copied into the queue.
        let io = self.io().filter(|_| state.lifecycle == Lifecycle::Open);
        let mut send_error = None;
        let tls = &mut state.tls;
        state.write.write_through(data, |bytes| {
            let Some(io) = &io else { return 0 };
            send(io, tls, bytes).unwrap_or_else(|error| {
                send_error = Some(error);
                0
            })
        })?;
        if let Some(error) = send_error {
            self.lose(state, Some(error));
        }
        self.after_write(state);
        Ok(())
    }

    pub(crate) fn writelines<I, B>(self: &Rc<Self>, lines: I) -> Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut state = self.state.borrow_mut();
        state.write.writelines(lines)?;
        self.after_write(&mut state);
        Ok(())
    }

    pub(super) fn after_write(self: &Rc<Self>, state: &mut State) {
        self.push_queued(state);
        self.finish_pending_shutdown(state);
        if !state.nothing_to_send() && !state.flusher_running && state.lifecycle == Lifecycle::Open {
            state.flusher_running = true;
            let transport = Rc::clone(self);
            runtime::spawn(async move { transport.flush_in_background().await });
        }
    }

    /// The flush task: pushes the queue out as the host accepts it, then sends a
    /// requested FIN or completes a requested close.
    pub(super) async fn flush_in_background(self: Rc<Self>) {
        let deadline = runtime::sleep(ABANDONED_FLUSH_TIMEOUT);
        let mut deadline = std::pin::pin!(deadline);
        loop {
            // A lost connection ends the wait below (see `drain`), so the task lets go of
            // the socket at once.
            let lost = self.closed.notified();
            {
                let mut state = self.state.borrow_mut();
                self.push_queued(&mut state);
                self.finish_pending_shutdown(&mut state);
                if state.nothing_to_send() || state.lifecycle != Lifecycle::Open {
                    state.flusher_running = false;
                    return;
                }
            }
            let Some(io) = self.io() else { continue };
            let output_ready_or_lost = futures_lite::future::or(io.output_ready.wait(), lost);
            let abandoned = self.state.borrow().abandoned;
            if abandoned {
                let gave_up = futures_lite::future::or(
                    async {
                        output_ready_or_lost.await;
                        false
                    },
                    async {
                        deadline.as_mut().await;
                        true
                    },
                )
                .await;
                if gave_up {
                    self.abort();
                    self.state.borrow_mut().flusher_running = false;
                    return;
                }
            } else {
                output_ready_or_lost.await;
            }
        }
    }

    /// asyncio's `drain()`: returns at once unless the queue went over the high-water
    /// mark, then waits until it is at or below the low-water mark.
    pub(crate) async fn drain(&self) -> Result<()> {
        // A drain below the high-water mark completes at once: it counts as work done.
        runtime::consume_budget().await;
        let closing = {
            let mut state = self.state.borrow_mut();
            // A reset that already arrived is the reader's exception, which drain raises.
            self.pull_unless_reader_waits(&mut state);
            if let Some(exception) = state.read.exception() {
                return Err(exception.clone());
            }
            state.write.is_closing() || state.lifecycle != Lifecycle::Open
        };
        if closing {
            // asyncio yields once here so a pending connection_lost can run.
            runtime::yield_now().await;
        }
        loop {
            let lost = self.closed.notified();
            {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                self.push_queued(state);
                self.finish_pending_shutdown(state);
                match &state.lifecycle {
                    Lifecycle::Lost(Some(error)) => return Err(error.clone()),
                    Lifecycle::Lost(None) => return Err(Error::connection_lost()),
                    Lifecycle::Open => {}
                }
                if !state.write.is_paused() {
                    return Ok(());
                }
            }
            let Some(io) = self.io() else { continue };
            // An abort (or a reset seen elsewhere) ends the wait at once, as asyncio's
            // `connection_lost` does: the host may never report the output ready again
            // while a write is stuck behind a peer that does not read.
            futures_lite::future::or(io.output_ready.wait(), lost).await;
        }
    }

    /// Non-waiting drain: `Ok(true)` once the queue is at or below the low-water mark.
    pub(crate) fn try_drain(&self) -> Result<bool> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_unless_reader_waits(state);
        if let Some(exception) = state.read.exception() {
            return Err(exception.clone());
        }
        self.push_queued(state);
        self.finish_pending_shutdown(state);
        match &state.lifecycle {
            Lifecycle::Lost(Some(error)) => Err(error.clone()),
            Lifecycle::Lost(None) => Err(Error::connection_lost()),
            Lifecycle::Open => Ok(!state.write.is_paused()),
        }
    }

    pub(crate) fn write_eof(self: &Rc<Self>) -> Result<()> {
        let mut state = self.state.borrow_mut();
        if state.tls.is_some() {
            // asyncio's SSL transport raises NotImplementedError: TLS cannot half-close.
            return Err(Error::NotImplemented(
                "write_eof() is not supported over TLS (it cannot half-close)",
            ));
        }
        self.pull_unless_reader_waits(&mut state);
        if state.write.is_closing() || state.lifecycle != Lifecycle::Open {
            return Ok(());
        }
        state.write.request_eof();
        self.finish_pending_shutdown(&mut state);
        Ok(())
    }

    pub(crate) fn can_write_eof(&self) -> bool {
        self.is_socket && self.state.borrow().tls.is_none()
    }

    /// asyncio's `close()`: stop, deliver what is queued, then close (never waits).
    pub(crate) fn close(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.write.is_closing() {
            return;
        }
        state.write.start_closing();
        self.start_tls_shutdown(&mut state);
        self.after_write(&mut state);
    }

    /// asyncio's `transport.abort()`: drop what is queued and close now.
    pub(crate) fn abort(&self) {
        let mut state = self.state.borrow_mut();
        // What already arrived is taken in first, as asyncio's background reading
        // would have: a socket closed with unread input resets the peer instead of
        // closing (over TLS, the server's session tickets are often such input).
        self.pull_unless_reader_waits(&mut state);
        if state.lifecycle != Lifecycle::Open {
            return;
        }
        state.write.start_closing();
        state.eof_sent = true;
        self.lose(&mut state, None);
    }

    /// The writer handle was dropped: close, giving queued bytes a bounded time to go.
    pub(crate) fn abandon(self: &Rc<Self>) {
        self.state.borrow_mut().abandoned = true;
        self.close();
    }

    pub(crate) fn is_closing(&self) -> bool {
        let mut state = self.state.borrow_mut();
        self.pull_unless_reader_waits(&mut state);
        state.write.is_closing() || state.lifecycle != Lifecycle::Open
    }

    pub(crate) fn write_buffer_size(&self) -> usize {
        let mut state = self.state.borrow_mut();
        self.pull_unless_reader_waits(&mut state);
        state.write.len()
    }

    pub(crate) fn write_buffer_limits(&self) -> (usize, usize) {
        self.state.borrow().write.limits()
    }

    pub(crate) fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> Result<()> {
        self.state.borrow_mut().write.set_limits(high, low)
    }
}

/// Offers `bytes` to the host, through TLS when the connection has it: how many it took
/// now (0 while it is still busy with earlier bytes), or why the connection failed.
fn send(io: &Io, tls: &mut Option<Box<dyn TlsLayer>>, bytes: &[u8]) -> Result<usize> {
    match tls {
        None => send_now(io, bytes),
        Some(tls) => tls.send(&io.output, bytes),
    }
}

/// Offers `bytes` to the host: how many it took now (0 while it is still busy with
/// earlier bytes), or why the connection failed.
fn send_now(io: &Io, bytes: &[u8]) -> Result<usize> {
    let permit = io.output.check_write().map_err(net::stream_error)?;
    let sent = bytes.len().min(usize::try_from(permit).unwrap_or(usize::MAX));
    if sent > 0 {
        io.output.write(&bytes[..sent]).map_err(net::stream_error)?;
    }
    Ok(sent)
}
