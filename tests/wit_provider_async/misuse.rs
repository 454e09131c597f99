//! Misuse and drop order through the 0.2.0 WIT, the 0.1.0 suite's cases
//! (tests/wit_provider/misuse.rs): never a trap, and the instance stays usable. (The
//! pollable cases do not exist in 0.2.0: there are no pollables.)

use tokio::io::AsyncWriteExt;

use host::provider_async::Error;

use super::conn::{assert_err, connect, connected, drop_resource, still_usable, text, Conn};
use super::provider;
use crate::support::{peer, within};

const MIB: usize = 1 << 20;

#[tokio::test]
async fn dropping_the_reader_before_the_writer() {
    let (mut c, mut socket) = connected(None).await;
    c.drop_reader().await;
    c.write(b"after reader drop\n").await.unwrap();
    c.drain().await.unwrap();
    let got =
        c.run("the peer reads", async move |_, _| Ok((peer::read_n(&mut socket, 18).await, socket))).await;
    let (line, mut socket) = got;
    assert_eq!(text(&line), "after reader drop\n");
    c.drop_writer().await;
    // EOF once both are gone.
    let eof = c.run("EOF", async move |_, _| Ok(peer::read_to_end(&mut socket).await)).await;
    assert_eq!(text(&eof), "");
    still_usable(&mut c.p).await;
}

#[tokio::test]
async fn dropping_the_writer_before_the_reader() {
    let (mut c, mut socket) = connected(None).await;
    socket.write_all(b"early\nlate\n").await.unwrap();
    c.settle().await;
    c.drop_writer().await;
    // The reader outlives the writer, with what it had buffered.
    assert_eq!(text(&c.readline().await.unwrap()), "early\n");
    let _ = c.at_eof().await;
    let _ = c.exception().await;
    let _ = c.readline().await;
    c.drop_reader().await;
    still_usable(&mut c.p).await;
}

#[tokio::test]
async fn dropping_a_server_keeps_its_clients() {
    let mut p = provider().await;
    let (server, port) = within(
        "start-server",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let server =
                api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?.expect("start-server");
            let port = match api.server().call_sockets(acc, server).await?[0] {
                host::provider_async::bindings::wasi::sockets::types::IpSocketAddress::Ipv4(a) => a.port,
                _ => unreachable!("bound to 127.0.0.1"),
            };
            Ok((server, port))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (r, w) = within("accept", p.run(async move |acc, api| api.server().call_accept(acc, server).await))
        .await
        .unwrap()
        .unwrap()
        .expect("accept");
    drop_resource(&mut p, server).await;
    let mut c = Conn { p, r, w };
    client.write_all(b"still here\n").await.unwrap();
    assert_eq!(text(&c.readline().await.unwrap()), "still here\n");
    c.write(b"me too\n").await.unwrap();
    c.drain().await.unwrap();
    let answer = c.run("the client reads", async move |_, _| Ok(peer::read_n(&mut client, 7).await)).await;
    assert_eq!(text(&answer), "me too\n");
    still_usable(&mut c.p).await;
}

#[tokio::test]
async fn calls_after_close_return_errors_or_empty_results() {
    let (mut c, mut socket) = connected(None).await;
    c.close().await;
    c.wait_closed().await.unwrap();
    assert_eq!(text(&peer::read_to_end(&mut socket).await), "");
    // Writer calls.
    c.write(b"x").await.unwrap();
    c.writelines(&[b"y"]).await.unwrap();
    assert_err(c.drain().await, |e| matches!(e, Error::ConnectionReset));
    let _ = c.write_eof().await;
    c.abort().await;
    c.close().await;
    assert!(c.is_closing().await);
    c.wait_closed().await.unwrap();
    c.set_write_buffer_limits(Some(10), None).await.unwrap();
    assert_eq!(c.write_buffer_size().await, 0);
    // Reader calls: the local close ends the stream (asyncio feeds EOF on connection_lost).
    let read = c.read(10).await;
    assert!(matches!(&read, Ok(d) if d.is_empty()) || read.is_err(), "{read:?}");
    let _ = c.readline().await;
    let _ = c.at_eof().await;
    let _ = c.exception().await;
    let _ = c.buffer_size().await;
    c.drop_writer().await;
    c.drop_reader().await;
    // Server calls after close.
    let outcome = c
        .run("server calls after close", async move |acc, api| {
            let servers = api.server();
            let server =
                api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?.expect("start-server");
            servers.call_close(acc, server).await?;
            servers.call_close(acc, server).await?;
            servers.call_close_clients(acc, server).await?;
            servers.call_abort_clients(acc, server).await?;
            let sockets = servers.call_sockets(acc, server).await?;
            let serving = servers.call_is_serving(acc, server).await?;
            let started = servers.call_start_serving(acc, server).await?;
            let accepted = servers.call_accept(acc, server).await?.map(drop);
            servers.call_wait_closed(acc, server).await?;
            Ok((sockets.is_empty(), serving, started, accepted, server))
        })
        .await;
    let (no_sockets, serving, started, accepted, server) = outcome;
    assert!(no_sockets && !serving);
    assert_err(started, |e| matches!(e, Error::Closed));
    assert_err(accepted, |e| matches!(e, Error::InvalidArgument(_)));
    drop_resource(&mut c.p, server).await;
    still_usable(&mut c.p).await;
}

#[tokio::test]
async fn dropping_a_writer_with_unsent_data_still_delivers_it() {
    const TOTAL: usize = 24 * MIB;
    let (mut c, socket) = connected(None).await;
    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(MIB) {
        c.write(chunk).await.unwrap();
    }
    c.settle().await;
    assert!(c.write_buffer_size().await > 0, "something must still be queued");
    c.drop_writer().await;
    c.drop_reader().await;
    // The peer reads everything, then EOF, while the provider runs on another connection.
    let (r2, w2, mut socket2) = connect(&mut c.p, None).await;
    let mut c2 = Conn { p: c.p, r: r2, w: w2 };
    let first = tokio::spawn(async move {
        let mut socket = socket;
        let received = peer::read_to_end(&mut socket).await;
        socket2.write_all(b"done\n").await.unwrap();
        (received, socket2)
    });
    assert_eq!(text(&c2.readline().await.unwrap()), "done\n");
    let (received, _socket2) = first.await.unwrap();
    assert_eq!(received.len(), TOTAL);
    assert!(received == data, "the peer received other bytes");
    still_usable(&mut c2.p).await;
}

#[tokio::test]
async fn an_empty_separator_is_invalid_argument_and_consumes_nothing() {
    let (mut c, mut socket) = connected(None).await;
    socket.write_all(b"data\n").await.unwrap();
    c.settle().await;
    let invalid = |e: &Error| matches!(e, Error::InvalidArgument(_));
    assert_err(c.readuntil(b"").await, invalid);
    assert_err(c.readuntil_any(&[]).await, invalid);
    assert_err(c.readuntil_any(&[b"\n", b""]).await, invalid);
    assert_eq!(c.buffer_size().await, 5);
    assert_eq!(text(&c.readline().await.unwrap()), "data\n");
    still_usable(&mut c.p).await;
}
