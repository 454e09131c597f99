//! `server` through the WIT: accept and try-accept, start-serving, close and its clients.

use super::*;

#[tokio::test]
async fn test_start_server_accepts_a_native_client() {
    let (mut p, server, address) = serving(None).await;
    assert!(address.ip().is_loopback() && address.port() != 0, "{address}");
    assert!(p.is_serving(&server).await.unwrap());
    let mut client = TcpStream::connect(address).await.unwrap();
    let (r, w) = within("accept", p.accept(&server)).await.unwrap().unwrap();
    assert_eq!(p.peername(&w).await.unwrap().unwrap(), client.local_addr().unwrap());
    assert_eq!(p.sockname(&w).await.unwrap().unwrap(), address);
    client.write_all(b"ping\n").await.unwrap();
    assert_eq!(text(&within("readline", p.readline(&r)).await.unwrap().unwrap()), "ping\n");
    p.write(&w, b"pong\n").await.unwrap().unwrap();
    within("drain", p.drain(&w)).await.unwrap().unwrap();
    assert_eq!(text(&peer::read_n(&mut client, 5).await), "pong\n");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_try_accept_with_subscribe_and_poll() {
    let (mut p, server, address) = serving(server_options(Some(4096), None)).await;
    // Nobody connects: none.
    assert!(p.try_accept(&server).await.unwrap().unwrap().is_none());
    settle().await;
    assert!(p.try_accept(&server).await.unwrap().unwrap().is_none());
    let client = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut client = TcpStream::connect(address).await.unwrap();
        client.write_all(b"hi\n").await.unwrap();
        client
    });
    let (accepted, polls) =
        until_ready(&mut p, Source::Server(&server), async |p: &mut Provider| p.try_accept(&server).await)
            .await;
    let (r, w) = accepted.unwrap();
    assert!(polls > 0);
    let _client = client.await.unwrap();
    assert_eq!(p.limit(&r).await.unwrap(), 4096);
    assert_eq!(text(&within("readline", p.readline(&r)).await.unwrap().unwrap()), "hi\n");
    // Nobody else: none again.
    assert!(p.try_accept(&server).await.unwrap().unwrap().is_none());
    p.drop_server(server).await.unwrap();
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_start_serving_false_refuses_until_started() {
    let (mut p, server, address) = serving(server_options(None, Some(false))).await;
    assert!(!p.is_serving(&server).await.unwrap());
    let refused = within("connect", TcpStream::connect(address)).await;
    assert_eq!(refused.map(|_| ()).unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
    // Not serving: accept is invalid-argument, try-accept too.
    assert_err(within("accept", p.accept(&server)).await.unwrap(), |e| {
        matches!(e, Error::InvalidArgument(_))
    });
    p.start_serving(&server).await.unwrap().unwrap();
    p.start_serving(&server).await.unwrap().unwrap(); // idempotent
    assert!(p.is_serving(&server).await.unwrap());
    assert_eq!(p.sockets(&server).await.unwrap(), vec![address]);
    let _client = within("connect", TcpStream::connect(address)).await.unwrap();
    let (r, w) = within("accept", p.accept(&server)).await.unwrap().unwrap();
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_close_takes_in_already_completed_connections() {
    let (mut p, server, address) = serving(None).await;
    // The kernel completes both handshakes; the provider has not accepted yet.
    let mut first = TcpStream::connect(address).await.unwrap();
    let mut second = TcpStream::connect(address).await.unwrap();
    first.write_all(b"first\n").await.unwrap();
    second.write_all(b"second\n").await.unwrap();
    settle().await;
    p.close_server(&server).await.unwrap();
    assert!(!p.is_serving(&server).await.unwrap());
    assert!(p.sockets(&server).await.unwrap().is_empty());
    // No longer listening.
    let refused = within("connect", TcpStream::connect(address)).await;
    assert!(refused.is_err(), "connect after close succeeded");
    // Both connections are still handed out: one by accept, one by try-accept.
    let (r1, w1) = within("accept", p.accept(&server)).await.unwrap().unwrap();
    let (r2, w2) = p.try_accept(&server).await.unwrap().unwrap().expect("the second connection");
    let mut lines = vec![
        text(&within("readline", p.readline(&r1)).await.unwrap().unwrap()),
        text(&within("readline", p.readline(&r2)).await.unwrap().unwrap()),
    ];
    lines.sort();
    assert_eq!(lines, ["first\n", "second\n"]);
    // Nothing left: accept after close is invalid-argument, in both forms.
    assert_err(within("accept", p.accept(&server)).await.unwrap(), |e| {
        matches!(e, Error::InvalidArgument(_))
    });
    assert_err(p.try_accept(&server).await.unwrap(), |e| matches!(e, Error::InvalidArgument(_)));
    // start-serving on a closed server is `closed`.
    assert_err(p.start_serving(&server).await.unwrap(), |e| matches!(e, Error::Closed));
    // The accepted connections still work.
    p.write(&w1, b"x").await.unwrap().unwrap();
    p.write(&w2, b"y").await.unwrap().unwrap();
    within("drain", p.drain(&w1)).await.unwrap().unwrap();
    within("drain", p.drain(&w2)).await.unwrap().unwrap();
    let mut got = [peer::read_n(&mut first, 1).await, peer::read_n(&mut second, 1).await].concat();
    got.sort();
    assert_eq!(got, b"xy");
    for r in [r1, r2] {
        p.drop_reader(r).await.unwrap();
    }
    for w in [w1, w2] {
        p.drop_writer(w).await.unwrap();
    }
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_close_clients_delivers_queued_data_then_eof() {
    let (mut p, server, address) = serving(None).await;
    let clients = accept_clients(&mut p, &server, address, 2).await;
    let mut peers = Vec::new();
    let mut handles = Vec::new();
    for (i, (r, w, client)) in clients.into_iter().enumerate() {
        p.write(&w, format!("bye {i}\n").as_bytes()).await.unwrap().unwrap();
        peers.push(tokio::spawn(async move {
            let mut client = client;
            peer::read_to_end(&mut client).await
        }));
        handles.push((r, w));
    }
    p.close_clients(&server).await.unwrap();
    for (_, w) in &handles {
        assert!(p.is_closing(w).await.unwrap());
    }
    // The server keeps accepting until closed.
    assert!(p.is_serving(&server).await.unwrap());
    p.close_server(&server).await.unwrap();
    within("server wait-closed", p.wait_closed_server(&server)).await.unwrap();
    for (i, peer_task) in peers.into_iter().enumerate() {
        assert_eq!(text(&peer_task.await.unwrap()), format!("bye {i}\n"));
    }
    for (r, w) in handles {
        p.drop_reader(r).await.unwrap();
        p.drop_writer(w).await.unwrap();
    }
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_abort_clients_drops_queued_data() {
    const TOTAL: usize = 32 * MIB;
    let (mut p, server, address) = serving(None).await;
    let mut clients = accept_clients(&mut p, &server, address, 1).await;
    let (r, w, mut client) = clients.pop().unwrap();
    write_bulk(&mut p, &w, TOTAL).await;
    settle().await;
    assert!(p.get_write_buffer_size(&w).await.unwrap() > 0);
    p.abort_clients(&server).await.unwrap();
    assert!(p.is_closing(&w).await.unwrap());
    assert_eq!(p.get_write_buffer_size(&w).await.unwrap(), 0, "abort drops the queue");
    // The peer gets less than was written, then EOF or a reset.
    let mut received = 0usize;
    let mut buf = vec![0; 64 * 1024];
    within("the peer reads to the end", async {
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(received < TOTAL, "received everything ({received}) despite abort");
    p.close_server(&server).await.unwrap();
    within("server wait-closed", p.wait_closed_server(&server)).await.unwrap();
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_server_wait_closed_waits_for_the_clients() {
    let (mut p, server, address) = serving(None).await;
    let mut clients = accept_clients(&mut p, &server, address, 1).await;
    let (r, w, _client) = clients.pop().unwrap();
    assert!(!p.try_wait_closed_server(&server).await.unwrap(), "still serving");
    p.close_server(&server).await.unwrap();
    settle().await;
    assert!(!p.try_wait_closed_server(&server).await.unwrap(), "a client is still connected");
    p.close(&w).await.unwrap();
    // try-wait-closed + subscribe + poll.
    let (closed, _) = until_true(&mut p, Source::Server(&server), async |p: &mut Provider| {
        Ok(Ok(p.try_wait_closed_server(&server).await?))
    })
    .await;
    closed.unwrap();
    within("server wait-closed", p.wait_closed_server(&server)).await.unwrap();
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}
