//! Concurrent calls from one consumer all make progress.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{ok, provider};
use crate::support::{peer, within};

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
