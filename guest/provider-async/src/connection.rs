//! One TCP connection: wasio's core state shared by its reader and writer, and the two
//! tasks that move bytes between that state and the socket's `stream<u8>`s.
//!
//! - The reading task reads the receive stream into [`ReadBuffer`] (asyncio's
//!   `data_received`), except while the buffer is paused (over 2 x limit, until a read
//!   consumes or waits: asyncio's `pause_reading`), then EOF or the error. Once
//!   `into-stream` took the reader over, it delivers the bulk read instead
//!   ([`crate::bulk_read`]), before or after EOF.
//! - The writing task hands [`WriteBuffer`]'s queue to the send stream, as fast as the
//!   host takes it (that is the socket's own backpressure), and ends the stream (FIN)
//!   once `write-eof` or `close` asked and the queue is empty.
//!
//! Both ([`crate::pumps`]) are spawned with wit-bindgen's `spawn_local` as the connection
//! is made (by `open-connection`, `stdin-reader`, `stdout-writer`, or a server's
//! accepting task) and run in that component-model task after the call returned; calls
//! on the reader and writer are other tasks, woken across tasks by [`Notify`]
//! (wit-bindgen's `inter-task-wakeup`). So the calls that make one are async exports: a
//! sync call cannot spawn, and `write`, which is sync, must find the pump running.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;

use wasio::core::{ReadBuffer, Step, WriteBuffer};
use wasio::error::Error;
use wasio::runtime::Notify;
use wasip3::sockets::types::TcpSocket;
use wasip3::wit_bindgen::{StreamReader, StreamWriter};

use crate::bulk_read::BulkRead;
use crate::convert::{self, socket_error};
use crate::pumps;
use crate::wit;

pub(crate) struct Connection {
    pub(crate) read: RefCell<ReadBuffer>,
    /// Data, EOF or an error arrived; or a read consumed or started waiting (which may
    /// lift the pause).
    pub(crate) read_changed: Notify,
    pub(crate) write: RefCell<WriteBuffer>,
    /// The queue grew or shrank, EOF or close was asked for, or the connection was lost.
    pub(crate) write_changed: Notify,
    /// The writing task ended: the send stream is closed (after a FIN or a loss).
    pub(crate) write_done: Cell<bool>,
    /// `into-stream` took the reader over; the reading task delivers it.
    pub(crate) bulk: RefCell<Option<BulkRead>>,
    /// The reader resource is gone: after EOF, no bulk read can come any more.
    pub(crate) reader_gone: Cell<bool>,
    /// The error the connection was lost with, for `wait-closed`.
    pub(crate) lost_with: RefCell<Option<Error>>,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) local: Option<SocketAddr>,
    /// TLS between the buffers and the socket, once installed ([`crate::tls`]).
    pub(crate) tls: crate::tls::TlsSlot,
    /// Kept so the socket lives as long as its streams; `None` for stdio.
    socket: Option<TcpSocket>,
}

/// How a stream of the connection ended: ok, or the error it was lost with.
pub(crate) type Ended = Pin<Box<dyn Future<Output = Result<(), Error>>>>;

/// A pump to spawn: the stream it moves bytes through and how that ends.
pub(crate) enum Pump {
    /// Bytes received, into the read buffer ([`pumps::read_task`]).
    Read(StreamReader<u8>, Ended),
    /// The write queue, out ([`pumps::write_task`]).
    Write(StreamWriter<u8>, Ended),
}

impl Connection {
    /// Takes over a connected socket: starts its reading and writing tasks in the
    /// current component-model task. `peer`, if the caller already asked for it (an
    /// accept does, to tell a failed one), is not asked again.
    pub(crate) fn start(
        socket: TcpSocket,
        limit: usize,
        peer: Option<SocketAddr>,
    ) -> Result<Rc<Connection>, wit::Error> {
        let read = ReadBuffer::new(limit).map_err(convert::error)?;
        let (incoming, received) = socket.receive();
        let (outgoing, to_send) = wasip3::wit_stream::new::<u8>();
        let sent = socket.send(to_send);
        let peer = peer.or_else(|| socket.get_remote_address().ok().map(convert::from_wasi));
        let local = socket.get_local_address().ok().map(convert::from_wasi);
        let pumps = vec![
            Pump::Read(incoming, Box::pin(async move { received.await.map_err(socket_error) })),
            Pump::Write(outgoing, Box::pin(async move { sent.await.map_err(socket_error) })),
        ];
        Ok(Connection::new(read, pumps, Some(socket), peer, local))
    }

    /// A stdio connection moving bytes through `pumps` ([`crate::stdio`]), started in the
    /// current component-model task.
    pub(crate) fn stdio(read: ReadBuffer, pumps: Vec<Pump>) -> Rc<Connection> {
        Connection::new(read, pumps, None, None, None)
    }

    /// Spawns `pumps` in the current component-model task, where they run on after its
    /// call returned.
    fn new(
        read: ReadBuffer,
        pumps: Vec<Pump>,
        socket: Option<TcpSocket>,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> Rc<Connection> {
        let conn = Rc::new(Connection {
            read: RefCell::new(read),
            read_changed: Notify::new(),
            write: RefCell::new(WriteBuffer::new()),
            write_changed: Notify::new(),
            write_done: Cell::new(false),
            bulk: RefCell::new(None),
            reader_gone: Cell::new(false),
            lost_with: RefCell::new(None),
            peer,
            local,
            tls: Default::default(),
            socket,
        });
        for pump in pumps {
            match pump {
                Pump::Read(incoming, received) => {
                    drop(wasip3::spawn_local(pumps::read_task(conn.clone(), incoming, received)))
                }
                Pump::Write(outgoing, sent) => {
                    drop(wasip3::spawn_local(pumps::write_task(conn.clone(), outgoing, sent)))
                }
            }
        }
        conn
    }

    /// A TCP connection (not stdio).
    pub(crate) fn is_socket(&self) -> bool {
        self.socket.is_some()
    }

    /// The connection is gone (a reset, a broken pipe): reads fail with `error` at once
    /// (asyncio's exception wins over buffered data), writes are dropped, drains fail.
    pub(crate) fn lose(&self, error: Error) {
        self.read.borrow_mut().set_exception(error.clone());
        self.write.borrow_mut().mark_lost();
        self.lost_with.borrow_mut().get_or_insert(error);
        self.read_changed.notify_all();
        self.write_changed.notify_all();
    }

    /// asyncio's `writer.close()`: delivers what is queued, then closes. Idempotent.
    pub(crate) fn close(&self) {
        self.write.borrow_mut().start_closing();
        self.write_changed.notify_all();
    }

    /// asyncio's `transport.abort()`: closes at once, dropping what is queued; that is
    /// `connection_lost(None)`, so the reader sees EOF and `wait-closed` succeeds. A
    /// connection already closed or lost is left as it is.
    pub(crate) fn abort(&self) {
        if self.write_done.get() || self.write.borrow().is_lost() {
            return;
        }
        self.write.borrow_mut().start_closing();
        self.write.borrow_mut().mark_lost();
        self.read.borrow_mut().feed_eof();
        self.read_changed.notify_all();
        self.write_changed.notify_all();
    }

    /// Runs a read operation of the core until it completes: the I/O half of
    /// [`Step::NeedData`]. Dropping the returned future (the consumer cancelled the call)
    /// ends the wait and consumes nothing.
    pub(crate) async fn read_op<T>(
        self: &Rc<Self>,
        operation: &'static str,
        mut attempt: impl FnMut(&mut ReadBuffer) -> Step<T>,
    ) -> Result<T, Error> {
        // Only the reading task waits for what a read does here, and only while paused: a
        // wake when it is not paused would cost a cross-task wake and a turn for nothing.
        loop {
            let lifted_pause = {
                let mut read = self.read.borrow_mut();
                let paused = read.is_paused();
                if let Step::Ready(result) = attempt(&mut read) {
                    let lifted_pause = paused && !read.is_paused();
                    drop(read);
                    if lifted_pause {
                        self.read_changed.notify_all(); // consumed: the reading task resumes
                    }
                    return result;
                }
                read.begin_wait(operation)?;
                read.resume_for_waiter();
                paused
            };
            let waiting = WaitGuard(self);
            if lifted_pause {
                self.read_changed.notify_all(); // a paused reading task goes on
            }
            self.read_changed.notified().await;
            drop(waiting);
        }
    }
}

/// Ends a read's wait, however the wait ends (woken or cancelled).
struct WaitGuard<'a>(&'a Connection);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.read.borrow_mut().end_wait();
    }
}

/// An IP literal as itself, else the name's addresses.
pub(crate) async fn resolve(host: &str) -> Result<Vec<IpAddr>, wit::Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let found = wasip3::sockets::ip_name_lookup::resolve_addresses(host.to_string())
        .await
        .map_err(|_| wit::Error::NameUnresolvable(host.to_string()))?;
    let ips: Vec<IpAddr> = found
        .into_iter()
        .map(|ip| match ip {
            wasip3::sockets::types::IpAddress::Ipv4((a, b, c, d)) => IpAddr::from([a, b, c, d]),
            wasip3::sockets::types::IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
                IpAddr::from([a, b, c, d, e, f, g, h])
            }
        })
        .collect();
    if ips.is_empty() {
        return Err(wit::Error::NameUnresolvable(host.to_string()));
    }
    Ok(ips)
}
