//! One connection's I/O: moves bytes between its `wasi:io` streams and the core's read
//! and write buffers, and tracks its lifecycle. asyncio's transport and protocol in one
//! small type, shared by a connection's `StreamReader` and `StreamWriter`.
//!
//! There is no background reader: each reader call first pulls whatever has already
//! arrived (without waiting, and not while the buffer is over 2 × limit), so a FIN or a
//! reset that arrived is seen exactly as asyncio's background reading would see it.
//! Other calls pull too, except while a read waits on the input: then only it may.
//! Writes go to the host at once when it accepts them; the rest is pushed by a flush
//! task that lives only while bytes are queued.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::Duration;

use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::tcp::TcpSocket;

use crate::core::{FlowControl, ReadBuffer, ReadSize, WriteBuffer};
use crate::error::{Error, Result};
use crate::net;
use crate::runtime::{Notify, Registration};

mod closing;
mod handshake;
mod reading;
mod start_tls;
mod tls;
mod tls_shutdown;
mod writing;

pub(crate) use tls::{client as tls_client, server as tls_server, TlsLayer};

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
    read_size: ReadSize,
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
    /// A pollable from `reader_pollable` is out and no read has run since: its holder
    /// waits on the input stream (see `Transport::reader_waits`).
    reader_subscribed: bool,
    /// The reactor turn of the last pull (see `Transport::pull_unless_reader_waits`).
    pulled_in_turn: Option<u64>,
    /// Told when the connection is lost (server client tracking).
    on_lost: Option<Box<dyn FnOnce()>>,
    /// The TLS layer between the streams and the buffers; `None` for plain TCP.
    tls: Option<Box<dyn TlsLayer>>,
    /// The TLS shutdown task (close_notify, then the peer's, within
    /// `ssl_shutdown_timeout`) was started.
    tls_shutdown_started: bool,
}

impl State {
    /// Nothing is left to hand to the host: the queue is empty, and so is TLS's
    /// ciphertext.
    fn nothing_to_send(&self) -> bool {
        self.write.is_empty() && self.tls.as_ref().is_none_or(|tls| !tls.wants_write())
    }

    /// Whether to take in more input: not while the reader is paused, unless TLS is
    /// shutting down, which drops what arrives and must see the peer's close_notify.
    fn takes_input(&self) -> bool {
        self.input_open
            && (!self.read.is_paused() || self.tls.as_ref().is_some_and(|tls| tls.shutting_down()))
    }

    /// Puts a connection that just got TLS under asyncio's SSL write flow control.
    fn install_tls(&mut self, tls: Box<dyn TlsLayer>) {
        self.write.use_flow_control(FlowControl::Ssl);
        self.tls = Some(tls);
    }
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
    /// This transport, for the tasks it starts itself (the TLS shutdown).
    me: Weak<Transport>,
}

pub(crate) type SharedTransport = Rc<Transport>;

impl Transport {
    pub(crate) fn new(io: Io, limit: usize) -> Result<SharedTransport> {
        Self::with_tls(io, limit, None)
    }

    /// A connection whose bytes go through `tls` (its handshake still to be driven by
    /// [`handshake`](Self::handshake)).
    pub(crate) fn with_tls(io: Io, limit: usize, tls: Option<Box<dyn TlsLayer>>) -> Result<SharedTransport> {
        let address = |get: fn(&TcpSocket) -> std::result::Result<_, _>| {
            io.socket.as_ref().and_then(|socket| get(socket).ok()).map(net::from_wasi)
        };
        let (peername, sockname) = (address(TcpSocket::remote_address), address(TcpSocket::local_address));
        let mut state = State {
            read: ReadBuffer::new(limit)?,
            read_size: ReadSize::new(),
            write: WriteBuffer::new(),
            input_open: true,
            eof_sent: false,
            lifecycle: Lifecycle::Open,
            flusher_running: false,
            abandoned: false,
            try_wanted_data: false,
            reader_subscribed: false,
            pulled_in_turn: None,
            on_lost: None,
            tls: None,
            tls_shutdown_started: false,
        };
        if let Some(tls) = tls {
            state.install_tls(tls);
        }
        Ok(Rc::new_cyclic(|me| Transport {
            me: me.clone(),
            is_socket: io.socket.is_some(),
            handed_out_pollables: Cell::new(false),
            peername,
            sockname,
            state: RefCell::new(state),
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

    /// The TLS session's details; `None` for plain TCP or before the handshake.
    pub(crate) fn tls_info(&self) -> Option<crate::tls::TlsInfo> {
        self.state.borrow_mut().tls.as_mut().and_then(|tls| tls.info().cloned())
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.state.borrow().tls.is_some()
    }

    fn hand_out(&self, pollable: Pollable) -> Pollable {
        self.handed_out_pollables.set(true);
        pollable
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

/// A weak handle, for servers that track their clients without keeping them alive.
pub(crate) type WeakTransport = Weak<Transport>;
