//! `writer` through the WIT: write, drain and its back-pressure, write-eof, close.

use super::*;

#[tokio::test]
async fn test_write_writelines_and_drain_deliver() {
    let (mut p, r, w, mut socket) = connected(None).await;
    p.write(&w, b"hello ").await.unwrap().unwrap();
    p.writelines(&w, &[b"wor".to_vec(), b"ld\n".to_vec()]).await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert_eq!(text(&peer::read_n(&mut socket, 12).await), "hello world\n");
    assert!(p.try_drain(&w).await.unwrap().unwrap());
    assert!(p.can_write_eof(&w).await.unwrap());
    assert!(!p.is_closing(&w).await.unwrap());
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

/// A native peer that reads `n` bytes after `delay`.
fn read_later(
    mut socket: TcpStream,
    n: usize,
    delay: Duration,
) -> tokio::task::JoinHandle<(TcpStream, Vec<u8>)> {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut data = vec![0; n];
        within("the peer reads everything", socket.read_exact(&mut data)).await.unwrap();
        (socket, data)
    })
}

#[tokio::test]
async fn test_try_drain_false_while_the_peer_does_not_read() {
    const TOTAL: usize = 24 * MIB;
    let (mut p, r, w, socket) = connected(None).await;
    let data = write_bulk(&mut p, &w, TOTAL).await;
    settle().await;
    assert!(!p.try_drain(&w).await.unwrap().unwrap(), "more than 16 MiB cannot all be in the kernel");
    let queued = p.get_write_buffer_size(&w).await.unwrap();
    assert!(queued > 65536, "queued {queued}");
    // The peer starts reading; try-drain + subscribe + poll until it is true.
    let reader = read_later(socket, TOTAL, Duration::from_millis(100));
    let (drained, polls) =
        until_true(&mut p, Source::Writer(&w), async |p: &mut Provider| p.try_drain(&w).await).await;
    drained.unwrap();
    assert!(polls > 0);
    // The rest is flushed during later calls: keep calling until the peer has it all.
    let (_socket, received) = flush_until_done(&mut p, &w, reader).await;
    assert!(received == data, "the peer received other bytes");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

/// Keeps the provider running (blocking `drain` — the queue flushes during calls) until the
/// peer task is done.
async fn flush_until_done<T>(
    p: &mut Provider,
    w: &host::provider::WriterHandle,
    task: tokio::task::JoinHandle<T>,
) -> T {
    within("flush to the peer", async {
        loop {
            if task.is_finished() {
                break task.await.unwrap();
            }
            p.drain(w).await.unwrap().unwrap();
            if p.get_write_buffer_size(w).await.unwrap() == 0 {
                break task.await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

#[tokio::test]
async fn test_drain_waits_for_a_peer_that_reads_late() {
    const TOTAL: usize = 24 * MIB;
    let (mut p, r, w, socket) = connected(None).await;
    let data = write_bulk(&mut p, &w, TOTAL).await;
    let reader = read_later(socket, TOTAL, Duration::from_millis(200));
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    let (_socket, received) = flush_until_done(&mut p, &w, reader).await;
    assert!(received == data, "the peer received other bytes");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_write_eof_half_closes_and_the_peer_can_still_send() {
    let (mut p, r, w, mut socket) = connected(None).await;
    p.write(&w, b"request").await.unwrap().unwrap();
    p.write_eof(&w).await.unwrap().unwrap();
    // Idempotent.
    p.write_eof(&w).await.unwrap().unwrap();
    let peer_task = tokio::spawn(async move {
        let request = peer::read_to_end(&mut socket).await;
        socket.write_all(b"reply\n").await.unwrap();
        request
    });
    // The blocking readline keeps the provider running while the peer answers.
    let line = within("readline after write-eof", p.readline(&r)).await.unwrap().unwrap();
    assert_eq!(text(&line), "reply\n");
    assert_eq!(text(&peer_task.await.unwrap()), "request");
    // write after write-eof is `closed`.
    assert_err(p.write(&w, b"more").await.unwrap(), |e| matches!(e, Error::Closed));
    assert_err(p.writelines(&w, &[b"more".to_vec()]).await.unwrap(), |e| matches!(e, Error::Closed));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_close_and_wait_closed() {
    let (mut p, r, w, mut socket) = connected(None).await;
    p.write(&w, b"last words").await.unwrap().unwrap();
    p.close(&w).await.unwrap();
    p.close(&w).await.unwrap(); // idempotent
    assert!(p.is_closing(&w).await.unwrap());
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(text(&peer::read_to_end(&mut socket).await), "last words");
    assert!(p.try_wait_closed(&w).await.unwrap().unwrap());
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();

    // The try form: try-wait-closed + subscribe + poll.
    let (r, w, mut socket) = connect(&mut p, None).await;
    p.write(&w, b"bye").await.unwrap().unwrap();
    p.close(&w).await.unwrap();
    let (closed, _) =
        until_true(&mut p, Source::Writer(&w), async |p: &mut Provider| p.try_wait_closed(&w).await).await;
    closed.unwrap();
    assert_eq!(text(&peer::read_to_end(&mut socket).await), "bye");
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}

#[tokio::test]
async fn test_drain_after_close_is_connection_lost() {
    let (mut p, r, w, _socket) = connected(None).await;
    p.close(&w).await.unwrap();
    assert_err(within("drain after close", p.drain(&w)).await.unwrap(), |e| {
        matches!(e, Error::ConnectionReset)
    });
    // write after a local close drops the data and returns ok, as asyncio does.
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    p.write(&w, b"dropped").await.unwrap().unwrap();
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_peername_and_sockname() {
    let (mut p, r, w, socket) = connected(None).await;
    let peername = p.peername(&w).await.unwrap().unwrap();
    let sockname = p.sockname(&w).await.unwrap().unwrap();
    assert_eq!(peername, socket.local_addr().unwrap());
    assert_eq!(sockname, socket.peer_addr().unwrap());
    // Kept after the connection closed.
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(p.peername(&w).await.unwrap().unwrap(), peername);
    assert_eq!(p.sockname(&w).await.unwrap().unwrap(), sockname);
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_write_buffer_limits_follow_asyncio() {
    let (mut p, r, w, _socket) = connected(None).await;
    let get = async |p: &mut Provider| {
        let l = p.get_write_buffer_limits(&w).await.unwrap();
        (l.low, l.high)
    };
    assert_eq!(get(&mut p).await, (16384, 65536));
    p.set_write_buffer_limits(&w, Some(100), None).await.unwrap().unwrap();
    assert_eq!(get(&mut p).await, (25, 100));
    p.set_write_buffer_limits(&w, None, Some(10)).await.unwrap().unwrap();
    assert_eq!(get(&mut p).await, (10, 40));
    p.set_write_buffer_limits(&w, Some(8), Some(2)).await.unwrap().unwrap();
    assert_eq!(get(&mut p).await, (2, 8));
    p.set_write_buffer_limits(&w, None, None).await.unwrap().unwrap();
    assert_eq!(get(&mut p).await, (16384, 65536));
    let result = p.set_write_buffer_limits(&w, Some(1), Some(2)).await.unwrap();
    assert_err(
        result,
        |e| matches!(e, Error::InvalidArgument(m) if m == "high (1) must be >= low (2) must be >= 0"),
    );
    // Unchanged by the failed call.
    assert_eq!(get(&mut p).await, (16384, 65536));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}
