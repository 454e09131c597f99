//! TLS through the WIT interface (`connect-options.ssl`, `server-options.ssl`,
//! `writer.start-tls`, `writer.tls-info`, the `tls` error), driving the provider
//! component with `host::provider` over real loopback against native tokio-rustls peers,
//! in the blocking and the try + subscribe + poll forms. Certificates are made at test
//! time (`support::certs`).
//!
//! `client`: our client against a tokio-rustls server; `server`: our server against
//! tokio-rustls clients; `start_tls`: upgrades on both sides; `failures`: verification,
//! timeouts and asyncio's argument checks as typed errors.

mod client;
mod failures;
mod server;
mod start_tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use host::provider::{
    ConnectOptions, Error, Provider, ReaderHandle, TlsClientConfig, TlsError, TlsErrorKind, WriterHandle,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{rustls, TlsAcceptor, TlsConnector};

use crate::support::certs::{der, localhost, TestPki};
use crate::support::within;

type ServerTls = tokio_rustls::server::TlsStream<TcpStream>;

/// A native TLS server on a free loopback port: each connection's handshake, then
/// `handler`; each handler's outcome (or the handshake's error) arrives on the receiver.
/// Runs until the test's runtime ends.
async fn native_tls_server<T, F, Fut>(
    config: rustls::ServerConfig,
    handler: F,
) -> (SocketAddr, mpsc::UnboundedReceiver<Result<T, String>>)
where
    T: Send + 'static,
    F: Fn(ServerTls) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, outcomes) = mpsc::unbounded_channel();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let (acceptor, handler, sender) = (acceptor.clone(), Arc::clone(&handler), sender.clone());
            tokio::spawn(async move {
                let outcome = match acceptor.accept(socket).await {
                    Ok(tls) => handler(tls).await,
                    Err(error) => Err(format!("handshake: {error}")),
                };
                let _ = sender.send(outcome);
            });
        }
    });
    (address, outcomes)
}

/// A native server's handler: echoes lines until the client's close_notify, then closes
/// with its own. Ok(lines echoed) for a clean end; an error for a close without
/// close_notify (tokio-rustls' "unexpected EOF").
async fn echo_lines(tls: ServerTls) -> Result<usize, String> {
    let mut tls = BufReader::new(tls);
    let mut lines = 0;
    loop {
        let mut line = Vec::new();
        match tls.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {
                tls.write_all(&line).await.map_err(|e| e.to_string())?;
                tls.flush().await.map_err(|e| e.to_string())?;
                lines += 1;
            }
            Err(error) => return Err(format!("read: {error}")),
        }
    }
    tls.shutdown().await.map_err(|e| e.to_string())?;
    Ok(lines)
}

/// The test CA's leaf for `localhost` with ALPN `alpn` on the server side.
fn server_config(pki: &TestPki, alpn: &[&str]) -> rustls::ServerConfig {
    let mut config = Arc::unwrap_or_clone(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config
}

/// A native TLS client connection to `address` as `localhost`, trusting `pki`'s CA and
/// offering `alpn`.
async fn native_tls_client(
    pki: &TestPki,
    address: SocketAddr,
    alpn: &[&str],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut config = Arc::unwrap_or_clone(pki.client_config());
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let socket = TcpStream::connect(address).await?;
    TlsConnector::from(Arc::new(config)).connect(localhost(), socket).await
}

/// A native TLS client's exchange: sends `line`, reads one line back, then reads to the
/// end. Returns the line and whether the end was a clean close_notify.
async fn send_and_read_back(pki: Arc<TestPki>, address: SocketAddr, line: &'static str) -> (String, bool) {
    let tls = native_tls_client(&pki, address, &["http/1.1"]).await.expect("native TLS handshake");
    let mut tls = BufReader::new(tls);
    tls.write_all(line.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let mut back = String::new();
    tls.read_line(&mut back).await.unwrap();
    let mut rest = Vec::new();
    let clean = tls.read_to_end(&mut rest).await.is_ok() && rest.is_empty();
    (back, clean)
}

/// `open-connection` options for TLS to `server_hostname` (connecting to 127.0.0.1).
fn tls_options(ssl: TlsClientConfig, server_hostname: &str) -> Option<ConnectOptions> {
    Some(ConnectOptions {
        ssl: Some(ssl),
        server_hostname: Some(server_hostname.to_string()),
        ..ConnectOptions::default()
    })
}

/// `open-connection` to 127.0.0.1:`address`'s port with `options` (blocking: the
/// handshake completes inside the call).
async fn open(
    p: &mut Provider,
    address: SocketAddr,
    options: Option<ConnectOptions>,
) -> Result<(ReaderHandle, WriterHandle), Error> {
    within("open-connection", p.open_connection("127.0.0.1", address.port(), options)).await.expect("no trap")
}

/// Asserts `result` is a `tls` error of `kind` whose message contains `words`.
#[track_caller]
fn assert_tls_error<T: std::fmt::Debug>(result: Result<T, Error>, kind: TlsErrorKind, words: &str) {
    match result {
        Err(Error::Tls(TlsError { kind: k, message })) if k == kind && message.contains(words) => {}
        other => panic!("expected tls({kind:?}) containing {words:?}, got {other:?}"),
    }
}

/// Asserts `result` is `invalid-argument` with exactly asyncio's `message`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, message: &str) {
    match result {
        Err(Error::InvalidArgument(m)) if m == message => {}
        other => panic!("expected invalid-argument {message:?}, got {other:?}"),
    }
}
