//! `reader.into-stream`: the reader becomes a `stream<u8>` that yields what was buffered,
//! then what arrives, every byte in order, ending at EOF; forwarded here with
//! `writer.write-stream` or taken by the host, which may hold back (back-pressure).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wasmtime::component::{Accessor, ResourceAny};

use host::provider_async::{Api, HostState};

use super::host_streams::{check_pattern, deliver, forward_and_close, pattern, take_pattern};
use super::{ok, provider, settled};
use crate::support::{peer, within};

/// Waits until `reader` holds `bytes` in its buffer (polled every 10 ms, at most 5 s): a
/// waiting point, not an assertion; the caller checks what it needs.
async fn wait_until_buffered(
    acc: &Accessor<HostState>,
    api: &Api,
    reader: ResourceAny,
    bytes: u64,
) -> wasmtime::Result<()> {
    for _ in 0..500 {
        if api.reader().call_buffer_size(acc, reader).await? == bytes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

const MIB: usize = 1 << 20;

/// A native peer that sends the pattern from `from` to `to`, `sent` counting, then FIN.
async fn send_pattern(socket: &mut tokio::net::TcpStream, from: usize, to: usize, sent: &AtomicU64) {
    const CHUNK: usize = 100_003; // not a power of two: chunk borders fall everywhere
    let mut at = from;
    while at < to {
        let len = CHUNK.min(to - at);
        socket.write_all(&pattern(at as u64, len)).await.unwrap();
        at += len;
        sent.store(at as u64, Ordering::SeqCst);
    }
}

/// A native peer that reads to EOF: the bytes.
fn receive_all(listener: TcpListener) -> tokio::task::JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        peer::read_to_end(&mut socket).await
    })
}

#[tokio::test]
async fn eight_mib_go_from_into_stream_to_write_stream_with_every_byte_checked() {
    const TOTAL: usize = 8 * MIB;
    let (from_listener, from_address) = peer::listener().await;
    let (to_listener, to_address) = peer::listener().await;
    let source = tokio::spawn(async move {
        let mut socket = peer::accept(&from_listener).await;
        send_pattern(&mut socket, 0, TOTAL, &AtomicU64::new(0)).await;
        socket.shutdown().await.unwrap();
        socket
    });
    let sink = receive_all(to_listener);
    let mut p = provider().await;
    let (from_port, to_port) = (from_address.port(), to_address.port());
    let (taken, ended) = within(
        "8 MiB through into-stream and write-stream",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, _) = ok(api.call_open_connection(acc, "127.0.0.1".into(), from_port, None).await?)?;
            let (_, writer) = ok(api.call_open_connection(acc, "127.0.0.1".into(), to_port, None).await?)?;
            let bulk = ok(api.reader().call_into_stream(acc, reader).await?)?;
            forward_and_close(acc, api, bulk, writer).await
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(taken, TOTAL as u64, "write-stream's count");
    assert!(ended.is_ok(), "the bulk read ends well at EOF: {ended:?}");
    let data = within("the forwarded bytes", sink).await.unwrap();
    assert_eq!(data.len(), TOTAL);
    check_pattern(0, &data).unwrap();
    drop(source.await.unwrap());
}

#[tokio::test]
async fn bytes_buffered_before_into_stream_come_first_and_none_is_lost() {
    const BUFFERED: usize = 5000;
    const LATER: usize = MIB;
    let (from_listener, from_address) = peer::listener().await;
    let (to_listener, to_address) = peer::listener().await;
    let (go, go_rx) = tokio::sync::oneshot::channel::<()>();
    let source = tokio::spawn(async move {
        let mut socket = peer::accept(&from_listener).await;
        let mut first = b"first\n".to_vec();
        first.extend(pattern(0, BUFFERED));
        socket.write_all(&first).await.unwrap();
        // The rest only once the component holds the first part in its buffer.
        within("the go-ahead", go_rx).await.unwrap();
        send_pattern(&mut socket, BUFFERED, BUFFERED + LATER, &AtomicU64::new(0)).await;
        socket.shutdown().await.unwrap();
        socket
    });
    let sink = receive_all(to_listener);
    let mut p = provider().await;
    let (from_port, to_port) = (from_address.port(), to_address.port());
    let (line, taken, ended) = within(
        "readline, then into-stream over a full buffer",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, _) = ok(api.call_open_connection(acc, "127.0.0.1".into(), from_port, None).await?)?;
            let (_, writer) = ok(api.call_open_connection(acc, "127.0.0.1".into(), to_port, None).await?)?;
            let line = ok(api.reader().call_readline(acc, reader).await?)?;
            wait_until_buffered(acc, api, reader, BUFFERED as u64).await?;
            assert_eq!(api.reader().call_buffer_size(acc, reader).await?, BUFFERED as u64);
            let bulk = ok(api.reader().call_into_stream(acc, reader).await?)?;
            go.send(()).unwrap();
            let (taken, ended) = forward_and_close(acc, api, bulk, writer).await?;
            Ok((line, taken, ended))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"first\n");
    assert_eq!(taken, (BUFFERED + LATER) as u64);
    assert!(ended.is_ok(), "{ended:?}");
    let data = within("the forwarded bytes", sink).await.unwrap();
    assert_eq!(data.len(), BUFFERED + LATER, "the buffered bytes and the later ones");
    check_pattern(0, &data).unwrap();
    drop(source.await.unwrap());
}

/// Bytes buffered at the hand-off go out at once, though the reading task had a socket
/// read in flight and the peer sends nothing more until they came back (an echo client):
/// they must not wait for the peer's next bytes.
#[tokio::test]
async fn buffered_bytes_go_out_at_once_while_the_peer_waits_for_them() {
    let (from_listener, from_address) = peer::listener().await;
    let (to_listener, to_address) = peer::listener().await;
    let (echoed, echoed_rx) = tokio::sync::oneshot::channel::<()>();
    let source = tokio::spawn(async move {
        let mut socket = peer::accept(&from_listener).await;
        socket.write_all(b"hello\nworld").await.unwrap();
        // Nothing more, no FIN, until "world" went through.
        echoed_rx.await.unwrap();
        socket.shutdown().await.unwrap();
        socket
    });
    let sink = tokio::spawn(async move {
        let mut socket = peer::accept(&to_listener).await;
        let first =
            within("the buffered bytes, forwarded while the peer waits", peer::read_n(&mut socket, 5)).await;
        echoed.send(()).unwrap();
        let rest = peer::read_to_end(&mut socket).await;
        (first, rest)
    });
    let mut p = provider().await;
    let (from_port, to_port) = (from_address.port(), to_address.port());
    let (line, taken, ended) = within(
        "readline, into-stream over 5 buffered bytes, write-stream",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, _) = ok(api.call_open_connection(acc, "127.0.0.1".into(), from_port, None).await?)?;
            let (_, writer) = ok(api.call_open_connection(acc, "127.0.0.1".into(), to_port, None).await?)?;
            let line = ok(api.reader().call_readline(acc, reader).await?)?;
            wait_until_buffered(acc, api, reader, 5).await?;
            // The reading task has its next socket read in flight by now.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let bulk = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let (taken, ended) = forward_and_close(acc, api, bulk, writer).await?;
            Ok((line, taken, ended))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(line, b"hello\n");
    assert_eq!(taken, 5);
    assert!(ended.is_ok(), "{ended:?}");
    let (first, rest) = within("the sink", sink).await.unwrap();
    assert_eq!(first, b"world");
    assert!(rest.is_empty(), "{rest:?}");
    drop(source.await.unwrap());
}

/// The peer's bytes and FIN arrive together: whether the reading task saw EOF before
/// `into-stream` or after, the stream yields the rest and ends well.
#[tokio::test]
async fn into_stream_at_eof_yields_the_rest_and_ends_well() {
    const TOTAL: usize = 3000;
    let (listener, address) = peer::listener().await;
    let source = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        socket.write_all(&pattern(0, TOTAL)).await.unwrap();
        socket.shutdown().await.unwrap();
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let (taken, ended) = within(
        "into-stream at EOF",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, _) = ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            assert_eq!(ok(api.reader().call_readexactly(acc, reader, 1).await?)?, pattern(0, 1));
            let (stream, end) = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let ended = deliver(acc, end);
            let taken = take_pattern(acc, stream, 1, true).done.await?;
            Ok((taken, ended.await?))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(taken, Ok(TOTAL as u64 - 1));
    assert!(ended.is_ok(), "{ended:?}");
    drop(source.await.unwrap());
}

/// A reader paused at 2 x limit (the peer sent far more than the limit) hands over its
/// full buffer, and the hand-off resumes reading: every byte arrives, in order.
#[tokio::test]
async fn a_paused_reader_hands_over_and_reading_resumes() {
    const TOTAL: usize = 4 * MIB;
    const LIMIT: u64 = 16 * 1024;
    let (listener, address) = peer::listener().await;
    let source = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        send_pattern(&mut socket, 0, TOTAL, &AtomicU64::new(0)).await;
        socket.shutdown().await.unwrap();
        socket
    });
    let mut p = provider().await;
    let port = address.port();
    let (buffered, taken, ended) = within(
        "into-stream of a paused reader",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let options = host::provider_async::ConnectOptions {
                limit: Some(LIMIT),
                local_address: None,
                happy_eyeballs_delay_ms: None,
                timeout_ms: None,
                ssl: None,
                server_hostname: None,
                ssl_handshake_timeout_ms: None,
                ssl_shutdown_timeout_ms: None,
            };
            let (reader, _) =
                ok(api.call_open_connection(acc, "127.0.0.1".into(), port, Some(options)).await?)?;
            // Paused once over 2 x limit; the buffer then stops growing.
            for _ in 0..500 {
                if api.reader().call_buffer_size(acc, reader).await? > 2 * LIMIT {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let buffered = api.reader().call_buffer_size(acc, reader).await?;
            let (stream, end) = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let ended = deliver(acc, end);
            let taken = take_pattern(acc, stream, 0, true).done.await?;
            Ok((buffered, taken, ended.await?))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(buffered > 2 * LIMIT && buffered < TOTAL as u64, "paused with {buffered} buffered");
    assert_eq!(taken, Ok(TOTAL as u64));
    assert!(ended.is_ok(), "{ended:?}");
    drop(source.await.unwrap());
}

/// A host that does not read the stream: the provider stops reading the socket (the
/// peer's sends stall) and its memory does not grow with what the peer offers; once the
/// host reads, every byte arrives.
#[tokio::test]
async fn a_stream_nobody_reads_stops_the_socket_not_the_memory() {
    const TOTAL: usize = 32 * MIB;
    let (listener, address) = peer::listener().await;
    let sent = Arc::new(AtomicU64::new(0));
    let source = tokio::spawn({
        let sent = sent.clone();
        async move {
            let mut socket = peer::accept(&listener).await;
            send_pattern(&mut socket, 0, TOTAL, &sent).await;
            socket.shutdown().await.unwrap();
            socket
        }
    });
    let mut p = provider().await;
    let port = address.port();
    let (stalled_at, taken, ended) = within(
        "a held-back stream, then read",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (reader, _) = ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            let (stream, end) = ok(api.reader().call_into_stream(acc, reader).await?)?;
            let ended = deliver(acc, end);
            let taking = take_pattern(acc, stream, 0, false);
            let stalled_at = settled(&sent).await;
            assert_eq!(taking.taken.load(Ordering::SeqCst), 0, "held back");
            taking.gate.open();
            let taken = taking.done.await?;
            Ok((stalled_at, taken, ended.await?))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(stalled_at < (TOTAL / 2) as u64, "the peer's sends stalled at {stalled_at} of {TOTAL} bytes");
    assert_eq!(taken, Ok(TOTAL as u64), "every byte, in order, once read");
    assert!(ended.is_ok(), "{ended:?}");
    let memory = p.linear_memory();
    assert!(memory < 16 * MIB, "the provider's memory grew to {memory} bytes");
    drop(source.await.unwrap());
}
