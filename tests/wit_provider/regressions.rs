//! Behaviours once found wrong in the provider, kept as tests.

use super::*;

#[tokio::test]
async fn test_writer_calls_take_in_a_peer_reset() {
    // "Every call on a reader or writer first takes in the bytes, EOF and reset that have
    // already arrived": the writer's first call after the RST must see it, as asyncio's
    // drain does (it raises the reader's exception) and is_closing is true once lost.
    let mut p = provider().await;
    let (r, w, socket) = connect(&mut p, None).await;
    peer::reset(socket);
    settle().await;
    assert_err(within("drain", p.drain(&w)).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    assert!(p.is_closing(&w).await.unwrap());
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();

    let (r, w, socket) = connect(&mut p, None).await;
    peer::reset(socket);
    settle().await;
    assert!(p.is_closing(&w).await.unwrap(), "is-closing: true once the connection was lost");
    assert_err(p.try_drain(&w).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_start_server_limit_zero_drops_each_connection_like_asyncio() {
    // asyncio does not refuse limit 0 at start_server; each accepted connection fails in
    // the protocol factory and is closed (contract A.5). The provider does the same.
    let mut p = provider().await;
    let server = within("start-server", p.start_server("127.0.0.1", 0, server_options(Some(0), None)))
        .await
        .unwrap()
        .expect("start-server with limit 0 starts, as in asyncio");
    let address = p.sockets(&server).await.unwrap()[0];
    let mut client = within("connect", tokio::net::TcpStream::connect(address)).await.unwrap();
    // The connection is taken in and dropped during the next call into the provider.
    assert!(p.try_accept(&server).await.unwrap().unwrap().is_none());
    assert_eq!(peer::read_to_end(&mut client).await, b"");
    p.drop_server(server).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_server_subscribe_again_after_close() {
    // A pollable taken before close watches the listening socket (WIT: subscribe again
    // after close). A fresh one after close, with no clients left, is ready at once.
    let (mut p, server, _address) = serving(None).await;
    let before = p.subscribe_server(&server).await.unwrap();
    p.close_server(&server).await.unwrap();
    p.drop_pollable(before).unwrap();
    let after = p.subscribe_server(&server).await.unwrap();
    let ready = p.poll_for(&[&after], Duration::from_secs(2)).await.unwrap();
    assert_eq!(ready, Some(vec![0]), "a pollable taken after close is ready");
    assert!(p.try_wait_closed_server(&server).await.unwrap());
    p.drop_pollable(after).unwrap();
    p.drop_server(server).await.unwrap();
}
