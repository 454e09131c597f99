//! A listening socket's accept task: takes connections in as they come, as asyncio's
//! loop does, at most a backlog's worth ahead of the consumer's `accept`s (the kernel's
//! queue holds the rest), and starts each one (its pumps, its TLS handshake). Because
//! the connections are taken in ahead, `server.close` leaves them to `accept`: only the
//! listening socket goes.

use std::net::SocketAddr;
use std::rc::Rc;

use wasio::error::Error;
use wasip3::sockets::types::{ErrorCode, TcpSocket};

use crate::connection::Connection;
use crate::convert;
use crate::server::{Listener, Shared};

/// Runs until the server closes or the listening stream ends; then the stream, and after
/// it the socket, are dropped: the system refuses what it had not handed over yet.
pub(crate) async fn run(server: Rc<Shared>, listener: Listener) {
    let Listener { accepted, socket, address } = listener;
    if let Some(mut accepted) = accepted {
        loop {
            if !room(&server).await {
                break;
            }
            match crate::race::until(accepted.next(), server.closing()).await {
                Some(Some(socket)) => take_in(&server, socket, address),
                Some(None) => break, // the host ended the stream
                None => break,       // closed
            }
        }
        drop(accepted);
    }
    drop(socket);
    server.stopped_listening();
}

/// Waits until one more may be taken in; false once the server is closed.
async fn room(server: &Shared) -> bool {
    loop {
        let changed = server.room.notified();
        if server.closed.get() {
            return false;
        }
        if server.has_room() {
            return true;
        }
        changed.await;
    }
}

fn take_in(server: &Rc<Shared>, socket: TcpSocket, address: SocketAddr) {
    let peer = match accepted_peer(&socket, address) {
        Ok(peer) => peer,
        Err(Failure::PeerGone) => return,
        Err(Failure::Error(error)) => return server.taken_in(Err(convert::error(error))),
    };
    if server.limit == 0 {
        return; // asyncio's StreamReader(limit=0) fails: the connection is closed
    }
    server.taken_in(Connection::start(socket, server.limit, Some(peer)));
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

/// The peer of `socket`, just out of the listen stream, or why it is a failed accept:
/// wasmtime-wasi 48 hands one out as a socket already closed with the error, which its
/// `get-remote-address` reports at once; the host names a descriptor shortage
/// `other(new-socket-limit: too many open files (EMFILE))` (host/src/accept_errors/p3_accepts.rs).
fn accepted_peer(socket: &TcpSocket, address: SocketAddr) -> Result<SocketAddr, Failure> {
    let code = match socket.get_remote_address() {
        Ok(peer) => return Ok(convert::from_wasi(peer)),
        Err(code) => code,
    };
    Err(match code {
        // `invalid-state`: accepted, then reset before this asked (getpeername's ENOTCONN).
        ErrorCode::ConnectionReset
        | ErrorCode::ConnectionAborted
        | ErrorCode::ConnectionBroken
        | ErrorCode::InvalidState => Failure::PeerGone,
        ErrorCode::Other(Some(text)) if text.starts_with("new-socket-limit") => {
            Failure::Error(Error::TooManyOpenFiles(format!("accept on {address}")))
        }
        code => Failure::Error(convert::socket_error(code)),
    })
}
