//! `writer` through the 0.2.0 WIT, the 0.1.0 suite's cases (tests/wit_provider/writer.rs)
//! with each try-* + subscribe form as the async call: write, drain and its back-pressure,
//! write-eof, close, wait-closed, the addresses and the write buffer limits.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use host::provider_async::bindings::wasi::sockets::types::IpSocketAddress;
use host::provider_async::Error;

use super::conn::{assert_err, connect, connected, text, Conn};
use crate::support::{peer, within};

const MIB: usize = 1 << 20;

#[tokio::test]
async fn write_writelines_and_drain_deliver() {
    let (mut c, mut socket) = connected(None).await;
    c.write(b"hello ").await.unwrap();
    c.writelines(&[b"wor", b"ld\n"]).await.unwrap();
    c.drain().await.unwrap();
    // The provider sends while it runs.
    let received = c.run("the peer reads", async move |_, _| Ok(peer::read_n(&mut socket, 12).await)).await;
    assert_eq!(text(&received), "hello world\n");
    c.drain().await.unwrap();
    assert!(c.can_write_eof().await);
    assert!(!c.is_closing().await);
}

#[tokio::test]
async fn drain_waits_while_the_peer_does_not_read_and_ends_once_it_reads() {
    const TOTAL: usize = 24 * MIB;
    let (mut c, mut socket) = connected(None).await;
    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(MIB) {
        c.write(chunk).await.unwrap();
    }
    // More than the kernel's buffers hold: drain waits as long as the peer does not read.
    let w = c.w;
    let waited = c
        .run("drain against a peer that does not read", async move |acc, api| {
            let writers = api.writer();
            let drain = writers.call_drain(acc, w);
            let timer = tokio::time::sleep(Duration::from_millis(500));
            Ok(tokio::select! { _ = drain => false, _ = timer => true })
        })
        .await;
    assert!(waited, "drain returned although 24 MiB cannot all be in the kernel");
    let queued = c.write_buffer_size().await;
    assert!(queued > 65536, "queued {queued}");
    // The peer reads late; a new drain ends once the queue is under the low mark.
    let reader = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut received = vec![0; TOTAL];
        within("the peer reads everything", socket.read_exact(&mut received)).await.unwrap();
        (socket, received)
    });
    c.drain().await.unwrap();
    // The rest goes while the provider runs: keep it running until the peer has it all.
    let (_socket, received) = c.run("flush to the peer", async move |_, _| Ok(reader.await.unwrap())).await;
    assert!(received == data, "the peer received other bytes");
}

#[tokio::test]
async fn write_eof_half_closes_and_the_peer_can_still_send() {
    let (mut c, mut socket) = connected(None).await;
    c.write(b"request").await.unwrap();
    c.write_eof().await.unwrap();
    c.write_eof().await.unwrap(); // idempotent
    let peer_task = tokio::spawn(async move {
        let request = peer::read_to_end(&mut socket).await;
        socket.write_all(b"reply\n").await.unwrap();
        request
    });
    assert_eq!(text(&c.readline().await.unwrap()), "reply\n");
    assert_eq!(text(&peer_task.await.unwrap()), "request");
    // write after write-eof is `closed`.
    assert_err(c.write(b"more").await, |e| matches!(e, Error::Closed));
    assert_err(c.writelines(&[b"more"]).await, |e| matches!(e, Error::Closed));
}

#[tokio::test]
async fn close_delivers_what_is_queued_and_wait_closed_returns() {
    let (mut c, mut socket) = connected(None).await;
    c.write(b"last words").await.unwrap();
    c.close().await;
    c.close().await; // idempotent
    assert!(c.is_closing().await);
    c.wait_closed().await.unwrap();
    assert_eq!(text(&peer::read_to_end(&mut socket).await), "last words");
    c.wait_closed().await.unwrap(); // again: at once

    // wait-closed started before the queue is out.
    let (r, w, mut socket) = connect(&mut c.p, None).await;
    let mut c = Conn { p: c.p, r, w };
    c.write(b"bye").await.unwrap();
    c.close().await;
    let (closed, received) = c
        .run("wait-closed while the peer reads", async move |acc, api| {
            let writers = api.writer();
            let (closed, received) =
                futures::join!(writers.call_wait_closed(acc, w), peer::read_to_end(&mut socket));
            Ok((closed?, received))
        })
        .await;
    closed.unwrap();
    assert_eq!(text(&received), "bye");
}

#[tokio::test]
async fn drain_after_close_is_connection_lost_and_later_writes_are_dropped() {
    let (mut c, _socket) = connected(None).await;
    c.close().await;
    assert_err(c.drain().await, |e| matches!(e, Error::ConnectionReset));
    c.wait_closed().await.unwrap();
    // write after a local close drops the data and returns ok, as asyncio does.
    c.write(b"dropped").await.unwrap();
}

fn address(a: IpSocketAddress) -> std::net::SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            std::net::SocketAddr::from(([x, y, z, w], a.port))
        }
        other => panic!("expected IPv4, got {other:?}"),
    }
}

#[tokio::test]
async fn peername_and_sockname_outlive_the_connection() {
    let (mut c, socket) = connected(None).await;
    let peername = address(c.peername().await.unwrap());
    let sockname = address(c.sockname().await.unwrap());
    assert_eq!(peername, socket.local_addr().unwrap());
    assert_eq!(sockname, socket.peer_addr().unwrap());
    c.close().await;
    c.wait_closed().await.unwrap();
    assert_eq!(address(c.peername().await.unwrap()), peername);
    assert_eq!(address(c.sockname().await.unwrap()), sockname);
}

#[tokio::test]
async fn write_buffer_limits_follow_asyncio() {
    let (mut c, _socket) = connected(None).await;
    async fn get(c: &mut Conn) -> (u64, u64) {
        let l = c.write_buffer_limits().await;
        (l.low, l.high)
    }
    assert_eq!(get(&mut c).await, (16384, 65536));
    c.set_write_buffer_limits(Some(100), None).await.unwrap();
    assert_eq!(get(&mut c).await, (25, 100));
    c.set_write_buffer_limits(None, Some(10)).await.unwrap();
    assert_eq!(get(&mut c).await, (10, 40));
    c.set_write_buffer_limits(Some(8), Some(2)).await.unwrap();
    assert_eq!(get(&mut c).await, (2, 8));
    c.set_write_buffer_limits(None, None).await.unwrap();
    assert_eq!(get(&mut c).await, (16384, 65536));
    assert_err(
        c.set_write_buffer_limits(Some(1), Some(2)).await,
        |e| matches!(e, Error::InvalidArgument(m) if m == "high (1) must be >= low (2) must be >= 0"),
    );
    assert_eq!(get(&mut c).await, (16384, 65536), "unchanged by the failed call");
}
