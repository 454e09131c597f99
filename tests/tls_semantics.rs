//! TLS as asyncio's SSL protocol behaves where it is not plain TCP, through the
//! stream-driver: `close()` sends close_notify and the connection waits up to
//! `ssl_shutdown_timeout` for the peer's (CPython 3.13's sslproto: `_start_shutdown`,
//! `_check_shutdown_timeout`); and the hostile peers: a reset in the middle of the
//! handshake, random bytes instead of TLS, and a 16 MiB flood against a 64 KiB limit in
//! a guest whose memory is capped, each a typed error, with the component serving others
//! all along. The stream semantics shared with TCP run over both in streams_reader.rs and
//! streams_writer.rs (`over_tls::*`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{rustls, TlsAcceptor, TlsConnector};

use crate::support::certs::{localhost, TestPki};
use crate::support::driver::Driver;
use crate::support::{peer, within, STEP};

/// The stream-driver, allowed to read `pki`'s files, with more host options.
fn driver(pki: &TestPki, host_args: &[&str]) -> Driver {
    let dir = pki.dir_path();
    let mut args = vec!["--dir", dir.as_str()];
    args.extend_from_slice(host_args);
    Driver::start_with(&args)
}

/// `connect` options for a TLS connection trusting `pki`'s CA, as `localhost`.
fn tls_to(pki: &TestPki, address: SocketAddr) -> String {
    format!(
        "connect 127.0.0.1 {} cafile={} server_hostname=localhost",
        address.port(),
        pki.file("ca.pem", None)
    )
}

/// A tokio-rustls server on a free port that completes one handshake and hands the
/// session to the test.
async fn one_tls_peer(
    pki: &TestPki,
) -> (SocketAddr, tokio::task::JoinHandle<tokio_rustls::server::TlsStream<TcpStream>>) {
    let (listener, address) = peer::listener().await;
    let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    let session = tokio::spawn(async move {
        let socket = peer::accept(&listener).await;
        acceptor.accept(socket).await.expect("the TLS handshake with the driver")
    });
    (address, session)
}

#[tokio::test]
async fn close_waits_up_to_ssl_shutdown_timeout_for_a_peer_that_never_answers() {
    let pki = TestPki::new();
    let (address, session) = one_tls_peer(&pki).await;
    let mut driver = driver(&pki, &[]);
    driver.ok(&format!("{} shutdown_ms=1000", tls_to(&pki, address))).await;
    let mut session = within("the handshake", session).await.unwrap();
    // close() itself returns at once; wait_closed waits for the peer's close_notify.
    driver.ok("close").await;
    assert_eq!(driver.ok("is_closing").await, "true");
    let started = Instant::now();
    let waiting = driver.bg("wait_closed").await;
    // The peer gets our close_notify (its read ends cleanly) and never answers.
    let mut rest = Vec::new();
    within("our close_notify", session.read_to_end(&mut rest)).await.expect("a clean close_notify");
    assert!(rest.is_empty());
    // asyncio's _check_shutdown_timeout: TimeoutError('SSL shutdown timed out').
    assert_eq!(driver.bg_result(waiting).await, "err TimedOut timed out");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "gave up after {waited:?}, before ssl_shutdown_timeout");
    assert!(waited < Duration::from_secs(10), "took {waited:?}");
    // The connection is lost with that error, as asyncio's reader and drain report it.
    assert_eq!(driver.ok("exception").await, "TimedOut timed out");
    assert_eq!(driver.cmd("read 10").await, "err TimedOut timed out");
    assert_eq!(driver.cmd("drain").await, "err TimedOut timed out");
    // And the socket is closed: the peer's socket reads EOF.
    let (socket, _) = session.into_inner();
    let mut socket = socket;
    assert_eq!(peer::read_to_end(&mut socket).await, b"");
    driver.finish().await;
}

/// `start_tls(ssl_shutdown_timeout=)` (asyncio 3.12) bounds the shutdown of the upgraded
/// connection as `open_connection`'s does: 1 s here, not the 30 s default.
#[tokio::test]
async fn start_tls_takes_its_own_ssl_shutdown_timeout() {
    let pki = TestPki::new();
    let (listener, address) = peer::listener().await;
    let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    let session = tokio::spawn(async move {
        let socket = peer::accept(&listener).await;
        acceptor.accept(socket).await.expect("the TLS handshake with the driver")
    });
    let mut driver = driver(&pki, &[]);
    driver.ok(&format!("connect 127.0.0.1 {}", address.port())).await;
    let upgrade = format!("start_tls client {} localhost shutdown_ms=1000", pki.file("ca.pem", None));
    assert_eq!(driver.ok(&upgrade).await, "TLSv1.3");
    let mut session = within("the handshake", session).await.unwrap();
    driver.ok("close").await;
    let started = Instant::now();
    let waiting = driver.bg("wait_closed").await;
    let mut rest = Vec::new();
    within("our close_notify", session.read_to_end(&mut rest)).await.expect("a clean close_notify");
    assert_eq!(driver.bg_result(waiting).await, "err TimedOut timed out");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "gave up after {waited:?}, before ssl_shutdown_timeout");
    assert!(waited < Duration::from_secs(10), "took {waited:?}: the 30 s default, not start_tls's");
    driver.finish().await;
}

#[tokio::test]
async fn close_completes_as_soon_as_the_peer_answers_close_notify() {
    let pki = TestPki::new();
    let (address, session) = one_tls_peer(&pki).await;
    let mut driver = driver(&pki, &[]);
    // The default ssl_shutdown_timeout (30 s): a peer that answers ends the wait at once.
    driver.ok(&tls_to(&pki, address)).await;
    let mut session = within("the handshake", session).await.unwrap();
    driver.ok("write last\\n").await;
    driver.ok("close").await;
    let started = Instant::now();
    let waiting = driver.bg("wait_closed").await;
    assert_eq!(peer::read_to_end(&mut session).await, b"last\n", "the data, then close_notify");
    session.shutdown().await.unwrap(); // our close_notify in answer
    assert_eq!(driver.bg_result(waiting).await, "ok");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(driver.ok("at_eof").await, "true");
    driver.finish().await;
}

#[tokio::test]
async fn a_server_side_close_waits_for_the_clients_close_notify_too() {
    let pki = TestPki::new();
    let mut driver = driver(&pki, &[]);
    let (cert, key) = (pki.file("cert.pem", None), pki.file("key.pem", None));
    let address: SocketAddr = driver
        .ok(&format!("listen 127.0.0.1 0 cert={cert} key={key} shutdown_ms=1000"))
        .await
        .parse()
        .unwrap();
    let client = within("a TLS client", native_client(&pki, address)).await.unwrap();
    driver.ok("accept").await;
    driver.ok("close").await;
    let waiting = driver.bg("wait_closed").await;
    // The client holds its end and never answers the close_notify.
    assert_eq!(driver.bg_result(waiting).await, "err TimedOut timed out");
    drop(client);
    driver.finish().await;
}

async fn native_client(
    pki: &TestPki,
    address: SocketAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let socket = TcpStream::connect(address).await?;
    TlsConnector::from(pki.client_config()).connect(localhost(), socket).await
}

/// Bytes that look like nothing (xorshift from a fixed seed, so a failure reproduces).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A server that reads the ClientHello, then does `answer` with the socket.
async fn hostile_server<F, Fut>(answer: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (listener, address) = peer::listener().await;
    tokio::spawn(async move {
        let mut socket = peer::accept(&listener).await;
        let mut hello = [0u8; 5];
        socket.read_exact(&mut hello).await.unwrap();
        assert_eq!(hello[0], 0x16, "a TLS handshake record first");
        answer(socket).await;
    });
    address
}

#[tokio::test]
async fn our_client_reports_a_reset_or_random_bytes_in_the_handshake_and_carries_on() {
    let pki = TestPki::new();
    let mut driver = driver(&pki, &[]);

    // A reset in the middle of the handshake.
    let address = hostile_server(|socket| async move { peer::reset(socket) }).await;
    let failed = driver.cmd(&tls_to(&pki, address)).await;
    assert!(failed.starts_with("err ConnectionReset"), "{failed}");

    // Random bytes instead of a ServerHello: a TLS protocol error.
    let address = hostile_server(|mut socket| async move {
        let _ = socket.write_all(&random_bytes(4096)).await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(STEP, socket.read_to_end(&mut sink)).await;
    })
    .await;
    let failed = driver.cmd(&tls_to(&pki, address)).await;
    assert!(failed.starts_with("err Ssl TLS protocol error"), "{failed}");

    // The same component then talks TLS to a real server.
    let (address, session) = one_tls_peer(&pki).await;
    driver.ok(&tls_to(&pki, address)).await;
    let mut session = within("the handshake", session).await.unwrap();
    driver.ok("write fine\\n").await;
    assert_eq!(peer::read_n(&mut session, 5).await, b"fine\n");
    driver.finish().await;
}

/// A ClientHello for `localhost`, as the first flight of a real client.
fn client_hello(pki: &TestPki) -> Vec<u8> {
    let mut connection = rustls::ClientConnection::new(pki.client_config(), localhost()).unwrap();
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).unwrap();
    hello
}

#[tokio::test]
async fn our_server_survives_resets_random_bytes_and_a_16_mib_flood() {
    let pki = TestPki::new();
    // Memory capped well below the flood: buffering it whole would fail the guest.
    let mut driver = driver(&pki, &["--max-memory", "16M"]);
    let (cert, key) = (pki.file("cert.pem", None), pki.file("key.pem", None));
    let address: SocketAddr =
        driver.ok(&format!("listen 127.0.0.1 0 cert={cert} key={key}")).await.parse().unwrap();

    // A reset right after a real ClientHello, once the server answered.
    let mut resetting = TcpStream::connect(address).await.unwrap();
    resetting.write_all(&client_hello(&pki)).await.unwrap();
    let mut answer = [0u8; 5];
    within("the ServerHello", resetting.read_exact(&mut answer)).await.unwrap();
    assert_eq!(answer[0], 0x16, "a handshake record");
    peer::reset(resetting);

    // Random bytes instead of a ClientHello: an alert (or nothing), then the close.
    let mut random = TcpStream::connect(address).await.unwrap();
    random.write_all(&random_bytes(4096)).await.unwrap();
    let closed = peer::read_to_end(&mut random).await;
    assert!(closed.first().is_none_or(|&byte| byte == 0x15), "not an alert: {closed:?}");

    // A 16 MiB flood with no newline against the 64 KiB limit.
    let flooding = within("handshake", native_client(&pki, address)).await.unwrap();
    driver.ok("accept").await;
    let (mut flood_in, mut flood_out) = tokio::io::split(flooding);
    let flood = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..256 {
            if flood_out.write_all(&chunk).await.is_err() {
                return false;
            }
        }
        flood_out.flush().await.is_ok()
    });
    // The reader stops taking in at 2 x limit (plus one host read): the rest waits in
    // the kernel, not in the guest.
    let mut buffered = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        buffered = driver.ok("buffered").await.parse::<usize>().unwrap();
        if buffered > 2 * 65536 {
            break;
        }
    }
    assert!(buffered > 2 * 65536, "pulled only {buffered} bytes");
    assert!(buffered <= 2 * 65536 + 64 * 1024, "buffered {buffered} bytes of the flood");
    assert!(!flood.is_finished(), "the flood should be held back by flow control");
    let overrun = driver.cmd("readline").await;
    assert!(overrun.starts_with("err LimitOverrun not-found"), "{overrun}");
    driver.ok("abort").await;
    let mut rest = Vec::new();
    let _ = within("the flooding client's end", flood_in.read_to_end(&mut rest)).await;
    let _ = within("the flood stopping", flood).await;

    // The server still serves: a good client's line is read and answered.
    let good = within("a good client", native_client(&pki, address)).await.unwrap();
    let (mut good_in, mut good_out) = tokio::io::split(good);
    driver.ok("accept").await;
    good_out.write_all(b"hello\n").await.unwrap();
    assert_eq!(driver.ok("readline").await, r#""hello\n""#);
    driver.ok("write hi\\n").await;
    assert_eq!(peer::read_n(&mut good_in, 3).await, b"hi\n");
    driver.finish().await;
}
