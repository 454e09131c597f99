//! `start_server` and `Server`: listen, accept, run a handler task per client, and
//! asyncio 3.13's server lifecycle (`close`, `wait_closed`, `close_clients`,
//! `abort_clients`, `serve_forever`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::time::Duration;

use slab::Slab;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::tcp::TcpSocket;

use crate::core::DEFAULT_LIMIT;
use crate::error::{Error, Result};
use crate::reader::StreamReader;
use crate::runtime::{self, Notify, Registration};
use crate::tls::{arguments, TlsServerConfig};
use crate::transport::{Io, TlsLayer, Transport, WeakTransport};
use crate::writer::StreamWriter;
use crate::{net, resolve, tcp};

mod accept_pause;
mod handler_failures;
mod handler_tasks;

use accept_pause::{AcceptFailures, ACCEPT_RETRY_DELAY};
pub use handler_failures::HandlerFailure;
use handler_tasks::HandlerTasks;

/// asyncio's default listen backlog.
pub const DEFAULT_BACKLOG: u32 = 100;

/// When no pollable can show a server's next change (several listening sockets, or a
/// closed server waiting for its clients), `subscribe` returns a timer this long.
const LOOK_AGAIN_NANOS: u64 = 10_000_000;

/// Options of [`start_server_with`], asyncio's keyword arguments.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Each client reader's limit (default 64 KiB). A limit of 0 makes every accepted
    /// connection fail and be dropped, as in asyncio.
    pub limit: usize,
    /// The listen backlog (default 100).
    pub backlog: u32,
    /// Listen at once (default). With `false`, sockets are bound but connections are
    /// refused until [`Server::start_serving`].
    pub start_serving: bool,
    /// asyncio's `ssl=`: serve TLS with this certificate. Each client's handshake runs
    /// before its handler is called (or it is queued for `accept`); a client whose
    /// handshake fails is closed and never seen. `None`: plain TCP.
    pub ssl: Option<TlsServerConfig>,
    /// How long a client's TLS handshake may take (default 60 s). Only with `ssl`.
    pub ssl_handshake_timeout: Option<Duration>,
    /// asyncio's bound on the TLS shutdown (default 30 s); see
    /// [`ConnectOptions::ssl_shutdown_timeout`](crate::ConnectOptions::ssl_shutdown_timeout).
    /// Only with `ssl`.
    pub ssl_shutdown_timeout: Option<Duration>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limit: DEFAULT_LIMIT,
            backlog: DEFAULT_BACKLOG,
            start_serving: true,
            ssl: None,
            ssl_handshake_timeout: None,
            ssl_shutdown_timeout: None,
        }
    }
}

/// What a client handler may return: nothing, or a `Result` whose error is logged
/// (asyncio's "Unhandled exception in client_connected_cb") before the connection is
/// closed. Errors by which the peer ended the connection (resets) are counted and
/// summarised instead of logged one by one (see [`HandlerFailure`]).
pub trait HandlerOutcome {
    fn into_outcome(self) -> HandlerResult;
}

impl HandlerOutcome for () {
    fn into_outcome(self) -> HandlerResult {
        Ok(())
    }
}

impl<E: Display + 'static> HandlerOutcome for std::result::Result<(), E> {
    fn into_outcome(self) -> HandlerResult {
        self.map_err(HandlerFailure::new)
    }
}

type HandlerResult = std::result::Result<(), HandlerFailure>;

type BoxedHandler = Box<dyn Fn(StreamReader, StreamWriter) -> Pin<Box<dyn Future<Output = HandlerResult>>>>;

/// A bound socket; its accept loop holds it while serving.
struct Listener {
    ready: Registration,
    socket: TcpSocket,
    address: SocketAddr,
    stopped: Cell<bool>,
    stop: Notify,
}

impl Listener {
    fn new(socket: TcpSocket, address: SocketAddr) -> Rc<Listener> {
        Rc::new(Listener {
            ready: Registration::new(socket.subscribe()),
            socket,
            address,
            stopped: Cell::new(false),
            stop: Notify::new(),
        })
    }
}

struct ServerState {
    listeners: Vec<Rc<Listener>>,
    /// Closed listeners kept because a pollable of theirs was handed out (it is a
    /// child of the socket); they go with the server.
    retired: Vec<Rc<Listener>>,
    handed_out_pollables: bool,
    serving: bool,
    closed: bool,
    serve_forever_running: bool,
    clients: Slab<WeakTransport>,
    /// TLS handshakes under way: their clients are not queued yet, and no pollable of
    /// the listener shows their progress.
    handshaking: usize,
}

/// What happens to an accepted connection.
enum OnAccept {
    /// Runs the handler as its own task (`start_server`).
    Handler(BoxedHandler),
    /// Waits in a queue for `accept` (`start_listening`).
    Queue(RefCell<VecDeque<(StreamReader, StreamWriter)>>),
}

struct ServerInner {
    state: RefCell<ServerState>,
    /// Told when the server closes, a client leaves or a connection is queued.
    changed: Notify,
    on_accept: OnAccept,
    options: ServerOptions,
    handlers: Rc<HandlerTasks>,
}

/// A listening server (asyncio's `Server`). Cloning gives another handle to the same
/// server. The server keeps serving until [`close`](Server::close), even when every
/// handle is dropped.
#[derive(Clone)]
pub struct Server {
    inner: Rc<ServerInner>,
}

/// Starts a server on `host:port` that runs `handler(reader, writer)` as its own task
/// for each client. `host` may be a name (every address it resolves to is bound) or an
/// IP address; port 0 picks a free port (see [`Server::sockets`]).
pub async fn start_server<H, F>(handler: H, host: &str, port: u16) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutcome,
{
    start_server_with(handler, host, port, ServerOptions::default()).await
}

/// [`start_server`] with options.
pub async fn start_server_with<H, F>(
    handler: H,
    host: &str,
    port: u16,
    options: ServerOptions,
) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutcome,
{
    bind_server(OnAccept::Handler(boxed(handler)), host, port, options).await
}

fn boxed<H, F>(handler: H) -> BoxedHandler
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutcome,
{
    Box::new(move |reader, writer| {
        let future = handler(reader, writer);
        Box::pin(async move { future.await.into_outcome() })
    })
}

/// `start_server(sock=socket)`: serves on a socket the component bound itself (and
/// possibly set listening), with [`start_server`]'s handler and `options`. A socket that
/// is not bound fails with [`Error::InvalidArgument`].
pub async fn start_server_socket<H, F>(
    handler: H,
    socket: TcpSocket,
    options: ServerOptions,
) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerOutcome,
{
    arguments::timeouts(options.ssl.is_some(), options.ssl_handshake_timeout, options.ssl_shutdown_timeout)?;
    let Ok(address) = socket.local_address() else {
        return Err(Error::invalid_argument("sock is not bound: bind it (or set it listening) first"));
    };
    let listener = Listener::new(socket, net::from_wasi(address));
    serve_on(OnAccept::Handler(boxed(handler)), vec![listener], options).await
}

/// Like [`start_server`] without a handler: connections wait for
/// [`Server::accept`] / [`Server::try_accept`] (the WIT interface's model). Accepting
/// happens only inside those calls, so nothing runs in the background.
pub async fn start_listening(host: &str, port: u16, options: ServerOptions) -> Result<Server> {
    bind_server(OnAccept::Queue(RefCell::new(VecDeque::new())), host, port, options).await
}

async fn bind_server(on_accept: OnAccept, host: &str, port: u16, options: ServerOptions) -> Result<Server> {
    arguments::timeouts(options.ssl.is_some(), options.ssl_handshake_timeout, options.ssl_shutdown_timeout)?;
    let mut listeners = Vec::new();
    for address in resolve::resolve(host, port).await? {
        let socket = tcp::new_socket(&address)?;
        tcp::bind(&socket, address).await?;
        let address = socket.local_address().map(net::from_wasi).unwrap_or(address);
        listeners.push(Listener::new(socket, address));
    }
    serve_on(on_accept, listeners, options).await
}

/// A server over bound (or already listening) sockets; it listens at once if
/// `options.start_serving`.
async fn serve_on(
    on_accept: OnAccept,
    listeners: Vec<Rc<Listener>>,
    options: ServerOptions,
) -> Result<Server> {
    let start = options.start_serving;
    let server = Server {
        inner: Rc::new(ServerInner {
            state: RefCell::new(ServerState {
                listeners,
                retired: Vec::new(),
                handed_out_pollables: false,
                serving: false,
                closed: false,
                serve_forever_running: false,
                clients: Slab::new(),
                handshaking: 0,
            }),
            changed: Notify::new(),
            on_accept,
            options,
            handlers: Rc::default(),
        }),
    };
    if start {
        server.start_serving().await?;
    }
    Ok(server)
}

impl Server {
    /// Starts listening and accepting, if not already. Idempotent.
    pub async fn start_serving(&self) -> Result<()> {
        let listeners = {
            let state = self.inner.state.borrow();
            if state.closed {
                return Err(Error::Closed("server is closed".into()));
            }
            if state.serving {
                return Ok(());
            }
            state.listeners.clone()
        };
        for listener in &listeners {
            // A socket handed over with `sock=` may be listening already.
            if !listener.socket.is_listening() {
                tcp::listen(&listener.socket, Some(self.inner.options.backlog)).await?;
            }
        }
        self.inner.state.borrow_mut().serving = true;
        if let OnAccept::Handler(_) = self.inner.on_accept {
            for listener in listeners {
                runtime::spawn(accept_loop(Rc::clone(&self.inner), listener));
            }
        }
        Ok(())
    }

    /// The next connection, waiting for one ([`start_listening`] servers). Fails with
    /// [`Error::InvalidArgument`] when the server is not serving and nothing is queued.
    pub async fn accept(&self) -> Result<(StreamReader, StreamWriter)> {
        runtime::consume_budget().await;
        loop {
            let changed = self.inner.changed.notified();
            if let Some(connection) = self.try_accept()? {
                return Ok(connection);
            }
            let listeners = self.inner.state.borrow().listeners.clone();
            let mut waits: Vec<_> = listeners.iter().map(|listener| listener.ready.wait()).collect();
            let any_ready = futures_lite::future::poll_fn(|cx| {
                if waits.iter_mut().any(|wait| Pin::new(wait).poll(cx).is_ready()) {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            });
            futures_lite::future::or(any_ready, changed).await;
        }
    }

    /// [`accept`](Self::accept) without waiting: `Ok(None)` when no connection is ready.
    pub fn try_accept(&self) -> Result<Option<(StreamReader, StreamWriter)>> {
        let OnAccept::Queue(queue) = &self.inner.on_accept else {
            return Err(Error::invalid_argument("this server hands its connections to its handler"));
        };
        if let Some(connection) = queue.borrow_mut().pop_front() {
            return Ok(Some(connection));
        }
        let listeners = {
            let state = self.inner.state.borrow();
            if !state.serving {
                return Err(Error::invalid_argument("server is not serving"));
            }
            state.listeners.clone()
        };
        for listener in &listeners {
            if let Err(error) = accept_ready(&self.inner, listener) {
                // Connections taken before the failure go first; a lasting failure comes
                // back on the next call. The caller decides whether to pause.
                return match queue.borrow_mut().pop_front() {
                    Some(connection) => Ok(Some(connection)),
                    None => Err(error),
                };
            }
        }
        Ok(queue.borrow_mut().pop_front())
    }

    /// A `wasi:io` pollable that is ready when `try_accept` or `try_wait_closed` may
    /// make progress (possibly spuriously). Drop it before the last server handle.
    pub fn subscribe(&self) -> Pollable {
        let mut state = self.inner.state.borrow_mut();
        let queued = match &self.inner.on_accept {
            OnAccept::Queue(queue) => !queue.borrow().is_empty(),
            OnAccept::Handler(_) => false,
        };
        let serving = state.serving && !queued;
        let look_again_shortly = || wasip2::clocks::monotonic_clock::subscribe_duration(LOOK_AGAIN_NANOS);
        match state.listeners.as_slice() {
            // A handshake goes on only during calls into the component: call again soon.
            _ if !queued && state.handshaking > 0 => look_again_shortly(),
            [listener] if serving => {
                let pollable = listener.socket.subscribe();
                state.handed_out_pollables = true;
                pollable
            }
            // One pollable cannot watch several sockets.
            [_, _, ..] if serving => look_again_shortly(),
            // Closed, clients still open: their closing is what try_wait_closed waits
            // for, and it happens through their own calls; no pollable shows it.
            _ if state.closed && !queued && !state.clients.is_empty() => look_again_shortly(),
            _ => runtime::ready_pollable(),
        }
    }

    /// True while listening.
    pub fn is_serving(&self) -> bool {
        self.inner.state.borrow().serving
    }

    /// The bound addresses (with the port the system picked for port 0); empty once
    /// closed.
    pub fn sockets(&self) -> Vec<SocketAddr> {
        self.inner.state.borrow().listeners.iter().map(|listener| listener.address).collect()
    }

    /// Serves until [`close`](Self::close) is called, then waits for the clients to go
    /// (asyncio raises `CancelledError` at that point; here it returns `Ok`).
    pub async fn serve_forever(&self) -> Result<()> {
        {
            let mut state = self.inner.state.borrow_mut();
            if state.closed {
                return Err(Error::Closed("server is closed".into()));
            }
            if state.serve_forever_running {
                return Err(Error::invalid_argument("server is already being awaited on serve_forever()"));
            }
            state.serve_forever_running = true;
        }
        let result = async {
            self.start_serving().await?;
            while !self.inner.state.borrow().closed {
                self.inner.changed.notified().await;
            }
            self.wait_closed().await;
            Ok(())
        }
        .await;
        self.inner.state.borrow_mut().serve_forever_running = false;
        result
    }

    /// Stops listening. Connections the system already completed are still taken in
    /// and handled; existing clients stay connected. Idempotent.
    pub fn close(&self) {
        let listeners = {
            let mut state = self.inner.state.borrow_mut();
            if state.closed {
                return;
            }
            state.closed = true;
            let was_serving = std::mem::replace(&mut state.serving, false);
            let listeners = std::mem::take(&mut state.listeners);
            if was_serving {
                listeners
            } else {
                Vec::new()
            }
        };
        for listener in listeners {
            // Takes in what is complete; if that fails (out of descriptors), the rest are
            // refused when the socket closes, as they would be a moment later.
            let _ = accept_ready(&self.inner, &listener);
            listener.stopped.set(true);
            listener.stop.notify_all();
            let mut state = self.inner.state.borrow_mut();
            if state.handed_out_pollables {
                state.retired.push(listener);
            }
        }
        self.inner.changed.notify_all();
    }

    /// Waits until the server is closed and every client connection is gone (asyncio
    /// 3.12.1+). May be called before `close`.
    pub async fn wait_closed(&self) {
        loop {
            let changed = self.inner.changed.notified();
            {
                let state = self.inner.state.borrow();
                if state.closed && state.clients.is_empty() {
                    return;
                }
            }
            changed.await;
        }
    }

    /// Non-waiting `wait_closed`.
    pub fn try_wait_closed(&self) -> bool {
        let state = self.inner.state.borrow();
        state.closed && state.clients.is_empty()
    }

    /// Closes every client connection gracefully (queued data is delivered first).
    /// The server keeps accepting unless closed.
    pub fn close_clients(&self) {
        for transport in self.live_clients() {
            transport.close();
        }
    }

    /// Closes every client connection at once, dropping queued data.
    pub fn abort_clients(&self) {
        for transport in self.live_clients() {
            transport.abort();
        }
    }

    /// How many client connections are open.
    pub fn client_count(&self) -> usize {
        self.inner.state.borrow().clients.len()
    }

    /// How many handler tasks are running.
    pub fn handler_count(&self) -> usize {
        self.inner.handlers.len()
    }

    /// Waits until no handler task is running.
    pub async fn wait_handlers(&self) {
        self.inner.handlers.wait_all().await
    }

    /// Cancels every running handler task: its future is dropped at its next suspension
    /// point, and with it the handler's reader and writer.
    pub fn cancel_handlers(&self) {
        self.inner.handlers.cancel_all()
    }

    fn live_clients(&self) -> Vec<Rc<Transport>> {
        self.inner.state.borrow().clients.iter().filter_map(|(_, weak)| weak.upgrade()).collect()
    }
}

/// Accepts until the listener is stopped; each client gets its handler task. When
/// accepting fails (out of descriptors or memory, or any other lasting error), accepting
/// pauses for [`ACCEPT_RETRY_DELAY`] while the open connections are served, as in asyncio.
async fn accept_loop(server: Rc<ServerInner>, listener: Rc<Listener>) {
    let mut failures = AcceptFailures::default();
    let now = || Duration::from_nanos(wasip2::clocks::monotonic_clock::now());
    while !listener.stopped.get() {
        match accept_ready(&server, &listener) {
            Ok(()) => {
                if let Some(line) = failures.succeeded(listener.address, now()) {
                    crate::log::log_line!("{line}");
                }
                futures_lite::future::or(listener.ready.wait(), listener.stop.notified()).await;
            }
            Err(error) => {
                if let Some(line) = failures.failed(listener.address, &error, now()) {
                    crate::log::log_line!("{line}");
                }
                let pause = runtime::sleep(ACCEPT_RETRY_DELAY);
                futures_lite::future::or(pause, listener.stop.notified()).await;
            }
        }
    }
}

/// Takes in the connections that are ready now, at most a backlog's worth (as asyncio
/// does per readiness event: a storm of connections must not keep the others waiting;
/// the listener stays ready and the rest are taken on its next turn). Fails with the
/// first error that is not about one connection alone (connections taken before it are
/// started).
fn accept_ready(server: &Rc<ServerInner>, listener: &Listener) -> Result<()> {
    for _ in 0..server.options.backlog.max(1) {
        match listener.socket.accept() {
            Ok((socket, input, output)) => start_client(server, socket, input, output),
            Err(ErrorCode::WouldBlock) => return Ok(()),
            // That connection went before it was taken (asyncio ignores this too); the
            // next one may be fine.
            Err(ErrorCode::ConnectionAborted | ErrorCode::ConnectionReset) => continue,
            Err(code) => return Err(net::socket_error(code, &format!("accept on {}", listener.address))),
        }
    }
    Ok(())
}

fn start_client(server: &Rc<ServerInner>, socket: TcpSocket, input: InputStream, output: OutputStream) {
    let Ok(tls) = tls_session(&server.options) else { return };
    let Ok(transport) = Transport::with_tls(Io::new(input, output, Some(socket)), server.options.limit, tls) else {
        // asyncio: a bad limit fails each connection, which is dropped.
        return;
    };
    let key = server.state.borrow_mut().clients.insert(Rc::downgrade(&transport));
    let weak_server: Weak<ServerInner> = Rc::downgrade(server);
    transport.set_on_lost(Box::new(move || {
        if let Some(server) = weak_server.upgrade() {
            server.state.borrow_mut().clients.try_remove(key);
            server.changed.notify_all();
        }
    }));
    if transport.is_tls() {
        // asyncio's SSL protocol completes the handshake before it hands the connection
        // over; a failed one only closes the connection (asyncio logs it at debug level).
        server.state.borrow_mut().handshaking += 1;
        let server = Rc::downgrade(server);
        runtime::spawn(async move {
            let completed = transport.handshake().await.is_ok();
            if let Some(server) = server.upgrade() {
                server.state.borrow_mut().handshaking -= 1;
                if completed {
                    hand_over(&server, transport);
                }
            }
        });
        return;
    }
    hand_over(server, transport);
}

/// A server-side TLS session for a new client, when the server serves TLS.
fn tls_session(options: &ServerOptions) -> Result<Option<Box<dyn TlsLayer>>> {
    let Some(config) = &options.ssl else { return Ok(None) };
    let (handshake, shutdown) =
        arguments::timeouts(true, options.ssl_handshake_timeout, options.ssl_shutdown_timeout)?;
    let mut session = config.session(handshake)?;
    session.set_shutdown_timeout(shutdown);
    Ok(Some(session))
}

/// Gives a connection to the handler, as its own task, or to the accept queue.
fn hand_over(server: &Rc<ServerInner>, transport: Rc<Transport>) {
    let (reader, writer) = (StreamReader::new(transport.clone()), StreamWriter::new(transport));
    let handler = match &server.on_accept {
        OnAccept::Handler(handler) => handler,
        OnAccept::Queue(queue) => {
            queue.borrow_mut().push_back((reader, writer));
            server.changed.notify_all();
            return;
        }
    };
    let client = Rc::downgrade(&writer.transport_rc());
    let handling = handler(reader, writer);
    server.handlers.spawn(async move {
        if let Err(failure) = handling.await {
            handler_failures::report(failure);
            if let Some(transport) = client.upgrade() {
                transport.close();
            }
        }
    });
}
