//! A connection's two tasks: the reading one feeds the core's read buffer from the
//! receive stream (or delivers a bulk read), the writing one hands the core's write queue
//! to the send stream. See [`crate::connection`].

use std::rc::Rc;

use wasio::core::WaitingReadSize;
use wasip3::wit_bindgen::{StreamReader, StreamResult, StreamWriter};

use crate::bulk_read::Source;
use crate::connection::{Connection, Ended};

/// At most this much of the write queue is handed to the host in one write.
const WRITE_CHUNK: usize = 256 * 1024;

/// asyncio's `data_received` / `eof_received` / `connection_lost`, reading side; then,
/// after EOF or once `into-stream` took the reader, the bulk read's delivery.
pub(crate) async fn read_task(conn: Rc<Connection>, mut incoming: StreamReader<u8>, received: Ended) {
    let mut size = WaitingReadSize::new();
    loop {
        if conn.tls.is_on() {
            return crate::tls::pumps::read_task(conn, incoming, received).await;
        }
        if let Some(bulk) = conn.bulk.take() {
            return bulk.deliver(&conn, Source::Socket { incoming, received }).await;
        }
        // Paused (over 2 x limit) until a read consumes or waits, or `into-stream`.
        if conn.read.borrow().is_paused() {
            conn.read_changed.notified().await;
            continue;
        }
        let (result, bytes) = read_unless_handed_off(&conn, &mut incoming, size.next()).await;
        match result {
            StreamResult::Complete(n) => {
                size.record(n);
                match conn.bulk.borrow_mut().as_mut() {
                    // Handed off while this read was in flight: these come next.
                    Some(bulk) => bulk.append(bytes),
                    None => crate::tls::feed(&conn, bytes),
                }
                // This wakes this task too (its wait for a hand-off registered it), and
                // that is what keeps the echo cheap: the component-model task that runs
                // the pumps then yields instead of sleeping, so the consumer's calls run
                // before the next socket read, the wakes that come meanwhile cost no
                // stream write, and reads and writes carry several lines each. A Notify
                // of the reading task's own, without this wake, cost 20-70% more CPU per
                // line (64x16, 256x4).
                conn.read_changed.notify_all();
            }
            StreamResult::Cancelled => {}
            StreamResult::Dropped => break,
        }
    }
    let ended = received.await;
    match &ended {
        Ok(()) => conn.read.borrow_mut().feed_eof(),
        Err(error) => conn.lose(error.clone()),
    }
    conn.read_changed.notify_all();
    // A bulk read may still come (for the buffered bytes and EOF) while the reader lives;
    // `into-stream` drops the reader after setting it, so look for it first.
    loop {
        if let Some(bulk) = conn.bulk.take() {
            return bulk.deliver(&conn, Source::Ended(ended)).await;
        }
        if conn.reader_gone.get() {
            return;
        }
        conn.read_changed.notified().await;
    }
}

/// One read from the socket. If `into-stream` takes the reader over meanwhile, the
/// handed-off bytes go out at once, not only when the peer sends more (a peer that waits
/// for its echo would wait forever), while the read goes on; what it brings follows them.
///
/// The read is not cancelled: cancelling a read of the host's blocks this component until
/// the host lets go of it, and calls that arrive meanwhile wait to start; wasmtime 48 then
/// deletes such a call's task before its caller drops it when the task outlives its
/// result by a turn (as [`crate::returned_at_once`] makes it), and the caller traps
/// ("resource not present") on `subtask.drop`.
pub(crate) async fn read_unless_handed_off(
    conn: &Connection,
    incoming: &mut StreamReader<u8>,
    size: usize,
) -> (StreamResult, Vec<u8>) {
    let mut read = std::pin::pin!(incoming.read(Vec::with_capacity(size)));
    let finished = futures_lite::future::or(async { Some(read.as_mut().await) }, async {
        while conn.bulk.borrow().is_none() {
            conn.read_changed.notified().await;
        }
        None
    })
    .await;
    if let Some(done) = finished {
        return done;
    }
    let Some(mut bulk) = conn.bulk.borrow_mut().take() else { unreachable!("handed off") };
    let (done, ()) = futures_lite::future::zip(read, bulk.send_first()).await;
    *conn.bulk.borrow_mut() = Some(bulk);
    done
}

/// Hands the write queue to the send stream as fast as the host takes it; ends the
/// stream (FIN) once EOF or close was asked for and the queue is empty.
pub(crate) async fn write_task(conn: Rc<Connection>, mut outgoing: StreamWriter<u8>, sent: Ended) {
    loop {
        if conn.tls.is_on() {
            return crate::tls::pumps::write_task(conn, outgoing, sent).await;
        }
        let chunk = {
            let write = conn.write.borrow();
            if write.is_lost() {
                break;
            }
            let chunk = write.front(WRITE_CHUNK).to_vec();
            if chunk.is_empty() && (write.eof_requested() || write.is_closing()) {
                break; // flushed: end the stream, which is the FIN
            }
            chunk
        };
        if chunk.is_empty() {
            conn.write_changed.notified().await;
            continue;
        }
        let offered = chunk.len();
        let refused = outgoing.write_all(chunk).await;
        let mut write = conn.write.borrow_mut();
        if !write.is_lost() {
            write.consume(offered - refused.len());
        }
        drop(write);
        conn.write_changed.notify_all();
        if !refused.is_empty() {
            break; // the host dropped the stream: the connection is gone; `sent` says why
        }
    }
    drop(outgoing);
    if let Err(error) = sent.await {
        conn.lose(error);
    } else if conn.write.borrow().is_closing() {
        // Closed locally: asyncio's connection_lost(None) feeds the reader EOF.
        conn.read.borrow_mut().feed_eof();
        conn.read_changed.notify_all();
    }
    conn.write_done.set(true);
    conn.write_changed.notify_all();
}
