//! The 0.2.0 provider (`streams-provider-async.wasm`, wasio:streams@0.2.0 over WASI 0.3)
//! called with the host's typed concurrent calls ([`host::provider_async`]), against
//! native peers over real loopback TCP: concurrent calls from one consumer all progress
//! (a read and a write on one connection, 200 connections at once), asyncio's errors come
//! back as values, and what wasmtime 48 does with a call future the host drops.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use host::provider_async::{AsyncProvider, Error};
use host::NetworkPolicy;

use crate::support::{component, peer, within};

async fn provider() -> AsyncProvider {
    AsyncProvider::instantiate(&component("streams-provider-async"), NetworkPolicy::loopback_only())
        .await
        .expect("instantiate the 0.2.0 provider")
}

/// A stream operation's own error as a test failure.
fn ok<T>(result: Result<T, Error>) -> wasmtime::Result<T> {
    result.map_err(|error| wasmtime::Error::msg(format!("stream error: {error:?}")))
}

#[tokio::test]
async fn a_readline_waits_while_a_write_and_drain_on_its_connection_complete() {
    let (listener, address) = peer::listener().await;
    let native = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        // The component's write arrives while its readline is pending; only then answer.
        assert_eq!(peer::read_n(&mut socket, 6).await, b"hello\n");
        socket.write_all(b"world\n").await.unwrap();
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let line = within(
        "readline ‖ write + drain",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<u8>> {
            let (reader, writer) = ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            let (readers, writers) = (api.reader(), api.writer());
            let (line, written) = futures::join!(readers.call_readline(acc, reader), async {
                ok(writers.call_write(acc, writer, b"hello\n".to_vec()).await?)?;
                ok(writers.call_drain(acc, writer).await?)
            });
            written?;
            ok(line?)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"world\n");
    drop(native.await.unwrap());
}

#[tokio::test]
async fn two_hundred_connections_from_one_consumer_all_progress() {
    const CONNECTIONS: usize = 200;
    let (listener, address) = peer::listener().await;
    // The peer answers each connection only after it has heard from every one of them,
    // so no readline can complete unless all 200 are in flight at once.
    let native = tokio::spawn(async move {
        let mut sockets = Vec::new();
        for _ in 0..CONNECTIONS {
            let socket = peer::accept(&listener).await;
            let mut socket = BufReader::new(socket);
            let mut hello = String::new();
            within("the component's hello", socket.read_line(&mut hello)).await.unwrap();
            let id: usize = hello.trim().strip_prefix("hello ").unwrap().parse().unwrap();
            sockets.push((id, socket));
        }
        for (id, socket) in sockets.iter_mut().rev() {
            let reply = format!("reply {id} {}\n", "x".repeat(*id * 50));
            socket.get_mut().write_all(reply.as_bytes()).await.unwrap();
        }
        sockets
    });
    let mut p = provider().await;
    let port = address.port();
    let replies = within(
        "200 concurrent readlines",
        p.run(async move |acc, api| -> wasmtime::Result<Vec<(usize, Vec<u8>)>> {
            let calls = (0..CONNECTIONS).map(|id| async move {
                let (reader, writer) =
                    ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
                ok(api.writer().call_write(acc, writer, format!("hello {id}\n").into_bytes()).await?)?;
                ok(api.writer().call_drain(acc, writer).await?)?;
                let line = ok(api.reader().call_readline(acc, reader).await?)?;
                wasmtime::Result::<_>::Ok((id, line))
            });
            futures::future::try_join_all(calls).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(replies.len(), CONNECTIONS);
    for (id, line) in replies {
        let expected = format!("reply {id} {}\n", "x".repeat(id * 50));
        assert!(line == expected.as_bytes(), "connection {id} got {} bytes, not its reply", line.len());
    }
    drop(native.await.unwrap());
}

/// wasmtime 48 does not cancel a guest task when the host drops its `call_*` future: the
/// task runs on, detached (documented on `Func::call_concurrent`; wasmtime#11833). So the
/// dropped readline still waits, a second one is asyncio's one-waiter `busy`, and the line
/// goes to the dropped call. Cancellation that loses nothing needs a guest consumer (a
/// component's dropped future is a `subtask.cancel`), not the host.
#[tokio::test]
async fn a_host_dropped_readline_runs_on_so_a_second_is_busy() {
    let (listener, address) = peer::listener().await;
    let native = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        socket.write_all(b"partial ").await.unwrap(); // no newline: readline waits
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let second = within(
        "readline, dropped, then again",
        p.run(async move |acc, api| -> wasmtime::Result<Result<Vec<u8>, Error>> {
            let (reader, _writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            let readers = api.reader();
            tokio::select! {
                line = readers.call_readline(acc, reader) => panic!("readline completed early: {line:?}"),
                _ = tokio::time::sleep(Duration::from_millis(300)) => {} // drops the call future
            }
            readers.call_readline(acc, reader).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(second, Err(Error::Busy)), "expected busy, got {second:?}");
    drop(native.await.unwrap());
}

#[tokio::test]
async fn readexactly_at_eof_is_incomplete_read_with_the_partial_bytes() {
    let (listener, address) = peer::listener().await;
    let native = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        socket.write_all(b"abc").await.unwrap();
        socket.shutdown().await.unwrap();
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let result = within(
        "readexactly(10) over 3 bytes and EOF",
        p.run(async move |acc, api| -> wasmtime::Result<Result<Vec<u8>, Error>> {
            let (reader, _writer) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            api.reader().call_readexactly(acc, reader, 10).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    match result {
        Err(Error::IncompleteRead(e)) => {
            assert_eq!(e.partial, b"abc");
            assert_eq!(e.expected, Some(10));
        }
        other => panic!("expected incomplete-read, got {other:?}"),
    }
    drop(native.await.unwrap());
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
