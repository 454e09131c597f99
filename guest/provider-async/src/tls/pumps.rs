//! A TLS connection's reading and writing tasks: the plain ones' work
//! ([`crate::pumps`]) with the session between the socket's `stream<u8>`s and the core's
//! buffers. The plain tasks hand over to these as soon as a session is installed
//! (`open-connection` and `accept` with `ssl`, or `start-tls` on a live connection).
//!
//! - Reading: ciphertext in, plaintext into [`ReadBuffer`] (the session holds ciphertext
//!   back while the reader is paused, except once close_notify was sent: the peer's
//!   must be seen); the peer's close_notify or FIN closes the connection, as asyncio's
//!   SSL protocol does; a TLS failure loses it with the `tls` error.
//! - Writing: the session's ciphertext first (handshake, alerts), then the queue's
//!   plaintext encrypted, as fast as the host takes it; once closing and the queue is
//!   empty, close_notify, then the peer has `ssl-shutdown-timeout-ms` to answer before
//!   the connection is lost with `timeout` (asyncio's "SSL shutdown timed out").
//!
//! [`ReadBuffer`]: wasio::core::ReadBuffer

use std::rc::Rc;

use wasio::core::WaitingReadSize;
use wasio::error::{Error, Result};
use wasio::tls::TlsSession;
use wasip3::clocks::monotonic_clock;
use wasip3::wit_bindgen::{StreamReader, StreamResult, StreamWriter};

use crate::bulk_read::Source;
use crate::connection::{Connection, Ended};

/// At most this much plaintext is encrypted for one write to the host (records of 16 KiB).
const WRITE_CHUNK: usize = 256 * 1024;

/// Runs `step` on the connection's session (installed before these tasks start).
pub(super) fn with_session<T>(conn: &Connection, step: impl FnOnce(&mut TlsSession) -> T) -> T {
    let mut session = conn.tls.session.borrow_mut();
    step(session.as_mut().expect("a TLS task runs only with a session"))
}

/// Ciphertext that arrived: decrypted into the read buffer as far as it takes it.
pub(crate) fn received(conn: &Connection, ciphertext: Vec<u8>) {
    let outcome = with_session(conn, |session| session.receive(ciphertext, &mut conn.read.borrow_mut()));
    after_decrypt(conn, outcome);
}

/// The session took in ciphertext: a failure loses the connection (the write task still
/// sends the alert rustls queued); the peer's end closes it once the handshake is done.
pub(super) fn after_decrypt(conn: &Connection, outcome: Result<()>) {
    match outcome {
        Err(error) => conn.lose(error),
        Ok(()) => {
            let peer_done = with_session(conn, |session| session.peer_closed() && !session.is_handshaking());
            if peer_done && !conn.write.borrow().is_closing() {
                conn.close();
            }
        }
    }
    conn.read_changed.notify_all();
    conn.write_changed.notify_all(); // rustls may have something to say
    conn.tls.changed.notify_all();
}

/// asyncio's SSL protocol's reading side.
pub(crate) async fn read_task(conn: Rc<Connection>, mut incoming: StreamReader<u8>, received_end: Ended) {
    let mut size = WaitingReadSize::new();
    loop {
        if let Some(bulk) = conn.bulk.take() {
            let source = Source::Tls { incoming, received: received_end, carry: Vec::new() };
            return bulk.deliver(&conn, source).await;
        }
        let (paused, pending) = with_session(&conn, |session| {
            let paused = conn.read.borrow().is_paused() && !session.shutting_down();
            (paused, session.has_pending_input())
        });
        if paused {
            conn.read_changed.notified().await;
            continue;
        }
        if pending {
            let outcome = with_session(&conn, |session| session.decrypt_into(&mut conn.read.borrow_mut()));
            after_decrypt(&conn, outcome);
            continue;
        }
        let (result, bytes) = crate::pumps::read_unless_handed_off(&conn, &mut incoming, size.next()).await;
        match result {
            StreamResult::Complete(n) => {
                size.record(n);
                if let Some(bulk) = conn.bulk.take() {
                    // Handed off while this read was in flight: the bulk read decrypts these.
                    let source = Source::Tls { incoming, received: received_end, carry: bytes };
                    return bulk.deliver(&conn, source).await;
                }
                if !conn.write.borrow().is_lost() {
                    received(&conn, bytes);
                }
            }
            StreamResult::Cancelled => {}
            StreamResult::Dropped => break,
        }
    }
    let ended = received_end.await;
    conn.tls.input_ended.set(true);
    match ended {
        Ok(()) if !conn.write.borrow().is_lost() => {
            let outcome = with_session(&conn, |session| session.receive_eof(&mut conn.read.borrow_mut()));
            after_decrypt(&conn, outcome);
        }
        Ok(()) => {}
        Err(error) => conn.lose(error),
    }
    conn.read_changed.notify_all();
    conn.write_changed.notify_all();
    conn.tls.changed.notify_all();
    // A bulk read may still come (for the buffered bytes and EOF) while the reader lives.
    loop {
        if let Some(bulk) = conn.bulk.take() {
            return bulk.deliver(&conn, Source::Ended(Ok(()))).await;
        }
        if conn.reader_gone.get() {
            return;
        }
        conn.read_changed.notified().await;
    }
}

/// What the writing task does next.
enum Next {
    Send(Vec<u8>),
    Wait,
    /// close_notify went out: wait for the peer's within the shutdown timeout.
    AwaitPeer,
    /// End the send stream.
    Finish,
}

/// asyncio's SSL protocol's writing side.
pub(crate) async fn write_task(conn: Rc<Connection>, mut outgoing: StreamWriter<u8>, sent: Ended) {
    // When the shutdown must be over (monotonic nanoseconds), once closing began.
    let mut shutdown_deadline: Option<u64> = None;
    loop {
        let next = next_step(&conn, &mut shutdown_deadline);
        match next {
            Next::Send(ciphertext) => {
                if !outgoing.write_all(ciphertext).await.is_empty() {
                    break; // the host dropped the stream: the connection is gone; `sent` says why
                }
                conn.write_changed.notify_all();
                conn.tls.changed.notify_all();
            }
            Next::Wait => {
                crate::race::until(conn.write_changed.notified(), conn.tls.changed.notified()).await;
            }
            Next::AwaitPeer => {
                let deadline = shutdown_deadline.unwrap_or(0);
                let left = deadline.saturating_sub(monotonic_clock::now());
                let woken = crate::race::until(
                    crate::race::until(conn.write_changed.notified(), conn.tls.changed.notified()),
                    monotonic_clock::wait_for(left),
                )
                .await;
                if woken.is_none() {
                    conn.lose(Error::TimedOut); // asyncio: "SSL shutdown timed out"
                }
            }
            Next::Finish => break,
        }
    }
    drop(outgoing);
    if let Err(error) = sent.await {
        conn.lose(error);
    }
    conn.write_done.set(true);
    conn.write_changed.notify_all();
    conn.tls.changed.notify_all();
}

fn next_step(conn: &Connection, shutdown_deadline: &mut Option<u64>) -> Next {
    let input_ended = conn.tls.input_ended.get();
    with_session(conn, |session| {
        let mut write = conn.write.borrow_mut();
        if write.is_lost() {
            // A failed session's alert still goes, then the stream ends.
            let alert = session.take_ciphertext();
            return if alert.is_empty() { Next::Finish } else { Next::Send(alert) };
        }
        let ciphertext = session.take_ciphertext();
        if !ciphertext.is_empty() {
            return Next::Send(ciphertext);
        }
        if !session.is_handshaking() && !write.is_empty() {
            let plaintext = write.front(WRITE_CHUNK);
            match session.encrypt(plaintext) {
                Ok(taken) => write.consume(taken),
                Err(error) => {
                    drop(write);
                    conn.lose(error);
                    return Next::Wait;
                }
            }
            return Next::Send(session.take_ciphertext());
        }
        if !write.is_closing() || !write.is_empty() {
            return Next::Wait;
        }
        // Closing with the queue out: asyncio's SSL shutdown.
        if shutdown_deadline.is_none() {
            let limit = u64::try_from(session.shutdown_timeout().as_nanos()).unwrap_or(u64::MAX);
            *shutdown_deadline = Some(monotonic_clock::now().saturating_add(limit));
        }
        // No close_notify to a peer that left.
        if !input_ended && session.start_close() {
            return Next::Send(session.take_ciphertext());
        }
        if input_ended || session.peer_closed() {
            Next::Finish
        } else {
            Next::AwaitPeer
        }
    })
}
