//! `writer.write-stream`: a `stream<u8>` written with drain's marks, so a peer that does
//! not read slows the producer instead of filling the provider's memory.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use host::provider_async::Error;

use super::host_streams::{check_pattern, pattern_stream};
use super::{ok, provider, settled};
use crate::support::{peer, within};

const MIB: usize = 1 << 20;

/// A listener whose connections get a small receive buffer (no autotuning up to
/// `tcp_rmem`'s 32 MiB), so an unread connection holds little in the kernel.
fn small_buffer_listener() -> TcpListener {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(128 * 1024).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    socket.listen(16).unwrap();
    socket.set_nonblocking(true).unwrap();
    TcpListener::from_std(socket.into()).unwrap()
}

/// Reads everything, checking the pattern as it comes (not holding 64 MiB).
async fn read_checked(socket: &mut TcpStream) -> u64 {
    let mut buf = vec![0; 256 * 1024];
    let mut at = 0u64;
    loop {
        let n = within("the written bytes", socket.read(&mut buf)).await.unwrap();
        if n == 0 {
            return at;
        }
        check_pattern(at, &buf[..n]).unwrap();
        at += n as u64;
    }
}

/// The peer reads nothing at first: the producer's stream is taken only as far as the
/// kernel's buffers and the high mark allow, and the provider's memory stays small; then
/// the peer reads every byte.
#[tokio::test]
async fn a_peer_that_does_not_read_slows_the_producer_not_the_memory() {
    const TOTAL: u64 = 64 * MIB as u64;
    let listener = small_buffer_listener();
    let port = listener.local_addr().unwrap().port();
    let (read_now, read_now_rx) = tokio::sync::oneshot::channel::<()>();
    let sink = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        within("the go-ahead to read", read_now_rx).await.unwrap();
        read_checked(&mut socket).await
    });
    let mut p = provider().await;
    let (handed_at_stall, queued_at_stall, taken) = within(
        "write-stream to a peer that reads only later",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (_, writer) = ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            let (stream, handed) = pattern_stream(acc, TOTAL, 256 * 1024);
            let writers = api.writer();
            let (taken, stall) = futures::join!(writers.call_write_stream(acc, writer, stream), async {
                let handed_at_stall = settled(&handed).await;
                let queued = writers.call_get_write_buffer_size(acc, writer).await?;
                read_now.send(()).unwrap();
                wasmtime::Result::<_>::Ok((handed_at_stall, queued))
            });
            let (handed_at_stall, queued_at_stall) = stall?;
            let taken = ok(taken?)?;
            writers.call_close(acc, writer).await?;
            ok(writers.call_wait_closed(acc, writer).await?)?;
            Ok((handed_at_stall, queued_at_stall, taken))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        handed_at_stall < TOTAL / 4,
        "the producer got {handed_at_stall} of {TOTAL} bytes taken while the peer read nothing"
    );
    assert!(
        queued_at_stall <= 2 * 64 * 1024,
        "the queue held {queued_at_stall} bytes: over the high mark by more than a chunk"
    );
    assert_eq!(taken, TOTAL);
    assert_eq!(within("the peer's read", sink).await.unwrap(), TOTAL, "every byte, checked");
    let memory = p.linear_memory();
    assert!(memory < 16 * MIB, "the provider's memory grew to {memory} bytes");
}

#[tokio::test]
async fn a_second_write_stream_on_one_writer_is_busy() {
    const TOTAL: u64 = 32 * MIB as u64; // more than the kernel holds: the first stays busy
    let listener = small_buffer_listener();
    let port = listener.local_addr().unwrap().port();
    let (read_now, read_now_rx) = tokio::sync::oneshot::channel::<()>();
    let sink = tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        within("the go-ahead to read", read_now_rx).await.unwrap();
        read_checked(&mut socket).await
    });
    let mut p = provider().await;
    let second = within(
        "two write-streams at once",
        p.run(async move |acc, api| -> wasmtime::Result<_> {
            let (_, writer) = ok(api.call_open_connection(acc, "127.0.0.1".into(), port, None).await?)?;
            let (first, handed) = pattern_stream(acc, TOTAL, 64 * 1024);
            let (other, _) = pattern_stream(acc, 10, 10);
            let writers = api.writer();
            let (first, second) = futures::join!(writers.call_write_stream(acc, writer, first), async {
                for _ in 0..500 {
                    if handed.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                        break; // the first one runs
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let second = writers.call_write_stream(acc, writer, other).await;
                read_now.send(()).unwrap();
                second
            });
            assert_eq!(ok(first?)?, TOTAL);
            writers.call_close(acc, writer).await?;
            ok(writers.call_wait_closed(acc, writer).await?)?; // the guest runs only in `run`
            Ok(second?)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(second, Err(Error::Busy)), "expected busy, got {second:?}");
    assert_eq!(within("the peer's read", sink).await.unwrap(), TOTAL, "the first stream's bytes alone");
}
