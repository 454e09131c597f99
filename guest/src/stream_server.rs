//! `StreamServer`: asyncio 3.8's server object, constructed before anything is bound,
//! whose handlers get one [`Stream`] each. It drives a [`Server`] (the lifecycle lives
//! there) and adds 3.8's shutdown: `close()` waits for the handlers up to
//! `shutdown_timeout`, then cancels the rest; `abort()` cancels them at once.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use wasip2::sockets::tcp::TcpSocket;

use crate::core::DEFAULT_LIMIT;
use crate::error::{Error, Result};
use crate::runtime;
use crate::server::{
    start_server_socket, start_server_with, HandlerOutcome, Server, ServerOptions, DEFAULT_BACKLOG,
};
use crate::stream::{Stream, StreamMode};

/// asyncio 3.8's default `shutdown_timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of [`StreamServer::with_options`], asyncio's keyword arguments.
#[derive(Debug, Clone)]
pub struct StreamServerOptions {
    /// Each client stream's limit (default 64 KiB).
    pub limit: usize,
    /// The listen backlog (default 100).
    pub backlog: u32,
    /// How long `close()` waits for the handlers before it cancels them (default 60 s).
    pub shutdown_timeout: Duration,
}

impl Default for StreamServerOptions {
    fn default() -> Self {
        StreamServerOptions {
            limit: DEFAULT_LIMIT,
            backlog: DEFAULT_BACKLOG,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

type Binding = Pin<Box<dyn Future<Output = Result<Server>>>>;

/// What binds the server: the handler and the address.
type Binder = Box<dyn Fn() -> Binding>;

struct Inner {
    binder: Binder,
    binding: Cell<bool>,
    server: RefCell<Option<Server>>,
    closed: Cell<bool>,
    shutdown_timeout: Duration,
}

/// A TCP server whose handler gets a `ReadWrite` [`Stream`] per client. Cloning gives
/// another handle to the same server (e.g. for a handler that closes it).
#[derive(Clone)]
pub struct StreamServer {
    inner: Rc<Inner>,
}

impl StreamServer {
    /// A server for `host:port` that runs `handler(stream)` as its own task per client.
    /// Nothing is bound yet: see [`bind`](Self::bind), [`start_serving`](Self::start_serving),
    /// [`serve_forever`](Self::serve_forever) and [`scope`](Self::scope).
    pub fn new<H, F>(handler: H, host: &str, port: u16) -> StreamServer
    where
        H: Fn(Stream) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerOutcome,
    {
        Self::with_options(handler, host, port, StreamServerOptions::default())
    }

    /// [`new`](Self::new) with options.
    pub fn with_options<H, F>(handler: H, host: &str, port: u16, options: StreamServerOptions) -> StreamServer
    where
        H: Fn(Stream) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerOutcome,
    {
        let host = host.to_string();
        let server_options = ServerOptions {
            limit: options.limit,
            backlog: options.backlog,
            start_serving: false,
            ..ServerOptions::default()
        };
        let handler = Rc::new(handler);
        let binder: Binder = Box::new(move || {
            let (handler, host, server_options) = (Rc::clone(&handler), host.clone(), server_options.clone());
            Box::pin(async move {
                let handler =
                    move |_reader, writer| handler(Stream::with_writer(writer, StreamMode::ReadWrite));
                start_server_with(handler, &host, port, server_options).await
            })
        });
        Self::from_binder(binder, options.shutdown_timeout)
    }

    /// `StreamServer(handler, sock=socket)`: serves on a socket the component bound (and
    /// possibly set listening) itself; see [`start_server_socket`]. The socket is used by
    /// the first `bind()`.
    pub fn with_socket<H, F>(handler: H, socket: TcpSocket, options: StreamServerOptions) -> StreamServer
    where
        H: Fn(Stream) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerOutcome,
    {
        let server_options = ServerOptions {
            limit: options.limit,
            backlog: options.backlog,
            start_serving: false,
            ..ServerOptions::default()
        };
        let handler = Rc::new(handler);
        let socket = RefCell::new(Some(socket));
        let binder: Binder = Box::new(move || {
            let (handler, server_options) = (Rc::clone(&handler), server_options.clone());
            let socket = socket.borrow_mut().take();
            Box::pin(async move {
                let socket =
                    socket.ok_or_else(|| Error::Closed("sock was used by an earlier bind()".into()))?;
                let handler =
                    move |_reader, writer| handler(Stream::with_writer(writer, StreamMode::ReadWrite));
                start_server_socket(handler, socket, server_options).await
            })
        });
        Self::from_binder(binder, options.shutdown_timeout)
    }

    pub(crate) fn from_binder(binder: Binder, shutdown_timeout: Duration) -> StreamServer {
        StreamServer {
            inner: Rc::new(Inner {
                binder,
                binding: Cell::new(false),
                server: RefCell::new(None),
                closed: Cell::new(false),
                shutdown_timeout,
            }),
        }
    }

    fn server(&self) -> Option<Server> {
        self.inner.server.borrow().clone()
    }

    /// Binds the sockets without listening (connections are refused until
    /// `start_serving`). Idempotent; fails with [`Error::Closed`] once closed.
    pub async fn bind(&self) -> Result<()> {
        if self.inner.closed.get() {
            return Err(Error::Closed("server is closed".into()));
        }
        if self.server().is_some() {
            return Ok(());
        }
        if self.inner.binding.replace(true) {
            return Err(Error::invalid_argument("bind() is already in progress"));
        }
        let bound = (self.inner.binder)().await;
        self.inner.binding.set(false);
        *self.inner.server.borrow_mut() = Some(bound?);
        Ok(())
    }

    /// True once bound, until closed.
    pub fn is_bound(&self) -> bool {
        self.server().is_some() && !self.inner.closed.get()
    }

    /// Binds if needed and starts accepting.
    pub async fn start_serving(&self) -> Result<()> {
        self.bind().await?;
        self.server().ok_or_else(|| Error::Closed("server is closed".into()))?.start_serving().await
    }

    /// True while accepting.
    pub fn is_serving(&self) -> bool {
        self.server().is_some_and(|server| server.is_serving())
    }

    /// The bound addresses; empty before `bind` and after `close`.
    pub fn sockets(&self) -> Vec<SocketAddr> {
        self.server().map(|server| server.sockets()).unwrap_or_default()
    }

    /// Starts serving if needed and serves until the server is closed. Dropping this
    /// future (cancelling it) closes the server, as in asyncio.
    pub async fn serve_forever(&self) -> Result<()> {
        self.start_serving().await?;
        let server = self.server().ok_or_else(|| Error::Closed("server is closed".into()))?;
        let mut close_on_cancel = CloseOnDrop(Some(self.clone()));
        let served = server.serve_forever().await;
        close_on_cancel.0 = None;
        served
    }

    /// Stops listening, closes the client streams (queued data is delivered first), waits
    /// up to `shutdown_timeout` for the handlers to end and the connections to go, then
    /// cancels the handlers left and aborts their connections. Idempotent.
    pub async fn close(&self) -> Result<()> {
        self.inner.closed.set(true);
        let Some(server) = self.server() else { return Ok(()) };
        server.close();
        server.close_clients();
        let finished = async {
            server.wait_handlers().await;
            server.wait_closed().await;
        };
        if runtime::timeout(self.inner.shutdown_timeout, finished).await.is_err() {
            server.cancel_handlers();
            server.abort_clients();
            server.wait_closed().await;
        }
        Ok(())
    }

    /// Stops listening, aborts every client connection (queued data is dropped) and
    /// cancels every handler at once.
    pub async fn abort(&self) -> Result<()> {
        self.inner.closed.set(true);
        let Some(server) = self.server() else { return Ok(()) };
        server.close();
        server.abort_clients();
        server.cancel_handlers();
        server.wait_closed().await;
        Ok(())
    }

    /// How many handler tasks are running.
    pub fn handler_count(&self) -> usize {
        self.server().map_or(0, |server| server.handler_count())
    }

    /// How many client connections are open.
    pub fn client_count(&self) -> usize {
        self.server().map_or(0, |server| server.client_count())
    }

    /// Binds, runs `body`, then closes (Python's `async with StreamServer(...) as
    /// server:`), also when `body` fails; `body`'s error wins over the close's.
    pub async fn scope<T, E>(
        self,
        body: impl AsyncFnOnce(&StreamServer) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error>,
    {
        self.bind().await?;
        let outcome = body(&self).await;
        let closed = self.close().await;
        let value = outcome?;
        closed?;
        Ok(value)
    }
}

/// Closes the server in a task of its own when `serve_forever` is cancelled.
struct CloseOnDrop(Option<StreamServer>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            runtime::spawn(async move {
                let _ = server.close().await;
            });
        }
    }
}
