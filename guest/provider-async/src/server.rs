//! The `server` resource: asyncio's Server, one listening socket per resolved address.
//! As asyncio's loop does, the server takes connections in as they come
//! ([`crate::accept_task`], at most a backlog's worth ahead of the consumer), so that
//! `close` stops listening but leaves the connections already taken in (and, over TLS,
//! those in their handshake) to `accept`; the clients it took in, for `close-clients`,
//! `abort-clients` and `wait-closed`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

use wasio::error::Error;
use wasio::runtime::Notify;
use wasip3::sockets::types::{IpAddressFamily, TcpSocket};
use wasip3::wit_bindgen::StreamReader;

use crate::accept_task;
use crate::connection::{self, Connection};
use crate::convert;
use crate::tls::server::ServerTls;
use crate::wit;

/// asyncio's default listen backlog; also how many connections are taken in ahead of
/// `accept` when the options do not say.
const DEFAULT_BACKLOG: u32 = 100;

pub struct Server {
    shared: Rc<Shared>,
}

/// The server's state, shared with its accept tasks and its TLS handshakes.
pub(crate) struct Shared {
    /// Bound sockets no accept task has taken yet (with their stream once listening).
    listeners: RefCell<Vec<Listener>>,
    addresses: Vec<SocketAddr>,
    pub(crate) limit: usize,
    /// At most this many connections taken in and not yet returned by `accept`.
    backlog: usize,
    tls: Option<ServerTls>,
    serving: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    /// The resource is gone: what is taken in from now on is aborted.
    gone: Cell<bool>,
    /// Accept tasks running.
    listening: Cell<usize>,
    /// Taken in, in order, for `accept`: a connection, or an accept's failure.
    queue: RefCell<VecDeque<Result<Rc<Connection>, wit::Error>>>,
    /// Taken in, TLS handshake under way: they join the queue once it completes.
    handshaking: Cell<usize>,
    /// For `accept` and `wait-closed`: the queue grew, a handshake ended, serving
    /// started or stopped, an accept task ended.
    pub(crate) changed: Notify,
    /// For the accept tasks: the queue shrank, or the server closed.
    pub(crate) room: Notify,
    /// Every connection taken in and not yet seen gone ([`Shared::remember`]).
    clients: RefCell<Vec<Weak<Connection>>>,
}

pub(crate) struct Listener {
    /// `None` before `listen`.
    pub(crate) accepted: Option<StreamReader<TcpSocket>>,
    /// Kept after the stream: the stream goes first.
    pub(crate) socket: TcpSocket,
    pub(crate) address: SocketAddr,
}

/// asyncio.start_server.
pub(crate) async fn start(
    host: &str,
    port: u16,
    options: Option<wit::ServerOptions>,
) -> Result<Server, wit::Error> {
    // As in asyncio, a limit of 0 is not refused here: each connection fails as it is
    // taken in (see `accept_task`).
    let limit = match options.as_ref().and_then(|o| o.limit) {
        Some(0) => 0,
        limit => convert::limit(limit)?,
    };
    let tls = ServerTls::from_options(options.as_ref())?;
    let backlog = options.as_ref().and_then(|o| o.backlog);
    let mut listeners = Vec::new();
    let mut addresses = Vec::new();
    for ip in connection::resolve(host).await? {
        let family = if ip.is_ipv4() { IpAddressFamily::Ipv4 } else { IpAddressFamily::Ipv6 };
        let socket = TcpSocket::create(family).map_err(convert::socket_wit_error)?;
        socket.bind(convert::to_wasi(SocketAddr::new(ip, port))).map_err(convert::socket_wit_error)?;
        if let Some(backlog) = backlog {
            let _ = socket.set_listen_backlog_size(backlog.into());
        }
        let address = convert::from_wasi(socket.get_local_address().map_err(convert::socket_wit_error)?);
        addresses.push(address);
        listeners.push(Listener { accepted: None, socket, address });
    }
    let shared = Rc::new(Shared {
        listeners: RefCell::new(listeners),
        addresses,
        limit,
        backlog: backlog.unwrap_or(DEFAULT_BACKLOG).max(1) as usize,
        tls,
        serving: Cell::new(false),
        closed: Cell::new(false),
        gone: Cell::new(false),
        listening: Cell::new(0),
        queue: RefCell::new(VecDeque::new()),
        handshaking: Cell::new(0),
        changed: Notify::new(),
        room: Notify::new(),
        clients: RefCell::new(Vec::new()),
    });
    if options.as_ref().and_then(|o| o.start_serving) != Some(false) {
        shared.listen()?;
        shared.start_accepting();
    }
    Ok(Server { shared })
}

impl Shared {
    /// Starts listening on every socket (asyncio's `start_serving`).
    fn listen(&self) -> Result<(), wit::Error> {
        for listener in self.listeners.borrow_mut().iter_mut() {
            listener.accepted = Some(listener.socket.listen().map_err(convert::socket_wit_error)?);
        }
        self.serving.set(true);
        self.changed.notify_all();
        Ok(())
    }

    /// Spawns an accept task for each listening socket that has none, in the calling
    /// async export's task (a sync call such as `start-serving` cannot spawn: its
    /// sockets' tasks start with the server's next async call).
    fn start_accepting(self: &Rc<Self>) {
        let listening: Vec<Listener> = {
            let mut listeners = self.listeners.borrow_mut();
            let (listening, bound) = listeners.drain(..).partition(|l| l.accepted.is_some());
            *listeners = bound;
            listening
        };
        for listener in listening {
            self.listening.set(self.listening.get() + 1);
            drop(wasip3::spawn_local(accept_task::run(self.clone(), listener)));
        }
    }

    /// Room to take one more in: fewer than the backlog waiting for `accept`, and no
    /// accept failure the consumer has not been told of (it decides whether to pause,
    /// as asyncio's loop does; retrying at once would spin).
    pub(crate) fn has_room(&self) -> bool {
        let queue = self.queue.borrow();
        queue.len() + self.handshaking.get() < self.backlog && !queue.iter().any(Result::is_err)
    }

    /// A connection taken in (its pumps running), or an accept's failure.
    pub(crate) fn taken_in(self: &Rc<Self>, taken: Result<Rc<Connection>, wit::Error>) {
        if let Ok(conn) = &taken {
            self.remember(conn);
            if let Some(tls) = &self.tls {
                return tls.start_handshake(self.clone(), conn.clone());
            }
        }
        self.enqueue(taken);
    }

    fn enqueue(&self, taken: Result<Rc<Connection>, wit::Error>) {
        match taken {
            Ok(conn) if self.gone.get() => conn.abort(),
            taken => self.queue.borrow_mut().push_back(taken),
        }
        self.changed.notify_all();
    }

    pub(crate) fn handshake_started(&self) {
        self.handshaking.set(self.handshaking.get() + 1);
    }

    /// A handshake ended: a completed one's connection joins the queue.
    pub(crate) fn handshake_ended(&self, conn: Rc<Connection>, completed: bool) {
        self.handshaking.set(self.handshaking.get() - 1);
        if completed {
            self.enqueue(Ok(conn));
        } else {
            self.changed.notify_all();
            self.room.notify_all();
        }
    }

    /// An accept task ended (the server closed, or its listening stream ended).
    pub(crate) fn stopped_listening(&self) {
        self.listening.set(self.listening.get() - 1);
        self.changed.notify_all();
    }

    /// Completes once the server is closed.
    pub(crate) async fn closing(&self) {
        loop {
            let changed = self.room.notified();
            if self.closed.get() {
                return;
            }
            changed.await;
        }
    }

    fn close(&self) {
        self.closed.set(true);
        self.serving.set(false);
        self.listeners.borrow_mut().clear();
        self.changed.notify_all();
        self.room.notify_all();
    }

    /// Adds `conn` to the clients. A gone client's `Weak` still holds its connection's
    /// allocation (about 1.3 KiB), so the gone ones are dropped before the list would
    /// grow: without that, a server that only accepts (never `close-clients` or
    /// `wait-closed`) kept every connection it ever served. Half the list is left free
    /// each time, so this costs O(1) per connection, amortised.
    fn remember(&self, conn: &Rc<Connection>) {
        let mut clients = self.clients.borrow_mut();
        if clients.len() == clients.capacity() {
            clients.retain(|client| client.strong_count() > 0);
            let live = clients.len();
            clients.reserve(live.max(4));
        }
        clients.push(Rc::downgrade(conn));
    }

    /// The live clients.
    fn clients(&self) -> Vec<Rc<Connection>> {
        let mut clients = self.clients.borrow_mut();
        clients.retain(|client| client.strong_count() > 0);
        clients.iter().filter_map(Weak::upgrade).collect()
    }
}

fn not_serving() -> wit::Error {
    convert::error(Error::invalid_argument("the server is not serving"))
}

impl Drop for Server {
    /// The listening sockets close; connections taken in that no `accept` will return
    /// any more are aborted (no reader or writer can close them).
    fn drop(&mut self) {
        self.shared.gone.set(true);
        self.shared.close();
        let unreturned: Vec<_> = self.shared.queue.borrow_mut().drain(..).collect();
        unreturned.into_iter().flatten().for_each(|conn| conn.abort());
    }
}

impl wit::GuestServer for Server {
    async fn accept(&self) -> Result<(wit::Reader, wit::Writer), wit::Error> {
        crate::returned_at_once::guard(async move {
            let shared = &self.shared;
            if shared.serving.get() && !shared.closed.get() {
                shared.start_accepting();
            }
            let conn = loop {
                let changed = shared.changed.notified();
                let next = shared.queue.borrow_mut().pop_front();
                if let Some(next) = next {
                    shared.room.notify_all();
                    break next?;
                }
                // Taken in but still in its handshake: returned once it completes, even
                // after `close`.
                if shared.handshaking.get() == 0 {
                    if shared.closed.get() || !shared.serving.get() {
                        return Err(not_serving());
                    }
                    if shared.listening.get() == 0 {
                        return Err(wit::Error::Closed); // every listening stream ended
                    }
                }
                changed.await;
            };
            Ok((
                wit::Reader::new(crate::reader::Reader::new(conn.clone())),
                wit::Writer::new(crate::writer::Writer::new(conn)),
            ))
        })
        .await
    }

    fn start_serving(&self) -> Result<(), wit::Error> {
        if self.shared.closed.get() {
            return Err(wit::Error::Closed);
        }
        if !self.shared.serving.get() {
            self.shared.listen()?;
        }
        Ok(())
    }

    fn is_serving(&self) -> bool {
        self.shared.serving.get() && !self.shared.closed.get()
    }

    fn sockets(&self) -> Vec<wit::IpSocketAddress> {
        if self.shared.closed.get() {
            return Vec::new();
        }
        self.shared.addresses.iter().copied().map(convert::to_wasi).collect()
    }

    /// Stops listening; what was taken in stays for `accept` (see the module's doc).
    fn close(&self) {
        self.shared.close();
    }

    fn close_clients(&self) {
        self.shared.clients().iter().for_each(|client| client.close());
    }

    fn abort_clients(&self) {
        self.shared.clients().iter().for_each(|client| client.abort());
    }

    async fn wait_closed(&self) {
        crate::returned_at_once::guard(async move {
            let shared = &self.shared;
            if shared.serving.get() && !shared.closed.get() {
                shared.start_accepting();
            }
            loop {
                let changed = shared.changed.notified();
                if shared.closed.get() {
                    break;
                }
                changed.await;
            }
            // Then each client until its connection is closed (its writing task ended):
            // those open now, one after the other, then any taken in meanwhile (an accept
            // that completed as the server closed), so a wake costs no scan of them all.
            loop {
                let open: Vec<_> = shared.clients().into_iter().filter(|c| !c.write_done.get()).collect();
                if open.is_empty() {
                    break;
                }
                for client in open {
                    while !client.write_done.get() {
                        client.write_changed.notified().await;
                    }
                }
            }
        })
        .await
    }
}
