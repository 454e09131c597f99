//! `writer.start-tls`: upgrading a live plain connection, as the client and as the server.

use super::*;
use crate::support::provider::{connect, provider, serving, until_ready, Source};
use host::provider::{TlsServerConfig, TlsUpgrade};

#[tokio::test]
async fn test_start_tls_upgrades_our_client_after_a_plaintext_exchange() {
    let pki = TestPki::new();
    let acceptor = TlsAcceptor::from(Arc::new(server_config(&pki, &[])));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // A STARTTLS-style server: a plaintext line and its answer, then TLS, then one echo.
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut plain = BufReader::new(socket);
        let mut line = String::new();
        plain.read_line(&mut line).await.unwrap();
        assert_eq!(line, "STARTTLS\n");
        let mut socket = plain.into_inner();
        socket.write_all(b"OK\n").await.unwrap();
        let mut tls = BufReader::new(acceptor.accept(socket).await.unwrap());
        let mut echoed = String::new();
        tls.read_line(&mut echoed).await.unwrap();
        tls.write_all(echoed.as_bytes()).await.unwrap();
        tls.flush().await.unwrap();
        // Stays until our close_notify.
        let mut rest = Vec::new();
        let clean = tls.read_to_end(&mut rest).await.is_ok();
        (echoed, clean)
    });
    let mut p = provider().await;
    let (r, w) = open(&mut p, address, None).await.unwrap();
    assert!(p.tls_info(&w).await.unwrap().is_none(), "a plain connection has no TLS session");
    assert!(p.can_write_eof(&w).await.unwrap());
    p.write(&w, b"STARTTLS\n").await.unwrap().unwrap();
    assert_eq!(within("readline", p.readline(&r)).await.unwrap().unwrap(), b"OK\n");

    let upgrade = TlsUpgrade::Client(TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes()));
    within("start-tls", p.start_tls(&w, &upgrade, Some("localhost"), Some(20_000), None))
        .await
        .unwrap()
        .expect("start-tls");
    let info = p.tls_info(&w).await.unwrap().expect("TLS after start-tls");
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.peer_certificate, Some(der(&pki.cert_pem)));
    assert!(!p.can_write_eof(&w).await.unwrap());

    // The same reader and writer now go through TLS (the try form here).
    p.write(&w, b"over tls\n").await.unwrap().unwrap();
    let (line, _) =
        until_ready(&mut p, Source::Reader(&r), async |p: &mut Provider| p.try_readline(&r).await).await;
    assert_eq!(line.unwrap(), b"over tls\n");

    // A second upgrade is refused; the connection stays as it was.
    let again =
        within("start-tls again", p.start_tls(&w, &upgrade, Some("localhost"), None, None)).await.unwrap();
    assert_invalid(again, "the connection already uses TLS");
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(within("the server", server).await.unwrap(), ("over tls\n".to_string(), true));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}

#[tokio::test]
async fn test_start_tls_on_an_accepted_connection_hands_buffered_bytes_to_the_handshake() {
    let pki = TestPki::new();
    let (mut p, server, address) = serving(None).await;
    // The peer sends its plaintext line and its ClientHello in one write, so the
    // provider's readline finds the hello buffered behind the line.
    let client_config = pki.client_config();
    let peer = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Read, Write};
        let mut socket = std::net::TcpStream::connect(address).unwrap();
        socket.set_read_timeout(Some(crate::support::STEP)).unwrap();
        let mut connection = rustls::ClientConnection::new(client_config, localhost()).unwrap();
        let mut first = b"STARTTLS\n".to_vec();
        connection.write_tls(&mut first).unwrap();
        socket.write_all(&first).unwrap();
        let mut tls = std::io::BufReader::new(rustls::StreamOwned::new(connection, socket));
        tls.get_mut().write_all(b"secret\n").unwrap();
        let mut line = String::new();
        tls.read_line(&mut line).unwrap();
        let mut rest = Vec::new();
        let clean = tls.read_to_end(&mut rest).is_ok();
        (line, clean)
    });
    let (r, w) = within("accept", p.accept(&server)).await.unwrap().unwrap();
    assert_eq!(within("readline", p.readline(&r)).await.unwrap().unwrap(), b"STARTTLS\n");
    assert!(p.buffer_size(&r).await.unwrap() > 0, "the ClientHello is already buffered");
    let upgrade =
        TlsUpgrade::Server(TlsServerConfig::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()));
    within("start-tls", p.start_tls(&w, &upgrade, None, None, None))
        .await
        .unwrap()
        .expect("start-tls as the server");
    assert_eq!(p.tls_info(&w).await.unwrap().unwrap().version, "TLSv1.3");
    assert_eq!(within("readline over TLS", p.readline(&r)).await.unwrap().unwrap(), b"secret\n");
    p.write(&w, b"back\n").await.unwrap().unwrap();
    p.close(&w).await.unwrap();
    within("wait-closed", p.wait_closed(&w)).await.unwrap().unwrap();
    assert_eq!(within("the peer", peer).await.unwrap(), ("back\n".to_string(), true));
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
    p.drop_server(server).await.unwrap();
}

#[tokio::test]
async fn test_start_tls_argument_checks_and_a_failed_handshake() {
    let pki = TestPki::new();
    let mut p = provider().await;
    let (r, w, mut socket) = connect(&mut p, None).await;
    // asyncio's checks, before anything is sent; the connection stays usable.
    let client = TlsUpgrade::Client(TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes()));
    let no_name = p.start_tls(&w, &client, None, None, None).await.unwrap();
    assert_invalid(no_name, "check_hostname requires server_hostname");
    let server =
        TlsUpgrade::Server(TlsServerConfig::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()));
    let named = p.start_tls(&w, &server, Some("localhost"), None, None).await.unwrap();
    assert_invalid(named, "Server side SSL needs no server_hostname");
    let zero = p.start_tls(&w, &client, Some("localhost"), Some(0), None).await.unwrap();
    assert_invalid(zero, "ssl_handshake_timeout should be a positive number, got 0");
    let zero = p.start_tls(&w, &client, Some("localhost"), None, Some(0)).await.unwrap();
    assert_invalid(zero, "ssl_shutdown_timeout should be a positive number, got 0");
    p.write(&w, b"still plain\n").await.unwrap().unwrap();
    assert_eq!(crate::support::peer::read_n(&mut socket, 12).await, b"still plain\n");

    // A peer that answers the hello with plaintext: a `tls` protocol error, the
    // connection closed.
    socket.write_all(b"this is not TLS at all\r\n\r\n").await.unwrap();
    let failed =
        within("start-tls", p.start_tls(&w, &client, Some("localhost"), Some(20_000), None)).await.unwrap();
    assert_tls_error(failed, TlsErrorKind::Protocol, "");
    assert!(p.is_closing(&w).await.unwrap(), "a failed start-tls closes the connection");
    p.drop_reader(r).await.unwrap();
    p.drop_writer(w).await.unwrap();
}
