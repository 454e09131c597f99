//! start-server, accept, and a served connection; asyncio's Server's lifecycle:
//! `start-serving` later, several accepts at once, `close` ending a waiting accept,
//! `close-clients`, `abort-clients`, `wait-closed`.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use host::provider_async::bindings::wasi::sockets::types::IpSocketAddress;
use host::provider_async::{Error, ServerOptions};

use super::{ok, provider};
use crate::support::{peer, within};

/// The loopback address of a server's first socket.
fn address_of(sockets: &[IpSocketAddress]) -> SocketAddr {
    match sockets.first() {
        Some(IpSocketAddress::Ipv4(a)) => SocketAddr::from(([127, 0, 0, 1], a.port)),
        other => panic!("expected a 127.0.0.1 socket, got {other:?}"),
    }
}

fn serving_later() -> ServerOptions {
    ServerOptions {
        limit: None,
        backlog: None,
        start_serving: Some(false),
        ssl: None,
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

async fn connect(address: SocketAddr) -> TcpStream {
    within("connect to the provider's server", TcpStream::connect(address)).await.unwrap()
}

#[tokio::test]
async fn a_server_accepts_reads_writes_and_closes() {
    let mut p = provider().await;
    let (server, port) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?)?;
            let sockets = api.server().call_sockets(acc, server).await?;
            let port = match sockets[0] {
                host::provider_async::bindings::wasi::sockets::types::IpSocketAddress::Ipv4(a) => a.port,
                _ => unreachable!("bound to 127.0.0.1"),
            };
            Ok((server, port))
        })
        .await
        .unwrap()
        .unwrap();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let native = tokio::spawn(async move {
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket.write_all(b"hi\n").await.unwrap();
        peer::read_to_end(&mut socket).await
    });
    let line = within(
        "accept, readline, write, close",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<u8>> {
            let (reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
            let line = ok(api.reader().call_readline(acc, reader).await?)?;
            ok(api.writer().call_write(acc, writer, b"bye\n".to_vec()).await?)?;
            api.writer().call_close(acc, writer).await?;
            ok(api.writer().call_wait_closed(acc, writer).await?)?;
            Ok(line)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"hi\n");
    assert_eq!(within("the client's read", native).await.unwrap(), b"bye\n");
}

#[tokio::test]
async fn start_serving_false_binds_refuses_and_serves_once_started() {
    let mut p = provider().await;
    let (server, address, serving, refused_accept) = p
        .run(async move |acc, api| -> wasmtime::Result<_> {
            let server =
                ok(api.call_start_server(acc, "127.0.0.1".into(), 0, Some(serving_later())).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            let serving = api.server().call_is_serving(acc, server).await?;
            let refused_accept = api.server().call_accept(acc, server).await?.map(|_| ());
            Ok((server, address, serving, refused_accept))
        })
        .await
        .unwrap()
        .unwrap();
    assert!(!serving);
    assert!(matches!(refused_accept, Err(Error::InvalidArgument(_))), "{refused_accept:?}");
    let refused = TcpStream::connect(address).await;
    assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused, "bound, not listening");
    let (serving, line) = within(
        "start-serving, then accept",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            ok(api.server().call_start_serving(acc, server).await?)?;
            let serving = api.server().call_is_serving(acc, server).await?;
            let client = tokio::spawn(async move {
                let mut socket = connect(address).await;
                socket.write_all(b"late\n").await.unwrap();
                socket
            });
            let (reader, _writer) = ok(api.server().call_accept(acc, server).await?)?;
            let line = ok(api.reader().call_readline(acc, reader).await?)?;
            drop(client.await.unwrap());
            Ok((serving, line))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(serving);
    assert_eq!(line, b"late\n");
}

#[tokio::test]
async fn several_accepts_wait_at_once_and_close_ends_a_waiting_one() {
    let mut p = provider().await;
    let (mut lines, third) = within(
        "two accepts at once, two clients; a third accept, close",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            let servers = api.server();
            let serve_one = async || -> wasmtime::Result<Vec<u8>> {
                let (reader, _writer) = ok(servers.call_accept(acc, server).await?)?;
                ok(api.reader().call_readline(acc, reader).await?)
            };
            // Both accepts are called before any client connects (join polls in order).
            let clients = async {
                let mut sockets = Vec::new();
                for name in ["a", "b"] {
                    let mut socket = connect(address).await;
                    socket.write_all(format!("{name}\n").as_bytes()).await.unwrap();
                    sockets.push(socket);
                }
                sockets
            };
            let ((first, second), _sockets) =
                futures::join!(futures::future::join(serve_one(), serve_one()), clients);
            let (third, closed) =
                futures::join!(servers.call_accept(acc, server), servers.call_close(acc, server));
            closed?;
            Ok((vec![first?, second?], third?.map(|_| ())))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    lines.sort();
    assert_eq!(lines, [b"a\n".to_vec(), b"b\n".to_vec()], "each connection to one accept");
    assert!(matches!(third, Err(Error::InvalidArgument(_))), "close ends the waiting accept: {third:?}");
}

/// `close-clients` closes every accepted connection after its queued bytes; after
/// `close`, `wait-closed` returns once they are all closed.
#[tokio::test]
async fn close_clients_delivers_what_is_queued_then_wait_closed_returns() {
    let mut p = provider().await;
    let received = within(
        "two clients, close-clients, close, wait-closed",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            let clients = tokio::spawn(async move {
                let mut received = Vec::new();
                for _ in 0..2 {
                    let mut socket = connect(address).await;
                    received.push(tokio::spawn(async move { peer::read_to_end(&mut socket).await }));
                }
                received
            });
            for n in 0..2 {
                let (_reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
                ok(api.writer().call_write(acc, writer, format!("bye {n}\n").into_bytes()).await?)?;
            }
            api.server().call_close_clients(acc, server).await?;
            api.server().call_close(acc, server).await?;
            api.server().call_wait_closed(acc, server).await?;
            let mut received_all = Vec::new();
            for client in clients.await.unwrap() {
                received_all.push(client.await.unwrap());
            }
            Ok(received_all)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let mut received: Vec<String> = received.into_iter().map(|r| String::from_utf8(r).unwrap()).collect();
    received.sort();
    assert_eq!(received, ["bye 0\n", "bye 1\n"], "the queued bytes, then EOF");
}

/// `abort-clients` closes at once and drops what is queued: a client that reads only
/// afterwards gets less than was written, then the end.
#[tokio::test]
async fn abort_clients_drops_what_is_queued() {
    const QUEUED: usize = 16 << 20; // far more than the kernel's buffers take at once
    let mut p = provider().await;
    let (closing, got) = within(
        "a client that does not read, 16 MiB queued, abort-clients",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, None).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            let servers = api.server();
            let (socket, accepted) = futures::join!(connect(address), servers.call_accept(acc, server));
            let (_reader, writer) = ok(accepted?)?;
            ok(api.writer().call_write(acc, writer, vec![7; QUEUED]).await?)?;
            api.server().call_abort_clients(acc, server).await?;
            let closing = api.writer().call_is_closing(acc, writer).await?;
            api.server().call_close(acc, server).await?;
            api.server().call_wait_closed(acc, server).await?;
            let mut socket = socket;
            let mut got = 0usize;
            let mut buf = vec![0; 1 << 16];
            loop {
                match within("the aborted client's read", socket.read(&mut buf)).await {
                    Ok(0) | Err(_) => break, // EOF or reset
                    Ok(n) => got += n,
                }
            }
            Ok((closing, got))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(closing, "an aborted writer is closing");
    assert!(got < QUEUED, "the client got all {got} queued bytes: nothing was dropped");
}

/// As in asyncio, `limit` 0 is not refused by `start-server`: each connection fails as
/// it is accepted and is closed, and `accept` waits on for the next.
#[tokio::test]
async fn with_limit_0_each_connection_is_closed_as_it_is_accepted() {
    let mut p = provider().await;
    let (accepted, received) = within(
        "a client of a limit-0 server, then close",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let limit_0 = ServerOptions { limit: Some(0), start_serving: None, ..serving_later() };
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, Some(limit_0)).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            let servers = api.server();
            let (accepted, received) = futures::join!(servers.call_accept(acc, server), async {
                let mut socket = connect(address).await;
                let received = peer::read_to_end(&mut socket).await;
                servers.call_close(acc, server).await.map(|()| received)
            });
            Ok((accepted?.map(|_| ()), received?))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(received, b"", "the connection is closed");
    assert!(matches!(accepted, Err(Error::InvalidArgument(_))), "accept waited on until close: {accepted:?}");
}
