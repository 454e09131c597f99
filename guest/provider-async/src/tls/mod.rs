//! TLS for the 0.2.0 provider: wasio's sans-I/O [`TlsSession`] (the same as 0.1.0's:
//! decryption into the core's read buffer, close_notify, the peer's close, asyncio's SSL
//! write watermarks) between a connection's core state and its socket streams. This
//! module only moves the bytes: [`pumps`] are the connection's reading and writing
//! tasks over TLS, [`handshake`] completes a handshake within its timeout and upgrades a
//! live connection (`start-tls`), [`server`] runs a server's handshakes, [`bulk`]
//! decrypts a bulk read (`into-stream`),
//! [`config`] maps the WIT's records.

pub(crate) mod bulk;
pub(crate) mod config;
pub(crate) mod handshake;
pub(crate) mod pumps;
pub(crate) mod server;

use std::cell::{Cell, RefCell};

use wasio::runtime::Notify;
use wasio::tls::TlsSession;

use crate::connection::Connection;

/// A connection's TLS state: none for plain TCP.
#[derive(Default)]
pub(crate) struct TlsSlot {
    /// Boxed: a connection without TLS (most) then carries a pointer, not a session's
    /// kilobyte.
    session: RefCell<Option<Box<TlsSession>>>,
    /// The session moved: ciphertext came in or went out, it failed or ended.
    changed: Notify,
    /// The socket's input ended (after its last ciphertext).
    pub(crate) input_ended: Cell<bool>,
    /// The reader became a stream (`into-stream`): `start-tls` can no longer take its
    /// bytes.
    streamed: Cell<bool>,
}

impl TlsSlot {
    /// The connection's bytes go through TLS.
    pub(crate) fn is_on(&self) -> bool {
        self.session.borrow().is_some()
    }

    /// The session's details, once its handshake completed.
    pub(crate) fn info(&self) -> Option<wasio::TlsInfo> {
        self.session.borrow_mut().as_mut().and_then(|session| session.info().cloned())
    }
}

/// `into-stream` rules `start-tls` out from then on: the reader's bytes go to its stream.
pub(crate) fn before_into_stream(conn: &Connection) -> Result<(), crate::wit::Error> {
    conn.tls.streamed.set(true);
    Ok(())
}

/// Bytes the plain reading task received: plaintext, unless `start-tls` installed a
/// session while that read was in flight (then they are the peer's first records).
pub(crate) fn feed(conn: &Connection, bytes: Vec<u8>) {
    if conn.tls.is_on() {
        pumps::received(conn, bytes);
    } else {
        conn.read.borrow_mut().feed_vec(bytes);
    }
}
