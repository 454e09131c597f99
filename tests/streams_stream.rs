//! asyncio 3.8's `Stream` / `StreamServer` API (`connect`, modes, awaited `write` and
//! `close`, `scope` as `async with`, `split`/`join`, `get_extra_info`, pipes) over real
//! loopback TCP, through the stream-driver component's `s.*` / `ss.*` commands.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::driver::Driver;
use crate::support::{peer, within};

/// A driver whose current stream is connected to a native peer; returns the peer's end.
async fn stream_to_peer() -> (Driver, TcpStream) {
    let (listener, address) = peer::listener().await;
    let mut driver = Driver::start();
    assert_eq!(driver.ok(&format!("s.connect 127.0.0.1 {}", address.port())).await, "s=0");
    let socket = peer::accept(&listener).await;
    (driver, socket)
}

#[tokio::test]
async fn connect_reads_and_writes_through_one_stream() {
    let (mut driver, mut peer_socket) = stream_to_peer().await;
    assert_eq!(driver.ok("s.mode").await, "readwrite");
    peer_socket.write_all(b"hello\n").await.unwrap();
    assert_eq!(driver.ok("s.readline").await, r#""hello\n""#);
    driver.ok("s.write back\\n").await;
    assert_eq!(peer::read_n(&mut peer_socket, 5).await, b"back\n");
    driver.ok("s.writelines a b\\n").await;
    assert_eq!(peer::read_n(&mut peer_socket, 3).await, b"ab\n");
    assert_eq!(driver.ok("s.can_write_eof").await, "true");
    assert_eq!(driver.ok("s.is_closing").await, "false");
    driver.ok("s.close").await;
    assert_eq!(driver.ok("s.is_closing").await, "true");
    assert_eq!(peer::read_to_end(&mut peer_socket).await, b"");
    driver.finish().await;
}

#[tokio::test]
async fn get_extra_info_gives_asyncios_names_and_none_for_the_rest() {
    let (mut driver, peer_socket) = stream_to_peer().await;
    let peername: SocketAddr = driver.ok("s.extra peername").await.parse().unwrap();
    let sockname: SocketAddr = driver.ok("s.extra sockname").await.parse().unwrap();
    assert_eq!(peername, peer_socket.local_addr().unwrap());
    assert_eq!(sockname, peer_socket.peer_addr().unwrap());
    assert_eq!(driver.ok("s.extra no-such-name").await, "none");
    assert_eq!(driver.ok("s.extra socket").await, "none", "no socket object to hand out");
    // Kept after the close, as asyncio keeps them.
    driver.ok("s.close").await;
    assert_eq!(driver.ok("s.extra peername").await, peername.to_string());
    driver.finish().await;
}

#[tokio::test]
async fn writing_to_a_read_stream_fails_with_asyncios_error() {
    let mut driver = Driver::start();
    driver.ok("s.pipe_read").await;
    assert_eq!(driver.ok("s.mode").await, "read");
    let read_only = "err WrongMode The stream is read-only";
    for command in
        ["s.write x", "s.write_nowait x", "s.writelines a b", "s.drain", "s.write_eof", "s.can_write_eof"]
    {
        assert_eq!(driver.cmd(command).await, read_only, "{command}");
    }
    assert_eq!(driver.cmd("s.split").await, "err WrongMode The stream is read-only");
    driver.ok("s.pipe_write").await;
    assert_eq!(driver.ok("s.mode").await, "write");
    let write_only = "err WrongMode The stream is write-only";
    for command in ["s.read 1", "s.readline", "s.readexactly 1", "s.readuntil x"] {
        assert_eq!(driver.cmd(command).await, write_only, "{command}");
    }
    driver.finish().await;
}

#[tokio::test]
async fn a_write_pipe_writes_to_stdout() {
    let mut driver = Driver::start();
    driver.ok("s.pipe_write").await;
    driver.send(&["s.write piped\\sline\\n"]).await;
    assert_eq!(driver.line().await, "piped line");
    assert_eq!(driver.line().await, "ok");
    assert_eq!(driver.ok("s.extra peername").await, "none", "a pipe has no peer");
    driver.finish().await;
}

#[tokio::test]
async fn an_awaited_write_waits_until_the_peer_reads() {
    let (mut driver, mut peer_socket) = stream_to_peer().await;
    let size = 16 * 1024 * 1024;
    let writing = driver.bg(&format!("s.write_fill {size}")).await;
    assert_eq!(
        driver.bg_finishes_within(writing, 300).await,
        None,
        "the write returned before the peer read"
    );
    let queued: usize = driver.ok("s.bufsize").await.parse().unwrap();
    assert!(queued > 64 * 1024, "{queued} bytes queued: over the high-water mark");
    let received = peer::read_n(&mut peer_socket, size).await;
    assert!(received.iter().all(|&b| b == b'x'));
    assert_eq!(driver.bg_result(writing).await, "ok");
    // Not awaited: the bytes are queued and sent all the same.
    driver.ok("s.write_unawaited unawaited").await;
    assert_eq!(peer::read_n(&mut peer_socket, 9).await, b"unawaited");
    driver.ok("s.write_nowait nowait").await;
    assert_eq!(peer::read_n(&mut peer_socket, 6).await, b"nowait");
    driver.finish().await;
}

#[tokio::test]
async fn scope_closes_the_stream_after_its_body_also_on_error() {
    let (mut driver, mut peer_socket) = stream_to_peer().await;
    assert_eq!(driver.ok("s.scope first").await, "body done");
    assert_eq!(peer::read_to_end(&mut peer_socket).await, b"first");

    let (mut driver2, mut peer_socket2) = stream_to_peer().await;
    assert_eq!(driver2.cmd("s.scope second fail=1").await, "err Other the body failed");
    assert_eq!(peer::read_to_end(&mut peer_socket2).await, b"second", "closed although the body failed");
    driver.finish().await;
    driver2.finish().await;
}

#[tokio::test]
async fn split_into_reader_and_writer_and_join_back() {
    let (mut driver, mut peer_socket) = stream_to_peer().await;
    assert_eq!(driver.ok("s.split").await, "conn=0");
    peer_socket.write_all(b"to the reader\n").await.unwrap();
    assert_eq!(driver.ok("readline").await, r#""to the reader\n""#);
    driver.ok("write from\\sthe\\swriter").await;
    assert_eq!(peer::read_n(&mut peer_socket, 15).await, b"from the writer");
    assert_eq!(driver.ok("s.join").await, "s=1");
    assert_eq!(driver.ok("s.mode").await, "readwrite");
    driver.ok("s.write joined").await;
    assert_eq!(peer::read_n(&mut peer_socket, 6).await, b"joined");
    driver.finish().await;
}

async fn new_server(driver: &mut Driver, options: &str) {
    driver.ok(&format!("ss.new 127.0.0.1 0 {options}")).await;
}

#[tokio::test]
async fn stream_server_lifecycle_construct_bind_serve_close() {
    let mut driver = Driver::start();
    new_server(&mut driver, "handler=echo").await;
    assert_eq!(driver.ok("ss.is_bound").await, "false");
    assert_eq!(driver.ok("ss.sockets").await, "", "nothing bound on construction");
    let address: SocketAddr = driver.ok("ss.bind").await.parse().unwrap();
    assert_eq!(driver.ok("ss.is_bound").await, "true");
    assert_eq!(driver.ok("ss.is_serving").await, "false");
    let refused = TcpStream::connect(address).await;
    assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused, "bound, not listening");
    assert_eq!(driver.ok("ss.start_serving").await, address.to_string());
    assert_eq!(driver.ok("ss.is_serving").await, "true");

    // The document's echo handler: read(100), write it back, close.
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    client.write_all(b"Hello World!").await.unwrap();
    assert_eq!(peer::read_to_end(&mut client).await, b"Hello World!");

    driver.ok("ss.close").await;
    assert_eq!(driver.ok("ss.is_bound").await, "false");
    assert_eq!(driver.ok("ss.is_serving").await, "false");
    assert_eq!(driver.ok("ss.sockets").await, "");
    assert_eq!(driver.cmd("ss.bind").await, "err Closed server is closed");
    assert_eq!(driver.ok("ss.cancelled").await, "0");
    driver.finish().await;
}

#[tokio::test]
async fn serve_forever_ends_when_the_server_is_closed_and_its_cancellation_closes_it() {
    let mut driver = Driver::start();
    new_server(&mut driver, "handler=hold").await;
    let serving = driver.bg("ss.serve_forever").await;
    driver.ok("sleep 20").await;
    assert_eq!(driver.ok("ss.is_serving").await, "true");
    let address: SocketAddr = driver.ok("ss.sockets").await.parse().unwrap();
    let _client = within("connect", TcpStream::connect(address)).await.unwrap();
    driver.ok("ss.wait_clients 1").await;
    driver.ok("ss.close").await;
    assert_eq!(driver.bg_result(serving).await, "ok");

    // A serve_forever that is cancelled (its future dropped) closes the server.
    new_server(&mut driver, "handler=hold").await;
    assert_eq!(driver.cmd("timeout 100 ss.serve_forever").await, "err TimedOut timed out");
    driver.ok("sleep 20").await;
    assert_eq!(driver.ok("ss.is_serving").await, "false");
    assert_eq!(driver.ok("ss.is_bound").await, "false");
    driver.finish().await;
}

#[tokio::test]
async fn close_waits_for_handlers_that_end_when_their_stream_closes() {
    let mut driver = Driver::start();
    new_server(&mut driver, "handler=hold shutdown_ms=60000").await;
    let address: SocketAddr = driver.ok("ss.start_serving").await.parse().unwrap();
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    driver.ok("ss.wait_clients 1").await;
    assert_eq!(driver.ok("ss.handlers").await, "1");
    let started = Instant::now();
    driver.ok("ss.close").await;
    // The handler sees EOF from the closed stream and ends: no waiting for the timeout.
    assert!(started.elapsed() < Duration::from_secs(10), "close took {:?}", started.elapsed());
    assert_eq!(driver.ok("ss.cancelled").await, "0");
    assert_eq!(driver.ok("ss.handlers").await, "0");
    assert_eq!(peer::read_to_end(&mut client).await, b"");
    driver.finish().await;
}

#[tokio::test]
async fn close_cancels_a_handler_that_ignores_it_after_the_shutdown_timeout() {
    let mut driver = Driver::start();
    new_server(&mut driver, "handler=ignore shutdown_ms=400").await;
    let address: SocketAddr = driver.ok("ss.start_serving").await.parse().unwrap();
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    driver.ok("ss.wait_clients 1").await;
    let started = Instant::now();
    driver.ok("ss.close").await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(400), "close returned after {took:?}, before the shutdown timeout");
    assert!(took < Duration::from_secs(10), "close took {took:?}");
    assert_eq!(driver.ok("ss.cancelled").await, "1");
    assert_eq!(driver.ok("ss.handlers").await, "0");
    assert_eq!(driver.ok("ss.clients").await, "0");
    let mut rest = Vec::new();
    let end = within("the client's connection ends", client.read_to_end(&mut rest)).await;
    assert!(end.is_ok() || end.unwrap_err().kind() == std::io::ErrorKind::ConnectionReset);
    driver.finish().await;
}

#[tokio::test]
async fn abort_with_100_clients_cancels_every_handler_at_once() {
    let mut driver = Driver::start();
    new_server(&mut driver, "handler=hold shutdown_ms=60000").await;
    let address: SocketAddr = driver.ok("ss.start_serving").await.parse().unwrap();
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(within("connect", TcpStream::connect(address)).await.unwrap());
    }
    driver.ok("ss.wait_clients 100").await;
    assert_eq!(driver.ok("ss.handlers").await, "100");
    let started = Instant::now();
    driver.ok("ss.abort").await;
    assert!(started.elapsed() < Duration::from_secs(10), "abort took {:?}", started.elapsed());
    assert_eq!(driver.ok("ss.cancelled").await, "100");
    assert_eq!(driver.ok("ss.handlers").await, "0");
    assert_eq!(driver.ok("ss.clients").await, "0");
    assert_eq!(driver.ok("ss.is_serving").await, "false");
    for (i, mut client) in clients.into_iter().enumerate() {
        let mut rest = Vec::new();
        match within("a client's connection ends", client.read_to_end(&mut rest)).await {
            Ok(_) => assert!(rest.is_empty(), "client {i} got data"),
            Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "client {i}"),
        }
    }
    assert!(TcpStream::connect(address).await.is_err(), "still listening after abort");
    driver.finish().await;
}

#[tokio::test]
async fn stream_server_handlers_get_a_readwrite_stream() {
    let mut driver = Driver::start();
    new_server(&mut driver, "").await;
    let address: SocketAddr = driver.ok("ss.start_serving").await.parse().unwrap();
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    driver.ok("ss.accept").await;
    assert_eq!(driver.ok("s.mode").await, "readwrite");
    let peername: SocketAddr = driver.ok("s.extra peername").await.parse().unwrap();
    assert_eq!(peername, client.local_addr().unwrap());
    client.write_all(b"ping\n").await.unwrap();
    assert_eq!(driver.ok("s.readline").await, r#""ping\n""#);
    driver.ok("s.write pong\\n").await;
    assert_eq!(peer::read_n(&mut client, 5).await, b"pong\n");
    driver.ok("ss.close").await;
    let mut rest = Vec::new();
    within("EOF after close", client.read_to_end(&mut rest)).await.unwrap();
    driver.finish().await;
}

#[tokio::test]
async fn connect_socket_wraps_a_connection_the_component_made() {
    let mut driver = Driver::start();
    assert_eq!(driver.ok("s.socketpair plain").await, "s=0");
    let reading = driver.bg("s.read 100").await;
    driver.ok("s.pair_send abc").await;
    assert_eq!(driver.bg_result(reading).await, r#"ok "abc""#);
    assert!(driver.ok("s.extra peername").await.starts_with("127.0.0.1:"));
    driver.ok("s.close").await;
    driver.finish().await;
}

#[tokio::test]
async fn connect_socket_refuses_an_unconnected_or_closed_socket() {
    let mut driver = Driver::start();
    assert_eq!(
        driver.cmd("s.socketpair unconnected").await,
        "err InvalidArgument sock is not a connected socket"
    );
    let line = driver.cmd("s.socketpair shutdown").await;
    assert_eq!(line, "err Closed sock is closed: its output stream is closed");
    driver.finish().await;
}

#[tokio::test]
async fn stream_server_serves_on_a_socket_the_component_bound_itself() {
    let mut driver = Driver::start();
    for how in ["bound", "listening"] {
        driver.ok(&format!("ss.new_socket {how} handler=echo")).await;
        let address: SocketAddr = driver.ok("ss.start_serving").await.parse().unwrap();
        assert!(address.ip().is_loopback() && address.port() != 0, "{how}: {address}");
        let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
        client.write_all(b"via sock=").await.unwrap();
        assert_eq!(peer::read_to_end(&mut client).await, b"via sock=", "{how}");
        driver.ok("ss.close").await;
    }
    driver.ok("ss.new_socket unbound").await;
    assert_eq!(
        driver.cmd("ss.bind").await,
        "err InvalidArgument sock is not bound: bind it (or set it listening) first"
    );
    driver.finish().await;
}
