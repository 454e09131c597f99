//! TLS (asyncio's `ssl=`) over real loopback: our client against a native tokio-rustls
//! server and CPython 3.13's `asyncio.start_server(ssl=ctx)`, our server against a tokio-rustls client and CPython 3.13's
//! `asyncio.open_connection(ssl=ctx)`, and the failures (unknown CA, wrong host name,
//! expired certificate, a silent peer, plaintext), each a clear error, with the server
//! serving others all along. Certificates are made at test time (`support::certs`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{rustls, TlsAcceptor, TlsConnector};

use crate::support::certs::{localhost, TestPki};
use crate::support::{component, run_host, within, Running, STEP};

/// Compiles `name` once per test run before any test relies on its start-up time: with
/// rustls and ring linked in, the debug host's first compile of echo-server or
/// echo-client takes about 15 s, too close to [`STEP`] when tests start them at once.
fn warm(name: &str) {
    static WARMED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut warmed = WARMED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if warmed.iter().any(|done| done == name) {
        return;
    }
    // An unknown flag: the component prints its usage and exits once compiled.
    let mut child = std::process::Command::new(crate::support::host_binary())
        .arg(component(name))
        .args(["--", "--warm-up"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the host");
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "compiling {name} took over 300 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    warmed.push(name.to_string());
}

/// A native TLS echo server presenting `cert_pem` on a free loopback port; runs until
/// the test's runtime ends.
async fn native_tls_echo_server(cert_pem: &str, key_pem: &str) -> SocketAddr {
    let acceptor = TlsAcceptor::from(TestPki::server_config(cert_pem, key_pem));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(n) = tls.read(&mut buffer).await {
                    if n == 0 || tls.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = tls.shutdown().await;
            });
        }
    });
    address
}

/// Runs echo-client with `args` (flags first), letting it read `pki`'s directory:
/// (exit code, stdout, stderr).
async fn echo_client(pki: &TestPki, args: &[&str]) -> (i32, String, String) {
    run_reading_pki(pki, "echo-client", args).await
}

/// Runs the component `name` with `args`, letting it read `pki`'s directory: (exit code,
/// stdout, stderr).
async fn run_reading_pki(pki: &TestPki, name: &str, args: &[&str]) -> (i32, String, String) {
    warm(name);
    let dir = pki.dir_path();
    let component = component(name);
    let mut command: Vec<&std::ffi::OsStr> =
        vec!["--dir".as_ref(), dir.as_ref(), component.as_os_str(), "--".as_ref()];
    command.extend(args.iter().map(|arg| std::ffi::OsStr::new(*arg)));
    run_host(&command).await
}

/// Starts echo-server serving TLS with `pki`'s certificate (line echo).
async fn tls_echo_server(pki: &TestPki) -> (Running, SocketAddr) {
    warm("echo-server");
    let dir = pki.dir_path();
    let (cert, key) = (pki.file("cert.pem", None), pki.file("key.pem", None));
    let mut server = Running::start(
        "echo-server",
        &["--dir", &dir],
        &["--lines", "--tls-cert", &cert, "--tls-key", &key, "127.0.0.1", "0"],
    );
    let address = server.serving_address().await;
    (server, address)
}

/// A native TLS client connection to `address` trusting `pki`'s CA, as `localhost`.
async fn native_tls_client(
    pki: &TestPki,
    address: SocketAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let socket = TcpStream::connect(address).await?;
    TlsConnector::from(pki.client_config()).connect(localhost(), socket).await
}

async fn echo_line_over_tls(pki: &TestPki, address: SocketAddr, line: &str) {
    let tls = within("TLS handshake with echo-server", native_tls_client(pki, address)).await.unwrap();
    let (_, connection) = tls.get_ref();
    assert_eq!(connection.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    let mut tls = BufReader::new(tls);
    tls.write_all(line.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let mut echoed = String::new();
    within("the echoed line", tls.read_line(&mut echoed)).await.unwrap();
    assert_eq!(echoed, line);
}

#[tokio::test]
async fn our_client_talks_to_a_tokio_rustls_server() {
    let pki = TestPki::new();
    let address = native_tls_echo_server(&pki.cert_pem, &pki.key_pem).await;
    let ca = pki.file("ca.pem", None);
    let port = address.port().to_string();
    let (code, stdout, stderr) =
        echo_client(&pki, &["--cafile", &ca, "127.0.0.1", &port, "hello over tls"]).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("TLS: TLSv1.3 TLS13_"), "{stdout}");
    assert!(stdout.contains(r#"Received: "hello over tls""#), "{stdout}");
    // The host name, checked against the certificate's DNS name this time.
    let (code, stdout, stderr) =
        echo_client(&pki, &["--cafile", &ca, "--server-hostname", "localhost", "127.0.0.1", &port, "again"])
            .await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains(r#"Received: "again""#), "{stdout}");
}

#[tokio::test]
async fn our_server_talks_to_tokio_rustls_clients() {
    let pki = TestPki::new();
    let (_server, address) = tls_echo_server(&pki).await;
    for round in 0..3 {
        echo_line_over_tls(&pki, address, &format!("line {round}\n")).await;
    }
    // A megabyte each way through one connection: the writer's drain and the reader's
    // pausing over TLS.
    let tls = within("handshake", native_tls_client(&pki, address)).await.unwrap();
    let (mut read_half, mut write_half) = tokio::io::split(tls);
    let line: Vec<u8> = (0..1023).map(|i| b'a' + (i % 26) as u8).chain([b'\n']).collect();
    let sender = tokio::spawn(async move {
        for _ in 0..1024 {
            write_half.write_all(&line).await.unwrap();
        }
        write_half.flush().await.unwrap();
        write_half
    });
    let mut echoed = vec![0; 1024 * 1024];
    within("a megabyte echoed over TLS", read_half.read_exact(&mut echoed)).await.unwrap();
    assert!(echoed.chunks(1024).all(|chunk| chunk[1023] == b'\n' && chunk[0] == b'a'));
    drop(sender.await.unwrap());
}

#[tokio::test]
async fn our_server_talks_to_cpython_asyncio() {
    let probe =
        std::process::Command::new("python3.13").env("PYENV_VERSION", "3.13.0").arg("--version").output();
    if !probe.is_ok_and(|output| output.status.success()) {
        eprintln!("skipped: python3.13 (PYENV_VERSION=3.13.0) is not available");
        return;
    }
    let pki = TestPki::new();
    let (_server, address) = tls_echo_server(&pki).await;
    let script = r#"
import asyncio, ssl, sys
async def main(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
    writer.write(b"hello from asyncio\n")
    await writer.drain()
    line = await reader.readline()
    print(writer.get_extra_info("ssl_object").version(), line.decode().strip())
    writer.close()
    await writer.wait_closed()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"#;
    let output = within(
        "CPython's asyncio client",
        tokio::process::Command::new("python3.13")
            .env("PYENV_VERSION", "3.13.0")
            .args(["-c", script, &address.port().to_string(), &pki.file("ca.pem", None)])
            .output(),
    )
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout.trim(), "TLSv1.3 hello from asyncio");
}

/// CPython 3.13's asyncio TLS echo server (`start_server(ssl=ctx)`): it echoes one
/// read back to one client, prints the client's TLS version, and exits (at most 60 s).
const CPYTHON_TLS_ECHO_SERVER: &str = r#"
import asyncio, ssl, sys
async def main(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    served = asyncio.Event()
    async def handle(reader, writer):
        data = await reader.read(100)
        writer.write(data)
        await writer.drain()
        print(writer.get_extra_info("ssl_object").version(), data.decode(), flush=True)
        writer.close()
        await writer.wait_closed()
        served.set()
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.wait_for(served.wait(), 60)
asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;

#[tokio::test]
async fn our_client_talks_to_a_cpython_asyncio_server() {
    let probe =
        std::process::Command::new("python3.13").env("PYENV_VERSION", "3.13.0").arg("--version").output();
    assert!(
        probe.is_ok_and(|output| output.status.success()),
        "this test needs CPython 3.13: python3.13 with PYENV_VERSION=3.13.0"
    );
    let pki = TestPki::new();
    let script = pki.file("tls_echo_server.py", Some(CPYTHON_TLS_ECHO_SERVER));
    let mut python = tokio::process::Command::new("python3.13")
        .env("PYENV_VERSION", "3.13.0")
        .args([&script, &pki.file("cert.pem", None), &pki.file("key.pem", None)])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start CPython");
    let mut lines = BufReader::new(python.stdout.take().unwrap()).lines();
    let port = within("CPython's port", lines.next_line()).await.unwrap().expect("a port line");
    let ca = pki.file("ca.pem", None);
    let (code, stdout, stderr) = echo_client(
        &pki,
        &["--cafile", &ca, "--server-hostname", "localhost", "127.0.0.1", &port, "hello, CPython"],
    )
    .await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("TLS: TLSv1.3 TLS13_"), "{stdout}");
    assert!(stdout.contains(r#"Received: "hello, CPython""#), "{stdout}");
    let served = within("CPython's report", lines.next_line()).await.unwrap();
    assert_eq!(served.as_deref(), Some("TLSv1.3 hello, CPython"));
    let status = within("CPython to exit", python.wait()).await.unwrap();
    assert!(status.success());
}

/// CPython 3.13's `http.server` wrapped in `ssl`: answers two HEAD requests (a failed
/// handshake counts as one) with an `X-Test` header, printing each request line, then
/// exits (at most 60 s per request).
const CPYTHON_HTTPS_SERVER: &str = r#"
import http.server, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        print(self.requestline, flush=True)
        self.send_response(200)
        self.send_header("X-Test", "over tls")
        self.end_headers()
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.timeout = 60
print(server.server_address[1], flush=True)
for _ in range(2):
    server.handle_request()
"#;

#[tokio::test]
async fn http_headers_fetches_https_from_cpython_http_server() {
    let probe =
        std::process::Command::new("python3.13").env("PYENV_VERSION", "3.13.0").arg("--version").output();
    assert!(
        probe.is_ok_and(|output| output.status.success()),
        "this test needs CPython 3.13: python3.13 with PYENV_VERSION=3.13.0"
    );
    let pki = TestPki::new();
    let script = pki.file("https_server.py", Some(CPYTHON_HTTPS_SERVER));
    let mut python = tokio::process::Command::new("python3.13")
        .env("PYENV_VERSION", "3.13.0")
        .args([&script, &pki.file("cert.pem", None), &pki.file("key.pem", None)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start CPython");
    let mut lines = BufReader::new(python.stdout.take().unwrap()).lines();
    let port = within("CPython's port", lines.next_line()).await.unwrap().expect("a port line");
    let url = format!("https://127.0.0.1:{port}/index.html");
    let ca = pki.file("ca.pem", None);

    // Without --cafile the bundled webpki roots are trusted, and the test CA is not one.
    let (code, stdout, stderr) = run_reading_pki(&pki, "http-headers", &[&url]).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("certificate verify failed: unable to get local issuer certificate"), "{stderr}");

    let (code, stdout, stderr) = run_reading_pki(&pki, "http-headers", &["--cafile", &ca, &url]).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.starts_with("HTTP header> HTTP/1.0 200 OK\n"), "{stdout}");
    assert!(stdout.ends_with("HTTP header> X-Test: over tls\n"), "{stdout}");
    let request = within("CPython's request line", lines.next_line()).await.unwrap();
    assert_eq!(request.as_deref(), Some("HEAD /index.html HTTP/1.0"));
    let status = within("CPython to exit", python.wait()).await.unwrap();
    assert!(status.success());
}

/// echo-client against a native server presenting `cert_pem`: its stderr, which must
/// hold `expected`, after a failing exit.
async fn client_fails_against(pki: &TestPki, cert_pem: &str, key_pem: &str, extra: &[&str], expected: &str) {
    let address = native_tls_echo_server(cert_pem, key_pem).await;
    let (ca, port) = (pki.file("ca.pem", None), address.port().to_string());
    let mut args = vec!["--cafile", ca.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", &port]);
    let (code, stdout, stderr) = echo_client(pki, &args).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in stderr:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("trap"), "{stderr}");
}

#[tokio::test]
async fn an_unknown_ca_fails_certificate_verification() {
    let (ours, theirs) = (TestPki::new(), TestPki::new());
    let expected = "certificate verify failed: unable to get local issuer certificate";
    client_fails_against(&ours, &theirs.cert_pem, &theirs.key_pem, &[], expected).await;
}

#[tokio::test]
async fn a_wrong_host_name_is_a_hostname_mismatch() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf(&["other.example"], false);
    client_fails_against(&pki, &cert, &key, &[], "certificate verify failed: Hostname mismatch").await;
    let expected = "certificate verify failed: Hostname mismatch";
    client_fails_against(
        &pki,
        &pki.cert_pem,
        &pki.key_pem,
        &["--server-hostname", "wrong.example"],
        expected,
    )
    .await;
}

#[tokio::test]
async fn an_expired_certificate_fails_verification() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf(&["localhost", "127.0.0.1"], true);
    client_fails_against(&pki, &cert, &key, &[], "certificate verify failed: certificate has expired").await;
}

#[tokio::test]
async fn a_silent_peer_times_the_handshake_out() {
    let pki = TestPki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // Accepts and holds the connection, never answering the ClientHello.
    let holder = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(STEP).await;
        drop(socket);
    });
    let ca = pki.file("ca.pem", None);
    warm("echo-client"); // before the clock starts: the first compile is slow
    let started = Instant::now();
    let (code, _, stderr) =
        echo_client(&pki, &["--cafile", &ca, "--ssl-handshake-timeout", "0.5", "127.0.0.1", &port]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("SSL handshake is taking longer than 0.5 seconds: aborting the connection"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    holder.abort();
}

#[tokio::test]
async fn a_plaintext_server_is_a_protocol_error() {
    let pki = TestPki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let _ = socket.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nthis is not TLS\n").await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(STEP, socket.read_to_end(&mut sink)).await;
    });
    let ca = pki.file("ca.pem", None);
    let (code, _, stderr) = echo_client(&pki, &["--cafile", &ca, "127.0.0.1", &port]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("TLS protocol error"), "{stderr}");
    server.abort();
}

#[tokio::test]
async fn the_server_keeps_serving_through_bad_clients() {
    let pki = TestPki::new();
    let (mut server, address) = tls_echo_server(&pki).await;

    // Plaintext instead of a ClientHello: the server answers with an alert and closes.
    let mut plaintext = TcpStream::connect(address).await.unwrap();
    plaintext.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = within("the server closing a plaintext client", plaintext.read_to_end(&mut answer)).await;
    assert!(answer.first().is_none_or(|&byte| byte == 0x15), "not an alert: {answer:?}");

    // A client that does not trust the server's CA gives up mid-handshake.
    let stranger = TestPki::new();
    let refused = within("a client distrusting the CA", native_tls_client(&stranger, address)).await;
    assert!(refused.is_err());

    // Random bytes, then a reset in the middle of the handshake.
    let mut random = TcpStream::connect(address).await.unwrap();
    random.write_all(&[0x16, 0x03, 0x01, 0x00, 0x40, 1, 2, 3]).await.unwrap();
    let socket = socket2::SockRef::from(&random);
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    drop(random);

    // A client that connects and stays silent holds no one up.
    let _silent = TcpStream::connect(address).await.unwrap();

    echo_line_over_tls(&pki, address, "still serving\n").await;
    assert!(server.child.try_wait().unwrap().is_none(), "the server exited");
}

#[tokio::test]
async fn an_overlong_line_over_tls_ends_that_client_only() {
    let pki = TestPki::new();
    let (_server, address) = tls_echo_server(&pki).await;
    // 16 MiB with no newline against the 64 KiB limit: readline overruns, the handler
    // fails and the connection closes; the flood is not buffered whole.
    let tls = within("handshake", native_tls_client(&pki, address)).await.unwrap();
    let (mut read_half, mut write_half) = tokio::io::split(tls);
    let flood = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..256 {
            if write_half.write_all(&chunk).await.is_err() {
                return false;
            }
        }
        true
    });
    let mut rest = Vec::new();
    let ended = within("the server ending the flooding client", read_half.read_to_end(&mut rest)).await;
    assert!(rest.is_empty(), "echoed {} bytes of an overlong line", rest.len());
    drop(ended);
    let _ = within("the flood stopping", flood).await;
    echo_line_over_tls(&pki, address, "next client\n").await;
}

/// The stream-driver, allowed to read `pki`'s files.
fn tls_driver(pki: &TestPki) -> crate::support::driver::Driver {
    warm("stream-driver");
    crate::support::driver::Driver::start_with(&["--dir", &pki.dir_path()])
}

#[tokio::test]
async fn start_tls_upgrades_our_client_after_a_plaintext_exchange() {
    let pki = TestPki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    // A STARTTLS-style server: a plaintext line and its answer, then TLS, then one echo.
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut plain = BufReader::new(socket);
        let mut line = String::new();
        plain.read_line(&mut line).await.unwrap();
        assert_eq!(line, "STARTTLS\n");
        assert!(plain.buffer().is_empty(), "the client sent TLS before the answer");
        let mut socket = plain.into_inner();
        socket.write_all(b"OK\n").await.unwrap();
        let mut tls = BufReader::new(acceptor.accept(socket).await.unwrap());
        let mut echoed = String::new();
        tls.read_line(&mut echoed).await.unwrap();
        tls.write_all(echoed.as_bytes()).await.unwrap();
        tls.flush().await.unwrap();
        echoed
    });
    let mut driver = tls_driver(&pki);
    driver.ok(&format!("connect 127.0.0.1 {port}")).await;
    driver.ok("write STARTTLS\\n").await;
    assert_eq!(driver.ok("readline").await, r#""OK\n""#);
    let ca = pki.file("ca.pem", None);
    assert_eq!(driver.ok(&format!("start_tls client {ca} localhost")).await, "TLSv1.3");
    driver.ok("write over\\stls\\n").await;
    assert_eq!(driver.ok("readline").await, r#""over tls\n""#);
    assert_eq!(within("the server", server).await.unwrap(), "over tls\n");
    // Upgrading twice is refused.
    let again = driver.cmd(&format!("start_tls client {ca} localhost")).await;
    assert!(again.contains("already uses TLS"), "{again}");
    driver.finish().await;
}

#[tokio::test]
async fn start_tls_on_an_accepted_connection_hands_buffered_bytes_to_the_handshake() {
    let pki = TestPki::new();
    let mut driver = tls_driver(&pki);
    let address: SocketAddr = driver.ok("listen 127.0.0.1 0").await.parse().unwrap();
    // The peer sends its plaintext line and its ClientHello in one write, so the
    // component's readline finds the hello already buffered behind the line.
    let client_config = pki.client_config();
    let peer = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Read, Write};
        let mut socket = std::net::TcpStream::connect(address).unwrap();
        socket.set_read_timeout(Some(STEP)).unwrap();
        let mut connection = rustls::ClientConnection::new(client_config, localhost()).unwrap();
        let mut first = b"STARTTLS\n".to_vec();
        connection.write_tls(&mut first).unwrap();
        socket.write_all(&first).unwrap();
        let mut tls = std::io::BufReader::new(rustls::StreamOwned::new(connection, socket));
        tls.get_mut().write_all(b"secret\n").unwrap();
        let mut line = String::new();
        tls.read_line(&mut line).unwrap();
        let mut rest = Vec::new();
        let _ = tls.read_to_end(&mut rest);
        line
    });
    driver.ok("accept").await;
    assert_eq!(driver.ok("readline").await, r#""STARTTLS\n""#);
    let (cert, key) = (pki.file("cert.pem", None), pki.file("key.pem", None));
    assert_eq!(driver.ok(&format!("start_tls server {cert} {key}")).await, "TLSv1.3");
    assert_eq!(driver.ok("readline").await, r#""secret\n""#);
    driver.ok("write back\\n").await;
    driver.ok("close").await;
    assert_eq!(within("the peer", peer).await.unwrap(), "back\n");
    driver.finish().await;
}

/// CPython 3.13's asyncio client: a plaintext line, then `writer.start_tls(ctx,
/// server_hostname="localhost")` at once, then one line each way over TLS.
const CPYTHON_START_TLS_CLIENT: &str = r#"
import asyncio, ssl, sys
async def main(port, cafile):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"STARTTLS\n")
    await writer.drain()
    ctx = ssl.create_default_context(cafile=cafile)
    await asyncio.wait_for(writer.start_tls(ctx, server_hostname="localhost"), 60)
    writer.write(b"from CPython\n")
    line = await asyncio.wait_for(reader.readline(), 60)
    print(writer.get_extra_info("ssl_object").version(), line.decode().strip())
    writer.close()
    await writer.wait_closed()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"#;

#[tokio::test]
async fn start_tls_against_cpython_start_tls() {
    let probe =
        std::process::Command::new("python3.13").env("PYENV_VERSION", "3.13.0").arg("--version").output();
    assert!(
        probe.is_ok_and(|output| output.status.success()),
        "this test needs CPython 3.13: python3.13 with PYENV_VERSION=3.13.0"
    );
    let pki = TestPki::new();
    let mut driver = tls_driver(&pki);
    let address: SocketAddr = driver.ok("listen 127.0.0.1 0").await.parse().unwrap();
    let python = tokio::process::Command::new("python3.13")
        .env("PYENV_VERSION", "3.13.0")
        .args(["-c", CPYTHON_START_TLS_CLIENT, &address.port().to_string(), &pki.file("ca.pem", None)])
        .kill_on_drop(true)
        .output();
    let python = tokio::spawn(python);
    driver.ok("accept").await;
    assert_eq!(driver.ok("readline").await, r#""STARTTLS\n""#);
    let (cert, key) = (pki.file("cert.pem", None), pki.file("key.pem", None));
    assert_eq!(driver.ok(&format!("start_tls server {cert} {key}")).await, "TLSv1.3");
    assert_eq!(driver.ok("readline").await, r#""from CPython\n""#);
    driver.ok("write from\\swasio\\n").await;
    // CPython's wait_closed waits for our close_notify.
    driver.ok("close").await;
    let output = within("CPython's start_tls client", python).await.unwrap().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout.trim(), "TLSv1.3 from wasio");
    driver.finish().await;
}

#[tokio::test]
async fn a_failed_start_tls_is_an_ssl_error_and_closes_the_connection() {
    let (ours, theirs) = (TestPki::new(), TestPki::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(TestPki::server_config(&theirs.cert_pem, &theirs.key_pem));
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        acceptor.accept(socket).await.is_err()
    });
    let mut driver = tls_driver(&ours);
    driver.ok(&format!("connect 127.0.0.1 {port}")).await;
    let ca = ours.file("ca.pem", None);
    let failed = driver.cmd(&format!("start_tls client {ca} localhost")).await;
    assert!(failed.starts_with("err") && failed.contains("certificate verify failed"), "{failed}");
    assert!(within("the server", server).await.unwrap(), "the server's handshake should fail too");
    // The connection is lost: a write is dropped silently (as asyncio's after a loss),
    // a read raises the handshake's error.
    assert_eq!(driver.cmd("write more").await, "ok");
    let read = driver.cmd("read 10").await;
    assert!(read.starts_with("err") && read.contains("certificate verify failed"), "{read}");
    driver.finish().await;
}
