//! The `server` resource: asyncio's Server, one listening socket per resolved address,
//! connections taken by `accept` from the socket's `stream<tcp-socket>`; the clients it
//! accepted, for `close-clients`, `abort-clients` and `wait-closed`.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

use wasio::error::Error;
use wasio::runtime::Notify;
use wasip3::sockets::types::{ErrorCode, IpAddressFamily, TcpSocket};
use wasip3::wit_bindgen::StreamReader;

use crate::connection::{self, Connection};
use crate::convert;
use crate::tls::handshake::ServerTls;
use crate::wit;

pub struct Server {
    /// The bound sockets, with the stream of their accepted connections once listening.
    listeners: RefCell<Vec<Listener>>,
    addresses: Vec<SocketAddr>,
    limit: usize,
    serving: Cell<bool>,
    closed: Cell<bool>,
    /// Serving started or stopped, or an accept gave its stream back.
    changed: Notify,
    /// Every connection `accept` returned (gone ones are pruned as they are met).
    clients: RefCell<Vec<Weak<Connection>>>,
    /// `ssl`: each accepted connection's handshake runs in a task of its own.
    tls: Option<ServerTls>,
}

struct Listener {
    /// `None` before `listen`, and while an `accept` has it out.
    accepted: Option<StreamReader<TcpSocket>>,
    /// Kept after the stream: the stream goes first.
    socket: TcpSocket,
}

/// asyncio.start_server for plain TCP.
pub(crate) async fn start(
    host: &str,
    port: u16,
    options: Option<wit::ServerOptions>,
) -> Result<Server, wit::Error> {
    // As in asyncio, a limit of 0 is not refused here: each connection fails as it is
    // accepted (see `accept`).
    let limit = match options.as_ref().and_then(|o| o.limit) {
        Some(0) => 0,
        limit => convert::limit(limit)?,
    };
    let tls = ServerTls::from_options(options.as_ref())?;
    let mut listeners = Vec::new();
    let mut addresses = Vec::new();
    for ip in connection::resolve(host).await? {
        let family = if ip.is_ipv4() { IpAddressFamily::Ipv4 } else { IpAddressFamily::Ipv6 };
        let socket = TcpSocket::create(family).map_err(convert::socket_wit_error)?;
        socket.bind(convert::to_wasi(SocketAddr::new(ip, port))).map_err(convert::socket_wit_error)?;
        if let Some(backlog) = options.as_ref().and_then(|o| o.backlog) {
            let _ = socket.set_listen_backlog_size(backlog.into());
        }
        let local = socket.get_local_address().map_err(convert::socket_wit_error)?;
        addresses.push(convert::from_wasi(local));
        listeners.push(Listener { accepted: None, socket });
    }
    let server = Server {
        listeners: RefCell::new(listeners),
        addresses,
        limit,
        serving: Cell::new(false),
        closed: Cell::new(false),
        changed: Notify::new(),
        clients: RefCell::new(Vec::new()),
        tls,
    };
    if options.as_ref().and_then(|o| o.start_serving) != Some(false) {
        server.listen()?;
    }
    Ok(server)
}

impl Server {
    /// Starts listening on every socket (asyncio's `start_serving`).
    fn listen(&self) -> Result<(), wit::Error> {
        for listener in self.listeners.borrow_mut().iter_mut() {
            listener.accepted = Some(listener.socket.listen().map_err(convert::socket_wit_error)?);
        }
        self.serving.set(true);
        self.changed.notify_all();
        Ok(())
    }

    fn not_serving() -> wit::Error {
        convert::error(Error::invalid_argument("the server is not serving"))
    }

    /// The next connection from the (first) listening socket.
    async fn next_socket(&self) -> Result<TcpSocket, wit::Error> {
        // One listener is enough for this provider (one address per server); accepts that
        // come while one waits on it queue behind it.
        let mut lent = loop {
            if self.closed.get() || !self.serving.get() {
                return Err(Server::not_serving());
            }
            let taken = self.listeners.borrow_mut().first_mut().and_then(|l| l.accepted.take());
            match taken {
                Some(accepted) => break Lent { server: self, accepted: Some(accepted) },
                None => self.changed.notified().await,
            }
        };
        // `close` ends a waiting accept (the listening socket is gone).
        let closed = async {
            while !self.closed.get() {
                self.changed.notified().await;
            }
        };
        let next = crate::race::until(lent.accepted.as_mut().expect("lent").next(), closed).await;
        drop(lent);
        next.ok_or_else(Server::not_serving)?.ok_or(wit::Error::Closed)
    }

    /// The live clients.
    fn clients(&self) -> Vec<Rc<Connection>> {
        let mut clients = self.clients.borrow_mut();
        clients.retain(|client| client.strong_count() > 0);
        clients.iter().filter_map(Weak::upgrade).collect()
    }
}

/// Why what the listen stream yielded is not a connection.
enum Failure {
    /// The peer reset or aborted before it was accepted, or just after: asyncio skips
    /// such an accept (ECONNABORTED) or serves a connection that fails at once.
    PeerGone,
    /// The accept failed (out of descriptors, ...): the consumer is told, so that it
    /// pauses accepting as asyncio does (an accept loop that retried at once would spin,
    /// wasmtime-wasi handing out a failed socket per attempt, until the store ran out of
    /// handles: a trap).
    Error(Error),
}

/// Whether `socket`, just out of the listen stream, is a failed accept: wasmtime-wasi 48
/// hands one out as a socket already closed with the error, which its `get-remote-address`
/// reports at once; the host names a descriptor shortage
/// `other(new-socket-limit: too many open files (EMFILE))` (host/src/accept_errors/p3_accepts.rs).
fn accept_failure(socket: &TcpSocket, address: Option<&SocketAddr>) -> Option<Failure> {
    let code = socket.get_remote_address().err()?;
    let detail = || address.map_or_else(|| "accept".to_string(), |a| format!("accept on {a}"));
    Some(match code {
        // `invalid-state`: accepted, then reset before this asked (getpeername's ENOTCONN).
        ErrorCode::ConnectionReset
        | ErrorCode::ConnectionAborted
        | ErrorCode::ConnectionBroken
        | ErrorCode::InvalidState => Failure::PeerGone,
        ErrorCode::Other(Some(text)) if text.starts_with("new-socket-limit") => {
            Failure::Error(Error::TooManyOpenFiles(detail()))
        }
        code => Failure::Error(convert::socket_error(code)),
    })
}

/// The accepted-connection stream, lent to one `accept`; given back however the accept
/// ends (cancelled too), for the next one.
struct Lent<'a> {
    server: &'a Server,
    accepted: Option<StreamReader<TcpSocket>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(listener) = self.server.listeners.borrow_mut().first_mut() {
            if !self.server.closed.get() {
                listener.accepted = self.accepted.take();
            }
        }
        self.server.changed.notify_all();
    }
}

impl wit::GuestServer for Server {
    async fn accept(&self) -> Result<(wit::Reader, wit::Writer), wit::Error> {
        let conn = loop {
            if let Some(conn) = self.tls.as_ref().and_then(ServerTls::take_ready) {
                break conn;
            }
            let socket = match &self.tls {
                // A handshake that completes meanwhile ends the wait for a socket.
                Some(tls) => match crate::race::until(self.next_socket(), tls.handshake_completed()).await {
                    Some(socket) => socket?,
                    None => continue,
                },
                None => self.next_socket().await?,
            };
            match accept_failure(&socket, self.addresses.first()) {
                None => {}
                Some(Failure::PeerGone) => continue,
                Some(Failure::Error(error)) => return Err(convert::error(error)),
            }
            if self.limit == 0 {
                continue; // asyncio's StreamReader(limit=0) fails: the connection is closed
            }
            let conn = Connection::start(socket, self.limit)?;
            match &self.tls {
                // Returned by an `accept` once its handshake completed.
                Some(tls) => tls.start_handshake(conn),
                None => break conn,
            }
        };
        self.clients.borrow_mut().push(Rc::downgrade(&conn));
        Ok((
            wit::Reader::new(crate::reader::Reader::new(conn.clone())),
            wit::Writer::new(crate::writer::Writer::new(conn)),
        ))
    }

    fn start_serving(&self) -> Result<(), wit::Error> {
        if self.closed.get() {
            return Err(wit::Error::Closed);
        }
        if !self.serving.get() {
            self.listen()?;
        }
        Ok(())
    }

    fn is_serving(&self) -> bool {
        self.serving.get() && !self.closed.get()
    }

    fn sockets(&self) -> Vec<wit::IpSocketAddress> {
        if self.closed.get() {
            return Vec::new();
        }
        self.addresses.iter().copied().map(convert::to_wasi).collect()
    }

    /// Not yet as the WIT says: connections the system completed but no `accept` took
    /// go with the listening socket instead of being taken in first.
    fn close(&self) {
        self.closed.set(true);
        self.serving.set(false);
        self.listeners.borrow_mut().clear();
        self.changed.notify_all();
    }

    fn close_clients(&self) {
        self.clients().iter().for_each(|client| client.close());
    }

    fn abort_clients(&self) {
        self.clients().iter().for_each(|client| client.abort());
    }

    async fn wait_closed(&self) {
        while !self.closed.get() {
            self.changed.notified().await;
        }
        // Then each client until its connection is closed (its writing task ended).
        while let Some(open) = self.clients().into_iter().find(|client| !client.write_done.get()) {
            open.write_changed.notified().await;
        }
    }
}
