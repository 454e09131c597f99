//! StreamWriter over real loopback TCP: the component writes, drains, half-closes and
//! closes; a native tokio peer checks what arrives. Names follow CPython's
//! test_streams.py (`test_*`) and the contract's extra scenarios (`e*_`). The cases in
//! `over_tcp_and_tls!` run over TLS too (`over_tls::*`), against a tokio-rustls peer:
//! the same drain back-pressure, and asyncio's SSL transport where it differs (its
//! 512 KiB / 128 KiB watermarks, no half-close, close_notify on close).

use crate::support::driver::Driver;
use crate::support::over::{over_tcp_and_tls, Over, Peer};
use crate::support::{peer, within};
use tokio::io::AsyncWriteExt;

/// More than loopback's socket buffers absorb, so a peer that does not read really
/// leaves bytes queued in the component.
const FLOOD: usize = 16 * 1024 * 1024;

async fn connected(over: Over) -> (Driver, Peer) {
    Driver::connected_over(over, "").await
}

#[tokio::test]
async fn test_wait_closed_on_close() {
    let mut driver = Driver::start();
    driver.http_exchange().await;
    let rest = driver.ok("read -1").await;
    assert!(rest.ends_with(r#"Test message""#), "{rest}");
    assert_eq!(driver.ok("is_closing").await, "false");
    driver.ok("close").await;
    assert_eq!(driver.ok("is_closing").await, "true");
    driver.ok("wait_closed").await;
    driver.finish().await;
}

#[tokio::test]
async fn test_wait_closed_on_close_with_unread_data() {
    let mut driver = Driver::start();
    driver.http_exchange().await;
    driver.ok("close").await;
    driver.ok("wait_closed").await;
    driver.finish().await;
}

#[tokio::test]
async fn test_async_writer_api() {
    // The whole exchange in one sequence: request, full response, close, wait_closed.
    let mut driver = Driver::start();
    driver.http_exchange().await;
    let rest = driver.ok("read -1").await;
    assert!(rest.ends_with(r#"\r\n\r\nTest message""#), "{rest}");
    driver.ok("close").await;
    driver.ok("wait_closed").await;
    driver.finish().await;
}

#[tokio::test]
async fn test_async_writer_api_exception_after_close() {
    let mut driver = Driver::start();
    driver.http_exchange().await;
    driver.ok("read -1").await;
    driver.ok("close").await;
    // write() on a closed connection drops the data silently; drain() reports the loss.
    driver.ok("write data").await;
    assert_eq!(driver.cmd("drain").await, "err ConnectionReset connection reset: Connection lost");
    driver.finish().await;
}

#[tokio::test]
async fn stdout_writer_writes_to_stdout() {
    let mut driver = Driver::start();
    // The driver prints its own `ok` after the bytes it wrote through the stream.
    assert_eq!(driver.cmd("stdout_write from\\sthe\\sstream\\n").await, "from the stream");
    assert_eq!(driver.line().await, "ok");
    driver.finish().await;
}

over_tcp_and_tls! {
    async fn test_drain_raises(over: Over) {
        // The peer closes at once (over TLS right after the handshake, with no
        // close_notify); write + drain in a loop must fail, not spin.
        let (mut driver, socket) = connected(over).await;
        drop(socket);
        let result = driver.cmd("drain_loop 100000 foo\\n").await;
        assert!(result.starts_with("err ConnectionReset"), "{result}");
        driver.finish().await;
    }

    async fn test_eof_feed_when_closing_writer(over: Over) {
        let (mut driver, mut socket) = connected(over).await;
        driver.ok("close").await;
        if over == Over::Tls {
            // wait_closed waits for the peer's close_notify (see tls_semantics.rs for
            // a peer that never sends it): this one answers ours.
            assert_eq!(peer::read_to_end(&mut socket).await, b"");
            socket.shutdown().await.unwrap();
        }
        driver.ok("wait_closed").await;
        assert_eq!(driver.ok("at_eof").await, "true");
        assert_eq!(driver.ok("read -1").await, r#""""#);
        driver.finish().await;
    }

    async fn test_multiple_drain(over: Over) {
        // Ten concurrent drains on a paused writer all complete once the peer reads.
        let (mut driver, mut socket) = connected(over).await;
        driver.ok(&format!("write_fill {FLOOD}")).await;
        let drains: Vec<u32> = {
            let mut ids = Vec::new();
            for _ in 0..10 {
                ids.push(driver.bg("drain").await);
            }
            ids
        };
        assert_eq!(driver.bg_finishes_within(drains[0], 300).await, None, "drain must wait, not fail");
        let received = peer::read_n(&mut socket, FLOOD).await;
        assert!(received.iter().all(|&b| b == b'x'));
        for id in drains {
            assert_eq!(driver.bg_result(id).await, "ok");
        }
        assert_eq!(driver.ok("bufsize").await, "0");
        driver.finish().await;
    }

    async fn e8_write_buffer_limits(over: Over) {
        // asyncio's SSL transport has marks of its own: 512 KiB / 128 KiB
        // (FLOW_CONTROL_HIGH_WATER_SSL_WRITE), the same derivation rules.
        let defaults = if over == Over::Tls { "131072 524288" } else { "16384 65536" };
        let (mut driver, _socket) = connected(over).await;
        assert_eq!(driver.ok("limits").await, defaults);
        driver.ok("set_limits 100 -").await;
        assert_eq!(driver.ok("limits").await, "25 100");
        driver.ok("set_limits - 10").await;
        assert_eq!(driver.ok("limits").await, "10 40");
        assert_eq!(
            driver.cmd("set_limits 5 10").await,
            "err InvalidArgument high (5) must be >= low (10) must be >= 0"
        );
        driver.ok("set_limits - -").await;
        assert_eq!(driver.ok("limits").await, defaults);
        driver.finish().await;
    }

    async fn raising_the_limits_resumes_a_paused_writer_over_tls_only(over: Over) {
        // A writer paused behind a peer that does not read. asyncio's TCP transport's
        // set_write_buffer_limits only ever pauses; its SSL transport's resumes too.
        let (mut driver, _socket) = connected(over).await;
        driver.ok(&format!("write_fill {FLOOD}")).await;
        assert_eq!(driver.ok("try_drain").await, "false");
        driver.ok(&format!("set_limits {} {FLOOD}", 2 * FLOOD)).await;
        let resumed = if over == Over::Tls { "true" } else { "false" };
        assert_eq!(driver.ok("try_drain").await, resumed);
        driver.finish().await;
    }

    async fn drain_waits_for_a_peer_that_never_reads(over: Over) {
        let (mut driver, mut socket) = connected(over).await;
        driver.ok(&format!("write_fill {FLOOD}")).await;
        let queued: usize = driver.ok("bufsize").await.parse().unwrap();
        assert!(queued > 65536, "only {queued} bytes queued");
        let drain = driver.bg("drain").await;
        assert_eq!(driver.bg_finishes_within(drain, 500).await, None);
        assert_eq!(driver.ok("try_drain").await, "false");
        // The peer starts reading: the drain completes and every byte arrives intact.
        let reader = tokio::spawn(async move { peer::read_n(&mut socket, FLOOD).await });
        assert_eq!(driver.bg_result(drain).await, "ok");
        let received = within("the peer reads everything", reader).await.unwrap();
        assert!(received.iter().all(|&b| b == b'x'));
        driver.finish().await;
    }

    async fn abort_ends_a_waiting_drain_at_once(over: Over) {
        // asyncio's connection_lost fails every waiting drain; the host never reports the
        // output ready again while its write is stuck behind a peer that does not read.
        let (mut driver, _socket) = connected(over).await;
        driver.ok(&format!("write_fill {FLOOD}")).await;
        let drain = driver.bg("drain").await;
        assert_eq!(driver.bg_finishes_within(drain, 300).await, None, "drain must wait, not fail");
        driver.ok("abort").await;
        assert_eq!(
            driver.bg_finishes_within(drain, 2000).await.as_deref(),
            Some("err ConnectionReset connection reset: Connection lost")
        );
        driver.finish().await;
    }

    async fn write_eof_half_closes(over: Over) {
        let (mut driver, mut socket) = connected(over).await;
        if over == Over::Tls {
            // asyncio's SSL transport: can_write_eof() is False, write_eof() raises
            // NotImplementedError, and the connection carries on.
            assert_eq!(driver.ok("can_write_eof").await, "false");
            let refused = driver.cmd("write_eof").await;
            assert!(refused.starts_with("err NotImplemented write_eof() is not supported over TLS"), "{refused}");
            driver.ok("write still\\sopen\\n").await;
            socket.write_all(b"reply\n").await.unwrap();
            assert_eq!(driver.ok("readline").await, r#""reply\n""#);
            assert_eq!(peer::read_n(&mut socket, 11).await, b"still open\n");
            driver.finish().await;
            return;
        }
        assert_eq!(driver.ok("can_write_eof").await, "true");
        driver.ok("write last\\sbytes").await;
        driver.ok("write_eof").await;
        driver.ok("write_eof").await; // idempotent
        assert_eq!(peer::read_to_end(&mut socket).await, b"last bytes");
        assert_eq!(driver.cmd("write more").await, "err Closed Cannot call write() after write_eof()");
        // The other direction still works.
        socket.write_all(b"reply\n").await.unwrap();
        assert_eq!(driver.ok("readline").await, r#""reply\n""#);
        driver.finish().await;
    }

    async fn e13_write_after_close(over: Over) {
        // With bytes still queued, a write after close is accepted and delivered over
        // TCP; asyncio's SSL protocol drops every write once it is shutting down...
        let (mut driver, mut socket) = connected(over).await;
        driver.ok(&format!("write_fill {FLOOD}")).await;
        driver.ok("close").await;
        driver.ok("write tail").await;
        let received = peer::read_to_end(&mut socket).await;
        if over == Over::Tls {
            assert_eq!(received.len(), FLOOD);
            assert!(received.ends_with(b"x"));
        } else {
            assert_eq!(received.len(), FLOOD + 4);
            assert!(received.ends_with(b"xtail"));
        }
        driver.finish().await;
        // ...with nothing queued, it is dropped.
        let (mut driver, mut socket) = connected(over).await;
        driver.ok("write a").await;
        driver.ok("drain").await;
        driver.ok("close").await;
        driver.ok("write b").await;
        assert_eq!(peer::read_to_end(&mut socket).await, b"a");
        driver.finish().await;
    }

    async fn abort_drops_queued_bytes(over: Over) {
        let (mut driver, mut socket) = connected(over).await;
        driver.ok(&format!("write_fill {FLOOD}")).await;
        driver.ok("abort").await;
        driver.ok("wait_closed").await;
        let received = peer::read_to_end(&mut socket).await;
        assert!(received.len() < FLOOD, "abort delivered everything");
        assert_eq!(driver.ok("at_eof").await, "true");
        driver.finish().await;
    }

    async fn dropping_the_writer_delivers_then_closes(over: Over) {
        let (mut driver, mut socket) = connected(over).await;
        driver.ok("write goodbye").await;
        driver.ok("drop_writer").await;
        assert_eq!(peer::read_to_end(&mut socket).await, b"goodbye");
        driver.finish().await;
    }

    async fn peername_and_sockname(over: Over) {
        let (mut driver, peer) = connected(over).await;
        let socket = peer.socket();
        assert_eq!(driver.ok("peername").await, socket.local_addr().unwrap().to_string());
        assert_eq!(driver.ok("sockname").await, socket.peer_addr().unwrap().to_string());
        driver.finish().await;
    }

    async fn writelines_sends_each_buffer_in_order(over: Over) {
        let (mut driver, mut socket) = connected(over).await;
        driver.ok("writelines one\\n two\\n three\\n").await;
        driver.ok("drain").await;
        assert_eq!(peer::read_n(&mut socket, 14).await, b"one\ntwo\nthree\n");
        driver.finish().await;
    }
}
