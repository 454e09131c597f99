//! TLS failures through the interface: each a typed `tls` error (or asyncio's
//! `invalid-argument`), never a trap, and the instance goes on serving.

use super::*;
use crate::support::provider::{provider, still_usable};
use host::provider::{ServerOptions, TlsServerConfig};

#[tokio::test]
async fn test_verification_failures_are_typed_tls_errors() {
    let pki = TestPki::new();
    let (address, _outcomes) = native_tls_server(server_config(&pki, &[]), echo_lines).await;
    let mut p = provider().await;

    // A CA the client does not trust: certificate verify failed.
    let stranger = TestPki::new();
    let unknown = open(
        &mut p,
        address,
        tls_options(TlsClientConfig::with_ca_pem(stranger.ca_pem.as_bytes()), "localhost"),
    )
    .await;
    assert_tls_error(
        unknown,
        TlsErrorKind::CertificateVerifyFailed,
        "certificate verify failed: unable to get local issuer certificate",
    );
    // The bundled webpki roots do not know the test CA either.
    let default_roots = open(&mut p, address, tls_options(TlsClientConfig::default(), "localhost")).await;
    assert_tls_error(default_roots, TlsErrorKind::CertificateVerifyFailed, "certificate verify failed");

    // A trusted certificate for another name: hostname mismatch.
    let ca = TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes());
    let mismatch = open(&mut p, address, tls_options(ca.clone(), "example.com")).await;
    assert_tls_error(mismatch, TlsErrorKind::HostnameMismatch, "Hostname mismatch");

    // check-hostname off accepts it; verify off accepts the unknown CA (CERT_NONE).
    let lenient = TlsClientConfig { check_hostname: Some(false), ..ca };
    let (r, w) =
        open(&mut p, address, tls_options(lenient, "example.com")).await.expect("check-hostname off");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    let unverified =
        TlsClientConfig { verify: Some(false), ..TlsClientConfig::with_ca_pem(stranger.ca_pem.as_bytes()) };
    let (r, w) = open(&mut p, address, tls_options(unverified, "localhost")).await.expect("verify off");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    still_usable(&mut p).await;
}

#[tokio::test]
async fn test_a_silent_peer_times_the_handshake_out_and_plaintext_is_a_protocol_error() {
    let pki = TestPki::new();
    let mut p = provider().await;
    let ca = TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes());

    // Accepts, never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Some(ConnectOptions {
        ssl_handshake_timeout_ms: Some(300),
        ..tls_options(ca.clone(), "localhost").unwrap()
    });
    let timed_out = open(&mut p, silent.local_addr().unwrap(), options).await;
    assert_tls_error(
        timed_out,
        TlsErrorKind::HandshakeTimeout,
        "SSL handshake is taking longer than 0.3 seconds",
    );

    // Answers the hello with an HTTP error page.
    let plaintext = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = plaintext.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = plaintext.accept().await.unwrap();
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        let mut sink = Vec::new();
        let _ = socket.read_to_end(&mut sink).await;
    });
    let protocol = open(&mut p, address, tls_options(ca, "localhost")).await;
    assert_tls_error(protocol, TlsErrorKind::Protocol, "");
    still_usable(&mut p).await;
    drop(silent);
}

#[tokio::test]
async fn test_tls_arguments_are_checked_as_asyncio_does() {
    let pki = TestPki::new();
    let mut p = provider().await;
    let (listener, address) = crate::support::peer::listener().await;
    let plain_with = |options: ConnectOptions| Some(options);
    let named = open(
        &mut p,
        address,
        plain_with(ConnectOptions { server_hostname: Some("localhost".into()), ..ConnectOptions::default() }),
    )
    .await;
    assert_invalid(named, "server_hostname is only meaningful with ssl");
    let timed = open(
        &mut p,
        address,
        plain_with(ConnectOptions { ssl_handshake_timeout_ms: Some(5), ..ConnectOptions::default() }),
    )
    .await;
    assert_invalid(timed, "ssl_handshake_timeout is only meaningful with ssl");
    let shutdown = open(
        &mut p,
        address,
        plain_with(ConnectOptions { ssl_shutdown_timeout_ms: Some(5), ..ConnectOptions::default() }),
    )
    .await;
    assert_invalid(shutdown, "ssl_shutdown_timeout is only meaningful with ssl");
    let garbage =
        open(&mut p, address, tls_options(TlsClientConfig::with_ca_pem(b"not a PEM".to_vec()), "localhost"))
            .await;
    assert!(
        matches!(&garbage, Err(Error::InvalidArgument(m)) if m.starts_with("CA certificates")),
        "{garbage:?}"
    );

    // A key that does not go with the certificate: start-server refuses it.
    let (_other_cert, other_key) = pki.leaf(&["localhost"], false);
    let mismatched = TlsServerConfig::from_pem(pki.cert_pem.as_bytes(), other_key.as_bytes());
    let refused = within(
        "start-server",
        p.start_server(
            "127.0.0.1",
            0,
            Some(ServerOptions { ssl: Some(mismatched), ..ServerOptions::default() }),
        ),
    )
    .await
    .unwrap();
    assert!(matches!(&refused, Err(Error::InvalidArgument(_))), "{:?}", refused.as_ref().err());
    if let Ok(server) = refused {
        p.drop_server(server).await.unwrap();
    }
    drop(listener);
    still_usable(&mut p).await;
}
