//! Misuse and drop order: never a trap, and the instance stays usable.

use super::*;

#[tokio::test]
async fn test_dropping_the_reader_before_the_writer() {
    let (mut p, r, w, mut socket) = connected(None).await;
    let pollable = p.subscribe_reader(&r).await.unwrap();
    // Drops the reader's pollable first, then the reader.
    p.drop_reader(r).await.unwrap();
    p.drop_pollable(pollable).unwrap(); // already gone with the reader: a no-op
                                        // The writer still works.
    p.write(&w, b"after reader drop\n").await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert_eq!(text(&peer::read_n(&mut socket, 18).await), "after reader drop\n");
    p.drop_writer(w).await.unwrap();
    // EOF once both are gone (the close may go on during later calls: make some).
    let eof = tokio::spawn(async move { peer::read_to_end(&mut socket).await });
    still_usable(&mut p).await;
    assert_eq!(text(&within("EOF", eof).await.unwrap()), "");
}

#[tokio::test]
async fn test_dropping_the_writer_before_the_reader() {
    let (mut p, r, w, mut socket) = connected(None).await;
    socket.write_all(b"early\n").await.unwrap();
    settle().await;
    let reader_pollable = p.subscribe_reader(&r).await.unwrap();
    let writer_pollable = p.subscribe_writer(&w).await.unwrap();
    p.drop_writer(w).await.unwrap();
    // The reader and its pollable outlive the writer.
    let ready = within("poll", p.poll(&[&reader_pollable])).await.unwrap();
    assert_eq!(ready, vec![0]);
    assert!(p.poll(&[&writer_pollable]).await.is_err(), "the writer's pollable went with it");
    let line = p.try_readline(&r).await.unwrap();
    assert!(
        matches!(&line, Ok(Some(l)) if l == b"early\n"),
        "buffered line after the writer was dropped: {line:?}"
    );
    let _ = p.at_eof(&r).await.unwrap();
    let _ = p.exception(&r).await.unwrap();
    p.drop_pollable(writer_pollable).unwrap();
    p.drop_pollable(reader_pollable).unwrap();
    p.drop_reader(r).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_dropping_a_resource_with_live_pollables() {
    // The pollables are dropped first by the API; the guest sees a clean drop.
    let (mut p, server, address) = serving(None).await;
    let server_pollable = p.subscribe_server(&server).await.unwrap();
    let _client = TcpStream::connect(address).await.unwrap();
    let (r, w) = within("accept", p.accept(&server)).await.unwrap().unwrap();
    let pollables = [
        p.subscribe_reader(&r).await.unwrap(),
        p.subscribe_reader(&r).await.unwrap(),
        p.subscribe_writer(&w).await.unwrap(),
    ];
    p.drop_server(server).await.unwrap();
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    for pollable in pollables {
        p.drop_pollable(pollable).unwrap();
    }
    p.drop_pollable(server_pollable).unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_dropping_a_server_keeps_its_clients() {
    let (mut p, server, address) = serving(None).await;
    let mut clients = accept_clients(&mut p, &server, address, 1).await;
    let (r, w, mut client) = clients.pop().unwrap();
    p.drop_server(server).await.unwrap();
    client.write_all(b"still here\n").await.unwrap();
    assert_eq!(text(&within("readline", p.readline(&r)).await.unwrap().unwrap()), "still here\n");
    p.write(&w, b"me too\n").await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert_eq!(text(&peer::read_n(&mut client, 7).await), "me too\n");
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_calls_after_close_return_errors_or_empty_results() {
    let (mut p, r, w, mut socket) = connected(None).await;
    let pollable = p.subscribe_reader(&r).await.unwrap();
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(text(&peer::read_to_end(&mut socket).await), "");
    // Writer calls.
    p.write(&w, b"x").await.unwrap().unwrap();
    p.writelines(&w, &[b"y".to_vec()]).await.unwrap().unwrap();
    assert_err(within("drain", p.drain(&w)).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    let _ = p.try_drain(&w).await.unwrap();
    let _ = p.write_eof(&w).await.unwrap();
    p.abort(&w).await.unwrap();
    p.close(&w).await.unwrap();
    assert!(p.is_closing(&w).await.unwrap());
    assert!(p.try_wait_closed(&w).await.unwrap().unwrap());
    p.set_write_buffer_limits(&w, Some(10), None).await.unwrap().unwrap();
    assert_eq!(p.get_write_buffer_size(&w).await.unwrap(), 0);
    // Reader calls: the local close ends the stream (asyncio feeds EOF on connection_lost).
    let _ = within("poll", p.poll(&[&pollable])).await.unwrap();
    let read = within("read after close", p.read(&r, 10)).await.unwrap();
    assert!(matches!(&read, Ok(d) if d.is_empty()) || read.is_err(), "{read:?}");
    let _ = p.try_readline(&r).await.unwrap();
    let _ = p.at_eof(&r).await.unwrap();
    let _ = p.exception(&r).await.unwrap();
    let _ = p.buffer_size(&r).await.unwrap();
    p.drop_pollable(pollable).unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();

    // Server calls after close.
    let server = p.start_server("127.0.0.1", 0, None).await.unwrap().unwrap();
    p.close_server(&server).await.unwrap();
    p.close_server(&server).await.unwrap();
    p.close_clients(&server).await.unwrap();
    p.abort_clients(&server).await.unwrap();
    assert!(p.sockets(&server).await.unwrap().is_empty());
    assert!(!p.is_serving(&server).await.unwrap());
    assert_err(p.start_serving(&server).await.unwrap(), |e| matches!(e, Error::Closed));
    assert_err(within("accept", p.accept(&server)).await.unwrap(), |e| {
        matches!(e, Error::InvalidArgument(_))
    });
    within("server wait-closed", p.wait_closed_server(&server)).await.unwrap();
    assert!(p.try_wait_closed_server(&server).await.unwrap());
    p.drop_server(server).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_dropping_a_writer_with_unsent_data_still_delivers_it() {
    const TOTAL: usize = 24 * MIB;
    let (mut p, r, w, socket) = connected(None).await;
    let data = write_bulk(&mut p, &w, TOTAL).await;
    settle().await;
    assert!(p.get_write_buffer_size(&w).await.unwrap() > 0, "something must still be queued");
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
    // The first peer reads everything (then EOF); meanwhile the provider is busy in a
    // blocking readline on a second connection, whose peer answers once the first is done.
    let (r2, w2, mut socket2) = connect(&mut p, None).await;
    let first = tokio::spawn(async move {
        let mut socket = socket;
        let received = peer::read_to_end(&mut socket).await;
        socket2.write_all(b"done\n").await.unwrap();
        (received, socket2)
    });
    let line = within("readline while the dropped writer flushes", p.readline(&r2)).await.unwrap().unwrap();
    assert_eq!(text(&line), "done\n");
    let (received, _socket2) = first.await.unwrap();
    assert_eq!(received.len(), TOTAL);
    assert!(received == data, "the peer received other bytes");
    p.drop_reader(r2).await.unwrap();
    p.drop_writer(w2).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_readuntil_with_an_empty_separator_is_invalid_argument() {
    let (mut p, r, w, mut socket) = connected(None).await;
    socket.write_all(b"data\n").await.unwrap();
    settle().await;
    let invalid = |e: &Error| matches!(e, Error::InvalidArgument(_));
    assert_err(within("readuntil", p.readuntil(&r, b"")).await.unwrap(), invalid);
    assert_err(p.try_readuntil(&r, b"").await.unwrap(), invalid);
    assert_err(within("readuntil-any", p.readuntil_any(&r, &[])).await.unwrap(), invalid);
    assert_err(p.try_readuntil_any(&r, &[]).await.unwrap(), invalid);
    let with_empty = vec![b"\n".to_vec(), Vec::new()];
    assert_err(within("readuntil-any", p.readuntil_any(&r, &with_empty)).await.unwrap(), invalid);
    assert_err(p.try_readuntil_any(&r, &with_empty).await.unwrap(), invalid);
    // Nothing was consumed, and the reader still works.
    assert_eq!(p.buffer_size(&r).await.unwrap(), 5);
    assert_eq!(text(&within("readline", p.readline(&r)).await.unwrap().unwrap()), "data\n");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    still_usable(&mut p).await;
}
