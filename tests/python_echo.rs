//! examples/python-echo (asyncio Python made a component by componentize-py, composed
//! with the streams provider as python-echo.wasm) under the host: the asyncio docs'
//! echo server talked to by native tokio clients, and the docs' echo client against a
//! native server.
//!
//! A missing python-echo.wasm (scripts/build-guests skips it when python3 cannot make a
//! virtualenv) fails these tests; outside CI, WASIO_SKIP_PYTHON=1 skips them instead.
//!
//! The component is 28 MB: its first compile takes 10-30 s (then wasmtime's cache
//! serves it in about a second), so starts are bounded by [`START`], not `STEP`, and
//! taken one at a time so that only one test compiles it.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{component, host_binary, peer, within, Running};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Mutex};

/// Bound on a start, first compile included (a stall bound, not a speed target).
const START: Duration = Duration::from_secs(300);

/// Held while the component starts, so that one test compiles it and the others
/// find it in the cache.
static STARTING: Mutex<()> = Mutex::const_new(());

/// False (after saying so) when python-echo.wasm is not built and WASIO_SKIP_PYTHON=1
/// outside CI; panics when it is not built otherwise.
fn python_echo_built() -> bool {
    if std::panic::catch_unwind(|| component("python-echo")).is_ok() {
        return true;
    }
    let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty() && value != "false");
    if !in_ci && std::env::var("WASIO_SKIP_PYTHON").as_deref() == Ok("1") {
        eprintln!("skipped: python-echo.wasm is not built and WASIO_SKIP_PYTHON=1");
        return false;
    }
    panic!(
        "python-echo.wasm is not built: ./scripts/build-guests builds it when python3 can make a \
         virtualenv (its output says why it did not); outside CI, WASIO_SKIP_PYTHON=1 skips these tests"
    );
}

/// Starts the echo server on a free loopback port.
async fn start_server() -> (Running, SocketAddr) {
    let _one_at_a_time = STARTING.lock().await;
    let mut server = Running::start("python-echo", &[], &["127.0.0.1", "0"]);
    let line = tokio::time::timeout(START, server.stdout.next_line())
        .await
        .expect("python-echo did not print within the start bound")
        .expect("read python-echo's stdout");
    let Some(line) = line else {
        panic!("python-echo ended before serving; stderr:\n{}", server.stderr_text().await)
    };
    let address = line.strip_prefix("Serving on ").unwrap_or_else(|| panic!("unexpected first line: {line}"));
    (server, address.parse().expect("a socket address after 'Serving on'"))
}

#[tokio::test]
async fn serves_50_concurrent_clients_every_byte_checked() {
    if !python_echo_built() {
        return;
    }
    let (_server, address) = start_server().await;
    const CLIENTS: usize = 50;
    // Every client is connected and echoed once before any goes on: 50 open at once.
    let all_connected = Arc::new(Barrier::new(CLIENTS));
    let clients = (0..CLIENTS).map(|id| {
        let all_connected = Arc::clone(&all_connected);
        tokio::spawn(async move {
            let mut client = TcpStream::connect(address).await.unwrap();
            round_trip(&mut client, format!("client {id} says hello\n").as_bytes()).await;
            all_connected.wait().await;
            for round in 0..5 {
                round_trip(&mut client, format!("client {id} round {round} \x00\u{fe}\n").as_bytes()).await;
            }
            // Every byte value, in one write larger than the server's read(100).
            let burst: Vec<u8> =
                (0..8).flat_map(|line| (0..=255u8).map(move |byte| byte ^ line ^ id as u8)).collect();
            round_trip(&mut client, &burst).await;
            client.shutdown().await.unwrap();
            assert!(peer::read_to_end(&mut client).await.is_empty(), "client {id}: bytes after the echo");
        })
    });
    for (id, result) in within("50 clients", futures::future::join_all(clients)).await.into_iter().enumerate()
    {
        result.unwrap_or_else(|error| panic!("client {id}: {error}"));
    }
}

#[tokio::test]
async fn echoes_a_half_closed_megabyte() {
    if !python_echo_built() {
        return;
    }
    let (_server, address) = start_server().await;
    // The debug host makes each of the ~10,000 read(100) rounds' calls slowly: 5-10 s
    // for the megabyte on a loaded machine (0.3-0.6 s under the release host), so the
    // bound is START rather than the usual STEP.
    let client = within("connect", TcpStream::connect(address)).await.unwrap();
    let (mut read_half, mut write_half) = client.into_split();
    let payload: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let sent = payload.clone();
    let writer = tokio::spawn(async move {
        write_half.write_all(&sent).await.unwrap();
        write_half.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    let read = tokio::time::timeout(START, read_half.read_to_end(&mut echoed)).await;
    read.expect("timed out reading the echo to EOF").unwrap();
    within("send everything", writer).await.unwrap();
    assert_eq!(echoed.len(), payload.len(), "the echo's length");
    assert!(echoed == payload, "the echo differs from what was sent");
}

/// The document's server reads with `read(100)`, which the reader's 64 KiB limit does
/// not bound (only readline/readuntil are): a 200 KiB line comes back whole, and the
/// connection goes on. (A readline server would get ValueError here.)
#[tokio::test]
async fn echoes_a_line_longer_than_the_limit_whole() {
    if !python_echo_built() {
        return;
    }
    let (_server, address) = start_server().await;
    let mut client = within("connect", TcpStream::connect(address)).await.unwrap();
    let long_line: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).chain([b'\n']).collect();
    let (mut read_half, mut write_half) = client.split();
    let (_, echoed) = tokio::join!(
        async { write_half.write_all(&long_line).await.unwrap() },
        peer::read_n(&mut read_half, long_line.len())
    );
    assert!(echoed == long_line, "the overlong line came back changed");
    round_trip(&mut client, b"and the next line\n").await;
}

/// A client that resets its connection: the handler's read raises ConnectionResetError,
/// which asyncio's server reports through the loop's exception handler, and the server
/// goes on serving.
#[tokio::test]
async fn survives_a_peer_reset() {
    if !python_echo_built() {
        return;
    }
    let (mut server, address) = start_server().await;
    let mut resetting = within("connect", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut resetting, b"about to reset\n").await;
    peer::reset(resetting);

    let mut stderr = BufReader::new(server.stderr.take().unwrap()).lines();
    let mut report = String::new();
    while !report.contains("ConnectionResetError") {
        let line = within("the handler's ConnectionResetError on stderr", stderr.next_line()).await.unwrap();
        let line = line.unwrap_or_else(|| panic!("python-echo ended; stderr so far:\n{report}"));
        report.push_str(&line);
        report.push('\n');
    }
    assert!(report.contains("Unhandled exception in client_connected_cb"), "stderr:\n{report}");

    let mut next = within("connect after the reset", TcpStream::connect(address)).await.unwrap();
    round_trip(&mut next, b"still serving\n").await;
}

/// The docs' echo client (`python-echo client HOST PORT MESSAGE`) against a native
/// server that echoes the message once it has all of it.
#[tokio::test]
async fn client_talks_to_a_native_echo_server() {
    if !python_echo_built() {
        return;
    }
    const MESSAGE: &str = "Hello from asyncio Python!";
    let (listener, address) = peer::listener().await;
    let server = tokio::spawn(async move {
        // Bounded by START: the client may first wait for (or do) the compile.
        let accepted = tokio::time::timeout(START, listener.accept()).await;
        let (mut socket, _) = accepted.expect("the client did not connect").unwrap();
        let message = peer::read_n(&mut socket, MESSAGE.len()).await;
        socket.write_all(&message).await.unwrap();
        let rest = peer::read_to_end(&mut socket).await;
        (message, rest)
    });
    let (code, stdout, stderr) =
        run_component(&["client", "127.0.0.1", &address.port().to_string(), MESSAGE]).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stdout, format!("Send: '{MESSAGE}'\nReceived: '{MESSAGE}'\nClose the connection\n"));
    let (message, rest) = within("the server sees EOF", server).await.unwrap();
    assert_eq!(message, MESSAGE.as_bytes());
    assert!(rest.is_empty(), "the client sent more: {rest:?}");
}

#[tokio::test]
async fn client_raises_connection_refused_error() {
    if !python_echo_built() {
        return;
    }
    // Bind then drop: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, stdout, stderr) = run_component(&["client", "127.0.0.1", &port.to_string(), "anyone?"]).await;
    assert_eq!(code, 1, "stdout: {stdout}");
    assert!(stderr.contains("ConnectionRefusedError"), "stderr: {stderr}");
}

/// What `stream_check.py` prints against [`check_peer`] (CPython 3.11 and 3.13 print it
/// too): readline's ValueError for an overlong line, LimitOverrunError with `consumed`,
/// IncompleteReadError with `partial` and `expected`.
const CHECK_OUTPUT: &str = "readline: b'short line\\n'
readline: ValueError('Separator is found, but chunk is longer than limit')
readuntil: b'abc|'
readuntil: LimitOverrunError('Separator is found, but chunk is longer than limit') consumed=40
read: b'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy|'
readexactly: IncompleteReadError partial=b'zzzz' expected=10
at_eof: True
read: b''
";

/// examples/python-echo/stream_check.py in the component (`python-echo check`) and under
/// the machine's CPython with asyncio's own streams, against the same peer: the same
/// results and the same exceptions, attributes included.
#[tokio::test]
async fn stream_errors_are_asyncios_exceptions() {
    if !python_echo_built() {
        return;
    }
    let (address, peer) = check_peer().await;
    let (code, stdout, stderr) = run_component(&["check", "127.0.0.1", &address.port().to_string()]).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    within("the peer", peer).await.unwrap();
    assert_eq!(stdout, CHECK_OUTPUT, "python-echo check");

    let (address, peer) = check_peer().await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-echo/stream_check.py");
    let cpython = tokio::process::Command::new("python3")
        .arg(script)
        .args(["127.0.0.1", &address.port().to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let cpython = within("python3 stream_check.py", cpython).await.expect("run python3");
    within("the peer", peer).await.unwrap();
    let cpython_stdout = String::from_utf8_lossy(&cpython.stdout);
    assert!(cpython.status.success(), "python3: {}", String::from_utf8_lossy(&cpython.stderr));
    assert_eq!(stdout, cpython_stdout, "the component and CPython's asyncio differ");
}

/// The peer of `stream_check.py`: waits for b"go\n", sends the known sequence in one
/// write, closes its side and reads until the client closes.
async fn check_peer() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (listener, address) = peer::listener().await;
    let peer = tokio::spawn(async move {
        // Bounded by START: the component may first wait for (or do) the compile.
        let accepted = tokio::time::timeout(START, listener.accept()).await;
        let (mut socket, _) = accepted.expect("the check did not connect").unwrap();
        assert_eq!(peer::read_n(&mut socket, 3).await, b"go\n");
        let mut sequence = b"short line\n".to_vec();
        sequence.extend([b'x'; 20].iter().chain(b"\nabc|").chain(&[b'y'; 40]).chain(b"|zzzz"));
        socket.write_all(&sequence).await.unwrap();
        socket.shutdown().await.unwrap();
        peer::read_to_end(&mut socket).await;
    });
    (address, peer)
}

/// Runs `python-echo ARGS...`: (exit code, stdout, stderr).
async fn run_component(args: &[&str]) -> (i32, String, String) {
    let _one_at_a_time = STARTING.lock().await;
    let output = tokio::process::Command::new(host_binary())
        .arg(component("python-echo"))
        .arg("--")
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(START, output).await.expect("the client did not finish").unwrap();
    (
        output.status.code().expect("the host exited by a signal"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `data` and reads back exactly as many bytes, which must be the same.
async fn round_trip(client: &mut TcpStream, data: &[u8]) {
    within("send", client.write_all(data)).await.unwrap();
    let echoed = peer::read_n(client, data.len()).await;
    assert!(echoed == data, "the echo differs from what was sent: {echoed:?}");
}
