//! The `server` resource: asyncio's Server, one listening socket per resolved address,
//! connections taken by `accept` from the socket's `stream<tcp-socket>`.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;

use wasip3::sockets::types::{IpAddressFamily, TcpSocket};
use wasip3::wit_bindgen::StreamReader;

use crate::connection::{self, Connection};
use crate::convert;
use crate::unsupported::not_yet;
use crate::wit;

pub struct Server {
    /// The streams of accepted connections with their listening sockets (the stream
    /// first: it goes before its socket); taken out while an `accept` waits on it.
    listeners: RefCell<Vec<(Option<StreamReader<TcpSocket>>, TcpSocket)>>,
    addresses: Vec<SocketAddr>,
    limit: usize,
    closed: Cell<bool>,
}

/// asyncio.start_server for the plain-TCP, serve-at-once case.
pub(crate) async fn start(
    host: &str,
    port: u16,
    options: Option<wit::ServerOptions>,
) -> Result<Server, wit::Error> {
    let limit = convert::limit(options.as_ref().and_then(|o| o.limit))?;
    if let Some(o) = &options {
        if o.ssl.is_some() {
            return Err(not_yet("server-options.ssl"));
        }
        if o.start_serving == Some(false) {
            return Err(not_yet("server-options.start-serving = false"));
        }
    }
    let mut listeners = Vec::new();
    let mut addresses = Vec::new();
    for ip in connection::resolve(host).await? {
        let family = if ip.is_ipv4() { IpAddressFamily::Ipv4 } else { IpAddressFamily::Ipv6 };
        let socket = TcpSocket::create(family).map_err(convert::socket_wit_error)?;
        socket.bind(convert::to_wasi(SocketAddr::new(ip, port))).map_err(convert::socket_wit_error)?;
        if let Some(backlog) = options.as_ref().and_then(|o| o.backlog) {
            let _ = socket.set_listen_backlog_size(backlog.into());
        }
        let accepted = socket.listen().map_err(convert::socket_wit_error)?;
        let local = socket.get_local_address().map_err(convert::socket_wit_error)?;
        addresses.push(convert::from_wasi(local));
        listeners.push((Some(accepted), socket));
    }
    Ok(Server { listeners: RefCell::new(listeners), addresses, limit, closed: Cell::new(false) })
}

impl wit::GuestServer for Server {
    async fn accept(&self) -> Result<(wit::Reader, wit::Writer), wit::Error> {
        if self.closed.get() {
            return Err(convert::error(wasio::error::Error::invalid_argument("the server is not serving")));
        }
        // One listener is enough for this first provider (one address per server).
        let taken = self.listeners.borrow_mut().first_mut().and_then(|(s, _)| s.take());
        let Some(mut accepted) = taken else { return Err(wit::Error::Busy) };
        let next = accepted.next().await;
        if let Some((slot, _)) = self.listeners.borrow_mut().first_mut() {
            *slot = Some(accepted);
        }
        let socket = next.ok_or(wit::Error::Closed)?;
        let conn = Connection::start(socket, self.limit)?;
        Ok((
            wit::Reader::new(crate::reader::Reader::new(conn.clone())),
            wit::Writer::new(crate::writer::Writer::new(conn)),
        ))
    }

    fn start_serving(&self) -> Result<(), wit::Error> {
        if self.closed.get() {
            return Err(wit::Error::Closed);
        }
        Ok(())
    }

    fn is_serving(&self) -> bool {
        !self.closed.get()
    }

    fn sockets(&self) -> Vec<wit::IpSocketAddress> {
        if self.closed.get() {
            return Vec::new();
        }
        self.addresses.iter().copied().map(convert::to_wasi).collect()
    }

    fn close(&self) {
        self.closed.set(true);
        self.listeners.borrow_mut().clear();
    }

    // Not yet: this first provider does not track its clients, so these do nothing
    // (0.1.0's close or abort every client, and wait for them to go).
    fn close_clients(&self) {}

    fn abort_clients(&self) {}

    async fn wait_closed(&self) {}
}
