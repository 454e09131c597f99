//! One connection's I/O: moves bytes between its `wasi:io` streams and the core's read
//! and write buffers, and tracks its lifecycle. asyncio's transport and protocol in one
//! small type, shared by a connection's `StreamReader` and `StreamWriter`.
//!
//! There is no background reader: each reader call first pulls whatever has already
//! arrived (without waiting, and not while the buffer is over 2 × limit), so a FIN or a
//! reset that arrived is seen exactly as asyncio's background reading would see it.
//! Writes go to the host at once when it accepts them; the rest is pushed by a flush
//! task that lives only while bytes are queued.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::Duration;

use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};

use crate::core::{ReadBuffer, Step, WriteBuffer};
use crate::error::{Error, Result};
use crate::net;
use crate::runtime::{self, Notify, Registration};

/// The most bytes asked of the host per read (wasmtime returns at most 64 KiB).
const READ_CHUNK: u64 = 64 * 1024;

/// How long a connection whose writer was dropped keeps trying to deliver its queued
/// bytes before it is aborted.
pub const ABANDONED_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The wasi resources, in drop order: pollables before their streams, streams before
/// their socket (dropping a parent first traps).
pub(crate) struct Io {
    input_ready: Registration,
    output_ready: Registration,
    input: InputStream,
    output: OutputStream,
    socket: Option<TcpSocket>,
}

impl Io {
    pub(crate) fn new(input: InputStream, output: OutputStream, socket: Option<TcpSocket>) -> Self {
        Io {
            input_ready: Registration::new(input.subscribe()),
            output_ready: Registration::new(output.subscribe()),
            input,
            output,
            socket,
        }
    }
}

/// Whether the connection is still up, and how it ended.
#[derive(Debug, Clone, PartialEq)]
enum Lifecycle {
    Open,
    /// `connection_lost` ran: `None` for a clean end (local close or abort).
    Lost(Option<Error>),
}

struct State {
    read: ReadBuffer,
    write: WriteBuffer,
    /// False once the input stream reported EOF or failed: nothing more to pull.
    input_open: bool,
    /// The FIN was handed to the host (`write_eof`, or close).
    eof_sent: bool,
    lifecycle: Lifecycle,
    flusher_running: bool,
    /// The writer handle is gone: deliver what is queued within a bound, then close.
    abandoned: bool,
    /// The last non-waiting read needed more data: it counts as the pending waiter
    /// (for `subscribe`, and it resumed a paused reader).
    try_wanted_data: bool,
    /// Told when the connection is lost (server client tracking).
    on_lost: Option<Box<dyn FnOnce()>>,
}

/// A connection shared by its reader, its writer and (while bytes are queued) its flush
/// task.
pub(crate) struct Transport {
    state: RefCell<State>,
    closed: Notify,
    /// Released when the connection is lost, so the socket really closes (the peer sees
    /// it, the descriptor is freed) even while the reader and writer handles live on.
    io: RefCell<Option<Rc<Io>>>,
    is_socket: bool,
    /// A `subscribe` pollable (a child of a stream) was handed out: the streams must
    /// then live as long as the transport, even after the connection is lost.
    handed_out_pollables: Cell<bool>,
    /// Read once at creation, like asyncio's `get_extra_info`, so they outlive the socket.
    peername: Option<SocketAddr>,
    sockname: Option<SocketAddr>,
}

pub(crate) type SharedTransport = Rc<Transport>;

impl Transport {
    pub(crate) fn new(io: Io, limit: usize) -> Result<SharedTransport> {
        let address = |get: fn(&TcpSocket) -> std::result::Result<_, _>| {
            io.socket.as_ref().and_then(|socket| get(socket).ok()).map(net::from_wasi)
        };
        let (peername, sockname) = (address(TcpSocket::remote_address), address(TcpSocket::local_address));
        Ok(Rc::new(Transport {
            is_socket: io.socket.is_some(),
            handed_out_pollables: Cell::new(false),
            peername,
            sockname,
            state: RefCell::new(State {
                read: ReadBuffer::new(limit)?,
                write: WriteBuffer::new(),
                input_open: true,
                eof_sent: false,
                lifecycle: Lifecycle::Open,
                flusher_running: false,
                abandoned: false,
                try_wanted_data: false,
                on_lost: None,
            }),
            closed: Notify::new(),
            io: RefCell::new(Some(Rc::new(io))),
        }))
    }

    /// The wasi resources, until the connection is lost.
    fn io(&self) -> Option<Rc<Io>> {
        self.io.borrow().clone()
    }

    pub(crate) fn set_on_lost(&self, callback: Box<dyn FnOnce()>) {
        self.state.borrow_mut().on_lost = Some(callback);
    }

    pub(crate) fn peername(&self) -> Option<SocketAddr> {
        self.peername
    }

    pub(crate) fn sockname(&self) -> Option<SocketAddr> {
        self.sockname
    }

    // ---- reading ----

    /// Pulls what has already arrived, without waiting, unless the reader is paused.
    fn pull_available(&self, state: &mut State) {
        let Some(io) = self.io() else { return };
        while state.input_open && !state.read.is_paused() {
            match io.input.read(READ_CHUNK) {
                Ok(bytes) if bytes.is_empty() => break,
                // Read on until the host has nothing more: a FIN or reset queued behind
                // the data must be seen now, as asyncio's background reading would.
                Ok(bytes) => state.read.feed_vec(bytes),
                Err(StreamError::Closed) => {
                    state.input_open = false;
                    state.read.feed_eof();
                }
                Err(error) => {
                    state.input_open = false;
                    self.lose(state, Some(net::stream_error(error)));
                }
            }
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
        loop {
            {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                self.pull_available(state);
                if let Step::Ready(result) = attempt(&mut state.read) {
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
            Some(io) if !answer_known && state.input_open => self.hand_out(io.input.subscribe()),
            _ => runtime::ready_pollable(),
        }
    }

    /// A pollable that is ready when a non-waiting drain or wait-closed may make
    /// progress: when the host takes more output, or at once if nothing is queued.
    pub(crate) fn writer_pollable(&self) -> Pollable {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.push_queued(state);
        self.finish_pending_shutdown(state);
        match self.io() {
            Some(io) if !state.write.is_empty() && state.lifecycle == Lifecycle::Open => {
                self.hand_out(io.output.subscribe())
            }
            _ => runtime::ready_pollable(),
        }
    }

    fn hand_out(&self, pollable: Pollable) -> Pollable {
        self.handed_out_pollables.set(true);
        pollable
    }

    /// Runs `f` on the read buffer after pulling what has arrived (for `at_eof`,
    /// `exception` and the non-waiting reads).
    pub(crate) fn with_read_buffer<T>(&self, f: impl FnOnce(&mut ReadBuffer) -> T) -> T {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_available(state);
        f(&mut state.read)
    }

    // ---- writing ----

    /// Hands queued bytes to the host as far as its permits allow.
    fn push_queued(&self, state: &mut State) {
        let Some(io) = self.io() else { return };
        while !state.write.is_empty() && state.lifecycle == Lifecycle::Open {
            match io.output.check_write() {
                Ok(0) => return,
                Ok(permit) => {
                    let chunk = state.write.front(usize::try_from(permit).unwrap_or(usize::MAX));
                    let len = chunk.len();
                    if let Err(error) = io.output.write(chunk) {
                        self.lose(state, Some(net::stream_error(error)));
                        return;
                    }
                    state.write.consume(len);
                }
                Err(error) => {
                    self.lose(state, Some(net::stream_error(error)));
                    return;
                }
            }
        }
    }

    /// Sends the FIN, or closes, once the queue is empty and that was asked for.
    fn finish_pending_shutdown(&self, state: &mut State) {
        if !state.write.is_empty() || state.lifecycle != Lifecycle::Open {
            return;
        }
        if state.write.is_closing() {
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
        let mut state = self.state.borrow_mut();
        self.pull_available(&mut state);
        state.write.write(data)?;
        self.after_write(&mut state);
        Ok(())
    }

    pub(crate) fn writelines<I, B>(self: &Rc<Self>, lines: I) -> Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut state = self.state.borrow_mut();
        self.pull_available(&mut state);
        state.write.writelines(lines)?;
        self.after_write(&mut state);
        Ok(())
    }

    fn after_write(self: &Rc<Self>, state: &mut State) {
        self.push_queued(state);
        self.finish_pending_shutdown(state);
        if !state.write.is_empty() && !state.flusher_running && state.lifecycle == Lifecycle::Open {
            state.flusher_running = true;
            let transport = Rc::clone(self);
            runtime::spawn(async move { transport.flush_in_background().await });
        }
    }

    /// The flush task: pushes the queue out as the host accepts it, then sends a
    /// requested FIN or completes a requested close.
    async fn flush_in_background(self: Rc<Self>) {
        let deadline = runtime::sleep(ABANDONED_FLUSH_TIMEOUT);
        let mut deadline = std::pin::pin!(deadline);
        loop {
            {
                let mut state = self.state.borrow_mut();
                self.push_queued(&mut state);
                self.finish_pending_shutdown(&mut state);
                if state.write.is_empty() || state.lifecycle != Lifecycle::Open {
                    state.flusher_running = false;
                    return;
                }
            }
            let Some(io) = self.io() else { continue };
            let abandoned = self.state.borrow().abandoned;
            if abandoned {
                let gave_up = futures_lite::future::or(
                    async {
                        io.output_ready.wait().await;
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
                io.output_ready.wait().await;
            }
        }
    }

    /// asyncio's `drain()`: returns at once unless the queue went over the high-water
    /// mark, then waits until it is at or below the low-water mark.
    pub(crate) async fn drain(&self) -> Result<()> {
        let closing = {
            let mut state = self.state.borrow_mut();
            // A reset that already arrived is the reader's exception, which drain raises.
            self.pull_available(&mut state);
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
            io.output_ready.wait().await;
        }
    }

    /// Non-waiting drain: `Ok(true)` once the queue is at or below the low-water mark.
    pub(crate) fn try_drain(&self) -> Result<bool> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_available(state);
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
        self.pull_available(&mut state);
        if state.write.is_closing() || state.lifecycle != Lifecycle::Open {
            return Ok(());
        }
        state.write.request_eof();
        self.finish_pending_shutdown(&mut state);
        Ok(())
    }

    pub(crate) fn can_write_eof(&self) -> bool {
        self.is_socket
    }

    /// asyncio's `close()`: stop, deliver what is queued, then close (never waits).
    pub(crate) fn close(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.write.is_closing() {
            return;
        }
        state.write.start_closing();
        self.after_write(&mut state);
    }

    /// asyncio's `transport.abort()`: drop what is queued and close now.
    pub(crate) fn abort(&self) {
        let mut state = self.state.borrow_mut();
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
        self.pull_available(&mut state);
        state.write.is_closing() || state.lifecycle != Lifecycle::Open
    }

    pub(crate) fn write_buffer_size(&self) -> usize {
        let mut state = self.state.borrow_mut();
        self.pull_available(&mut state);
        state.write.len()
    }

    pub(crate) fn write_buffer_limits(&self) -> (usize, usize) {
        self.state.borrow().write.limits()
    }

    pub(crate) fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> Result<()> {
        self.state.borrow_mut().write.set_limits(high, low)
    }

    /// asyncio's `wait_closed()`: completes when the connection is gone; fails with the
    /// error it was lost with. Keeps pulling input meanwhile, so a reset is noticed.
    pub(crate) async fn wait_closed(&self) -> Result<()> {
        loop {
            let notified = self.closed.notified();
            let input_open = {
                let mut state = self.state.borrow_mut();
                let state = &mut *state;
                self.pull_available(state);
                match &state.lifecycle {
                    Lifecycle::Lost(None) => return Ok(()),
                    Lifecycle::Lost(Some(error)) => return Err(error.clone()),
                    Lifecycle::Open => state.input_open && !state.read.is_paused(),
                }
            };
            match self.io() {
                Some(io) if input_open => {
                    futures_lite::future::or(notified, io.input_ready.wait()).await
                }
                _ => notified.await,
            }
        }
    }

    /// Non-waiting `wait_closed`.
    pub(crate) fn try_wait_closed(&self) -> Result<bool> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        self.pull_available(state);
        match &state.lifecycle {
            Lifecycle::Lost(None) => Ok(true),
            Lifecycle::Lost(Some(error)) => Err(error.clone()),
            Lifecycle::Open => Ok(false),
        }
    }

    /// asyncio's `connection_lost(exc)`: the reader gets EOF or the error, queued bytes
    /// are dropped, waiters wake.
    fn lose(&self, state: &mut State, error: Option<Error>) {
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
            runtime::spawn(release(io));
        }
    }
}

/// Closes a lost connection's socket and drops its resources. Dropping an output stream
/// waits (in the host) for a write still in flight, so that write is let finish first:
/// the component never blocks on a peer that does not read.
async fn release(io: Rc<Io>) {
    if let Some(socket) = &io.socket {
        let _ = socket.shutdown(ShutdownType::Both);
    }
    while !io.output_ready.is_ready() {
        io.output_ready.wait().await;
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        // Normally a connection is lost (closed) before its last handle goes; make sure
        // whoever tracks it hears of it either way.
        if let Some(callback) = self.state.get_mut().on_lost.take() {
            callback();
        }
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

/// A weak handle, for servers that track their clients without keeping them alive.
pub(crate) type WeakTransport = Weak<Transport>;
