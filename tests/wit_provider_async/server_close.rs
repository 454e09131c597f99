//! `server.close` and the connections taken in before it: as asyncio's loop does, the
//! provider takes connections in as they come (a backlog's worth ahead of `accept`), so
//! that `close` stops listening and leaves them to `accept` (the 0.1.0 provider takes in
//! what the system completed as it closes); over TLS, a connection still in its handshake
//! at `close` is returned once the handshake completes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use host::provider_async::bindings::wasi::sockets::types::IpSocketAddress;
use host::provider_async::{Error, ServerOptions};

use super::{ok, provider};
use crate::support::certs::{localhost, TestPki};
use crate::support::within;

const MIB: usize = 1024 * 1024;

fn address_of(sockets: &[IpSocketAddress]) -> SocketAddr {
    match sockets.first() {
        Some(IpSocketAddress::Ipv4(a)) => SocketAddr::from(([127, 0, 0, 1], a.port)),
        other => panic!("expected a 127.0.0.1 socket, got {other:?}"),
    }
}

fn options(
    limit: Option<u64>,
    ssl: Option<host::provider_async::bindings::exports::wasio::streams::types::TlsServerConfig>,
) -> ServerOptions {
    ServerOptions {
        limit,
        backlog: None,
        start_serving: None,
        ssl,
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

/// A client writes 16 MiB before any `accept`: more than the kernel holds for a
/// connection nobody took (about 4 MiB here), so its write completes only because the
/// provider took the connection in and reads it (limit 8 MiB: paused at 16 MiB). Then
/// `close`: `accept` still returns that connection, with every byte, and only then says
/// the server is not serving; a new client is refused.
#[tokio::test]
async fn close_leaves_a_connection_taken_in_before_it_to_accept() {
    const SENT: usize = 16 * MIB;
    let data: Vec<u8> = (0..SENT).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let mut p = provider().await;
    let (received, after_close, address) = within(
        "a client's 16 MiB taken in before any accept; close; accept it and read it all",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let options = options(Some(8 * MIB as u64), None);
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, Some(options)).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            // No call in flight: the provider's accept task takes the connection in.
            let mut client = TcpStream::connect(address).await.unwrap();
            client.write_all(&data).await.unwrap();
            client.shutdown().await.unwrap();
            api.server().call_close(acc, server).await?;
            let (reader, _writer) = ok(api.server().call_accept(acc, server).await?)?;
            let mut received = Vec::with_capacity(SENT);
            loop {
                let chunk = ok(api.reader().call_read(acc, reader, MIB as i64).await?)?;
                if chunk.is_empty() {
                    break;
                }
                received.extend_from_slice(&chunk);
            }
            let after_close = api.server().call_accept(acc, server).await?.map(|_| ());
            Ok((received, after_close, address))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(received.len(), SENT, "every byte of the connection taken in before close");
    assert!(received == expected, "the bytes in order");
    assert!(matches!(after_close, Err(Error::InvalidArgument(_))), "then not serving: {after_close:?}");
    let refused = TcpStream::connect(address).await;
    assert!(refused.is_err(), "no longer listening");
}

/// Over TLS, a client whose handshake the provider completed before `close` (the client
/// sees it complete only if the provider took it in) and one whose handshake is still under
/// way at `close` (its Finished is held back until after): `accept` returns both after
/// `close`, and each is served.
#[tokio::test]
async fn close_leaves_tls_connections_taken_in_and_in_their_handshake_to_accept() {
    let pki = Arc::new(TestPki::new());
    let mut p = provider().await;
    let ssl = super::tls::server_config(&pki);
    let (lines, mut done, late) = within(
        "a TLS client served before close, one in its handshake at close; accept both",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let options = options(None, Some(ssl));
            let server = ok(api.call_start_server(acc, "127.0.0.1".into(), 0, Some(options)).await?)?;
            let address = address_of(&api.server().call_sockets(acc, server).await?);
            let connector = TlsConnector::from(pki.client_config());
            // No call in flight: the provider takes it in and completes its handshake.
            let socket = TcpStream::connect(address).await.unwrap();
            let mut done =
                connector.connect(localhost(), socket).await.expect("a handshake before any accept");
            done.write_all(b"first\n").await.unwrap();
            done.flush().await.unwrap();
            // The second client's handshake: the provider answers its ClientHello (so it
            // took the connection in), and the client's next flight is held until after
            // close.
            let (release, released) = tokio::sync::oneshot::channel::<()>();
            let (answered_tx, answered) = tokio::sync::oneshot::channel::<()>();
            let late = tokio::spawn(async move {
                let socket = TcpStream::connect(address).await.unwrap();
                let stalled = StalledAfterHello {
                    socket,
                    hello_written: false,
                    answered: Some(answered_tx),
                    released: Some(released),
                };
                let mut tls = connector.connect(localhost(), stalled).await.expect("the late handshake");
                tls.write_all(b"second\n").await.unwrap();
                tls.flush().await.unwrap();
                let mut line = String::new();
                BufReader::new(&mut tls).read_line(&mut line).await.unwrap();
                line
            });
            answered.await.unwrap();
            api.server().call_close(acc, server).await?;
            release.send(()).unwrap();
            let mut lines = Vec::new();
            for _ in 0..2 {
                let (reader, writer) = ok(api.server().call_accept(acc, server).await?)?;
                let line = ok(api.reader().call_readline(acc, reader).await?)?;
                ok(api.writer().call_write(acc, writer, [b"got ".as_slice(), &line].concat()).await?)?;
                ok(api.writer().call_drain(acc, writer).await?)?;
                lines.push(line);
            }
            let after = api.server().call_accept(acc, server).await?.map(|_| ());
            Ok(((lines, after), done, late.await.unwrap()))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let (mut lines, after) = lines;
    lines.sort();
    assert_eq!(lines, [b"first\n".to_vec(), b"second\n".to_vec()], "both returned after close");
    assert!(matches!(after, Err(Error::InvalidArgument(_))), "then not serving: {after:?}");
    assert_eq!(late, "got second\n");
    let mut line = String::new();
    within("the first client's answer", BufReader::new(&mut done).read_line(&mut line)).await.unwrap();
    assert_eq!(line, "got first\n");
}

/// A TCP stream whose writes after the first (the ClientHello) wait for `released`: the
/// client's handshake stays under way at the server until then. The client writes again
/// only once it read the server's answer: `answered` says so.
struct StalledAfterHello {
    socket: TcpStream,
    hello_written: bool,
    answered: Option<tokio::sync::oneshot::Sender<()>>,
    released: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl tokio::io::AsyncRead for StalledAfterHello {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for StalledAfterHello {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.hello_written {
            if let Some(answered) = self.answered.take() {
                let _ = answered.send(());
            }
            // Held until released (a dropped sender releases it too).
            if let Some(released) = self.released.as_mut() {
                if std::pin::Pin::new(released).poll(cx).is_pending() {
                    return std::task::Poll::Pending;
                }
                self.released = None;
            }
        }
        let written = std::pin::Pin::new(&mut self.socket).poll_write(cx, data);
        if matches!(written, std::task::Poll::Ready(Ok(_))) {
            self.hello_written = true;
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}
