//! `reader` through the 0.2.0 WIT, the 0.1.0 suite's cases (tests/wit_provider/reader.rs)
//! with each try-* + subscribe form as the async call: reads, separators, limits, EOF and
//! resets. (readexactly at EOF with the partial bytes is `reads`.)

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use host::provider_async::Error;

use super::conn::{assert_err, connect, connected, incomplete, limit, overrun, text, Conn};
use crate::support::peer;

#[tokio::test]
async fn readline_returns_buffered_lines_then_waits_for_the_rest() {
    let (mut c, mut socket) = connected(None).await;
    socket.write_all(b"line1\nline2\npar").await.unwrap();
    assert_eq!(text(&c.readline().await.unwrap()), "line1\n");
    assert_eq!(text(&c.readline().await.unwrap()), "line2\n");
    assert_eq!(c.buffer_size().await, 3, "the partial line stays buffered");
    // The rest arrives while readline waits.
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        socket.write_all(b"tial\n").await.unwrap();
        socket
    });
    assert_eq!(text(&c.readline().await.unwrap()), "partial\n");
    let _socket = sender.await.unwrap();
    assert_eq!(c.limit().await, 65536);
    assert_eq!(c.read(0).await.unwrap(), b"", "read(0) returns nothing at once");
}

#[tokio::test]
async fn readuntil_and_readuntil_any_take_the_match_that_ends_first() {
    let (mut c, mut socket) = connected(None).await;
    socket.write_all(b"a::b\r\nc|d").await.unwrap();
    assert_eq!(text(&c.readuntil(b"::").await.unwrap()), "a::");
    assert_eq!(text(&c.readuntil_any(&[b"\r\n", b"\n"]).await.unwrap()), "b\r\n");
    // "c" ends before "|".
    assert_eq!(text(&c.readuntil_any(&[b"|", b"c"]).await.unwrap()), "c");
    assert_eq!(text(&c.readuntil(b"|").await.unwrap()), "|");
    assert_eq!(c.buffer_size().await, 1);
    // The separator split across two segments; "xy" ends before "!".
    let sender = tokio::spawn(async move {
        socket.write_all(b"x").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket.write_all(b"y!tail").await.unwrap();
        socket
    });
    assert_eq!(text(&c.readuntil_any(&[b"xy", b"!"]).await.unwrap()), "dxy");
    let _socket = sender.await.unwrap();
    assert_eq!(text(&c.read(100).await.unwrap()), "!tail");
}

#[tokio::test]
async fn readexactly_waits_for_its_bytes_and_at_eof_says_what_it_expected() {
    let (mut c, mut socket) = connected(None).await;
    socket.write_all(b"12345").await.unwrap();
    assert_eq!(text(&c.readexactly(3).await.unwrap()), "123");
    // The rest arrives while readexactly waits.
    socket.write_all(b"6").await.unwrap();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        socket.write_all(b"7").await.unwrap();
        socket
    });
    assert_eq!(text(&c.readexactly(4).await.unwrap()), "4567");
    let mut socket = sender.await.unwrap();
    // EOF while waiting: everything buffered, with the requested size.
    socket.write_all(b"ab").await.unwrap();
    let closer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        socket.shutdown().await.unwrap();
        socket
    });
    assert_err(c.readexactly(4).await, incomplete(b"ab", Some(4)));
    assert_eq!(c.buffer_size().await, 0);
    assert!(c.at_eof().await);
    let _socket = closer.await.unwrap();
}

#[tokio::test]
async fn readuntil_at_eof_is_incomplete_read_without_expected() {
    let (mut c, mut socket) = connected(None).await;
    socket.write_all(b"no separator").await.unwrap();
    socket.shutdown().await.unwrap();
    assert_err(c.readuntil(b"\n").await, incomplete(b"no separator", None));
    assert_eq!(c.buffer_size().await, 0);
    // readline at EOF returns what is left (nothing), again and again.
    assert_eq!(c.readline().await.unwrap(), b"");
    assert_eq!(c.readline().await.unwrap(), b"");
}

#[tokio::test]
async fn readuntil_limit_overrun_leaves_the_buffer_readable() {
    // Limit 6, 2 x limit = 12: the 10 bytes fit without pausing the reader.
    let (mut c, mut socket) = connected(limit(6)).await;
    socket.write_all(b"aaaaaaaa!\n").await.unwrap();
    c.settle().await;
    // The separator is found at 8 > 6.
    assert_err(c.readuntil(b"!").await, overrun(true, 8));
    assert_eq!(c.buffer_size().await, 10);
    assert_err(c.readuntil_any(&[b"!", b"!\n"]).await, overrun(true, 8));
    assert_eq!(text(&c.readexactly(10).await.unwrap()), "aaaaaaaa!\n");

    // Not found: consumed = buffer length + 1 - separator length.
    socket.write_all(b"bbbbbbbbb").await.unwrap();
    c.settle().await;
    assert_err(c.readuntil(b"!").await, overrun(false, 9));
    // With several separators the longest one counts.
    assert_err(c.readuntil_any(&[b"!", b"!!!"]).await, overrun(false, 7));
    assert_eq!(c.buffer_size().await, 9);
    assert_eq!(text(&c.read(100).await.unwrap()), "bbbbbbbbb");

    // Ties go to the shorter separator: "\r\n" and "\n" both end at 8, so the match is
    // "\n" at 7 > 6 (with "\r\n" alone it starts at 6 and fits).
    socket.write_all(b"aaaaaa\r\n").await.unwrap();
    c.settle().await;
    assert_err(c.readuntil_any(&[b"\r\n", b"\n"]).await, overrun(true, 7));
    assert_eq!(text(&c.readuntil(b"\r\n").await.unwrap()), "aaaaaa\r\n");
}

#[tokio::test]
async fn readline_discards_an_overlong_line() {
    let (mut c, mut socket) = connected(limit(6)).await;
    // Found: the line is discarded with its newline; the next line stays.
    socket.write_all(b"aaaaaaaaaa\nok\n").await.unwrap();
    c.settle().await;
    assert_err(c.readline().await, overrun(true, 10));
    assert_eq!(c.buffer_size().await, 3);
    assert_eq!(text(&c.readline().await.unwrap()), "ok\n");
    // Not found: the whole buffer is discarded.
    socket.write_all(b"cccccccccc").await.unwrap();
    c.settle().await;
    assert_err(c.readline().await, overrun(false, 10));
    assert_eq!(c.buffer_size().await, 0);
    socket.write_all(b"d\n").await.unwrap();
    assert_eq!(text(&c.readline().await.unwrap()), "d\n");
}

#[tokio::test]
async fn a_peer_reset_wins_over_buffered_data_stickily() {
    let (mut c, mut socket) = connected(None).await;
    assert!(c.exception().await.is_none());
    socket.write_all(b"buffered\n").await.unwrap();
    c.settle().await;
    peer::reset(socket);
    c.settle().await;
    assert!(matches!(c.exception().await, Some(Error::ConnectionReset)));
    assert_err(c.readline().await, |e| matches!(e, Error::ConnectionReset));
    assert_err(c.read(-1).await, |e| matches!(e, Error::ConnectionReset));
    assert_err(c.readexactly(1).await, |e| matches!(e, Error::ConnectionReset));
    // The writer sees the connection's error too: drain reports it.
    assert_err(c.drain().await, |e| matches!(e, Error::ConnectionReset));
}

#[tokio::test]
async fn a_waiting_read_sees_a_peer_reset() {
    let (mut c, socket) = connected(None).await;
    let resetter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        peer::reset(socket);
    });
    assert_err(c.readline().await, |e| matches!(e, Error::ConnectionReset));
    resetter.await.unwrap();
}

#[tokio::test]
async fn a_fin_makes_at_eof_true_without_another_read() {
    let (mut c, mut socket) = connected(None).await;
    assert!(!c.at_eof().await);
    socket.shutdown().await.unwrap();
    c.settle().await;
    assert!(c.at_eof().await, "at-eof after a FIN, with no read in between");
    assert!(c.exception().await.is_none());
    assert_eq!(c.read(-1).await.unwrap(), b"");

    // With data before the FIN: not at EOF until the data is read.
    let (r, w, mut socket) = connect(&mut c.p, None).await;
    let mut c = Conn { p: c.p, r, w };
    socket.write_all(b"tail").await.unwrap();
    socket.shutdown().await.unwrap();
    c.settle().await;
    assert!(!c.at_eof().await);
    assert_eq!(c.buffer_size().await, 4);
    assert_eq!(text(&c.read(-1).await.unwrap()), "tail");
    assert!(c.at_eof().await);
    assert_eq!(c.read(10).await.unwrap(), b"");
}

#[tokio::test]
async fn readexactly_more_than_twice_the_limit_completes() {
    // The reader pauses at 2 x limit; the waiting readexactly resumes it.
    const LIMIT: u64 = 1024;
    const N: usize = 256 * LIMIT as usize;
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let (mut c, mut socket) = connected(limit(LIMIT)).await;
    let sent = data.clone();
    let _sender = tokio::spawn(async move {
        socket.write_all(&sent).await.unwrap();
        socket
    });
    c.settle().await;
    // Paused: at most 2 x limit plus one read of the socket is buffered.
    let buffered = c.buffer_size().await;
    assert!(buffered <= 2 * LIMIT + 256 * 1024, "the reader should pause, buffered {buffered}");
    assert!(c.readexactly(N as u64).await.unwrap() == data, "readexactly returned other bytes");
}
