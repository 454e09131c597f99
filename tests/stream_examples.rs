//! The asyncio 3.8 document's four examples (`examples/stream-*`, `examples/wait-for-data`)
//! under the host, checked for the document's exact output: the echo client against the
//! echo server, and against CPython's asyncio echo server.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::support::{component, peer, run_host, within, Running};

async fn run_echo_client(address: SocketAddr, message: &str) -> String {
    let client = component("stream-echo-client");
    let port = address.port().to_string();
    let host = address.ip().to_string();
    let args: [&OsStr; 5] =
        [client.as_os_str(), "--".as_ref(), host.as_ref(), port.as_ref(), message.as_ref()];
    let (code, stdout, stderr) = run_host(&args).await;
    assert_eq!(code, 0, "stream-echo-client failed; stderr:\n{stderr}");
    stdout
}

#[tokio::test]
async fn stream_echo_client_against_stream_echo_server() {
    let mut server = Running::start("stream-echo-server", &[], &["127.0.0.1", "0"]);
    let address = server.serving_address().await;
    let stdout = run_echo_client(address, "Hello World!").await;
    assert_eq!(stdout, "Send: 'Hello World!'\nReceived: 'Hello World!'\n");

    let received = server.next_line().await.expect("the server's Received line");
    let peer = received
        .strip_prefix("Received 'Hello World!' from ")
        .unwrap_or_else(|| panic!("unexpected line: {received}"));
    // Python's repr of the peername tuple: ('127.0.0.1', 52614).
    let (ip, port) = peer
        .strip_prefix("('")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|rest| rest.split_once("', "))
        .unwrap_or_else(|| panic!("not an address tuple: {peer}"));
    let peer = SocketAddr::new(ip.parse().expect("an IP"), port.parse().expect("a port"));
    assert!(peer.ip().is_loopback());
    assert_eq!(server.next_line().await.as_deref(), Some("Send: 'Hello World!'"));
    assert_eq!(server.next_line().await.as_deref(), Some("Close the connection"));

    // A second client is served the same way: the server serves forever.
    let stdout = run_echo_client(address, "again").await;
    assert_eq!(stdout, "Send: 'again'\nReceived: 'again'\n");
    assert!(server.next_line().await.unwrap().starts_with("Received 'again' from ('127.0.0.1', "));
}

/// CPython 3.13 from pyenv; the test fails naming it when it is missing.
fn cpython() -> PathBuf {
    let python = PathBuf::from("/root/.pyenv/versions/3.13.0/bin/python3.13");
    assert!(
        python.exists(),
        "CPython 3.13.0 is needed as the reference echo server and is missing: {} (install it with `pyenv install 3.13.0`)",
        python.display()
    );
    python
}

/// asyncio's echo server (3.13 has no StreamServer: `start_server` is its form of it).
const ASYNCIO_ECHO_SERVER: &str = r#"
import asyncio

async def handle_echo(reader, writer):
    data = await reader.read(100)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()

async def main():
    server = await asyncio.start_server(handle_echo, '127.0.0.1', 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f'Serving on {host}:{port}', flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

#[tokio::test]
async fn stream_echo_client_against_cpython_asyncio_echo_server() {
    let mut python = Command::new(cpython())
        .args(["-c", ASYNCIO_ECHO_SERVER])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start CPython");
    let mut lines = BufReader::new(python.stdout.take().unwrap()).lines();
    let serving = within("CPython's Serving line", lines.next_line()).await.unwrap().expect("a line");
    let address: SocketAddr = serving.strip_prefix("Serving on ").expect("Serving on").parse().unwrap();
    let stdout = run_echo_client(address, "Hello World!").await;
    assert_eq!(stdout, "Send: 'Hello World!'\nReceived: 'Hello World!'\n");
}

#[tokio::test]
async fn stream_http_headers_prints_each_header() {
    let (listener, address) = peer::listener().await;
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 512];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client closed before finishing its request");
            request.extend_from_slice(&buf[..n]);
        }
        socket.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n").await.unwrap();
        socket.shutdown().await.unwrap();
        String::from_utf8(request).unwrap()
    });
    let url = format!("http://127.0.0.1:{}", address.port());
    let example = component("stream-http-headers");
    let (code, stdout, stderr) = run_host(&[example.as_os_str(), OsStr::new("--"), OsStr::new(&url)]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "HTTP header> HTTP/1.0 200 OK\nHTTP header> Content-Type: text/html\n");
    let request = within("the request", server).await.unwrap();
    assert_eq!(request, "HEAD / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", "`url.path or '/'`");
}

#[tokio::test]
async fn wait_for_data_receives_abc_over_its_own_socket_pair() {
    let example = component("wait-for-data");
    let (code, stdout, stderr) = run_host(&[example.as_os_str()]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Received: abc\n");
}

#[tokio::test]
async fn stream_http_headers_over_https_as_ssl_true() {
    use crate::support::certs::TestPki;
    let pki = TestPki::new();
    let acceptor = tokio_rustls::TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    let (listener, address) = peer::listener().await;
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(socket).await.expect("the TLS handshake");
        let mut request = Vec::new();
        let mut buf = [0u8; 512];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tls.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client closed before finishing its request");
            request.extend_from_slice(&buf[..n]);
        }
        tls.write_all(b"HTTP/1.0 200 OK\r\nServer: tls-test\r\n\r\n").await.unwrap();
        tls.shutdown().await.unwrap();
        String::from_utf8(request).unwrap()
    });
    let (dir, ca) = (pki.dir_path(), pki.file("ca.pem", None));
    let url = format!("https://127.0.0.1:{}/secure", address.port());
    let example = component("stream-http-headers");
    let args: [&OsStr; 7] = [
        "--dir".as_ref(),
        dir.as_ref(),
        example.as_os_str(),
        "--".as_ref(),
        "--cafile".as_ref(),
        ca.as_ref(),
        url.as_ref(),
    ];
    let (code, stdout, stderr) = run_host(&args).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "HTTP header> HTTP/1.0 200 OK\nHTTP header> Server: tls-test\n");
    let request = within("the request", server).await.unwrap();
    assert_eq!(request, "HEAD /secure HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
}
