//! start_server and Server over real loopback TCP: the component serves, native tokio
//! clients connect. Names follow CPython's test_streams.py / test_server.py (`test_*`)
//! and the contract's extra scenarios (`e*_`).

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::driver::Driver;
use crate::support::{peer, start_echo_server, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn listening(options: &str) -> (Driver, SocketAddr) {
    let mut driver = Driver::start();
    let address = driver.ok(&format!("listen 127.0.0.1 0 {options}")).await;
    (driver, address.parse().expect("one bound address"))
}

async fn connect(address: SocketAddr) -> TcpStream {
    within("connect to the component", TcpStream::connect(address)).await.unwrap()
}

#[tokio::test]
async fn test_start_server() {
    let (mut driver, address) = listening("").await;
    let mut client = connect(address).await;
    driver.ok("accept").await;
    client.write_all(b"hello world!\n").await.unwrap();
    let line = driver.ok("readline").await;
    assert_eq!(line, r#""hello world!\n""#);
    driver.ok("write hello\\sworld!\\n").await;
    driver.ok("drain").await;
    driver.ok("close").await;
    driver.ok("wait_closed").await;
    assert_eq!(peer::read_to_end(&mut client).await, b"hello world!\n");
    driver.ok("server.close").await;
    driver.ok("server.wait_closed").await;
    driver.finish().await;
}

#[tokio::test]
async fn test_start_server_1() {
    let (mut driver, address) = listening("start=0").await;
    assert_eq!(driver.ok("server.is_serving").await, "false");
    let serving = driver.bg("server.serve_forever").await;
    driver.ok("sleep 50").await;
    assert_eq!(driver.ok("server.is_serving").await, "true");
    let mut client = connect(address).await;
    let mut message = vec![b'1'; 5120];
    message.push(b'\n');
    client.write_all(&message).await.unwrap();
    driver.ok("accept").await;
    assert_eq!(driver.ok("readline").await.len(), 5120 + 4, "5120 ones, an escaped newline, quotes");
    driver.ok("server.close").await;
    driver.ok("write 1").await;
    driver.ok("close").await;
    assert_eq!(peer::read_to_end(&mut client).await, b"1");
    // serve_forever ends once the server is closed and its client is gone.
    assert_eq!(driver.bg_result(serving).await, "ok");
    assert_eq!(driver.ok("server.sockets").await, "");
    assert_eq!(driver.ok("server.is_serving").await, "false");
    assert_eq!(driver.cmd("server.serve_forever").await, "err Closed server is closed");
    driver.finish().await;
}

#[tokio::test]
async fn test_wait_closed_basic() {
    let (mut driver, address) = listening("").await;
    let no_clients_open = driver.bg("server.wait_closed").await;
    let _client = connect(address).await;
    driver.ok("accept").await;
    let client_open = driver.bg("server.wait_closed").await;
    driver.ok("server.close").await;
    let client_closed = driver.bg("server.wait_closed").await;
    for id in [no_clients_open, client_open, client_closed] {
        assert_eq!(driver.bg_finishes_within(id, 200).await, None, "wait_closed {id} returned early");
    }
    driver.ok("close").await;
    for id in [no_clients_open, client_open, client_closed] {
        assert_eq!(driver.bg_result(id).await, "ok");
    }
    driver.ok("server.wait_closed").await;
    assert_eq!(driver.ok("server.try_wait_closed").await, "true");
    driver.finish().await;
}

#[tokio::test]
async fn test_wait_closed_race() {
    let (mut driver, address) = listening("").await;
    let _client = connect(address).await;
    driver.ok("accept").await;
    let waiting = driver.bg("server.wait_closed").await;
    driver.ok("server.close").await;
    driver.ok("close").await;
    assert_eq!(driver.bg_result(waiting).await, "ok");
    driver.finish().await;
}

#[tokio::test]
async fn test_close_clients() {
    let (mut driver, address) = listening("").await;
    let mut client = connect(address).await;
    driver.ok("accept").await;
    let handler_read = driver.bg("read 100").await;
    let waiting = driver.bg("server.wait_closed").await;
    driver.ok("server.close").await;
    driver.ok("server.close_clients").await;
    assert_eq!(driver.bg_result(waiting).await, "ok");
    assert_eq!(driver.bg_result(handler_read).await, r#"ok """#, "the blocked read sees EOF");
    assert_eq!(peer::read_to_end(&mut client).await, b"");
    driver.finish().await;
}

#[tokio::test]
async fn test_abort_clients() {
    // The client does not read, so the server's connection has bytes queued; abort
    // does not wait for them.
    let (mut driver, address) = listening("").await;
    let _client = connect(address).await;
    driver.ok("accept").await;
    driver.ok(&format!("write_fill {}", 16 * 1024 * 1024)).await;
    let queued: usize = driver.ok("bufsize").await.parse().unwrap();
    assert!(queued > 0);
    let waiting = driver.bg("server.wait_closed").await;
    driver.ok("server.close").await;
    driver.ok("server.abort_clients").await;
    assert_eq!(driver.bg_finishes_within(waiting, 2000).await.as_deref(), Some("ok"));
    driver.finish().await;
}

#[tokio::test]
async fn e9_start_serving_false_refuses_until_started() {
    let (mut driver, address) = listening("start=0").await;
    let refused = TcpStream::connect(address).await;
    assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
    driver.ok("server.start_serving").await;
    driver.ok("server.start_serving").await; // idempotent
    let _client = connect(address).await;
    driver.ok("accept").await;
    driver.finish().await;
}

#[tokio::test]
async fn e10_close_ends_serve_forever_after_the_clients() {
    let (mut driver, address) = listening("").await;
    let serving = driver.bg("server.serve_forever").await;
    let _client = connect(address).await;
    driver.ok("accept").await;
    driver.ok("server.close").await;
    assert_eq!(driver.bg_finishes_within(serving, 300).await, None, "a live client keeps it");
    driver.ok("close").await;
    assert_eq!(driver.bg_result(serving).await, "ok");
    driver.finish().await;
}

#[tokio::test]
async fn e11_close_clients_delivers_then_eof_and_keeps_serving() {
    let (mut driver, address) = listening("").await;
    let mut first = connect(address).await;
    driver.ok("accept").await;
    driver.ok("write pending\\sdata").await;
    driver.ok("server.close_clients").await;
    assert_eq!(peer::read_to_end(&mut first).await, b"pending data");
    // Still accepting; abort_clients ends the new client too.
    let mut second = connect(address).await;
    driver.ok("accept").await;
    driver.ok("server.abort_clients").await;
    assert_eq!(peer::read_to_end(&mut second).await, b"");
    assert_eq!(driver.ok("server.is_serving").await, "true");
    driver.finish().await;
}

#[tokio::test]
async fn test_unhandled_exception() {
    // E12: a handler that fails gets its connection closed and the error logged; the
    // server keeps serving.
    let (driver, address) = listening("handler=fail").await;
    for _ in 0..2 {
        let mut client = connect(address).await;
        client.write_all(b"data").await.unwrap();
        assert_eq!(peer::read_to_end(&mut client).await, b"");
    }
    let mut running = driver.into_running();
    running.child.start_kill().unwrap();
    let stderr = running.stderr_text().await;
    assert!(stderr.contains("unhandled error in client handler: test"), "stderr: {stderr}");
}

#[tokio::test]
async fn test_unhandled_cancel() {
    // A handler that closes its writer and ends: the client sees EOF and nothing is
    // logged as an error.
    let (driver, address) = listening("handler=close").await;
    let mut client = connect(address).await;
    assert_eq!(peer::read_to_end(&mut client).await, b"");
    let mut running = driver.into_running();
    running.child.start_kill().unwrap();
    let stderr = running.stderr_text().await;
    assert!(!stderr.contains("unhandled"), "stderr: {stderr}");
}

#[tokio::test]
async fn listen_on_a_name_binds_every_address() {
    let mut driver = Driver::start();
    let addresses = driver.ok("listen localhost 0").await;
    let addresses: Vec<SocketAddr> = addresses.split(' ').map(|a| a.parse().unwrap()).collect();
    assert!(addresses.iter().any(|a| a.ip().is_loopback()));
    for address in &addresses {
        let _client = connect(*address).await;
        driver.ok("accept").await;
    }
    driver.finish().await;
}

#[tokio::test]
async fn listening_outside_the_policy_is_access_denied() {
    // The host allows only loopback: listening on every interface is refused by the
    // host before any socket is opened.
    let mut driver = Driver::start();
    let line = driver.cmd("listen 0.0.0.0 0").await;
    assert!(line.starts_with("err AccessDenied"), "{line}");
    driver.finish().await;
}

#[tokio::test]
async fn echo_server_serves_200_clients_at_once() {
    let (_server, address) = start_echo_server().await;
    let clients = (0..200).map(|id| {
        tokio::spawn(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            let message = format!("client {id} says hello\n").repeat(id % 7 + 1);
            client.write_all(message.as_bytes()).await.unwrap();
            client.shutdown().await.unwrap();
            let mut echoed = Vec::new();
            client.read_to_end(&mut echoed).await.unwrap();
            assert_eq!(echoed, message.as_bytes(), "client {id}");
        })
    });
    let results = within("200 clients", futures::future::join_all(clients)).await;
    for result in results {
        result.unwrap();
    }
}

#[tokio::test]
async fn a_client_that_floods_does_not_grow_the_handler_buffer() {
    // The handler does not read while a client sends 16 MiB: the component buffers at
    // most 2 x limit plus one 64 KiB read.
    let (mut driver, address) = listening("limit=4096").await;
    let mut client = connect(address).await;
    driver.ok("accept").await;
    let flooding = tokio::spawn(async move {
        let _ = client.write_all(&vec![b'z'; 16 * 1024 * 1024]).await;
        client
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let buffered: usize = driver.ok("buffered").await.parse().unwrap();
    assert!(buffered <= 2 * 4096 + 64 * 1024, "buffered {buffered}");
    assert!(!flooding.is_finished());
    driver.ok("abort").await;
    let _ = within("the flood ends", flooding).await;
    driver.finish().await;
}
