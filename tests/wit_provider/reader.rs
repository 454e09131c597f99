//! `reader` through the WIT: reads, limits, EOF and resets, blocking and try-*.

use super::*;

#[tokio::test]
async fn test_open_connection_readline_blocking_and_try() {
    let (mut p, r, w, mut socket) = connected(None).await;
    socket.write_all(b"line1\nline2\n").await.unwrap();
    let line = within("readline", p.readline(&r)).await.unwrap().unwrap();
    assert_eq!(text(&line), "line1\n");
    // The second line is already buffered: the try form returns it at once.
    settle().await;
    assert_eq!(p.try_readline(&r).await.unwrap().unwrap().as_deref(), Some(&b"line2\n"[..]));
    // Nothing buffered: `none`, and nothing consumed.
    assert_eq!(p.try_readline(&r).await.unwrap().unwrap(), None);
    socket.write_all(b"par").await.unwrap();
    settle().await;
    assert_eq!(p.try_readline(&r).await.unwrap().unwrap(), None);
    assert_eq!(p.buffer_size(&r).await.unwrap(), 3);
    // The rest arrives later, while the try loop waits in poll.
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        socket.write_all(b"tial\n").await.unwrap();
        socket
    });
    let (line, _polls) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_readline(&r).await).await;
    assert_eq!(text(&line.unwrap()), "partial\n");
    let _socket = sender.await.unwrap();
    assert_eq!(p.limit(&r).await.unwrap(), 65536);
    // read(0) returns nothing at once.
    assert_eq!(p.read(&r, 0).await.unwrap().unwrap(), b"");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_readuntil_and_readuntil_any_blocking_and_try() {
    let (mut p, r, w, mut socket) = connected(None).await;
    socket.write_all(b"a::b\r\nc|d").await.unwrap();
    let got = within("readuntil", p.readuntil(&r, b"::")).await.unwrap().unwrap();
    assert_eq!(text(&got), "a::");
    let seps = vec![b"\r\n".to_vec(), b"\n".to_vec()];
    let got = within("readuntil-any", p.readuntil_any(&r, &seps)).await.unwrap().unwrap();
    assert_eq!(text(&got), "b\r\n");
    // The match that ends first wins: "c" ends before "|".
    let seps = vec![b"|".to_vec(), b"c".to_vec()];
    let got = p.try_readuntil_any(&r, &seps).await.unwrap().unwrap();
    assert_eq!(got.as_deref(), Some(&b"c"[..]));
    let got = p.try_readuntil(&r, b"|").await.unwrap().unwrap();
    assert_eq!(got.as_deref(), Some(&b"|"[..]));
    // Only "d" left: the try forms wait (none) without consuming it.
    assert_eq!(p.try_readuntil(&r, b"!").await.unwrap().unwrap(), None);
    let seps = vec![b"xy".to_vec(), b"!".to_vec()];
    assert_eq!(p.try_readuntil_any(&r, &seps).await.unwrap().unwrap(), None);
    assert_eq!(p.buffer_size(&r).await.unwrap(), 1);
    // The separator split across two segments; "xy" ends before "!".
    let sender = tokio::spawn(async move {
        socket.write_all(b"x").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket.write_all(b"y!tail").await.unwrap();
        socket
    });
    let (got, _) = until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| {
        p.try_readuntil_any(&r, &seps).await
    })
    .await;
    assert_eq!(text(&got.unwrap()), "dxy");
    let _socket = sender.await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}

#[tokio::test]
async fn test_readexactly_and_incomplete_read_with_expected() {
    let (mut p, r, w, mut socket) = connected(None).await;
    socket.write_all(b"12345").await.unwrap();
    let got = within("readexactly", p.readexactly(&r, 3)).await.unwrap().unwrap();
    assert_eq!(text(&got), "123");
    socket.shutdown().await.unwrap();
    // EOF first: everything buffered, with the requested size.
    let result = within("readexactly at EOF", p.readexactly(&r, 5)).await.unwrap();
    assert_err(result, incomplete(b"45", Some(5)));
    assert_eq!(p.buffer_size(&r).await.unwrap(), 0);
    assert!(p.at_eof(&r).await.unwrap());
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();

    // The try form: none until EOF, then incomplete-read.
    let (r, w, mut socket) = connect(&mut p, None).await;
    socket.write_all(b"ab").await.unwrap();
    settle().await;
    assert_eq!(p.try_readexactly(&r, 4).await.unwrap().unwrap(), None);
    let closer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket.shutdown().await.unwrap();
        socket
    });
    let (result, _) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_readexactly(&r, 4).await)
            .await;
    assert_err(result, incomplete(b"ab", Some(4)));
    let _socket = closer.await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}

#[tokio::test]
async fn test_readuntil_eof_is_incomplete_read_without_expected() {
    let (mut p, r, w, mut socket) = connected(None).await;
    socket.write_all(b"no separator").await.unwrap();
    socket.shutdown().await.unwrap();
    let result = within("readuntil at EOF", p.readuntil(&r, b"\n")).await.unwrap();
    assert_err(result, incomplete(b"no separator", None));
    assert_eq!(p.buffer_size(&r).await.unwrap(), 0);
    // readline at EOF returns what is left (nothing), then empty again.
    assert_eq!(p.readline(&r).await.unwrap().unwrap(), b"");
    assert_eq!(p.try_readline(&r).await.unwrap().unwrap().as_deref(), Some(&b""[..]));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_readuntil_limit_overrun_leaves_the_buffer_readable() {
    // Limit 6, 2 x limit = 12: the 10 bytes fit without pausing the reader.
    let (mut p, r, w, mut socket) = connected(limit(6)).await;
    socket.write_all(b"aaaaaaaa!\n").await.unwrap();
    settle().await;
    // The separator is found at 8 > 6.
    let result = within("readuntil", p.readuntil(&r, b"!")).await.unwrap();
    assert_err(result, overrun(true, 8));
    assert_eq!(p.buffer_size(&r).await.unwrap(), 10);
    assert_err(p.try_readuntil(&r, b"!").await.unwrap(), overrun(true, 8));
    let seps = vec![b"!".to_vec(), b"!\n".to_vec()];
    assert_err(p.try_readuntil_any(&r, &seps).await.unwrap(), overrun(true, 8));
    assert_eq!(text(&p.readexactly(&r, 10).await.unwrap().unwrap()), "aaaaaaaa!\n");

    // Not found: consumed = buffer length + 1 - separator length.
    socket.write_all(b"bbbbbbbbb").await.unwrap();
    settle().await;
    let result = within("readuntil", p.readuntil(&r, b"!")).await.unwrap();
    assert_err(result, overrun(false, 9));
    assert_err(p.try_readuntil(&r, b"!").await.unwrap(), overrun(false, 9));
    // With several separators the longest one counts.
    let seps = vec![b"!".to_vec(), b"!!!".to_vec()];
    assert_err(p.readuntil_any(&r, &seps).await.unwrap(), overrun(false, 7));
    assert_eq!(p.buffer_size(&r).await.unwrap(), 9);
    assert_eq!(text(&p.read(&r, 100).await.unwrap().unwrap()), "bbbbbbbbb");

    // Ties go to the shorter separator: "\r\n" and "\n" both end at 8, so the match is
    // "\n" at 7 > 6 (with "\r\n" alone it starts at 6 and fits).
    socket.write_all(b"aaaaaa\r\n").await.unwrap();
    settle().await;
    let seps = vec![b"\r\n".to_vec(), b"\n".to_vec()];
    assert_err(p.readuntil_any(&r, &seps).await.unwrap(), overrun(true, 7));
    assert_err(p.try_readuntil_any(&r, &seps).await.unwrap(), overrun(true, 7));
    assert_eq!(text(&p.readuntil(&r, b"\r\n").await.unwrap().unwrap()), "aaaaaa\r\n");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_readline_discards_an_overlong_line() {
    let (mut p, r, w, mut socket) = connected(limit(6)).await;
    // Found: the line is discarded with its newline; the next line stays.
    socket.write_all(b"aaaaaaaaaa\nok\n").await.unwrap();
    settle().await;
    let result = within("readline", p.readline(&r)).await.unwrap();
    assert_err(result, overrun(true, 10));
    assert_eq!(p.buffer_size(&r).await.unwrap(), 3);
    assert_eq!(text(&p.readline(&r).await.unwrap().unwrap()), "ok\n");

    // Not found: the whole buffer is discarded.
    socket.write_all(b"cccccccccc").await.unwrap();
    settle().await;
    assert_err(p.try_readline(&r).await.unwrap(), overrun(false, 10));
    assert_eq!(p.buffer_size(&r).await.unwrap(), 0);
    socket.write_all(b"d\n").await.unwrap();
    let line = within("readline", p.readline(&r)).await.unwrap().unwrap();
    assert_eq!(text(&line), "d\n");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_peer_reset_wins_over_buffered_data() {
    let (mut p, r, w, mut socket) = connected(None).await;
    assert!(p.exception(&r).await.unwrap().is_none());
    socket.write_all(b"buffered\n").await.unwrap();
    settle().await;
    peer::reset(socket);
    settle().await;
    // The data and the reset both arrived before this call: the reset wins, stickily.
    assert!(matches!(p.exception(&r).await.unwrap(), Some(Error::ConnectionReset)));
    assert_err(within("readline", p.readline(&r)).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    assert_err(p.try_readline(&r).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    assert_err(p.read(&r, -1).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    assert_err(p.try_read(&r, 1).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    // The writer sees the connection's error too: drain reports it.
    assert_err(within("drain", p.drain(&w)).await.unwrap(), |e| matches!(e, Error::ConnectionReset));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_peer_reset_is_seen_by_the_first_call_without_a_read() {
    // The reset alone (no data), seen by the try form and its pollable.
    let (mut p, r, w, socket) = connected(None).await;
    assert_eq!(p.try_readline(&r).await.unwrap().unwrap(), None);
    let resetter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peer::reset(socket);
    });
    let (result, _) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_readline(&r).await).await;
    assert_err(result, |e| matches!(e, Error::ConnectionReset));
    resetter.await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_reader(r).await.unwrap();
}

#[tokio::test]
async fn test_fin_makes_at_eof_true_without_another_read() {
    let (mut p, r, w, mut socket) = connected(None).await;
    assert!(!p.at_eof(&r).await.unwrap());
    socket.shutdown().await.unwrap();
    settle().await;
    assert!(p.at_eof(&r).await.unwrap(), "at-eof after a FIN, with no read in between");
    assert!(p.exception(&r).await.unwrap().is_none());
    assert_eq!(p.read(&r, -1).await.unwrap().unwrap(), b"");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();

    // With data before the FIN: not at EOF until the data is read.
    let (r, w, mut socket) = connect(&mut p, None).await;
    socket.write_all(b"tail").await.unwrap();
    socket.shutdown().await.unwrap();
    settle().await;
    assert!(!p.at_eof(&r).await.unwrap());
    assert_eq!(p.buffer_size(&r).await.unwrap(), 4);
    assert_eq!(text(&p.read(&r, -1).await.unwrap().unwrap()), "tail");
    assert!(p.at_eof(&r).await.unwrap());
    assert_eq!(p.try_read(&r, 10).await.unwrap().unwrap().as_deref(), Some(&b""[..]));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_readexactly_more_than_twice_the_limit_completes() {
    // The reader pauses at 2 x limit; the waiting readexactly resumes it.
    const LIMIT: u64 = 1024;
    // More than 2 x limit plus one 64 KiB read, so the reader really pauses.
    const N: usize = 256 * LIMIT as usize;
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let (mut p, r, w, socket) = connected(limit(LIMIT)).await;
    let sent = data.clone();
    let _sender = tokio::spawn(async move {
        let mut socket = socket;
        socket.write_all(&sent).await.unwrap();
        socket
    });
    settle().await;
    // Paused: at most 2 x limit plus one 64 KiB read is buffered.
    let buffered = p.buffer_size(&r).await.unwrap();
    assert!(buffered <= 2 * LIMIT + 65536, "the reader should pause, buffered {buffered}");
    let got = within("readexactly", p.readexactly(&r, N as u64)).await.unwrap().unwrap();
    assert!(got == data, "readexactly returned other bytes");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_try_readexactly_more_than_twice_the_limit_completes_with_poll() {
    const LIMIT: u64 = 1024;
    // More than 2 x limit plus one 64 KiB read, so the reader really pauses.
    const N: usize = 256 * LIMIT as usize;
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let (mut p, r, w, socket) = connected(limit(LIMIT)).await;
    let sent = data.clone();
    let _sender = tokio::spawn(async move {
        let mut socket = socket;
        // The first 8 x limit at once (the reader pauses), the rest in pieces that arrive
        // while the try loop waits in poll.
        socket.write_all(&sent[..8 * LIMIT as usize]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        for piece in sent[8 * LIMIT as usize..].chunks(16 * 1024) {
            socket.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        socket
    });
    settle().await;
    let (got, polls) = until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| {
        p.try_readexactly(&r, N as u64).await
    })
    .await;
    assert!(got.unwrap() == data, "try-readexactly returned other bytes");
    assert!(polls > 0, "the loop should have waited in poll");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}
