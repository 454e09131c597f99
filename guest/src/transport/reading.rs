//! Reading: pulling what has arrived into the read buffer, and running read operations
//! on it (waiting, or not).

use wasip2::io::poll::Pollable;
use wasip2::io::streams::StreamError;

use super::{Io, Lifecycle, State, Transport};
use crate::core::{ReadBuffer, Step};
use crate::error::Result;
use crate::runtime::{coop, reactor};
use crate::{net, runtime};

impl Transport {
    /// Pulls what has already arrived, without waiting, unless the reader is paused.
    pub(super) fn pull_available(&self, state: &mut State) {
        let Some(io) = self.io() else { return };
        state.pulled_in_turn = Some(reactor::current_turn());
        let buffered = state.read.len();
        // After a short read the host had nothing more; a 1-byte read then checks, at
        // little cost, for an EOF or a reset queued behind the data, which must be seen
        // now, as asyncio's background reading would.
        let mut probing = false;
        if let Some(tls) = state.tls.as_mut().filter(|_| state.lifecycle == Lifecycle::Open) {
            // Ciphertext left over while the reader was paused goes first.
            let decrypted = tls.decrypt_into(&mut state.read);
            self.after_decrypt(state, &io, decrypted);
        }
        while state.takes_input() {
            let size = if probing { 1 } else { state.read_size.next() };
            match io.input.read(size as u64) {
                Ok(bytes) if bytes.is_empty() => break,
                Ok(bytes) => {
                    if !probing {
                        state.read_size.record(bytes.len());
                    }
                    probing = bytes.len() < size;
                    match state.tls.as_mut() {
                        None => state.read.feed_vec(bytes),
                        Some(tls) => {
                            let decrypted = tls.receive(bytes, &mut state.read);
                            self.after_decrypt(state, &io, decrypted);
                        }
                    }
                }
                Err(StreamError::Closed) => {
                    state.input_open = false;
                    match state.tls.as_mut() {
                        None => state.read.feed_eof(),
                        Some(tls) => {
                            let decrypted = tls.receive_eof(&mut state.read);
                            self.after_decrypt(state, &io, decrypted);
                        }
                    }
                }
                Err(error) => {
                    state.input_open = false;
                    self.lose(state, Some(net::stream_error(error)));
                }
            }
        }
        if state.read.len() > buffered {
            // New bytes may be what the last non-waiting read lacked: a reader pollable
            // must not wait on the input stream for them.
            state.try_wanted_data = false;
        }
    }

    /// After TLS took in ciphertext: sends what rustls has to say (an alert, a key
    /// update), and loses the connection if the ciphertext was bad. When the peer ended
    /// the session, the connection closes itself, as asyncio's SSL protocol does on the
    /// peer's close_notify or EOF: TLS has no half-close.
    fn after_decrypt(&self, state: &mut State, io: &Io, decrypted: Result<()>) {
        let Some(tls) = state.tls.as_mut() else { return };
        let flushed = tls.flush(&io.output);
        if let Err(error) = decrypted.and(flushed) {
            state.input_open = false;
            self.lose(state, Some(error));
            return;
        }
        if tls.peer_closed() && !tls.is_handshaking() && !state.write.is_closing() {
            state.write.start_closing();
            self.start_tls_shutdown(state);
        }
    }

    /// Whether a reader waits on the input stream itself: a read waiting in `read_op`,
    /// or the holder of a pollable from `reader_pollable` that has not read since. Only
    /// that reader may then take in input: once anyone else has taken the bytes, the
    /// stream has nothing more to report and the reader's wait would never end.
    fn reader_waits(state: &State) -> bool {
        state.read.is_waiting() || state.reader_subscribed
    }

    /// For everything but the reads: pulls what has arrived (to notice an EOF or a
    /// reset, as asyncio's background reading would) unless a reader waits, which
    /// takes it in itself as soon as it is woken, or a pull already ran in this reactor
    /// turn (asyncio too learns of new input only between turns of its loop): a
    /// `drain()` right after a read costs no host call.
    pub(super) fn pull_unless_reader_waits(&self, state: &mut State) {
        let pulled_this_turn = state.pulled_in_turn == Some(reactor::current_turn());
        if !Self::reader_waits(state) && !pulled_this_turn {
            self.pull_available(state);
        }
    }

    /// Runs one read operation to completion: try it on the buffer, and while it needs
    /// more data, wait for the input stream (resuming a paused reader, as asyncio's
    /// `_wait_for_data` does).
    pub(crate) async fn read_op<T>(
        &self,
        name: &'static str,
        mut attempt: impl FnMut(&mut ReadBuffer) -> Step<T>,
    ) -> Result<T> {
        // Set once this operation waits; ends the wait however the operation ends
        // (completed, failed, or cancelled by dropping its future).
        let mut waiting: Option<EndWaitOnDrop<'_>> = None;
        // A reader whose peer always has data would otherwise never let others run.
        runtime::consume_budget().await;
        self.state.borrow_mut().reader_subscribed = false;
        loop {
            {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                self.pull_available(state);
                let buffered = state.read.len();
                if let Step::Ready(result) = attempt(&mut state.read) {
                    coop::spend_bytes(buffered.saturating_sub(state.read.len()));
                    return result;
                }
                if waiting.is_none() {
                    state.read.begin_wait(name)?;
                    waiting = Some(EndWaitOnDrop { transport: self });
                }
                if state.read.is_paused() {
                    state.read.resume_for_waiter();
                    continue;
                }
                // A read after EOF or an error is answered by the core, so the input is
                // still open here.
                debug_assert!(state.input_open);
            }
            let Some(io) = self.io() else { continue };
            io.input_ready.wait().await;
        }
    }

    /// One read operation without waiting: `Ok(None)` when it would wait, and then
    /// nothing was consumed. Like a waiting read, it resumes a paused reader.
    pub(crate) fn try_read_op<T>(
        &self,
        mut attempt: impl FnMut(&mut ReadBuffer) -> Step<T>,
    ) -> Result<Option<T>> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        state.reader_subscribed = false;
        self.pull_available(state);
        loop {
            if let Step::Ready(result) = attempt(&mut state.read) {
                state.try_wanted_data = false;
                return result.map(Some);
            }
            state.try_wanted_data = true;
            if !state.read.is_paused() {
                return Ok(None);
            }
            // A paused reader resumes for its waiter; what arrived may be enough.
            state.read.resume_for_waiter();
            self.pull_available(state);
        }
    }

    /// A pollable that is ready when a non-waiting read may make progress: at once
    /// when buffered data (that no read has found insufficient), EOF or an error is
    /// there, else when the input stream has something.
    pub(crate) fn reader_pollable(&self) -> Pollable {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_available(state);
        let answer_known = state.read.exception().is_some()
            || state.read.is_eof()
            || (!state.read.is_empty() && !state.try_wanted_data);
        match self.io() {
            Some(io) if !answer_known && state.input_open => {
                state.reader_subscribed = true;
                self.hand_out(io.input.subscribe())
            }
            _ => runtime::ready_pollable(),
        }
    }

    /// Runs `f` on the read buffer after pulling what has arrived (for `at_eof`,
    /// `exception` and the buffer's size), unless a reader waits.
    pub(crate) fn with_read_buffer<T>(&self, f: impl FnOnce(&mut ReadBuffer) -> T) -> T {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_unless_reader_waits(state);
        f(&mut state.read)
    }
}

/// Ends the reader's wait when its read completes or is cancelled, so the next read is
/// not refused as `busy`.
struct EndWaitOnDrop<'a> {
    transport: &'a Transport,
}

impl Drop for EndWaitOnDrop<'_> {
    fn drop(&mut self) {
        self.transport.state.borrow_mut().read.end_wait();
    }
}
