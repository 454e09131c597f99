//! TLS through the 0.2.0 provider (`connect-options.ssl`, `server-options.ssl`,
//! `writer.start-tls`, `writer.tls-info`, the `tls` error) against native tokio-rustls
//! peers over real loopback, certificates made at test time (`support::certs`). The
//! 0.1.0 equivalents are in `tests/wit_tls/`.

mod bulk;
mod client;
mod failures;
mod server;
mod shutdown;
mod start_tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use host::provider_async::bindings::exports::wasio::streams::types::{
    TlsClientConfig, TlsError, TlsErrorKind, TlsServerConfig, TlsUpgrade,
};
use host::provider_async::bindings::wasi::sockets::types::IpSocketAddress;
use host::provider_async::{ConnectOptions, Error, ServerOptions};

use super::{ok, provider};
use crate::support::certs::{der, localhost, TestPki};
use crate::support::within;

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Bytes whose every position is checkable.
fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed * 13 + i / 251) % 256) as u8).collect()
}

fn client_config(ca_pem: &str) -> TlsClientConfig {
    TlsClientConfig {
        ca_certificates: Some(ca_pem.as_bytes().to_vec()),
        verify: None,
        check_hostname: None,
        alpn_protocols: vec!["h2".into(), "http/1.1".into()],
        minimum_version: None,
    }
}

pub(super) fn server_config(pki: &TestPki) -> TlsServerConfig {
    TlsServerConfig {
        certificate_chain: pki.cert_pem.as_bytes().to_vec(),
        private_key: pki.key_pem.as_bytes().to_vec(),
        alpn_protocols: vec!["http/1.1".into()],
        minimum_version: None,
    }
}

fn connect_options(ssl: Option<TlsClientConfig>, server_hostname: Option<&str>) -> ConnectOptions {
    ConnectOptions {
        limit: None,
        local_address: None,
        happy_eyeballs_delay_ms: None,
        timeout_ms: None,
        ssl,
        server_hostname: server_hostname.map(str::to_string),
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

fn server_options(ssl: Option<TlsServerConfig>) -> ServerOptions {
    ServerOptions {
        limit: None,
        backlog: None,
        start_serving: None,
        ssl,
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    }
}

fn port_of(sockets: &[IpSocketAddress]) -> u16 {
    match sockets.first() {
        Some(IpSocketAddress::Ipv4(a)) => a.port,
        other => panic!("expected a 127.0.0.1 socket, got {other:?}"),
    }
}

#[track_caller]
fn assert_tls_error<T: std::fmt::Debug>(result: Result<T, Error>, kind: TlsErrorKind, words: &str) {
    match result {
        Err(Error::Tls(TlsError { kind: k, message })) if k == kind && message.contains(words) => {}
        other => panic!("expected tls({kind:?}) containing {words:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, message: &str) {
    match result {
        Err(Error::InvalidArgument(m)) if m == message => {}
        other => panic!("expected invalid-argument {message:?}, got {other:?}"),
    }
}

/// A tokio-rustls server that echoes every byte of each connection until the client's
/// close_notify, then closes with its own; each connection's outcome (bytes echoed, or
/// the error) on the receiver.
async fn native_echo_server(
    pki: &TestPki,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Result<u64, String>>) {
    let mut config = Arc::unwrap_or_clone(TestPki::server_config(&pki.cert_pem, &pki.key_pem));
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, outcomes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let (acceptor, sender) = (acceptor.clone(), sender.clone());
            tokio::spawn(async move {
                let outcome = async {
                    let tls = acceptor.accept(socket).await.map_err(|e| format!("handshake: {e}"))?;
                    let (mut from, mut to) = tokio::io::split(tls);
                    let echoed =
                        tokio::io::copy(&mut from, &mut to).await.map_err(|e| format!("echo: {e}"))?;
                    to.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
                    Ok(echoed)
                }
                .await;
                let _ = sender.send(outcome);
            });
        }
    });
    (address, outcomes)
}
